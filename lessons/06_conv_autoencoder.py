# %% [markdown]
# # Lesson 06: a convolutional autoencoder with a few thousand parameters
#
# The deep autoencoder of lesson 05 begins with a 784 × 128 weight matrix: every hidden
# unit has its own weight for every pixel. Lesson 02 argued that this ignores what images
# are like. Nearby pixels belong together, and a stroke means the same thing wherever it
# appears. Veličković's lecture therefore puts convolutions into the autoencoder, and
# its encoder is a stack of convolutions, ReLUs and max pooling,
#
# $$z = \mathrm{enc}(X) = \mathrm{Pool}\Big(\mathrm{ReLU}\big(\mathrm{Conv}(\,\cdots
# \mathrm{Pool}(\mathrm{ReLU}(\mathrm{Conv}(X, K_1)))\cdots, K_3)\big)\Big).$$
#
# Decoding is the new part. The code is a small stack of $4 \times 4$ maps, and the decoder
# has to grow it back to $28 \times 28$. It uses **transposed convolutions** ("deconvolutions"):
# lesson 02 showed that the backward pass of a strided convolution spreads each value over a
# $k \times k$ patch of a larger image, and a layer that does this forwards, with learned
# kernels, upsamples. Each stride-2 transposed convolution doubles the height and width:
#
# $$\hat{X} = \mathrm{dec}(z) = \mathrm{Crop}\Big(\sigma\big(\mathrm{Deconv}(
# \mathrm{ReLU}(\mathrm{Deconv}(\mathrm{ReLU}(\mathrm{Deconv}(z, K_4)), K_5)), K_6)\big)\Big).$$
#
# ## The course's network, layer by layer
#
# `models.conv_autoencoder()` is the lecture's Keras code, in scratchnet's NCHW layers:
#
# | step | layer | output (C, H, W) |
# |---|---|---|
# | pad | ZeroPadding2D(2) | 1 × 32 × 32 |
# | encode | Conv2D 16, 3×3 "same", ReLU, MaxPool 2 | 16 × 16 × 16 |
# | | Conv2D 8, 3×3 "same", ReLU, MaxPool 2 | 8 × 8 × 8 |
# | | Conv2D 8, 3×3 "same", ReLU, MaxPool 2 | **8 × 4 × 4 (the code)** |
# | decode | ConvTranspose2D 8, 3×3, stride 2, ReLU | 8 × 8 × 8 |
# | | ConvTranspose2D 16, 3×3, stride 2, ReLU | 16 × 16 × 16 |
# | | ConvTranspose2D 1, 3×3, stride 2, sigmoid | 1 × 32 × 32 |
# | crop | Cropping2D(2) | 1 × 28 × 28 |
#
# Why pad to 32? Three halvings of 28 give 14, 7 and then 3.5, which cannot be doubled back
# to 28. Starting from 32 gives 16, 8 and 4, which double back to 32; the crop then removes
# the 2-pixel border again.
#
# A convolution with $C_\text{in}$ input channels, $C_\text{out}$ kernels of size
# $3 \times 3$ and a bias has $C_\text{out}(9\,C_\text{in} + 1)$ parameters, however large the
# image. The lecture's punch line is that this network rebuilds digits about as well as the
# deep MLP autoencoder, "with significantly fewer parameters (~3K vs. ~220K)". We count the
# parameters, then train both networks on the bundled digits and measure.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

import scratchnet as sn
from scratchnet import metrics, models, nn, optim, viz
from scratchnet.datasets import DataLoader
from scratchnet.lesson import KeyNumbers, bundled_mnist, figure_dir, quick_mode

QUICK = quick_mode()  # `--quick` or SCRATCHNET_QUICK=1: tiny data, one epoch
FIGURES = figure_dir("06_conv_autoencoder")
SUMMARY = KeyNumbers("Key numbers from this lesson (test split of the bundled MNIST subset):")

sn.manual_seed(0)
x_train, y_train, x_test, y_test = bundled_mnist(QUICK)
EPOCHS = 1 if QUICK else 25
print(f"quick mode: {QUICK}; train {x_train.shape}, test {x_test.shape}; {EPOCHS} epochs "
      f"per model; figures go to {FIGURES}")

# %% [markdown]
# ## 1. Count the parameters
#
# `summary()` runs one blank image through the model and lists every layer's output shape
# and parameter count. The pooling, padding and cropping layers have no parameters.

# %%
conv_ae = models.conv_autoencoder(rng=0)
deep_ae = models.deep_autoencoder(32, rng=0)
conv_ae.summary((1, 28, 28))
deep_ae.summary((1, 28, 28))


def conv_params(c_in: int, c_out: int, k: int = 3) -> int:
    return c_out * (c_in * k * k + 1)


by_formula = (conv_params(1, 16) + conv_params(16, 8) + conv_params(8, 8)  # encoder
              + conv_params(8, 8) + conv_params(8, 16) + conv_params(16, 1))  # decoder
n_conv, n_deep = conv_ae.num_parameters(), deep_ae.num_parameters()
print(f"conv autoencoder: {n_conv:,} parameters (by the formula C_out(9 C_in + 1): "
      f"{by_formula:,}); deep MLP autoencoder: {n_deep:,}; ratio {n_deep / n_conv:.0f}x")
SUMMARY["parameters: conv AE vs deep MLP AE (784-128-32-128-784)"] = (
    f"{n_conv:,} vs {n_deep:,} ({n_deep / n_conv:.0f}x fewer; conv < 5K: {n_conv < 5000})")

# %% [markdown]
# ### Fewer weights, more arithmetic
#
# Few parameters does not mean little computation. A convolution uses each of its weights
# at *every* position of the image. Counting multiply-adds per image: a Dense layer does
# $n_\text{in} n_\text{out}$, a convolution $H_\text{out} W_\text{out} \cdot C_\text{out}
# C_\text{in} k^2$, and a transposed convolution $H_\text{in} W_\text{in} \cdot C_\text{in}
# C_\text{out} k^2$ (each input value is spread over a $k \times k$ patch in every
# output channel).

# %%
def multiply_adds(model: models.Autoencoder) -> int:
    """Multiply-adds for one image, found by passing a blank image layer by layer."""
    x = sn.Tensor(np.zeros((1, 1, 28, 28), dtype=np.float32))
    total = 0
    with sn.no_grad():
        for layer in [*model.encoder, *model.decoder]:
            y = layer(x)
            if isinstance(layer, nn.Dense):
                total += layer.in_features * layer.out_features
            elif isinstance(layer, nn.Conv2D):
                total += y.shape[2] * y.shape[3] * layer.weight.size
            elif isinstance(layer, nn.ConvTranspose2D):
                total += x.shape[2] * x.shape[3] * layer.weight.size
            x = y
    return total


macs_conv, macs_deep = multiply_adds(conv_ae), multiply_adds(deep_ae)
print(f"multiply-adds per image: conv {macs_conv:,} ({macs_conv / n_conv:.0f} per parameter), "
      f"deep MLP {macs_deep:,} ({macs_deep / n_deep:.1f} per parameter)")
SUMMARY["multiply-adds per image: conv vs deep MLP"] = f"{macs_conv:,} vs {macs_deep:,}"

# %% [markdown]
# ## 2. Train both
#
# Both networks use the same recipe as the lecture: a sigmoid output and binary
# cross-entropy. We train each for the same number of epochs with Adam and batches of 64,
# and let the learning rate decay along a cosine to 0. Each model gets a learning rate that
# suits it. The two small networks (the conv network and the tiny MLP below) learn slowly
# at Adam's usual $10^{-3}$, so they get $10^{-2}$; the large MLPs keep $10^{-3}$.
#
# To make the comparison fair in two more ways, we add two MLPs:
#
# * the same deep MLP with a **128-number code**, the size of the conv code
#   ($8 \times 4 \times 4 = 128$);
# * an MLP with about the conv network's **parameter budget**: 784 → 2 → 784
#   (3,922 parameters), the largest plain MLP autoencoder that fits.

# %%
def train(model: models.Autoencoder, lr: float) -> tuple[sn.train.History, float]:
    optimizer = optim.Adam(model.parameters(), lr=lr)
    started = time.perf_counter()
    history = sn.train.fit(
        model, lambda m, x: m.loss(x), optimizer, DataLoader(x_train, batch_size=64, rng=1),
        epochs=EPOCHS, scheduler=optim.CosineLR(optimizer, t_max=EPOCHS),
        val_loader=DataLoader(x_test, batch_size=500, shuffle=False), progress=False,
    )
    return history, time.perf_counter() - started


def reconstruct(model: models.Autoencoder, images: np.ndarray) -> np.ndarray:
    model.eval()
    with sn.no_grad():
        return model(sn.Tensor(images)).numpy()


tiny_mlp = models.Autoencoder(
    nn.Sequential(nn.Flatten(), nn.Dense(784, 2, rng=3)),
    nn.Sequential(nn.Dense(2, 784, activation="sigmoid", rng=4), nn.Reshape((1, 28, 28))),
    loss="bce")
contenders = {
    "conv AE (course)": (conv_ae, 1e-2),
    "deep MLP AE, code 32 (course)": (deep_ae, 1e-3),
    "deep MLP AE, code 128": (models.deep_autoencoder(128, rng=1), 1e-3),
    "MLP 784-2-784 (same budget)": (tiny_mlp, 1e-2),
}
code_numbers = {"conv AE (course)": 8 * 4 * 4, "deep MLP AE, code 32 (course)": 32,
                "deep MLP AE, code 128": 128, "MLP 784-2-784 (same budget)": 2}
results, histories = {}, {}
for name, (model, lr) in contenders.items():
    histories[name], seconds = train(model, lr)
    rebuilt = reconstruct(model, x_test)
    results[name] = {
        "params": model.num_parameters(), "code": code_numbers[name],
        "mse": float(((rebuilt - x_test) ** 2).mean()), "psnr": metrics.psnr(x_test, rebuilt),
        "seconds per epoch": seconds / EPOCHS,
    }
    print(f"trained {name}: {EPOCHS} epochs in {seconds:.1f} s, test MSE "
          f"{results[name]['mse']:.5f}")

print(f"\n{'model':<30} {'params':>8} {'code':>5} {'test MSE':>9} {'PSNR dB':>8} "
      f"{'s/epoch':>8}")
for name, r in results.items():
    print(f"{name:<30} {r['params']:>8,} {r['code']:>5} {r['mse']:>9.5f} {r['psnr']:>8.2f} "
          f"{r['seconds per epoch']:>8.2f}")
conv_r, deep_r = results["conv AE (course)"], results["deep MLP AE, code 32 (course)"]
tiny_r = results["MLP 784-2-784 (same budget)"]
SUMMARY["test MSE: conv AE vs deep MLP AE (code 32)"] = (
    f"{conv_r['mse']:.5f} vs {deep_r['mse']:.5f} (ratio {conv_r['mse'] / deep_r['mse']:.2f})")
SUMMARY["test MSE: deep MLP AE with a 128-number code"] = (
    f"{results['deep MLP AE, code 128']['mse']:.5f}")
SUMMARY["test MSE: MLP with the conv AE's parameter budget"] = (
    f"{tiny_r['mse']:.5f} ({tiny_r['params']:,} params)")
SUMMARY["seconds per epoch: conv AE vs deep MLP AE"] = (
    f"{conv_r['seconds per epoch']:.2f} vs {deep_r['seconds per epoch']:.2f}")

# Colour is the architecture (conv, deep MLP, budget-matched MLP); line style the deep
# MLP's code size, so its two runs read as one family.
CURVE_STYLE = {"conv AE (course)": ("C0", "-"), "deep MLP AE, code 32 (course)": ("C1", "-"),
               "deep MLP AE, code 128": ("C1", "--"), "MLP 784-2-784 (same budget)": ("C2", "-")}
fig, ax = plt.subplots(figsize=(7.5, 4.2))
for name, history in histories.items():
    color, style = CURVE_STYLE[name]
    ax.plot(range(1, history.epochs + 1), history["val_loss"], marker="o", markersize=3,
            color=color, linestyle=style, label=name)
ax.set(xlabel="epoch", ylabel="test binary cross-entropy per pixel (nats, log scale)",
       yscale="log", title="Test loss while training: where does the deep MLP catch up\n"
                           "with the conv AE, and how far behind is the same-budget MLP?")
ax.xaxis.get_major_locator().set_params(integer=True)
ax.grid(True, alpha=0.3)
ax.legend(fontsize=9)
print("saved", viz.save_figure(fig, FIGURES / "test_loss_curves.png"))

# %% [markdown]
# How do the numbers compare with the lecture's claim? Read them in the table above. On
# our 4,000 training digits and this short budget, the conv autoencoder has come close to
# the deep MLP in full runs without quite matching it; the loss curves show where the MLP
# catches up. It gets there with a small fraction of the MLP's parameters (the params
# column). An MLP with the same parameter budget has to squeeze every digit through a
# 2-number code, and its error is several times the conv network's. Weight sharing makes
# the difference: the conv network spends its few weights on local stroke detectors that
# are reused at every position.
#
# Giving the deep MLP a code as large as the conv code (128 numbers) lowers its error
# further. The conv network's 128-number code is therefore not an unfair advantage: with
# the same code size, the MLP does better still, but needs many times the parameters.
#
# The price is arithmetic. The conv network does more multiply-adds per image than the
# much larger MLP, and our NumPy convolutions also cost more per multiply-add than one
# large matrix product, so an epoch of the conv network takes longer (the timing column).
#
# ## 3. The reconstructions
#
# One test digit of each class, rebuilt by each model.

# %%
examples = np.array([np.flatnonzero(y_test == d)[0] for d in range(10) if (y_test == d).any()])
rows = [("original", x_test[examples])]
rows += [(f"{name}: test MSE per pixel {results[name]['mse']:.4f}",
          reconstruct(model, x_test[examples]))
         for name, (model, _) in contenders.items()]
fig, axes = plt.subplots(len(rows), 1, figsize=(len(examples) * 0.9, len(rows) * 1.25))
for ax, (title, images) in zip(axes, rows):
    viz.image_grid(images, nrow=1, ax=ax)
    ax.set_title(title, fontsize=9, loc="left")
fig.suptitle("Test digits rebuilt by the conv autoencoder and the MLP autoencoders:\n"
             "which rows keep the strokes, which blur every digit into a blob?")
print("saved", viz.save_figure(fig, FIGURES / "reconstructions.png"))

# %% [markdown]
# ## 4. Inside the conv encoder
#
# The first layer's 16 feature maps (after ReLU, before pooling) for one digit, and the
# code: 8 maps of $4 \times 4$. The first layer keeps the image's layout. Most of its maps
# are copies of the digit with some edges or stroke directions brighter than others, and a
# few light up the background around the strokes. By the code, the layout has shrunk to a
# $4 \times 4$ grid of coarse regions, each described by 8 numbers. The decoder rebuilds
# the digit from these 128 numbers alone.

# %%
digit = x_test[examples[min(2, len(examples) - 1)]][None]  # a "2" in the full split
conv_ae.eval()
with sn.no_grad():
    first_maps = conv_ae.encoder[1](conv_ae.encoder[0](sn.Tensor(digit))).numpy()[0]
    code = conv_ae.encode(sn.Tensor(digit)).numpy()[0]
print(f"first-layer maps {first_maps.shape}; code {code.shape} = {code.size} numbers, "
      f"{(code > 0).mean():.0%} of them positive")

fig = plt.figure(figsize=(13, 3.3))
grid = fig.add_gridspec(1, 3, width_ratios=[1, 4, 2])
ax_digit, ax_maps, ax_code = (fig.add_subplot(grid[0, i]) for i in range(3))
ax_digit.imshow(digit[0, 0], cmap="gray", vmin=0, vmax=1)
ax_digit.set_title("input")
ax_digit.set_axis_off()
peaks = np.maximum(first_maps.max(axis=(1, 2), keepdims=True), 1e-12)
viz.image_grid((first_maps / peaks)[:, None], ncol=8, ax=ax_maps,
               title="16 first-layer maps, 32x32 (each scaled to its max)")
# One shared scale from 0 (black; the code is ReLU-then-pool, so never negative) to the
# largest code value, so the maps can be compared with each other.
viz.image_grid(code[:, None], ncol=4, ax=ax_code, value_range=(0, max(code.max(), 1e-12)),
               title="the code: 8 maps of 4x4\n(black 0, white the largest value)")
fig.suptitle("Layout kept in the first layer, coarse 4x4 regions in the code")
print("saved", viz.save_figure(fig, FIGURES / "encoder_feature_maps.png"))

# %% [markdown]
# ## Summary
#
# * The course's conv autoencoder pads 28×28 digits to 32×32, halves them three times with
#   3×3 convolutions and max pooling to an $8 \times 4 \times 4$ code, and doubles them back
#   with stride-2 transposed convolutions. It has a small fraction of the deep MLP
#   autoencoder's parameters (the key numbers give both counts).
# * Trained here for a short budget, its test error is close to the deep MLP's (the
#   key numbers say how close), and far below that of an MLP with the same parameter
#   budget. Convolutions spend
#   their weights where images need them.
# * Few parameters is not the same as cheap: every conv weight is used at every position,
#   so this network does more arithmetic per image than the MLP.

# %%
SUMMARY.show(QUICK)

# %% [markdown]
# ## Exercises
#
# `exercises/06_conv_autoencoder.py` holds two exercises: `conv_params` (the parameter count
# used in section 1) and `conv_transpose_output_size`. Fill them in and run `scratchnet
# check 06` (`--file my_copy.py` grades another file). Each failure says which number is
# wrong, what was expected, and gives a hint. Reference solutions are in
# `exercises/solutions/`.
