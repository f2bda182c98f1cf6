"""Argument checks whose errors name the caller, the argument, what it got and what it expects.

    check_int("Dense", "in_features", 0)          # ValueError: Dense: in_features must be a
                                                  # positive integer, got 0
    check_number("Adam", "eps", -1.0, low=0.0, low_open=True)
    check_range("VAE", images, 0.0, 1.0, "Bernoulli pixels")   # ValueError for 0-255 images
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from scratchnet.autograd import Tensor

__all__ = ["check_int", "check_number", "check_range", "with_article"]

# Letters whose spoken names start with a vowel sound: "an RBM", "an MLP", but "a VAE".
VOWEL_SOUND_LETTERS = "AEFHILMNORSX"


def check_int(owner: str, name: str, value: Any, minimum: int = 1,
              maximum: int | None = None) -> int:
    """``value`` as an int in ``[minimum, maximum]``, else TypeError / ValueError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{owner}: {name} must be an integer, got {type(value).__name__} "
                        f"{value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        if maximum is not None:
            expected = f"an integer between {minimum} and {maximum}"
        else:
            expected = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{owner}: {name} must be {expected}, got {value}")
    return int(value)


def check_number(owner: str, name: str, value: Any, low: float | None = None,
                 high: float | None = None, *, low_open: bool = False,
                 high_open: bool = False) -> float:
    """``value`` as a finite float within the bounds given, else TypeError / ValueError.

    ``low_open`` / ``high_open`` exclude that end: ``low=0, low_open=True`` means > 0.
    NaN and infinities are always refused. A 0-d array (as ``numpy.load`` returns a
    saved scalar) counts as its number.
    """
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer,
                                                                      np.floating)):
        raise TypeError(f"{owner}: {name} must be a number, got {type(value).__name__} "
                        f"{value!r}")
    value = float(value)
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if not math.isfinite(value) or too_low or too_high:
        if low is not None and high is not None:
            expected = (f"in {'(' if low_open else '['}{low:g}, {high:g}"
                        f"{')' if high_open else ']'}")
        elif low is not None:
            expected = f"{'>' if low_open else '>='} {low:g}"
        elif high is not None:
            expected = f"{'<' if high_open else '<='} {high:g}"
        else:
            expected = ""
        raise ValueError(f"{owner}: {name} must be a finite number {expected}".rstrip()
                         + f", got {value}")
    return value


def check_range(owner: str, data: Any, low: float, high: float, why: str) -> None:
    """Raise ValueError unless every value of ``data`` (array or Tensor) lies in [low, high].

    A model whose likelihood assumes a range (Bernoulli pixels in [0, 1], a generator that
    ends in a tanh) would otherwise train on 0-255 images with an enormous loss and no
    hint why. ``why`` says where the range comes from, for the message. NaN and inf fail
    with a message of their own.
    """
    values = np.asarray(data) if isinstance(data, (list, tuple)) else data
    values = values.data if isinstance(values, Tensor) else values
    if values.size == 0:
        return
    smallest, largest = float(values.min()), float(values.max())
    if not (math.isfinite(smallest) and math.isfinite(largest)):  # a NaN makes both NaN
        raise ValueError(f"{owner}: the data contain NaN or infinite values (the smallest is "
                         f"{smallest:g}, the largest {largest:g})")
    if not (low <= smallest and largest <= high):
        raise ValueError(f"{owner}: values must lie in [{low:g}, {high:g}] ({why}), got "
                         f"[{smallest:g}, {largest:g}]; scale the data to [{low:g}, {high:g}] "
                         f"first (images in 0-255: divide by 255)")


def with_article(name: str) -> str:
    """``name`` after "a" or "an", as it is read aloud: "an Autoencoder", "a VAE", "an RBM".

    An acronym (its first two letters capitals) is spelt out, so the name of its first
    letter decides; any other word takes "an" when it starts with a vowel.
    """
    if len(name) >= 2 and name[:2].isupper():
        article = "an" if name[0] in VOWEL_SOUND_LETTERS else "a"
    else:
        article = "an" if name[:1].lower() in ("a", "e", "i", "o", "u") else "a"
    return f"{article} {name}"
