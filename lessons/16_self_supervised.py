# %% [markdown]
# # Lesson 16: self-supervised learning
#
# Labels are expensive; images are not. **Self-supervised learning** trains a network on a
# task whose answers come from the data itself: hide part of each image, and ask the
# network to say what was hidden. Nobody labels anything, yet to answer well the network
# has to learn how the images are made: where strokes go, which way is up, what a whole
# digit looks like. The task is a **pretext**: we do not care about its answers. What we
# keep is the **encoder**, whose features should then make a real task easy with only a
# few labels.
#
# The course's self-supervision lecture gives four ways of hiding something, and the field
# has since added a fifth, which now defines it:
#
# | task | what is hidden | what the network must know to find it |
# |---|---|---|
# | rotation (Gidaris et al., 2018) | the angle: 0°, 90°, 180° or 270° | an upright digit's look |
# | jigsaw (Noroozi & Favaro, 2016) | where each tile belongs | how a digit's parts fit |
# | context encoder (Pathak et al., 2016) | a square of pixels | how strokes continue |
# | colorization (Zhang et al., 2016) | the colour | what colour such shapes have |
# | SimCLR (Chen et al., 2020) | which views share an image | what a shift, tilt or noise keeps |
#
# ## How we score a representation
#
# Every task here trains the same encoder, `representations.digit_encoder`: two strided
# 3×3 convolutions and a Dense layer to 128 features. After the pretext training we
# freeze it and ask how much its features know about the digit's class, using
# `metrics.linear_probe`: a multinomial logistic regression fitted on only **10 or 100
# labelled digits per class**, with its L2 strength chosen on a validation split of those
# same few labels, and scored on the test digits. Each budget is drawn several times with
# different seeds (five in full mode); the table gives the median and the range (min to
# max) over the draws.
# Two results whose ranges overlap are not told apart by this experiment.
#
# Two yardsticks frame the numbers:
#
# * **raw pixels** and an **untrained encoder** (random weights): a pretext task has
#   taught the encoder something only if its features beat these;
# * a **supervised** network, the same encoder trained end to end on the very same few
#   labels: what the labels alone can do.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

import scratchnet as sn
from scratchnet import datasets, representations, viz
from scratchnet.lesson import KeyNumbers, bundled_mnist, figure_dir, quick_mode

QUICK = quick_mode()  # `--quick` or SCRATCHNET_QUICK=1: tiny data, an epoch each
FIGURES = figure_dir("16_self_supervised")
SUMMARY = KeyNumbers("Key numbers from this lesson (linear probe: median test accuracy over "
                     "the label draws):")

sn.manual_seed(0)
x_train, y_train, x_test, y_test = bundled_mnist(QUICK)
# Labels per class for the probe; quick mode's 300 digits hold 30 of each class.
BUDGETS = (5, 20) if QUICK else (10, 100)
SEEDS = 2 if QUICK else 5  # label draws per budget
EPOCHS = {name: 1 if QUICK else epochs
          for name, epochs in representations.PRETEXT_TASKS.items()}
print(f"quick mode: {QUICK}; MNIST train {x_train.shape} (labels unused until the probe), "
      f"test {x_test.shape}; figures go to {FIGURES}")

results = {}


def train(model, images, name):
    """Train a pretext task for its epochs; the History, and how long it took, in words."""
    start = time.perf_counter()
    history = representations.train_pretext(model, images, EPOCHS[name])
    return history, f"after {EPOCHS[name]} epochs ({time.perf_counter() - start:.0f} s)"


def report(name, scores):
    """Print one representation's probe scores and keep them for the final table."""
    results[name] = scores
    print(representations.results_table({name: scores}, BUDGETS))
    for m in BUDGETS:
        SUMMARY[f"{name}: probe at {m} labels/class"] = f"{scores[m]['median']:.1%}"


# %% [markdown]
# ## 1. The yardsticks: pixels, and an encoder that has learned nothing
#
# `representations.evaluate` extracts the features of both splits, runs the linear probe
# at each label budget, and adds the cosine k-nearest-neighbour accuracy with every
# training label (`metrics.knn_accuracy`, no fitting at all). The encoder's size is printed
# too: it matters in section 7.

# %%
report("raw pixels", representations.evaluate(
    lambda x: x.reshape(len(x), -1), x_train, y_train, x_test, y_test, BUDGETS, SEEDS))
untrained = representations.digit_encoder(rng=0).eval()
print(f"the shared encoder has {untrained.num_parameters():,} parameters")
report("untrained encoder", representations.evaluate(
    untrained, x_train, y_train, x_test, y_test, BUDGETS, SEEDS))

# %% [markdown]
# Random convolutional features are no fools: each filter responds to some local pattern of
# strokes, and a linear classifier can combine 128 such responses. Compare the two rows to
# see whether randomness already beats the pixels here; either way, the untrained encoder is
# the bar each pretext task must clear, since every task starts from exactly these weights
# (the jigsaw's encoder from the same layers built for 14 × 14 tiles).
#
# ## 2. Rotation: which way is up?
#
# `models.RotationPrediction` shows the network all four rotations of every image in the
# batch (labels 0–3 quarter turns anticlockwise) and trains a 4-way classifier on the
# encoder's features. A 4 turned by 180° looks like nothing upright, so recognising the
# rotation means knowing the upright shapes. Chance is 25%.

# %%
rotation = representations.pretext_model("rotation", rng=0)
history, trained = train(rotation, x_train, "rotation")
rotation_accuracy = rotation.accuracy(x_test)
print(f"{trained}: pretext loss {history['loss'][-1]:.3f} nats "
      f"(chance log 4 = {np.log(4):.3f}); held-out rotation accuracy {rotation_accuracy:.1%}")
SUMMARY["rotation: held-out pretext accuracy"] = f"{rotation_accuracy:.1%}"

images, angles = rotation.rotated_batch(x_test[:6])
predicted = rotation.predict(images)
fig, axes = plt.subplots(4, 6, figsize=(7, 5))
for ax, image, truth, guess in zip(axes.flat, images.numpy(), angles, predicted, strict=True):
    ax.imshow(image[0], cmap="gray", vmin=0, vmax=1)
    ax.set_title(f"{90 * guess}°" + ("" if guess == truth else f" (is {90 * truth}°)"),
                 fontsize=8, color="black" if guess == truth else "red")
    ax.set_axis_off()
fig.suptitle("Rotation pretext task: each row is one true angle; titles give the predicted "
             "angle (red: wrong)", fontsize=9)
print("saved", viz.save_figure(fig, FIGURES / "rotation_predictions.png"))
report("rotation", representations.evaluate(
    rotation.features, x_train, y_train, x_test, y_test, BUDGETS, SEEDS))

# %% [markdown]
# The figure's rows are the batch turned by 0°, 90°, 180° and 270°. The mistakes are more
# telling than the successes, so here are the first held-out ones, with their digit:

# %%
images, angles = rotation.rotated_batch(x_test)
predicted = rotation.predict(images)
wrong = np.flatnonzero(predicted != angles)[:10]
print(f"{len(np.flatnonzero(predicted != angles))} of {len(angles)} rotated test digits "
      "misjudged")
if len(wrong):
    fig, axes = plt.subplots(1, len(wrong), figsize=(1.3 * len(wrong) + 0.5, 2.0),
                             squeeze=False)
    for ax, i in zip(axes[0], wrong, strict=True):
        ax.imshow(images.numpy()[i, 0], cmap="gray", vmin=0, vmax=1)
        ax.set_title(f"a {y_test[i % len(x_test)]} at {90 * angles[i]}°\nseen as "
                     f"{90 * predicted[i]}°", fontsize=8)
        ax.set_axis_off()
    fig.suptitle("Rotation mistakes on held-out digits: the digit, its true angle and the "
                 "predicted one", fontsize=9)
    fig.tight_layout()
    print("saved", viz.save_figure(fig, FIGURES / "rotation_mistakes.png"))

# %% [markdown]
# Look for digits that read as something plausible in two orientations: a 0 or a 1 is
# nearly the same turned by 180°, and a 6 turned upside down is a 9. For such images the
# angle cannot be known from the shape alone, and no encoder could get them all right.
#
# ## 3. Jigsaw puzzles: where does each piece go?
#
# `models.JigsawPuzzle` cuts each digit into a 2 × 2 grid of 14 × 14 tiles and shuffles
# them with one of a fixed set of permutations. The encoder (the same architecture, built
# for 14 × 14 inputs) sees each tile alone, with shared weights, and a small head reads
# the four tiles' features side by side and names the permutation. Noroozi & Favaro chose
# the permutation set to be far apart in Hamming distance (the number of tiles two
# shuffles place differently), so that no two classes are nearly the same puzzle:
# `models.permutation_set` picks them greedily, each new one the candidate whose nearest
# chosen permutation is farthest away. (Noroozi & Favaro's own rule ranks candidates by
# their average distance to the chosen set; taking the nearest one instead is what
# guarantees the minimum distance printed below.) With 2 × 2 tiles there are only
# 4! = 24 permutations, and the model uses all of them, so that swapping any two tiles
# changes the answer. The model trains without `JigsawPuzzle(..., jitter=)`, so the tiles'
# edges line up exactly, as they did in the image.

# %%
jigsaw = representations.pretext_model("jigsaw", rng=0)
n_permutations = len(jigsaw.permutations)
print(f"{n_permutations} permutations of 4 tiles, minimum Hamming distance "
      f"{jigsaw.min_hamming_distance}; chance accuracy {1 / n_permutations:.1%}")
history, trained = train(jigsaw, x_train, "jigsaw")
jigsaw_accuracy = jigsaw.accuracy(x_test)
print(f"{trained}: pretext loss {history['loss'][-1]:.3f} nats "
      f"(chance {np.log(n_permutations):.3f}); held-out accuracy {jigsaw_accuracy:.1%}")
SUMMARY["jigsaw: held-out pretext accuracy"] = (
    f"{jigsaw_accuracy:.1%} (chance {1 / n_permutations:.1%})")

tiles, labels = jigsaw.shuffled_batch(x_test[:8], rng=1)
solved, guesses = jigsaw.solve(tiles)
rows = np.concatenate([jigsaw.assemble(tiles).numpy(), jigsaw.assemble(solved).numpy()])
fig = viz.image_grid(rows, nrow=2, title="Jigsaw: shuffled puzzles (top) and the network's "
                     "solutions (bottom)")
print("saved", viz.save_figure(fig, FIGURES / "jigsaw_solutions.png"))
print("solved right:", [bool(g == t) for g, t in zip(guesses, labels, strict=True)])
report("jigsaw", representations.evaluate(
    jigsaw.features, x_train, y_train, x_test, y_test, BUDGETS, SEEDS))

# %% [markdown]
# The probe reads the jigsaw's features as the four tiles of the digit, each through the
# trained encoder, in their true places (`JigsawPuzzle.features`). The encoder has never
# seen a whole digit: everything it knows, it learned from quarters.
#
# ## 4. Context encoders: paint in what is missing
#
# `models.ContextEncoder` hides a 14 × 14 square of each digit (here at a random place,
# so that every part of a digit is sometimes missing), fills it with the image's mean
# grey, and trains the encoder and a decoder (`representations.digit_decoder`) to paint
# the hole. The loss is the squared error over the hidden pixels only: what the decoder
# draws elsewhere costs nothing. Two yardsticks: the fill itself, and the average training
# digit, which knows where ink usually is but ignores the context.

# %%
context = representations.pretext_model("context encoder", rng=0)
history, trained = train(context, x_train, "context encoder")
masks = context.masks(x_test, rng=2)
hidden = context.hide(x_test, masks)
painted = context.inpaint(x_test, masks)
hole = masks.astype(bool).repeat(x_test.shape[1], axis=1)
fill_mse = float(((hidden.numpy() - x_test)[hole] ** 2).mean())
average = np.broadcast_to(x_train.mean(axis=0), x_test.shape)
average_mse = float(((average - x_test)[hole] ** 2).mean())
painted_mse = float(((painted.numpy() - x_test)[hole] ** 2).mean())
print(f"{trained}: squared error on the hidden pixels {painted_mse:.4f}, against "
      f"{fill_mse:.4f} for the fill and {average_mse:.4f} for the average training digit")
SUMMARY["context encoder: hole MSE (fill; average digit)"] = (
    f"{painted_mse:.4f} ({fill_mse:.4f}; {average_mse:.4f})")
fig = viz.image_grid(np.concatenate([x_test[:8], hidden.numpy()[:8], painted.numpy()[:8]]),
                     nrow=3, title="Context encoder: digits, the hidden square, the "
                     "painted hole (rows)")
print("saved", viz.save_figure(fig, FIGURES / "context_encoder_inpainting.png"))
report("context encoder", representations.evaluate(
    context.features, x_train, y_train, x_test, y_test, BUDGETS, SEEDS))

# %% [markdown]
# Where the hole covers the end of a stroke, the painting follows it on; where the hole
# hides what tells a 4 from a 9, the decoder hedges with a blur. Squared error rewards the
# average of the plausible completions, and an average of strokes is grey. Pathak et al.
# added an adversarial loss (`ContextEncoder(..., adversarial=λ)`) for sharper fills; the
# features, which are what we score, come from the same encoder either way.
#
# ## 5. Colorization: a task the data makes impossible
#
# MNIST has no colour, so `datasets.colorize` adds some: each digit is tinted one hue,
# drawn at random. `models.Colorization` follows Zhang et al.: it sees only the grey image,
# and for every stroke pixel it classifies the hue into 12 bins of 30°, with a
# cross-entropy weighted by the ink (the black background has no hue to predict).

# %%
# The hues of lesson 17's colorization entry (seed 0), so that the two lessons agree.
colour_train = datasets.colorize(x_train, rng=0)
colour_test = datasets.colorize(x_test, rng=4)
colorization = representations.pretext_model("colorization", rng=0)
history, trained = train(colorization, colour_train, "colorization")
hue_accuracy = colorization.accuracy(colour_test)
hue_entropy = colorization.entropy(colour_test)
n_bins = colorization.n_bins
# What a network that ignores the image entirely can score on these test digits: always
# answering the bin that holds the most ink (a thousand random hues are not exactly uniform).
grey, bins = colorization.targets(colour_test)
ink_per_bin = np.bincount(bins.ravel(), weights=grey.ravel(), minlength=n_bins)
fixed_guess = ink_per_bin.max() / ink_per_bin.sum()
print(f"{trained}: held-out hue accuracy {hue_accuracy:.1%} (chance {1 / n_bins:.1%}; "
      f"the best fixed answer on these digits {fixed_guess:.1%}); predicted entropy "
      f"{hue_entropy:.3f} nats (uniform: log {n_bins} = {np.log(n_bins):.3f})")
SUMMARY["colorization: held-out hue accuracy"] = (
    f"{hue_accuracy:.1%} (best fixed answer {fixed_guess:.1%})")
fig = viz.image_grid(np.concatenate([colour_test[:8], np.repeat(x_test[:8], 3, axis=1),
                                     colorization.paint(x_test[:8]).numpy()]),
                     nrow=3, title="Colorization: tinted digits, the grey input, the "
                     "predicted colours (rows)")
print("saved", viz.save_figure(fig, FIGURES / "colorization.png"))
report("colorization", representations.evaluate(
    colorization.features, x_train, y_train, x_test, y_test, BUDGETS, SEEDS))

# %% [markdown]
# Compare the accuracy with chance and with the best fixed answer, and the entropy with its
# uniform ceiling, all printed above. The hue was drawn independently of the digit, so the
# grey image holds no information about it: no network can do better than a fixed answer
# except by luck of the test draw, and the best it can do in expectation is to predict
# the uniform distribution over hues for every stroke pixel. Nothing in that goal asks the
# encoder to keep anything, and one quick way to make every pixel's prediction the same is
# to make the features the same for every image. We measure how many of the 128 features
# are silent (zero on every test digit, a ReLU that never fires) before and after, and how
# the probe changed:

# %%
def silent_features(features):
    return int((representations.extract_features(features, x_test).max(axis=0) == 0).sum())


few = BUDGETS[0]
change = results["colorization"][few]["median"] - results["untrained encoder"][few]["median"]
print(f"silent features: untrained encoder {silent_features(untrained)}, after colorization "
      f"{silent_features(colorization.features)}; probe at {few} labels per class "
      f"{100 * change:+.1f} points from the untrained encoder")

# %% [markdown]
# The first two numbers say whether the colorization training switched features off; the
# last says whether the encoder came out knowing less about digits than it did at random
# initialisation, which is what a task with nothing to learn can do to a network: its
# gradients still move the weights, towards whatever makes the useless answer easiest.
#
# That is the lesson of this section. Colorization teaches a network about objects in
# photographs because there colour *depends* on content: grass is green, sky is blue, a
# face has a narrow range of hues. A pretext task is only as good as the dependence
# between what is hidden and what is shown. (Predicting the colour by regression would
# fare no better: the mean of random hues is grey, which is why Zhang et al. classify.)
#
# ## 6. SimCLR: the same digit, seen twice
#
# `models.SimCLR` makes two random views of every image (a shift of up to 3 pixels, a
# rotation of up to 20°, pixel noise), passes all 2N views through the encoder and a small
# projection head, and trains with the NT-Xent loss (`F.nt_xent`): each view must pick
# its partner out of the other 2N − 1 by cosine similarity. Nothing is reconstructed;
# the encoder only has to map the two views of one digit close together and different
# digits apart. The head is dropped afterwards and the encoder's features are scored.

# %%
simclr = representations.pretext_model("SimCLR", rng=0)
history, trained = train(simclr, x_train, "SimCLR")
print(f"{trained}: NT-Xent {history['loss'][-1]:.3f} nats (chance "
      f"for a batch of {representations.SIMCLR_BATCH}: log(2·{representations.SIMCLR_BATCH} − 1)"
      f" = {np.log(2 * representations.SIMCLR_BATCH - 1):.3f})")
view_1, view_2 = simclr.views(x_test[:8], rng=5)
fig = viz.image_grid(np.concatenate([view_1.numpy(), view_2.numpy()]), nrow=2,
                     value_range=None, title="SimCLR: two random views of each digit "
                     "(columns); the loss pulls each pair together")
print("saved", viz.save_figure(fig, FIGURES / "simclr_views.png"))
report("SimCLR", representations.evaluate(
    simclr.features, x_train, y_train, x_test, y_test, BUDGETS, SEEDS))

# %% [markdown]
# ## 7. The supervised reference: the same encoder, trained on the labels
#
# `representations.supervised_reference` trains the encoder with a 10-way head from
# scratch, on exactly the labelled digits the probe sees in each draw
# (`metrics.labelled_examples`), and scores the test set.

# %%
supervised = {m: representations.supervised_reference(
    x_train, y_train, x_test, y_test, labels_per_class=m, seeds=SEEDS, quick=QUICK)
    for m in BUDGETS}
results["supervised (same labels)"] = supervised
print(representations.results_table({"supervised (same labels)": supervised}, BUDGETS))
for m in BUDGETS:
    SUMMARY[f"supervised: test accuracy at {m} labels/class"] = f"{supervised[m]['median']:.1%}"

# %% [markdown]
# ## 8. Side by side

# %%
print(representations.results_table(results, BUDGETS))
families = {name: "yardstick" for name in ("raw pixels", "untrained encoder")}
families |= {name: "pretext task" for name in representations.PRETEXT_TASKS}
families["supervised (same labels)"] = "supervised"
fig = viz.plot_probes(results, BUDGETS, families=families, reference="raw pixels",
                     title="Linear probe on each pretext task's encoder: dots are medians, "
                     f"whiskers the range over {SEEDS} label draws")
print("saved", viz.save_figure(fig, FIGURES / "probe_comparison.png"))

few = BUDGETS[0]
pretext = [name for name, family in families.items() if family == "pretext task"]
best = max(pretext, key=lambda name: results[name][few]["median"])
gain = results[best][few]["median"] - results["raw pixels"][few]["median"]
separated = results[best][few]["spread"][0] > results["raw pixels"][few]["spread"][1]
print(f"At {few} labels per class the best pretext task is {best}, "
      f"{100 * gain:+.1f} points from raw pixels; their ranges "
      f"{'do not overlap' if separated else 'overlap, so the two are not told apart'}.")
tied = representations.indistinguishable(results, few)
print(f"Not told apart from the best entry at {few} labels per class: {', '.join(tied)}.")
floor = results["untrained encoder"][few]["spread"][1]
cleared = [name for name in pretext if results[name][few]["spread"][0] > floor]
print(f"Pretext tasks whose whole range lies above the untrained encoder's: "
      f"{', '.join(cleared) or 'none'}; the others: "
      f"{', '.join(n for n in pretext if n not in cleared) or 'none'}.")
SUMMARY[f"best pretext task at {few} labels/class"] = f"{best} ({100 * gain:+.1f} points)"

# %% [markdown]
# The printed sentence names the task that did best with the fewest labels, and whether its
# margin over the pixels is larger than the scatter between label draws. Three things to
# read from the table and the figure:
#
# * **The supervised reference need not be a ceiling at few labels.** With 10 labels per
#   class it sees a hundred digits in all, and a network with the parameter count printed
#   in section 1 can fit them by heart; the probe on a pretext encoder fits only a linear
#   layer, on features learned from every unlabelled training digit. Compare its row with
#   the pretext tasks', and see the printed list of entries not told apart from the best.
#   With ten times the labels the supervised network has more to go on; compare its two
#   columns.
# * **What the task hides decides what the encoder learns.** A context encoder that hides
#   a quarter of a digit can paint it back only by knowing which digit it is, and SimCLR
#   rewards features that stay put under a shift, a tilt and noise yet differ between
#   digits: both objectives are close to the question the probe asks. Rotation and the
#   jigsaw can also be answered from low-level cues (where the ink sits and which way the
#   strokes end; for the jigsaw, trained without jitter, strokes that run on across the
#   cuts), and a network takes the easiest route to a low loss. Colorization asks for
#   nothing the grey image holds. The printed list above says which tasks cleared the
#   untrained encoder.
# * **Pretext accuracy is not the goal.** Set the pretext accuracies in the key-number
#   table beside the probe columns: a task solved almost perfectly can leave the features
#   no better than random weights. Only the probe says how good a pretext task was.
#
# Lesson 17 puts these encoders beside every other representation the course has built.

# %%
SUMMARY.show(QUICK)

# %% [markdown]
# ## Exercises
#
# `exercises/16_self_supervised.py` holds three exercises: `rotation_targets`, the four
# rotations of a batch and their labels in RotationPrediction's order; `max_hamming_set`,
# the greedy choice of a permutation set with a large minimum Hamming distance; and
# `nt_xent`, the SimCLR loss in NumPy, checked against `F.nt_xent`. Fill them in and run
# `scratchnet check 16` (`--file my_copy.py` grades another file). Reference solutions are
# in `exercises/solutions/`.
