"""The shared argument checks: every message names the caller, the argument and the bound."""

import numpy as np
import pytest

from scratchnet.checks import check_int, check_number


def test_check_int_accepts_integers_in_range():
    assert check_int("f", "n", np.int64(5)) == 5
    assert check_int("f", "n", 3, minimum=0, maximum=3) == 3


@pytest.mark.parametrize("value, error, message", [
    (True, TypeError, r"f: n must be an integer, got bool True"),
    (2.0, TypeError, r"f: n must be an integer, got float 2.0"),
    (0, ValueError, r"f: n must be a positive integer, got 0"),
])
def test_check_int_refusals(value, error, message):
    with pytest.raises(error, match=message):
        check_int("f", "n", value)
    with pytest.raises(ValueError, match=r"f: k must be an integer between 2 and 4, got 5"):
        check_int("f", "k", 5, minimum=2, maximum=4)
    with pytest.raises(ValueError, match=r"f: k must be an integer >= 2, got 1"):
        check_int("f", "k", 1, minimum=2)


def test_check_number_bounds_and_zero_d_arrays():
    assert check_number("f", "x", np.array(0.5), 0.0, 1.0) == 0.5
    assert check_number("f", "x", 0, low=0.0) == 0.0
    with pytest.raises(ValueError, match=r"f: x must be a finite number > 0, got 0.0"):
        check_number("f", "x", 0.0, low=0.0, low_open=True)
    with pytest.raises(ValueError, match=r"f: x must be a finite number in \(0, 1\], got 1.5"):
        check_number("f", "x", 1.5, 0.0, 1.0, low_open=True)
    with pytest.raises(ValueError, match=r"f: x must be a finite number < 2, got 2.0"):
        check_number("f", "x", 2.0, high=2.0, high_open=True)
    with pytest.raises(ValueError, match=r"f: x must be a finite number, got inf"):
        check_number("f", "x", float("inf"))
    with pytest.raises(ValueError, match=r"got nan"):
        check_number("f", "x", float("nan"), low=0.0)
    with pytest.raises(TypeError, match=r"f: x must be a number, got str '1'"):
        check_number("f", "x", "1")
