# %% [markdown]
# # Lesson 17: one leaderboard for every representation in the course
#
# Since lesson 3 this course has built models that learn from images without labels:
# PCA, five kinds of autoencoder, a convolutional one, the VAE and the β-VAE, the RBM and
# the DBN, a GAN, and lesson 16's five pretext tasks. Each lesson judged its model by its
# own yardstick: reconstruction error, the ELBO, pseudo-likelihood, samples, pretext
# accuracy. Those numbers cannot be compared across families. This lesson asks all of them
# one question: **how much does the representation know about what the digit is?**
#
# ## One protocol for all
#
# * **Same data.** Every model trains on the same unlabelled training digits, and its
#   features are scored on the same test digits.
# * **Same probe.** `metrics.linear_probe` fits logistic regression on the frozen features
#   with **10 or 100 labels per class**, its L2 strength picked on a validation split of
#   those labels, over seeded label draws (five in full mode). `metrics.knn_accuracy` adds
#   a probe with nothing fitted at all (cosine 10-nearest neighbours with every training
#   label).
# * **Same encoder, where the design is free.** The pretext tasks and the supervised
#   reference all use `representations.digit_encoder` (128 features), and the same encoder
#   with its random initial weights, never trained, is an entry of its own: what the
#   architecture gives for free. The classic models keep the architectures of their own
#   lessons, at code sizes shown in the table.
# * **Short training.** Each model gets seconds to a minute (`representations.LEADERBOARD`
#   holds every recipe): equal effort, not each model at its best. Lessons 03–16 train
#   them at length.
#
# A probe measures what a *linear* reader can get out of the features. A representation
# can hold the information in a form a linear layer cannot use, and then it ranks lower
# than it "knows"; the k-NN column, which only asks whether digits of a class are close
# together, is a second opinion.

# %%
import time

import matplotlib.pyplot as plt

import scratchnet as sn
from scratchnet import models, representations, viz
from scratchnet.lesson import KeyNumbers, bundled_mnist, figure_dir, quick_mode

QUICK = quick_mode()  # `--quick` or SCRATCHNET_QUICK=1: tiny data, an epoch each
FIGURES = figure_dir("17_representation_leaderboard")
SUMMARY = KeyNumbers("Key numbers from this lesson (linear probe: median test accuracy over "
                     "the label draws):")

sn.manual_seed(0)
x_train, y_train, x_test, y_test = bundled_mnist(QUICK)
BUDGETS = (5, 20) if QUICK else (10, 100)   # labels per class
SEEDS = 2 if QUICK else 5                   # label draws per budget
print(f"quick mode: {QUICK}; MNIST train {x_train.shape}, test {x_test.shape}; figures go "
      f"to {FIGURES}")

# %% [markdown]
# ## 1. Learn every representation, then probe it
#
# Each entry's `learn(images, quick, seed)` trains on the training images alone and
# returns the function that maps images to features. The loop keeps the test features
# for the pictures of section 4.

# %%
results, families, test_features, seconds = {}, {}, {}, {}
for entry in representations.LEADERBOARD:
    start = time.perf_counter()
    features = entry.learn(x_train, QUICK, 0)
    train_f = representations.extract_features(features, x_train)
    test_f = representations.extract_features(features, x_test)
    seconds[entry.name] = time.perf_counter() - start
    results[entry.name] = representations.score_features(train_f, y_train, test_f, y_test,
                                                          BUDGETS, SEEDS)
    families[entry.name] = entry.family
    test_features[entry.name] = test_f
    few = results[entry.name][BUDGETS[0]]
    print(f"{entry.name:<28} {entry.family:<16} learned in {seconds[entry.name]:5.1f} s; "
          f"probe at {BUDGETS[0]} labels/class {few['median']:.1%}", flush=True)

# %% [markdown]
# ## 2. The supervised reference
#
# The same encoder with a 10-way head, trained from scratch on exactly the labelled digits
# the probe sees in each draw (`metrics.labelled_examples`). It has no unlabelled data to
# learn from: it shows what the labels alone can do.

# %%
reference = "supervised (same labels)"
results[reference] = {m: representations.supervised_reference(
    x_train, y_train, x_test, y_test, labels_per_class=m, seeds=SEEDS, quick=QUICK)
    for m in BUDGETS}
families[reference] = "supervised"
print(representations.results_table({reference: results[reference]}, BUDGETS))

# %% [markdown]
# ## 3. The leaderboard
#
# Rows keep the course's order, family by family. Read each probe column as a median with
# its range over the label draws.

# %%
print(representations.results_table(results, BUDGETS))
fig = viz.plot_probes(results, BUDGETS, families=families, reference="raw pixels",
                     title="Every representation, one linear probe: dots are medians, "
                     f"whiskers the range over {SEEDS} label draws")
print("saved", viz.save_figure(fig, FIGURES / "leaderboard.png"))

for m in BUDGETS:
    ranked = sorted((name for name in results if name != reference),
                    key=lambda name: -results[name][m]["median"])
    SUMMARY[f"best at {m} labels/class"] = (f"{ranked[0]} "
                                            f"({results[ranked[0]][m]['median']:.1%})")
    tied = representations.indistinguishable({n: results[n] for n in ranked}, m)
    print(f"At {m} labels per class, {ranked[0]} has the best median; its range overlaps "
          f"{len(tied) - 1} other entr{'y' if len(tied) == 2 else 'ies'}, which this "
          f"experiment cannot tell apart from it: {', '.join(tied[1:]) or 'none'}.")

few = BUDGETS[0]
self_supervised = [n for n in results if families[n] == "self-supervised"]
best_ssl = max(self_supervised, key=lambda n: results[n][few]["median"])
for baseline in ("raw pixels", "PCA (32)"):
    gain = results[best_ssl][few]["median"] - results[baseline][few]["median"]
    apart = results[best_ssl][few]["spread"][0] > results[baseline][few]["spread"][1]
    print(f"{best_ssl} against {baseline} at {few} labels per class: {100 * gain:+.1f} "
          f"points; ranges {'separate' if apart else 'overlap'}.")
    SUMMARY[f"{best_ssl} − {baseline}, {few} labels/class"] = f"{100 * gain:+.1f} points"
SUMMARY["slowest entry to learn"] = (f"{max(seconds, key=seconds.get)} "
                                     f"({max(seconds.values()):.0f} s)")

# %% [markdown]
# The printed sentences say which entries share first place at each budget: when the
# ranges overlap, the order between them in the table is luck of the label draw, not a
# property of the method. Five draws of ten labels per class are few, and the ranges
# at that budget are wide; at 100 labels per class they narrow, and more of the order
# becomes real.
#
# ## 4. What the best three look like
#
# Each panel projects the test digits' features onto their two principal directions
# (PCA of the features), coloured by the true digit the model never saw. Classes that
# form separate clouds here are easy for a linear probe; the projection shows only two
# directions of many, so overlap in the picture does not prove overlap in the features.

# %%
best_three = sorted((n for n in test_features), key=lambda n: -results[n][few]["median"])[:3]
fig, axes = plt.subplots(1, 3, figsize=(16, 4.6))
for ax, name in zip(axes, best_three, strict=True):
    projected = models.PCA(2).fit(test_features[name]).transform(test_features[name])
    viz.latent_scatter(projected, y_test, ax=ax,
                       title=f"{name}: probe {results[name][few]['median']:.1%}")
    ax.set_xlabel("first principal direction of the features (feature units)")
    ax.set_ylabel("second principal direction (feature units)")
fig.suptitle(f"The three best representations at {few} labels per class, projected to 2-D "
             "and coloured by digit: tighter clouds, easier probe")
fig.tight_layout()
print("saved", viz.save_figure(fig, FIGURES / "best_three_embeddings.png"))

# %% [markdown]
# ## 5. Why each family lands where it does
#
# First the facts, family by family, against the pixels:

# %%
pixels = results["raw pixels"]
for family in dict.fromkeys(families.values()):
    members = [n for n in results if families[n] == family]
    for m in BUDGETS:
        best = max(members, key=lambda n: results[n][m]["median"])
        above = [n for n in members
                 if results[n][m]["spread"][0] > pixels[m]["spread"][1]]
        below = [n for n in members
                 if results[n][m]["spread"][1] < pixels[m]["spread"][0]]
        print(f"{family:<16} {m:>3} labels/class: best {best} "
              f"({100 * (results[best][m]['median'] - pixels[m]['median']):+.1f} points "
              f"from raw pixels); clear above the pixels: {', '.join(above) or 'none'}; "
              f"clear below: {', '.join(below) or 'none'}")

# %% [markdown]
# "Clear" means the whole range of label draws lies on one side of the pixels' range.
# Here is the reasoning to read those lines with.
#
# **Raw pixels and PCA.** Pixels already separate MNIST digits well: the classes differ in
# where the ink is, and a linear probe on 784 pixels can weigh every position. PCA keeps
# the 32 directions of largest variance, and much of a digit's variance is stroke
# thickness and slant, which say little about its class. There is a second, subtler
# effect. The probe standardises every feature to unit variance before fitting, so in
# PCA's basis the 32nd component, a direction of small variance, weighs as much as the
# first. Whether PCA's row differs from the pixels' at all, the family lines above say.
#
# **The autoencoders.** A reconstruction loss asks the code to keep whatever is needed to
# redraw the digit, class or not. The linear autoencoder spans the same subspace as PCA
# (lesson 4), but in another basis, so the probe's standardisation treats it differently:
# compare their two rows. The deep, denoising and contractive variants add nonlinearity,
# and the last two add a push towards ignoring small perturbations, a step towards
# invariance; but nothing in a reconstruction loss says which perturbations matter for the
# class. The sparse code is overcomplete (256 units), and its L1 penalty keeps many units
# silent for any one digit, so that each digit is described by which units fire: a little
# like the RBM's parts. The convolutional autoencoder's code is a small spatial
# map of local stroke detectors.
#
# **The probabilistic models.** The VAE's μ is a compressed code, pulled towards a standard
# normal by the KL term; the β-VAE pulls harder (β = 4), which lesson 9 showed makes codes
# less detailed, and detail is what tells a 4 from a 9. The RBM's hidden units are binary
# part detectors (lesson 12's filters), and the probe reads which strokes are present: a
# representation made for a linear reader. The DBN stacks a second layer of detectors on
# the first, trained greedily, and its top layer can only keep what the first passed up.
#
# **The GAN's discriminator.** It is trained only to tell real digits from generated ones,
# and judging realism needs knowing how digits are drawn: Radford et al. used these
# features the same way. They are wide (768 numbers), and a linear probe on wide features
# needs labels: compare its spread at the two budgets. What the discriminator knows also
# depends on how far the game has come, and this one trained briefly.
#
# **The pretext tasks.** Lesson 16 explained each: hiding a quarter of a digit or asking
# which views show the same digit pushes the encoder towards the digit's identity;
# rotation and the jigsaw can be solved from low-level cues; colorization's hue is
# unpredictable, and training on it can only move the encoder away from the random
# features it started from (the untrained encoder's row) without teaching it. SimCLR is
# the objective that removes information most directly: it names the changes to ignore
# (a shift, a tilt, noise) and maps the two views of a digit together, so what those
# changes alter is dropped, and what remains is close to what the probe needs.
#
# **The supervised reference.** Trained end to end on the probe's own labels and nothing
# else. With few labels a network this size can memorise its training digits; with more it
# has more to go on, and it is the only entry trained for the question the probe asks.
# Where a frozen representation matches or beats it, the unlabelled digits have done the
# work that labels would otherwise have had to do.

# %%
SUMMARY.show(QUICK)

# %% [markdown]
# ## Exercises
#
# `exercises/17_representation_leaderboard.py` holds three exercises: `cosine_knn_predict`,
# the k-NN probe's vote with its tie rule; `draw_labels_per_class`, the probe's draw of m
# labelled examples per class; and `standardise`, the probe's feature scaling, with
# statistics from the training features only. Fill them in and run `scratchnet check 17`
# (`--file my_copy.py` grades another file). Reference solutions are in
# `exercises/solutions/`.
