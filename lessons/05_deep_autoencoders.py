# %% [markdown]
# # Lesson 05: deep autoencoders, and how big the code should be
#
# An autoencoder is two networks trained as one. The **encoder** $f$ squeezes an input
# $x \in [0, 1]^{784}$ into a **code** $h = f(x)$, and the **decoder** $g$ rebuilds the
# input from the code, $\hat{x} = g(h)$. Nobody tells the network what the code should
# mean; the only training signal is how well $\hat{x}$ matches $x$.
#
# Lesson 04 showed that when $f$ and $g$ are linear and the loss is squared error, the
# best possible autoencoder spans PCA's principal subspace (Baldi & Hornik, 1989). By
# Eckart and Young's theorem, PCA with $k$ components therefore sets the floor for **every**
# linear autoencoder with a $k$-number code. Veličković's lecture makes the next move:
# a linear model cannot follow a curved data manifold, so add depth and nonlinearity,
#
# $$h = f(x) = W_2\, \mathrm{ReLU}(W_1 x + b_1) + b_2, \qquad
# \hat{x} = g(h) = \sigma\big(W_4\, \mathrm{ReLU}(W_3 h + b_3) + b_4\big),$$
#
# with 128 hidden units on each side (784-128-$k$-128-784). The logistic sigmoid $\sigma$
# makes each output pixel a number in $(0, 1)$, read as the probability that the pixel is
# white, so the natural loss is the binary cross-entropy
#
# $$\mathcal{L}(x, \hat{x}) = -\sum_{i=1}^{784} \big[x_i \log \hat{x}_i
# + (1 - x_i) \log(1 - \hat{x}_i)\big].$$
#
# (The lecture's Keras code also puts a ReLU on the code. `models.deep_autoencoder` leaves
# the code linear: with only 2 code units, a ReLU unit that goes silent for a digit
# would lose half the code.)
#
# ## Plan
#
# 1. **Deep against linear at the same code size.** For $k = 2, 8, 32$ we fit PCA and
#    train a deep autoencoder. Both are scored the same way: the mean squared error per
#    pixel on the held-out test digits. The deep model trains with cross-entropy, but we
#    compare it with PCA in PCA's own measure, squared error.
# 2. **Undercomplete against overcomplete** (Jenni & Favaro, after Goodfellow et al.,
#    ch. 14). A code smaller than the input forces compression. A code *larger* than the
#    input could, in principle, learn to copy the input and nothing else.
# 3. **A sparse overcomplete code.** One way to stop copying is to ask that each code unit
#    be active only rarely. For a sigmoid code, write $\hat\rho_j$ for the mean activation
#    of unit $j$ over a batch of $m$ examples. The penalty pulls every $\hat\rho_j$ towards a
#    small target $\rho$ with the Kullback–Leibler divergence between two coin flips (Ng's
#    sparse-autoencoder notes):
#
# $$\hat\rho_j = \frac{1}{m}\sum_{n=1}^{m} h_j\big(x^{(n)}\big), \qquad
# \Omega(h) = \beta \sum_j \Big[\rho \log\frac{\rho}{\hat\rho_j}
# + (1 - \rho)\log\frac{1 - \rho}{1 - \hat\rho_j}\Big].$$
#
# In scratchnet that is `models.Autoencoder(encoder, decoder, sparsity=β,
# sparsity_target=ρ)`.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

import scratchnet as sn
from scratchnet import models, nn, optim, viz
from scratchnet.datasets import DataLoader
from scratchnet.lesson import KeyNumbers, bundled_mnist, figure_dir, quick_mode

QUICK = quick_mode()  # `--quick` or SCRATCHNET_QUICK=1: tiny data, one epoch
FIGURES = figure_dir("05_deep_autoencoders")
SUMMARY = KeyNumbers("Key numbers from this lesson (test split of the bundled MNIST subset):")

sn.manual_seed(0)
x_train, y_train, x_test, y_test = bundled_mnist(QUICK)
EPOCHS_DEEP = 1 if QUICK else 30
EPOCHS_SHALLOW = 1 if QUICK else 15
CODE_SIZES = (2, 8, 32)
flat_train = x_train.reshape(len(x_train), -1)  # PCA wants rows of 784 numbers
flat_test = x_test.reshape(len(x_test), -1)
print(f"quick mode: {QUICK}; train {x_train.shape}, test {x_test.shape}; "
      f"figures go to {FIGURES}")


def test_mse(model: models.Autoencoder, images: np.ndarray) -> float:
    """Mean squared error per pixel of the model's reconstructions (no noise, no graph)."""
    model.eval()
    with sn.no_grad():
        rebuilt = model(sn.Tensor(images)).numpy()
    return float(((rebuilt - images) ** 2).mean())


def train(model: models.Autoencoder, epochs: int, lr: float = 1e-3) -> sn.train.History:
    """Adam on the model's own loss (reconstruction plus any penalty), batches of 64."""
    return sn.train.fit(
        model, lambda m, x: m.loss(x), optim.Adam(model.parameters(), lr=lr),
        DataLoader(x_train, batch_size=64, rng=1), epochs=epochs,
        val_loader=DataLoader(x_test, batch_size=500, shuffle=False), progress=False,
    )


# %% [markdown]
# ## 1. The linear floor: PCA with k components
#
# `PCA(k).reconstruction_error(X)` is the mean over pixels and images of
# $(x - \hat{x})^2$, where $\hat{x}$ is the projection onto the top-$k$ principal
# subspace learned from the training digits. We measure it on the test digits.

# %%
pca = {k: models.PCA(k).fit(flat_train) for k in CODE_SIZES}
pca_mse = {k: pca[k].reconstruction_error(flat_test) for k in CODE_SIZES}
for k in CODE_SIZES:
    print(f"PCA k={k:>2}: explains {pca[k].explained_variance_ratio_.sum():5.1%} of the "
          f"training variance; test MSE per pixel {pca_mse[k]:.5f}")

# %% [markdown]
# ## 2. The deep autoencoder at the same code sizes
#
# `models.deep_autoencoder(k)` builds the 784-128-$k$-128-784 network above. Here is its
# layer table for $k = 8$. It has about 200,000 weights, most of them in the two
# $784 \times 128$ layers, where PCA with the same code size has $784 k$ numbers (plus the
# mean). Those extra weights are what let it bend.

# %%
models.deep_autoencoder(8, rng=0).summary((1, 28, 28))

deep, deep_mse, deep_histories = {}, {}, {}
for k in CODE_SIZES:
    sn.manual_seed(k)
    deep[k] = models.deep_autoencoder(k, rng=k)
    started = time.perf_counter()
    deep_histories[k] = train(deep[k], EPOCHS_DEEP)
    deep_mse[k] = test_mse(deep[k], x_test)
    print(f"deep k={k:>2}: {EPOCHS_DEEP} epochs in {time.perf_counter() - started:5.1f} s; "
          f"test BCE {deep_histories[k]['val_loss'][-1]:.4f}, test MSE {deep_mse[k]:.5f}")

print(f"\n{'k':>3} {'PCA test MSE':>13} {'deep AE test MSE':>17} {'deep / PCA':>11}")
for k in CODE_SIZES:
    ratio = deep_mse[k] / pca_mse[k]
    print(f"{k:>3} {pca_mse[k]:>13.5f} {deep_mse[k]:>17.5f} {ratio:>11.2f}")
    SUMMARY[f"test MSE at k={k}: PCA vs deep AE"] = (
        f"{pca_mse[k]:.5f} vs {deep_mse[k]:.5f} (ratio {ratio:.2f}: the deep AE "
        f"{'beats' if ratio < 1 else 'does not beat'} PCA)")

# %% [markdown]
# The ratio column says how far the deep autoencoder's test error is from PCA's at each
# code size (below 1: the deep model wins). In full runs it has been below PCA's at every
# code size, by the smallest margin at $k = 2$. At $k = 2$
# both are poor, because two numbers cannot hold a whole digit. PCA's two numbers are
# the amounts of two fixed images added to the mean digit, so every reconstruction is a
# blend of the same blurry patterns. The deep model can bend its two numbers along a
# curved path through digit space, and several of its $k = 2$ reconstructions are
# recognisably the right digit.
#
# Look at the pictures. Each row below is one model, each column one test digit (one of
# each class).

# %%
examples = np.array([np.flatnonzero(y_test == d)[0] for d in range(10) if (y_test == d).any()])
rows = [("original", x_test[examples])]
for k in CODE_SIZES:
    rows.append((f"PCA k={k}", pca[k].reconstruct(flat_test[examples]).reshape(-1, 1, 28, 28)))
    deep[k].eval()
    with sn.no_grad():
        rows.append((f"deep k={k}", deep[k](sn.Tensor(x_test[examples])).numpy()))

fig, axes = plt.subplots(len(rows), 1, figsize=(len(examples) * 0.9, len(rows) * 1.25))
for ax, (name, images) in zip(axes, rows):
    viz.image_grid(np.clip(images, 0, 1), nrow=1, ax=ax)
    ax.set_title(name, fontsize=9, loc="left")
fig.suptitle("Test digits rebuilt from a k-number code, PCA (linear) vs deep autoencoder:\n"
             "at each k, which row still looks like the original digits?")
print("saved", viz.save_figure(fig, FIGURES / "reconstructions_pca_vs_deep.png"))

# %% [markdown]
# ### The two-number codes
#
# With $k = 2$ we can draw every test digit's code as a point. Neither model saw a
# label. We colour the points by digit only to see whether similar digits land near each
# other. To put a number on it, we classify each test code by the majority label of its 5
# nearest *training* codes (5-NN): the better the classes are separated in code space,
# the higher that accuracy.

# %%
def codes_of(model: models.Autoencoder, images: np.ndarray) -> np.ndarray:
    model.eval()
    with sn.no_grad():
        return model.encode(sn.Tensor(images)).numpy()


def knn_accuracy(train_codes: np.ndarray, test_codes: np.ndarray, neighbours: int = 5) -> float:
    distances = ((test_codes[:, None, :] - train_codes[None, :, :]) ** 2).sum(axis=2)
    nearest = np.argsort(distances, axis=1)[:, :neighbours]
    votes = y_train[nearest]
    guesses = np.array([np.bincount(v, minlength=10).argmax() for v in votes])
    return float((guesses == y_test).mean())


pca_codes = (pca[2].transform(flat_train), pca[2].transform(flat_test))
deep_codes = (codes_of(deep[2], x_train), codes_of(deep[2], x_test))
knn_pca, knn_deep = knn_accuracy(*pca_codes), knn_accuracy(*deep_codes)
print(f"5-NN digit accuracy from the 2-number code: PCA {knn_pca:.1%}, "
      f"deep autoencoder {knn_deep:.1%} (chance 10%)")
SUMMARY["5-NN accuracy of the 2-D code: PCA vs deep AE"] = f"{knn_pca:.1%} vs {knn_deep:.1%}"

fig, (ax_pca, ax_deep) = plt.subplots(1, 2, figsize=(13, 5.2))
viz.latent_scatter(pca_codes[1], y_test, ax=ax_pca,
                   title=f"PCA, k=2 (5-NN accuracy {knn_pca:.0%})")
viz.latent_scatter(deep_codes[1], y_test, ax=ax_deep,
                   title=f"deep autoencoder, k=2 (5-NN accuracy {knn_deep:.0%})")
ax_pca.set(xlabel="z₁ (pixel intensity)", ylabel="z₂ (pixel intensity)")
ax_deep.set(xlabel="z₁ (code unit, no physical scale)", ylabel="z₂ (code unit)")
fig.suptitle("The 2-number codes of the test digits, coloured by the label neither model saw:"
             " which one keeps the classes apart?")
print("saved", viz.save_figure(fig, FIGURES / "two_number_codes.png"))

fig = viz.plot_history(deep_histories[8], keys=["loss", "val_loss"],
                       ylabel="binary cross-entropy per pixel (nats)",
                       title="deep autoencoder, k=8: does the test loss follow the training loss?")
fig.axes[0].legend(["training digits", "test digits"])
print("saved", viz.save_figure(fig, FIGURES / "deep_k8_training_curve.png"))

# %% [markdown]
# ## 3. Undercomplete against overcomplete
#
# Now a single hidden layer, so that the code size is the only thing we change:
# 784 → $k$ (ReLU) → 784 (sigmoid), with $k = 32$ (undercomplete) and $k = 1024$
# (overcomplete: more code numbers than pixels).
#
# A small practical step first. At the start the decoder outputs about 0.5 for every pixel,
# while most MNIST pixels are 0. The first gradient steps then mostly have to learn "make
# everything darker", and with a sigmoid code this can push the code units into saturation,
# from which they never recover. (We saw it happen: a 784-16-784 sigmoid autoencoder
# ended with every code unit stuck near 1, rebuilding the mean digit for every input.) So
# the decoder's output bias starts at the logit of the mean training image,
# $b_i = \log\frac{\bar{x}_i}{1 - \bar{x}_i}$. Then the untrained network already outputs
# the mean digit, and training starts on the differences.
#
# Test MSE alone cannot tell compression from copying, so we add two more checks:
#
# * **Shuffled digits.** Apply one fixed random permutation to the pixels of every test
#   digit. The pixel values stay the same, but the digit shapes are gone. A model that
#   learned what digits look like should rebuild these badly; an identity map would
#   rebuild them perfectly.
# * **Noise pass-through.** Add small Gaussian noise $\varepsilon \sim
#   \mathcal{N}(0, 0.05^2)$ to each test digit and measure how much of it reaches the
#   output, $G = \mathbb{E}\lVert r(x + \varepsilon) - r(x)\rVert^2 /
#   \mathbb{E}\lVert\varepsilon\rVert^2$, with $r = g \circ f$. Projecting onto a
#   $k$-dimensional subspace keeps a fraction $k / 784$ of random noise, so PCA gives
#   $G = k / 784$; the identity map gives $G = 1$.

# %%
MEAN_LOGIT = np.log(np.clip(flat_train.mean(axis=0), 1e-3, 1 - 1e-3)
                    / np.clip(1 - flat_train.mean(axis=0), 1e-3, 1 - 1e-3))


def shallow_autoencoder(code: int, activation: str, seed: int, **options) -> models.Autoencoder:
    """784 -> code -> 784 with a sigmoid output, BCE, and the output bias at the mean."""
    encoder = nn.Sequential(nn.Flatten(), nn.Dense(784, code, activation=activation, rng=seed))
    output = nn.Dense(code, 784, activation="sigmoid", rng=seed + 1)
    output.bias.data[...] = MEAN_LOGIT.astype(output.bias.dtype)
    decoder = nn.Sequential(output, nn.Reshape((1, 28, 28)))
    return models.Autoencoder(encoder, decoder, loss="bce", **options)


mean_digit = flat_train.mean(axis=0)
shuffle_pixels = np.random.default_rng(0).permutation(784)
x_shuffled = flat_test[:, shuffle_pixels].reshape(x_test.shape)
small_noise = np.random.default_rng(1).normal(0, 0.05, x_test.shape).astype(np.float32)


def pass_through(model: models.Autoencoder) -> float:
    model.eval()
    with sn.no_grad():
        clean = model(sn.Tensor(x_test)).numpy()
        noisy = model(sn.Tensor(x_test + small_noise)).numpy()
    return float(((noisy - clean) ** 2).sum() / (small_noise ** 2).sum())


def report(model: models.Autoencoder) -> dict[str, float]:
    return {"params": model.num_parameters(), "test MSE": test_mse(model, x_test),
            "shuffled MSE": test_mse(model, x_shuffled), "pass-through G": pass_through(model)}


shallow = {}
for name, code in [("undercomplete, k=32", 32), ("overcomplete, k=1024", 1024)]:
    sn.manual_seed(code)
    shallow[name] = shallow_autoencoder(code, "relu", seed=code)
    started = time.perf_counter()
    train(shallow[name], EPOCHS_SHALLOW)
    print(f"trained {name} ({EPOCHS_SHALLOW} epochs) in {time.perf_counter() - started:.1f} s")
results = {name: report(model) for name, model in shallow.items()}

print(f"\n{'model':<22} {'params':>8} {'test MSE':>9} {'shuffled MSE':>13} {'G':>7}")
print(f"{'PCA k=32 (reference)':<22} {784 * 32:>8,} {pca_mse[32]:>9.5f} "
      f"{pca[32].reconstruction_error(x_shuffled.reshape(len(x_shuffled), -1)):>13.5f} "
      f"{32 / 784:>7.3f}")
for name, r in results.items():
    print(f"{name:<22} {r['params']:>8,} {r['test MSE']:>9.5f} {r['shuffled MSE']:>13.5f} "
          f"{r['pass-through G']:>7.3f}")
print(f"{'mean digit (k=0)':<22} {784:>8} {((flat_test - mean_digit) ** 2).mean():>9.5f} "
      f"{((x_shuffled.reshape(len(x_shuffled), -1) - mean_digit) ** 2).mean():>13.5f} "
      f"{0:>7.3f}")
print(f"{'identity map':<22} {0:>8} {0:>9.5f} {0:>13.5f} {1:>7.3f}")
under, over = results["undercomplete, k=32"], results["overcomplete, k=1024"]
SUMMARY["test MSE: undercomplete k=32 vs overcomplete k=1024"] = (
    f"{under['test MSE']:.5f} vs {over['test MSE']:.5f}")
SUMMARY["noise pass-through G: k=32 vs k=1024 (identity: 1)"] = (
    f"{under['pass-through G']:.3f} vs {over['pass-through G']:.3f}")

# %% [markdown]
# Compare the two rows of the table above. The overcomplete model rebuilds test digits
# more accurately. Did it learn the identity? The shuffled-digit column answers: an
# identity map would rebuild them with error 0, and the mean digit sets the error of a map
# that ignores its input. The pass-through column $G$ measures how much random noise gets
# through (the identity's $G = 1$). In full runs the overcomplete model stayed far from
# the identity, but was a *less selective* map than the undercomplete one: more noise got
# through.
# Nothing in the loss stops an overcomplete code from drifting towards copying if we
# train longer or give it more freedom; where it ends up depends only on where gradient
# descent happens to stop. That is why Goodfellow et al. say an overcomplete autoencoder
# must be *regularised*: by sparsity (next), by noise or by contraction (lesson 07).
#
# ## 4. A sparse overcomplete code
#
# Same overcomplete shape, but with a sigmoid code, so that each unit is "on" (near 1) or
# "off" (near 0). We train it twice: without a penalty, and with the KL sparsity penalty,
# target $\rho = 0.05$ and weight $\beta = 0.003$ (the sum over 1024 units adds up to a
# sizeable term; larger $\beta$ gets even closer to the target but rebuilds the digits
# worse).

# %%
RHO, BETA = 0.05, 0.003
sigmoid_models = {}
for name, options in [("sigmoid, no penalty", {}),
                      ("sigmoid, sparse", {"sparsity": BETA, "sparsity_target": RHO})]:
    sn.manual_seed(7)
    sigmoid_models[name] = shallow_autoencoder(1024, "sigmoid", seed=7, **options)
    started = time.perf_counter()
    train(sigmoid_models[name], EPOCHS_SHALLOW)
    print(f"trained {name} ({EPOCHS_SHALLOW} epochs) in {time.perf_counter() - started:.1f} s")

codes = {name: codes_of(model, x_test) for name, model in sigmoid_models.items()}
print(f"\n{'model':<20} {'mean h':>7} {'target':>7} {'unit means (min-max)':>21} "
      f"{'units > 0.5 per digit':>22} {'test MSE':>9} {'G':>6}")
for name, h in codes.items():
    r = report(sigmoid_models[name])
    unit_means = h.mean(axis=0)
    target = f"{RHO:.3f}" if "sparse" in name else "-"
    print(f"{name:<20} {h.mean():>7.4f} {target:>7} "
          f"{unit_means.min():>10.3f} - {unit_means.max():<8.3f} "
          f"{(h > 0.5).sum(axis=1).mean():>22.1f} {r['test MSE']:>9.5f} "
          f"{r['pass-through G']:>6.3f}")
    results[name] = r
sparse_h = codes["sigmoid, sparse"]
SUMMARY["sparse code: mean activation vs target rho"] = (
    f"{sparse_h.mean():.4f} vs {RHO} (no penalty: {codes['sigmoid, no penalty'].mean():.3f})")
SUMMARY["sparse code: units above 0.5 per test digit (of 1024)"] = (
    f"{(sparse_h > 0.5).sum(axis=1).mean():.1f} "
    f"(no penalty: {(codes['sigmoid, no penalty'] > 0.5).sum(axis=1).mean():.1f})")
SUMMARY["sparse code: test MSE, pass-through G"] = (
    f"{results['sigmoid, sparse']['test MSE']:.5f}, "
    f"{results['sigmoid, sparse']['pass-through G']:.3f}")

# %% [markdown]
# The penalty works on the *average* activation: the mean over test digits and units lands
# close to $\rho$. Per digit, only a few of the 1024 units are clearly on ($h_j > 0.5$),
# against a large share of them without the penalty (the table above counts them). The
# price is a higher
# reconstruction error (the sparse code carries less). The reward is a map that lets
# through even less noise than the undercomplete one.
#
# What do the units stand for? Each code unit $j$ adds its decoder row
# $W^{\text{dec}}_{j,:}$ to the output's logits when it switches on. Below are those
# rows for the 40 busiest units of each model. Without the penalty they are speckled
# patterns that only make sense in combination with hundreds of others. With it, each unit
# has to carry a recognisable piece of a digit alone: strokes, loops and whole digit
# prototypes.

# %%
fig, ax = plt.subplots(figsize=(6.5, 4.2))
bins = np.linspace(0, 1, 41)
for name, h in codes.items():
    ax.hist(h.ravel(), bins=bins, alpha=0.6, label=name, density=True)
ax.axvline(RHO, color="k", linestyle="--", label=f"target rho = {RHO}")
ax.set(yscale="log", xlabel="code activation h_j (sigmoid output, 0 to 1)",
       ylabel="density (per unit of h_j, log scale)",
       title="Code activations on the test digits (1024 units):\n"
             "the penalty pulls the mass down toward rho")
ax.legend(fontsize=9)
print("saved", viz.save_figure(fig, FIGURES / "sparse_code_activations.png"))

fig, axes = plt.subplots(1, 2, figsize=(13, 5))
for ax, (name, model) in zip(axes, sigmoid_models.items()):
    busiest = np.argsort(codes[name].mean(axis=0))[::-1][:40]
    viz.plot_filters(model.decoder[0].weight.numpy()[busiest], ncol=8, image_shape=(28, 28),
                     ax=ax, title=f"decoder rows of the 40 busiest units:\n{name}")
fig.suptitle("What one code unit adds to the output logits (red: more ink, blue: less):\n"
             "speckle without the penalty, strokes and loops with it")
print("saved", viz.save_figure(fig, FIGURES / "sparse_decoder_rows.png"))

# %% [markdown]
# ## Summary
#
# * PCA is the best any *linear* autoencoder can do. A 784-128-$k$-128-784 network with
#   ReLUs and a sigmoid output, trained on cross-entropy, beats it in squared error at
#   $k = 2$, 8 and 32 on the held-out digits. Its 2-number code also separates the digit
#   classes better, although it never saw a label.
# * An undercomplete code is forced to compress. An overcomplete one (1024 > 784) rebuilds
#   digits far better. It did not collapse into copying here, but nothing in its loss
#   prevents that, and it already lets more noise through than the undercomplete one.
# * The KL sparsity penalty holds a sigmoid code's mean activation near its target. Each
#   digit then switches on only a few of the 1024 units (the histogram above shows how
#   few), and each unit's decoder row becomes a readable stroke or prototype.
# * Practical detail: start a sigmoid decoder's output bias at the logit of the mean
#   image, so the first steps do not saturate a sigmoid code.

# %%
SUMMARY.show(QUICK)

# %% [markdown]
# ## Exercises
#
# `exercises/05_deep_autoencoders.py` holds two exercises: `sparsity_penalty` (the KL
# sparsity term of section 3) and `bce_with_logits`, a cross-entropy that stays finite at
# any logit. Fill them in and run `scratchnet check 05` (`--file my_copy.py` grades another
# file). Each failure says which number is wrong, what was expected, and gives a hint.
# Reference solutions are in `exercises/solutions/`.
