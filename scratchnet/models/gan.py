"""Generative adversarial networks (Goodfellow et al., 2014) and their common repairs.

A generator G maps noise z ~ N(0, I) to samples; a discriminator D scores samples as real
or fake. They play the two-player game (course, lecture on GANs)

    min_G max_D  E_x[log D(x)] + E_z[log(1 − D(G(z)))],

taking turns: ``d_steps`` updates of D, then one of G. Here D outputs a *logit* ℓ, with
D(x) = σ(ℓ), and every loss is written with softplus, which is exact for any logit:
log σ(ℓ) = −softplus(−ℓ) and log(1 − σ(ℓ)) = −softplus(ℓ).

Generator losses (``loss=``):

* ``"minimax"``: minimise E[log(1 − D(G(z)))] = −E[softplus(ℓ_fake)]. When D easily spots
  the fakes (early on), σ(ℓ) ≈ 0 and this loss saturates: its gradient vanishes.
* ``"non_saturating"``: minimise −E[log D(G(z))] = E[softplus(−ℓ_fake)], the heuristic of
  the original paper. Same fixed point, strong gradients where G is bad.
* ``"wgan_gp"``: D is a critic with an unbounded score; the critic maximises
  E[D(x)] − E[D(G(z))], an estimate of the Wasserstein-1 distance when D is 1-Lipschitz,
  and G minimises −E[D(G(z))]. The Lipschitz constraint is a soft penalty
  λ·E[(‖∇_x̂ D(x̂)‖ − 1)²] at random points x̂ between real and fake samples
  (Gulrajani et al., 2017). Its gradient with respect to D's weights is a second
  derivative, which scratchnet's autodiff gives by double backprop.

Two more options: ``pack=m`` (PacGAN, Lin et al., 2018) lets D judge m samples at once,
concatenated along the feature axis, which makes a collapsed generator easy to spot; and
``n_classes=K`` makes a conditional GAN (Mirza & Osindero, 2014), where G and D both see a
one-hot label.

A GAN trains through ``sn.train.fit`` like every other model. Its step is not "one loss,
one optimizer", so it defines :meth:`GAN.training_step`, which makes the ``d_steps`` + 1
updates of one round of the game, and :meth:`GAN.configure_optimizers`, the two Adam
optimizers ``fit`` uses when none are given::

    sn.train.fit(gan, loader=DataLoader(images, batch_size=64, drop_last=True), epochs=20,
                 callbacks=[sn.train.SampleGrid("samples/")])
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

import scratchnet.functional as F
from scratchnet import nn, optim
from scratchnet.autograd import Tensor, as_tensor, enable_grad, grad, no_grad
from scratchnet.backend import get_array_module
from scratchnet.checks import check_int, check_number, check_range
from scratchnet.models.latent import LatentVariableModel
from scratchnet.nn.activations import ACTIVATIONS
from scratchnet.random import get_generator, own_generator
from scratchnet.train import minimize

__all__ = ["GAN", "dcgan_discriminator", "dcgan_generator", "mlp_discriminator",
           "mlp_generator"]

LOSSES = ("non_saturating", "minimax", "wgan_gp")
# The range of a generator whose last activation is one of these, which real data must share.
OUTPUT_RANGES = {nn.Sigmoid: (0.0, 1.0), nn.Tanh: (-1.0, 1.0)}


def one_hot(labels: Any, n_classes: int, dtype: Any, xp: Any = np) -> Any:
    """(N,) integer labels in [0, n_classes) -> (N, n_classes) rows of 0 and 1."""
    labels = xp.asarray(getattr(labels, "data", labels))
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise ValueError(f"GAN: labels must be a 1-D integer array, got {labels.dtype} "
                         f"with shape {labels.shape}")
    if labels.size and (int(labels.min()) < 0 or int(labels.max()) >= n_classes):
        raise ValueError(f"GAN: labels must lie in [0, {n_classes}), got values from "
                         f"{int(labels.min())} to {int(labels.max())}")
    return (labels[:, None] == xp.arange(n_classes)[None, :]).astype(dtype)


def _with_labels(x: Tensor, codes: Any) -> Tensor:
    """Append one-hot codes (N, K) to x: as K features for (N, F), as K constant planes
    for images (N, C, H, W)."""
    codes = Tensor(codes)
    if x.ndim == 2:
        return F.concatenate([x, codes], axis=1)
    xp = get_array_module(x.data)
    planes = xp.broadcast_to(codes.data[:, :, None, None], (x.shape[0], codes.shape[1],
                                                            *x.shape[2:]))
    return F.concatenate([x, Tensor(xp.ascontiguousarray(planes))], axis=1)


def _output_range(generator: nn.Module) -> tuple[float, float] | None:
    """The range of the generator's samples, read off its last activation layer.

    A last Sigmoid gives [0, 1], a last Tanh [−1, 1]; any other last activation (linear,
    as for 2-D points) gives None, no range.
    """
    activations = tuple(ACTIVATIONS.values())
    last = None
    for module in generator.modules():
        if isinstance(module, activations):
            last = module
    return OUTPUT_RANGES.get(type(last))


def _players(owner: str, optimizers: Any) -> tuple[Any, Any]:
    """(generator's, discriminator's) optimizer from a dict or a pair; errors name ``owner``.

    Every two-player model (the GAN, the adversarial context encoder) takes its optimizers
    as ``{"generator": ..., "discriminator": ...}`` or as that pair, in that order.
    """
    if isinstance(optimizers, Mapping):
        missing = {"generator", "discriminator"} - set(optimizers)
        if missing:
            raise KeyError(f"{owner}: the optimizers dict has no {sorted(missing)}; expected "
                           "keys 'generator' and 'discriminator'")
        return optimizers["generator"], optimizers["discriminator"]
    if isinstance(optimizers, (tuple, list)) and len(optimizers) == 2:
        return optimizers[0], optimizers[1]
    raise TypeError(f"{owner}: optimizers must be {{'generator': ..., 'discriminator': ...}} "
                    f"or a pair (generator's, discriminator's), got {type(optimizers).__name__}")


@contextlib.contextmanager
def _constants(module: nn.Module) -> Iterator[None]:
    """Treat ``module``'s weights as constants for a while.

    The generator's step backpropagates *through* D to reach G, but needs no gradient *for*
    D's weights; with them constant, D's layers skip those products. On exit each parameter
    gets back its own ``requires_grad`` flag, so a weight the caller froze stays frozen.
    Only the weights are held: layers with running statistics (BatchNorm in training mode)
    still update them when D runs inside this block.
    """
    parameters = list(module.parameters())
    flags = [parameter.requires_grad for parameter in parameters]
    for parameter in parameters:
        parameter.requires_grad_(False)
    try:
        yield
    finally:
        for parameter, flag in zip(parameters, flags):
            parameter.requires_grad_(flag)


class GAN(LatentVariableModel):
    """A generator and a discriminator trained against each other.

    Args:
        generator: maps z (N, latent_dim) — or (N, latent_dim + n_classes) when conditional,
            the one-hot label appended — to samples (N, ...).
        discriminator: maps samples to one logit (or critic score) per judged item, shape
            (N / pack, 1) or (N / pack,). Its input is the samples with ``pack`` of them
            joined along axis 1 (features or channels), and, when conditional, the one-hot
            labels appended along axis 1 too (as constant planes for images).
        latent_dim: the size of z.
        loss: ``"non_saturating"``, ``"minimax"`` or ``"wgan_gp"``.
        d_steps: discriminator updates per generator update (k in Goodfellow's algorithm).
        gp_weight: λ of the gradient penalty (``"wgan_gp"`` only).
        pack: m, the number of samples the discriminator judges together (PacGAN).
        n_classes: K > 0 for a conditional GAN.
        data_range: the (low, high) range that real samples must lie in. ``"auto"`` reads
            it off the generator's last activation: a sigmoid makes samples in [0, 1], a
            tanh in [−1, 1], and real data outside that range would be told apart from
            every fake at once (a linear output sets no range). ``None`` checks nothing.
        rng: generator or seed for z, the interpolation weights and shuffling.

    Train it with ``sn.train.fit(gan, loader=..., epochs=...)``: see
    :meth:`training_step` and :meth:`configure_optimizers`.
    """

    network_attribute = "generator"

    def __init__(self, generator: nn.Module, discriminator: nn.Module, latent_dim: int,
                 loss: str = "non_saturating", d_steps: int = 1, gp_weight: float = 10.0,
                 pack: int = 1, n_classes: int = 0,
                 data_range: tuple[float, float] | str | None = "auto",
                 rng: np.random.Generator | int | None = None) -> None:
        super().__init__("GAN", generator, latent_dim, rng)
        if loss not in LOSSES:
            raise ValueError(f"GAN: loss must be one of {LOSSES}, got {loss!r}")
        self.generator, self.discriminator = generator, discriminator
        if loss == "wgan_gp" and any(isinstance(m, nn.BatchNorm1D | nn.BatchNorm2D)
                                     for m in discriminator.modules()):
            raise ValueError("GAN: loss='wgan_gp' needs a critic without BatchNorm: its "
                             "gradient penalty is per sample, and BatchNorm mixes the samples "
                             "of a batch (Gulrajani et al., 2017, use layer norm instead); got "
                             "a discriminator with BatchNorm")
        self.loss_name = loss
        self.d_steps = check_int("GAN", "d_steps", d_steps)
        self.gp_weight = check_number("GAN", "gp_weight", gp_weight, low=0.0)
        self.pack = check_int("GAN", "pack", pack)
        self.n_classes = check_int("GAN", "n_classes", n_classes, minimum=0)
        if data_range == "auto":
            data_range = _output_range(generator)
        elif data_range is not None:
            low, high = (check_number("GAN", "data_range", v) for v in data_range)
            if low >= high:
                raise ValueError(f"GAN: data_range must be (low, high) with low < high, got "
                                 f"{data_range}")
            data_range = (low, high)
        self.data_range = data_range

    def configure_optimizers(self, lr: float = 2e-4, betas: tuple[float, float] = (0.5, 0.999),
                             d_lr: float | None = None) -> dict[str, optim.Adam]:
        """One Adam optimizer per player: ``{"generator": ..., "discriminator": ...}``.

        The defaults are DCGAN's (Radford et al., 2016): lr = 2·10⁻⁴, β = (0.5, 0.999).
        ``d_lr`` sets the discriminator's rate apart (default ``lr``); a discriminator
        that learns faster than the generator is the two time-scale rule of Heusel et al.
        (2017). WGAN-GP's paper uses lr = 10⁻⁴, β = (0, 0.9). ``fit`` calls this when it is
        given no optimizers.
        """
        return {"generator": optim.Adam(self.generator.parameters(), lr=lr, betas=betas),
                "discriminator": optim.Adam(self.discriminator.parameters(),
                                            lr=lr if d_lr is None else d_lr, betas=betas)}

    # -- the two players --------------------------------------------------------------------
    def _label_codes(self, labels: Any, n: int) -> Any:
        if self.n_classes == 0:
            if labels is not None:
                raise ValueError("GAN: labels given, but the GAN is not conditional "
                                 "(n_classes=0)")
            return None
        if labels is None:
            raise ValueError(f"GAN: a conditional GAN (n_classes={self.n_classes}) needs "
                             f"labels")
        like = self._like()
        codes = one_hot(labels, self.n_classes, like.dtype, get_array_module(like))
        if len(codes) != n:
            raise ValueError(f"GAN: {len(codes)} labels for {n} samples")
        return codes

    def generate(self, z: Tensor, codes: Any = None) -> Tensor:
        """G(z), or G([z, one-hot]) when conditional; differentiable."""
        z = as_tensor(z)
        return self.generator(z if codes is None else F.concatenate([z, Tensor(codes)], axis=1))

    def score(self, x: Tensor, codes: Any = None) -> Tensor:
        """D's logits (critic scores) for x, one per packed group: shape (N / pack,)."""
        x = as_tensor(x)
        if codes is not None:
            x = _with_labels(x, codes)
        if self.pack > 1:
            n = x.shape[0]
            if n % self.pack:
                raise ValueError(f"GAN: a batch of {n} cannot be split into packs of "
                                 f"{self.pack}")
            x = x.reshape(n // self.pack, self.pack * x.shape[1], *x.shape[2:])
        out = self.discriminator(x)
        return out.reshape(out.shape[0])

    # -- losses -----------------------------------------------------------------------------
    def gradient_penalty(self, real: Tensor, fake: Tensor, codes: Any = None) -> Tensor:
        """E[(‖∇_x̂ D(x̂)‖₂ − 1)²] at x̂ = ε·real + (1 − ε)·fake, ε ~ U(0, 1) per sample.

        The gradient ∇_x̂ D comes from ``sn.grad(..., create_graph=True)``, so the penalty is
        itself differentiable with respect to D's weights (double backprop). With
        ``pack > 1`` each packed group is one point of D's input space.
        """
        xp = get_array_module(real.data)
        eps = get_generator(self.rng).random((real.shape[0],) + (1,) * (real.ndim - 1))
        eps = xp.asarray(eps, dtype=real.dtype)
        mixed = Tensor(eps * real.data + (1 - eps) * fake.data, requires_grad=True)
        with enable_grad():  # the slope needs a graph even when the loss is only evaluated
            (slope,) = grad(self.score(mixed, codes).sum(), mixed, create_graph=True)
        flat = slope.reshape(slope.shape[0] // self.pack, -1)
        norms = F.sqrt((flat * flat).sum(axis=1) + 1e-12)
        return ((norms - 1.0) ** 2).mean()

    def discriminator_loss(self, real: Any, labels: Any = None) -> tuple[Tensor, dict]:
        """The loss D minimises on one batch, and what to log about it."""
        real = as_tensor(real)
        if self.data_range is not None:
            check_range("GAN", real, *self.data_range, "the range of the generator's output; "
                        "set GAN(data_range=...) if the data differ")
        codes = self._label_codes(labels, real.shape[0])
        with no_grad():
            fake = self.generate(self.sample_latent(real.shape[0]), codes)
        real_score, fake_score = self.score(real, codes), self.score(fake, codes)
        if self.loss_name == "wgan_gp":
            distance = real_score.mean() - fake_score.mean()
            penalty = self.gradient_penalty(real, fake, codes)
            loss = -distance + penalty * self.gp_weight
            logs = {"wasserstein": float(distance.data), "gradient_penalty": float(penalty.data)}
        else:
            # −[log D(x) + log(1 − D(G(z)))] with D = σ(logit).
            loss = F.softplus(-real_score).mean() + F.softplus(fake_score).mean()
            logs = {"d_real": float(F.sigmoid(real_score).data.mean()),
                    "d_fake": float(F.sigmoid(fake_score).data.mean())}
        return loss, {"d_loss": float(loss.data), **logs}

    def generator_loss(self, n: int, labels: Any = None) -> Tensor:
        """The loss G minimises for n fresh samples."""
        codes = self._label_codes(labels, n)
        return self.adversarial_loss(self.score(self.generate(self.sample_latent(n), codes),
                                                codes))

    def adversarial_loss(self, fake_score: Tensor) -> Tensor:
        """G's term of the game, a scalar, from D's logits (critic scores) (N,) of G's
        samples: −E[ℓ] (WGAN-GP), −E[softplus(ℓ)] (minimax) or E[softplus(−ℓ)]."""
        if self.loss_name == "wgan_gp":
            return -fake_score.mean()
        if self.loss_name == "minimax":
            return -F.softplus(fake_score).mean()   # E[log(1 − D(G(z)))]
        return F.softplus(-fake_score).mean()       # −E[log D(G(z))]

    # -- training ---------------------------------------------------------------------------
    def training_step(self, batch: Any, optimizers: Any) -> dict[str, float]:
        """One round of the game: ``d_steps`` discriminator updates, then one generator update.

        ``batch`` is real samples, or ``(samples, labels)`` for a conditional GAN;
        ``optimizers`` is ``{"generator": ..., "discriminator": ...}`` (or the pair
        (generator's, discriminator's)). Each discriminator update draws fresh fakes; the
        generator update draws as many fakes as the batch has samples (with the same
        labels when conditional), through D with D's weights held constant. Returns the
        last discriminator update's loss and D(x), D(G(z)) means (or the critic's
        Wasserstein estimate and penalty), and the generator's loss: ``fit`` logs them.
        """
        real, labels = batch if isinstance(batch, (tuple, list)) else (batch, None)
        g_optimizer, d_optimizer = _players("GAN", optimizers)
        real = as_tensor(real)
        if real.shape[0] % self.pack:
            raise ValueError(f"GAN: a batch of {real.shape[0]} cannot be split into packs of "
                             f"{self.pack}; use a batch size that pack divides, and "
                             "DataLoader(..., drop_last=True)")
        for _ in range(self.d_steps):
            d_loss, logs = self.discriminator_loss(real, labels)
            minimize(d_loss, d_optimizer)
        with _constants(self.discriminator):
            logs["g_loss"] = minimize(self.generator_loss(real.shape[0], labels), g_optimizer)
        return logs

    def sample(self, n: int, labels: Any = None, z: Tensor | None = None,
               rng: np.random.Generator | int | None = None) -> Tensor:
        """n generated samples (the generator in evaluation mode), without a graph.

        ``labels`` (n,) are required for a conditional GAN. ``z`` fixes the codes; else
        they are drawn from ``rng`` (default: the model's generator), so a fixed seed
        gives the same codes every call.
        """
        n = check_int("GAN.sample", "n", n)
        if z is not None and len(z.data) != n:
            raise ValueError(f"GAN.sample: z has {len(z.data)} rows for n={n} samples")
        codes = self._label_codes(labels, n)
        was_training = self.generator.training
        self.generator.eval()
        try:
            with no_grad():
                return self.generate(self.sample_latent(n, rng) if z is None else z, codes)
        finally:
            self.generator.train(was_training)

    def extra_repr(self) -> str:
        extra = "".join(f", {name}={value}" for name, value in
                        (("d_steps", self.d_steps), ("pack", self.pack),
                         ("n_classes", self.n_classes)) if value not in (0, 1))
        return f"latent_dim={self.latent_dim}, loss={self.loss_name!r}{extra}"


# -- builders -------------------------------------------------------------------------------
def mlp_generator(latent_dim: int = 2, out_dim: int = 2, hidden: tuple[int, ...] = (128, 128),
                  n_classes: int = 0, rng: np.random.Generator | int | None = None
                  ) -> nn.Sequential:
    """An MLP generator for low-dimensional data: ReLU hidden layers, a linear output."""
    rng = own_generator(rng)
    sizes = [latent_dim + n_classes, *hidden]
    layers = [nn.Dense(a, b, activation="relu", rng=rng) for a, b in itertools.pairwise(sizes)]
    return nn.Sequential(*layers, nn.Dense(sizes[-1], out_dim, rng=rng))


def mlp_discriminator(in_dim: int = 2, hidden: tuple[int, ...] = (128, 128), pack: int = 1,
                      n_classes: int = 0, spectral_norm: bool = False,
                      rng: np.random.Generator | int | None = None) -> nn.Sequential:
    """An MLP discriminator for (N, in_dim) data: LeakyReLU(0.2) hidden layers, one logit.

    Its input has ``pack · (in_dim + n_classes)`` features: ``pack`` samples side by side,
    each with its one-hot label when conditional.
    """
    rng = own_generator(rng)
    sizes = [pack * (in_dim + n_classes), *hidden, 1]
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        dense = nn.Dense(a, b, rng=rng)
        layers.append(nn.SpectralNorm(dense, rng=rng) if spectral_norm else dense)
        if i < len(sizes) - 2:
            layers.append(nn.LeakyReLU(0.2))
    return nn.Sequential(*layers)


INITS = ("default", "dcgan")
DCGAN_STD = 0.02  # Radford et al. (2016): "all weights were initialized from N(0, 0.02)"


def _dcgan_init(name: str, init: str) -> Any:
    """The weight initialiser for ``init``: None (each layer's own default) or N(0, 0.02²)."""
    if init not in INITS:
        raise ValueError(f"{name}: init must be one of {INITS}, got {init!r}")
    return nn.init.normal(DCGAN_STD) if init == "dcgan" else None


def dcgan_generator(latent_dim: int = 64, width: int = 64, n_classes: int = 0,
                    output: str = "sigmoid", init: str = "default", bias: bool = True,
                    extra_layer: bool = False,
                    rng: np.random.Generator | int | None = None) -> nn.Sequential:
    """The DCGAN generator for 28×28 images (Radford et al., 2016), sized for MNIST.

    Dense(latent (+K) -> 2w·7·7) + BatchNorm + ReLU, reshape to (2w, 7, 7);
    [``extra_layer``: ConvTranspose2D 3×3 stride 1 -> (2w, 7, 7) + BatchNorm2D + ReLU;]
    ConvTranspose2D 4×4 stride 2 -> (w, 14, 14) + BatchNorm2D + ReLU;
    ConvTranspose2D 4×4 stride 2 -> (1, 28, 28) + ``output`` (sigmoid for [0, 1] images,
    tanh for [−1, 1]).

    ``extra_layer=True`` adds one convolution at 7×7 that keeps the size, as the generator
    of TensorFlow's DCGAN tutorial has: more depth at the resolution where the digit's
    overall shape is laid out, for about 2w·2w·9 more weights and little time (7×7 is the
    cheapest resolution). Its bias follows ``bias``, as BatchNorm comes after it.

    Args:
        init: ``"default"`` keeps each layer's own initialiser (Glorot uniform for the
            Dense and the linear transposed convolutions, BatchNorm's γ = 1); ``"dcgan"``
            is the paper's: every Dense and convolution weight from N(0, 0.02²) and every
            BatchNorm scale γ from N(1, 0.02²), biases and shifts β at 0.
        bias: False drops the bias of every layer that BatchNorm follows. BatchNorm
            subtracts the batch mean of each feature, so a constant added before it
            cancels: such a bias is a parameter with no effect on the output and zero
            gradient. The output layer keeps its bias either way.

    Parameters: (latent + K)·98w + 2w·w·16 + w·16 + 1, plus 98w + w when ``bias``
    (Dense, ConvTranspose, ConvTranspose weights; the output bias), plus 2·(98w + w) of
    BatchNorm's γ and β. ``extra_layer`` adds 2w·2w·9 weights and 2·2w of γ and β, and 2w
    biases when ``bias``.
    """
    rng = own_generator(rng)
    weight_init = _dcgan_init("dcgan_generator", init)
    dense_init = "glorot_uniform" if weight_init is None else weight_init
    layers = [
        nn.Dense(latent_dim + n_classes, 2 * width * 49, bias=bias, init=dense_init, rng=rng),
        nn.BatchNorm1D(2 * width * 49), nn.ReLU(), nn.Reshape((2 * width, 7, 7)),
        nn.ConvTranspose2D(2 * width, width, 4, stride=2, padding=1, bias=bias,
                           init=weight_init, rng=rng),
        nn.BatchNorm2D(width), nn.ReLU(),
        nn.ConvTranspose2D(width, 1, 4, stride=2, padding=1, activation=output,
                           init=weight_init, rng=rng)]
    if init == "dcgan":
        _draw_batchnorm_scales(layers, rng)
    # The extra layer and its BatchNorm scale are drawn after everything else, so that the
    # option leaves every other initial weight as it is without it: an ablation then
    # changes one thing only.
    extra = ([nn.ConvTranspose2D(2 * width, 2 * width, 3, stride=1, padding=1, bias=bias,
                                 init=weight_init, rng=rng),
              nn.BatchNorm2D(2 * width), nn.ReLU()] if extra_layer else [])
    if init == "dcgan":
        _draw_batchnorm_scales(extra, rng)
    return nn.Sequential(*layers[:4], *extra, *layers[4:])


def _draw_batchnorm_scales(layers: list[nn.Module], rng: np.random.Generator) -> None:
    """The DCGAN paper's γ ~ N(1, 0.02²) for each BatchNorm among ``layers``, in order."""
    for module in layers:
        if isinstance(module, (nn.BatchNorm1D, nn.BatchNorm2D)):
            gamma = rng.normal(1.0, DCGAN_STD, size=module.weight.shape)
            module.weight.data[...] = gamma.astype(module.weight.dtype)


def dcgan_discriminator(width: int = 64, pack: int = 1, n_classes: int = 0,
                        spectral_norm: bool = False, init: str = "default",
                        batch_norm: bool = False,
                        rng: np.random.Generator | int | None = None) -> nn.Sequential:
    """The DCGAN discriminator for 28×28 images: strided convolutions, LeakyReLU(0.2).

    Conv2D 4×4 stride 2 (pack·(1 + K) -> w channels) -> 14×14; Conv2D 4×4 stride 2
    (-> 2w) -> 7×7; flatten; Dense -> one logit. ``init="dcgan"`` draws every weight from
    N(0, 0.02²) (the paper's), ``"default"`` keeps each layer's own initialiser.

    ``batch_norm=True`` puts a BatchNorm2D after the second convolution, as the DCGAN
    paper does in every discriminator layer but the first; that convolution then has no
    bias (BatchNorm would subtract it again). Each call normalises over the batch it is
    given, so D sees a batch of real and a batch of generated images apart, as
    :class:`GAN` calls it. The default has no BatchNorm so that D also works as a WGAN-GP
    critic: the gradient penalty is per sample, and a batch statistic couples the samples.
    """
    rng = own_generator(rng)
    weight_init = _dcgan_init("dcgan_discriminator", init)
    dense_init = "glorot_uniform" if weight_init is None else weight_init

    def wrap(layer: nn.Module) -> nn.Module:
        return nn.SpectralNorm(layer, rng=rng) if spectral_norm else layer

    middle = [nn.BatchNorm2D(2 * width)] if batch_norm else []
    return nn.Sequential(
        wrap(nn.Conv2D(pack * (1 + n_classes), width, 4, stride=2, padding=1,
                       init=weight_init, rng=rng)),
        nn.LeakyReLU(0.2),
        wrap(nn.Conv2D(width, 2 * width, 4, stride=2, padding=1, bias=not batch_norm,
                       init=weight_init, rng=rng)),
        *middle, nn.LeakyReLU(0.2),
        nn.Flatten(), wrap(nn.Dense(2 * width * 49, 1, init=dense_init, rng=rng)))
