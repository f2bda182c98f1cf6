"""The variational autoencoder (Kingma & Welling, 2014) and its importance-weighted bound.

A VAE is a latent-variable model p(x, z) = p(z) p(x | z) with prior p(z) = N(0, I) and a
decoder network for p(x | z). An encoder network gives an approximate posterior
q(z | x) = N(μ(x), diag σ²(x)), and both are trained together by maximising the evidence
lower bound (course, lecture on VAEs):

    log p(x) ≥ ELBO(x) = E_q[log p(x | z)] − KL(q(z | x) ‖ p(z)).

The expectation is estimated with one sample drawn by the *reparameterisation trick*,
z = μ + σ ⊙ ε with ε ~ N(0, I), so that z is a differentiable function of the encoder's
outputs and ordinary backprop trains the encoder. The KL term has a closed form
(:func:`scratchnet.functional.gaussian_kl`).

Options:

* ``beta``: the β-VAE loss, −(E_q[log p(x|z)] − β·KL) (Higgins et al., 2017). β > 1 presses
  the code towards the factorised prior, trading reconstruction for disentanglement.
* ``iw_samples = k > 1``: train on the importance-weighted bound of Burda et al. (2016),
  log (1/k) Σ_i p(x, z_i) / q(z_i | x), which is tighter than the ELBO and grows with k.
* ``likelihood``: ``"bernoulli"`` (the decoder outputs logits, for binary pixels) or
  ``"gaussian"`` (the decoder outputs means; with a fixed variance the log-likelihood is
  −‖x − f(z)‖² / 2σ² plus a constant, the course's squared-error form).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import scratchnet.functional as F
from scratchnet import nn
from scratchnet.autograd import Tensor, as_tensor, get_default_dtype, no_grad
from scratchnet.backend import get_array_module
from scratchnet.checks import check_int, check_number, check_range
from scratchnet.models.latent import LatentVariableModel
from scratchnet.random import get_generator, own_generator

__all__ = ["VAE", "conv_vae", "mlp_vae", "reparameterize"]

LIKELIHOODS = ("bernoulli", "gaussian")
LOG_2PI = math.log(2.0 * math.pi)
# log σ² is clipped to this range before use. exp(20) ≈ 5e8 is far beyond any useful
# posterior variance, and the clip keeps σ and the KL finite when a diverging encoder
# outputs enormous values, so such a model gives a large loss instead of NaN. (Beyond the
# range the gradient to log σ² is 0; a healthy model never gets there.)
LOGVAR_RANGE = (-30.0, 20.0)


def _per_sample_sum(values: Tensor) -> Tensor:
    """Sum over every axis but the first: (N, ...) -> (N,)."""
    return values.reshape(values.shape[0], -1).sum(axis=1)


def reparameterize(mu: Tensor, logvar: Tensor,
                   rng: np.random.Generator | int | None = None) -> Tensor:
    """z = μ + exp(½ log σ²) ⊙ ε with ε ~ N(0, I) drawn from ``rng``.

    The randomness is all in ε, which does not depend on μ or σ, so z is differentiable
    with respect to both (Kingma & Welling, 2014, section 2.4). Shapes: mu, logvar (..., L)
    -> z (..., L). Pass a seeded ``rng`` to get the same ε on every call (for gradcheck).
    """
    mu, logvar = as_tensor(mu), as_tensor(logvar)
    xp = get_array_module(mu.data)
    eps = xp.asarray(get_generator(rng).standard_normal(mu.shape), dtype=mu.dtype)
    return mu + F.exp(logvar * 0.5) * eps


class VAE(LatentVariableModel):
    """A variational autoencoder: Gaussian encoder q(z|x), decoder p(x|z), prior N(0, I).

    Args:
        encoder: maps x (N, ...) to (N, 2·latent_dim): μ in the first half, log σ² in the
            second.
        decoder: maps z (N, latent_dim) to x's shape: logits for ``"bernoulli"``, means for
            ``"gaussian"``.
        latent_dim: L, the size of z.
        beta: the weight of the KL term in :meth:`loss` (1 gives the ELBO).
        likelihood: ``"bernoulli"`` or ``"gaussian"``.
        output_logvar: for ``"gaussian"`` only, log σ² of p(x|z): a fixed number, or
            ``"learned"`` for one trained scalar (clipped to ``LOGVAR_RANGE`` too).
        iw_samples: k; with k > 1, :meth:`loss` is minus the k-sample importance-weighted
            bound (IWAE) instead of the ELBO.
        rng: generator or seed for ε and z (default: the library's).
    """

    network_attribute = "decoder"

    def __init__(self, encoder: nn.Module, decoder: nn.Module, latent_dim: int,
                 beta: float = 1.0, likelihood: str = "bernoulli",
                 output_logvar: float | str = 0.0, iw_samples: int = 1,
                 rng: np.random.Generator | int | None = None) -> None:
        super().__init__("VAE", decoder, latent_dim, rng)
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"VAE: likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")
        self.encoder, self.decoder = encoder, decoder
        self.beta = check_number("VAE", "beta", beta, low=0.0)
        self.likelihood = likelihood
        self.iw_samples = check_int("VAE", "iw_samples", iw_samples)
        if self.iw_samples > 1 and self.beta != 1.0:
            raise ValueError("VAE: the importance-weighted bound has no β; use beta=1.0 with "
                             "iw_samples > 1")
        if likelihood == "bernoulli" and output_logvar != 0.0:
            raise ValueError("VAE: output_logvar is the variance of a Gaussian likelihood; it "
                             "has no effect with likelihood='bernoulli'")
        self.output_logvar: float | nn.Parameter
        if output_logvar == "learned":
            self.output_logvar = nn.Parameter(np.zeros(()), dtype=get_default_dtype())
        else:
            self.output_logvar = check_number("VAE", "output_logvar", output_logvar)

    # -- the two networks -----------------------------------------------------------------
    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(μ, log σ²) of q(z | x), each (N, L); log σ² clipped to ``LOGVAR_RANGE``."""
        out = self.encoder(as_tensor(x))
        if out.ndim != 2 or out.shape[1] != 2 * self.latent_dim:
            raise ValueError(f"VAE: the encoder must output (N, 2·latent_dim) = "
                             f"(N, {2 * self.latent_dim}), got {out.shape}")
        mu, logvar = out[:, :self.latent_dim], out[:, self.latent_dim:]
        return mu, F.clip(logvar, *LOGVAR_RANGE)

    def decode(self, z: Tensor) -> Tensor:
        """E[x | z]: sigmoid of the decoder's logits (Bernoulli) or its means (Gaussian)."""
        out = self.decoder(as_tensor(z))
        return F.sigmoid(out) if self.likelihood == "bernoulli" else out

    def forward(self, x: Tensor) -> Tensor:
        """The mean reconstruction E[x | z = μ(x)], differentiable."""
        mu, _ = self.encode(x)
        return self.decode(mu)

    def reparameterize(self, mu: Tensor, logvar: Tensor) -> Tensor:
        """One z ~ q(z | x) per row, drawn with the model's generator (see the function)."""
        return reparameterize(mu, logvar, self.rng)

    # -- probabilities ----------------------------------------------------------------------
    def log_likelihood(self, x: Any, z: Tensor) -> Tensor:
        """log p(x | z) per sample, shape (N,), summed over x's values.

        Bernoulli: −Σ BCE(logits, x) = Σ [x log σ(f) + (1−x) log(1−σ(f))], computed from the
        logits as −(softplus(f) − x f), exact for any logit; x must lie in [0, 1]. Gaussian:
        −½ Σ [(x − f)² / σ² + log σ² + log 2π].
        """
        if self.likelihood == "bernoulli":
            check_range("VAE", x, 0.0, 1.0, "a Bernoulli likelihood: probabilities of binary "
                        "pixels")
        out = self.decoder(as_tensor(z))
        x = as_tensor(x, like=out)
        if out.shape != x.shape:
            raise ValueError(f"VAE: the decoder outputs {out.shape} for inputs of shape "
                             f"{x.shape}; they must match")
        if self.likelihood == "bernoulli":
            return -_per_sample_sum(F.binary_cross_entropy_with_logits(out, x, reduction="none"))
        logvar = self.output_logvar
        diff = x - out
        if isinstance(logvar, Tensor):
            # Learned, it would run to -inf on pixels the decoder fits exactly.
            logvar = F.clip(logvar, *LOGVAR_RANGE)
            squared = diff * diff * F.exp(-logvar)
        else:
            squared = diff * diff * math.exp(-logvar)
        return (_per_sample_sum(squared) + (logvar + LOG_2PI) * (x.size // x.shape[0])) * -0.5

    def elbo_terms(self, x: Any) -> tuple[Tensor, Tensor]:
        """(reconstruction log-likelihood, KL), each per sample (N,), from one z per row."""
        x = as_tensor(x)
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar)
        return self.log_likelihood(x, z), F.gaussian_kl(mu, logvar)

    def elbo(self, x: Any) -> Tensor:
        """ELBO(x) = log p(x | z) − KL(q(z|x) ‖ p(z)) per sample (N,), one z per row, in nats."""
        recon, kl = self.elbo_terms(x)
        return recon - kl

    def iw_bound(self, x: Any, k: int) -> Tensor:
        """The k-sample importance-weighted bound per sample (N,), differentiable.

        L_k(x) = log (1/k) Σ_{i=1..k} w_i, w_i = p(x | z_i) p(z_i) / q(z_i | x), z_i ~ q(z|x)
        (Burda et al., 2016). L_1 is the ELBO (with the KL estimated by sampling); L_k is
        non-decreasing in k in expectation and tends to log p(x).
        """
        k = check_int("iw_bound", "k", k)
        x = as_tensor(x)
        mu, logvar = self.encode(x)
        return F.logsumexp(self._iw_log_weights(x, mu, logvar, k), axis=0) - math.log(k)

    def _iw_log_weights(self, x: Tensor, mu: Tensor, logvar: Tensor, k: int) -> Tensor:
        """log w for k samples per row, shape (k, N); the encoder has already run."""
        n, latent = mu.shape
        mu = F.broadcast_to(mu.reshape(1, n, latent), (k, n, latent))
        logvar = F.broadcast_to(logvar.reshape(1, n, latent), (k, n, latent))
        z = self.reparameterize(mu, logvar)
        # log q(z|x) = Σ log N(z; μ, σ²) and log p(z) = Σ log N(z; 0, 1), summed over units.
        log_q = ((z - mu) ** 2 * F.exp(-logvar) + logvar + LOG_2PI).sum(axis=2) * -0.5
        log_prior = ((z * z).sum(axis=2) + latent * LOG_2PI) * -0.5
        xp = get_array_module(x.data)
        x_tiled = xp.broadcast_to(x.data, (k, *x.shape)).reshape(k * n, *x.shape[1:])
        log_px = self.log_likelihood(x_tiled, z.reshape(k * n, latent)).reshape(k, n)
        return log_px + log_prior - log_q

    def loss(self, x: Any) -> Tensor:
        """The training loss, a scalar: −mean(log p(x|z) − β·KL), or −mean(L_k) with
        ``iw_samples = k > 1``. ``fit(vae, lambda m, x: m.loss(x), ...)``.
        """
        if self.iw_samples > 1:
            return -self.iw_bound(x, self.iw_samples).mean()
        recon, kl = self.elbo_terms(x)
        return -(recon - kl * self.beta).mean()

    # -- evaluation -------------------------------------------------------------------------
    def importance_log_likelihood(self, x: Any, k: int = 50, chunk: int = 10) -> Tensor:
        """The k-sample importance-sampling estimate of log p(x) per sample (N,), in nats.

        The same quantity as :meth:`iw_bound`, computed without a graph and ``chunk``
        samples at a time (memory grows with chunk · N, not k · N). It is a lower bound in
        expectation that tightens as k grows (Burda et al., 2016, use k = 5000).
        """
        k = check_int("importance_log_likelihood", "k", k)
        chunk = check_int("importance_log_likelihood", "chunk", chunk)
        with no_grad():
            x = as_tensor(x)
            mu, logvar = self.encode(x)
            parts = [self._iw_log_weights(x, mu, logvar, min(chunk, k - start)).data
                     for start in range(0, k, chunk)]
            xp = get_array_module(mu.data)
            log_w = Tensor(xp.concatenate(parts, axis=0))
            return F.logsumexp(log_w, axis=0) - math.log(k)

    def kl_per_unit(self, x: Any) -> Any:
        """The mean over x of each latent unit's KL term, shape (L,), an array, in nats.

        ½(μ_u² + σ_u² − 1 − log σ_u²) averaged over the rows of x: how many nats of the
        KL (the information the code carries about x) each unit spends. The entries sum to
        the mean KL of :meth:`elbo_terms`.
        """
        with no_grad():
            mu, logvar = self.encode(x)
            # gaussian_kl sums over every axis but the first: with units first, per unit.
            return (F.gaussian_kl(mu.T, logvar.T) * (1.0 / mu.shape[0])).data

    def latent_variances(self, x: Any) -> Any:
        """Var_x(E_q[z_u | x]) for each latent unit u, shape (L,), an array."""
        with no_grad():
            mu, _ = self.encode(x)
        return mu.data.var(axis=0)

    def active_units(self, x: Any, threshold: float = 1e-2) -> int:
        """How many latent units the model uses: those with Var_x(E_q[z_u | x]) > threshold.

        An inactive unit's posterior mean hardly moves with x: the KL term has pushed it to
        the prior and the decoder ignores it (Burda et al., 2016, section 5.2).
        """
        threshold = check_number("active_units", "threshold", threshold, low=0.0)
        return int((self.latent_variances(x) > threshold).sum())

    def sample(self, n: int, rng: np.random.Generator | int | None = None) -> Tensor:
        """n draws of E[x | z] with z ~ N(0, I): what the model imagines. Shape (n, ...).

        ``rng`` overrides the model's generator for z: a fixed seed decodes the same codes.
        """
        n = check_int("VAE.sample", "n", n)
        with no_grad():
            return self.decode(self.sample_latent(n, rng))

    def reconstruct(self, x: Any) -> Tensor:
        """E[x | z = μ(x)] without a graph: the model's picture of x."""
        with no_grad():
            return self.forward(x)

    def extra_repr(self) -> str:
        extra = f", iw_samples={self.iw_samples}" if self.iw_samples > 1 else ""
        return (f"latent_dim={self.latent_dim}, beta={self.beta}, "
                f"likelihood={self.likelihood!r}{extra}")


def mlp_vae(latent_dim: int = 20, hidden: int = 400, image_shape: tuple[int, ...] = (1, 28, 28),
            rng: np.random.Generator | int | None = None, **options: Any) -> VAE:
    """The MLP VAE of Kingma & Welling's MNIST experiments, with ReLU: 784-400-L (and back).

    Encoder: flatten, Dense(784, 400) + ReLU, Dense(400, 2L) -> (μ, log σ²).
    Decoder: Dense(L, 400) + ReLU, Dense(400, 784) -> logits, reshaped to ``image_shape``.
    Extra keyword arguments (beta, likelihood, iw_samples, ...) go to :class:`VAE`.
    """
    latent_dim = check_int("mlp_vae", "latent_dim", latent_dim)
    hidden = check_int("mlp_vae", "hidden", hidden)
    n_in = math.prod(image_shape)
    rng = own_generator(rng)
    encoder = nn.Sequential(nn.Flatten(), nn.Dense(n_in, hidden, activation="relu", rng=rng),
                            nn.Dense(hidden, 2 * latent_dim, rng=rng))
    decoder = nn.Sequential(nn.Dense(latent_dim, hidden, activation="relu", rng=rng),
                            nn.Dense(hidden, n_in, rng=rng), nn.Reshape(tuple(image_shape)))
    return VAE(encoder, decoder, latent_dim, rng=rng, **options)


def conv_vae(latent_dim: int = 16, channels: tuple[int, int] = (16, 32), image_size: int = 28,
             rng: np.random.Generator | int | None = None, **options: Any) -> VAE:
    """A convolutional VAE for (N, 1, S, S) images (S = ``image_size``, a multiple of 4).

    Encoder: Conv2D 3×3 stride 2 (c₁) + ReLU -> S/2, Conv2D 3×3 stride 2 (c₂) + ReLU ->
    S/4, flatten, Dense -> 2L. Decoder: its mirror, Dense -> (c₂, S/4, S/4) + ReLU, then
    ConvTranspose2D 3×3 stride 2 "same" to S/2 (c₁, ReLU) and to S (1 channel, logits).
    Extra keyword arguments (beta, likelihood, iw_samples, ...) go to :class:`VAE`.
    """
    latent_dim = check_int("conv_vae", "latent_dim", latent_dim)
    c1, c2 = (check_int("conv_vae", "channels", c) for c in channels)
    image_size = check_int("conv_vae", "image_size", image_size)
    if image_size % 4:
        raise ValueError(f"conv_vae: image_size must be a multiple of 4, got {image_size}")
    s = image_size // 4
    rng = own_generator(rng)
    encoder = nn.Sequential(
        nn.Conv2D(1, c1, 3, stride=2, padding=1, activation="relu", rng=rng),
        nn.Conv2D(c1, c2, 3, stride=2, padding=1, activation="relu", rng=rng),
        nn.Flatten(), nn.Dense(c2 * s * s, 2 * latent_dim, rng=rng))
    decoder = nn.Sequential(
        nn.Dense(latent_dim, c2 * s * s, activation="relu", rng=rng), nn.Reshape((c2, s, s)),
        nn.ConvTranspose2D(c2, c1, 3, stride=2, padding="same", activation="relu", rng=rng),
        nn.ConvTranspose2D(c1, 1, 3, stride=2, padding="same", rng=rng))
    return VAE(encoder, decoder, latent_dim, rng=rng, **options)
