"""Autoencoders: learn a code h = f(x) from which a decoder rebuilds x̂ = g(h) ≈ x.

One class, :class:`Autoencoder`, covers the course's family by its options
(Canziani & Ng; Veličković, "Autoencoders"):

* **undercomplete** (the code is smaller than the input) or **overcomplete**;
* **denoising** (``noise=``): corrupt the input while training, reconstruct the clean one
  (Vincent et al., 2008);
* **contractive** (``contractive=λ``): add λ‖∂h/∂x‖²_F, so the code changes little when the
  input moves (Rifai et al., 2011). The Jacobian comes from autodiff with
  ``create_graph=True``, so it works for any encoder, and its gradient is a second
  derivative;
* **sparse** (``sparsity=β``): an L1 penalty on the code, or KL(ρ ‖ ρ̂) towards a target
  mean activation ρ for sigmoid codes (Ng's sparse autoencoder notes).

:class:`LinearAutoencoder` has no nonlinearity; trained with squared error it learns PCA's
subspace (Baldi & Hornik, 1989). ``deep_autoencoder()`` and ``conv_autoencoder()`` build
the course's two image architectures.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

import scratchnet.functional as F
from scratchnet import nn
from scratchnet.autograd import Tensor, as_tensor, enable_grad, grad
from scratchnet.backend import get_array_module
from scratchnet.checks import check_int, check_number, check_range
from scratchnet.random import get_generator, own_generator

__all__ = ["Autoencoder", "LinearAutoencoder", "TiedDense", "conv_autoencoder",
           "deep_autoencoder"]

LOSSES = ("mse", "bce")


def _parse_noise(noise: Any) -> tuple[str, float] | None:
    """None | std (Gaussian) | ("gaussian", std) | ("masking", p)."""
    if noise is None:
        return None
    if isinstance(noise, (int, float)) and not isinstance(noise, bool):
        noise = ("gaussian", noise)
    if not (isinstance(noise, tuple) and len(noise) == 2 and noise[0] in ("gaussian", "masking")):
        raise ValueError(f"Autoencoder: noise must be None, a std, ('gaussian', std) or "
                         f"('masking', p), got {noise!r}")
    kind, level = noise
    if kind == "masking":
        return kind, check_number("Autoencoder", "masking probability", level, 0.0, 1.0,
                                  high_open=True)
    return kind, check_number("Autoencoder", "noise std", level, low=0.0)


class Autoencoder(nn.Module):
    """An encoder and a decoder trained to reconstruct their input.

    Args:
        encoder, decoder: any modules; ``decoder(encoder(x))`` must have x's shape.
        loss: ``"mse"`` (mean squared error) or ``"bce"`` (binary cross-entropy of x in
            [0, 1] under a decoder that outputs probabilities, e.g. ends in a sigmoid).
        noise: corruption applied to the input in training mode only: a Gaussian std,
            ``("gaussian", std)`` or ``("masking", p)`` (each value zeroed with probability
            p). The reconstruction target stays the clean input.
        contractive: λ for the penalty λ · mean over the batch of ‖∂h/∂x‖²_F.
        sparsity: β for the sparsity penalty on the code h.
        sparsity_target: None for β · mean(|h|) (L1); a mean activation ρ in (0, 1) for
            β · Σ_j KL(ρ ‖ ρ̂_j), with ρ̂_j the batch mean of h_j (codes in (0, 1)).
        rng: generator or seed for the noise (default: the library's).
    """

    def __init__(self, encoder: nn.Module, decoder: nn.Module, loss: str = "mse",
                 noise: Any = None, contractive: float = 0.0, sparsity: float = 0.0,
                 sparsity_target: float | None = None,
                 rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        if loss not in LOSSES:
            raise ValueError(f"Autoencoder: loss must be one of {LOSSES}, got {loss!r}")
        self.encoder, self.decoder, self.loss_name = encoder, decoder, loss
        self.noise = _parse_noise(noise)
        self.contractive = check_number("Autoencoder", "contractive", contractive, low=0.0)
        self.sparsity = check_number("Autoencoder", "sparsity", sparsity, low=0.0)
        self.sparsity_target = (None if sparsity_target is None else check_number(
            "Autoencoder", "sparsity_target", sparsity_target, 0.0, 1.0, low_open=True,
            high_open=True))
        if sparsity_target is not None and self.sparsity == 0:
            raise ValueError("Autoencoder: sparsity_target has no effect with sparsity=0; "
                             "set sparsity=β > 0 too")
        self.rng = own_generator(rng)

    def encode(self, x: Tensor) -> Tensor:
        return self.encoder(as_tensor(x))

    def decode(self, h: Tensor) -> Tensor:
        return self.decoder(as_tensor(h))

    def forward(self, x: Tensor) -> Tensor:
        """The reconstruction x̂ = decode(encode(x)), without noise."""
        return self.decode(self.encode(x))

    def corrupt(self, x: Tensor) -> Tensor:
        """The noisy input a denoising autoencoder sees while training (x itself otherwise)."""
        x = as_tensor(x)
        if self.noise is None or not self.training:
            return x
        kind, level = self.noise
        generator = get_generator(self.rng)
        xp = get_array_module(x.data)
        if kind == "gaussian":
            noise = generator.normal(0.0, level, size=x.shape)
            return x + as_tensor(xp.asarray(noise, dtype=x.dtype))
        keep = generator.random(x.shape) >= level
        return x * as_tensor(xp.asarray(keep, dtype=x.dtype))

    def reconstruction_loss(self, x_hat: Tensor, x: Tensor) -> Tensor:
        """Mean squared error or binary cross-entropy per value, averaged.

        Binary cross-entropy treats each value of x as the probability of a binary pixel,
        so x must lie in [0, 1].
        """
        if self.loss_name == "mse":
            return F.mse_loss(x_hat, x)
        check_range("Autoencoder", x, 0.0, 1.0, "loss='bce' reads values as probabilities "
                    "of binary pixels")
        return F.binary_cross_entropy(x_hat, x)

    def jacobian_norm(self, x: Tensor, h: Tensor | None = None) -> Tensor:
        """‖∂h/∂x‖²_F for each example, shape (N,), differentiable (by double backprop).

        Row j of the Jacobian is ∂h_j/∂x. Examples do not interact, so summing h_j over
        the batch and differentiating gives every example's row at once: one backward pass
        per code unit. ``x`` must require grad and ``h = encode(x)`` (computed if omitted).
        """
        if not x.requires_grad:
            raise ValueError("jacobian_norm: x must require grad (Tensor(x, requires_grad=True))")
        with enable_grad():
            h = self.encode(x) if h is None else h
            flat = h.reshape(h.shape[0], -1)
            total = None
            for j in range(flat.shape[1]):
                (row,) = grad(flat[:, j].sum(), x, create_graph=True)
                squared = (row * row).reshape(row.shape[0], -1).sum(axis=1)
                total = squared if total is None else total + squared
        return total

    def penalties(self, x_in: Tensor, h: Tensor) -> Tensor | None:
        """The contractive and sparsity terms for code h = encode(x_in), or None."""
        terms = []
        if self.contractive > 0:
            terms.append(self.jacobian_norm(x_in, h).mean() * self.contractive)
        if self.sparsity > 0:
            if self.sparsity_target is None:
                terms.append(F.abs(h).mean() * self.sparsity)
            else:
                rho = self.sparsity_target
                rho_hat = F.clip(h.reshape(h.shape[0], -1).mean(axis=0), 1e-6, 1 - 1e-6)
                kl = (rho * F.log(rho / rho_hat)
                      + (1 - rho) * F.log((1 - rho) / (1 - rho_hat))).sum()
                terms.append(kl * self.sparsity)
        if not terms:
            return None
        total = terms[0]
        for term in terms[1:]:
            total = total + term
        return total

    def loss(self, x: Tensor) -> Tensor:
        """Reconstruction loss of the clean x from its (training-time) corrupted version,
        plus the active penalties. A scalar Tensor: ``fit(model, lambda m, x: m.loss(x), ...)``.
        """
        x = as_tensor(x)
        x_in = self.corrupt(x)
        if self.contractive > 0 and not x_in.requires_grad:
            x_in = Tensor._wrap(x_in.data).requires_grad_()  # ∂h/∂x needs x in the graph
        # The contractive term differentiates h, so h needs a graph even when the loss is
        # only evaluated (validation runs under no_grad).
        with enable_grad() if self.contractive > 0 else contextlib.nullcontext():
            h = self.encode(x_in)
            penalty = self.penalties(x_in, h)
        total = self.reconstruction_loss(self.decode(h), x)
        return total if penalty is None else total + penalty


class TiedDense(nn.Module):
    """The transpose of a Dense layer: ``y = h Wᵀ + b``, sharing W with the encoder.

    W (n_in, n_code) is the encoder's Parameter itself, so one matrix is trained and the
    model counts it once; only the bias b (n_in,) is the decoder's own.
    """

    def __init__(self, weight: nn.Parameter) -> None:
        super().__init__()
        self.weight = weight
        self.bias = nn.Parameter(np.zeros(weight.shape[0]), dtype=weight.dtype)

    def forward(self, h: Tensor) -> Tensor:
        return h @ self.weight.T + self.bias

    def extra_repr(self) -> str:
        return f"{self.weight.shape[1]} -> {self.weight.shape[0]}, tied"


class LinearAutoencoder(Autoencoder):
    """x̂ = (x W_e + b_e) W_d + b_d with no activation, trained with squared error.

    Shapes: x (N, n_in), code (N, n_code). With ``tied=True``, W_d = W_eᵀ (one matrix).
    At its optimum the decoder's rows span the top-n_code principal subspace
    (Baldi & Hornik, 1989); :meth:`decoder_basis` returns that span for comparison with PCA.
    """

    def __init__(self, n_in: int, n_code: int, tied: bool = False,
                 rng: np.random.Generator | int | None = None) -> None:
        n_in = check_int("LinearAutoencoder", "n_in", n_in)
        n_code = check_int("LinearAutoencoder", "n_code", n_code)
        rng = own_generator(rng)
        encoder = nn.Dense(n_in, n_code, rng=rng)
        decoder = TiedDense(encoder.weight) if tied else nn.Dense(n_code, n_in, rng=rng)
        super().__init__(encoder, decoder, loss="mse")
        self.tied = tied

    def decoder_basis(self) -> Any:
        """(n_in, n_code): columns spanning the decoder's output subspace (before the bias)."""
        if self.tied:
            return self.encoder.weight.data
        return self.decoder.weight.data.T


def deep_autoencoder(code_size: int = 32, rng: np.random.Generator | int | None = None,
                     **options: Any) -> Autoencoder:
    """The course's deep MLP autoencoder for MNIST: 784-128-code-128-784.

    ReLU hidden layers, a linear code, a sigmoid output and binary cross-entropy. Takes and
    returns (N, 1, 28, 28) images. About 210K parameters with a 32-unit code. Extra keyword
    arguments (noise, contractive, sparsity, ...) go to :class:`Autoencoder`.
    """
    rng = own_generator(rng)
    encoder = nn.Sequential(nn.Flatten(), nn.Dense(784, 128, activation="relu", rng=rng),
                            nn.Dense(128, code_size, rng=rng))
    decoder = nn.Sequential(nn.Dense(code_size, 128, activation="relu", rng=rng),
                            nn.Dense(128, 784, activation="sigmoid", rng=rng),
                            nn.Reshape((1, 28, 28)))
    options.setdefault("loss", "bce")
    return Autoencoder(encoder, decoder, **options)


def conv_autoencoder(rng: np.random.Generator | int | None = None,
                     **options: Any) -> Autoencoder:
    """The course's convolutional autoencoder (its Keras code, in NCHW layers).

    Encoder: pad 28×28 to 32×32, then three times Conv2D 3×3 "same" + ReLU (16, 8, 8
    channels) and MaxPool 2: (N, 1, 28, 28) -> code (N, 8, 4, 4).
    Decoder: three ConvTranspose2D 3×3 "same" stride 2 (8, 16, 1 channels; ReLU, ReLU,
    sigmoid) back to 32×32, then crop to 28×28. About 3.8K parameters, against ~210K for
    :func:`deep_autoencoder`: weight sharing at work.
    """
    rng = own_generator(rng)
    encoder = nn.Sequential(
        nn.ZeroPadding2D(2),
        nn.Conv2D(1, 16, 3, padding="same", activation="relu", rng=rng), nn.MaxPool2D(2),
        nn.Conv2D(16, 8, 3, padding="same", activation="relu", rng=rng), nn.MaxPool2D(2),
        nn.Conv2D(8, 8, 3, padding="same", activation="relu", rng=rng), nn.MaxPool2D(2),
    )
    decoder = nn.Sequential(
        nn.ConvTranspose2D(8, 8, 3, stride=2, padding="same", activation="relu", rng=rng),
        nn.ConvTranspose2D(8, 16, 3, stride=2, padding="same", activation="relu", rng=rng),
        nn.ConvTranspose2D(16, 1, 3, stride=2, padding="same", activation="sigmoid", rng=rng),
        nn.Cropping2D(2),
    )
    options.setdefault("loss", "bce")
    return Autoencoder(encoder, decoder, **options)
