"""scratchnet.random: the library generator, and what an object keeps as its own ``rng``."""

from __future__ import annotations

import numpy as np
import pytest

import scratchnet as sn
from scratchnet.random import get_generator, manual_seed, own_generator


@pytest.fixture(autouse=True)
def _keep_the_library_generator():
    from scratchnet import random as library

    saved = library._state["generator"]
    yield
    library._state["generator"] = saved


def test_own_generator_makes_one_generator_from_a_seed_once():
    rng = own_generator(5)
    assert isinstance(rng, np.random.Generator)
    expected = np.random.default_rng(5)
    # Successive draws continue one stream: a layer that re-made it would repeat its draws.
    for _ in range(2):
        np.testing.assert_array_equal(rng.random(3), expected.random(3))


def test_own_generator_keeps_a_given_generator_itself():
    generator = np.random.default_rng(1)
    assert own_generator(generator) is generator


def test_own_generator_keeps_none_so_that_a_later_manual_seed_counts():
    assert own_generator(None) is None
    loader = sn.datasets.DataLoader(np.arange(10), batch_size=10)  # rng=None kept as None
    manual_seed(3)
    first = next(iter(loader))
    manual_seed(3)
    np.testing.assert_array_equal(next(iter(loader)), first)
    assert get_generator(None) is get_generator()


@pytest.mark.parametrize("bad", [1.5, "0", True])
def test_own_generator_refuses_what_is_not_a_seed_or_a_generator(bad):
    with pytest.raises(TypeError, match=r"rng must be None, an int seed or a "
                                        r"numpy\.random\.Generator"):
        own_generator(bad)
