"""Data: a bundled real MNIST subset, the full MNIST on request, synthetic sets, minibatches.

Everything here works offline. ``load_mnist`` uses the 5,000-image subset that ships with
the package unless the full 70,000 images were fetched with ``scratchnet download mnist``.
The synthetic sets are generated from a seed.
"""

from scratchnet.datasets.augment import random_binarize, random_shift
from scratchnet.datasets.colour import colorize, hue_to_rgb, rgb_to_hue
from scratchnet.datasets.download import DownloadError, download_mnist
from scratchnet.datasets.edges import dilate, sobel_edges
from scratchnet.datasets.idx import IDXError, read_idx, write_idx
from scratchnet.datasets.loader import DataLoader, StreamLoader
from scratchnet.datasets.mnist import data_home, load_mnist
from scratchnet.datasets.strokes import stroke_thickness
from scratchnet.datasets.synthetic import (
    make_bars_and_stripes,
    make_circle,
    make_grid,
    make_ring,
    make_shapes,
    make_swiss_roll,
)
from scratchnet.datasets.text import CharVocab, TextLoader, load_text, split_blocks

__all__ = ["CharVocab", "DataLoader", "DownloadError", "IDXError", "StreamLoader", "TextLoader",
           "colorize", "data_home", "dilate", "download_mnist", "hue_to_rgb", "load_mnist",
           "load_text", "make_bars_and_stripes", "make_circle", "make_grid", "make_ring",
           "make_shapes", "make_swiss_roll", "random_binarize", "random_shift", "read_idx",
           "rgb_to_hue", "sobel_edges", "split_blocks", "stroke_thickness", "write_idx"]
