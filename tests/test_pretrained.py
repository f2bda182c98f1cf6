"""The cached DCGAN and VAE: trained on first use, loaded after, one file per recipe."""

from __future__ import annotations

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import models
from scratchnet.checkpoint import read_checkpoint, save
from scratchnet.models import pretrained
from scratchnet.models.pretrained import (
    CACHE_VERSION,
    DCGAN_RECIPE,
    VAE_RECIPE,
    mnist_dcgan,
    mnist_vae,
    pretrained_path,
)

TINY = {"epochs": 1, "train_size": 64}


@pytest.fixture
def trainings(monkeypatch):
    """Counts the calls of ``pretrained.fit``: how many times a model was trained."""
    calls = []

    def counted(*args, **kwargs):
        calls.append(1)
        return fit(*args, **kwargs)

    fit = pretrained.fit
    monkeypatch.setattr(pretrained, "fit", counted)
    return calls


def test_the_dcgan_is_trained_once_then_loaded(tmp_path, trainings):
    path = tmp_path / "gan.npz"
    gan = mnist_dcgan(path, progress=False, **TINY)
    assert len(trainings) == 1
    assert isinstance(gan, models.GAN) and path.is_file()
    assert not gan.generator.training and not gan.discriminator.training
    samples = gan.sample(5, rng=0).data
    assert samples.shape == (5, 1, 28, 28)
    assert samples.min() >= 0 and samples.max() <= 1
    again = mnist_dcgan(path, progress=False, **TINY)           # loaded, not retrained
    assert len(trainings) == 1
    np.testing.assert_array_equal(again.sample(5, rng=0).data, samples)
    for a, b in zip(gan.discriminator.parameters(), again.discriminator.parameters(),
                    strict=True):
        np.testing.assert_array_equal(a.data, b.data)
    # An untrained GAN of the same recipe draws something else: the weights came from disk.
    fresh = models.GAN(models.dcgan_generator(64, 16, rng=0), models.dcgan_discriminator(16),
                       64).eval()
    assert np.abs(fresh.sample(5, rng=0).data - samples).max() > 1e-3


def test_the_vae_is_trained_once_then_loaded(tmp_path, trainings):
    path = tmp_path / "vae.npz"
    vae = mnist_vae(path, progress=False, **TINY)
    assert isinstance(vae, models.VAE) and path.is_file()
    decoded = vae.sample(3, rng=0).data
    assert decoded.shape == (3, 1, 28, 28)
    np.testing.assert_array_equal(mnist_vae(path, progress=False, **TINY).sample(3, rng=0).data,
                                  decoded)
    assert len(trainings) == 1


@pytest.mark.parametrize("build", [mnist_dcgan, mnist_vae])
def test_training_leaves_the_global_generator_as_it_was(tmp_path, trainings, build):
    generator = sn.manual_seed(123)
    generator.random(5)                                   # not at the start of its stream
    before = generator.bit_generator.state
    expected = np.random.default_rng(0)
    expected.bit_generator.state = before
    build(tmp_path / "model.npz", progress=False, **TINY)
    assert len(trainings) == 1                            # it did train
    assert sn.random.get_generator() is generator
    assert generator.bit_generator.state == before
    np.testing.assert_array_equal(generator.random(4), expected.random(4))


def test_the_version_is_stored_and_a_file_of_another_version_is_trained_again(tmp_path,
                                                                             trainings):
    path = tmp_path / "vae.npz"
    vae = mnist_vae(path, progress=False, **TINY)
    meta = read_checkpoint(path)[1]
    assert meta["version"] == CACHE_VERSION
    save(vae, path, recipe=meta["recipe"], version=CACHE_VERSION + 1)
    mnist_vae(path, progress=False, **TINY)               # another version: retrained
    assert len(trainings) == 2
    assert read_checkpoint(path)[1]["version"] == CACHE_VERSION
    # A file written before the version was stored was made by version 1.
    save(vae, path, recipe=meta["recipe"])
    mnist_vae(path, progress=False, **TINY)
    assert len(trainings) == 2 + (CACHE_VERSION != 1)


def test_a_changed_recipe_never_reuses_the_default_file(tmp_path, monkeypatch):
    monkeypatch.setenv("SCRATCHNET_DATA", str(tmp_path))
    default = pretrained_path("mnist_dcgan", DCGAN_RECIPE, DCGAN_RECIPE)
    assert default == tmp_path / "models" / "mnist_dcgan_v1.npz"
    quick = pretrained_path("mnist_dcgan", {**DCGAN_RECIPE, "epochs": 1}, DCGAN_RECIPE)
    other = pretrained_path("mnist_dcgan", {**DCGAN_RECIPE, "epochs": 2}, DCGAN_RECIPE)
    assert len({default, quick, other}) == 3
    assert quick.name.startswith("mnist_dcgan_v1_")
    mnist_vae(progress=False, **TINY)          # the default path of a tiny recipe
    written = sorted(p.name for p in (tmp_path / "models").iterdir())
    assert written == [pretrained_path("mnist_vae", {**VAE_RECIPE, **TINY}, VAE_RECIPE).name]
    assert "mnist_vae_v1.npz" not in written


def test_a_file_trained_with_other_settings_is_trained_again(tmp_path, trainings):
    path = tmp_path / "vae.npz"
    mnist_vae(path, progress=False, **TINY)
    assert read_checkpoint(path)[1]["recipe"]["train_size"] == 64
    other = {**TINY, "train_size": 32}
    mnist_vae(path, progress=False, **other)                       # not loaded: retrained
    assert len(trainings) == 2
    assert read_checkpoint(path)[1]["recipe"]["train_size"] == 32
    mnist_vae(path, progress=False, **other)                       # now it matches
    assert len(trainings) == 2
    mnist_vae(path, retrain=True, progress=False, **other)
    assert len(trainings) == 3


def test_unknown_settings_are_named():
    with pytest.raises(TypeError, match=r"mnist_dcgan: unknown settings \['epoch'\]"):
        mnist_dcgan(epoch=3)
    with pytest.raises(TypeError, match=r"mnist_vae: unknown settings \['width'\]"):
        mnist_vae(width=3)
