"""CycleGAN (Zhu et al., 2017): image-to-image translation between two domains with no pairs.

pix2pix needs pairs (x, y). Often there are none: two sets of images, A (say thin-stroke
digits) and B (thick-stroke digits), and no image of A with its counterpart in B. Two
generators, G: A -> B and F: B -> A, each meet a discriminator of its target domain, D_B
and D_A. An adversarial loss alone only asks G(a) to look like *some* image of B, and any
map that lands on B's distribution satisfies it: G could turn every 3 into a thick 8. The
**cycle-consistency** loss ties each image to its own translation: going there and back
must return the start, F(G(a)) ≈ a and G(F(b)) ≈ b, so G(a) must keep enough of a for F
to rebuild it. The full objective is

    L = L_GAN(G, D_B) + L_GAN(F, D_A) + λ_cyc (E‖F(G(a)) − a‖₁ + E‖G(F(b)) − b‖₁)
        + λ_id (E‖G(b) − b‖₁ + E‖F(a) − a‖₁),

with λ_cyc = 10 in the paper, and the optional **identity** term (λ_id, 0.5·λ_cyc in
the paper's painting experiments) asking each generator to leave an image already in its
target domain alone.

The GAN losses are the **least-squares** ones the paper uses (Mao et al., 2017), with D's
raw output s (no sigmoid), averaged over D's output map (a PatchGAN gives one score per
patch): each D minimises ½[(s(real) − 1)² + s(fake)²] and each generator (s(fake) − 1)².
Unlike the negative log-likelihood, the squared loss keeps pushing fakes that D already
calls real but that lie far from the real data, and the paper found it more stable. The
paper also trains D on a history of 50 past fakes; here D sees the current batch's fakes.

**DiscoGAN** (Kim et al., 2017), published at the same time, has the same two generators
and the same "there and back" reconstruction loss. It differs in the recipe: the
reconstruction distance is the squared error in the authors' code (the paper leaves the
distance open), the paper adds the adversarial and reconstruction terms with equal weight
instead of a λ, there is no identity term, the generators are encoder-decoders without
skips or ResNet blocks, the discriminator gives one probability per image (no PatchGAN),
and the GAN loss is the cross-entropy one rather than least squares.

Reference: Zhu, Park, Isola & Efros (2017), "Unpaired Image-to-Image Translation using
Cycle-Consistent Adversarial Networks", ICCV; Kim, Cha, Kim, Lee & Kim (2017), "Learning
to Discover Cross-Domain Relations with Generative Adversarial Networks", ICML.
"""

from __future__ import annotations

from typing import Any

import scratchnet.functional as F
from scratchnet import nn, optim
from scratchnet.autograd import Tensor, as_tensor, no_grad
from scratchnet.checks import check_number
from scratchnet.models.gan import _constants, _players
from scratchnet.models.pretext import _check_rank, _evaluation
from scratchnet.train import minimize

__all__ = ["CycleGAN"]


def _l1(x: Tensor, y: Tensor, what: str) -> Tensor:
    """mean |x − y|, after checking the shapes agree (``what`` names the term)."""
    if x.shape != y.shape:
        raise ValueError(f"CycleGAN: the {what} term compares images of shapes "
                         f"{tuple(x.shape)} and {tuple(y.shape)}; they must be equal")
    return F.abs(x - y).mean()


class CycleGAN(nn.Module):
    """Two generators and two discriminators trained on unpaired batches of domains A and B.

    Shapes: a (N_a, C_a, H, W), b (N_b, C_b, H, W); ``g_ab`` (G) maps A -> B and ``g_ba``
    (F) maps B -> A; ``d_a`` and ``d_b`` score images of their domain, any output shape
    ((N, 1, P, Q) for a PatchGAN), and every loss averages over it.

    One :meth:`training_step` on a batch (a, b), as the paper's code orders it:

    1. **generators**, with both discriminators' weights held constant: fakes G(a), F(b),
       the cycles F(G(a)), G(F(b)), and (when λ_id > 0) G(b), F(a); minimise

           (s_B(G(a)) − 1)² + (s_A(F(b)) − 1)²
           + λ_cyc (mean|F(G(a)) − a| + mean|G(F(b)) − b|)
           + λ_id (mean|G(b) − b| + mean|F(a) − a|)

       (each squared term a mean over the batch and D's output map, each L1 over pixels).
       Only D's weights are constant: a BatchNorm layer in D, in training mode, normalises
       by these fake-only batches and updates its running statistics from them, as the
       paper's code does. Those are read only in evaluation mode, which no step uses;
    2. **discriminators**, on the fakes of step 1 (made before the generators' update):
       D_B minimises ½[(s_B(b) − 1)² + s_B(G(a))²], D_A likewise with a and F(b).

    Args:
        g_ab, g_ba: the generators G: A -> B and F: B -> A.
        d_a, d_b: the discriminators of A and of B.
        cycle_weight: λ_cyc ≥ 0 (10 in the paper; 0 removes the cycle loss).
        identity_weight: λ_id ≥ 0 (0 by default; it needs C_a = C_b).
    """

    def __init__(self, g_ab: nn.Module, g_ba: nn.Module, d_a: nn.Module, d_b: nn.Module,
                 cycle_weight: float = 10.0, identity_weight: float = 0.0) -> None:
        super().__init__()
        for name, module in (("g_ab", g_ab), ("g_ba", g_ba), ("d_a", d_a), ("d_b", d_b)):
            if not isinstance(module, nn.Module):
                raise TypeError(f"CycleGAN: {name} must be an nn.Module, got "
                                f"{type(module).__name__}")
        if len({id(m) for m in (g_ab, g_ba, d_a, d_b)}) < 4:
            raise ValueError("CycleGAN: g_ab, g_ba, d_a and d_b must be four different "
                             "modules (a shared one would be updated by both players)")
        self.g_ab, self.g_ba, self.d_a, self.d_b = g_ab, g_ba, d_a, d_b
        self.cycle_weight = check_number("CycleGAN", "cycle_weight", cycle_weight, low=0.0)
        self.identity_weight = check_number("CycleGAN", "identity_weight", identity_weight,
                                            low=0.0)

    def _batch(self, batch: Any) -> tuple[Tensor, Tensor]:
        if not isinstance(batch, (tuple, list)) or len(batch) != 2:
            raise TypeError(f"CycleGAN: a batch is the pair (a, b) of one batch from each "
                            f"domain, got {type(batch).__name__}")
        return _check_rank("CycleGAN", batch[0], "a"), _check_rank("CycleGAN", batch[1], "b")

    def generator_loss(self, a: Any, b: Any) -> tuple[Tensor, dict[str, float], Tensor,
                                                       Tensor]:
        """Step 1's loss on (a, b), its parts, and the fakes G(a), F(b) (with graphs)."""
        a, b = _check_rank("CycleGAN", a, "a"), _check_rank("CycleGAN", b, "b")
        if self.identity_weight > 0 and a.shape[1:] != b.shape[1:]:
            raise ValueError(f"CycleGAN: identity_weight > 0 feeds each generator images of "
                             f"its own target domain, so the domains must have one image "
                             f"shape; got a {tuple(a.shape[1:])} and b {tuple(b.shape[1:])}")
        fake_b, fake_a = self.g_ab(a), self.g_ba(b)
        adv_ab = ((self.d_b(fake_b) - 1.0) ** 2).mean()
        adv_ba = ((self.d_a(fake_a) - 1.0) ** 2).mean()
        total = adv_ab + adv_ba
        parts = {"adv_ab": float(adv_ab.data), "adv_ba": float(adv_ba.data)}
        if self.cycle_weight > 0:
            cycle = (_l1(self.g_ba(fake_b), a, "cycle a -> b -> a")
                     + _l1(self.g_ab(fake_a), b, "cycle b -> a -> b"))
            parts["cycle_loss"] = float(cycle.data)
            total = total + cycle * self.cycle_weight
        if self.identity_weight > 0:
            identity = (_l1(self.g_ab(b), b, "identity G(b) ≈ b")
                        + _l1(self.g_ba(a), a, "identity F(a) ≈ a"))
            parts["identity_loss"] = float(identity.data)
            total = total + identity * self.identity_weight
        return total, parts, fake_b, fake_a

    @staticmethod
    def discriminator_loss(discriminator: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
        """½[mean (s(real) − 1)² + mean s(fake)²]; no gradient reaches fake's generator."""
        real_score = discriminator(as_tensor(real))
        fake_score = discriminator(Tensor(as_tensor(fake).data))
        return (((real_score - 1.0) ** 2).mean() + (fake_score ** 2).mean()) * 0.5

    def training_step(self, batch: Any, optimizers: Any) -> dict[str, float]:
        """One update of both generators, then one of both discriminators (see the class).

        ``batch`` is ``(a, b)``, one batch of each domain (their sizes may differ);
        ``optimizers`` is ``{"generator": ..., "discriminator": ...}`` or that pair, as
        :meth:`configure_optimizers` makes them, each over both networks of its player.
        Returns ``g_loss``, its parts (``adv_ab``, ``adv_ba``, ``cycle_loss``,
        ``identity_loss`` where their weights are > 0) and ``d_a_loss``, ``d_b_loss``.
        The generators' update leaves D_A's and D_B's weights alone but not the running
        statistics of their BatchNorm layers, which both steps update.
        """
        a, b = self._batch(batch)
        g_optimizer, d_optimizer = _players("CycleGAN", optimizers)
        with _constants(self.d_a), _constants(self.d_b):
            total, logs, fake_b, fake_a = self.generator_loss(a, b)
        logs["g_loss"] = minimize(total, g_optimizer)
        d_b_loss = self.discriminator_loss(self.d_b, b, fake_b)
        d_a_loss = self.discriminator_loss(self.d_a, a, fake_a)
        minimize(d_a_loss + d_b_loss, d_optimizer)
        logs.update(d_a_loss=float(d_a_loss.data), d_b_loss=float(d_b_loss.data))
        return logs

    def configure_optimizers(self, lr: float = 2e-4, betas: tuple[float, float] = (0.5, 0.999)
                             ) -> dict[str, optim.Adam]:
        """``{"generator": Adam over G and F, "discriminator": Adam over D_A and D_B}``,
        with the paper's lr = 2·10⁻⁴ and β = (0.5, 0.999)."""
        generators = list(self.g_ab.parameters()) + list(self.g_ba.parameters())
        discriminators = list(self.d_a.parameters()) + list(self.d_b.parameters())
        return {"generator": optim.Adam(generators, lr=lr, betas=betas),
                "discriminator": optim.Adam(discriminators, lr=lr, betas=betas)}

    @staticmethod
    def _translate(generator: nn.Module, x: Any, name: str, batch_size: int) -> Tensor:
        x = _check_rank("CycleGAN", x, name)
        with _evaluation(generator), no_grad():
            outs = [generator(x[i:i + batch_size]) for i in range(0, x.shape[0], batch_size)]
        return outs[0] if len(outs) == 1 else F.concatenate(outs, axis=0)

    def translate_ab(self, a: Any, batch_size: int = 500) -> Tensor:
        """G(a), A -> B, in evaluation mode without a graph (``batch_size`` at a time)."""
        return self._translate(self.g_ab, a, "a", batch_size)

    def translate_ba(self, b: Any, batch_size: int = 500) -> Tensor:
        """F(b), B -> A, in evaluation mode without a graph (``batch_size`` at a time)."""
        return self._translate(self.g_ba, b, "b", batch_size)

    def extra_repr(self) -> str:
        return f"cycle_weight={self.cycle_weight}, identity_weight={self.identity_weight}"
