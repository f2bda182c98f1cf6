"""The shared pieces of lessons 16 and 17: encoders, recipes, probes' bookkeeping, the bars."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import metrics, models, representations, viz
from scratchnet.datasets import load_mnist


@pytest.fixture(scope="module")
def digits():
    x, y = load_mnist("train", source="bundled")
    return x[:64], y[:64]


def test_digit_encoder_maps_digits_and_tiles_to_the_same_width():
    for size in (28, 14):
        encoder = representations.digit_encoder(rng=0, image_size=size)
        out = encoder(sn.Tensor(np.zeros((3, 1, size, size), np.float32)))
        assert out.shape == (3, representations.N_FEATURES)
        assert float(out.data.min()) >= 0      # ends in ReLU
    colour = representations.digit_encoder(n_features=7, in_channels=3, rng=0)
    assert colour(sn.Tensor(np.zeros((2, 3, 28, 28), np.float32))).shape == (2, 7)


def test_digit_decoder_mirrors_the_encoder():
    decoder = representations.digit_decoder(n_features=5, out_channels=3, rng=0)
    out = decoder(sn.Tensor(np.random.default_rng(0).normal(size=(2, 5)).astype(np.float32)))
    assert out.shape == (2, 3, 28, 28)
    assert float(out.data.min()) > 0 and float(out.data.max()) < 1     # sigmoid output
    logits = representations.digit_decoder(output=None, rng=0)(sn.Tensor(
        10 * np.ones((1, representations.N_FEATURES), np.float32)))
    assert float(np.abs(logits.data).max()) > 1                         # no squashing


def test_extract_features_batches_and_flattens():
    rng = np.random.default_rng(0)
    images = rng.random((7, 1, 4, 4)).astype(np.float32)
    calls = []

    def features(x):
        calls.append(len(x))
        return sn.Tensor(x * 2.0)                       # (N, 1, 4, 4): flattened to (N, 16)

    out = representations.extract_features(features, images, batch_size=3)
    assert calls == [3, 3, 1]
    assert out.shape == (7, 16) and out.dtype == np.float32
    np.testing.assert_array_equal(out, 2 * images.reshape(7, 16))
    with pytest.raises(ValueError, match="extract_features"):
        representations.extract_features(features, images, batch_size=0)


def test_labelled_examples_are_exactly_the_probes_labels():
    """The probe's accuracy does not move when every example it does not draw changes."""
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(3), 20)
    centres = rng.normal(size=(3, 5)) * 3
    train = centres[labels] + rng.normal(size=(60, 5))
    test_labels = np.repeat(np.arange(3), 10)
    test = centres[test_labels] + rng.normal(size=(30, 5))
    drawn = metrics.labelled_examples(labels, labels_per_class=4, seeds=3)
    assert len(drawn) == 3
    for chosen in drawn:
        assert len(set(chosen.tolist())) == 12
        np.testing.assert_array_equal(np.bincount(labels[chosen], minlength=3), [4, 4, 4])
    assert not np.array_equal(np.sort(drawn[0]), np.sort(drawn[1]))
    for s, chosen in enumerate(drawn):
        scrambled = train.copy()
        others = np.setdiff1d(np.arange(60), chosen)
        scrambled[others] = rng.normal(size=(len(others), 5)) * 100
        one = metrics.linear_probe(train, labels, test, test_labels, labels_per_class=4,
                                   seeds=s + 1)
        two = metrics.linear_probe(scrambled, labels, test, test_labels, labels_per_class=4,
                                   seeds=s + 1)
        assert one["all"][s] == two["all"][s]
    with pytest.raises(ValueError, match="labelled_examples"):
        metrics.labelled_examples(labels.astype(float))
    with pytest.raises(ValueError, match="labelled_examples"):
        metrics.labelled_examples(labels, labels_per_class=21)


def test_evaluate_reads_a_linear_separation():
    rng = np.random.default_rng(2)
    labels = np.repeat(np.arange(4), 30)
    directions = np.eye(4, 6) * 4
    images = (directions[labels] + rng.normal(size=(120, 6)) * 0.3).astype(np.float32)
    scores = representations.evaluate(lambda x: x, images, labels, images[::2], labels[::2],
                                      budgets=(3, 10), seeds=2)
    assert scores["dim"] == 6
    assert scores[3]["median"] >= 0.95 and scores[10]["median"] == 1.0
    assert scores["k-NN"] == 1.0
    noise = rng.normal(size=(120, 6)).astype(np.float32)
    chance = representations.evaluate(lambda x: x, noise, labels, noise[::2], labels[::2],
                                      budgets=(10,), seeds=2)
    assert chance[10]["median"] < 0.6


def _probe(median, low, high):
    return {"median": median, "spread": (low, high)}


def test_results_table_and_ties():
    results = {"a": {10: _probe(0.8, 0.75, 0.85), "dim": 3, "k-NN": 0.9},
               "b": {10: _probe(0.7, 0.6, 0.76)},
               "c": {10: _probe(0.6, 0.5, 0.7), "k-NN": 0.5}}
    table = representations.results_table(results, (10,)).splitlines()
    assert len(table) == 5
    assert table[2].startswith("a") and "80.0% (75.0%–85.0%)" in table[2] and "90.0%" in table[2]
    assert "—" in table[3]                         # b has neither dim nor k-NN
    assert len({len(line) for line in table}) == 1  # columns line up
    assert representations.indistinguishable(results, 10) == ["a", "b"]
    with pytest.raises(ValueError, match="indistinguishable: no entry has a probe at budget"):
        representations.indistinguishable(results, 100)


def test_pretext_models_share_the_encoder_and_unknown_names_fail():
    expected = {"rotation": models.RotationPrediction, "jigsaw": models.JigsawPuzzle,
                "context encoder": models.ContextEncoder,
                "colorization": models.Colorization, "SimCLR": models.SimCLR}
    assert set(expected) == set(representations.PRETEXT_TASKS)
    for name, kind in expected.items():
        model = representations.pretext_model(name, rng=0)
        assert isinstance(model, kind)
        assert model.encoder[0].weight.shape == (32, 1, 3, 3)
    with pytest.raises(ValueError, match="pretext_model: name must be one of"):
        representations.pretext_model("inpainting")


def test_train_pretext_lowers_the_rotation_loss(digits):
    x, _ = digits
    model = representations.pretext_model("rotation", rng=0)
    history = representations.train_pretext(model, x, epochs=3, lr=3e-3)
    assert history["loss"][-1] < history["loss"][0] < 1.5


def test_train_pretext_trains_an_adversarial_context_encoder_with_its_own_step(digits):
    x, _ = digits
    model = models.ContextEncoder(representations.digit_encoder(rng=0),
                                  representations.digit_decoder(rng=0), adversarial=0.1, rng=0)
    before = [p.data.copy() for p in model.discriminator.parameters()]
    history = representations.train_pretext(model, x[:32], epochs=1)
    assert {"d_loss", "rec_loss", "adv_loss"} <= set(history)
    assert any(not np.array_equal(b, p.data)
               for b, p in zip(before, model.discriminator.parameters(), strict=True))


def test_every_leaderboard_entry_learns_features(digits):
    x, _ = digits
    names = [entry.name for entry in representations.LEADERBOARD]
    assert len(names) == len(set(names)) == 19
    assert {entry.family for entry in representations.LEADERBOARD} == {
        "baseline", "autoencoder", "probabilistic", "adversarial", "self-supervised"}
    widths = {"raw pixels": 784, "PCA (32)": 32, "untrained encoder (128)": 128,
              "linear AE (32)": 32, "deep AE (64)": 64, "denoising AE (64)": 64,
              "contractive AE (16)": 16, "sparse AE (256)": 256, "conv AE (128)": 128,
              "VAE μ (20)": 20, "β-VAE μ (20, β = 4)": 20, "RBM (256)": 256,
              "DBN (256-256)": 256, "DCGAN discriminator (768)": 768, "rotation (128)": 128,
              "jigsaw (4 × 128)": 512, "context encoder (128)": 128,
              "colorization (128)": 128, "SimCLR (128)": 128}
    assert names == list(widths)
    for entry in representations.LEADERBOARD:
        features = representations.extract_features(entry.learn(x, True, 0), x[:10])
        assert features.ndim == 2 and len(features) == 10, entry.name
        expected = widths[entry.name]          # the width each name promises
        assert features.shape[1] == expected, entry.name
        assert np.isfinite(features).all(), entry.name
        assert features.std(axis=0).max() > 0, entry.name   # not a constant map


def test_every_pretext_task_starts_from_the_untrained_encoder():
    untrained = representations.digit_encoder(rng=0)
    for name in representations.PRETEXT_TASKS:
        encoder = representations.pretext_model(name, rng=0).encoder
        layers = 2 if name == "jigsaw" else 4      # the jigsaw's Dense reads 14 × 14 tiles
        for mine, theirs in list(zip(encoder.parameters(), untrained.parameters()))[:layers]:
            np.testing.assert_array_equal(mine.data, theirs.data)


def test_supervised_reference_sees_only_the_probes_labelled_examples():
    x, y = load_mnist("train", source="bundled")
    xt, yt = load_mnist("test", source="bundled")
    x, y, xt, yt = x[:300], y[:300], xt[:200], yt[:200]
    one = representations.supervised_reference(x, y, xt, yt, labels_per_class=10, seeds=2,
                                               epochs=3)
    drawn = np.concatenate(metrics.labelled_examples(y, 10, 2))
    others = np.setdiff1d(np.arange(len(x)), drawn)
    scrambled = x.copy()
    scrambled[others] = np.random.default_rng(0).random(scrambled[others].shape,
                                                        dtype=np.float32)
    two = representations.supervised_reference(scrambled, y, xt, yt, labels_per_class=10,
                                               seeds=2, epochs=3)
    assert one["all"] == two["all"]
    with pytest.raises(ValueError, match="supervised_reference: labels_per_class"):
        representations.supervised_reference(x, y, xt, yt, labels_per_class=1)


def test_supervised_reference_learns_from_the_probes_labels(digits):
    x, y = load_mnist("train", source="bundled")
    x_test, y_test = load_mnist("test", source="bundled")
    result = representations.supervised_reference(x[:300], y[:300], x_test[:200],
                                                  y_test[:200], labels_per_class=10,
                                                  seeds=2, epochs=8)
    assert len(result["all"]) == 2
    assert result["spread"][0] <= result["median"] <= result["spread"][1]
    assert result["median"] > 0.3                   # chance is 0.1


def test_plot_probes_draws_a_dot_and_whisker_per_entry():
    results = {"raw": {10: _probe(0.7, 0.65, 0.75), 100: _probe(0.9, 0.88, 0.91)},
               "ssl": {10: _probe(0.8, 0.7, 0.85), 100: _probe(0.92, 0.9, 0.95)}}
    fig = viz.plot_probes(results, (10, 100), families={"raw": "baseline", "ssl": "pretext"},
                          reference="raw", title="t")
    axes = fig.axes
    assert len(axes) == 2
    bars = axes[0].containers                       # one errorbar per entry, top to bottom
    assert [float(c.lines[0].get_xdata()[0]) for c in bars] == [70.0, 80.0]
    assert [float(c.lines[0].get_ydata()[0]) for c in bars] == [1.0, 0.0]
    whisker = bars[1].lines[2][0].get_segments()[0]
    np.testing.assert_allclose(whisker[:, 0], [70.0, 85.0])
    assert bars[0].lines[0].get_color() != bars[1].lines[0].get_color()   # by family
    assert "labels per class" in axes[1].get_xlabel()
    with pytest.raises(ValueError, match="plot_probes: no probe"):
        viz.plot_probes({"raw": {10: _probe(0.7, 0.6, 0.8)}}, (10, 100))
    with pytest.raises(ValueError, match="reference"):
        viz.plot_probes(results, (10,), reference="pca")
    with pytest.raises(ValueError, match="empty"):
        viz.plot_probes({}, (10,))
    matplotlib.pyplot.close("all")

