# %% [markdown]
# # Lesson 12: the restricted Boltzmann machine
#
# Before VAEs and GANs, the model that made deep networks trainable was the **restricted
# Boltzmann machine** (RBM). Veličković's lecture introduces it as a stochastic feature
# extractor for binary data that can also run backwards: the same weights that turn an
# image $v$ into binary features $h$ turn features back into an image. This lesson trains
# RBMs on binarised MNIST, looks at what their hidden units detect, samples from them,
# and then asks the question that is hard for an RBM: how many nats does it give a test
# digit?
#
# ## Energy, conditionals and free energy
#
# An RBM with visible units $v \in \{0,1\}^{D}$ and hidden units $h \in \{0,1\}^{H}$ scores
# every joint state with an **energy**, and low energy means high probability:
#
# $$E(v, h) = -a^\top v - b^\top h - h^\top W v, \qquad
# p(v, h) = \frac{e^{-E(v, h)}}{Z}, \qquad Z = \sum_{v, h} e^{-E(v, h)}.$$
#
# $W$ is $H \times D$, $a$ holds the visible biases and $b$ the hidden ones, named as in
# the course. "Restricted" means there are no visible–visible and no hidden–hidden
# weights, so each layer is a set of independent coins once the other layer is known:
#
# $$P(h_j = 1 \mid v) = \sigma\big((W v + b)_j\big), \qquad
# P(v_i = 1 \mid h) = \sigma\big((W^\top h + a)_i\big).$$
#
# These are the two formulas on the course slides. Summing the hidden units out of
# $p(v, h)$ is also easy, and gives the **free energy** $F$ of an image:
#
# $$p(v) = \frac{e^{-F(v)}}{Z}, \qquad
# F(v) = -a^\top v - \sum_{j=1}^{H} \log\big(1 + e^{(W v + b)_j}\big).$$
#
# $F(v)$ costs one matrix product. $Z$ is a sum over $2^{D}$ images (or, equivalently,
# $2^{H}$ hidden states), which for MNIST's $D = 784$ no computer can do. Everything
# that follows is about working around $Z$.
#
# ## Contrastive divergence
#
# The gradient of the log-likelihood of one image splits into a term we can compute and
# one we cannot:
#
# $$\frac{\partial \log p(v)}{\partial W} = \underbrace{\mathbb{E}\big[h\,v^\top \mid v\big]
# }_{\text{data ("positive") phase}} - \underbrace{\mathbb{E}_{p(v', h')}\big[h' v'^\top\big]
# }_{\text{model ("negative") phase}}.$$
#
# The positive phase is $P(h = 1 \mid v)\,v^\top$. The negative phase needs samples from
# the model itself. Block Gibbs sampling alternates the two conditionals,
# $v \to h \to v' \to h' \to \dots$, and would produce such samples after many rounds.
# **Contrastive divergence** (Hinton, 2002) cheats: CD-$k$ starts the chain at the data
# and stops after $k$ rounds. **Persistent CD** (PCD; Tieleman, 2008) keeps one set of
# "fantasy" chains alive from one update to the next, so over training they run for
# thousands of rounds, at the price of CD-1. `models.RBM(k=..., persistent=...)` does all
# three; this lesson compares CD-1, CD-10 and PCD-1.
#
# ## CD is gradient descent on one number
#
# Write the two phases with the free energy: since $\partial \log p(v) / \partial\theta =
# -\partial F(v)/\partial\theta + \mathbb{E}_\text{model}[\partial F / \partial\theta]$, the CD
# update is minus the gradient of the **free-energy gap**
#
# $$\frac1n \sum_{\text{data}} F(v) \;-\; \frac1m \sum_{\text{chains}} F(v'),$$
#
# with the chains' ends $v'$ held fixed. So the RBM needs no hand-written update rule:
# `RBM.training_step` runs the chains, computes the gap, lets autodiff differentiate it,
# and `optim.SGD` (with momentum and weight decay) takes the step, inside the same
# `sn.train.fit` loop that trains every other model. `RBM.cd_gradient` keeps the
# textbook formula $\langle h v^\top\rangle_\text{data} - \langle h v^\top\rangle_\text{model}$
# beside it, and the first cell after the data checks that the two agree.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

import scratchnet as sn
import scratchnet.functional as F
from scratchnet import models, nn, optim, viz
from scratchnet.datasets import DataLoader
from scratchnet.lesson import KeyNumbers, bundled_mnist, figure_dir, quick_mode

QUICK = quick_mode()  # `--quick` or SCRATCHNET_QUICK=1: tiny data, tiny models
FIGURES = figure_dir("12_rbm")
SUMMARY = KeyNumbers("Key numbers from this lesson (bundled MNIST subset, binarised):")

sn.manual_seed(0)
x_train, y_train, x_test, y_test = bundled_mnist(QUICK, quick_sizes=(300, 100))
# An RBM's visible units are binary, so every pixel becomes 0 or 1 with the threshold
# that load_mnist(binarize=True) uses: on where the grey level is above one half.
# RBMs (and Dense layers) take rows of 784 pixels rather than (1, 28, 28) images.
X = (x_train.reshape(len(x_train), -1) > 0.5).astype(np.float32)
X_test = (x_test.reshape(len(x_test), -1) > 0.5).astype(np.float32)

N_HIDDEN = 50 if QUICK else 500       # the comparison's models: 784 visible, 500 hidden
EPOCHS = 2 if QUICK else 20           # epochs for each of CD-1, CD-10 and PCD-1
OPTIONS = {"lr": 0.05, "momentum": 0.5, "weight_decay": 2e-4, "batch_size": 64}
AIS_RUNS = 20 if QUICK else 100
AIS_BETAS = np.linspace(0.0, 1.0, 101) if QUICK else "fast"
SMALL_HIDDEN = 10 if QUICK else 20    # the model whose log Z we can sum exactly
GIBBS_STEPS = 50 if QUICK else 1000   # length of the sampling chains
PROBE_EPOCHS = 5 if QUICK else 30     # epochs of the linear classifiers
print(f"quick mode: {QUICK}; train {X.shape}, test {X_test.shape}, "
      f"{X.mean():.1%} of the pixels are on; figures go to {FIGURES}")

# %%
# The autodiff gradient of the free-energy gap against the textbook CD formula, on a
# small RBM with its own generator (it leaves the lesson's random numbers alone).
probe = models.RBM(784, 16, rng=0)
v_data = X[:32]
v_model = probe.negative_phase(v_data)              # one Gibbs round from the data (CD-1)
probe.free_energy_gap(v_data, v_model).backward()   # fills W.grad, b.grad, a.grad
textbook = probe.cd_gradient(v_data, v_model)       # <h v^T>_data - <h v^T>_model, ...
for name, parameter, formula in zip("Wba", (probe.W, probe.b, probe.a), textbook):
    gap = np.abs(parameter.grad.numpy() + formula).max() / np.abs(formula).max()
    print(f"d gap / d{name} = -(CD formula) to a relative {gap:.1e} (float32 rounding)")

# %% [markdown]
# ## 1. The slide's experiment: an RBM on the '2's
#
# The course shows the filters of an RBM trained on MNIST '2' digits only. A **filter** is
# one row of $W$, the 784 weights from the pixels into one hidden unit, drawn as a
# $28 \times 28$ image: red pixels switch the unit on, blue ones switch it off. We train
# a 100-unit RBM with CD-1 on the 400 '2's of our training set.
#
# The settings, used for every RBM in this lesson, start from Hinton's practical guide
# (2010): a learning rate of 0.1 or less (we use 0.05 with batches of 64), momentum 0.5,
# and a little weight decay ($2 \times 10^{-4}$) on $W$. `fit` also starts the visible
# biases at the log-odds of each pixel being on, as the guide suggests. The guide raises
# the momentum to 0.9 after a few epochs. We do not: with 0.9, PCD's fantasy chains
# could not keep up with a model that moved that fast, and it collapsed onto a single
# blob that every chain fell into (section 6 shows how such a failure is caught), and
# CD-1 with 0.9 ended up tens of nats worse than with 0.5. So one setting serves all three
# methods.

# %%
def train_rbm(n_hidden: int, data: np.ndarray, epochs: int, seed: int, k: int = 1,
              persistent: bool = False, validation: np.ndarray | None = None,
              ) -> tuple[models.RBM, sn.train.History, float]:
    """Train a CD-k or PCD-k RBM with OPTIONS; returns the model, its History and the
    seconds taken.

    The RBM keeps its own generator, made from ``seed``: its weights, batch order, Gibbs
    samples, AIS runs and pseudo-likelihood flips all come from it, so runs repeat.
    ``RBM.fit`` trains it through ``sn.train.fit``, with ``optim.SGD`` stepping the
    gradient of the free-energy gap (see the introduction).
    """
    rbm = models.RBM(data.shape[1], n_hidden, k=k, persistent=persistent, rng=seed)
    started = time.perf_counter()
    history = rbm.fit(data, epochs=epochs, progress=False, X_val=validation, **OPTIONS)
    return rbm, history, time.perf_counter() - started


twos = X[y_train == 2]
rbm_twos, twos_history, seconds = train_rbm(100, twos, 10 if QUICK else 60, seed=2)
errors = twos_history["train_reconstruction_error"]
print(f"RBM 784-100 on {len(twos)} '2's: {twos_history.epochs} epochs in {seconds:.1f} s; "
      f"reconstruction error {errors[0]:.4f} after the first epoch, {errors[-1]:.4f} after "
      f"the last")
FILTER_KEY = "\n(red pixels excite the unit, blue inhibit it; each filter on its own scale)"
fig = viz.plot_filters(rbm_twos.W.data, image_shape=(28, 28),
                       title="RBM on '2's only: which part of a '2' does each of the 100 units "
                             "(rows of W) look for?" + FILTER_KEY)
print("saved", viz.save_figure(fig, FIGURES / "filters_twos.png"))
test_twos = X_test[y_test == 2][:10]
fig = viz.image_grid(np.concatenate([test_twos, rbm_twos.reconstruct(test_twos)]), nrow=2,
                     title="Test '2's (top), their reconstructions P(v | h = P(h | v)) (bottom):\n"
                           "does each keep its own shape?")
print("saved", viz.save_figure(fig, FIGURES / "reconstructions_twos.png"))

# %% [markdown]
# With only 400 images of one digit, many units learn a whole '2', or the difference of
# two: a '2' of one slant in red against one of another slant in blue, a loop that is
# open against one that is closed, a flat bottom bar against a curled one. Each unit
# answers a question about *how* this '2' is written, and the reconstructions show that
# 100 such answers are enough to redraw a test '2' closely.
#
# ## 2. CD-1, CD-10 and PCD-1 on all ten digits
#
# Now the main experiment: three 784-500 RBMs on all 4,000 training images, identical
# except for the negative phase. After every epoch `fit` records two numbers that are
# cheap, on the first 1,000 training images and, with `X_val`, on the test images:
#
# * the **reconstruction error**, the mean squared difference between $v$ and
#   $P(v \mid h = P(h \mid v))$ per pixel. Easy to read, but the training rule does not
#   minimise it, so it is a poor guide to the likelihood.
# * the **pseudo-log-likelihood** (PLL) $\sum_i \log P(v_i \mid v_{-i})$: each pixel
#   predicted from all the others. It needs only free energies, so no $Z$.
#   scikit-learn's estimate, used here, flips one random pixel per image and multiplies
#   by 784, so it is noisy.
#
# Each model's training is timed: CD-10 runs ten Gibbs rounds per update instead of one,
# so it costs several times as much per epoch.

# %%
METHODS = {"CD-1": {"k": 1}, "CD-10": {"k": 10}, "PCD-1": {"k": 1, "persistent": True}}
rbms: dict[str, models.RBM] = {}
histories: dict[str, sn.train.History] = {}
train_seconds: dict[str, float] = {}
for name, method in METHODS.items():
    rbms[name], histories[name], train_seconds[name] = train_rbm(
        N_HIDDEN, X, EPOCHS, seed=1, validation=X_test, **method)
    print(f"{name:>6}: {EPOCHS} epochs in {train_seconds[name]:5.1f} s "
          f"({train_seconds[name] / EPOCHS:.2f} s per epoch, test rows monitored)")
SUMMARY[f"seconds per epoch, 784-{N_HIDDEN} on {len(X)} images: CD-1 / CD-10 / PCD-1"] = (
    " / ".join(f"{train_seconds[name] / EPOCHS:.2f}" for name in METHODS))

def per_method_figure(curves, ylabel, title, size, **legend):
    """One colour per method; in it, a line for each (history key, line style, label)."""
    fig, ax = plt.subplots(figsize=size)
    for i, (name, history) in enumerate(histories.items()):
        for key, style, split in curves:
            values = history[key]
            ax.plot(range(1, len(values) + 1), values, color=f"C{i}", linestyle=style,
                    marker="o", markersize=3, label=f"{name}, {split}")
    ax.set(xlabel="epoch", ylabel=ylabel, title=title)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, alpha=0.3)
    ax.legend(**legend)
    fig.tight_layout()
    return fig


# Train solid and test dashed: each method's pair side by side.
fig = per_method_figure(
    [("train_pseudo_log_likelihood", "-", "train"), ("val_pseudo_log_likelihood", "--", "test")],
    "pseudo-log-likelihood (nats per image)",
    "Pseudo-log-likelihood per method (higher is better):\n"
    "a test curve far below its train curve means overfitting", (7.5, 4.5),
    ncol=len(histories), fontsize=8, loc="lower center", bbox_to_anchor=(0.5, -0.38))
print("saved", viz.save_figure(fig, FIGURES / "pseudo_log_likelihood.png"))
# The same colour per method as above.
fig = per_method_figure(
    [("val_reconstruction_error", "--", "test")], "MSE per pixel (intensities in [0, 1])",
    "Test reconstruction error (lower is better):\n"
    "do the methods differ here as much as in nats?", (6.5, 4.2))
print("saved", viz.save_figure(fig, FIGURES / "reconstruction_error.png"))

# %% [markdown]
# ## 3. What the hidden units look for
#
# With all ten digits and 500 units the filters become more local: pen strokes at many
# positions and angles, pieces of loops, each with a blue surround that says "and no ink
# just beside it". We show the first 100 of the 500 rows of CD-1's $W$ and of PCD-1's,
# and the reconstructions of all three models.

# %%
for name in ("CD-1", "PCD-1"):
    shown = min(100, N_HIDDEN)
    fig = viz.plot_filters(rbms[name].W.data[:shown], image_shape=(28, 28),
                           title=f"{name}: first {shown} of {N_HIDDEN} units (rows of W); "
                                 "look for local pen strokes" + FILTER_KEY)
    print("saved", viz.save_figure(fig, FIGURES / f"filters_{name.lower()}.png"))

rows = [X_test[:12]] + [rbm.reconstruct(X_test[:12]) for rbm in rbms.values()]
fig = viz.image_grid(np.concatenate(rows), nrow=len(rows),
                     title="Test digits (top row), then their reconstructions by CD-1, CD-10 "
                           "and PCD-1:\ncan you tell the three methods apart?")
print("saved", viz.save_figure(fig, FIGURES / "reconstructions.png"))

# %% [markdown]
# ## 4. Samples from long Gibbs chains
#
# Reconstructions only test one Gibbs round started at a real digit. A generative
# model should also produce digits from nothing: `RBM.sample(n, steps)` starts chains
# from random pixels and runs them for `steps` rounds, then shows $P(v = 1 \mid h)$ of the
# last round. A CD-$k$ model has only ever seen its chains $k$ steps away from the data;
# nothing in its training pushed down the energy of states that a long chain wanders
# into. PCD trains on long chains, so in principle it does push them down; whether it
# manages to depends on its chains keeping up with the model.

# %%
samples: dict[str, np.ndarray] = {}
for name, rbm in rbms.items():
    started = time.perf_counter()
    samples[name] = rbm.sample(48, steps=GIBBS_STEPS)
    print(f"{name:>6}: 48 chains x {GIBBS_STEPS} Gibbs rounds in "
          f"{time.perf_counter() - started:.1f} s")
    fig = viz.image_grid(samples[name], nrow=6,
                         title=f"{name}: chains from random pixels after {GIBBS_STEPS} Gibbs "
                               "rounds:\nvaried digits, or one shape repeated?")
    print("saved", viz.save_figure(fig, FIGURES / f"samples_{name.lower()}.png"))

# How a chain moves: ten chains started at test digits, shown after 1, 10, 100, ... rounds.
snapshots, v, done = [X_test[:10]], X_test[:10], 0
rounds = sorted({steps for steps in (1, 10, 100) if steps < GIBBS_STEPS} | {GIBBS_STEPS})
for steps in rounds:
    v = rbms["PCD-1"].gibbs(v, steps - done)
    snapshots.append(v)
    done = steps
fig = viz.image_grid(np.concatenate(snapshots), nrow=len(snapshots),
                     title=f"PCD-1 chains from test digits, after 0, "
                           f"{', '.join(map(str, rounds))} rounds (rows):\n"
                           "do they keep their digit or slide into one mode?")
print("saved", viz.save_figure(fig, FIGURES / "chain_from_test_digits.png"))

# %% [markdown]
# Look at the three sample grids before reading on. In our run, most of CD-1's chains end
# in a broken blob that is no digit at all, and a few in a clean '0' or a stroke: the blob
# is a spurious mode that CD-1 never saw, because its chains only ever take one step away
# from the data. CD-10's samples are varied ('6's, '9's, '5's, '0's, '7's, '4's, some
# fragments). PCD-1's chains nearly all end in one '2', with a few '0's: one strong
# mode. Chains started from test digits slide towards it within about a hundred rounds.
# A sampler that keeps returning one digit is a poor density model, and section 6 puts a
# number on that. (Another machine, whose floating-point round-off differs, can end these
# chains in other shapes; the lesson's point does not depend on which.)

# %% [markdown]
# ## 5. Annealed importance sampling, checked against an exact sum
#
# To put a number of nats on a test digit we need $\log Z$. **Annealed importance
# sampling** (AIS; Neal, 2001; Salakhutdinov & Murray, 2008) estimates it by walking from
# a model whose $Z$ is known to ours. The start is a "base-rate" model $p_A$: hidden units
# cut off and each pixel on with its frequency in the training data. In between sit the
# models with weights $\beta W$, $\beta_0 = 0 < \beta_1 < \dots < \beta_K = 1$. One AIS
# run draws $v_0 \sim p_A$ and, for each $\beta_k$ in turn, multiplies a weight by
# $p^*_{\beta_k}(v) / p^*_{\beta_{k-1}}(v)$ (unnormalised probabilities) and moves $v$
# by one Gibbs round of the model at $\beta_k$. The average weight of many runs is an
# unbiased estimate of $Z / Z_A$.
#
# Two warnings come with it. The *logarithm* of an unbiased estimate is biased low, and
# when a few runs carry most of the weight, $\log Z$ is underestimated and the
# log-likelihood looks better than it is. And the bounds that `log_partition` returns,
# $\log(\bar w \pm 3\,\mathrm{s.e.})$, come from the same runs, so they cannot see a
# mode that no run found. Salakhutdinov & Murray's schedule has 14,500 steps (`"default"`);
# `"fast"` takes steps ten times as large.
#
# With 20 hidden units the exact $\log Z$ is a sum over $2^{20} \approx 10^6$ hidden
# states, each with a closed-form sum over the visible units, so we can check AIS on a
# model that is small but trained on the same digits. We check the "fast" schedule with
# 100 runs, because that is what the 500-unit models below can afford: one AIS run costs
# a Gibbs round per temperature, and the cost line of section 6 shows that the default
# schedule would take minutes per model.

# %%
small, _, seconds = train_rbm(SMALL_HIDDEN, X, 5 if QUICK else 20, seed=3)
started = time.perf_counter()
log_z_exact = small.log_partition("exact")
exact_seconds = time.perf_counter() - started
started = time.perf_counter()
log_z_ais, (low, high) = small.log_partition("ais", X=X, n_runs=AIS_RUNS, betas=AIS_BETAS)
ais_seconds = time.perf_counter() - started
print(f"784-{SMALL_HIDDEN} RBM: exact log Z = {log_z_exact:.3f} "
      f"(a sum over 2^{SMALL_HIDDEN} states, {exact_seconds:.1f} s)")
print(f"AIS, {AIS_RUNS} runs, schedule {AIS_BETAS if isinstance(AIS_BETAS, str) else 'short'}"
      f": {log_z_ais:.3f}, 3-sigma interval [{low:.3f}, {high:.3f}] ({ais_seconds:.1f} s)")
print(f"AIS - exact = {log_z_ais - log_z_exact:+.3f} nats; test log-likelihood "
      f"{small.log_likelihood(X_test, log_z=log_z_exact):.2f} nats (exact)")
SUMMARY[f"784-{SMALL_HIDDEN} RBM: AIS log Z - exact log Z"] = (
    f"{log_z_ais - log_z_exact:+.3f} nats ({log_z_ais:.3f} vs {log_z_exact:.3f}; "
    f"interval [{low:.3f}, {high:.3f}])")
SUMMARY[f"784-{SMALL_HIDDEN} RBM: exact test log-likelihood"] = (
    f"{small.log_likelihood(X_test, log_z=log_z_exact):.2f} nats")

# %% [markdown]
# ## 6. The comparison in nats
#
# Now the three 500-unit models. With $\log Z$ from AIS, the mean log-likelihood of a set
# of images is the mean of $-F(v)$ minus $\log Z$, and we measure it on the training and
# the test images. The AIS interval for $\log Z$ turns into an interval for the
# log-likelihood, upside down: a larger $Z$ means a lower likelihood.

# %%
results = {}
for name, rbm in rbms.items():
    started = time.perf_counter()
    log_z, (low, high) = rbm.log_partition("ais", X=X, n_runs=AIS_RUNS, betas=AIS_BETAS)
    seconds = time.perf_counter() - started
    # A bound that cannot be wrong: Z is a sum of positive terms, so log Z >= -F(v) for
    # every single image v. We try the training digits and the ends of section 4's chains.
    visited = np.concatenate([X, (samples[name] > 0.5).astype(np.float32)])
    with sn.no_grad():
        floor = float(-rbm.free_energy(visited).data.min())
    results[name] = {
        "recon": rbm.reconstruction_error(X_test),
        "pll": float(rbm.pseudo_log_likelihood(X_test).mean()),
        "log_z": log_z, "floor": floor, "seconds": seconds,
        "test": rbm.log_likelihood(X_test, log_z=log_z),
        "train": rbm.log_likelihood(X, log_z=log_z),
        # log Z's interval [low, high] makes the test log-likelihood's [test - (high -
        # log Z), test + (log Z - low)]; a low of -inf leaves the upper end open.
        "test_low": rbm.log_likelihood(X_test, log_z=high),
        "test_high": rbm.log_likelihood(X_test, log_z=low),
        "test_ceiling": rbm.log_likelihood(X_test, log_z=floor),
    }
    print(f"{name:>6}: AIS with {AIS_RUNS} runs took {seconds:.1f} s")

print(f"784-{N_HIDDEN} RBMs, {EPOCHS} epochs on {len(X)} images; test set of {len(X_test)}. "
      f"Nats per image; AIS: {AIS_RUNS} runs, "
      f"{AIS_BETAS if isinstance(AIS_BETAS, str) else 'short'} schedule")
print(f"{'model':>6} {'recon err':>9} {'PLL':>8} {'AIS log Z':>9} {'log Z >=':>8} "
      f"{'test LL':>8} {'test LL, 3-sigma interval':>26} {'test LL <=':>10} {'train LL':>9}")
for name, r in results.items():
    interval = f"[{r['test_low']:.2f}, {r['test_high']:.2f}]"
    print(f"{name:>6} {r['recon']:>9.4f} {r['pll']:>8.2f} {r['log_z']:>9.2f} {r['floor']:>8.2f} "
          f"{r['test']:>8.2f} {interval:>26} {r['test_ceiling']:>10.2f} {r['train']:>9.2f}")
    SUMMARY[f"{name}: test recon err / PLL / AIS test LL [3-sigma] / train LL"] = (
        f"{r['recon']:.4f} / {r['pll']:.2f} / {r['test']:.2f} {interval} / "
        f"{r['train']:.2f} nats")
    if r["floor"] > r["log_z"]:
        print(f"        {name}: AIS's log Z is below a state's -F(v), so it missed most of Z;"
              f" the test LL can be at most {r['test_ceiling']:.2f} nats")
        SUMMARY[f"{name}: AIS impossible, test LL at most"] = f"{r['test_ceiling']:.2f} nats"

per_step = np.mean([r["seconds"] for r in results.values()]) / (
    len(models.ais_schedule("fast")) - 1 if isinstance(AIS_BETAS, str) else len(AIS_BETAS) - 1)
default_steps = len(models.ais_schedule("default")) - 1
print(f"AIS cost: {per_step * 1e3:.1f} ms per temperature for {AIS_RUNS} runs; the default "
      f"schedule ({default_steps:,} temperatures) would take about "
      f"{per_step * default_steps:.0f} s per model")
SUMMARY[f"AIS cost per 784-{N_HIDDEN} model: schedule used (measured) / default (extrapolated)"] = (
    f"{np.mean([r['seconds'] for r in results.values()]):.0f} s / "
    f"{per_step * default_steps:.0f} s")

# %% [markdown]
# Read the table column by column. The reconstruction errors are almost equal while the
# log-likelihoods are tens of nats apart: CD does not minimise the reconstruction error,
# and reconstructing well one Gibbs round away from a digit says nothing about where
# else the model puts its probability. The PLL asks about one random pixel per image, so
# it is noisy: its gaps between the models move a lot from run to run, while the AIS
# column below measures the whole image.
#
# The AIS column is the real measure, with two caveats visible in the table. When an
# interval is open (`inf` at the test LL's upper end, because log Z's lower end is
# $-\infty$), the standard error of the 100 weights is larger than their mean: one or two
# runs carry the estimate, and the number is an optimistic guess rather than a
# measurement. A longer schedule is the cure, and we cannot afford
# it here (see the cost line). The free-energy floor `log Z >=` is the other check: an AIS
# estimate below it is impossible, and the floor then gives a hard ceiling for the test
# log-likelihood (`test LL <=`); `log_partition` itself warns when that happens.
#
# In this seeded run more Gibbs rounds help (CD-10 beats CD-1), while PCD-1 lags behind
# both, unlike on the full MNIST with long training (Tieleman, 2008). Its 64 fantasy
# chains must follow a model that changes with each of only about 1,300 updates, at a
# learning rate chosen for CD. Its one strong mode (the '2' of section 4) holds a large
# share of $Z$, and every other digit pays for it. Its interval is open upwards,
# so its number is the least certain of the three.
#
# ### How far from the literature, and why
#
# Salakhutdinov & Murray (2008) report $-86.34$ nats on the MNIST test set for a 500-unit
# RBM trained with CD-25 on all 60,000 training images for many epochs. Our numbers are
# further from that for several reasons, roughly in order of size:
#
# * **15 times less data.** 4,000 images cannot pin down 392,000 weights; the gap between
#   the train and test columns is overfitting, which the full set would mostly remove.
# * **Fewer updates.** 20 epochs of 63 batches are about 1,300 updates; an epoch of the
#   full set at the same batch size is already 940, and their runs lasted many epochs.
# * **A shorter negative phase.** CD-1's chains stop one round from the data, so the
#   model never learns to lower the probability of far-away states; its $Z$ is full of
#   them. The same paper shows the log-likelihood improving steadily from CD-1 to CD-3 to
#   CD-25.
# * **A cheaper AIS.** The "fast" schedule is ten times coarser than theirs, which makes
#   the estimate noisier and, on average, too optimistic.

# %%
for name, r in results.items():
    print(f"{name:>6}: test LL {r['test']:.2f} nats, {r['test'] + 86.34:+.2f} from -86.34 "
          f"(CD-25, full MNIST); train - test = {r['train'] - r['test']:.2f} nats")
best = max(results, key=lambda name: results[name]["test"])
SUMMARY["best test LL vs Salakhutdinov & Murray's -86.34 (CD-25, 60k images)"] = (
    f"{best}: {results[best]['test']:.2f} nats ({results[best]['test'] + 86.34:+.2f})")

# %% [markdown]
# ## 7. RBM features for a linear classifier
#
# The course's other use of an RBM: its hidden probabilities $P(h = 1 \mid v)$ as features
# for a supervised model (and its weights as the first layer of a network, lesson 13).
# We train the same softmax regression, a `Dense` layer and `F.cross_entropy`, once on the
# 784 binary pixels and once on each model's 500 features, and compare test accuracy.
# scikit-learn's example "Restricted Boltzmann Machine features for digit classification"
# reports about 0.94 against 0.78 for the same idea, on a different data set (its 8x8
# digits, with shifted copies added), so those numbers are a pointer, not a target.

# %%
def linear_probe(train: np.ndarray, test: np.ndarray, seed: int = 0) -> float:
    """Test accuracy of softmax regression (Adam 1e-3, batches of 64) on given features."""
    sn.manual_seed(seed)
    classifier = nn.Dense(train.shape[1], 10, rng=seed)
    loader = DataLoader(train, y_train, batch_size=64, rng=seed)
    sn.train.fit(classifier, lambda m, x, y: F.cross_entropy(m(x), y),
                 optim.Adam(classifier.parameters(), lr=1e-3), loader, PROBE_EPOCHS,
                 progress=False)
    with sn.no_grad():
        predicted = classifier(sn.Tensor(test)).data.argmax(axis=1)
    return float((predicted == y_test).mean())


accuracy = {"raw pixels": linear_probe(X, X_test)}
for name, rbm in rbms.items():
    accuracy[f"{name} features"] = linear_probe(rbm.transform(X), rbm.transform(X_test))
for label, value in accuracy.items():
    print(f"softmax regression on {label:>14}: test accuracy {value:.3f}")
SUMMARY["linear classifier test accuracy: pixels / CD-1 / CD-10 / PCD-1 features"] = (
    " / ".join(f"{value:.3f}" for value in accuracy.values()))

# %% [markdown]
# The RBM features win, but by a few points rather than scikit-learn's sixteen: a
# linear model on 784 MNIST pixels is already a fair classifier (it has far more to work
# with than on 8x8 images). And the ranking is not the ranking in nats: in our run the
# model with the worst likelihood, PCD-1, gives features as good as the others or
# better. A good density model and a good feature extractor are different goals.

# %% [markdown]
# ## Summary
#
# * An RBM gives each image a free energy $F(v)$ that costs one matrix product, but its
#   probability $e^{-F(v)}/Z$ needs a normaliser $Z$ that sums over $2^{784}$ images.
# * Contrastive divergence replaces the model's expectation with a few Gibbs rounds from
#   the data (CD-$k$) or from chains that persist (PCD). CD-10 costs several times as
#   much per epoch as CD-1 (the key numbers give the seconds) and pays back in nats and
#   in samples; PCD-1 costs what CD-1
#   costs, but with this little data and training it fell into one strong mode.
# * Reconstruction error is easy to watch and nearly useless as a measure of the model;
#   AIS gives nats, with bounds that can be trusted only when the runs agree, and the
#   free-energy floor $\log Z \ge -F(v)$ catches the estimates that are impossible. On a
#   model small enough to sum exactly, AIS lands within a few tenths of a nat.
# * The hidden units are stroke detectors, and as features they help a linear classifier.
#
# Lesson 13 stacks RBMs into a deep belief network and uses them to start a deep
# classifier.

# %%
SUMMARY.show(QUICK)
