# %% [markdown]
# # Lesson 14: recurrent networks and backpropagation through time
#
# Convolutions suit data laid out on a grid. Text, speech, sensor readings and the strokes
# of handwriting come as **sequences**, of any length, where what matters now depends on
# what came before. A recurrent network reads such data one step at a time and keeps a
# **state** $h$ that summarises what it has read so far. The course's lecture writes it as
# a dynamical system:
#
# $$h^{(t)} = f\big(h^{(t-1)}, x^{(t)}; \theta\big).$$
#
# The same function $f$, with the same parameters $\theta$, is applied at every step. This
# is **parameter sharing across time**, the recurrent counterpart of a convolution sharing
# its kernel across positions: the network has as many weights for a sequence of 1,000
# steps as for a sequence of 10, and what it learns at one step it can use at every other.
#
# ## Three cells
#
# scratchnet's cells follow PyTorch's equations exactly (weights stored as $(\text{in},
# \text{out})$, like `nn.Dense`, and the gates side by side in PyTorch's order):
#
# * **RNN** (Elman, 1990): $h' = \tanh(x W_{ih} + b_{ih} + h W_{hh} + b_{hh})$.
# * **LSTM** (Hochreiter & Schmidhuber, 1997): four gates
#   $i, f, g, o = \mathrm{split}(x W_{ih} + b_{ih} + h W_{hh} + b_{hh})$, a memory
#   $c' = \sigma(f) \odot c + \sigma(i) \odot \tanh(g)$ and an output
#   $h' = \sigma(o) \odot \tanh(c')$.
# * **GRU** (Cho et al., 2014): a reset gate $r$ and an update gate $z$,
#   $n = \tanh(x W_{in} + b_{in} + r \odot (h W_{hn} + b_{hn}))$ and
#   $h' = (1 - z) \odot n + z \odot h$.
#
# `nn.RNNCell`, `nn.LSTMCell` and `nn.GRUCell` take one step; `nn.RNN`, `nn.LSTM` and
# `nn.GRU` run a cell over a whole batch-first sequence $(N, T, F)$ and return every
# step's $h$, $(N, T, H)$, and the final state.
#
# ## What a recurrent network maps to what
#
# The lecture lists the ways a sequence model can be wired, and this lesson builds one
# working example of each:
#
# | mapping | example in this lesson | section |
# |---|---|---|
# | many to one | an LSTM reads an MNIST digit row by row and names it | 5 |
# | many to many, with a delay | a sequence autoencoder reads 28 rows, then writes them back | 6 |
# | one to many | from a single start symbol, a character model writes a line of verse | 7 |
#
# (Many to many without a delay, one output per input as it arrives, is the character
# model of lesson 15, which predicts each next character.)
#
# First, though, the two things that make recurrent networks special to train:
# backpropagation through time, and gradients that vanish or explode over long spans.

# %%
import re

import matplotlib.pyplot as plt
import numpy as np

import scratchnet as sn
import scratchnet.functional as F
from scratchnet import datasets, models, nn, optim, viz
from scratchnet.datasets import DataLoader
from scratchnet.lesson import KeyNumbers, bundled_mnist, figure_dir, quick_mode

QUICK = quick_mode()  # `--quick` or SCRATCHNET_QUICK=1: tiny data, an epoch or two
FIGURES = figure_dir("14_recurrent_networks")
SUMMARY = KeyNumbers("Key numbers from this lesson:")

sn.manual_seed(0)
x_train, y_train, x_test, y_test = bundled_mnist(QUICK)
CLASSIFIER_EPOCHS = 1 if QUICK else 15
AUTOENCODER_EPOCHS = 1 if QUICK else 30
VERSE_EPOCHS = 2 if QUICK else 60
print(f"quick mode: {QUICK}; MNIST train {x_train.shape}, test {x_test.shape}; "
      f"figures go to {FIGURES}")

# %% [markdown]
# ## 1. The recurrence, unrolled
#
# Drawn as a graph, a recurrent network has a cycle: $h$ feeds back into the cell that
# made it. The autodiff engine never sees that cycle. Running the cell for $T$ steps
# records $T$ copies of it, each one feeding the next: the **unrolled** graph, a plain
# acyclic graph like every other in scratchnet, only long. We count its operations for
# growing $T$ (the cell is a small tanh RNN).

# %%
rnn = nn.RNN(2, 3, rng=0)
rows = []
for steps in (1, 2, 4, 8, 16, 32, 64):
    x = sn.Tensor(np.random.default_rng(0).normal(size=(1, steps, 2)), requires_grad=True)
    outputs, h_last = rnn(x)
    rows.append((steps, len(sn.autograd.iter_functions(outputs.sum()))))
print(f"{'T':>4} {'operations in the graph':>24} {'per step':>9}")
for steps, count in rows:
    print(f"{steps:>4} {count:>24} {count / steps:>9.1f}")
per_step = (rows[-1][1] - rows[-2][1]) / (rows[-1][0] - rows[-2][0])
SUMMARY["graph operations added per time step (tanh RNN)"] = f"{per_step:.0f}"

x = sn.Tensor(np.random.default_rng(0).normal(size=(1, 3, 2)), requires_grad=True)
outputs, _ = rnn(x)
fig = viz.draw_graph(outputs.sum(), title="A tanh RNN unrolled over T = 3 steps: the same "
                     "weights (left) feed every step's matmul")
print("saved", viz.save_figure(fig, FIGURES / "unrolled_graph.png"))

# %% [markdown]
# The count grows by the same number of operations at every step (the table's last
# column settles to it): one matrix product with $W_{hh}$, one addition, the tanh, and a
# reshape that files the step's $h$ into the output sequence. What is done once, whatever
# $T$, makes the early rows' per-step figure larger: one matrix product projects all $T$
# inputs at once (with both biases), one `Split` cuts the result into its $T$ steps, and
# one `Concatenate` joins the outputs. In the drawing, $W_{hh}$ (the $3 \times 3$ leaf)
# sends an arrow to every step's `MatMul`: that is parameter sharing, seen in the graph.
#
# ## 2. Backpropagation through time is `loss.backward()`
#
# Because the unrolled graph is an ordinary graph, its gradient needs nothing new. The
# name **backpropagation through time** (BPTT) describes what the engine does on it:
# starting from the loss, it walks the steps backwards, and since $W_{hh}$ was used at
# every step, its gradient is the **sum over the steps** of each step's contribution,
#
# $$\frac{\partial L}{\partial W_{hh}} = \sum_{t=1}^{T} h^{(t-1)\top}\,\delta^{(t)},
# \qquad \delta^{(t)} = \frac{\partial L}{\partial z^{(t)}},$$
#
# where $z^{(t)}$ is step $t$'s input to the tanh. No part of scratchnet implements BPTT by
# hand. We check the engine's gradient two ways: against central differences with
# `sn.gradcheck` (in float64), and against the sum above, rebuilt from the $\delta^{(t)}$
# that `retain_grad` keeps.

# %%
sn.set_default_dtype(np.float64)
small = nn.RNN(3, 4, rng=1)
cell = small.cells[0]
sequence = np.random.default_rng(2).normal(size=(2, 6, 3))
target = np.random.default_rng(3).normal(size=(2, 6, 4))


def sequence_loss(x, w_ih, w_hh, b_ih, b_hh):
    """A squared error on every step's output, with the weights passed in (for gradcheck)."""
    h = sn.Tensor(np.zeros((2, 4)))
    loss = 0.0
    for t in range(x.shape[1]):
        h = F.tanh(x[:, t] @ w_ih + b_ih + h @ w_hh + b_hh)
        loss = loss + ((h - target[:, t]) ** 2).sum()
    return loss


weights = [cell.weight_ih.numpy(), cell.weight_hh.numpy(), cell.bias_ih.numpy(),
           cell.bias_hh.numpy()]
print("gradcheck of BPTT through 6 steps, all weights and the input:",
      sn.gradcheck(sequence_loss, [sequence, *weights]))

# The same loss with the layer itself, keeping each step's pre-activation gradient.
h = sn.Tensor(np.zeros((2, 4)))
steps_in, pre_activations, loss = [], [], 0.0
for t in range(6):
    z = cell.project(sn.Tensor(sequence[:, t])) + h @ cell.weight_hh
    z.retain_grad()
    steps_in.append(h)
    pre_activations.append(z)
    h = F.tanh(z)
    loss = loss + ((h - target[:, t]) ** 2).sum()
loss.backward()
by_hand = sum(h_prev.numpy().T @ z.grad.numpy() for h_prev, z in zip(steps_in, pre_activations))
gap = np.abs(by_hand - cell.weight_hh.grad.numpy()).max()
print(f"largest gap between the engine's dL/dW_hh and the sum over steps: {gap:.1e}")
SUMMARY["BPTT: engine vs sum of per-step contributions, largest gap"] = f"{gap:.1e}"
sn.set_default_dtype(np.float32)

# %% [markdown]
# ## 3. Vanishing and exploding gradients, measured
#
# How much does the state at step $T$ still depend on the initial state? By the chain
# rule, for the tanh RNN,
#
# $$\frac{\partial h^{(T)}}{\partial h^{(0)}} = \prod_{t=1}^{T}
# \mathrm{diag}\big(1 - h^{(t)\,2}\big)\, W_{hh}^{\top},$$
#
# a product of $T$ matrices. If they shrink vectors, the product shrinks exponentially in
# $T$ and the gradient **vanishes**: nothing that happened long ago can be learned from.
# If they stretch vectors, it grows exponentially and **explodes**. Only a product that
# stays near norm 1 over many steps carries a signal across long spans, and a tanh RNN
# cannot hold that balance. The LSTM changes the path: its memory is updated by
# *addition*, $c' = \sigma(f) \odot c + \dots$, so along $c$ the Jacobian is just
# $\mathrm{diag}(\sigma(f))$. While the forget gate stays open ($\sigma(f) \approx 1$), the
# memory passes its gradient on unchanged, step after step.
#
# We measure $\lVert \partial h^{(T)} / \partial s^{(0)} \rVert$ (the Frobenius norm, with
# $s^{(0)}$ the initial state: $h^{(0)}$ for the RNN, $(h^{(0)}, c^{(0)})$ for the LSTM)
# for $T$ up to 50 with `sn.grad`, one backward pass per unit of $h^{(T)}$, on random
# inputs, for untrained networks of 32 units:
#
# * a tanh RNN whose $W_{hh}$ is a random orthogonal matrix times 0.5 (small) or 2 (large);
# * an LSTM with PyTorch's initialisation, and the same LSTM with its forget-gate biases
#   raised by 3, which opens the forget gates ($\sigma(3) \approx 0.95$). Initialising
#   the forget bias to 1 or more is standard practice for this reason (Gers et al., 2000;
#   Jozefowicz et al., 2015).

# %%
HIDDEN = 32
CHECKPOINTS = [1, 2, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50]
inputs = np.random.default_rng(1).normal(size=(CHECKPOINTS[-1], 1, 4)).astype(np.float32)


def jacobian_norms(cell: nn.Module) -> list[float]:
    """‖∂h_T/∂s_0‖ for every T in CHECKPOINTS, running the cell from a zero state."""
    h0 = sn.Tensor(np.zeros((1, HIDDEN), np.float32), requires_grad=True)
    starts = [h0]
    if isinstance(cell, nn.LSTMCell):
        starts.append(sn.Tensor(np.zeros((1, HIDDEN), np.float32), requires_grad=True))
    state = tuple(starts) if len(starts) == 2 else h0
    norms = []
    for t in range(1, CHECKPOINTS[-1] + 1):
        state = cell(inputs[t - 1], state)
        h = state[0] if isinstance(state, tuple) else state
        if t in CHECKPOINTS:
            rows = [np.concatenate([g.numpy().ravel() for g in sn.grad(h[0, k], starts)])
                    for k in range(HIDDEN)]
            norms.append(float(np.linalg.norm(np.array(rows, dtype=np.float64))))
    return norms


def orthogonal(scale: float, seed: int) -> np.ndarray:
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(HIDDEN, HIDDEN)))
    return (scale * q).astype(np.float32)


curves = {}
for label, scale in [("tanh RNN, W_hh = 0.5 x orthogonal", 0.5),
                     ("tanh RNN, W_hh = 2 x orthogonal", 2.0)]:
    rnn_cell = nn.RNNCell(4, HIDDEN, rng=0)
    rnn_cell.weight_hh.data[...] = orthogonal(scale, seed=0)
    curves[label] = jacobian_norms(rnn_cell)
for label, forget_bias in [("LSTM, PyTorch's initialisation", 0.0),
                           ("LSTM, forget-gate bias + 3", 3.0)]:
    lstm_cell = nn.LSTMCell(4, HIDDEN, rng=0)
    lstm_cell.bias_ih.data[HIDDEN:2 * HIDDEN] += forget_bias  # the f block of (i, f, g, o)
    curves[label] = jacobian_norms(lstm_cell)

print(f"{'network':<36}" + "".join(f"{'T=' + str(t):>10}" for t in (1, 10, 25, 50)))
for label, norms in curves.items():
    picked = [norms[CHECKPOINTS.index(t)] for t in (1, 10, 25, 50)]
    print(f"{label:<36}" + "".join(f"{v:>10.1e}" for v in picked))
for label, norms in curves.items():
    SUMMARY[f"||dh_T/ds_0||, T = 1 -> 50: {label}"] = f"{norms[0]:.1e} -> {norms[-1]:.1e}"

fig, ax = plt.subplots(figsize=(7.5, 4.6))
styles = {"tanh RNN, W_hh = 0.5 x orthogonal": ("tab:blue", "-"),
          "tanh RNN, W_hh = 2 x orthogonal": ("tab:blue", "--"),
          "LSTM, PyTorch's initialisation": ("tab:orange", "--"),
          "LSTM, forget-gate bias + 3": ("tab:orange", "-")}
for label, norms in curves.items():
    color, line = styles[label]
    ax.semilogy(CHECKPOINTS, norms, line, marker="o", color=color, label=label)
ax.set(xlabel="T (time steps between the initial state and h_T)",
       ylabel="||dh_T / ds_0|| (Frobenius norm, log scale)",
       title="Over 50 steps the tanh RNN's gradient vanishes or explodes;\n"
             "the LSTM with open forget gates keeps it of order 1")
ax.legend(fontsize=8)
ax.grid(True, which="both", alpha=0.3)
print("saved", viz.save_figure(fig, FIGURES / "gradient_norm_through_time.png"))

# %% [markdown]
# The table and the plot show the three behaviours. With small recurrent weights the tanh
# RNN's gradient falls by many orders of magnitude over 50 steps; with large ones it grows
# by orders of magnitude instead. The LSTM at PyTorch's initialisation forgets as well:
# its forget gates start half open, $\sigma(0) = 0.5$, and the memory's gradient is
# multiplied by about a half at every step. Open the gates and the LSTM's curve stays
# flat. That is what the LSTM offers: a path whose decay the network itself controls,
# through a gate it can learn to hold open for the units that must remember. A tanh RNN
# has no such path.
#
# ## 4. Gradient clipping
#
# Vanishing gradients need a better cell; exploding ones are tamed with a simple rule
# (Pascanu, Mikolov & Bengio, 2013). Measure the norm of *all* the gradients together,
# $\lVert g \rVert = \sqrt{\sum_p \lVert g_p \rVert^2}$, and if it exceeds a cap $m$,
# rescale every gradient by $m / \lVert g \rVert$. The step keeps its direction and loses
# only length. `optim.clip_grad_norm_(parameters, m)` does this in place and returns the
# norm before clipping; `sn.train.fit(..., clip_grad_norm=m)` does it at every step, and
# every model below trains with it.

# %%
exploding = nn.RNN(4, HIDDEN, rng=0)
exploding.cells[0].weight_hh.data[...] = orthogonal(2.0, seed=0)
long_input = np.random.default_rng(4).normal(size=(8, 50, 4)).astype(np.float32)
outputs, _ = exploding(long_input)
(outputs[:, 0] * outputs[:, -1]).sum().backward()  # ties the last step to the first
raw = [p.grad.numpy().copy() for p in exploding.parameters()]
before = optim.clip_grad_norm_(exploding.parameters(), max_norm=1.0)
after = float(np.sqrt(sum((p.grad.numpy() ** 2).sum() for p in exploding.parameters())))
flat_raw = np.concatenate([g.ravel() for g in raw])
flat_clipped = np.concatenate([p.grad.numpy().ravel() for p in exploding.parameters()])
cosine = flat_raw @ flat_clipped / (np.linalg.norm(flat_raw) * np.linalg.norm(flat_clipped))
print(f"gradient norm before clipping {before:.3g}, after {after:.3g}; cosine between the "
      f"two directions {cosine:.6f}")
SUMMARY["clipping: norm before -> after (cap 1), cosine of the directions"] = (
    f"{before:.3g} -> {after:.3g}, {cosine:.6f}")

# %% [markdown]
# ## 5. Many to one: an LSTM reads a digit row by row
#
# An MNIST image is a sequence if we say so: 28 steps, each the 28 pixels of one row, top
# to bottom. An LSTM reads the rows and, after the last, a `Dense` layer turns its final
# $h$ into ten class scores. Nothing in the network knows the rows form an image; what it
# knows about the top of the digit when it reaches the bottom, it kept in its state.

# %%
class RowReader(nn.Module):
    """Images (N, 1, 28, 28) read as 28 rows of 28 pixels -> class logits (N, 10)."""

    def __init__(self, hidden: int, rng: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(28, hidden, rng=rng)
        self.head = nn.Dense(hidden, 10, rng=rng)

    def logits_after_each_row(self, images) -> sn.Tensor:
        outputs, _ = self.lstm(images.reshape(-1, 28, 28))
        return self.head(outputs)  # (N, 28, 10): what it would answer after row t

    def forward(self, images) -> sn.Tensor:
        outputs, _ = self.lstm(images.reshape(-1, 28, 28))
        return self.head(outputs[:, -1])


reader = RowReader(hidden=128, rng=0)
optimizer = optim.Adam(reader.parameters(), lr=3e-3)
history = sn.train.fit(
    reader, lambda m, x, y: F.cross_entropy(m(x), y), optimizer,
    DataLoader(x_train, y_train, batch_size=32, rng=0), epochs=CLASSIFIER_EPOCHS,
    val_loader=DataLoader(x_test, y_test, batch_size=500, shuffle=False),
    metrics={"accuracy": lambda m, x, y: models.accuracy(m, x, y)},
    scheduler=optim.CosineLR(optimizer, t_max=CLASSIFIER_EPOCHS), clip_grad_norm=1.0)
test_accuracy = models.accuracy(reader, x_test, y_test)
print(f"test accuracy after {CLASSIFIER_EPOCHS} epochs: {test_accuracy:.2%} "
      f"({len(x_test)} test digits)")
SUMMARY["many to one: LSTM on MNIST rows, test accuracy"] = f"{test_accuracy:.2%}"

with sn.no_grad():
    per_row = reader.logits_after_each_row(x_test).numpy().argmax(axis=2)
accuracy_by_row = (per_row == y_test[:, None]).mean(axis=0)
fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
axes[0].plot(np.arange(1, 29), 100 * accuracy_by_row, marker="o", color="tab:orange")
axes[0].set(xlabel="rows read (of 28, top to bottom)", ylabel="test accuracy (%)",
            title="Answering early: accuracy if the classifier\nhad to name the digit after "
                  "row t", ylim=(0, 100))
axes[0].grid(alpha=0.3)
epochs_axis = np.arange(1, len(history["loss"]) + 1)
axes[1].plot(epochs_axis, 100 * np.array(history["val_accuracy"]), marker="o",
             color="tab:orange")
axes[1].set(xlabel="epoch", ylabel="test accuracy (%)", ylim=(0, 100),
            title="Training: test accuracy after each epoch")
axes[1].xaxis.set_major_locator(plt.MaxNLocator(integer=True))
axes[1].grid(alpha=0.3)
print("saved", viz.save_figure(fig, FIGURES / "row_reader.png"))

# %% [markdown]
# The left panel asks the trained network to answer early, applying the same `Dense`
# layer to its state after each row. Near the top the rows are blank and any answer is a
# guess (chance is 10%). But the curve does not rise steadily as the strokes arrive: in
# our runs it stayed close to chance for most of the image and climbed steeply only over
# the last rows. The network was trained to answer after the last row and nothing else,
# so it was free to keep what it had seen in whatever form suited it, and only its final
# state was shaped for the `Dense` layer to read. What the early states hold, the
# readout trained on the last one cannot tell.
#
# ## 6. Many to many, with a delay: a sequence autoencoder
#
# The course's subject is learning a code without labels. A **sequence autoencoder** (Dai
# & Le, 2015) does it with two recurrent networks: an encoder reads the 28 rows and its
# last state becomes a code of $K$ numbers; a decoder, started from the code and given
# only the code at every step, writes the 28 rows back. Nothing leaves the encoder but the
# code, so, as for PCA with $k = K$ components, the reconstruction error measures how much
# of each digit $K$ numbers can hold. We take $K = 32$ and compare the two on the test
# digits.
#
# Section 3 matters here. The encoder must remember the top of the digit through the blank
# rows at the bottom, and at PyTorch's initialisation its forget gates let that memory fade
# by about half per row. `SequenceAutoencoder` therefore starts its LSTM encoder with the
# forget-gate biases raised by 3 (`forget_bias=3.0`) and reads the code from the final $c$
# as well as $h$. (In our trials, from the default initialisation it sat for many epochs at
# the mean image, because its final state barely depends on the top rows.)

# %%
rows_train = x_train.reshape(-1, 28, 28)
rows_test = x_test.reshape(-1, 28, 28)
CODE = 32
pca = models.PCA(CODE).fit(x_train.reshape(len(x_train), -1))
print(f"PCA keeps {CODE} directions of 784 pixels: {CODE * 784:,} numbers, plus the mean")
pca_rebuilt = pca.inverse_transform(pca.transform(x_test.reshape(len(x_test), -1)))
pca_mse = float(np.mean((pca_rebuilt - x_test.reshape(len(x_test), -1)) ** 2))

autoencoder = models.SequenceAutoencoder(28, 128, CODE, rng=0)
optimizer = optim.Adam(autoencoder.parameters(), lr=3e-3)
ae_history = sn.train.fit(autoencoder, lambda m, x: m.loss(x), optimizer,
                          DataLoader(rows_train, batch_size=64, rng=0),
                          epochs=AUTOENCODER_EPOCHS,
                          scheduler=optim.CosineLR(optimizer, t_max=AUTOENCODER_EPOCHS),
                          clip_grad_norm=1.0)
with sn.no_grad():
    ae_rebuilt = autoencoder(rows_test).numpy()
ae_mse = float(np.mean((ae_rebuilt - rows_test) ** 2))
print(f"test MSE per pixel with a code of {CODE}: sequence autoencoder {ae_mse:.4f}, "
      f"PCA {pca_mse:.4f} (the autoencoder has {autoencoder.num_parameters():,} parameters, "
      f"trained {AUTOENCODER_EPOCHS} epochs on {len(x_train)} digits)")
SUMMARY[f"many to many: test MSE per pixel at code {CODE}, sequence AE / PCA"] = (
    f"{ae_mse:.4f} / {pca_mse:.4f}")
winner = "the sequence autoencoder" if ae_mse < pca_mse else "PCA"

shown = np.concatenate([x_test[:10], pca_rebuilt[:10].reshape(-1, 1, 28, 28),
                        ae_rebuilt[:10].reshape(-1, 1, 28, 28)])
fig = viz.image_grid(np.clip(shown, 0, 1), nrow=3,
                     title=f"Test digits (top), PCA with k = {CODE} (middle), sequence "
                           f"autoencoder with a code of {CODE} (bottom):\nwhich rebuilds "
                           f"the strokes more faithfully?")
print("saved", viz.save_figure(fig, FIGURES / "sequence_autoencoder.png"))
print(f"in this run, {winner} has the lower test error")

# %% [markdown]
# The printed line says which method wins in this run. Here is how to read it.
#
# * **PCA is the best *linear* code for squared error.** No linear encoder and decoder
#   with $K$ numbers can beat it (lesson 04), and it gets there in closed form, with no
#   optimisation to go wrong.
# * **The sequence autoencoder is not linear, so it *can* beat PCA**, and with enough
#   training it does. Its decoder ends in a sigmoid, so every pixel it writes lies in
#   $[0, 1]$, where PCA's reconstruction can fall below 0 or rise above 1 and smears faint
#   grey over the background (the haze around PCA's digits in the middle row); and a
#   nonlinear decoder can follow the curved set that images of digits form, where PCA has a
#   flat 32-dimensional plane. The price is an
#   optimisation problem: a network with far more parameters than PCA's $32 \times 784$
#   (both counts are printed above) must find its code from a few thousand images, with an
#   encoder that sees one row at a time. Trained for a handful of epochs, or from the
#   default initialisation, it loses to PCA.
# * **What it buys beyond the number is the form.** The same encoder reads sequences of
#   any length and the same decoder writes them, which PCA, fixed at 784 numbers, cannot.
#   Dai & Le used such autoencoders to pre-train the recurrent networks of text
#   classifiers, for which no fixed-length PCA exists.
#
# ## 7. One to many: writing from a start symbol
#
# The last mapping turns a single input into a sequence. A character-level network is
# trained to predict each next character of a text. To *generate*, it is given one
# start symbol, here the newline, draws a character from its prediction, feeds that
# character back in as the next input, and so on: one symbol in, a sequence out. We train
# a small LSTM on the first line of every sonnet (lesson 15 trains on all of them and
# studies the model properly) and let it begin a few sonnets of its own.

# %%
sonnets = datasets.load_text("sonnets")
first_lines = [re.split(r"\n", block.strip())[0] for block in re.split(r"\n\s*\n", sonnets)
               if block.strip()]
lines_text = "\n" + "\n".join(first_lines) + "\n"
vocab = datasets.CharVocab(lines_text)
ids = vocab.encode(lines_text)
print(f"{len(first_lines)} first lines, {len(ids)} characters, {len(vocab)} distinct; "
      f"for example: {first_lines[17]!r}")

poet = models.CharRNN(len(vocab), 128, embedding_dim=16, dropout=0.1, vocab=vocab, rng=0)
verse_history = sn.train.fit(poet, lambda m, x, y: m.loss(x, y),
                             optim.Adam(poet.parameters(), lr=3e-3),
                             datasets.TextLoader(ids, batch_size=8, seq_len=48),
                             epochs=VERSE_EPOCHS, clip_grad_norm=5.0)
print(f"training loss {verse_history['loss'][0] / np.log(2):.2f} -> "
      f"{verse_history['loss'][-1] / np.log(2):.2f} bits per character")
for seed in range(4):
    line = poet.sample(80, temperature=0.7, prime="", rng=seed).split("\n")[0]
    print(f"  start symbol -> {line!r}")

# %% [markdown]
# Each printed line began with nothing but the start symbol; every character after it was
# drawn by the network from its own prediction and fed back in. A few thousand characters
# of training text make a small model that mostly recombines pieces of the lines it saw.
# Lesson 15 trains the same kind of model on every line of the sonnets, compares it with n-gram
# counts and watches its samples turn from noise into English.
#
# ## Summary
#
# * A recurrent network applies one cell, with one set of weights, at every step of a
#   sequence. Running it records the unrolled graph, which grows by a fixed number of
#   operations per step.
# * Backpropagation through time is the engine's ordinary backward pass on that graph: a
#   shared weight's gradient is the sum of its contributions from every step.
# * Through a tanh RNN the gradient shrinks or grows geometrically with the distance in
#   time; the LSTM's additive memory passes it on unchanged while the forget gate is open.
#   Clipping by the global norm caps the explosions without changing the step's direction.
# * The mappings: many to one (a digit read row by row), many to many with a delay (the
#   sequence autoencoder, beside PCA at the same code size) and one to many (a line of
#   verse written from a start symbol).

# %%
SUMMARY.show(QUICK)

# %% [markdown]
# ## Exercises
#
# `exercises/14_recurrent_networks.py` holds three exercises: `rnn_forward`, a tanh RNN
# unrolled by hand (checked against `nn.RNN`, and by gradcheck through every step of your
# loop); `lstm_cell`, one LSTM step with the gates in the order i, f, g, o; and
# `clip_by_global_norm`, gradient clipping by one norm over all the arrays. Fill them in
# and run `scratchnet check 14` (`--file my_copy.py` grades another file). Each failure
# says which number is wrong, what was expected, and gives a hint. Reference solutions are
# in `exercises/solutions/`.
