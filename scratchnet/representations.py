"""Every representation scratchnet learns, trained in short form on the same digits.

Lessons 16 and 17 put the representations of the whole course side by side: the same
unlabelled training digits, the same probe (:func:`scratchnet.metrics.linear_probe` and
:func:`scratchnet.metrics.knn_accuracy`), and, where a model has an encoder of free design,
the same encoder (:func:`digit_encoder`). This module holds those shared pieces, so that
each recipe is written once:

* :func:`digit_encoder` and :func:`digit_decoder`: the small convolutional encoder every
  pretext task and the supervised reference use, and its mirror image;
* :func:`pretext_model` and :func:`train_pretext`: the five self-supervised tasks of
  lesson 16, built around that encoder and trained through ``sn.train.fit``;
* :data:`LEADERBOARD`: one :class:`Representation` per entry of lesson 17, each with a
  ``learn(images, quick, seed)`` that trains the model without labels and returns the
  function that maps images to features;
* :func:`supervised_reference`: the same encoder trained with the labels the probe sees,
  the yardstick for what those few labels can do on their own;
* :func:`extract_features`: any feature function applied in batches;
* :func:`evaluate` (or :func:`score_features` on features already extracted): the linear
  probe at each label budget and k-NN; :func:`results_table` prints them, and
  :func:`indistinguishable` lists the entries whose range overlaps the best one's.

The budgets are short (seconds to a minute per model on a laptop core): the aim is a fair
comparison at equal effort, not each model's best result; lessons 03–13 train the classic
models at length.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import scratchnet.functional as F
from scratchnet import nn, optim
from scratchnet.autograd import Tensor, as_tensor, no_grad
from scratchnet.backend import as_numpy
from scratchnet.checks import check_int
from scratchnet.datasets.colour import colorize
from scratchnet.datasets.loader import DataLoader
from scratchnet.models.autoencoders import Autoencoder, LinearAutoencoder, conv_autoencoder
from scratchnet.models.colorization import Colorization
from scratchnet.models.context_encoder import ContextEncoder
from scratchnet.models.gan import GAN, dcgan_discriminator, dcgan_generator
from scratchnet.models.jigsaw import JigsawPuzzle
from scratchnet.models.pca import PCA
from scratchnet.models.pretext import RotationPrediction, SimCLR
from scratchnet.models.rbm import DBN, RBM
from scratchnet.models.vae import mlp_vae
from scratchnet.probes import knn_accuracy, labelled_examples, linear_probe
from scratchnet.random import own_generator
from scratchnet.train import fit

__all__ = ["HUE_BINS", "LEADERBOARD", "N_FEATURES", "PRETEXT_TASKS", "SIMCLR_BATCH",
           "Representation", "digit_decoder", "digit_encoder",
           "evaluate", "extract_features", "indistinguishable", "pretext_model",
           "results_table", "score_features", "supervised_reference", "train_pretext"]

FeatureFn = Callable[[np.ndarray], np.ndarray]

#: The width of :func:`digit_encoder`'s output, for every task that uses it.
N_FEATURES = 128
#: The colorization task's hue classes: one per 30° of the colour wheel.
HUE_BINS = 12
#: The smallest batch SimCLR trains on: each view is told apart from 2·128 − 1 others.
SIMCLR_BATCH = 128


def digit_encoder(n_features: int = N_FEATURES, image_size: int = 28, in_channels: int = 1,
                  rng: np.random.Generator | int | None = None) -> nn.Sequential:
    """The shared convolutional encoder: (N, C, s, s) images -> (N, n_features) features.

    Conv2D 3×3 stride 2 (C -> 32) + ReLU, Conv2D 3×3 stride 2 (32 -> 64) + ReLU, both
    padded by 1, so s shrinks to ⌈s/2⌉ and then ⌈s/4⌉; Flatten; Dense to ``n_features``
    + ReLU. For 28×28 digits: 64·7·7 = 3,136 activations and about 420K parameters; for
    the 14×14 tiles of a 2×2 jigsaw: 64·4·4.
    """
    rng = own_generator(rng)
    size = check_int("digit_encoder", "image_size", image_size)
    side = math.ceil(math.ceil(size / 2) / 2)
    return nn.Sequential(
        nn.Conv2D(in_channels, 32, 3, stride=2, padding=1, activation="relu", rng=rng),
        nn.Conv2D(32, 64, 3, stride=2, padding=1, activation="relu", rng=rng),
        nn.Flatten(), nn.Dense(64 * side * side, n_features, activation="relu", rng=rng))


def digit_decoder(n_features: int = N_FEATURES, out_channels: int = 1,
                  output: str | None = "sigmoid",
                  rng: np.random.Generator | int | None = None) -> nn.Sequential:
    """The mirror of :func:`digit_encoder` for 28×28 images: (N, n_features) -> (N, C, 28, 28).

    Dense to 64·7·7 + ReLU, reshape to (64, 7, 7), ConvTranspose2D 4×4 stride 2
    (64 -> 32) + ReLU to 14×14, ConvTranspose2D 4×4 stride 2 (32 -> C) to 28×28, then
    ``output`` (sigmoid for pixel values in [0, 1]; None for logits).
    """
    rng = own_generator(rng)
    return nn.Sequential(
        nn.Dense(n_features, 64 * 49, activation="relu", rng=rng), nn.Reshape((64, 7, 7)),
        nn.ConvTranspose2D(64, 32, 4, stride=2, padding=1, activation="relu", rng=rng),
        nn.ConvTranspose2D(32, out_channels, 4, stride=2, padding=1, activation=output,
                           rng=rng))


def extract_features(features: Callable[[Any], Any], images: np.ndarray,
                     batch_size: int = 500) -> np.ndarray:
    """``features`` applied to ``images`` in batches, as one float32 NumPy array (N, D).

    ``features`` may return Tensors or arrays of any shape (N, ...); each row is flattened.
    Runs without a graph, so memory stays that of one batch.
    """
    batch_size = check_int("extract_features", "batch_size", batch_size)
    chunks = []
    with no_grad():
        for start in range(0, len(images), batch_size):
            out = features(images[start:start + batch_size])
            out = as_numpy(getattr(out, "data", out))
            chunks.append(np.asarray(out, dtype=np.float32).reshape(len(out), -1))
    return np.concatenate(chunks)


def evaluate(features: Callable[[Any], Any], train_images: np.ndarray, train_labels: np.ndarray,
             test_images: np.ndarray, test_labels: np.ndarray,
             budgets: tuple[int, ...] = (10, 100), seeds: int = 5) -> dict[Any, Any]:
    """The probes of lessons 16 and 17 on one feature function.

    Extracts the features of both splits, then returns ``{m: linear_probe(...,
    labels_per_class=m, seeds=seeds) for m in budgets}`` with ``"k-NN"`` (cosine k-NN on
    all training labels, k = 10) and ``"dim"`` (the feature width) added.
    """
    return score_features(extract_features(features, train_images), train_labels,
                          extract_features(features, test_images), test_labels, budgets, seeds)


def score_features(train_features: np.ndarray, train_labels: np.ndarray,
                   test_features: np.ndarray, test_labels: np.ndarray,
                   budgets: tuple[int, ...] = (10, 100), seeds: int = 5) -> dict[Any, Any]:
    """:func:`evaluate` on features already extracted, (N, D) and (M, D)."""
    scores: dict[Any, Any] = {
        m: linear_probe(train_features, train_labels, test_features, test_labels,
                        labels_per_class=m, seeds=seeds) for m in budgets}
    scores["k-NN"] = knn_accuracy(train_features, train_labels, test_features, test_labels)
    scores["dim"] = train_features.shape[1]
    return scores


def results_table(results: dict[str, dict[Any, Any]], budgets: tuple[int, ...] = (10, 100)
                  ) -> str:
    """A text table of :func:`evaluate` results (or :func:`supervised_reference`'s).

    One row per entry: the feature width, then for each budget the median probe accuracy
    with its (min–max) spread over the label draws, then k-NN. Missing numbers print "—".
    """
    header = f"{'representation':<28} {'dim':>5}" + "".join(
        f" {f'{m} labels/class: median (min–max)':>34}" for m in budgets) + f" {'k-NN':>6}"
    lines = [header, "-" * len(header)]
    for name, scores in results.items():
        row = f"{name:<28} {scores.get('dim', '—')!s:>5}"
        for m in budgets:
            probe = scores.get(m)
            cell = ("—" if probe is None else f"{probe['median']:.1%} "
                    f"({probe['spread'][0]:.1%}–{probe['spread'][1]:.1%})")
            row += f" {cell:>34}"
        knn = scores.get("k-NN")
        row += f" {'—':>6}" if knn is None else f" {knn:>6.1%}"
        lines.append(row)
    return "\n".join(lines)


def indistinguishable(results: dict[str, dict[Any, Any]], budget: int) -> list[str]:
    """The entries whose probe spread at ``budget`` overlaps the best median's spread.

    With five label draws, two entries whose (min, max) ranges overlap cannot be told
    apart, so these share first place. The best entry comes first.
    """
    scored = {name: s[budget] for name, s in results.items() if s.get(budget) is not None}
    if not scored:
        raise ValueError(f"indistinguishable: no entry has a probe at budget {budget!r}; got "
                         f"entries {list(results)}")
    best = max(scored, key=lambda name: scored[name]["median"])
    low, high = scored[best]["spread"]
    return [best] + [name for name, probe in scored.items() if name != best
                     and probe["spread"][0] <= high and probe["spread"][1] >= low]


# -- the five pretext tasks of lesson 16 -------------------------------------------------------

#: Lesson 16's tasks, in its order, with the epochs each trains for in full mode.
PRETEXT_TASKS = {"rotation": 5, "jigsaw": 4, "context encoder": 10, "colorization": 2,
                 "SimCLR": 30}


def pretext_model(name: str, rng: np.random.Generator | int | None = None) -> nn.Module:
    """A fresh pretext task of lesson 16 built around :func:`digit_encoder` (128 features).

    ``name`` is one of :data:`PRETEXT_TASKS`. The jigsaw's encoder sees 14×14 tiles (a 2×2
    grid), so it is the same architecture built for that size; the context encoder and the
    colorization net decode with :func:`digit_decoder`.
    """
    rng = own_generator(rng)
    if name == "rotation":
        return RotationPrediction(digit_encoder(rng=rng), N_FEATURES, rng=rng)
    if name == "jigsaw":
        return JigsawPuzzle(digit_encoder(image_size=14, rng=rng), N_FEATURES, grid=2, rng=rng)
    if name == "context encoder":
        return ContextEncoder(digit_encoder(rng=rng), digit_decoder(rng=rng), mask="random",
                              rng=rng)
    if name == "colorization":
        return Colorization(digit_encoder(rng=rng),
                            digit_decoder(out_channels=HUE_BINS, output=None, rng=rng),
                            n_bins=HUE_BINS)
    if name == "SimCLR":
        return SimCLR(digit_encoder(rng=rng), N_FEATURES, rng=rng)
    raise ValueError(f"pretext_model: name must be one of {list(PRETEXT_TASKS)}, got {name!r}")


def train_pretext(model: nn.Module, images: np.ndarray, epochs: int, batch_size: int = 64,
                  lr: float = 1e-3, seed: int = 0, progress: bool = False) -> Any:
    """Train a pretext task on unlabelled ``images`` (N, C, H, W) with Adam; the History.

    SimCLR gets batches of at least :data:`SIMCLR_BATCH` (its loss contrasts each view with
    the whole batch, so a larger batch is a harder task); the others ``batch_size``.
    """
    if isinstance(model, SimCLR):
        batch_size = max(batch_size, SIMCLR_BATCH)
    loader = DataLoader(images, batch_size=batch_size, rng=seed)
    if getattr(model, "training_step", None) is not None:
        # A task with its own step (an adversarial context encoder) brings its optimizers.
        return fit(model, optimizer=model.configure_optimizers(), loader=loader,
                   epochs=epochs, progress=progress)
    return fit(model, lambda m, x: m.loss(x), optim.Adam(model.parameters(), lr=lr), loader,
               epochs, progress=progress)


# -- the leaderboard of lesson 17 --------------------------------------------------------------

@dataclass(frozen=True)
class Representation:
    """One entry of the leaderboard.

    Attributes:
        name: how the table names it.
        family: the course's family (``"baseline"``, ``"autoencoder"``,
            ``"probabilistic"``, ``"adversarial"``, ``"self-supervised"``).
        learn: ``learn(images, quick, seed) -> features``: trains on the unlabelled images
            (N, 1, 28, 28) in [0, 1] (one epoch if ``quick``) and returns the function that
            maps images to their features (N, D).
    """

    name: str
    family: str
    learn: Callable[[np.ndarray, bool, int], FeatureFn]


def _raw_pixels(images: np.ndarray, quick: bool, seed: int) -> FeatureFn:
    return lambda x: np.asarray(x).reshape(len(x), -1)


def _pca(images: np.ndarray, quick: bool, seed: int) -> FeatureFn:
    pca = PCA(32).fit(images.reshape(len(images), -1))
    return lambda x: pca.transform(np.asarray(x).reshape(len(x), -1))


def _fit_autoencoder(model: Autoencoder, images: np.ndarray, epochs: int, seed: int,
                     lr: float = 1e-3) -> FeatureFn:
    fit(model, lambda m, x: m.loss(x), optim.Adam(model.parameters(), lr=lr),
        DataLoader(images, batch_size=64, rng=seed), epochs, progress=False)
    model.eval()
    return model.encode


def _mlp_autoencoder(code_size: int, rng: np.random.Generator, code_activation: str | None = None,
                     **options: Any) -> Autoencoder:
    """Lesson 5's 784-128-code-128-784 autoencoder: ReLU, a sigmoid output, cross-entropy."""
    encoder = nn.Sequential(nn.Flatten(), nn.Dense(784, 128, activation="relu", rng=rng),
                            nn.Dense(128, code_size, activation=code_activation, rng=rng))
    decoder = nn.Sequential(nn.Dense(code_size, 128, activation="relu", rng=rng),
                            nn.Dense(128, 784, activation="sigmoid", rng=rng),
                            nn.Reshape((1, 28, 28)))
    return Autoencoder(encoder, decoder, loss="bce", rng=rng, **options)


def _epochs(quick: bool, full: int) -> int:
    return 1 if quick else full


def _untrained_encoder(images: np.ndarray, quick: bool, seed: int) -> FeatureFn:
    # The starting point of every pretext task: what random convolutional features know.
    return digit_encoder(rng=seed).eval()


def _linear_ae(images: np.ndarray, quick: bool, seed: int) -> FeatureFn:
    model = LinearAutoencoder(784, 32, rng=seed)
    flat = images.reshape(len(images), -1)
    encode = _fit_autoencoder(model, flat, _epochs(quick, 20), seed)
    return lambda x: encode(np.asarray(x).reshape(len(x), -1))


def _deep_ae(images: np.ndarray, quick: bool, seed: int) -> FeatureFn:
    return _fit_autoencoder(_mlp_autoencoder(64, own_generator(seed)), images,
                            _epochs(quick, 20), seed)


def _denoising_ae(images: np.ndarray, quick: bool, seed: int) -> FeatureFn:
    model = _mlp_autoencoder(64, own_generator(seed), noise=("masking", 0.3))
    return _fit_autoencoder(model, images, _epochs(quick, 20), seed)


def _contractive_ae(images: np.ndarray, quick: bool, seed: int) -> FeatureFn:
    # Lesson 7's code size and λ; the penalty costs one backward pass per code unit. A
    # linear code: with a sigmoid code, as in lesson 7, this short training left the code
    # nearly useless (a probe of 28–44% at 10 labels per class for λ = 0.01 or 0.001).
    model = _mlp_autoencoder(16, own_generator(seed), contractive=0.01)
    return _fit_autoencoder(model, images, _epochs(quick, 10), seed)


def _sparse_ae(images: np.ndarray, quick: bool, seed: int) -> FeatureFn:
    # An overcomplete ReLU code with the L1 penalty β·mean|h|; the KL form on a sigmoid code
    # (lesson 5) reached its target activation here but kept less of the digit (measured).
    model = _mlp_autoencoder(256, own_generator(seed), "relu", sparsity=0.01)
    return _fit_autoencoder(model, images, _epochs(quick, 20), seed)


def _conv_ae(images: np.ndarray, quick: bool, seed: int) -> FeatureFn:
    return _fit_autoencoder(conv_autoencoder(rng=seed), images, _epochs(quick, 20), seed,
                            lr=3e-3)


def _vae(beta: float) -> Callable[[np.ndarray, bool, int], FeatureFn]:
    def learn(images: np.ndarray, quick: bool, seed: int) -> FeatureFn:
        from scratchnet.datasets.augment import random_binarize

        model = mlp_vae(20, beta=beta, rng=seed)
        batch_rng = np.random.default_rng(seed)
        fit(model, lambda m, x: m.loss(random_binarize(x.data, batch_rng)),
            optim.Adam(model.parameters(), lr=1e-3),
            DataLoader(images, batch_size=64, rng=seed), _epochs(quick, 20), progress=False)
        model.eval()
        return lambda x: model.encode(as_tensor(x))[0]     # the posterior mean μ
    return learn


def _binary(images: np.ndarray) -> np.ndarray:
    return (images.reshape(len(images), -1) > 0.5).astype(np.float32)


RBM_OPTIONS = {"lr": 0.05, "momentum": 0.5, "weight_decay": 2e-4, "batch_size": 64,
               "progress": False}


def _rbm(images: np.ndarray, quick: bool, seed: int) -> FeatureFn:
    rbm = RBM(784, 256, rng=seed)
    rbm.fit(_binary(images), epochs=_epochs(quick, 15), **RBM_OPTIONS)
    return lambda x: rbm.transform(_binary(np.asarray(x)))


def _dbn(images: np.ndarray, quick: bool, seed: int) -> FeatureFn:
    dbn = DBN([784, 256, 256], rng=seed)
    dbn.pretrain(_binary(images), epochs=_epochs(quick, 15), **RBM_OPTIONS)
    return lambda x: dbn.transform(_binary(np.asarray(x)))


def _dcgan_discriminator(images: np.ndarray, quick: bool, seed: int) -> FeatureFn:
    """Lesson 11's DCGAN (width 16, the same optimiser settings), trained briefly.

    As Radford et al. (2016) did, the features are every convolutional layer's activations,
    each max-pooled to a 4×4 grid and concatenated: 16·16 + 32·16 = 768 numbers.
    """
    gan = GAN(dcgan_generator(64, 16, rng=seed), dcgan_discriminator(16, rng=seed + 1), 64,
              loss="non_saturating", rng=seed)
    fit(gan, optimizer=gan.configure_optimizers(lr=8e-4, betas=(0.5, 0.999)),
        loader=DataLoader(images, batch_size=32, drop_last=True, rng=seed),
        epochs=_epochs(quick, 10), progress=False)
    discriminator = gan.discriminator.eval()

    def features(x: Any) -> Tensor:
        h = as_tensor(x)
        pooled = []
        for layer in discriminator:
            h = layer(h)
            if isinstance(layer, nn.LeakyReLU):
                # 14×14 -> 4×4 and 7×7 -> 4×4: windows that tile the padded map.
                kernel = 4 if h.shape[-1] == 14 else 2
                pooled.append(F.max_pool2d(h, kernel, padding=1).reshape(len(h.data), -1))
        return F.concatenate(pooled, axis=1)
    return features


def _pretext(name: str) -> Callable[[np.ndarray, bool, int], FeatureFn]:
    def learn(images: np.ndarray, quick: bool, seed: int) -> FeatureFn:
        model = pretext_model(name, rng=seed)
        if name == "colorization":
            images = colorize(images, rng=seed)   # the task needs colour to hide
        train_pretext(model, images, _epochs(quick, PRETEXT_TASKS[name]), seed=seed)
        return model.features
    return learn


def _width(name: str) -> str:
    """How wide a pretext task's features are: the jigsaw's are its four tiles' side by side."""
    return f"4 × {N_FEATURES}" if name == "jigsaw" else str(N_FEATURES)


#: Lesson 17's entries, in the order of its table.
LEADERBOARD: tuple[Representation, ...] = (
    Representation("raw pixels", "baseline", _raw_pixels),
    Representation("PCA (32)", "baseline", _pca),
    Representation(f"untrained encoder ({N_FEATURES})", "baseline", _untrained_encoder),
    Representation("linear AE (32)", "autoencoder", _linear_ae),
    Representation("deep AE (64)", "autoencoder", _deep_ae),
    Representation("denoising AE (64)", "autoencoder", _denoising_ae),
    Representation("contractive AE (16)", "autoencoder", _contractive_ae),
    Representation("sparse AE (256)", "autoencoder", _sparse_ae),
    Representation("conv AE (128)", "autoencoder", _conv_ae),
    Representation("VAE μ (20)", "probabilistic", _vae(1.0)),
    Representation("β-VAE μ (20, β = 4)", "probabilistic", _vae(4.0)),
    Representation("RBM (256)", "probabilistic", _rbm),
    Representation("DBN (256-256)", "probabilistic", _dbn),
    Representation("DCGAN discriminator (768)", "adversarial", _dcgan_discriminator),
    *(Representation(f"{name} ({_width(name)})", "self-supervised", _pretext(name))
      for name in PRETEXT_TASKS),
)


def supervised_reference(train_images: np.ndarray, train_labels: np.ndarray,
                         test_images: np.ndarray, test_labels: np.ndarray,
                         labels_per_class: int = 10, seeds: int = 5, epochs: int = 30,
                         quick: bool = False) -> dict[str, Any]:
    """:func:`digit_encoder` + Dense(128, 10) trained on only the labelled examples.

    For each seed it draws exactly the labelled examples that
    :func:`scratchnet.metrics.linear_probe` sees for that seed (``labelled_examples``),
    trains from scratch with Adam and cross-entropy (``epochs`` passes, batches of 32), and
    scores the test set. Returns ``{"median", "spread", "all"}`` like the probe, so that
    the two read side by side.
    """
    fn = "supervised_reference"
    labels_per_class = check_int(fn, "labels_per_class", labels_per_class, minimum=2)
    seeds = check_int(fn, "seeds", seeds)
    accuracies = []
    for seed, chosen in enumerate(labelled_examples(train_labels, labels_per_class, seeds)):
        # One generator for the whole network: two generators made from the same seed
        # would give the head the very numbers of the first convolution.
        rng = np.random.default_rng(seed)
        model = nn.Sequential(digit_encoder(rng=rng), nn.Dense(N_FEATURES, 10, rng=rng))
        fit(model, lambda m, x, y: F.cross_entropy(m(x), y), optim.Adam(model.parameters()),
            DataLoader(train_images[chosen], train_labels[chosen], batch_size=32, rng=seed),
            _epochs(quick, epochs), progress=False)
        model.eval()
        logits = extract_features(model, test_images)
        accuracies.append(float((logits.argmax(axis=1) == np.asarray(test_labels)).mean()))
    return {"median": float(np.median(accuracies)),
            "spread": (min(accuracies), max(accuracies)), "all": accuracies}
