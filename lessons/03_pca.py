# %% [markdown]
# # Lesson 03: principal component analysis, the first autoencoder
#
# An autoencoder squeezes each input $x \in \mathbb{R}^D$ through a small code
# $z \in \mathbb{R}^k$ and rebuilds it, $\hat{x} = \text{dec}(\text{enc}(x))$, and is judged
# by how close $\hat{x}$ comes to $x$. Veličković's lecture starts the family with its
# oldest and simplest member, **principal component analysis** (PCA): encode by projecting
# onto $k$ orthogonal axes, decode by mapping the coordinates back.
#
# Which axes? With no labels to tell us what matters, the most useful axes are the ones
# that keep the most of the data. Centre the data, $x_c = x - \bar{x}$, and form the
# covariance matrix of the $N$ training images,
#
# $$C = \frac{1}{N-1} \sum_{n=1}^{N} x_{c,n}\, x_{c,n}^\top
#     = \sum_{j=1}^{D} \lambda_j\, u_j u_j^\top,
#   \qquad \lambda_1 \ge \lambda_2 \ge \dots \ge 0 .$$
#
# The eigenvector $u_1$ is the direction along which the data varies most (its variance
# is $\lambda_1$); $u_2$ is the most varied direction orthogonal to $u_1$, and so on. With
# $U_k = [u_1, \dots, u_k]$ ($D \times k$, orthonormal columns), PCA is the linear
# autoencoder
#
# $$z = U_k^\top (x - \bar{x}), \qquad \hat{x} = U_k z + \bar{x},$$
#
# so $\hat{x}$ is the orthogonal projection of $x$ onto the $k$-dimensional plane through
# the mean spanned by the top $k$ directions. In practice the $u_j$ come from the singular
# value decomposition of the centred data matrix $X_c = S\,\Sigma\,V^\top$ (rows of
# $V^\top$ are the $u_j$, and $\lambda_j = \sigma_j^2 / (N-1)$), which is more accurate
# than forming $C$.
#
# **Why it is the best linear code (Eckart & Young, 1936).** Among all rank-$k$
# approximations of $X_c$, the truncated SVD has the smallest squared error, and that error
# is exactly the variance PCA throws away:
#
# $$\min_{\text{rank}(\hat{X}_c) \le k} \lVert X_c - \hat{X}_c \rVert_F^2
#   = (N - 1) \sum_{j > k} \lambda_j .$$
#
# `PCA.reconstruction_error` reports the mean over all $N \cdot D$ values, so on the
# training data it should equal $\frac{N-1}{N D} \sum_{j>k} \lambda_j$. We will check that.
#
# **What PCA cannot do.** Its decoder is linear: the reconstructions always lie on a flat
# plane. Data lying on a *curved* low-dimensional manifold defeats it, and that is where
# the nonlinear autoencoders of the next lessons come in. The last section shows this on a
# circle.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

import scratchnet as sn
from scratchnet import nn, optim, viz
from scratchnet.datasets import make_circle
from scratchnet.lesson import SMOKE_RUN_HEADER, bundled_mnist, figure_dir, quick_mode
from scratchnet.metrics import psnr
from scratchnet.models import PCA, Autoencoder

QUICK = quick_mode()
FIGURES = figure_dir("03_pca")
STARTED = time.perf_counter()

sn.manual_seed(0)
images, labels, test_images, test_labels = bundled_mnist(QUICK, quick_sizes=(1000, 200))
# PCA works on vectors: each 28x28 image becomes a row of 784 values. float64 for exact checks.
x = images.reshape(len(images), -1).astype(np.float64)
x_test = test_images.reshape(len(test_images), -1).astype(np.float64)
N, D = x.shape
print(f"train {x.shape}, test {x_test.shape}: each image is a point in R^{D}")

# %% [markdown]
# ## 1. The spectrum: how many directions does MNIST need?
#
# One fit gives us everything: `pca.spectrum_` holds all the eigenvalues $\lambda_j$ of the
# covariance, largest first, and their running sum divided by the total variance is the
# **explained-variance curve**: the fraction of the data's variance that the top $k$
# directions keep.

# %%
pca = PCA(128).fit(x)
spectrum = pca.spectrum_
total = spectrum.sum()
cumulative = np.cumsum(spectrum) / total
rank = int((spectrum > 1e-10 * spectrum[0]).sum())
blank = int((x.std(axis=0) == 0).sum())
print(f"total variance {total:.2f} (sum of the {D} pixel variances); "
      f"numerical rank of the centred data: {rank}; pixels blank in every image: {blank}")
print("largest eigenvalues:", np.round(spectrum[:8], 3))
for share in (0.5, 0.9, 0.95, 0.99):
    print(f"  {share:.0%} of the variance needs k = {int(np.searchsorted(cumulative, share)) + 1}")

KS = (2, 8, 32, 128)
fig, (ax_eig, ax_cum) = plt.subplots(1, 2, figsize=(12, 4.2))
ax_eig.semilogy(np.arange(1, rank + 1), spectrum[:rank])
ax_eig.set(xlabel="component index j",
           ylabel="λ_j: variance along u_j (intensity², log scale)",
           title="Eigenvalues: a few large ones, then a slow decay")
ax_cum.plot(np.arange(1, D + 1), 100 * cumulative)
ax_cum.plot(KS, 100 * cumulative[np.array(KS) - 1], "o")
for k in KS:
    ax_cum.annotate(f"k={k}: {cumulative[k - 1]:.0%}", (k, 100 * cumulative[k - 1]),
                    textcoords="offset points", xytext=(8, -12))
ax_cum.set(xscale="log", xlabel="number of components k (log scale)", ylim=(0, 102),
           ylabel="explained variance (% of total)",
           title="Variance kept by the top k: no clean cut-off")
print("saved", viz.save_figure(fig, FIGURES / "explained_variance.png"))

# %% [markdown]
# A handful of directions carries a large share of the variance and the spectrum then
# decays slowly: MNIST digits are far from random 784-dimensional vectors, but there is no
# small $k$ after which nothing is left. The rank is below 784 mostly because many border
# pixels are blank in every training image: they have no variance at all, and the last
# eigenvalues are zero.
#
# The principal directions are themselves 784-vectors, so we can look at them as images
# (red: positive weight, blue: negative). $u_1$ contrasts a "0"-like ring with a
# "1"-like vertical stroke; later directions add finer and finer stroke detail.

# %%
fig, (ax_mean, ax_dirs) = plt.subplots(1, 2, figsize=(9, 4.6),
                                       gridspec_kw={"width_ratios": [1, 4]})
viz.image_grid(pca.mean_[None], ax=ax_mean, title="mean image x̄")
viz.plot_filters(pca.components_[:16].T, image_shape=(28, 28), ncol=8, ax=ax_dirs,
                 title="principal directions u_1 ... u_16 (red: positive, blue: negative):\n"
                       "u_1 contrasts a ring with a stroke, later ones add finer detail")
print("saved", viz.save_figure(fig, FIGURES / "principal_directions.png"))

# %% [markdown]
# ## 2. Reconstructions at k = 2, 8, 32 and 128, and Eckart–Young checked
#
# For each code size we fit PCA, encode and decode, and compare the measured per-value
# squared error on the training images with the Eckart–Young prediction from the
# discarded eigenvalues. On the test images there is no such formula (the directions were
# chosen for the training set), but the error should be close.

# %%
one_per_class = np.array([np.flatnonzero(test_labels == digit)[0] for digit in range(10)])
rows = [x_test[one_per_class]]
errors = {}
print(f"{'k':>4} {'explained':>10} {'train MSE':>11} {'Eckart-Young':>13} {'test MSE':>10}"
      f" {'test PSNR':>10}")
for k in KS:
    model = PCA(k).fit(x)
    predicted = (N - 1) / (N * D) * spectrum[k:].sum()
    train_mse = model.reconstruction_error(x)
    test_mse = model.reconstruction_error(x_test)
    errors[k] = test_mse
    rows.append(np.clip(model.reconstruct(x_test[one_per_class]), 0, 1))
    print(f"{k:>4} {cumulative[k - 1]:>10.1%} {train_mse:>11.6f} {predicted:>13.6f} "
          f"{test_mse:>10.6f} {psnr(x_test, model.reconstruct(x_test)):>8.1f} dB")
    assert abs(train_mse - predicted) <= 1e-8 * predicted  # Eckart-Young, to round-off

fig = viz.image_grid(np.concatenate(rows), nrow=len(rows), ncol=10,
                     title="test digits (top row) and their PCA reconstructions, one row per\n"
                           f"k = {', '.join(map(str, KS))}: sharper as k grows")
print("saved", viz.save_figure(fig, FIGURES / "reconstructions.png"))

# %% [markdown]
# The training error matches $\frac{N-1}{ND}\sum_{j>k}\lambda_j$ to round-off: the
# projection keeps exactly the variance of the top $k$ directions and loses the rest. With
# $k = 2$ every digit becomes a blurry blend of a few prototypes; at $k = 8$ the classes are
# mostly recognisable; at $k = 32$ the strokes are there; $k = 128$ is hard to tell from
# the original. The test error stays close to the training error; the larger k, the more
# the later directions are fitted to details of the training images, and the more the test
# error exceeds the training error.
#
# ## 3. The 2-D PCA embedding, coloured by digit
#
# PCA never saw a label. If we colour each training image's two coordinates $(z_1, z_2)$ by
# its digit anyway, we see how much of the class structure the two directions of largest
# variance happen to capture. As a number, we classify each test digit by the nearest class
# mean (computed on the training set) in the 2-D code, and compare with the same rule in
# the full 784-D pixel space.

# %%
pca2 = PCA(2).fit(x)
z, z_test = pca2.transform(x), pca2.transform(x_test)
fig = viz.latent_scatter(z, labels, title="MNIST in its first two principal directions:\n"
                                          "which digit classes stand apart, which overlap?")
fig.axes[0].set(xlabel="z₁ = u_1·(x - x̄) (pixel intensity)",
                ylabel="z₂ = u_2·(x - x̄) (pixel intensity)")
print("saved", viz.save_figure(fig, FIGURES / "pca_2d_embedding.png"))


def nearest_mean_accuracy(train: np.ndarray, test: np.ndarray) -> float:
    means = np.stack([train[labels == digit].mean(axis=0) for digit in range(10)])
    distances = ((test[:, None, :] - means[None]) ** 2).sum(axis=2)
    return float((distances.argmin(axis=1) == test_labels).mean())


print("class means along (z1, z2):")
for digit in range(10):
    mean_code = z[labels == digit].mean(axis=0)
    print(f"  digit {digit}: ({mean_code[0]:+.2f}, {mean_code[1]:+.2f})")
accuracy_2d = nearest_mean_accuracy(z, z_test)
accuracy_784 = nearest_mean_accuracy(x, x_test)
print(f"nearest-class-mean test accuracy: {accuracy_2d:.1%} in the 2-D PCA code, "
      f"{accuracy_784:.1%} in the 784 pixels (chance: 10%)")

# %% [markdown]
# Zeros and ones sit at opposite ends of $z_1$ (the ring against the stroke in $u_1$), and
# a few other digits have their own region, but most classes pile on top of each other:
# two linear directions keep only about a sixth of the variance, and they were chosen for
# variance, not for separating digits. Later lessons compare this picture with the codes
# of nonlinear autoencoders.
#
# ## 4. Where PCA fails: a curved manifold
#
# Points on a circle, $x = (\cos\theta, \sin\theta) + \text{noise}$, are intrinsically
# one-dimensional: the angle $\theta$ says everything. But no *line* captures a circle. The
# two eigenvalues of its covariance are both about $\frac{1}{2}$, so a 1-D PCA code keeps
# one diameter and the reconstruction error per value is about
# $\frac{1}{2}\lambda_2 \approx 0.25$, as bad as ignoring half the data.
#
# A small nonlinear autoencoder with the same 1-D code,
#
# $$x \in \mathbb{R}^2 \xrightarrow{\ \tanh\text{ layer of } 16\ } z \in \mathbb{R}
#   \xrightarrow{\ \tanh\text{ layer of } 16\ } \hat{x} \in \mathbb{R}^2,$$
#
# can learn to use $z$ as a position *along* the curve and bend the decoder's output
# around it. We train it full-batch with Adam on the squared error.

# %%
n_points = 300 if QUICK else 1000
circle_steps = 800 if QUICK else 2000
points, angle = make_circle(n_points, noise=0.02, rng=0)
points = points.astype(np.float64)

line = PCA(1).fit(points)
pca_circle_mse = line.reconstruction_error(points)
print(f"circle covariance eigenvalues: {np.round(line.spectrum_, 3)}")

sn.set_default_dtype(np.float64)
sn.manual_seed(1)
circle_ae = Autoencoder(
    encoder=nn.Sequential(nn.Dense(2, 16, activation="tanh"), nn.Dense(16, 1)),
    decoder=nn.Sequential(nn.Dense(1, 16, activation="tanh"), nn.Dense(16, 2)),
)
optimizer = optim.Adam(circle_ae.parameters(), lr=3e-2)
data = sn.Tensor(points)
started = time.perf_counter()
# Full batch: the loader is one batch, all the points, so each epoch of fit is one step
# and the cosine schedule, which fit steps once per epoch, falls step by step.
sn.train.fit(circle_ae, lambda m, x: m.loss(x), optimizer, loader=[points],
             epochs=circle_steps, scheduler=optim.CosineLR(optimizer, t_max=circle_steps),
             progress=False)
with sn.no_grad():
    code = circle_ae.encode(data).numpy()[:, 0]
    ae_points = circle_ae(data).numpy()
ae_circle_mse = float(((ae_points - points) ** 2).mean())
point_error = ((ae_points - points) ** 2).sum(axis=1)
print(f"nonlinear AE: {circle_steps} full-batch steps in {time.perf_counter() - started:.1f} s")
print(f"reconstruction MSE per value with a 1-D code: PCA {pca_circle_mse:.4f}, "
      f"nonlinear autoencoder {ae_circle_mse:.4f} ({pca_circle_mse / ae_circle_mse:.0f}x lower)")
badly_rebuilt = float((point_error > 0.05).mean())
print(f"points the autoencoder rebuilds badly (squared error > 0.05): {badly_rebuilt:.1%}")

# %%
fig, axes = plt.subplots(1, 4, figsize=(16, 4))
panels = [(points, "data, coloured by angle θ"),
          (line.reconstruct(points), f"PCA, 1-D code: MSE {pca_circle_mse:.3f}"),
          (ae_points, f"nonlinear AE, 1-D code: MSE {ae_circle_mse:.3f}")]
for ax, (shown, title) in zip(axes, panels):
    ax.scatter(shown[:, 0], shown[:, 1], c=angle, cmap="twilight", s=6)
    ax.set(title=title, xlim=(-1.4, 1.4), ylim=(-1.4, 1.4), aspect="equal", xlabel="x₁")
axes[0].set_ylabel("x₂")
axes[3].scatter(angle, code, c=angle, cmap="twilight", s=6)
axes[3].set(xlabel="angle θ (radians)", ylabel="code z (unitless)",
            title="the AE's 1-D code: where does it jump?")
fig.suptitle("A 1-D code for a circle (MSE per value): PCA squashes it onto a diameter, "
             "the nonlinear autoencoder follows it but must cut it once", y=1.02)
print("saved", viz.save_figure(fig, FIGURES / "circle_pca_vs_autoencoder.png"))

# %% [markdown]
# PCA squashes the circle onto a diameter: opposite points on the same chord get the same
# code, and the error is the variance of the discarded direction. The autoencoder's
# reconstructions follow the circle, and its code runs along the angle. Look closely,
# though: the reconstructed curve is *open* at one place, and in the right panel the code
# grows steadily with $\theta$ almost all the way round, then, within a short arc, has to
# get back from its largest value to its smallest. A continuous map from a circle to a
# line cannot be one-to-one, so the encoder must cut the circle somewhere, and the points
# of that short arc are the ones rebuilt badly. A 2-D code would remove the cut; with a
# 1-D code the network still beats the best linear map by a wide margin.
#
# ## Summary
#
# * PCA is the linear autoencoder with orthonormal weights: encode $z = U_k^\top(x-\bar x)$,
#   decode $\hat x = U_k z + \bar x$, with $U_k$ the top-$k$ eigenvectors of the covariance.
# * Its training error is exactly the discarded variance,
#   $\frac{N-1}{ND}\sum_{j>k}\lambda_j$ (Eckart & Young, 1936), and no linear code of size
#   $k$ does better on the training set.
# * Its 2-D code separates few digit classes, and on a curved manifold it fails outright,
#   where a small nonlinear autoencoder succeeds.
#
# Lesson 04 trains linear autoencoders by gradient descent and asks whether they really
# find what PCA finds.

# %%
if QUICK:
    print(SMOKE_RUN_HEADER)
print("Key numbers (bundled MNIST split" + (", quick mode" if QUICK else "") + "):")
print("  explained variance: " + ", ".join(f"k={k} {cumulative[k - 1]:.1%}" for k in KS))
print("  PCA test MSE:       " + ", ".join(f"k={k} {errors[k]:.5f}" for k in KS))
print(f"  nearest-class-mean accuracy: 2-D PCA code {accuracy_2d:.1%}, "
      f"pixels {accuracy_784:.1%}")
print(f"  circle, 1-D code: PCA MSE {pca_circle_mse:.4f}, nonlinear AE MSE {ae_circle_mse:.4f} "
      f"({badly_rebuilt:.1%} of points near the cut rebuilt badly)")
print(f"  lesson time {time.perf_counter() - STARTED:.1f} s")

# %% [markdown]
# ## Exercises
#
# `exercises/03_pca.py` holds three exercises: `pca_fit` (the mean and the top-k
# directions), `pca_reconstruct` and `explained_variance_ratio`. Fill them in and run
# `scratchnet check 03` (`--file my_copy.py` grades another file). Each failure says which
# number is wrong, what was expected, and gives a hint. Reference solutions are in
# `exercises/solutions/`.
