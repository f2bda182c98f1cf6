# %% [markdown]
# # Lesson 04: PCA versus a linear autoencoder
#
# Veličković's lecture draws PCA as a two-layer network without activations and says that
# training it by backpropagation gives "the same kind of expressivity as PCA". This lesson
# checks that claim properly, with numbers.
#
# ## The model
#
# A **linear autoencoder** with a code of size $k$ maps an input $x \in \mathbb{R}^D$ to
#
# $$z = W_e^\top x + b_e \in \mathbb{R}^k, \qquad \hat{x} = W_d^\top z + b_d,$$
#
# with encoder weights $W_e$ ($D \times k$) and decoder weights $W_d$ ($k \times D$), and is
# trained to minimise the mean squared error $\frac{1}{ND}\sum_n \lVert x_n - \hat{x}_n
# \rVert^2$ over the training set. (scratchnet stores a `Dense` layer's weights as
# (inputs, outputs), hence the transposes.) The **tied** variant uses one matrix for both,
# $W_d = W_e^\top$, so it decodes with the transpose of its encoder, as PCA does.
#
# ## What theory says
#
# Write $u_1, u_2, \dots$ for the eigenvectors of the training covariance matrix and
# $\lambda_1 \ge \lambda_2 \ge \dots$ for its eigenvalues (lesson 03), and
# $U_k = [u_1, \dots, u_k]$.
#
# * **Baldi & Hornik (1989).** The squared error of a linear autoencoder has no bad local
#   minima: every minimum is global, and at the global minimum the reconstruction
#   $x \mapsto \hat{x}$ is the orthogonal projection onto the top-$k$ principal subspace
#   (for centred data). So the decoder's $k$ columns *span the same subspace* as PCA's, and
#   the error equals PCA's, which is the Eckart–Young minimum (Eckart & Young, 1936).
# * **But not the same basis.** If $(W_e, W_d)$ is optimal, so is
#   $(W_e A^{-\top}, A^\top W_d)$ for any invertible $k \times k$ matrix $A$: the code is
#   mixed up, the reconstruction is unchanged. The decoder columns are some basis of the
#   principal subspace, neither orthogonal nor ordered by variance. Tying the weights
#   leaves only the rotations ($A$ orthogonal).
# * **Plaut (2018)** shows how to get the principal directions themselves back from the
#   trained weights. Section 4 does it.
#
# ## How we measure "the same subspace"
#
# Two $k$-dimensional subspaces of $\mathbb{R}^D$ are compared by their **principal
# angles** $0 \le \theta_1 \le \dots \le \theta_k \le 90°$: with orthonormal bases $Q_A$ and
# $Q_B$, the cosines of the angles are the singular values of $Q_A^\top Q_B$. The subspaces
# are equal when the **largest** angle is 0, and `metrics.subspace_angles` returns it
# first.
#
# ## Why the eigengap decides how well the angle is determined
#
# Tilt PCA's subspace a little: rotate $u_k$ by an angle $\theta$ towards $u_{k+1}$ and keep
# the other $k-1$ directions. Projecting onto the tilted subspace loses
# $\lambda_k \sin^2\theta$ of the variance along $u_k$ but gains
# $\lambda_{k+1}\sin^2\theta$ along $u_{k+1}$, so the training MSE rises by
#
# $$\Delta\text{MSE}(\theta) = \frac{N-1}{ND}\,(\lambda_k - \lambda_{k+1})\,\sin^2\theta .$$
#
# The loss sees the angle only through the **eigengap** $\lambda_k - \lambda_{k+1}$, and only
# to second order. Where the gap is clear, a tilt costs error and gradient descent removes
# it. Where $\lambda_k \approx \lambda_{k+1}$, the loss is nearly flat along the tilt: a
# large angle costs almost no error, the gradient that would remove it is tiny, and the
# data can barely tell the two directions apart anyway. We report the ratio
# $\lambda_k / \lambda_{k+1}$ for each code size.

# %%
import os
import time

import matplotlib.pyplot as plt
import numpy as np

import scratchnet as sn
from scratchnet import optim, viz
from scratchnet.lesson import SMOKE_RUN_HEADER, bundled_mnist, figure_dir, quick_mode
from scratchnet.metrics import subspace_angles
from scratchnet.models import PCA, LinearAutoencoder

QUICK = quick_mode()
FIGURES = figure_dir("04_pca_vs_linear_autoencoder")
STARTED = time.perf_counter()
LOAD_AT_START = os.getloadavg()[0]

# float64 throughout: we want to see angles of hundredths of a degree, not round-off.
sn.set_default_dtype(np.float64)
sn.manual_seed(0)
images, _, test_images, _ = bundled_mnist(QUICK, quick_sizes=(600, 200))
x = images.reshape(len(images), -1).astype(np.float64)
x_test = test_images.reshape(len(test_images), -1).astype(np.float64)
N, D = x.shape

# Centre with the *training* mean (test images too). PCA centres internally; for the
# autoencoders, centred data means the biases have nothing to do and stay at zero.
mean = x.mean(axis=0)
x_c, x_test_c = x - mean, x_test - mean
train_data, test_data = sn.Tensor(x_c), sn.Tensor(x_test_c)

KS = (2,) if QUICK else (2, 16, 32)
STEPS = 100 if QUICK else 400   # full-batch Adam steps per model
LR = 2e-2                       # Adam's initial learning rate, decayed to 0 by a cosine
INIT_SCALE = 0.1                # the Glorot initial weights, scaled down
print(f"train {x.shape}, test {x_test.shape}, code sizes {KS}, {STEPS} full-batch steps "
      f"per model; load average at start {LOAD_AT_START:.2f} on {os.cpu_count()} CPUs")

# %% [markdown]
# ## 1. The target: PCA, and the eigengaps
#
# For each code size we fit PCA and read off $\lambda_k$ and $\lambda_{k+1}$ from
# `pca.spectrum_`. PCA's training error is the Eckart–Young floor that no linear
# autoencoder can go below.

# %%
pcas = {k: PCA(k).fit(x) for k in KS}
spectrum = pcas[KS[0]].spectrum_
print(f"{'k':>3} {'λ_k':>8} {'λ_k+1':>8} {'λ_k/λ_k+1':>10} {'λ_k-λ_k+1':>10} "
      f"{'PCA train MSE':>14} {'PCA test MSE':>13}")
for k, pca in pcas.items():
    print(f"{k:>3} {spectrum[k - 1]:>8.4f} {spectrum[k]:>8.4f} "
          f"{spectrum[k - 1] / spectrum[k]:>10.4f} {spectrum[k - 1] - spectrum[k]:>10.4f} "
          f"{pca.reconstruction_error(x):>14.7f}"
          f" {pca.reconstruction_error(x_test):>13.7f}")

# %% [markdown]
# ## 2. Training the autoencoders to the optimum
#
# To compare with PCA we need the *optimum* of the autoencoder's loss, not a snapshot of an
# optimiser still bouncing around it. So:
#
# * **full batch**: every step uses the whole training matrix, so the gradient is the true
#   gradient of the training loss, with no minibatch noise;
# * **Adam with a cosine-decayed learning rate** from `LR` down to 0, so the last steps are
#   tiny and the weights settle. We set Adam's $\beta_2 = 0.99$ instead of the usual 0.999:
#   its running average of $g^2$ then forgets the large early gradients within about 100
#   steps instead of 1000 (longer than the whole run), so the steps do not shrink before the
#   schedule says so;
# * **small initial weights**: near $W = 0$ the gradient of the tied model is proportional
#   to $C W$, a step of the power method, so training first grows the weights along the
#   directions of largest variance;
# * **float64**, and centred data;
# * **only the weight matrices are trained.** With centred data the best biases are zero,
#   and they start at zero. Training them anyway shows a classic Adam pitfall: their
#   gradient is zero up to round-off (about $10^{-19}$), and Adam's step
#   $\text{lr}\cdot\hat m/(\sqrt{\hat v}+\varepsilon)$ turns a gradient far below
#   $\varepsilon = 10^{-8}$ into a step of $\text{lr}/\varepsilon = 2\cdot 10^{6}$ times the
#   gradient. That learning rate is wildly unstable, so the round-off grows by orders of
#   magnitude each step until the biases wander off to about $10^{-2}$.
#
# Every few steps we record the excess of the training MSE over PCA's and the largest
# angle between the decoder's subspace (`model.decoder_basis()`) and PCA's.

# %%
def test_mse(model: LinearAutoencoder) -> float:
    with sn.no_grad():
        return float(((model(test_data).numpy() - x_test_c) ** 2).mean())


def largest_angle_deg(model: LinearAutoencoder, pca: PCA) -> float:
    return float(np.degrees(subspace_angles(model.decoder_basis(), pca.components_.T)[0]))


class AngleToPCA(sn.train.Callback):
    """The largest angle between the decoder's subspace and PCA's, every 5 steps."""

    def __init__(self, pca: PCA) -> None:
        self.pca = pca

    def on_train_begin(self, model: LinearAutoencoder) -> None:
        self.angles = {0: largest_angle_deg(model, self.pca)}

    def on_epoch_end(self, step: int, history: sn.train.History,
                     model: LinearAutoencoder) -> None:
        if step % 5 == 0 or step == STEPS:
            self.angles[step] = largest_angle_deg(model, self.pca)


def train(k: int, tied: bool, seed: int) -> tuple[LinearAutoencoder, dict, float]:
    """Full-batch Adam through sn.train.fit: the loader is one batch, the whole training
    set, so an epoch is one step (and the cosine schedule falls step by step)."""
    model = LinearAutoencoder(D, k, tied=tied, rng=seed)
    for parameter in model.parameters():
        parameter.data *= INIT_SCALE
    weights = [model.encoder.weight] if tied else [model.encoder.weight, model.decoder.weight]
    optimizer = optim.Adam(weights, lr=LR, betas=(0.9, 0.99))
    angles = AngleToPCA(pcas[k])
    started = time.perf_counter()
    fitted = sn.train.fit(model, lambda m, x: m.loss(x), optimizer, loader=[train_data],
                          epochs=STEPS, scheduler=optim.CosineLR(optimizer, t_max=STEPS),
                          callbacks=[angles])  # a bar over the steps, in a terminal
    seconds = time.perf_counter() - started
    # fit's "loss" of epoch s + 1 is the loss of the weights after s steps, taken before
    # that epoch's step; the loss after the last step is measured here.
    with sn.no_grad():
        losses = [*fitted["loss"], model.loss(train_data).item()]
    floor = pcas[k].reconstruction_error(x)
    steps = sorted(angles.angles)
    history = {"step": steps, "excess": [(losses[s] - floor) / floor for s in steps],
               "angle": [angles.angles[s] for s in steps]}
    return model, history, seconds


results = {}
for k in KS:
    pca = pcas[k]
    row = {"pca_test": pca.reconstruction_error(x_test), "pca_train": pca.reconstruction_error(x),
           "gap": spectrum[k - 1] / spectrum[k]}
    for name, tied in (("linear AE", False), ("tied AE", True)):
        model, history, seconds = train(k, tied, seed=k + tied)
        row[name] = {"model": model, "history": history, "seconds": seconds,
                     "test": test_mse(model), "train": history["excess"][-1],
                     "angle": largest_angle_deg(model, pca)}
    results[k] = row
    print(f"\nk = {k}: eigengap λ_{k}/λ_{k + 1} = {spectrum[k - 1]:.4f}/{spectrum[k]:.4f} = "
          f"{row['gap']:.4f}")
    print(f"  {'model':<10} {'test MSE':>11} {'vs PCA':>10} {'train MSE vs PCA':>17} "
          f"{'largest angle to PCA':>21} {'time':>16}")
    print(f"  {'PCA':<10} {row['pca_test']:>11.7f} {'':>10} {'':>17} {'':>21}")
    for name in ("linear AE", "tied AE"):
        r = row[name]
        print(f"  {name:<10} {r['test']:>11.7f} {r['test'] / row['pca_test'] - 1:>+10.5%} "
              f"{r['train']:>+17.2e} {r['angle']:>20.5f}° {r['seconds']:>6.1f} s "
              f"({1000 * r['seconds'] / STEPS:.0f} ms/step)")

# %%
fig, (ax_loss, ax_angle) = plt.subplots(1, 2, figsize=(12, 4.8))
# Colour is the code size k, line style the model: tied and untied of one k side by side.
for i, k in enumerate(KS):
    for name, style in (("linear AE", "-"), ("tied AE", "--")):
        history = results[k][name]["history"]
        excess = np.maximum(np.abs(history["excess"]), 1e-16)
        ax_loss.plot(history["step"], excess, color=f"C{i}", linestyle=style,
                     label=f"k={k}, {name}")
        ax_angle.plot(history["step"], np.maximum(history["angle"], 1e-6), color=f"C{i}",
                      linestyle=style, label=f"k={k}, {name}")
ax_loss.set(yscale="log", xlabel="full-batch step",
            ylabel="(train MSE − PCA's) / PCA's (relative)",
            title="Training error above the PCA optimum:\nevery curve falls towards 0")
ax_angle.set(yscale="log", xlabel="full-batch step",
             ylabel="largest principal angle (degrees)",
             title="Angle between the decoder's subspace and PCA's:\n"
                   "slowest where the eigengap is smallest")
ax_angle.axhline(1.0, color="grey", lw=0.8, label="1°")
ax_angle.axhline(0.1, color="grey", lw=0.8, ls=":", label="0.1°")
for ax in (ax_loss, ax_angle):
    ax.grid(True, which="major", alpha=0.3)
ax_loss.legend(fontsize=8, ncol=len(KS))
ax_angle.legend(fontsize=8, ncol=len(KS))
print("saved", viz.save_figure(fig, FIGURES / "training_to_the_optimum.png"))

# %% [markdown]
# With a clear eigengap ($k = 2$ and $k = 16$) both autoencoders end with a test MSE that
# matches PCA's to a few parts in a million and a decoder subspace within hundredths of a
# degree of PCA's; the tied model, with fewer ways to be wrong (only rotations of its
# code), gets even closer. Their training error is never below PCA's: Eckart–Young is a
# floor.
#
# ## 3. A large angle with a matching MSE: the case λ_k ≈ λ_{k+1}
#
# At $k = 32$ the eigengap is tiny. Apply the formula above: a tilt of the observed size
# should cost almost nothing in training MSE. We also look at *where* the autoencoder's
# subspace leaves PCA's: its projection onto the next few eigenvectors
# $u_{k+1}, u_{k+2}, \dots$, and at all of its principal angles, not just the largest.

# %%
pca_more = PCA(max(KS) + 5).fit(x)  # u_1 ... u_{k+5}, to see where the AE subspace leaks to
for k in KS:
    gap = spectrum[k - 1] - spectrum[k]
    print(f"k = {k}: λ_{k} - λ_{k + 1} = {gap:.4f}")
    for name in ("linear AE", "tied AE"):
        r = results[k][name]
        theta = np.radians(r["angle"])
        predicted = (N - 1) / (N * D) * gap * np.sin(theta) ** 2 / results[k]["pca_train"]
        angles = np.degrees(subspace_angles(r["model"].decoder_basis(), pcas[k].components_.T))
        q, _, _ = np.linalg.svd(r["model"].decoder_basis(), full_matrices=False)
        projection = float(((x_c - x_c @ q @ q.T) ** 2).mean()) / results[k]["pca_train"] - 1
        leak = ((pca_more.components_[k:k + 5] @ q) ** 2).sum(axis=1)  # along u_{k+1}, ...
        print(f"  {name:<10} its largest principal angles: "
              + ", ".join(f"{a:.3g}°" for a in angles[:3]))
        print(f"  {'':<10} train MSE above PCA's (relative): {r['train']:.1e} measured; "
              f"{projection:.1e} for the orthogonal projection onto its decoder subspace; "
              f"{predicted:.1e} from the formula for the largest angle alone")
        print(f"  {'':<10} share of its subspace along u_{k + 1}..u_{k + 5}: "
              + ", ".join(f"{share:.3f}" for share in leak))

if 32 in KS:
    u32, u33 = pca_more.components_[31], pca_more.components_[32]
    test_var = [float(np.var(x_test_c @ direction, ddof=1)) for direction in (u32, u33)]
    print(f"variance along u_32 and u_33: training images {spectrum[31]:.4f} and "
          f"{spectrum[32]:.4f} (gap {spectrum[31] - spectrum[32]:.4f}); test images "
          f"{test_var[0]:.4f} and {test_var[1]:.4f} (changes of "
          f"{abs(test_var[0] - spectrum[31]):.4f} and {abs(test_var[1] - spectrum[32]):.4f})")

# %% [markdown]
# Read the $k = 32$ lines. The largest angle is many degrees, yet the test MSE is within
# about a tenth of a percent of PCA's, and the training MSE is above PCA's by only parts in
# $10^4$ (the exact numbers depend on the seed and the number of steps). For the tied
# model, the formula with $\lambda_{32} - \lambda_{33}$ accounts for that excess almost
# exactly: all of it comes from one tilt towards $u_{33}$. The other angles are much
# smaller, and what the subspace holds beyond PCA's lies along $u_{33}$ and its near
# neighbours, whose variances are within a few percent of $\lambda_{32}$. (The untied
# model's measured excess is larger than its projection's: its encoder is not yet exactly
# the projection that matches its decoder.)
#
# Three things make this angle large and harmless at once.
#
# 1. The loss is nearly flat along the tilt, so a big angle hardly shows in the MSE.
# 2. The gradient that would rotate $u_{33}$ out in favour of $u_{32}$ is proportional to
#    the same small gap. The angle does shrink, but far more slowly than at $k = 16$ (the
#    $k = 32$ curves in the figure above), as much more slowly as the gap is smaller.
# 3. The data barely decide the question. Between the training and the test images, the
#    variance along a fixed direction changes by more than the gap itself (printed above).
#    With 4,000 images, which of $u_{32}$ and $u_{33}$ is "the 32nd direction" is partly
#    chance, and the autoencoder's test MSE can come out slightly above or below PCA's: PCA
#    is optimal only for the data it was fitted to.
#
# The lesson: "the autoencoder learns PCA's subspace" is a statement about the optimum,
# and how sharply the optimum is defined depends on the eigengap $\lambda_k/\lambda_{k+1}$.
#
# ## 4. The principal directions themselves, from the weights (Plaut, 2018)
#
# The decoder's columns span the principal subspace but are a mixed-up basis of it. To get
# the individual directions back:
#
# 1. take an orthonormal basis $Q$ ($D \times k$) of the decoder's subspace: the left
#    singular vectors of the decoder weights;
# 2. project the centred training data onto it, $Z = X_c Q$ ($N \times k$): the code in
#    orthonormal coordinates;
# 3. diagonalise the small $k \times k$ covariance $\frac{1}{N-1} Z^\top Z = P \Lambda P^\top$;
# 4. the columns of $Q P$, ordered by the eigenvalues in $\Lambda$, are the principal
#    directions, and $\Lambda$ holds their variances.
#
# If the subspace is exactly PCA's, step 3 is PCA restricted to that subspace, so it returns
# exactly $u_1, \dots, u_k$ and $\lambda_1, \dots, \lambda_k$, and it needs only a
# $k \times k$ eigendecomposition instead of one of size $D \times D$.

# %%
def principal_directions(decoder_basis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(k, D) directions, largest variance first, and their variances, from the weights."""
    q, _, _ = np.linalg.svd(decoder_basis, full_matrices=False)  # (D, k), orthonormal
    z = x_c @ q
    variances, rotation = np.linalg.eigh(z.T @ z / (N - 1))
    order = np.argsort(variances)[::-1]
    directions = (q @ rotation[:, order]).T
    # The same sign rule as PCA: each direction's largest-magnitude entry is positive.
    largest = np.abs(directions).argmax(axis=1)
    directions *= np.sign(directions[np.arange(len(directions)), largest])[:, None]
    return directions, variances[order]


K_SHOW = 16 if 16 in KS else KS[-1]
pca_dirs = pcas[K_SHOW].components_
recovered = {name: principal_directions(results[K_SHOW][name]["model"].decoder_basis())
             for name in ("linear AE", "tied AE")}
raw = results[K_SHOW]["linear AE"]["model"].decoder_basis()
raw_cos = np.abs(pca_dirs @ (raw / np.linalg.norm(raw, axis=0))).max(axis=0)
print(f"k = {K_SHOW}: |cos| between each recovered direction and PCA's u_j")
print(f"  {'j':>3} {'λ_j (PCA)':>10} {'variance (linear AE)':>21} {'|cos| linear':>13} "
      f"{'|cos| tied':>11}")
for j in range(K_SHOW):
    cos_linear = abs(float(recovered["linear AE"][0][j] @ pca_dirs[j]))
    cos_tied = abs(float(recovered["tied AE"][0][j] @ pca_dirs[j]))
    print(f"  {j + 1:>3} {spectrum[j]:>10.5f} {recovered['linear AE'][1][j]:>21.5f} "
          f"{cos_linear:>13.8f} {cos_tied:>11.8f}")
print(f"  for contrast, the raw decoder columns of the linear AE: best |cos| with any u_j "
      f"{np.round(np.sort(raw_cos)[::-1], 2)}")

if 32 in KS:
    for name in ("linear AE", "tied AE"):
        directions, _ = principal_directions(results[32][name]["model"].decoder_basis())
        cosines = np.abs((directions * pcas[32].components_).sum(axis=1))
        print(f"k = 32, {name}: |cos| with u_j is ≥ {cosines[:28].min():.6f} for j ≤ 28; "
              f"for j = 29..32: {np.round(cosines[28:], 4)}")

# %%
rows = [("linear AE: decoder columns as trained", raw.T),
        ("tied AE: weight columns as trained",
         results[K_SHOW]["tied AE"]["model"].decoder_basis().T),
        ("recovered from the linear AE (Plaut)", recovered["linear AE"][0]),
        ("recovered from the tied AE (Plaut)", recovered["tied AE"][0]),
        (f"PCA: u_1 ... u_{K_SHOW}", pca_dirs)]
fig, axes = plt.subplots(len(rows), 1, figsize=(max(4.0, 0.75 * K_SHOW), 1.2 * len(rows) + 1))
for ax, (title, weights) in zip(axes, rows):
    viz.plot_filters(weights.reshape(-1, 28, 28), ncol=K_SHOW, ax=ax, title=title)
fig.tight_layout()
print("saved", viz.save_figure(fig, FIGURES / "principal_directions_from_weights.png"))

# %% [markdown]
# The raw weights look like blurry mixtures of several principal directions (their best
# $|\cos|$ with any single $u_j$ is well below 1). After Plaut's rotation, the directions
# recovered from either autoencoder are PCA's own, in PCA's order, with $|\cos|$ equal to 1
# to many decimals and the same variances. The recovery can be no better than the subspace
# it starts from: at $k = 32$ the last recovered direction is a mixture of $u_{32}$ and
# $u_{33}$, and where the subspace is slightly off elsewhere, directions with nearly equal
# variances ($\lambda_{30} \approx \lambda_{31}$) get slightly mixed too.
#
# ## Summary
#
# * Trained to its optimum (full batch, decaying learning rate, float64), a linear
#   autoencoder matches PCA's test error, and its decoder spans PCA's principal subspace
#   (Baldi & Hornik, 1989), to hundredths of a degree where the eigengap is clear; the tied
#   model gets closer still.
# * The principal *directions* come back from the weights with a $k \times k$
#   eigendecomposition (Plaut, 2018).
# * The largest principal angle is only as well defined as the eigengap
#   $\lambda_k / \lambda_{k+1}$. At $k = 32$ it is tiny: the angle is large, and yet the
#   error matches, because a tilt between directions of almost equal variance costs almost
#   nothing (Eckart & Young's error depends only on the discarded variance).
# * Lesson 05 adds depth and nonlinearity, and asks whether the error can then go *below*
#   PCA's.

# %%
if QUICK:
    print(SMOKE_RUN_HEADER)
print("Key numbers (bundled MNIST split" + (", quick mode" if QUICK else "") + "):")
header = (f"  {'k':>3} {'λ_k/λ_k+1':>10} {'PCA test MSE':>13} {'linear AE':>10} {'tied AE':>10}"
          f" {'Δ linear':>10} {'Δ tied':>10} {'angle linear':>13} {'angle tied':>11}")
print(header)
for k, row in results.items():
    linear, tied = row["linear AE"], row["tied AE"]
    print(f"  {k:>3} {row['gap']:>10.4f} {row['pca_test']:>13.7f} {linear['test']:>10.7f}"
          f" {tied['test']:>10.7f} {linear['test'] / row['pca_test'] - 1:>+10.5%}"
          f" {tied['test'] / row['pca_test'] - 1:>+10.5%} {linear['angle']:>12.5f}°"
          f" {tied['angle']:>10.5f}°")
training = sum(r["seconds"] for row in results.values() for r in (row["linear AE"], row["tied AE"]))
print(f"  training time {training:.1f} s, lesson time {time.perf_counter() - STARTED:.1f} s; "
      f"load average {LOAD_AT_START:.2f} at start, {os.getloadavg()[0]:.2f} at end "
      f"({os.cpu_count()} CPUs)")

# %% [markdown]
# ## Exercises
#
# `exercises/04_pca_vs_linear_autoencoder.py` holds two exercises: `largest_principal_angle`
# between two spans, and `directions_from_decoder`, the principal directions recovered from
# a linear decoder's weights (section 4). Fill them in and run `scratchnet check 04`
# (`--file my_copy.py` grades another file). Each failure says which number is wrong, what
# was expected, and gives a hint. Reference solutions are in `exercises/solutions/`.
