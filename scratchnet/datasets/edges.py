"""Image transforms that make a second view of a digit: its Sobel edges, its strokes thickened.

Image-to-image translation needs two kinds of image. pix2pix learns edges -> digit from
pairs made by :func:`sobel_edges`; CycleGAN learns thin <-> thick strokes from two sets
that share no digit, where the thick set comes from :func:`dilate`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scratchnet.backend import get_array_module
from scratchnet.datasets.colour import _grey_images

__all__ = ["FOOTPRINTS", "SOBEL_MAX", "dilate", "sobel_edges"]

# The largest Sobel gradient magnitude a 3×3 patch of values in [0, 1] can give. The
# magnitude is a convex function of the patch, so its maximum over the box [0, 1]⁹ lies on
# a corner (a 0/1 patch); among those the best is
#     0 0 0
#     0 0 1     with G_x = 2 and G_y = 4, so √(2² + 4²) = √20.
#     1 1 1
SOBEL_MAX = float(np.sqrt(20.0))


def sobel_edges(images: Any) -> Any:
    r"""The Sobel gradient magnitude of grey images, scaled into [0, 1]: (N, 1, H, W) -> same.

    With x the image padded by one row and column of zeros on every side (MNIST's
    background is black, so the border adds no edge), the two Sobel responses at pixel
    (i, j) are

        G_x = Σ_{u,v} K[u, v] · x[i + u, j + v],   G_y likewise with Kᵀ,
        K = [[−1, 0, 1], [−2, 0, 2], [−1, 0, 1]],   u, v ∈ {−1, 0, 1},

    a horizontal difference smoothed vertically by (1, 2, 1), and its transpose. The
    output is √(G_x² + G_y²) / √20: √20 is :data:`SOBEL_MAX`, the largest magnitude any 3×3
    patch of values in [0, 1] can give, so the edges lie in [0, 1] for every input, and
    one fixed scale (not a per-image maximum) keeps a faint digit's edges faint. G_x and
    G_y are correlations (no kernel flip), as ``scipy.ndimage.sobel`` computes them; the
    magnitude does not depend on the sign. Computed with nine shifted slices of the padded
    images, no loop over images; float32 in, float32 out.
    """
    images = _grey_images("sobel_edges", images)
    xp = get_array_module(images)
    h, w = images.shape[2:]
    padded = xp.pad(images, ((0, 0), (0, 0), (1, 1), (1, 1)))

    def shifted(du: int, dv: int) -> Any:
        """x[i + du, j + dv] for every pixel (i, j) of the unpadded image."""
        return padded[:, :, 1 + du:1 + du + h, 1 + dv:1 + dv + w]

    gx = (shifted(-1, 1) + 2 * shifted(0, 1) + shifted(1, 1)
          - shifted(-1, -1) - 2 * shifted(0, -1) - shifted(1, -1))
    gy = (shifted(1, -1) + 2 * shifted(1, 0) + shifted(1, 1)
          - shifted(-1, -1) - 2 * shifted(-1, 0) - shifted(-1, 1))
    magnitude = xp.sqrt(gx * gx + gy * gy) / SOBEL_MAX
    # Rounding can take a maximal edge a hair above 1.
    return xp.minimum(magnitude, 1.0).astype(images.dtype)


FOOTPRINTS = ("square", "diamond")


def dilate(images: Any, size: int = 3, footprint: str = "square") -> Any:
    """Grey dilation: each pixel becomes the maximum over a neighbourhood around it.

    Shapes (N, 1, H, W) -> (N, 1, H, W), values stay in [0, 1]. With r = (size − 1) / 2,
    the neighbourhood of pixel (i, j) is its offsets (u, v), |u|, |v| ≤ r, that are

    * ``"square"``: all of them, the size×size square;
    * ``"diamond"``: those with |u| + |v| ≤ r (for size 3, the pixel and its four
      neighbours, a plus sign).

    On a white stroke on a black background either widens the stroke by r pixels on each
    side across the stroke's direction; the diamond widens a diagonal stroke less, so an
    MNIST digit dilated by the 3-pixel diamond thickens by about two pixels and still
    looks like itself, where the square also fills small loops. Pixels outside the image
    count as 0 (black). ``size`` must be odd, so that the neighbourhood is centred.
    Computed as the running maximum of shifted slices, no loop over images.
    """
    images = _grey_images("dilate", images)
    if isinstance(size, (bool, np.bool_)) or not isinstance(size, (int, np.integer)) \
            or size < 1 or size % 2 == 0:
        raise ValueError(f"dilate: size must be an odd integer >= 1, got {size!r}")
    if footprint not in FOOTPRINTS:
        raise ValueError(f"dilate: footprint must be one of {FOOTPRINTS}, got {footprint!r}")
    xp = get_array_module(images)
    h, w = images.shape[2:]
    r = size // 2
    padded = xp.pad(images, ((0, 0), (0, 0), (r, r), (r, r)))
    out = images.copy()
    for u in range(-r, r + 1):
        for v in range(-r, r + 1):
            if footprint == "square" or abs(u) + abs(v) <= r:
                out = xp.maximum(out, padded[:, :, r + u:r + u + h, r + v:r + v + w])
    return out
