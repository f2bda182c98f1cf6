# %% [markdown]
# # Lesson 02: convolution, pooling and the transposed convolution
#
# The classifier of lesson 01 treats an image as a list of 784 unrelated numbers. Each
# hidden unit has its own weight for every pixel, so a 256-unit layer already costs
# $784 \times 256 \approx 200{,}000$ weights. It would also have to learn separately that a
# stroke in the top-left corner and the same stroke one pixel further right are alike.
# Veličković's lecture names the way out: *exploit spatial structure*. Nearby pixels belong
# together, and a pattern means the same thing wherever it appears.
#
# ## The convolution operator
#
# Take a small matrix of weights, the **kernel** $K$ (say $3 \times 3$). Lay it over the
# image $I$ in every possible position, and at each position write down the sum of the
# elementwise products:
#
# $$(I * K)_{xy} = \sum_{i=1}^{h} \sum_{j=1}^{w} K_{ij}\, I_{x+i-1,\; y+j-1}.$$
#
# Each output pixel looks only at an $h \times w$ patch of the input (its *receptive
# field*), and every position uses the **same** $h \cdot w$ weights. A layer with $C_\text{in}$
# input channels and $C_\text{out}$ kernels adds up over the input channels and adds a bias,
#
# $$y_{o,p,q} = b_o + \sum_{c=1}^{C_\text{in}} \sum_{i=1}^{h} \sum_{j=1}^{w} w_{o,c,i,j}\;
# x_{c,\; s(p-1)+i,\; s(q-1)+j},$$
#
# where $x$ is the input, $o$ the output channel, $(p, q)$ the output position and $s$ the
# *stride*, the step between neighbouring positions. The layer has
# $C_\text{out}(C_\text{in} h w + 1)$ parameters however large the image is. In the
# lecture's words, we start with random kernels and let the network find the best ones.
#
# **A note on the name.** In signal processing, convolution *flips* the kernel: it sums
# $K_{ij}\, I_{x-i,\, y-j}$, so the kernel's last row meets the patch's first. The lecture's
# formula above does not flip. Strictly, it is a **cross-correlation**. Deep-learning
# libraries (PyTorch, Keras, and scratchnet's `F.conv2d`) call it "convolution" anyway.
# The kernel is learned, so a flipped copy is just another kernel and nothing is lost. It
# matters only when you write a kernel by hand, as we do in section 2.
#
# **Output size.** An input of height $H$, padded with $p_\text{top}$ and
# $p_\text{bottom}$ rows of zeros and scanned by a kernel of height $k$ with stride $s$, gives
#
# $$H_\text{out} = \left\lfloor \frac{H + p_\text{top} + p_\text{bottom} - k}{s}
# \right\rfloor + 1,$$
#
# and the same for the width. Without padding ("valid") every layer shrinks the image by
# $k - 1$. "Same" padding adds just enough zeros to get $H_\text{out} = \lceil H / s \rceil$,
# so a stride-1 layer keeps the size.
#
# This lesson builds the idea up in five steps. First the lecture's worked example by hand.
# Then hand-made edge detectors on a real digit, and max pooling. Next the transposed
# convolution, which turns out to be the backward pass of a convolution. Last, a small
# convolutional network trained on MNIST, whose weights later lessons reuse.

# %%
import inspect
import time

import matplotlib.pyplot as plt
import numpy as np

import scratchnet as sn
import scratchnet.functional as F
from scratchnet import metrics, models, viz
from scratchnet.datasets import load_mnist
from scratchnet.lesson import KeyNumbers, figure_dir, quick_mode
from scratchnet.models.classifier import NOT_A_DIGIT

QUICK = quick_mode()  # `--quick` or SCRATCHNET_QUICK=1: a tiny training run
FIGURES = figure_dir("02_convolution")
SUMMARY = KeyNumbers("Key numbers from this lesson:")  # printed again at the end
print(f"quick mode: {QUICK}; figures are saved to {FIGURES}")

x_test, y_test = load_mnist("test", source="bundled")
DIGIT_INDEX = 14  # a "4": two vertical strokes and a horizontal bar
digit = x_test[DIGIT_INDEX:DIGIT_INDEX + 1].astype(np.float64)  # shape (1, 1, 28, 28)
print(f"test images {x_test.shape}; the example digit is test image {DIGIT_INDEX}, "
      f"a {y_test[DIGIT_INDEX]}")

# %% [markdown]
# ## 1. The worked example from the lecture
#
# The lecture slides convolve a $7 \times 7$ binary image with the kernel
# $K = \begin{pmatrix} 1&0&1 \\ 0&1&0 \\ 1&0&1 \end{pmatrix}$ (it adds up the centre and the
# four corners of each $3 \times 3$ patch). There are $7 - 3 + 1 = 5$ positions along each
# axis, so the result is $5 \times 5$.
#
# One entry by hand: output row 1, column 2 (counting from 1) uses the patch in rows 1–3
# and columns 2–4 of $I$:
#
# $$\begin{pmatrix} 1&1&1 \\ 0&1&1 \\ 0&0&1 \end{pmatrix} \odot
# \begin{pmatrix} 1&0&1 \\ 0&1&0 \\ 1&0&1 \end{pmatrix}
# \;\to\; 1 + 1 + 1 + 0 + 1 = 4
# \quad\text{(corners } 1, 1, 0, 1 \text{ and the centre } 1\text{)}.$$
#
# `F.conv2d` works on batches of multi-channel images, shaped (N, C, H, W), with kernels
# shaped (C_out, C_in, kh, kw). A single grey image and a single kernel therefore get two
# extra axes of size 1.

# %%
IMAGE = np.array([
    [0, 1, 1, 1, 0, 0, 0],
    [0, 0, 1, 1, 1, 0, 0],
    [0, 0, 0, 1, 1, 1, 0],
    [0, 0, 0, 1, 1, 0, 0],
    [0, 0, 1, 1, 0, 0, 0],
    [0, 1, 1, 0, 0, 0, 0],
    [1, 1, 0, 0, 0, 0, 0],
], dtype=np.float64)
KERNEL = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]], dtype=np.float64)
EXPECTED = np.array([
    [1, 4, 3, 4, 1],
    [1, 2, 4, 3, 3],
    [1, 2, 3, 4, 1],
    [1, 3, 3, 1, 1],
    [3, 3, 1, 1, 0],
], dtype=np.float64)

worked = F.conv2d(IMAGE[None, None], KERNEL[None, None]).numpy()[0, 0]
print("I * K computed by F.conv2d:")
print(worked.astype(int))
print("equal to the lecture's result:", np.array_equal(worked, EXPECTED))

by_hand = np.sum(IMAGE[0:3, 1:4] * KERNEL)  # rows 1-3, columns 2-4 in 1-based counting
print(f"entry (1, 2) by hand: sum(I[rows 1-3, cols 2-4] * K) = {by_hand:.0f}; "
      f"F.conv2d gives {worked[0, 1]:.0f}")
SUMMARY["worked example (7x7 * 3x3 -> 5x5) matches the lecture"] = str(
    np.array_equal(worked, EXPECTED))

# %% [markdown]
# ### The loop behind `F.conv2d`
#
# The formula above is a loop over output pixels, and scratchnet keeps it as one:
# `F.conv_reference.conv2d` (in `scratchnet/functional/conv_reference.py`) is that loop,
# padding and stride included, a few lines long. Read it first. `F.conv2d` computes the
# same numbers fast: it copies every window into one column of a matrix (*im2col*), so that
# the whole layer is a single matrix product with the kernels as rows, and it records the
# operation so that gradients flow through it. The tests check the two against each other;
# here is the loop, and the check on a strided, padded case with several channels.

# %%
print(inspect.getsource(F.conv_reference.conv2d))
loop_x = np.random.default_rng(1).standard_normal((2, 3, 9, 8))
loop_w = np.random.default_rng(2).standard_normal((4, 3, 3, 3))
by_loop = F.conv_reference.conv2d(loop_x, loop_w, stride=2, padding=1)
fast = F.conv2d(loop_x, loop_w, stride=2, padding=1).numpy()
loop_gap = np.abs(by_loop - fast).max()
print(f"output {fast.shape}; largest |loop - F.conv2d| = {loop_gap:.1e}")
SUMMARY["F.conv2d against the loop definition, largest difference"] = f"{loop_gap:.1e}"

# %% [markdown]
# ### Cross-correlation, not convolution
#
# A true (flipped) convolution is a cross-correlation with the kernel rotated by 180°. This
# $K$ looks the same after a half turn, so here the two agree. With a lopsided kernel they do
# not. We check this with a kernel that responds to "dark on the left, bright on the right".

# %%
lopsided = np.array([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]], dtype=np.float64)
rotated = np.flip(lopsided, axis=(0, 1))  # what a signal-processing convolution would use
print("K rotated by 180 degrees equals K:", np.array_equal(np.flip(KERNEL), KERNEL))
print("F.conv2d with a left-to-right kernel (cross-correlation):")
print(F.conv2d(IMAGE[None, None], lopsided[None, None]).numpy()[0, 0].astype(int))
print("the same kernel as a true convolution, i.e. cross-correlation with the flipped kernel:")
print(F.conv2d(IMAGE[None, None], rotated[None, None]).numpy()[0, 0].astype(int))
print("(the signs swap: each is the negative of the other)")

# %% [markdown]
# ### Stride and padding change the shape
#
# The next cell checks the output-size formula for the $7 \times 7$ example under four
# settings. With stride 2, only every second position is kept. The stride-2 valid output is
# exactly the stride-1 output sampled at rows and columns 1, 3, 5. "Same" padding with
# stride 1 puts a one-pixel border of zeros around the image, so the output stays
# $7 \times 7$. With stride 2, "same" gives $\lceil 7/2 \rceil = 4$.

# %%
def out_size(n: int, k: int, s: int, pads: tuple[int, int]) -> int:
    return (n + pads[0] + pads[1] - k) // s + 1


print(f"{'padding':>9} {'stride':>6} {'pads (top, bottom)':>19} {'formula':>8} {'F.conv2d':>9}")
for padding, stride, pads in [(0, 1, (0, 0)), ("same", 1, (1, 1)), (0, 2, (0, 0)),
                              ("same", 2, (1, 1))]:
    shape = F.conv2d(IMAGE[None, None], KERNEL[None, None], stride=stride,
                     padding=padding).shape
    print(f"{padding!s:>9} {stride:>6} {pads!s:>19} {out_size(7, 3, stride, pads):>8} "
          f"{shape[2]}x{shape[3]:<7}")

strided = F.conv2d(IMAGE[None, None], KERNEL[None, None], stride=2).numpy()[0, 0]
print("stride 2, valid:\n", strided.astype(int))
print("equals the stride-1 result at every second position:",
      np.array_equal(strided, worked[::2, ::2]))
same = F.conv2d(IMAGE[None, None], KERNEL[None, None], padding="same").numpy()[0, 0]
print("padding 'same' (the 5x5 result sits in the middle, framed by border positions):\n",
      same.astype(int))

# %%
fig, axes = plt.subplots(1, 3, figsize=(11, 3.8),
                         gridspec_kw={"width_ratios": [7, 3, 5]})
for ax, matrix, title in [(axes[0], IMAGE, "input I (7x7)"), (axes[1], KERNEL, "kernel K"),
                          (axes[2], worked, "I * K (5x5)")]:
    ax.imshow(matrix, cmap="Blues", vmin=0, vmax=max(matrix.max(), 1) * 1.4)
    for (r, c), value in np.ndenumerate(matrix):
        ax.text(c, r, f"{value:.0f}", ha="center", va="center", fontsize=11)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
# the receptive field of output (1, 2) and the output itself
axes[0].add_patch(plt.Rectangle((0.5, -0.5), 3, 3, fill=False, edgecolor="red", lw=2.5))
axes[2].add_patch(plt.Rectangle((0.5, -0.5), 1, 1, fill=False, edgecolor="red", lw=2.5))
fig.suptitle("The lecture's worked example: the red patch of I gives the red output", y=1.04)
print("saved", viz.save_figure(fig, FIGURES / "worked_example.png"))

# %% [markdown]
# ## 2. Hand-made edge detectors on a digit
#
# Before letting a network learn kernels, we write some ourselves. Each one answers a local
# question about the image:
#
# * **Sobel, x direction** $\begin{pmatrix} -1&0&1 \\ -2&0&2 \\ -1&0&1 \end{pmatrix}$: is it
#   brighter to the right than to the left? Positive on the left edge of a vertical stroke,
#   negative on its right edge.
# * **Sobel, y direction** (its transpose): brighter below than above? This one picks out
#   horizontal edges.
# * **Laplacian** $\begin{pmatrix} 0&1&0 \\ 1&-4&1 \\ 0&1&0 \end{pmatrix}$: how much does a
#   pixel differ from the average of its four neighbours? It is strongly negative in the
#   middle of a thin stroke and positive just outside it, in every direction.
#
# Stacked into a weight tensor of shape (3, 1, 3, 3), the three become one `F.conv2d` call
# with three output channels. "Same" padding keeps the maps at 28×28. The length of the
# vector of the two Sobel responses, $\sqrt{g_x^2 + g_y^2}$, measures edge strength in any
# direction.

# %%
SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64)
EDGE_KERNELS = {
    "Sobel x (vertical edges)": SOBEL_X,
    "Sobel y (horizontal edges)": SOBEL_X.T,
    "Laplacian": np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float64),
}
edge_weights = np.stack(list(EDGE_KERNELS.values()))[:, None]  # (3, 1, 3, 3)
edge_maps = F.conv2d(digit, edge_weights, padding="same").numpy()[0]  # (3, 28, 28)
gradient_size = np.hypot(edge_maps[0], edge_maps[1])

print(f"one conv2d call: input {digit.shape}, kernels {edge_weights.shape} "
      f"-> feature maps {(1, *edge_maps.shape)}")
for name, fmap in zip(EDGE_KERNELS, edge_maps):
    print(f"  {name:<27} min {fmap.min():+6.2f}, max {fmap.max():+6.2f}")
row = 10  # a row that crosses both vertical strokes of the 4
print(f"along row {row} of the digit, columns 7 to 23:")
print("  pixels          ", " ".join(f"{v:4.1f}" for v in digit[0, 0, row, 7:24]))
print("  Sobel x response", " ".join(f"{v:+4.1f}" for v in edge_maps[0, row, 7:24]))

# %%
fig, axes = plt.subplots(1, 5, figsize=(15, 3.4))
axes[0].imshow(digit[0, 0], cmap="gray", vmin=0, vmax=1)
axes[0].set_title(f"input: a {y_test[DIGIT_INDEX]}")
for ax, (name, fmap) in zip(axes[1:4], zip(EDGE_KERNELS, edge_maps)):
    limit = np.abs(fmap).max()
    ax.imshow(fmap, cmap="RdBu_r", vmin=-limit, vmax=limit)
    ax.set_title(name, fontsize=10)
axes[4].imshow(gradient_size, cmap="magma")
axes[4].set_title("edge strength sqrt(gx² + gy²)", fontsize=10)
for ax in axes:
    ax.set_xticks([])
    ax.set_yticks([])
fig.suptitle("Each hand-made kernel answers one kind of edge "
             "(red: positive response, blue: negative)")
print("saved", viz.save_figure(fig, FIGURES / "edge_detectors.png"))

# %% [markdown]
# ## 3. Pooling: keep the strongest response, forget its exact position
#
# Veličković's argument for pooling: a convolution *lights up* where it finds its feature,
# so when we shrink the image we should keep the places that lit up most. **Max pooling**
# with a $2 \times 2$ window and stride 2 replaces each non-overlapping $2 \times 2$ block by
# its maximum. That halves the height and width and has no parameters. **Average pooling**
# keeps the block's mean instead. Both use the same output-size formula as a convolution,
# with the stride equal to the window by default.
#
# First, a small case to check by eye: the top-left $4 \times 4$ corner of the worked
# example's output.

# %%
corner = worked[None, None, :4, :4]
print("4x4 input:\n", corner[0, 0].astype(int))
print("max_pool2d(kernel 2):\n", F.max_pool2d(corner, 2).numpy()[0, 0])
print("avg_pool2d(kernel 2):\n", F.avg_pool2d(corner, 2).numpy()[0, 0])

# %% [markdown]
# A CNN pools the *rectified* feature maps: convolution, then ReLU, then pooling. Below,
# the positive part of the Sobel-x map (left edges of vertical strokes) is pooled once
# (28 → 14) and twice (14 → 7).

# %%
left_edges = np.maximum(edge_maps[None, :1], 0.0)  # (1, 1, 28, 28): ReLU(Sobel x)
pooled_once = F.max_pool2d(left_edges, 2).numpy()
pooled_twice = F.max_pool2d(pooled_once, 2).numpy()
averaged = F.avg_pool2d(left_edges, 2).numpy()
print(f"feature map {left_edges.shape} -> max pool {pooled_once.shape} -> "
      f"max pool again {pooled_twice.shape}")

fig, axes = plt.subplots(1, 4, figsize=(12, 3.4))
for ax, fmap, title in [(axes[0], left_edges, "ReLU(Sobel x), 28x28"),
                        (axes[1], pooled_once, "max pool 2x2 -> 14x14"),
                        (axes[2], pooled_twice, "max pool twice -> 7x7"),
                        (axes[3], averaged, "average pool 2x2 -> 14x14")]:
    ax.imshow(fmap[0, 0], cmap="magma", vmin=0, vmax=left_edges.max())
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
fig.suptitle("Pooling keeps where the edge detector fired, at a coarser resolution")
print("saved", viz.save_figure(fig, FIGURES / "pooling.png"))

# %% [markdown]
# ### Equivariance and tolerance to small shifts
#
# Move the input one pixel to the right and a convolution's output moves one pixel to the
# right too, and is otherwise unchanged. The convolution is *equivariant* to translation,
# because the same kernel is used at every position. Pooling adds some *tolerance*: if the
# strongest response stays inside the same $2 \times 2$ window, the pooled value does not
# change at all. We measure both on a few hundred test digits, comparing each map of a
# shifted digit with the map of the original at the **same** positions,
# $\lVert g(\text{shift}(x)) - g(x) \rVert / \lVert g(x) \rVert$. A few digits touch
# the edge of their 28×28 frame, so we first give every digit a 2-pixel border of zeros
# (32×32). Then nothing is pushed out of the frame by the shift.

# %%
n_shift = 100 if QUICK else 500
batch = np.pad(x_test[:n_shift].astype(np.float64), ((0, 0), (0, 0), (2, 2), (2, 2)))
shifted = np.roll(batch, 1, axis=3)  # one pixel to the right (the border columns are empty)


def edge_features(images: np.ndarray) -> np.ndarray:
    return np.maximum(F.conv2d(images, edge_weights, padding="same").numpy(), 0.0)


fmaps, fmaps_shifted = edge_features(batch), edge_features(shifted)
equivariance = np.abs(fmaps_shifted - np.roll(fmaps, 1, axis=3)).max()
print(f"conv(shift(x)) vs shift(conv(x)): largest difference {equivariance:.1e} "
      "(equivariant)")


def relative_change(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(a))


stages = {"edge maps (32x32)": lambda m: m,
          "max pool 2 (16x16)": lambda m: F.max_pool2d(m, 2).numpy(),
          "max pool 2, twice (8x8)": lambda m: F.max_pool2d(F.max_pool2d(m, 2), 2).numpy(),
          "average pool 2 (16x16)": lambda m: F.avg_pool2d(m, 2).numpy()}
print(f"shifting {n_shift} digits one pixel to the right changes:")
for name, stage in stages.items():
    change = relative_change(stage(fmaps), stage(fmaps_shifted))
    print(f"  {name:<25} by {change:.0%}")
    SUMMARY[f"1-pixel shift changes the {name} by"] = f"{change:.0%}"

# %% [markdown]
# The edge maps of a shifted digit differ from the originals by most of their own size:
# an edge is only a pixel or two wide, and it has moved off the pixels it was on. Each pooling
# step removes part of that difference. A stack of convolutions and poolings therefore
# becomes less and less sensitive to exactly where a stroke is, while it still knows that
# the stroke is there.
#
# ## 4. Going back up: the transposed convolution is the backward pass
#
# A convolutional *decoder* (the autoencoders of later lessons, the DCGAN generator) has to
# turn a small feature map back into an image, the opposite direction of a convolution.
# The lecture points out that *the backpropagation update of a convolutional layer is itself
# a convolution*. Here is why.
#
# For a fixed kernel $w$, the convolution is **linear** in its input: $y = C_w\, x$ for a
# large, sparse matrix $C_w$, with one row per output pixel and one column per input pixel.
# Backpropagation through a linear map multiplies the upstream gradient by the transposed
# matrix, $\bar x = C_w^\top\, \bar y$. That operation is the **transposed convolution**,
# `F.conv_transpose2d(y, w)`. Each input pixel *stamps* a copy of the kernel, scaled by its
# value, onto the output, and overlapping stamps add up (the loop
# `F.conv_reference.conv_transpose2d` does exactly that). It maps the output's shape back to
# the input's shape, and it is the **adjoint** of the convolution:
#
# $$\langle C_w x, y \rangle = \langle x, C_w^\top y \rangle
# \qquad\text{for all } x, y,$$
#
# so the gradient of $\mathcal L = \langle \mathrm{conv2d}(x, w), y \rangle$ with respect to
# $x$ is exactly $\mathrm{conv\_transpose2d}(y, w)$. scratchnet builds `conv2d`'s backward
# this way (see the docstring of `scratchnet/functional/conv.py`). We check it in float64
# with a strided, padded convolution with several channels.

# %%
rng = np.random.default_rng(0)
STRIDE, PAD = 2, 1
x = sn.Tensor(rng.standard_normal((2, 3, 8, 8)), requires_grad=True)
w = rng.standard_normal((4, 3, 3, 3))  # (C_out, C_in, kh, kw)
y_shape = F.conv2d(x, w, stride=STRIDE, padding=PAD).shape
y = rng.standard_normal(y_shape)

loss = (F.conv2d(x, w, stride=STRIDE, padding=PAD) * y).sum()  # <conv2d(x, w), y>
(grad_x,) = sn.grad(loss, x)
transposed = F.conv_transpose2d(y, w, stride=STRIDE, padding=PAD, output_padding=1)
backward_gap = np.abs(grad_x.numpy() - transposed.numpy()).max()
print(f"x {x.shape} -> conv2d(x, w) {y_shape}; conv_transpose2d(y, w) -> {transposed.shape}")
print(f"largest |sn.grad(<conv2d(x, w), y>, x) - conv_transpose2d(y, w)| = {backward_gap:.1e}")

lhs = float(loss.item())
rhs = float(np.sum(x.numpy() * transposed.numpy()))
print(f"adjoint identity: <conv2d(x, w), y> = {lhs:.12f}")
print(f"                  <x, conv_transpose2d(y, w)> = {rhs:.12f}   "
      f"difference {abs(lhs - rhs):.1e}")
SUMMARY["|grad of <conv2d(x,w), y> - conv_transpose2d(y, w)|"] = f"{backward_gap:.1e}"
SUMMARY["adjoint identity, |difference|"] = f"{abs(lhs - rhs):.1e}"

# %% [markdown]
# `output_padding=1` needs a word of explanation. With stride 2, inputs of height 7 and 8
# both give a 4-row output, since $\lfloor (7 + 2 - 3)/2 \rfloor + 1 =
# \lfloor (8 + 2 - 3)/2 \rfloor + 1 = 4$. Going back, the transposed convolution has to be
# told which of the two sizes to produce. By default it gives
# $(H_\text{out} - 1)\,s - p_\text{top} - p_\text{bottom} + k = 7$, and `output_padding=1`
# adds the missing row.
#
# ### The matrix $C_w$ made visible
#
# For a $4 \times 4$ image and a $3 \times 3$ kernel (weights 1 to 9, so we can see where
# each goes) the output is $2 \times 2$, and $C_w$ is a $4 \times 16$ matrix. We read it off
# by convolving the 16 one-hot images: column $j$ of $C_w$ is `conv2d(e_j, w)`. In the same
# way we read off the matrix of `conv_transpose2d` from the 4 one-hot outputs and check
# that it is $C_w^\top$ (after Dumoulin & Visin, "A guide to convolution arithmetic for
# deep learning", 2016).

# %%
w_small = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
C = F.conv2d(np.eye(16).reshape(16, 1, 4, 4), w_small).numpy().reshape(16, 4).T  # (4, 16)
T = F.conv_transpose2d(np.eye(4).reshape(4, 1, 2, 2), w_small).numpy().reshape(4, 16).T
print(f"C_w has shape {C.shape}; the matrix of conv_transpose2d has shape {T.shape}; "
      f"equal to C_w transposed: {np.array_equal(T, C.T)}")
print("row 1 of C_w (output pixel (1, 1)) as a 4x4 image: the kernel in the top-left corner")
print(C[0].reshape(4, 4).astype(int))

fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [16, 5]})
for ax, matrix, title in [(axes[0], C, "C_w: conv2d as a 4x16 matrix"),
                          (axes[1], T, "conv_transpose2d as a matrix = C_w^T")]:
    ax.imshow(matrix, cmap="Blues", vmin=0, vmax=12)
    for (r, c), value in np.ndenumerate(matrix):
        if value:
            ax.text(c, r, f"{value:.0f}", ha="center", va="center", fontsize=9)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("input pixel (4x4 image, row by row)" if matrix is C
                  else "input pixel (2x2 map)")
    ax.set_ylabel("output pixel")
    ax.set_xticks(range(matrix.shape[1]))
    ax.set_yticks(range(matrix.shape[0]))
fig.suptitle("The same nine weights, shifted along each row: conv2d is a sparse matrix,\n"
             "and its transpose is conv_transpose2d", y=1.08)
print("saved", viz.save_figure(fig, FIGURES / "convolution_as_matrix.png"))

# %% [markdown]
# ### "Itself a convolution", literally
#
# $C_w^\top$ is again a convolution. Spread the entries of $y$ apart by inserting $s - 1$
# zeros between neighbours, pad the result with $k - 1 - p$ zeros (plus the
# `output_padding` at the bottom and right), and cross-correlate it with the kernel **rotated
# by 180°**, with its input and output channels swapped. For stride 1 no zeros are
# inserted, and this is a plain "full" convolution with the flipped kernel.

# %%
def transpose_by_conv2d(y: np.ndarray, w: np.ndarray, stride: int, pad: int,
                        output_padding: int) -> np.ndarray:
    """conv_transpose2d(y, w) written as an ordinary conv2d."""
    n, c, h, wd = y.shape
    spread = np.zeros((n, c, (h - 1) * stride + 1, (wd - 1) * stride + 1))
    spread[:, :, ::stride, ::stride] = y  # s - 1 zeros between neighbouring entries
    k = w.shape[2]
    before, after = k - 1 - pad, k - 1 - pad + output_padding
    flipped = np.flip(w, axis=(2, 3)).transpose(1, 0, 2, 3)  # rotate 180°, swap channels
    return F.conv2d(spread, flipped, padding=((before, after), (before, after))).numpy()


as_conv = transpose_by_conv2d(y, w, STRIDE, PAD, 1)
print(f"stride {STRIDE}: largest |conv_transpose2d - conv2d(spread y, flipped w)| = "
      f"{np.abs(as_conv - transposed.numpy()).max():.1e}")
y_stride1 = rng.standard_normal((2, 4, 6, 6))
stride1_gap = np.abs(transpose_by_conv2d(y_stride1, w, 1, 0, 0)
                     - F.conv_transpose2d(y_stride1, w).numpy()).max()
print(f"stride 1: largest |conv_transpose2d - conv2d(y, flipped w, padding=k-1)| = "
      f"{stride1_gap:.1e}")

# %% [markdown]
# ### Upsampling with a stride
#
# With stride $s$ the stamps are placed $s$ pixels apart, so a transposed convolution
# *enlarges* its input about $s$ times:
#
# $$H_\text{out} = (H - 1)\,s - p_\text{top} - p_\text{bottom} + k + \text{output\_padding}.$$
#
# The cell below checks the shapes for a $4 \times 4$ map and stride 2. It then pushes a
# constant map through three fixed kernels. A $2 \times 2$ kernel of ones does nearest-
# neighbour upsampling, since the stamps just tile the output. A $3 \times 3$ kernel of ones
# overlaps its neighbours on every second row and column, so even a constant input comes
# out as a grid pattern. These are the *checkerboard artifacts* of Odena et al. (2016), and
# trained decoders have to learn to avoid them. A "tent" kernel (bilinear interpolation)
# overlaps in just the right proportions and gives a flat result away from the border.

# %%
small = np.ones((1, 1, 4, 4))
print(f"{'kernel':>6} {'padding':>8} {'output_padding':>14} {'formula':>8} {'output':>7}")
for k, padding, extra in [(2, 0, 0), (3, 0, 0), (3, 1, 0), (3, 1, 1), (3, "same", 0),
                          (4, 1, 0)]:
    out = F.conv_transpose2d(small, np.ones((1, 1, k, k)), stride=2, padding=padding,
                             output_padding=extra)
    formula = 4 * 2 if padding == "same" else (4 - 1) * 2 - 2 * padding + k + extra
    print(f"{k}x{k:<4} {padding!s:>8} {extra:>14} {formula:>8} "
          f"{out.shape[2]}x{out.shape[3]:<5}")

tent = np.outer([0.5, 1.0, 0.5], [0.5, 1.0, 0.5])
upsampled = {
    "2x2 ones (nearest neighbour)": F.conv_transpose2d(small, np.ones((1, 1, 2, 2)), stride=2),
    "3x3 ones (checkerboard)": F.conv_transpose2d(small, np.ones((1, 1, 3, 3)), stride=2,
                                                  padding=1, output_padding=1),
    "3x3 tent (bilinear)": F.conv_transpose2d(small, tent[None, None], stride=2, padding=1,
                                              output_padding=1),
}
for name, out in upsampled.items():
    print(f"{name}: 4x4 ones -> {out.shape[2]}x{out.shape[3]}, first two rows:")
    print("   ", out.numpy()[0, 0, :2].tolist())

nearest = upsampled["2x2 ones (nearest neighbour)"].numpy()[0, 0]
print("2x2 ones equals np.kron(map, ones(2, 2)):",
      np.array_equal(nearest, np.kron(small[0, 0], np.ones((2, 2)))))

# %%
coarse = F.avg_pool2d(digit, 2).numpy()  # the digit shrunk to 14x14
fig, axes = plt.subplots(2, 4, figsize=(13, 6.8))
top_row = [("input: 4x4 ones", small[0, 0])] + [
    (f"{name}\n-> {out.shape[2]}x{out.shape[3]}", out.numpy()[0, 0])
    for name, out in upsampled.items()]
for ax, (title, values) in zip(axes[0], top_row):
    ax.imshow(values, cmap="Blues", vmin=0, vmax=6)
    for (r, c), value in np.ndenumerate(values):
        ax.text(c, r, f"{value:g}", ha="center", va="center", fontsize=7)
    ax.set_title(title, fontsize=10)
axes[1, 0].imshow(coarse[0, 0], cmap="gray", vmin=0)
axes[1, 0].set_title("input: the digit, average-pooled to 14x14", fontsize=10)
for column in range(1, 4):
    kernel = {1: np.ones((2, 2)), 2: np.ones((3, 3)), 3: tent}[column]
    extra = {"padding": 1, "output_padding": 1} if column > 1 else {}
    big = F.conv_transpose2d(coarse, kernel[None, None], stride=2, **extra).numpy()
    axes[1, column].imshow(big[0, 0], cmap="gray", vmin=0)
    axes[1, column].set_title(f"14x14 -> {big.shape[2]}x{big.shape[3]}", fontsize=10)
for ax in axes.ravel():
    ax.set_xticks([])
    ax.set_yticks([])
fig.suptitle("Transposed convolution with stride 2 stamps the kernel every 2 pixels")
print("saved", viz.save_figure(fig, FIGURES / "transposed_upsampling.png"))

# %% [markdown]
# ## 5. A small convolutional network for MNIST
#
# Now we let the kernels be learned. The network follows the lecture's recipe
# "Conv-Pool-Conv-Pool-Dense", with the rule of thumb of more channels as the maps get
# smaller:
#
# $$28{\times}28{\times}1 \xrightarrow{\text{conv } 3\times3,\ \text{ReLU}} 28{\times}28{\times}16
# \xrightarrow{\text{max pool}} 14{\times}14{\times}16
# \xrightarrow{\text{conv } 3\times3,\ \text{ReLU}} 14{\times}14{\times}32
# \xrightarrow{\text{max pool}} 7{\times}7{\times}32 \xrightarrow{\text{dense}} 11 \text{ logits}.$$
#
# Ten logits are the digits. The eleventh, class 10 (`NOT_A_DIGIT`), means "this is no
# digit at all". The GAN lessons use this network to judge generated images, and a
# classifier that knows only the ten digits has to call *everything* one of them: trained
# without that extra class, it was almost certain that pure noise is an 8.
#
# The parameter counts follow from $C_\text{out}(C_\text{in} k^2 + 1)$: $16 \cdot 10 = 160$
# for the first convolution, $32 \cdot (16 \cdot 9 + 1) = 4640$ for the second, and
# $1568 \cdot 11 + 11 = 17{,}259$ for the dense layer. That makes 22,059 in all, about 12
# times fewer than the MLP of lesson 01.

# %%
sn.manual_seed(0)
model = models.mnist_cnn(rng=0)
initial_kernels = model[0].weight.numpy().copy()  # to compare with after training
model.summary((1, 28, 28))
n_params = sum(p.size for p in model.parameters())
mlp_params = 784 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10
print(f"{n_params:,} parameters (the MLP of lesson 01: {mlp_params:,}, "
      f"{mlp_params / n_params:.0f}x more)")

# %% [markdown]
# `models.train_mnist_cnn` trains it with cross-entropy and Adam (learning rate
# $2 \cdot 10^{-3}$, decayed along a cosine). Each training batch is shifted at random by
# up to 2 pixels, a cheap way to show the network more variety than the 4,000 bundled
# training digits hold. Each batch of 64 digits also gets 16 images that are clearly no
# digit, labelled 10, from `models.classifier.not_digit_images`: uniform and Gaussian
# noise, blank, white and grey images, smooth blobs, and digits cut into tiles that are put
# back in a random order. After every epoch it measures the accuracy on the 1,000 bundled
# test digits. We ask for the bundled split explicitly (`source="bundled"`), so the result
# is the same on every machine; with the full MNIST downloaded, the default would train on
# all 60,000 digits and take much longer. The full run is 15 epochs. Quick mode trains for
# one epoch on 300 digits, just to exercise the code.

# %%
train_options = {"epochs": 1, "train_size": 300} if QUICK else {}
start = time.perf_counter()
history = models.train_mnist_cnn(model, source="bundled", progress=not QUICK, **train_options)
train_seconds = time.perf_counter() - start
model.eval()
test_accuracy = models.accuracy(model, x_test, y_test)
print(f"trained for {history.epochs} epoch(s) in {train_seconds:.1f} s")
for epoch, (train_loss, val_accuracy) in enumerate(zip(history["loss"],
                                                       history["val_accuracy"]), start=1):
    print(f"  epoch {epoch:2d}: training loss {train_loss:.4f}, test accuracy {val_accuracy:.2%}")
print(f"test accuracy on the bundled split: {test_accuracy:.2%} "
      f"({round((1 - test_accuracy) * len(y_test))} of {len(y_test)} digits wrong)")
SUMMARY["CNN parameters"] = f"{n_params:,}"
SUMMARY["CNN training time"] = f"{train_seconds:.1f} s ({history.epochs} epoch(s))"
SUMMARY["CNN test accuracy (bundled split)"] = f"{test_accuracy:.2%}"

# %% [markdown]
# ### What did the first layer learn?
#
# The lecture observes that the first layer's kernels almost always become *edge
# detectors*. Below are the 16 kernels before and after training (red: positive weight,
# blue: negative), and their ReLU responses to our digit. Compare them with the hand-made
# kernels of section 2.
#
# Two measurements make "looks like an edge detector" concrete. The first is how far
# training moved the kernels, $\lVert W_\text{end} - W_\text{start} \rVert /
# \lVert W_\text{start} \rVert$. The second is how close each kernel (minus its mean) comes
# to one of the eight Sobel-like *compass* kernels (the Sobel x and y kernels, their
# diagonal versions, and the negatives of all four). Closeness is the cosine similarity,
# which is 1 for a perfect match.

# %%
S_DIAGONAL = np.array([[0, 1, 2], [-1, 0, 1], [-2, -1, 0]], dtype=np.float64)
COMPASS = [SOBEL_X, SOBEL_X.T, S_DIAGONAL, np.fliplr(S_DIAGONAL)]
COMPASS += [-k for k in COMPASS]


def compass_similarity(kernels: np.ndarray) -> np.ndarray:
    """For each (1, 3, 3) kernel: the best cosine similarity with a compass kernel."""
    best = []
    for kernel in kernels[:, 0].astype(np.float64):
        centred = kernel - kernel.mean()
        best.append(max(np.sum(centred * c) / (np.linalg.norm(centred) * np.linalg.norm(c))
                        for c in COMPASS))
    return np.array(best)


trained_kernels = model[0].weight.numpy()
moved = np.linalg.norm(trained_kernels - initial_kernels) / np.linalg.norm(initial_kernels)
before, after = compass_similarity(initial_kernels), compass_similarity(trained_kernels)
print(f"training moved the first-layer kernels by {moved:.0%} of their size")
print(f"best similarity to a compass (Sobel-like) kernel, mean over the 16 kernels: "
      f"{before.mean():.2f} at initialisation -> {after.mean():.2f} after training")
print(f"kernels with similarity >= 0.7: {(before >= 0.7).sum()} -> {(after >= 0.7).sum()}")
SUMMARY["first-layer kernels: change, compass similarity before -> after"] = (
    f"{moved:.0%}, {before.mean():.2f} -> {after.mean():.2f}")

fig, axes = plt.subplots(2, 1, figsize=(7, 4.4))
viz.plot_filters(initial_kernels, ncol=8,
                 title="first-layer kernels at initialisation (red: positive, blue: negative)",
                 ax=axes[0])
viz.plot_filters(trained_kernels, ncol=8,
                 title=f"after training ({history.epochs} epoch(s)): moved by {moved:.0%} "
                       "of their size; compare kernel by kernel", ax=axes[1])
print("saved", viz.save_figure(fig, FIGURES / "cnn_first_layer_kernels.png"))

with sn.no_grad():
    first_maps = model[0](sn.Tensor(digit.astype(np.float32))).numpy()[0]  # (16, 28, 28)
peaks = first_maps.max(axis=(1, 2), keepdims=True)
fig = viz.image_grid((first_maps / np.maximum(peaks, 1e-12))[:, None], ncol=8,
                     title=f"first-layer responses (after ReLU) to the {y_test[DIGIT_INDEX]}: "
                           "some copy the whole stroke,\nothers only some edges "
                           "(each map scaled to its own maximum)")
print("saved", viz.save_figure(fig, FIGURES / "cnn_first_layer_responses.png"))

# %% [markdown]
# The responses show two kinds of unit. Some respond to the whole stroke, giving a slightly
# blurred copy of the digit. Others respond only to some edges, such as one side of each
# stroke or just the vertical strokes. The kernels are **not** neat Sobel kernels, though,
# and they are not very different from where they started: the figure's title says how far
# training moved them, and their resemblance to the compass kernels rises only a little.
# A random $3 \times 3$ kernel with weights of both signs already compares each pixel with
# its neighbours, so it is a rough edge detector from the start, and the later layers can
# learn to use it as it is. The crisp, oriented edge
# detectors usually shown as a first layer come from larger kernels in bigger networks,
# trained far longer on many more images.

# %% [markdown]
# ### Where does it go wrong?
#
# The grid shows the test digits the network gets wrong (up to 32 of them), each with its
# true label, the network's guess and the probability it gives that guess.

# %%
with sn.no_grad():
    probabilities = F.softmax(model(sn.Tensor(x_test))).numpy()
predicted = probabilities.argmax(axis=1)
wrong = np.flatnonzero(predicted != y_test)
print(f"{wrong.size} misclassified test digits; first few (true -> predicted): "
      + ", ".join(f"{y_test[i]}->{predicted[i]}" for i in wrong[:10]))

shown = wrong[:32]
ncol = 8
nrow = max(1, -(-shown.size // ncol))
fig, axes = plt.subplots(nrow, ncol, figsize=(1.6 * ncol, 1.9 * nrow), squeeze=False)
for ax in axes.ravel():
    ax.axis("off")
for ax, i in zip(axes.ravel(), shown):
    ax.imshow(x_test[i, 0], cmap="gray", vmin=0, vmax=1)
    guess = "no digit" if predicted[i] == NOT_A_DIGIT else predicted[i]
    ax.set_title(f"{y_test[i]} -> {guess} ({probabilities[i, predicted[i]]:.0%})",
                 fontsize=9, color="crimson")
fig.suptitle(f"Misclassified test digits: true -> predicted (confidence); "
             f"{wrong.size} of {len(y_test)} wrong")
print("saved", viz.save_figure(fig, FIGURES / "cnn_misclassified.png"))

# %% [markdown]
# ### Images that are no digit
#
# `metrics.classifier_score` is how the GAN lessons judge their samples with this network.
# It counts an image as *confident* when the largest probability is above 0.9 and belongs
# to a digit, and as *rejected* when the top class is "not a digit". Below, the test digits
# are compared with fresh draws of the kinds of image the reject class was trained on:
# uniform noise, blank images and grey images at several levels. After the full run the
# digits should be confident and almost never rejected, and the other rows the reverse.

# %%
noise_rng = np.random.default_rng(1)
no_digits = {
    "test digits": x_test,
    "uniform noise": noise_rng.random((500, 1, 28, 28)).astype(np.float32),
    "blank (all 0)": np.zeros((10, 1, 28, 28), np.float32),
    "grey, levels 0.1 to 0.9": np.repeat(np.linspace(0.1, 0.9, 9, dtype=np.float32),
                                         28 * 28).reshape(9, 1, 28, 28),
}
print(f"{'images':>24}  confident  rejected")
for name, images in no_digits.items():
    score = metrics.classifier_score(images, classifier=model)
    print(f"{name:>24}  {score['confident']:9.1%}  {score['rejected']:8.1%}")
    if name != "test digits":
        SUMMARY[f"{name}: confident, rejected"] = (f"{score['confident']:.1%}, "
                                                   f"{score['rejected']:.1%}")

# %% [markdown]
# ### Keep the trained weights
#
# The GAN lessons score their generated digits with this classifier. They load it with
# `models.mnist_classifier()`, which reads the weights cached at
# `models.default_classifier_path()` (in the data home) and trains them only when
# the file is missing. The full run of this lesson writes that cache. A quick run trains a
# much weaker model, so it saves to the figure folder instead and leaves the cache alone.
# Either way, we load the file into a fresh network and check that it gives the same
# accuracy.

# %%
# Quick mode's weak model must not overwrite the cache that later lessons load.
weights_path = FIGURES / "mnist_cnn_quick.npz" if QUICK else models.default_classifier_path()
sn.save(model, weights_path, test_accuracy=test_accuracy, epochs=history.epochs)
print(f"saved the weights to {weights_path}")
reloaded = models.mnist_cnn(rng=1)  # different random weights, then overwritten by load
metadata = sn.load(reloaded, weights_path)
reloaded.eval()
reloaded_accuracy = models.accuracy(reloaded, x_test, y_test)
print(f"reloaded: test accuracy {reloaded_accuracy:.2%} (saved with metadata "
      f"test_accuracy={metadata['test_accuracy']:.4f}, epochs={metadata['epochs']})")
if not QUICK:
    cached = models.mnist_classifier()  # finds the file: loads, does not retrain
    print(f"models.mnist_classifier() loads it: test accuracy "
          f"{models.accuracy(cached, x_test, y_test):.2%}")

# %% [markdown]
# ## Summary
#
# * A convolution slides one small kernel over the whole image: local receptive fields and
#   shared weights. Deep learning's "convolution" is a cross-correlation (no flip). The
#   output size is $\lfloor (H + p_\text{top} + p_\text{bottom} - k)/s \rfloor + 1$, and
#   "same" padding gives $\lceil H/s \rceil$.
# * Hand-made kernels already find edges. Sobel kernels respond to intensity changes in one
#   direction, and the Laplacian to thin strokes.
# * Convolution is translation-equivariant. Max pooling keeps the strongest response in each
#   window and makes the features tolerant to small shifts.
# * For a fixed kernel a convolution is a linear map $C_w$. Its backward pass
#   $C_w^\top$ is the transposed convolution, which is itself a convolution with the
#   rotated kernel over a spread-out input. With a stride it upsamples, which is what
#   decoders and GAN generators use it for.
# * A small Conv-Pool-Conv-Pool-Dense network, trained briefly on 4,000 digits,
#   gets nearly all of the bundled test digits right (the key numbers give its size, the
#   accuracy and the training time). An eleventh output, trained on noise, blank and grey
#   images, lets it answer "not a digit" instead of naming a digit for any input. Its
#   first-layer kernels act as rough stroke and edge detectors, though they stay close to
#   their random start. Later lessons load its cached weights with
#   `models.mnist_classifier()`.

# %%
SUMMARY.show(QUICK)

# %% [markdown]
# ## Exercises
#
# `exercises/02_convolution.py` holds three exercises: `conv_output_size`,
# `cross_correlate2d` (a valid cross-correlation with loops or slices) and `max_pool2d`.
# Fill them in and run `scratchnet check 02` (`--file my_copy.py` grades another file). Each
# failure says which number is wrong, what was expected, and gives a hint. Reference
# solutions are in `exercises/solutions/`.
