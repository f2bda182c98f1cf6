# %% [markdown]
# # Lesson 01: a digit classifier, and why the first weights matter
#
# Before any unsupervised model, we need the pieces every model is built from: layers that
# hold weights (`nn.Dense`), an optimizer that moves them (`optim.SGD`), data in
# minibatches (`datasets.DataLoader`) and a loop that puts them together (`sn.train.fit`).
# This lesson assembles them into a multilayer perceptron that reads MNIST digits,
#
# $$x \in [0, 1]^{784} \;\to\; h_1 = \tanh(x W_1 + b_1) \;\to\; h_2 = \tanh(h_1 W_2 + b_2)
# \;\to\; \text{softmax}(h_2 W_3 + b_3) \in \Delta^{9},$$
#
# trained by minimising the cross-entropy $-\log p_\theta(y \mid x)$ of the true label.
#
# ## The question: where should the weights start?
#
# Veličković's lecture asks it bluntly: what happens to the error gradients if every weight
# starts at **zero**, or is drawn with a **huge variance**? Think about one unit,
# $a = \sum_{i=1}^{n} w_i x_i$, with independent zero-mean weights of variance $v$:
#
# $$\operatorname{Var}(a) \approx n \, v \, \mathbb{E}[x_i^2].$$
#
# * $v = 0$: every unit of a layer computes the same number and receives the same
#   gradient, so they stay identical forever. Worse, with $\tanh$ the hidden units output 0,
#   so the weights after them get no gradient at all.
# * $v$ large: $|a|$ is large, $\tanh(a)$ is stuck at $\pm 1$ where its slope
#   $1 - \tanh^2(a)$ is nearly 0, and the gradient flowing back through the unit vanishes.
# * Glorot & Bengio (2010) pick $v = 2 / (n_\text{in} + n_\text{out})$ so the signal keeps
#   roughly the same spread going forwards *and* backwards.
#
# We train the same network three times, changing only the initialiser, and measure.

# %%
import matplotlib.pyplot as plt
import numpy as np

import scratchnet as sn
import scratchnet.functional as F
from scratchnet import nn, optim, viz
from scratchnet.datasets import DataLoader, load_mnist
from scratchnet.lesson import SMOKE_RUN_HEADER, figure_dir, quick_mode

QUICK = quick_mode()
FIGURES = figure_dir("01_mlp_and_initialisation")

sn.manual_seed(0)
x_train, y_train = load_mnist("train")
x_test, y_test = load_mnist("test")
if QUICK:
    x_train, y_train, x_test, y_test = x_train[:600], y_train[:600], x_test[:200], y_test[:200]
EPOCHS = 2 if QUICK else 15
print(f"train {x_train.shape}, test {x_test.shape}, pixel range "
      f"[{x_train.min():.0f}, {x_train.max():.0f}], {EPOCHS} epochs per run")

# %% [markdown]
# ## The three initialisers
#
# `nn.Dense` takes `init=` by name or as a function `(shape, fan_in, fan_out, rng) -> array`.
# For the first layer ($n_\text{in} = 784$, $n_\text{out} = 256$) Glorot's standard
# deviation is $\sqrt{2 / 1040} \approx 0.044$; "huge" is $\mathcal{N}(0, 1)$, about
# 23 times larger.

# %%
INITIALISERS = {
    "zeros": "zeros",
    "huge variance N(0, 1)": nn.init.normal(1.0),
    "Glorot uniform": "glorot_uniform",
}


def make_mlp(init) -> nn.Module:
    return nn.Sequential(
        nn.Flatten(),
        nn.Dense(784, 256, activation="tanh", init=init),
        nn.Dense(256, 256, activation="tanh", init=init),
        nn.Dense(256, 10, init=init),
    )


make_mlp("glorot_uniform").summary((1, 28, 28))

# %% [markdown]
# ## Look before training: how healthy is the signal at step 0?
#
# For each initialiser we push one batch through the untrained network and measure, for the
# second hidden layer $h_2$: its spread, the fraction of saturated units ($|h| > 0.99$) and
# the mean slope $1 - h^2$ of its tanh (the factor by which a unit passes gradient back).
# For the first layer we measure how big the gradient is *relative to the weights*,
# $\lVert \nabla W_1 \rVert / \lVert W_1 \rVert$: the fraction by which one SGD step of
# size 1 would change them.

# %%
def signal_report(model: nn.Module, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    hidden = model[2](model[1](model[0](sn.Tensor(x)))).numpy()
    loss = F.cross_entropy(model(sn.Tensor(x)), y)
    model.zero_grad()
    loss.backward()
    grad_w1 = np.linalg.norm(model[1].weight.grad.numpy())
    size_w1 = np.linalg.norm(model[1].weight.numpy())
    return {
        "std of h2": float(hidden.std()),
        "saturated": float((np.abs(hidden) > 0.99).mean()),
        "mean slope": float((1 - hidden**2).mean()),
        "|grad W1|/|W1|": float(grad_w1 / size_w1) if size_w1 > 0 else 0.0,
        "initial loss": float(loss.item()),
    }


batch_x, batch_y = x_train[:256], y_train[:256]
at_start = {}
for name, init in INITIALISERS.items():
    sn.manual_seed(1)
    at_start[name] = signal_report(make_mlp(init), batch_x, batch_y)
    report = ", ".join(f"{k} {v:.3g}" for k, v in at_start[name].items())
    print(f"{name:>22}: {report}")

# %% [markdown]
# Zero weights give hidden units that are exactly 0 and **no** gradient at all for any
# weight matrix (only the biases can move). The huge variance saturates most units: their
# slope is a few percent, so the gradient reaching $W_1$ is small compared with $W_1$
# itself, and the network starts out confidently wrong (a loss far above chance). Glorot
# keeps a moderate spread, slopes near 1 and the largest relative gradient. The initial
# loss of an uninformed 10-way classifier is $\ln 10 \approx 2.303$.
#
# ## Train all three
#
# Same data order, same optimizer (SGD with momentum 0.9), same number of epochs.

# %%
def accuracy(model: nn.Module, x: sn.Tensor, y: sn.Tensor) -> float:
    return float((model(x).numpy().argmax(axis=1) == y.numpy()).mean())


def cross_entropy(model: nn.Module, x: sn.Tensor, y: sn.Tensor) -> sn.Tensor:
    return F.cross_entropy(model(x), y)


histories, weight_change = {}, {}
for name, init in INITIALISERS.items():
    sn.manual_seed(1)
    model = make_mlp(init)
    first_layer_at_start = model[1].weight.numpy().copy()
    histories[name] = sn.train.fit(
        model, cross_entropy, optim.SGD(model.parameters(), lr=0.05, momentum=0.9),
        DataLoader(x_train, y_train, batch_size=64, rng=2), epochs=EPOCHS,
        val_loader=DataLoader(x_test, y_test, batch_size=500, shuffle=False),
        metrics={"accuracy": accuracy}, progress=False,
    )
    weight_change[name] = model[1].weight.numpy() - first_layer_at_start
    last = histories[name].last()
    print(f"{name:>22}: train loss {last['loss']:.3f}, test loss {last['val_loss']:.3f}, "
          f"test accuracy {last['val_accuracy']:.1%}")

# %%
fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(12, 4))
for name, history in histories.items():
    epochs = range(1, history.epochs + 1)
    ax_loss.plot(epochs, history["loss"], marker="o", markersize=3, label=name)
    ax_acc.plot(epochs, 100 * np.asarray(history["val_accuracy"]), marker="o", markersize=3,
                label=name)
# Ten balanced classes: guessing gets 10 %, the level a network that cannot learn stays at.
ax_acc.axhline(10, color="grey", linestyle=":", label="chance (10 %)")
ax_loss.set(xlabel="epoch", ylabel="training cross-entropy (nats, log scale)", yscale="log",
            title="Training loss: zeros stays flat, huge variance starts far too high")
ax_acc.set(xlabel="epoch", ylabel="test accuracy (%)", ylim=(0, 100),
           title="Test accuracy: zeros never leaves chance")
for ax in (ax_loss, ax_acc):
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend()
print("saved", viz.save_figure(fig, FIGURES / "loss_and_accuracy_by_initialiser.png"))

# %% [markdown]
# What did training change? After a few epochs the first layer's weights are still mostly
# their random starting values, so we look at the *change* $W_1^\text{end} - W_1^\text{start}$,
# one 28×28 image per hidden unit (red: grew, blue: shrank). The zero-initialised network
# received no gradient for $W_1$, so its change is exactly 0.

# %%
for name, change in weight_change.items():
    print(f"{name:>22}: largest change of a first-layer weight {np.abs(change).max():.3g}")
    fig = viz.plot_filters(change[:, :32], image_shape=(28, 28),
                           title=f"{name}: change of first-layer weights\n(red grew, blue shrank)")
    viz.save_figure(fig, FIGURES / f"weight_change_{name.split()[0].lower()}.png")
print("saved the first-layer weight changes for each initialiser in", FIGURES)

# %% [markdown]
# ## Summary
#
# The architecture, data, optimizer and epochs were identical; only the starting point
# differed. Zero weights never break the symmetry and stay at chance level; the huge
# variance starts saturated, with a large initial loss and a small gradient relative to its
# weights, and ends clearly behind; Glorot's scale trains quickly and cleanly.

# %%
if QUICK:
    print(SMOKE_RUN_HEADER)
print("Key numbers (test accuracy after training, bundled MNIST split):")
for name, history in histories.items():
    start = at_start[name]
    print(f"  {name:>22}: {history['val_accuracy'][-1]:.1%}   (at step 0: "
          f"{start['saturated']:.0%} saturated, mean slope {start['mean slope']:.2f}, "
          f"|grad W1|/|W1| {start['|grad W1|/|W1|']:.3f})")

# %% [markdown]
# ## Exercises
#
# `exercises/01_mlp_and_initialisation.py` holds three exercises: two initialisers,
# `glorot_uniform` and `he_normal` (with the signature `nn.Dense(init=...)` takes), and
# `dense_backward`, a dense layer's three gradients by hand. Fill them in and run
# `scratchnet check 01` (`--file my_copy.py` grades another file). Each failure says which
# number is wrong, what was expected, and gives a hint. Reference solutions are in
# `exercises/solutions/`.
