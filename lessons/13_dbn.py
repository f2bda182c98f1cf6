# %% [markdown]
# # Lesson 13: deep belief networks and unsupervised pre-training
#
# Before 2006, networks with several layers of sigmoid units were notoriously hard to
# train: started from small random weights, backpropagation crawled, stalled, or found
# solutions that generalised poorly. Hinton, Osindero & Teh (2006) got around it with a two-stage
# recipe, and it was one of the results that started the deep-learning revival:
#
# 1. **Pre-train without labels, one layer at a time.** Fit an RBM (lesson 12,
#    `models.RBM`) to the pixels. Its hidden probabilities
#    $P(h = 1 \mid v) = \sigma(Wv + b)$ are a new data set, with one column per feature;
#    fit a second RBM to *those*, and so on. Each RBM only ever solves a shallow problem,
#    so each can be trained with CD. The stack is a **deep belief network** (DBN).
# 2. **Fine-tune with labels.** Read the stack as an ordinary feed-forward net: layer
#    $\ell$ computes $\sigma(h_{\ell-1} W_\ell^\top + b_\ell)$ with the RBM's weights and
#    hidden biases (the visible biases $a$ are only needed to go back down, so they are
#    dropped). Put a fresh softmax layer on top and train everything with backprop.
#
# `models.DBN(layer_sizes)` does step 1 with `.pretrain(X, **fit_options)`, which trains
# each layer with `RBM.fit` (so with `sn.train.fit`), and turns the stack into an
# `nn.Sequential` of sigmoid `Dense` layers with `.to_mlp(n_outputs)`.
#
# ## Why should this help?
#
# Erhan et al. (2010), *Why does unsupervised pre-training help deep learning?*, tested two
# explanations. If pre-training were only an **optimisation** aid, the pre-trained nets
# would reach lower *training* error. What they found instead is that it behaves like a
# **regulariser**: it puts the weights in a region, chosen by modelling the inputs, from
# which gradient descent ends at solutions that generalise better, while the training
# error is no better (sometimes worse). A regulariser is worth most when the labelled set
# is small, and that is the case we set up here: 4,000 unlabelled digits for step 1 and
# only **500 labelled ones** for step 2.
#
# One caveat from the course (Veličković): since Glorot & Bengio (2010) found good scales
# for random initial weights, and ReLUs made deep nets easy to train, pre-training is
# rarely used. So our random baseline gets a *modern* start (Glorot uniform, the `Dense`
# default), not the tiny weights of the pre-2006 papers: the comparison is with the best
# cheap alternative, not with a straw man.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator, PercentFormatter

import scratchnet as sn
import scratchnet.functional as F
from scratchnet import nn, optim, viz
from scratchnet.datasets import DataLoader
from scratchnet.lesson import KeyNumbers, bundled_mnist, figure_dir, quick_mode
from scratchnet.models import DBN, accuracy

QUICK = quick_mode()  # `--quick` or SCRATCHNET_QUICK=1: small data, few epochs
FIGURES = figure_dir("13_dbn")
SUMMARY = KeyNumbers("Key numbers from this lesson (bundled MNIST subset):")

sn.manual_seed(0)
x_train, y_train, x_test, y_test = bundled_mnist(QUICK, quick_sizes=(600, 200))
# RBMs and Dense layers take rows of 784 pixels, not (1, 28, 28) images.
X = x_train.reshape(len(x_train), -1)
X_test = x_test.reshape(len(x_test), -1)

SEEDS = (1, 2, 3)                 # one pre-training and one fine-tuning per seed
N_LABELLED = 500                  # the first 500 training digits: 50 of each class
RBM_EPOCHS = 1 if QUICK else 15   # per layer
FT_EPOCHS = 3 if QUICK else 40    # fine-tuning epochs, the same for both nets
LEARNING_RATES = (0.1,) if QUICK else (0.01, 0.03, 0.1)
LABEL_COUNTS = (100, 500) if QUICK else (100, 500, 2000)
FIT_OPTIONS = {"lr": 0.05, "momentum": 0.5, "weight_decay": 2e-4, "batch_size": 20,
               "epochs": RBM_EPOCHS, "progress": False}  # for RBM.fit, layer by layer
print(f"quick mode: {QUICK}; unlabelled {X.shape}, test {X_test.shape}; figures go to "
      f"{FIGURES}")

# %% [markdown]
# ## 1. Grey pixels or binary pixels?
#
# An RBM's visible units are binary, and MNIST pixels are grey values in $[0, 1]$. Two
# common choices:
#
# * **binarise** the images (threshold, or sample each pixel), so the data really are
#   binary, as the likelihood assumes;
# * **read each grey value as a probability** $P(v_i = 1)$. CD then uses the grey image
#   itself in the positive statistics $\langle h v^\top\rangle_\text{data}$ (its expected
#   value) and starts the Gibbs chain from a binary sample of it. Hinton's practical
#   guide describes this as common practice for MNIST, and it is what `RBM.fit` does
#   when the data are not all 0 or 1.
#
# We take the second. It keeps the anti-aliased edges of the strokes, and, more
# importantly for a fair test, the fine-tuned network then sees the *same* inputs as the
# network that starts at random. The second RBM has no choice anyway: its data are the
# first RBM's hidden probabilities. The price is that the pseudo-likelihood, which needs
# binary data, is not logged; the reconstruction error is.
#
# ## 2. Greedy layer-wise pre-training, and what it costs
#
# A 784-500 RBM with CD-1 on 4,000 images and batches of 20 is 200 updates per epoch, each
# a handful of (20 × 784) by (784 × 500) products. The loop below is `DBN.pretrain`
# written out, so that each layer can be timed: train an RBM (with `RBM.fit`, which runs
# `sn.train.fit` and returns its History), replace the data by its hidden probabilities,
# train the next. We pre-train three DBNs, one per seed, so that
# the spread between seeds includes the randomness of pre-training, not only that of
# fine-tuning.
#
# The settings are the usual ones from Hinton's guide, not tuned: learning rate 0.05,
# momentum 0.5, weight decay $2 \times 10^{-4}$, CD-1, batches of 20. The number of
# epochs is set by the time budget. Trial runs while this lesson was written (one seed)
# gave fine-tuned test accuracies of roughly 88 %, 89.5 % and 90 % after 5, 10 and 20
# epochs per layer, so longer pre-training helps a little; we use 15.

# %%
def pretrain(seed: int) -> tuple[DBN, list[sn.train.History], list[float]]:
    """A 784-500-500 DBN trained greedily on all training images; each layer's History
    and seconds."""
    dbn = DBN([X.shape[1], 500, 500], rng=seed)
    features, histories, seconds = X, [], []
    for rbm in dbn.rbms:              # what dbn.pretrain(X, **FIT_OPTIONS) does, timed
        started = time.perf_counter()
        histories.append(rbm.fit(features, **FIT_OPTIONS))
        seconds.append(time.perf_counter() - started)
        features = rbm.transform(features)
    return dbn, histories, seconds


dbns, pretrain_histories, pretrain_seconds = {}, {}, {}
for seed in SEEDS:
    dbns[seed], pretrain_histories[seed], pretrain_seconds[seed] = pretrain(seed)
    errors = [h["train_reconstruction_error"][-1] for h in pretrain_histories[seed]]
    print(f"seed {seed}: layer 1 {pretrain_seconds[seed][0]:.1f} s, layer 2 "
          f"{pretrain_seconds[seed][1]:.1f} s; last reconstruction errors "
          f"{errors[0]:.4f} (pixels), {errors[1]:.4f} (layer-1 features)")
first = pretrain_histories[SEEDS[0]][0]["train_reconstruction_error"]
print("layer-1 reconstruction error by epoch (seed 1):",
      " ".join(f"{error:.4f}" for error in first))
per_epoch = [np.median([s[layer] for s in pretrain_seconds.values()]) / RBM_EPOCHS
             for layer in (0, 1)]
total_pretrain = sum(sum(s) for s in pretrain_seconds.values())
SUMMARY["RBM epoch on the unlabelled set: 784-500 / 500-500"] = (
    f"{per_epoch[0]:.2f} s / {per_epoch[1]:.2f} s ({len(X):,} rows, CD-1, batch 20)")
SUMMARY["pre-training, 3 DBNs x 2 layers x epochs"] = (
    f"{total_pretrain:.0f} s (3 x 2 x {RBM_EPOCHS})")

# %% [markdown]
# ## 3. What the first layer learned
#
# Each row of the first RBM's $W$ is one hidden unit's weights on the 784 pixels, so it
# can be drawn as a 28×28 image. After pre-training most of them show a red stroke or
# blob on a pale blue surround: the unit switches on when ink falls on its red pixels and
# is held down by ink elsewhere. Some still look like whole digits, a sign that 15 epochs
# on 4,000 images is short training by RBM standards. For contrast, the same layer of the
# randomly initialised network (Glorot uniform) is pure noise. The noise is where the
# baseline starts fine-tuning; the strokes are where the pre-trained net starts.

# %%
def random_mlp(seed: int) -> nn.Sequential:
    """784-500-500-10 with sigmoid hidden layers, Glorot-uniform weights, zero biases.

    The output layer is made exactly as DBN.to_mlp(10, rng=seed) makes it, so the two
    nets differ only in their hidden layers' starting values.
    """
    generator = np.random.default_rng(1000 + seed)
    return nn.Sequential(nn.Dense(784, 500, activation="sigmoid", rng=generator),
                         nn.Dense(500, 500, activation="sigmoid", rng=generator),
                         nn.Dense(500, 10, rng=seed))


FILTER_KEY = "\n(red pixels excite the unit, blue inhibit it; each filter on its own scale)"
fig = viz.plot_filters(dbns[SEEDS[0]].rbms[0].W.numpy()[:100], image_shape=(28, 28),
                       title="First RBM after pre-training: look for red strokes and blobs"
                       + FILTER_KEY)
print("saved", viz.save_figure(fig, FIGURES / "filters_pretrained.png"))
fig = viz.plot_filters(random_mlp(SEEDS[0])[0].weight.numpy()[:, :100], image_shape=(28, 28),
                       title="Random start of the same layer: noise, no strokes" + FILTER_KEY)
print("saved", viz.save_figure(fig, FIGURES / "filters_random.png"))

# %% [markdown]
# ## 4. A fair fine-tuning protocol
#
# Both networks are 784-500-500-10 with sigmoid hidden units and a softmax output, and
# everything but the starting weights of the hidden layers is the same:
#
# * the same labelled examples: the first 500 training digits, 50 per class. The first
#   400 are for training, the last 100 (10 per class) are a **validation set**. The 1,000
#   test digits are never used for a decision;
# * the same optimiser: SGD with momentum 0.9, batches of 20, cross-entropy, 40 epochs;
# * the same **stopping rule**: keep the weights of the epoch with the best validation
#   accuracy (the earliest one on ties), which is early stopping with the weights restored;
# * the same search over learning rates, $\{0.01, 0.03, 0.1\}$. Each network gets the rate
#   with the best mean validation accuracy over the three seeds. A pre-trained and a random
#   start need not like the same rate, and picking one rate for both would favour
#   whichever it happens to suit.
#
# The test accuracy is still recorded after every epoch, but only to draw the curves and
# for the analysis of section 6; it never chooses anything.

# %%
def fine_tune(model: nn.Sequential, lr: float, seed: int, n_labelled: int = N_LABELLED,
              epochs: int = FT_EPOCHS, track_test: bool = True) -> dict:
    """Train on the first 80 % of the first n_labelled digits, validate on the rest.

    Returns the history, the test accuracy per epoch (if tracked), the chosen epoch, the
    test accuracy of the restored weights, and how far the first layer moved.
    """
    n_train = n_labelled * 4 // 5
    labelled = DataLoader(X[:n_train], y_train[:n_train], batch_size=20, rng=seed)
    held_out = DataLoader(X[n_train:n_labelled], y_train[n_train:n_labelled],
                          batch_size=500, shuffle=False)
    test_curve: list[float] = []

    class TestAccuracy(sn.train.Callback):
        def on_epoch_end(self, epoch, history, model):
            if track_test:
                test_curve.append(accuracy(model, X_test, y_test))

    best = sn.train.EarlyStopping("val_accuracy", mode="max", patience=epochs)
    start = model[0].weight.numpy().copy()
    sn.manual_seed(seed)
    history = sn.train.fit(model, lambda m, x, y: F.cross_entropy(m(x), y),
                           optim.SGD(model.parameters(), lr=lr, momentum=0.9), labelled,
                           epochs, val_loader=held_out, metrics={"accuracy": accuracy},
                           callbacks=[TestAccuracy(), best], progress=False)
    moved = model[0].weight.numpy() - start  # after the best epoch's weights are restored
    return {"history": history, "test_curve": test_curve, "epoch": best.best_epoch,
            "val": history["val_accuracy"][best.best_epoch - 1],
            "test": accuracy(model, X_test, y_test),
            "train": accuracy(model, X[:n_train], y_train[:n_train]),
            "moved": float(np.linalg.norm(moved) / np.linalg.norm(start)),
            "moved_by": float(np.linalg.norm(moved)), "start_norm": float(np.linalg.norm(start)),
            "model": model}


def make_model(kind: str, seed: int) -> nn.Sequential:
    return dbns[seed].to_mlp(10, rng=seed) if kind == "pre-trained" else random_mlp(seed)


KINDS = ("pre-trained", "random")
started = time.perf_counter()
runs = {(kind, lr, seed): fine_tune(make_model(kind, seed), lr, seed)
        for kind in KINDS for lr in LEARNING_RATES for seed in SEEDS}
fine_tune_seconds = time.perf_counter() - started
print(f"{len(runs)} fine-tuning runs of {FT_EPOCHS} epochs in {fine_tune_seconds:.0f} s")
print(f"{'start':>12} {'lr':>5}   {'validation acc. (seeds)':<24}{'test acc. (seeds)':<22}"
      f"{'epochs chosen'}")
for kind in KINDS:
    for lr in LEARNING_RATES:
        chosen = [runs[kind, lr, seed] for seed in SEEDS]
        val = " ".join(f"{r['val']:.2f}" for r in chosen)
        test = " ".join(f"{r['test']:.3f}" for r in chosen)
        epochs = " ".join(str(r["epoch"]) for r in chosen)
        print(f"{kind:>12} {lr:>5}   {val:<24}{test:<22}{epochs}")

# %% [markdown]
# ## 5. The comparison
#
# For each network, the learning rate that the validation set prefers, and at that rate
# the test accuracy of each seed and their median.

# %%
def mean_validation(kind: str, lr: float) -> float:
    return float(np.mean([runs[kind, lr, seed]["val"] for seed in SEEDS]))


best_lr = {kind: max(LEARNING_RATES, key=lambda lr, k=kind: (mean_validation(k, lr), -lr))
           for kind in KINDS}
median_test = {}
for kind in KINDS:
    tests = [runs[kind, best_lr[kind], seed]["test"] for seed in SEEDS]
    median_test[kind] = float(np.median(tests))
    print(f"{kind:>12}: lr {best_lr[kind]} (mean validation accuracy "
          f"{mean_validation(kind, best_lr[kind]):.3f}); test accuracy per seed "
          f"{', '.join(f'{t:.1%}' for t in tests)}; median {median_test[kind]:.1%}")
gain = median_test["pre-trained"] - median_test["random"]
print(f"pre-training changes the median test accuracy by {100 * gain:+.1f} points")
for kind in KINDS:
    tests = ", ".join(f"{runs[kind, best_lr[kind], seed]['test']:.1%}" for seed in SEEDS)
    SUMMARY[f"{kind} 784-500-500-10, 400+100 labels: test acc. (median)"] = (
        f"{median_test[kind]:.1%} (seeds: {tests}; lr {best_lr[kind]})")
SUMMARY["gain from pre-training (median test accuracy)"] = f"{100 * gain:+.1f} points"

# %% [markdown]
# The curves show how the two starts behave under the same optimiser: test accuracy
# (solid) and validation accuracy (dashed) per epoch, one line per seed, each at its
# network's chosen learning rate. The dots mark the epochs that the stopping rule kept.

# %%
fig, (ax_test, ax_loss) = plt.subplots(1, 2, figsize=(12, 4.2))
for colour, kind in zip(("C0", "C3"), KINDS):
    for i, seed in enumerate(SEEDS):
        run = runs[kind, best_lr[kind], seed]
        epochs = np.arange(1, len(run["test_curve"]) + 1)
        label = f"{kind} (lr {best_lr[kind]})" if i == 0 else None
        ax_test.plot(epochs, run["test_curve"], color=colour, label=label, alpha=0.8)
        ax_test.plot(epochs, run["history"]["val_accuracy"], color=colour, linestyle="--",
                     alpha=0.4)
        ax_test.plot(run["epoch"], run["test_curve"][run["epoch"] - 1], "o", color=colour)
        ax_loss.plot(epochs, run["history"]["loss"], color=colour, label=label, alpha=0.8)
ax_test.set(xlabel="fine-tuning epoch", ylabel="accuracy (%)", ylim=(0 if QUICK else 0.5, 1),
            title="Does the pre-trained start stay above the random one?")
ax_test.yaxis.set_major_formatter(PercentFormatter(1.0))
ax_loss.set(xlabel="fine-tuning epoch", ylabel="training cross-entropy (nats per digit)",
            yscale="log", title="Loss on the 400 training labels: which fits faster?")
for ax in (ax_test, ax_loss):
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, alpha=0.3)
# Colour says which start; line style says which split, so the legend shows both.
style_keys = [Line2D([], [], color="gray", label="test"),
              Line2D([], [], color="gray", linestyle="--", label="validation"),
              Line2D([], [], color="gray", marker="o", linestyle="", label="epoch kept")]
ax_test.legend(handles=ax_test.get_legend_handles_labels()[0] + style_keys, loc="best",
               fontsize=8)
ax_loss.legend()
fig.tight_layout()
print("saved", viz.save_figure(fig, FIGURES / "fine_tuning_curves.png"))

# %%
spread = {kind: 100 * np.ptp([runs[kind, best_lr[kind], seed]["test"] for seed in SEEDS])
          for kind in KINDS}
print(f"gain from pre-training {100 * gain:+.1f} points; spread between seeds (max - min): "
      f"pre-trained {spread['pre-trained']:.1f}, random {spread['random']:.1f} points")

# %% [markdown]
# Each net is scored at the learning rate that its validation set prefers (printed
# above). **Pre-training gains several points of test accuracy**, and the line above
# sets that gain beside the spread between seeds (the pre-trained seeds each have their
# own DBN): the gap is much larger than the noise between runs. The curves differ in
# shape too: the pre-trained net is close to its final accuracy after one epoch and
# levels off within a few, while the random net starts far lower, needs tens of epochs,
# and levels off lower. Its dashed validation curves are jagged because 100 validation
# digits is a small sample, one digit being one point; that is also why the stopping rule
# meets many ties.

# %% [markdown]
# ## 6. Why? Optimisation, regularisation, or just a slow baseline?
#
# Erhan et al. set two explanations against each other. If pre-training only helped the
# **optimiser**, its advantage would show up as a lower *training* loss, and a random
# start given a good learning rate and enough time would catch up. If it acts as a
# **regulariser**, the two nets would differ in test accuracy even when they fit the
# training labels equally well. Four measurements:
#
# 1. **A longer run for the random start.** Its validation accuracy was still creeping
#    up at epoch 40 (the best epochs above are late), so we give it 100 epochs, same
#    rate and rule.
# 2. **Every learning rate.** The table of section 4 shows whether any rate lets the
#    random start catch up.
# 3. **Test accuracy at equal training loss.** The right-hand plot shows that here the
#    pre-trained net *also* fits the 400 labels faster: its training loss is lower at
#    every epoch, so in this experiment pre-training does help the optimiser. To see
#    whether that is the whole story, compare the two at the first epoch where each
#    reaches the same training loss, 0.1.
# 4. **How far fine-tuning moves the first layer**, relative to where it started:
#    $\lVert W_\text{end} - W_\text{start}\rVert / \lVert W_\text{start}\rVert$.

# %%
long_epochs = 3 if QUICK else 100
long_run = fine_tune(random_mlp(SEEDS[0]), best_lr["random"], SEEDS[0], epochs=long_epochs)
print(f"random start, lr {best_lr['random']}, seed {SEEDS[0]}, {long_epochs} epochs: epoch "
      f"{long_run['epoch']} chosen, test accuracy {long_run['test']:.1%} (best test accuracy "
      f"of any epoch {max(long_run['test_curve']):.1%}, last epoch "
      f"{long_run['test_curve'][-1]:.1%})")
SUMMARY[f"random start trained {long_epochs} epochs (seed {SEEDS[0]}): test acc."] = (
    f"{long_run['test']:.1%}")

LOSS_LEVEL = 0.1
print(f"\n{'start':>12} {'lr':>5} {'train acc.':>11} {'test acc.':>10} {'first layer moved':>18}")
for kind in KINDS:
    for lr in LEARNING_RATES:
        chosen = [runs[kind, lr, seed] for seed in SEEDS]
        train = np.median([r["train"] for r in chosen])
        test = np.median([r["test"] for r in chosen])
        moved = np.median([r["moved"] for r in chosen])
        print(f"{kind:>12} {lr:>5} {train:>11.1%} {test:>10.1%} {moved:>18.1%}")

print(f"\nthe first epoch with training loss below {LOSS_LEVEL}, and the test accuracy then:")
at_level = {}
for kind in KINDS:
    for seed in SEEDS:
        run = runs[kind, best_lr[kind], seed]
        below = [i for i, loss in enumerate(run["history"]["loss"]) if loss < LOSS_LEVEL]
        if below:
            at_level.setdefault(kind, []).append(run["test_curve"][below[0]])
            print(f"{kind:>12}, seed {seed}: epoch {below[0] + 1:>3}, training loss "
                  f"{run['history']['loss'][below[0]]:.3f}, test accuracy "
                  f"{run['test_curve'][below[0]]:.1%}")
        else:
            print(f"{kind:>12}, seed {seed}: never below {LOSS_LEVEL} in {FT_EPOCHS} epochs")
if len(at_level) == len(KINDS):
    SUMMARY[f"test acc. at training loss < {LOSS_LEVEL} (median, pre-trained / random)"] = (
        f"{np.median(at_level['pre-trained']):.1%} / {np.median(at_level['random']):.1%}")

moved = {kind: [runs[kind, best_lr[kind], s] for s in SEEDS] for kind in KINDS}
for kind, chosen in moved.items():
    print(f"{kind:>12}: first-layer weight norm {np.median([r['start_norm'] for r in chosen]):.1f}"
          f" at the start; fine-tuning moved it by "
          f"{np.median([r['moved_by'] for r in chosen]):.2f} "
          f"({np.median([r['moved'] for r in chosen]):.1%}), medians over seeds")
moved = {kind: np.median([r["moved"] for r in chosen]) for kind, chosen in moved.items()}
SUMMARY["first layer moved in fine-tuning (pre-trained / random)"] = (
    f"{moved['pre-trained']:.1%} / {moved['random']:.1%} of its starting norm")

tuned = runs["pre-trained", best_lr["pre-trained"], SEEDS[0]]["model"]
fig = viz.plot_filters(tuned[0].weight.numpy()[:, :100], image_shape=(28, 28),
                       title="The same 100 units after fine-tuning: compare with pre-training"
                       + FILTER_KEY)
print("saved", viz.save_figure(fig, FIGURES / "filters_fine_tuned.png"))

# %%
every_run = {kind: [runs[kind, lr, seed]["test"] for lr in LEARNING_RATES for seed in SEEDS]
             for kind in KINDS}
print(f"worst pre-trained run at any rate: {min(every_run['pre-trained']):.1%}; best random "
      f"run at any rate: {max(every_run['random']):.1%}")

# %% [markdown]
# What the four measurements say (each number is in the printout above):
#
# 1. **The random start is not just slow.** With 100 epochs it ends about where it did
#    with 40, and no epoch of the long run comes near the pre-trained nets.
# 2. **No learning rate rescues it.** The worst pre-trained run, at any rate and seed,
#    beats the best random run.
# 3. **Both effects are present.** Pre-training does speed up the optimiser here: the
#    pre-trained nets get their training loss below 0.1 in far fewer epochs than the
#    random ones. But at that *same* training loss the pre-trained nets score several
#    points higher on the test digits. They fit the 400 labels equally well and
#    generalise differently, which is what Erhan et al. call a regularisation effect: the
#    starting point decides which of the many good fits to the labels gradient descent
#    ends in.
# 4. **Fine-tuning hardly touches the pre-trained features.** The first layer moves by a
#    few per cent of its norm at most, against over a third for the random start, and the
#    filters after fine-tuning look just like the ones before. Part of the reason is that
#    CD grew large weights (compare the two starting norms: Glorot's scale against CD's,
#    about three times larger), which saturate many sigmoids and shrink the gradients that
#    reach the first layer. So the pre-trained net mostly learns to *read* features that
#    were chosen by modelling the images, while the random net has to invent its features
#    from 400 labels and ends up with ones that fit those 400 digits and carry over less
#    well to new ones.

# %% [markdown]
# ## 7. Does the advantage shrink as labels grow?
#
# If pre-training acts as a regulariser, its value should fall as the labelled set grows,
# since the labels alone then pin the weights down better. We repeat the comparison with
# 100 and 2,000 labelled digits (again 80 % for training, 20 % for validation, the same
# rule, each net at its chosen learning rate). A fixed number of *epochs* would give the
# small set a fifth of the updates and the large one four times as many, so instead the
# number of SGD steps is kept the same (800): 200 epochs of 100 labels, 10 epochs of
# 2,000. To stay within the time budget this uses the first seed only, so read the
# numbers as a trend, not to the last point. The DBN is the same one: pre-training saw
# all 4,000 images without labels in every case.

# %%
seed = SEEDS[0]
by_count = {}
for n in LABEL_COUNTS:
    for kind in KINDS:
        if n == N_LABELLED:
            by_count[kind, n] = runs[kind, best_lr[kind], seed]["test"]
        else:
            epochs = max(1, round(FT_EPOCHS * N_LABELLED / n))  # the same number of steps
            by_count[kind, n] = fine_tune(make_model(kind, seed), best_lr[kind], seed,
                                          n_labelled=n, epochs=epochs, track_test=False)["test"]
    print(f"{n:>5} labels: pre-trained {by_count['pre-trained', n]:.1%}, random "
          f"{by_count['random', n]:.1%}, gain "
          f"{100 * (by_count['pre-trained', n] - by_count['random', n]):+.1f} points")
SUMMARY["gain by number of labels (seed 1): " + " / ".join(map(str, LABEL_COUNTS))] = (
    " / ".join(f"{100 * (by_count['pre-trained', n] - by_count['random', n]):+.1f}"
               for n in LABEL_COUNTS) + " points")

# %% [markdown]
# The gain is largest with 100 labels, but it does not keep shrinking: with 500 and with
# 2,000 labels it is about the same, as the lines above show. (With one seed per point,
# differences of a point or so are noise.) A penalty such as weight
# decay fades as more labels pin the weights down; this effect had not faded by 2,000
# labels. Erhan et al. met the same puzzle on a far larger scale: in their online
# experiments, with a practically endless stream of examples, the pre-trained networks
# stayed ahead, and they concluded that splitting the effect into "optimisation" and
# "regularisation" is too simple. Section 6 points the same way: both happen here.
#
# ## Summary
#
# * A DBN is trained greedily: one RBM on the pixels, the next on the first one's hidden
#   probabilities. Each step is a shallow problem that CD can handle; here, 15 epochs of
#   each of two 500-unit RBMs on 4,000 grey digits take well under a minute per DBN.
# * `DBN.to_mlp` reads the stack as a sigmoid MLP and adds a fresh output layer; backprop
#   then fine-tunes all of it on the labels.
# * With 500 labels (400 to train, 100 to choose the epoch and the learning rate), the
#   pre-trained 784-500-500-10 net beats the same net from a Glorot-uniform start by
#   several points of test accuracy (the key numbers below), at every learning rate tried
#   and for every seed, and longer training does not close the gap.
# * It fits the labels faster *and* generalises better at equal training loss, and
#   fine-tuning barely moves its first layer. The gain is largest with the fewest labels
#   but had not faded at 2,000.
# * Why it is rarely used now: good random scales, ReLUs, normalisation and large labelled
#   sets made the random start good enough; and where labels are scarce, today's
#   self-supervised pre-training plays the role that the DBN plays here.

# %%
SUMMARY.show(QUICK)
