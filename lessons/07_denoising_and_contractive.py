# %% [markdown]
# # Lesson 07: denoising and contractive autoencoders
#
# Lesson 05 ended with a warning: an autoencoder that only has to rebuild its input can
# learn a map that passes through whatever it is given, noise included. Lesson 05 used
# sparsity as a regulariser. This lesson covers two more, and both ask for **robustness**:
# the code should not care about changes that do not matter.
#
# ## Denoising: corrupt the input, rebuild the clean one
#
# A denoising autoencoder (Vincent et al., 2008) is trained on pairs: a corrupted
# version $\tilde{x} \sim C(\tilde{x} \mid x)$ goes in, and the **clean** $x$ is the
# target,
#
# $$\mathcal{L}(x) = \ell\big(x,\; g(f(\tilde{x}))\big), \qquad
# \tilde{x} = x + \varepsilon, \quad \varepsilon \sim \mathcal{N}(0, \sigma^2 I).$$
#
# Veličković's lecture builds one with a Keras `GaussianNoise(0.5)` layer, so
# $\sigma = 0.5$, which is half the whole range of a pixel. Canziani & Ng add the rule for
# choosing the corruption: inject the kind of noise you expect to meet in reality, so that
# the network learns to recover from it. As the lecture notes, this is no longer strictly
# *auto*-encoding, because the network is not asked to reproduce its exact input. It
# has to learn what digits look like well enough to tell stroke from noise. In scratchnet
# the corruption is one option, `models.Autoencoder(..., noise=0.5)`. It applies only in
# training mode, and the loss always compares with the clean input.
#
# ## Contractive: penalise the code's sensitivity
#
# A contractive autoencoder (Rifai et al., 2011) adds the squared Frobenius norm of the
# encoder's Jacobian to the loss,
#
# $$\mathcal{L}(x) = \ell\big(x, g(f(x))\big) + \lambda\, \lVert J_f(x) \rVert_F^2,
# \qquad \lVert J_f(x) \rVert_F^2 = \sum_{j} \sum_{i}
# \Big(\frac{\partial h_j}{\partial x_i}\Big)^2.$$
#
# The two terms pull in opposite directions (Canziani & Ng). The penalty punishes
# sensitivity to **any** change of the input. The reconstruction term punishes
# *insensitivity* to the changes the decoder needs to tell digits apart. The compromise is
# a code that follows the input along the directions in which real digits vary, and ignores
# the rest.
#
# For one sigmoid layer, $h = \sigma(xW + b)$ with $W$ of shape $(n_\text{in},
# n_\text{code})$ as scratchnet's `Dense` stores it, the Jacobian has a closed form. Since
# $\sigma' = \sigma(1 - \sigma)$, we get $\partial h_j / \partial x_i = h_j(1 - h_j) W_{ij}$, so
#
# $$\lVert J \rVert_F^2 = \sum_j \big(h_j(1 - h_j)\big)^2 \sum_i W_{ij}^2 .$$
#
# scratchnet does not use this formula. `Autoencoder(..., contractive=λ)` computes the
# Jacobian for any encoder by automatic differentiation: one backward pass per code unit,
# with `create_graph=True` so that the penalty itself can be differentiated for training
# (a second derivative). We check it against the formula, then train with it.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

import scratchnet as sn
from scratchnet import metrics, models, nn, optim, viz
from scratchnet.datasets import DataLoader
from scratchnet.lesson import KeyNumbers, bundled_mnist, figure_dir, quick_mode

QUICK = quick_mode()  # `--quick` or SCRATCHNET_QUICK=1: tiny data, one epoch
FIGURES = figure_dir("07_denoising_and_contractive")
SUMMARY = KeyNumbers("Key numbers from this lesson (test split of the bundled MNIST subset):")

sn.manual_seed(0)
x_train, y_train, x_test, y_test = bundled_mnist(QUICK)
EPOCHS_DAE = 1 if QUICK else 30
EPOCHS_CAE = 1 if QUICK else 15
N_JACOBIAN = 50 if QUICK else 300  # test digits on which we measure ||J||
NOISE_STD = 0.5
print(f"quick mode: {QUICK}; train {x_train.shape}, test {x_test.shape}; "
      f"figures go to {FIGURES}")


def train(model: models.Autoencoder, epochs: int) -> sn.train.History:
    """Adam (learning rate 1e-3) on the model's own loss, batches of 64."""
    return sn.train.fit(model, lambda m, x: m.loss(x), optim.Adam(model.parameters(), lr=1e-3),
                        DataLoader(x_train, batch_size=64, rng=1), epochs=epochs,
                        progress=False)


def reconstruct(model: models.Autoencoder, images: np.ndarray) -> np.ndarray:
    model.eval()  # evaluation mode: no corruption inside the model
    with sn.no_grad():
        return model(sn.Tensor(images)).numpy()


# %% [markdown]
# ## 1. A noisy test set
#
# We corrupt every test digit once, with a fixed seed, exactly as the denoising model's
# training corrupts its batches: $\tilde{x} = x + \varepsilon$ with $\sigma = 0.5$.
#
# **A choice to state: we do not clip.** The noisy pixels leave $[0, 1]$, and the model is
# trained, and tested, on such unclipped inputs (as with Keras's `GaussianNoise`).
# Clipping the noisy image to $[0, 1]$ would already remove part of the noise for free,
# because a pixel of a black background cannot be darker than 0. So we report the noisy
# input's PSNR both ways, and measure the model's gain against both. The gain over the
# clipped image is the stricter of the two comparisons.
#
# PSNR, the peak signal-to-noise ratio, is $10 \log_{10}(1 / \text{MSE})$ for images in
# $[0, 1]$. Every halving of the squared error adds about 3 dB.

# %%
noise = np.random.default_rng(2024).normal(0.0, NOISE_STD, x_test.shape).astype(np.float32)
x_noisy = x_test + noise
psnr_noisy = metrics.psnr(x_test, x_noisy)
psnr_clipped = metrics.psnr(x_test, np.clip(x_noisy, 0, 1))
print(f"noisy test digits (sigma = {NOISE_STD}): PSNR {psnr_noisy:.2f} dB unclipped "
      f"(MSE {((x_noisy - x_test) ** 2).mean():.4f}, about sigma^2 = {NOISE_STD ** 2}); "
      f"{psnr_clipped:.2f} dB if clipped to [0, 1]")

# %% [markdown]
# ## 2. Train a plain and a denoising autoencoder
#
# Both are the course's deep MLP autoencoder, 784-128-32-128-784. They use the same
# initial weights, data order and number of epochs. The only difference is `noise=0.5`.

# %%
plain = models.deep_autoencoder(32, rng=0)
denoising = models.deep_autoencoder(32, rng=0, noise=NOISE_STD)
for name, model in [("plain", plain), ("denoising", denoising)]:
    sn.manual_seed(1)
    started = time.perf_counter()
    history = train(model, EPOCHS_DAE)
    print(f"trained the {name} autoencoder: {EPOCHS_DAE} epochs in "
          f"{time.perf_counter() - started:.1f} s (final training loss "
          f"{history['loss'][-1]:.4f})")

outputs = {
    "plain AE, clean input": reconstruct(plain, x_test),
    "denoising AE, clean input": reconstruct(denoising, x_test),
    "plain AE, noisy input": reconstruct(plain, x_noisy),
    "denoising AE, noisy input": reconstruct(denoising, x_noisy),
}
psnr = {name: metrics.psnr(x_test, image) for name, image in outputs.items()}
print(f"\n{'image compared with the clean test digits':<42} {'PSNR dB':>8}")
print(f"{'noisy input, unclipped':<42} {psnr_noisy:>8.2f}")
print(f"{'noisy input, clipped to [0, 1]':<42} {psnr_clipped:>8.2f}")
for name, value in psnr.items():
    print(f"{name:<42} {value:>8.2f}")
denoised = psnr["denoising AE, noisy input"]
gain, gain_clipped = denoised - psnr_noisy, denoised - psnr_clipped
print(f"\ndenoising gain: {gain:+.2f} dB over the unclipped noisy input, {gain_clipped:+.2f} dB "
      f"over the clipped one (target: >= 5 dB)")
SUMMARY["PSNR: noisy input (unclipped / clipped)"] = (
    f"{psnr_noisy:.2f} / {psnr_clipped:.2f} dB")
SUMMARY["PSNR: plain AE vs denoising AE on the noisy input"] = (
    f"{psnr['plain AE, noisy input']:.2f} vs {denoised:.2f} dB")
SUMMARY["denoising gain over unclipped / clipped noisy input"] = (
    f"{gain:+.2f} / {gain_clipped:+.2f} dB (target >= 5 dB: {min(gain, gain_clipped) >= 5})")

# %% [markdown]
# The plain autoencoder already removes much of the noise, since its 32-number code cannot
# hold random speckle. But it was never shown noisy digits, and its guesses are blurred and
# sometimes wrong. The denoising autoencoder gains several more decibels. On *clean*
# inputs it is slightly worse than the plain one: part of its capacity went into removing
# noise.

# %%
examples = np.array([np.flatnonzero(y_test == d)[0] for d in range(10) if (y_test == d).any()])
rows = [
    ("clean", x_test[examples]),
    (f"noisy, sigma={NOISE_STD} (shown clipped; PSNR {psnr_noisy:.1f} dB unclipped)",
     np.clip(x_noisy[examples], 0, 1)),
    (f"plain AE on the noisy digit ({psnr['plain AE, noisy input']:.1f} dB)",
     outputs["plain AE, noisy input"][examples]),
    (f"denoising AE on the noisy digit ({denoised:.1f} dB)",
     outputs["denoising AE, noisy input"][examples]),
]
fig, axes = plt.subplots(len(rows), 1, figsize=(len(examples) * 0.9, len(rows) * 1.3))
for ax, (title, images) in zip(axes, rows):
    viz.image_grid(images, nrow=1, ax=ax)
    ax.set_title(title, fontsize=9, loc="left")
fig.suptitle("Which autoencoder rebuilds a cleaner digit from the noisy one?\n"
             "(test digits; PSNR in dB over the whole test split, higher is better)")
print("saved", viz.save_figure(fig, FIGURES / "denoising.png"))

# %% [markdown]
# ### Other noise levels
#
# The denoising model was trained at $\sigma = 0.5$ only. How does it cope with weaker or
# stronger noise? We corrupt the test digits again at several levels (unclipped, as before)
# and measure the PSNR of the input and of both models' outputs.

# %%
levels = [0.1, 0.25, 0.5, 0.75, 1.0]
unit_noise = np.random.default_rng(7).normal(0.0, 1.0, x_test.shape).astype(np.float32)
sweep = {"noisy input": [], "plain AE": [], "denoising AE": []}
for level in levels:
    corrupted = x_test + level * unit_noise
    sweep["noisy input"].append(metrics.psnr(x_test, corrupted))
    sweep["plain AE"].append(metrics.psnr(x_test, reconstruct(plain, corrupted)))
    sweep["denoising AE"].append(metrics.psnr(x_test, reconstruct(denoising, corrupted)))
print(f"{'sigma':>6} " + " ".join(f"{name:>13}" for name in sweep))
for i, level in enumerate(levels):
    print(f"{level:>6.2f} " + " ".join(f"{values[i]:>10.2f} dB" for values in sweep.values()))

fig, ax = plt.subplots(figsize=(6.5, 4.2))
# The noisy input is the baseline to beat: grey and dashed, the two models in colour.
styles = {"noisy input": dict(color="gray", linestyle="--"),
          "plain AE": dict(color="tab:blue"), "denoising AE": dict(color="tab:orange")}
for name, values in sweep.items():
    ax.plot(levels, values, marker="o", label=name, **styles[name])
ax.axvline(NOISE_STD, color="gray", linestyle=":", label="training noise level")
ax.set(xlabel="noise standard deviation sigma (pixel intensity, pixels in [0, 1])",
       ylabel="PSNR against the clean digit (dB)",
       title="Where does each model beat the noisy input? (test, higher = better)")
ax.grid(True, alpha=0.3)
ax.legend()
print("saved", viz.save_figure(fig, FIGURES / "psnr_by_noise_level.png"))

# %% [markdown]
# Read the curves from left to right. With almost no noise the input itself is the best
# estimate, and both autoencoders lose to it, because rebuilding through a 32-number code
# costs detail. As the noise grows, the denoising autoencoder overtakes the input, and in
# full runs it stayed ahead of the plain one from its training level $\sigma = 0.5$
# upwards, so it still helps at noise levels it never saw (the table above gives the
# decibels at each level).
#
# ## 3. The contractive penalty, checked against its closed form
#
# We switch to float64 for this check, build a single sigmoid layer 784 → 16, and compare
# scratchnet's autodiff value of $\lVert J \rVert_F^2$ with the formula, per test digit.

# %%
sn.set_default_dtype(np.float64)
one_layer = models.Autoencoder(
    nn.Sequential(nn.Flatten(), nn.Dense(784, 16, activation="sigmoid", rng=5)),
    nn.Sequential(nn.Dense(16, 784, activation="sigmoid", rng=6), nn.Reshape((1, 28, 28))),
    contractive=1.0)
batch = x_test[:8].astype(np.float64)
by_autodiff = one_layer.jacobian_norm(sn.Tensor(batch, requires_grad=True)).numpy()

W = one_layer.encoder[1].weight.numpy()  # (784, 16): W[i, j] connects pixel i to unit j
with sn.no_grad():
    h = one_layer.encode(sn.Tensor(batch)).numpy()  # (8, 16)
by_formula = ((h * (1 - h)) ** 2 * (W ** 2).sum(axis=0)).sum(axis=1)
closed_form_error = float(np.max(np.abs(by_autodiff - by_formula) / by_formula))
print("||J||_F^2 by autodiff:", np.array2string(by_autodiff, precision=6))
print("||J||_F^2 by formula: ", np.array2string(by_formula, precision=6))
print(f"largest relative difference: {closed_form_error:.1e}")
SUMMARY["contractive penalty: autodiff vs closed form (float64)"] = (
    f"largest relative difference {closed_form_error:.1e}")

# %% [markdown]
# The autodiff route is not tied to one layer. For a two-layer encoder
# (784 → 128 ReLU → 16 sigmoid) there is no short formula, but we can check the Jacobian
# with central finite differences,
# $\partial h / \partial x_i \approx (h(x + \delta e_i) - h(x - \delta e_i)) / 2\delta$,
# which needs two encoder passes per pixel (1,568 for one digit).

# %%
two_layer = nn.Sequential(nn.Flatten(), nn.Dense(784, 128, activation="relu", rng=8),
                          nn.Dense(128, 16, activation="sigmoid", rng=9))
deep_check = models.Autoencoder(two_layer, nn.Sequential(
    nn.Dense(16, 784, activation="sigmoid", rng=10), nn.Reshape((1, 28, 28))))
digit = x_test[:1].astype(np.float64)
autodiff_value = float(deep_check.jacobian_norm(sn.Tensor(digit, requires_grad=True)).item())
delta = 1e-6
steps = delta * np.eye(784).reshape(784, 1, 28, 28)
with sn.no_grad():
    forward = two_layer(sn.Tensor(digit + steps)).numpy()
    backward = two_layer(sn.Tensor(digit - steps)).numpy()
finite_difference_value = float((((forward - backward) / (2 * delta)) ** 2).sum())
print(f"two-layer encoder, one digit: ||J||_F^2 = {autodiff_value:.8f} by autodiff, "
      f"{finite_difference_value:.8f} by finite differences "
      f"(relative difference {abs(autodiff_value / finite_difference_value - 1):.1e})")
sn.set_default_dtype(np.float32)

# %% [markdown]
# ## 4. Training with the contractive penalty
#
# The encoder is 784 → 128 (ReLU) → 16 (sigmoid) and the decoder mirrors it. The code is
# small on purpose: the penalty costs one extra backward pass per code unit, 16 per batch.
# We train with $\lambda = 0$ (a plain autoencoder), $\lambda = 0.01$ and $\lambda = 0.1$,
# and measure on held-out digits:
#
# * the reconstruction error (test MSE);
# * the mean Jacobian norm $\lVert J_f(x) \rVert_F$ over the first test digits;
# * the singular values of $J_f(x)$ (16 per digit), which say in how many input
#   directions the code is sensitive at all;
# * how much more the code reacts to a step towards the nearest test digit of the
#   same class than to a random step of the same length. That ratio is
#   $\lVert J v_\text{neighbour} \rVert / \lVert J v_\text{random} \rVert$ with unit
#   vectors $v$, and it is a rough measure of "sensitive along the data, not across it".
#
# As in lesson 05, the decoder's output bias starts at the logit of the mean training
# image. Without it, the sigmoid code of the $\lambda = 0$ model saturates in the first
# epoch (every unit near 1), and its Jacobian is near zero for the wrong reason.

# %%
flat_mean = np.clip(x_train.reshape(len(x_train), -1).mean(axis=0), 1e-3, 1 - 1e-3)
MEAN_LOGIT = np.log(flat_mean / (1 - flat_mean))


def contractive_autoencoder(lam: float) -> models.Autoencoder:
    encoder = nn.Sequential(nn.Flatten(), nn.Dense(784, 128, activation="relu", rng=0),
                            nn.Dense(128, 16, activation="sigmoid", rng=1))
    output = nn.Dense(128, 784, activation="sigmoid", rng=3)
    output.bias.data[...] = MEAN_LOGIT.astype(output.bias.dtype)
    decoder = nn.Sequential(nn.Dense(16, 128, activation="relu", rng=2), output,
                            nn.Reshape((1, 28, 28)))
    return models.Autoencoder(encoder, decoder, loss="bce", contractive=lam)


def jacobians(model: models.Autoencoder, images: np.ndarray) -> np.ndarray:
    """J_f(x) for each image, shape (N, 16, 784): one backward pass per code unit."""
    x = sn.Tensor(images, requires_grad=True)
    with sn.enable_grad():
        code = model.encode(x)
        rows = [sn.grad(code[:, j].sum(), x)[0].numpy().reshape(len(images), -1)
                for j in range(code.shape[1])]
    return np.stack(rows, axis=1)


probe = x_test[:N_JACOBIAN]
flat_test = x_test.reshape(len(x_test), -1)
rng = np.random.default_rng(3)
towards_neighbour, random_step = [], []
for i in range(N_JACOBIAN):
    same_class = np.flatnonzero(y_test == y_test[i])
    same_class = same_class[same_class != i]
    if same_class.size == 0:  # possible only in quick mode's tiny test set
        same_class = np.flatnonzero(np.arange(len(y_test)) != i)
    distances = ((flat_test[same_class] - flat_test[i]) ** 2).sum(axis=1)
    step = flat_test[same_class[distances.argmin()]] - flat_test[i]
    towards_neighbour.append(step / np.linalg.norm(step))
    random = rng.normal(size=784)
    random_step.append(random / np.linalg.norm(random))
towards_neighbour, random_step = np.array(towards_neighbour), np.array(random_step)

LAMBDAS = [0.0, 0.01] if QUICK else [0.0, 0.01, 0.1]
cae_results, spectra = {}, {}
for lam in LAMBDAS:
    sn.manual_seed(4)
    model = contractive_autoencoder(lam)
    started = time.perf_counter()
    train(model, EPOCHS_CAE)
    seconds = time.perf_counter() - started
    model.eval()
    norms = np.sqrt(model.jacobian_norm(sn.Tensor(probe, requires_grad=True)).numpy())
    J = jacobians(model, probe)
    spectra[lam] = np.linalg.svd(J, compute_uv=False).mean(axis=0)  # mean over digits
    along = np.linalg.norm(np.einsum("nji,ni->nj", J, towards_neighbour), axis=1)
    across = np.linalg.norm(np.einsum("nji,ni->nj", J, random_step), axis=1)
    cae_results[lam] = {
        "mse": float(((reconstruct(model, x_test) - x_test) ** 2).mean()),
        "J": float(norms.mean()), "ratio": float(np.median(along / across)),
        "seconds": seconds,
    }
    print(f"lambda = {lam:<5}: trained {EPOCHS_CAE} epochs in {seconds:.1f} s")

base = cae_results[0.0]["J"]
print(f"\n{'lambda':>7} {'test MSE':>9} {'mean ||J||_F':>13} {'vs lambda=0':>12} "
      f"{'neighbour/random':>17}")
for lam, r in cae_results.items():
    print(f"{lam:>7} {r['mse']:>9.5f} {r['J']:>13.4f} {base / r['J']:>11.1f}x "
          f"{r['ratio']:>17.2f}")
lam = LAMBDAS[1]
reduction = base / cae_results[lam]["J"]
SUMMARY[f"mean ||J||_F on {N_JACOBIAN} test digits: lambda=0 vs lambda={lam}"] = (
    f"{base:.3f} vs {cae_results[lam]['J']:.3f} ({reduction:.1f}x lower; "
    f"target >= 2x: {reduction >= 2})")
SUMMARY[f"test MSE: lambda=0 vs lambda={lam}"] = (
    f"{cae_results[0.0]['mse']:.5f} vs {cae_results[lam]['mse']:.5f}")
SUMMARY[f"sensitivity towards a neighbour / random: lambda=0 vs {lam}"] = (
    f"{cae_results[0.0]['ratio']:.2f} vs {cae_results[lam]['ratio']:.2f}")
SUMMARY["contractive training time per epoch vs lambda=0"] = (
    f"{cae_results[lam]['seconds'] / EPOCHS_CAE:.2f} vs "
    f"{cae_results[0.0]['seconds'] / EPOCHS_CAE:.2f} s")

fig, ax = plt.subplots(figsize=(6.5, 4.2))
# lambda is ordered, so its colours are too: lighter means a stronger penalty.
shades = plt.cm.viridis(np.linspace(0.0, 0.8, len(spectra)))
for shade, (lam, values) in zip(shades, spectra.items()):
    ax.plot(range(1, len(values) + 1), values, marker="o", color=shade, label=f"lambda = {lam}")
ax.set(yscale="log", xlabel="rank of the singular value (1 = largest)",
       ylabel="mean singular value of J\n(code units per unit of pixel intensity)",
       title="The penalty shrinks every direction, the trailing ones most")
ax.set_ylim(bottom=max(min(v[v > 0].min() for v in spectra.values()), 1e-6))
ax.grid(True, alpha=0.3)
ax.legend()
print("saved", viz.save_figure(fig, FIGURES / "jacobian_spectrum.png"))

# %% [markdown]
# The penalty does what it promises: the mean Jacobian norm on test digits (in the table
# above) drops with $\lambda = 0.01$, and further with $\lambda = 0.1$. It costs some
# reconstruction accuracy, more as $\lambda$ grows. The spectrum shows *how* the
# code became less sensitive. Without the penalty, all 16 singular values are sizeable, so
# the code reacts to 16 different input directions. With the penalty, every singular value
# shrinks, and the trailing ones collapse by orders of magnitude, so fewer directions still
# move the code, and fewer again with the larger $\lambda$. The neighbour/random
# ratio rises at the same time: the directions that survive point more towards other
# digits of the same class. This is the compromise Canziani & Ng describe, a code that is
# sensitive along the data and flat across it.
#
# The price in computing time is the extra backward passes. Each training step of the
# contractive model runs one backward pass per code unit, and then differentiates through
# all of them.
#
# ## Summary
#
# * A denoising autoencoder learns from (noisy, clean) pairs. With Gaussian noise of
#   standard deviation 0.5, as in the course, it lifts the PSNR of test digits well above
#   that of the raw noisy input, and of the same input clipped to $[0, 1]$ (the key
#   numbers give the decibels). It also beats a plain autoencoder fed the same noisy
#   digits.
# * The contractive penalty $\lambda \lVert J_f(x) \rVert_F^2$, computed by autodiff for any
#   encoder, matches the sigmoid layer's closed form
#   $\sum_j (h_j(1 - h_j))^2 \sum_i W_{ij}^2$ to rounding error, and finite differences for
#   a deeper encoder.
# * Training with it makes the code several times less sensitive to its input, mostly by
#   flattening it in most directions. The directions that remain lean towards neighbouring
#   digits.

# %%
SUMMARY.show(QUICK)

# %% [markdown]
# ## Exercises
#
# `exercises/07_denoising_and_contractive.py` holds three exercises: `gaussian_corrupt`,
# `denoising_loss` (which target?) and `contractive_penalty`, by hand for a sigmoid encoder,
# graded against the autodiff Jacobian. Fill them in and run `scratchnet check 07` (`--file
# my_copy.py` grades another file). Each failure says which number is wrong, what was
# expected, and gives a hint. Reference solutions are in `exercises/solutions/`.
