"""Semantic inpainting with a trained GAN (Yeh et al., CVPR 2017): search the code, not the pixels.

A generator trained on digits can draw only digits. To fill a hole in a digit y, Yeh et al.
look for the code z whose drawing G(z) agrees with y where y is known, and then take the
hole from G(z). Two losses guide the search, on z alone (the networks stay fixed):

* the **contextual** loss ‖M ⊙ (G(z) − y)‖₁: M is 1 on the *known* pixels, so only they
  count, and the L1 norm lets a few of them disagree without dragging the rest;
* the **prior** loss λ · (−log D(G(z))): the discriminator's verdict keeps G(z) looking
  real. Yeh et al. wrote it as λ·log(1 − D(G(z))); we use the non-saturating form, as the
  GAN's own generator loss does, whose gradient does not vanish where D is sure G(z) is fake.

Each image's loss depends only on its own z, so one gradient step moves every image's code
at once. The engine differentiates with respect to an input here: z is the only tensor that
requires a gradient, and the networks' weights are held constant.

The same search works through any decoder with a prior on z. Given a VAE, the drawing is
the decoder's mean E[x | z] and the prior loss is λ · ‖z‖²/2, minus the log-density of
z ~ N(0, I) up to a constant: a code far from the prior's bulk draws something the VAE
never learned.

The module also holds what the experiments compare against and measure with:
:func:`inpainting_mask` (a centre square, the left half, or random pixels),
:func:`mean_fill`, :func:`nearest_neighbour_fill` and :func:`hole_psnr`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import scratchnet.functional as F
from scratchnet import optim
from scratchnet.autograd import Tensor, as_tensor, no_grad
from scratchnet.backend import as_numpy, get_array_module
from scratchnet.checks import check_int, check_number
from scratchnet.models.gan import GAN, _constants
from scratchnet.models.pretext import _evaluation
from scratchnet.models.vae import VAE
from scratchnet.random import get_generator

__all__ = ["MASKS", "context_weights", "hole_psnr", "inpainting_loss", "inpainting_mask",
           "mean_fill", "nearest_neighbour_fill", "semantic_inpainting"]

MASKS = ("center", "left", "random")


def _check(fn: str, gan: Any, corrupted: Any, known: Any) -> tuple[Tensor, Tensor]:
    if isinstance(gan, VAE):
        return _check_images(fn, corrupted, known)
    if not isinstance(gan, GAN):
        raise TypeError(f"{fn}: gan must be a models.GAN or a models.VAE, got "
                        f"{type(gan).__name__}")
    if gan.pack != 1 or gan.n_classes:
        raise ValueError(f"{fn}: needs an unconditional GAN with pack=1, got pack={gan.pack}, "
                         f"n_classes={gan.n_classes}")
    return _check_images(fn, corrupted, known)


def _check_images(fn: str, corrupted: Any, known: Any) -> tuple[Tensor, Tensor]:
    y, m = as_tensor(corrupted), as_tensor(known)
    if y.ndim < 2 or m.shape != y.shape:
        raise ValueError(f"{fn}: corrupted and known must have one shape (N, ...), got "
                         f"{y.shape} and {m.shape}")
    values = m.data
    if not bool(((values == 0) | (values == 1)).all()):
        raise ValueError(f"{fn}: known must hold only 1 (known pixel) and 0 (hole)")
    return y, m


def context_weights(known: Any, window: int = 7) -> Any:
    """Yeh et al.'s importance weights: W = M ⊙ (the share of hole pixels in a window).

        W_i = M_i · Σ_{j ∈ window(i)} (1 − M_j) / window²

    over a ``window`` × ``window`` square centred on each pixel i of the last two axes
    (pixels outside the frame count as known). A known pixel next to the hole weighs most,
    one far from it nothing: the background far away says little about what fills the hole.
    Shape: known (..., H, W), 0/1 floats or bools -> W of the same shape, in known's float
    dtype (float32 for a bool mask). ``window`` must be odd.
    """
    fn = "context_weights"
    window = check_int(fn, "window", window)
    if window % 2 == 0:
        raise ValueError(f"{fn}: window must be odd, so that it has a centre, got {window}")
    m = known.data if isinstance(known, Tensor) else known
    xp = get_array_module(m)
    m = xp.asarray(m)
    if m.ndim < 2:
        raise ValueError(f"{fn}: known must have at least two axes (..., H, W), got {m.shape}")
    if m.dtype.kind != "f":
        # 1 − m is not defined for bools, and W is a fraction: count in floats.
        m = m.astype(np.float32)
    half = window // 2
    hole = xp.pad(1 - m, [(0, 0)] * (m.ndim - 2) + [(half + 1, half), (half + 1, half)])
    # A box sum from a summed-area table: S[b] − S[a] along each axis.
    table = hole.cumsum(axis=-2).cumsum(axis=-1)
    h, w = m.shape[-2:]
    box = (table[..., window:window + h, window:window + w] - table[..., :h, window:window + w]
           - table[..., window:window + h, :w] + table[..., :h, :w])
    return (m * box / window ** 2).astype(m.dtype)


def inpainting_loss(gan: GAN | VAE, z: Any, corrupted: Any, known: Any,
                    prior_weight: float = 0.003, window: int = 0) -> Tensor:
    """Yeh et al.'s objective for each image, differentiable in z: shape (N,).

        L(z) = Σ_pixels |M ⊙ (G(z) − y)| + λ · softplus(−D_logit(G(z)))   (a GAN)
        L(z) = Σ_pixels |M ⊙ (E[x | z] − y)| + λ · ‖z‖² / 2               (a VAE)

    Shapes: z (N, latent_dim); corrupted y and known M of G's output shape (N, ...), with M
    1 on known pixels and 0 on the hole (y's values in the hole are never read).
    softplus(−logit) = −log σ(logit) = −log D(G(z)). λ = ``prior_weight``; Yeh et al. used
    0.003. For a VAE the prior term is minus log N(z; 0, I) up to a constant. With
    ``window`` > 0, M in the contextual term becomes :func:`context_weights` (M, window),
    Yeh et al.'s importance-weighted context (they used a 7 × 7 window).
    """
    fn = "inpainting_loss"
    y, m = _check(fn, gan, corrupted, known)
    prior_weight = check_number(fn, "prior_weight", prior_weight, low=0.0)
    window = check_int(fn, "window", window, minimum=0)
    z = as_tensor(z)
    generated = gan.decode(z) if isinstance(gan, VAE) else gan.generate(z)
    if generated.shape != y.shape:
        raise ValueError(f"{fn}: the generator draws {generated.shape}, corrupted is {y.shape}")
    weights = m if window == 0 else Tensor(context_weights(m, window))
    context = F.abs((generated - y) * weights).reshape(y.shape[0], -1).sum(axis=1)
    if prior_weight == 0:
        return context
    if isinstance(gan, VAE):
        return context + (z * z).sum(axis=1) * (prior_weight / 2)
    return context + F.softplus(-gan.score(generated)) * prior_weight


def _best_start(gan: GAN | VAE, y: Tensor, m: Tensor, prior_weight: float, window: int,
                candidates: int, rng: np.random.Generator | int | None) -> Tensor:
    """For each image, the code with the lowest objective among ``candidates`` draws."""
    n = y.shape[0]
    z = gan.sample_latent(n * candidates, rng=rng)
    repeat = (candidates,) + (1,) * (y.ndim - 1)
    xp = get_array_module(y.data)
    with no_grad():
        losses = inpainting_loss(gan, z, xp.tile(y.data, repeat), xp.tile(m.data, repeat),
                                 prior_weight, window).data.reshape(candidates, n)
    # Draw c of image i is row c·n + i: pick, per image, the row of the smallest loss.
    return Tensor(z.data[losses.argmin(axis=0) * n + xp.arange(n)])


def semantic_inpainting(gan: GAN | VAE, corrupted: Any, known: Any, steps: int = 300,
                        lr: float = 0.05, prior_weight: float = 0.003, window: int = 0,
                        candidates: int = 1, rng: np.random.Generator | int | None = None
                        ) -> dict[str, Any]:
    """Fill the holes of ``corrupted`` by searching each image's code z (Yeh et al., 2017).

    Starts from z ~ N(0, I) (from ``rng``, else the GAN's generator) or, with ``candidates``
    = K > 1, from the best of K draws per image by the objective (forward passes only: the
    search is not convex, and a start near the right digit avoids the wrong valleys); takes
    ``steps`` Adam steps on :func:`inpainting_loss` (with ``prior_weight`` and ``window``)
    with respect to z only, in evaluation mode (batch norm with its running statistics) and
    with the networks' weights held constant, then blends:

        completed = M ⊙ y + (1 − M) ⊙ G(z*)

    so the known pixels stay exactly as given. Returns ``{"completed", "generated", "z",
    "loss"}``: the blended images and G(z*) (arrays of y's shape), the codes (N,
    latent_dim), and the mean loss after each step (a list, to plot the search). Each
    module's training flag is restored afterwards.

    ``gan`` may also be a VAE: the search then runs through its decoder with the prior
    λ · ‖z‖²/2 (see :func:`inpainting_loss`); choose λ for that scale, not Yeh et al.'s.
    """
    fn = "semantic_inpainting"
    y, m = _check(fn, gan, corrupted, known)
    steps = check_int(fn, "steps", steps)
    lr = check_number(fn, "lr", lr, low=0.0, low_open=True)
    candidates = check_int(fn, "candidates", candidates)
    window = check_int(fn, "window", window, minimum=0)
    history = []
    networks = (gan.encoder, gan.decoder) if isinstance(gan, VAE) else (gan.generator,
                                                                         gan.discriminator)
    with _evaluation(gan), _constants(networks[0]), _constants(networks[1]):
        z = (gan.sample_latent(y.shape[0], rng=rng) if candidates == 1
             else _best_start(gan, y, m, prior_weight, window, candidates, rng)).detach()
        z.requires_grad_(True)
        optimizer = optim.Adam([z], lr=lr)
        for _ in range(steps):
            loss = inpainting_loss(gan, z, y, m, prior_weight, window).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            history.append(float(loss.data))
        with no_grad():
            generated = (gan.decode(z) if isinstance(gan, VAE) else gan.generate(z)).data
    xp = get_array_module(generated)
    completed = xp.where(m.data > 0, y.data, generated)
    return {"completed": completed, "generated": generated, "z": z.detach().data,
            "loss": history}


# -- masks, baselines and the measure ---------------------------------------------------------
def inpainting_mask(kind: str, n: int, image_shape: tuple[int, int, int] = (1, 28, 28),
                    size: int | None = None, fraction: float = 0.5,  # host: seeded masks
                    rng: np.random.Generator | int | None = None) -> np.ndarray:
    """Which pixels are known: float32 array (n, C, H, W), 1 known and 0 in the hole.

    * ``"center"``: a hole of side s = ``size`` (default min(H, W) // 2) at rows and columns
      (H − s) // 2 … (H − s) // 2 + s − 1, the square ``ContextEncoder(mask="center")``
      hides;
    * ``"left"``: the left half, columns 0 … W // 2 − 1;
    * ``"random"``: hides round(``fraction`` · H · W) pixels per image, drawn without replacement
      from ``rng`` (a different set for each image; all channels of a pixel together).
    """
    fn = "inpainting_mask"
    if kind not in MASKS:
        raise ValueError(f"{fn}: kind must be one of {MASKS}, got {kind!r}")
    n = check_int(fn, "n", n)
    if len(image_shape) != 3:
        raise ValueError(f"{fn}: image_shape must be (C, H, W), got {image_shape!r}")
    channels, height, width = (check_int(fn, "image_shape", v) for v in image_shape)
    hole = np.zeros((n, 1, height, width), dtype=bool)
    if kind == "center":
        side = min(height, width) // 2 if size is None else check_int(fn, "size", size)
        if side >= min(height, width):
            raise ValueError(f"{fn}: size must be < min(H, W) = {min(height, width)} so that "
                             f"some pixels stay known, got {side}")
        top, left = (height - side) // 2, (width - side) // 2
        hole[:, :, top:top + side, left:left + side] = True
    elif kind == "left":
        hole[..., :width // 2] = True
    else:
        fraction = check_number(fn, "fraction", fraction, low=0.0, high=1.0, low_open=True)
        count = round(fraction * height * width)
        if not 0 < count < height * width:
            raise ValueError(f"{fn}: fraction {fraction} hides {count} of {height * width} "
                             f"pixels; it must hide some and keep some")
        generator = get_generator(rng)
        order = np.argsort(generator.random((n, height * width)), axis=1)
        flat = hole.reshape(n, height * width)
        np.put_along_axis(flat, order[:, :count], True, axis=1)
    known = np.broadcast_to(~hole, (n, channels, height, width))
    return known.astype(np.float32)


def _check_pair(fn: str, images: Any, known: Any) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(as_numpy(images.data if isinstance(images, Tensor) else images))
    m = np.asarray(as_numpy(known.data if isinstance(known, Tensor) else known))
    if y.ndim < 2 or y.shape != m.shape:
        raise ValueError(f"{fn}: images and known must have one shape (N, ...), got "
                         f"{y.shape} and {m.shape}")
    if not bool(((m == 0) | (m == 1)).all()):
        raise ValueError(f"{fn}: known must hold only 1 (known pixel) and 0 (hole)")
    return y, m


def mean_fill(corrupted: Any, known: Any, mean_image: Any) -> np.ndarray:  # host: a baseline
    """The hole filled with the average training image: M ⊙ y + (1 − M) ⊙ x̄.

    Shapes: corrupted and known (N, ...), mean_image (...) (one image, e.g. the pixelwise
    mean of the training set). The baseline that knows digits only on average.
    """
    y, m = _check_pair("mean_fill", corrupted, known)
    mean = np.asarray(as_numpy(mean_image.data if isinstance(mean_image, Tensor) else mean_image))
    if mean.shape != y.shape[1:]:
        raise ValueError(f"mean_fill: mean_image must have one image's shape {y.shape[1:]}, "
                         f"got {mean.shape}")
    return np.where(m > 0, y, mean[None]).astype(y.dtype)


def nearest_neighbour_fill(corrupted: Any, known: Any, references: Any,  # host: a baseline
                           batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Fill each hole from the reference image closest to it on the known pixels.

    For each image y with mask M, picks i* = argmin_i ‖M ⊙ (x_i − y)‖² over the references
    x_i (N_ref, ...), computed as Σ M y² − 2 Σ (M y) x_i + Σ M x_i² with matrix products,
    and returns (completed, i*): completed = M ⊙ y + (1 − M) ⊙ x_{i*}, shape (N, ...), and the
    chosen indices (N,). The baseline that can only copy a digit it has seen.
    """
    fn = "nearest_neighbour_fill"
    y, m = _check_pair(fn, corrupted, known)
    refs = np.asarray(as_numpy(references.data if isinstance(references, Tensor) else references))
    if refs.shape[1:] != y.shape[1:] or len(refs) == 0:
        raise ValueError(f"{fn}: references must be (N_ref, ...) images of shape "
                         f"{y.shape[1:]}, got {refs.shape}")
    batch_size = check_int(fn, "batch_size", batch_size)
    flat_refs = refs.reshape(len(refs), -1).astype(np.float64)
    chosen = np.empty(len(y), dtype=np.int64)
    for start in range(0, len(y), batch_size):
        yb = y[start:start + batch_size].reshape(-1, flat_refs.shape[1]).astype(np.float64)
        mb = m[start:start + batch_size].reshape(yb.shape).astype(np.float64)
        # Squared distance on the known pixels; Σ M y² is the same for every reference.
        distance = -2.0 * (mb * yb) @ flat_refs.T + mb @ (flat_refs ** 2).T
        chosen[start:start + batch_size] = distance.argmin(axis=1)
    completed = np.where(m > 0, y, refs[chosen]).astype(y.dtype)
    return completed, chosen


def hole_psnr(truth: Any, completed: Any, known: Any, data_range: float = 1.0,
              per_image: bool = False) -> float | np.ndarray:  # host: a metric on host copies
    """PSNR in decibels over the hole pixels only: 10 log10(range² / MSE_hole).

    Shapes: truth x, completed x̂ and known M (N, ...), M 1 on the *known* pixels and 0 on
    the hole, as in every function of this module. By default one number for the set:
    MSE_hole = Σ (1 − M) ⊙ (x − x̂)² / Σ (1 − M), pooled over every image's hole, so the
    known pixels (copied exactly by every method) do not inflate the score and an image
    with a larger hole weighs more. With ``per_image=True``, a float64 array (N,): image
    n's PSNR from the mean over its own hole pixels (every image needs a hole); a perfect
    hole gives inf.

    Exercise 18's ``hole_psnr`` is the per-image case, but it takes the *hole* mask
    (1 = missing pixel, i.e. 1 − M) and always returns one PSNR per image.
    """
    fn = "hole_psnr"
    x, m = _check_pair(fn, truth, known)
    estimate = np.asarray(as_numpy(completed.data if isinstance(completed, Tensor) else completed))
    if estimate.shape != x.shape:
        raise ValueError(f"{fn}: completed has shape {estimate.shape}, truth {x.shape}")
    data_range = check_number(fn, "data_range", data_range, low=0.0, low_open=True)
    if not isinstance(per_image, bool):
        raise TypeError(f"{fn}: per_image must be True or False, got {per_image!r}")
    hole = m == 0
    squared = (x.astype(np.float64) - estimate) ** 2
    if per_image:
        counts = hole.reshape(len(x), -1).sum(axis=1)
        if not counts.all():
            raise ValueError(f"{fn}: with per_image=True every image needs a hole; image(s) "
                             f"{np.flatnonzero(counts == 0).tolist()} have none")
        errors = np.where(hole, squared, 0.0).reshape(len(x), -1).sum(axis=1) / counts
        with np.errstate(divide="ignore"):      # a perfect hole: PSNR is +inf, on purpose
            return 10 * np.log10(data_range ** 2 / errors)
    if not hole.any():
        raise ValueError(f"{fn}: known has no hole (every pixel is 1)")
    error = float(squared[hole].mean())
    return float("inf") if error == 0 else float(10 * np.log10(data_range ** 2 / error))
