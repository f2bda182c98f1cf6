# %% [markdown]
# # Lesson 19: image-to-image translation with pix2pix and CycleGAN
#
# Many image problems have the same shape: an image goes in and another image comes out.
# Edges become a photograph, a grey picture becomes a coloured one, a summer landscape
# becomes a winter one. This is **image-to-image translation**. There are two settings:
#
# * **paired**: we have examples (x, y) of an input and its correct output, and learn a
#   map G with G(x) ≈ y. That is pix2pix (Isola et al., 2017).
# * **unpaired**: we have a set of images of domain A and a set of domain B, but no image
#   of A comes with its counterpart in B. That is CycleGAN (Zhu et al., 2017).
#
# Both train a generator against a discriminator, as the GAN lesson did, but the
# generator's input is an image, not noise. The discriminator replaces a loss written by
# hand: pix2pix calls this "learning the loss".
#
# On MNIST we make the data ourselves:
#
# | task | input | output | paired? |
# |---|---|---|---|
# | edges -> digit | `datasets.edges.sobel_edges(x)` | the digit x | yes |
# | grey -> colour | the digit x | `datasets.colorize(x)`, one random hue per digit | yes |
# | thin <-> thick | half of the training digits | the other half, thickened by `dilate` | no |

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

import scratchnet as sn
from scratchnet import datasets, metrics, viz
from scratchnet.datasets.edges import dilate, sobel_edges
from scratchnet.lesson import KeyNumbers, bundled_mnist, figure_dir, quick_mode
from scratchnet.models.cyclegan import CycleGAN
from scratchnet.models.image_to_image import UNet, encoder_decoder, patchgan_discriminator
from scratchnet.models.pix2pix import Pix2Pix

QUICK = quick_mode()  # `--quick` or SCRATCHNET_QUICK=1: tiny data, a few steps
FIGURES = figure_dir("19_image_to_image")
SUMMARY = KeyNumbers("Key numbers from this lesson:")

sn.manual_seed(0)
x_train, y_train, x_test, y_test = bundled_mnist(QUICK)
PIX2PIX_STEPS = 8 if QUICK else 1600   # generator updates per pix2pix model
CYCLE_STEPS = 8 if QUICK else 500      # updates of each CycleGAN
BATCH = 32
WIDTH = 16                             # channels of every network's first layer
print(f"quick mode: {QUICK}; MNIST train {x_train.shape}, test {x_test.shape}; figures go "
      f"to {FIGURES}")

# %% [markdown]
# ## 1. The inputs: Sobel edges
#
# The Sobel operator estimates the image gradient at each pixel from its 3×3 neighbourhood:
# G_x is a difference between the right and the left column, each weighted (1, 2, 1), and
# G_y the same between the bottom and the top row. `sobel_edges` returns the gradient's
# length √(G_x² + G_y²), divided by √20, the largest length any 3×3 patch of values in
# [0, 1] can produce, so the edges lie in [0, 1] with one scale for every image. Outside
# the image counts as black, like MNIST's background.
#
# A stroke has two sides, so its edge map is a pair of parallel lines, and where the
# stroke is flat inside the map is dark. The edges say where the stroke's borders are,
# not exactly how bright its inside is.

# %%
edges_train, edges_test = sobel_edges(x_train), sobel_edges(x_test)
colour_train = datasets.colorize(x_train, rng=1)
colour_test = datasets.colorize(x_test, rng=2)
fig = viz.image_grid(np.concatenate([np.repeat(x_test[:8], 3, axis=1),
                                     np.repeat(edges_test[:8], 3, axis=1), colour_test[:8]]),
                     nrow=3, title="The paired data: digits, their Sobel edges, the same "
                     "digits tinted (rows)")
print("saved", viz.save_figure(fig, FIGURES / "data.png"))

# %% [markdown]
# ## 2. pix2pix: L1 alone, and L1 with a conditional discriminator
#
# The obvious way to learn G from pairs is to regress: minimise the L1 distance
# E‖y − G(x)‖₁. For one pixel, the value minimising the expected absolute error over the
# outputs y that could go with x is their **median**. When x fixes y (the edges of a
# digit fix most of its strokes) that is fine. When it does not (which hue goes with a grey
# digit? the hue was drawn at random), the median is a compromise that no real image
# has: for a hue drawn uniformly around the colour wheel, each of the red, green and blue
# channels is full for a third of the hues, zero for a third and in between for the rest,
# so its median is one half, and the L1 answer is a dim, nearly grey digit. Any
# uncertainty does the same on a smaller scale: an unsure stroke becomes a blur, the
# median of the places it could be.
#
# pix2pix keeps the L1 term and adds a **conditional discriminator** D(x, y), which sees
# the input beside an output and says whether the pair is real. The generator minimises
#
# $$ \mathcal{L}(G) = \mathbb{E}_x\big[-\log D(x, G(x))\big]
#    + \lambda\,\mathbb{E}_{x,y}\,\|y - G(x)\|_1 $$
#
# (the non-saturating form of the game L_cGAN = E log D(x, y) + E log(1 − D(x, G(x)))),
# with λ = 100 as in the paper, and D the binary cross-entropy of real pairs against
# generated ones. A blurred or washed-out output is easy for D to spot, since no real
# pair looks like that, so G is pushed toward *one* sharp answer among those that fit x.
# L1 still holds the output near the truth, so the adversarial term only has to decide
# what L1 leaves open.
#
# The networks are `models.UNet` (encoder, decoder and skip connections that hand each
# decoder step the encoder's activation at the same size, so detail can flow straight
# across) and `models.patchgan_discriminator`, which answers with a 7×7 map of logits,
# one per 18×18-pixel patch of the pair; the loss is averaged over the patches. Adam with
# the paper's settings (lr 2·10⁻⁴, β = (0.5, 0.999)); each model makes the same number of
# updates on batches drawn in the same order.

# %%


def train_pix2pix(source, target, adversarial, seed=0):
    """A U-Net trained on (source, target) pairs, with (adversarial=1) or without D."""
    c_in, c_out = source.shape[1], target.shape[1]
    model = Pix2Pix(UNet(c_in, c_out, width=WIDTH, depth=2, rng=seed),
                    patchgan_discriminator(c_in + c_out, WIDTH, rng=seed + 1)
                    if adversarial else None, l1_weight=100.0, adversarial=adversarial)
    optimizers = model.configure_optimizers()
    order = np.random.default_rng(seed)
    start = time.perf_counter()
    for _ in range(PIX2PIX_STEPS):
        i = order.integers(0, len(source), BATCH)
        logs = model.training_step((source[i], target[i]), optimizers)
    print(f"  {'L1 + GAN' if adversarial else 'L1 only '}: {PIX2PIX_STEPS} steps in "
          f"{time.perf_counter() - start:.0f} s, last batch L1 {logs['l1_loss']:.3f}")
    return model


pix2pix = {}
for task, (source, target) in {"edges -> digit": (edges_train, x_train),
                               "grey -> colour": (x_train, colour_train)}.items():
    print(task)
    for adversarial in (0.0, 1.0):
        pix2pix[task, adversarial] = train_pix2pix(source, target, adversarial)

# %% [markdown]
# ## 3. Measuring blur: the Fréchet distance
#
# Per-pixel errors reward the median, so they cannot say what is wrong with it. We ask
# instead how far the *set* of outputs is from the set of real images, with the Fréchet
# distance (`metrics.frechet_distance`, Heusel et al., 2017): fit a Gaussian to each set's
# features and measure the distance between the two Gaussians. Lower is closer. It is
# biased upwards for finite sets, so the table also gives the **floor**: real test images
# against the same real training images, at the same sample sizes. An output can come
# close to the floor but not, except by chance, beat it.
#
# **Which features.** For grey digits, the default: the MNIST classifier's penultimate
# layer. That classifier has only ever seen grey digits, so for colour images we use two
# feature maps and report both:
#
# * **shape**: the classifier's features of the brightest channel, max(r, g, b). For a
#   tinted digit this is exactly the grey digit, so it measures the strokes and ignores
#   the colour.
# * **colour**: the ink's colour, three numbers per image: Σ_pixels (r, g, b) divided by
#   Σ_pixels max(r, g, b). A tinted digit gives its own hue's full-brightness colour, a
#   point on the ring of saturated colours; a grey output gives (1, 1, 1)-like points in
#   the middle; a digit painted in several hues lands between the two.
#
# Neither is the one number a benchmark would want, but each says plainly what it sees.
#
# **A direct look at blur.** Before the table, a line per model gives the share of
# pixels that are neither background nor full ink (`in_between_share`: the brightest
# channel strictly between 0.2 and 0.8), next to the same share for the real test
# images. Blur and dimness raise it; hard-edged strokes lower it.

# %%
classifier_features = metrics.classifier_features()  # the default features, as a function


def shape_features(images):
    """Classifier features of the brightest channel: the strokes, whatever their colour."""
    return classifier_features(np.asarray(images).max(axis=1, keepdims=True))


def ink_colour(images):
    """(N, 3, H, W) -> (N, 3): the summed colour over the summed brightness of each image."""
    images = np.asarray(images, dtype=np.float64)
    brightness = images.max(axis=1).sum(axis=(1, 2))
    return images.sum(axis=(2, 3)) / np.maximum(brightness, 1e-6)[:, None]


def frechet(a, b, features):
    """The Fréchet distance between image sets a and b, on the given features."""
    return metrics.frechet_distance(a, b, features=features)


IN_BETWEEN = (0.2, 0.8)   # a pixel this bright is neither background nor full ink


def in_between_share(images):
    """The share of pixels that are in between: images (N, C, H, W) in [0, 1] -> a float.

    A pixel counts when its brightest channel lies strictly inside ``IN_BETWEEN``. A
    direct measure of blur: a blurred or dimmed stroke has more such pixels, a stroke
    with hard black-and-white borders fewer. Compare it with real images' share.
    """
    low, high = IN_BETWEEN
    brightest = np.asarray(images).max(axis=1)
    return float(((brightest > low) & (brightest < high)).mean())


reference = slice(0, len(x_test))            # as many real training images as test ones
rows = []
outputs = {}
for (task, adversarial), model in pix2pix.items():
    source, truth = (edges_test, x_test) if task == "edges -> digit" else (x_test, colour_test)
    out = model.translate(source).numpy()
    outputs[task, adversarial] = out
    name = "L1 + GAN" if adversarial else "L1 only"
    l1 = float(np.abs(out - truth).mean())
    if task == "edges -> digit":
        distances = {"Fréchet": frechet(out, x_train[reference], classifier_features)}
    else:
        distances = {"Fréchet (shape)": frechet(out, colour_train[reference], shape_features),
                     "Fréchet (colour)": frechet(out, colour_train[reference], ink_colour)}
    rows.append((task, name, l1, distances))
    print(f"{task}, {name}: {in_between_share(out):.1%} of pixels in between "
          f"({IN_BETWEEN[0]} to {IN_BETWEEN[1]}), real test images "
          f"{in_between_share(truth):.1%}")

floors = {"Fréchet": frechet(x_test, x_train[reference], classifier_features),
          "Fréchet (shape)": frechet(colour_test, colour_train[reference], shape_features),
          "Fréchet (colour)": frechet(colour_test, colour_train[reference], ink_colour)}


def fmt(value):
    """Two decimals, or two significant digits for the small colour distances."""
    return f"{value:.2f}" if abs(value) >= 0.1 else f"{value:.1e}"


print(f"{'task':<16}{'model':<10}{'test L1':>9}   Fréchet distances (floor: real test "
      f"against real training)")
for task, name, l1, distances in rows:
    text = ", ".join(f"{k} {fmt(v)} (floor {fmt(floors[k])})" for k, v in distances.items())
    print(f"{task:<16}{name:<10}{l1:>9.4f}   {text}")
    for k, v in distances.items():
        SUMMARY[f"pix2pix {task}, {name}: {k}"] = f"{fmt(v)} (floor {fmt(floors[k])})"

# %%
for task, _, _, distances in rows[1::2]:                 # the L1 + GAN rows
    baseline = next(d for t, n, _, d in rows if t == task and n == "L1 only")
    for k, v in distances.items():
        verdict = "lower" if v < baseline[k] else "not lower"
        print(f"{task}, {k}: L1 + GAN {fmt(v)} against L1 only {fmt(baseline[k])}: "
              f"{verdict} ({v / baseline[k] - 1:+.0%})")

# How far above its floor each distance ends, as a ratio. "Close" (within a quarter of
# the floor) is our line to draw, not a standard one: the ratio itself is printed.
CLOSE = 1.25
for task, name, _, distances in rows:
    for k, v in distances.items():
        ratio = v / floors[k]
        where = "close to" if ratio <= CLOSE else "far above"
        print(f"{task}, {name}, {k}: {ratio:.3g} times its floor, {where} it")

for task, truth, source, look in (
        ("edges -> digit", x_test, edges_test, "the inside of wide strokes and loops"),
        ("grey -> colour", colour_test, x_test, "the colours")):
    grid = [source[:10], outputs[task, 0.0][:10], outputs[task, 1.0][:10], truth[:10]]
    grid = [np.repeat(g, 3, axis=1) if g.shape[1] == 1 else g for g in grid]
    fig = viz.image_grid(np.concatenate(grid), nrow=4,
                         title=f"pix2pix {task}: input, L1 only, L1 + GAN, truth (rows);\n"
                         f"compare {look} in rows 2 and 3")
    print("saved", viz.save_figure(fig, FIGURES / f"pix2pix_{task.split()[0]}.png"))

# %% [markdown]
# Read the table row by row against its floor, then the printed comparisons. The L1 error
# is what the L1-only model was trained to make small, so it tends to win or tie there:
# the adversarial term moves the output away from the per-pixel median on purpose. The
# Fréchet columns ask the other question, whether the outputs look like real images.
#
# The two tasks differ in how much the input leaves open, and the median argument says
# that is what decides the gap:
#
# * **Grey -> colour** leaves the hue entirely open. The L1 answer (second row of the
#   colour figure) is the median: a dim digit of no particular colour. Its in-between line
#   counts the dim pixels, and the colour column of the table says how far its ink lies
#   from real ink. The discriminator rejects that, so the generator commits to saturated
#   colours (third row); the printed comparisons give the change in both distances. But
#   look at *which* colours: a real digit has one hue, while the generator paints patches
#   of different hues within one digit. The PatchGAN judges 18×18-pixel patches one at a
#   time, and each patch on its own is a plausible piece of a tinted digit; nothing it
#   sees asks two distant patches to agree. And pix2pix's generator gets no noise, so it
#   cannot draw a random hue per digit as the data do. That is why the colour distance can
#   stay far above its floor even where it drops: the printed ratios to the floor say how
#   far it stays in this run.
# * **Edges -> digit** leaves little open: the two borders of a stroke fix where its ink
#   is, and only the brightness inside wide strokes and small closed loops is uncertain
#   (look inside the loops in the edges figure, in both output rows). So the median is
#   already close to a real digit; the ratio lines say whether both models end close to
#   the floor, and the comparison line whether the discriminator makes a measurable
#   difference at this budget. The in-between lines measure blur directly: set each
#   model's share beside the real digits'. Where L1 alone is already near the real share,
#   there is little blur for the discriminator to remove (the share is over the whole
#   image, and can hide a blurred loop here and there); where the GAN's share falls
#   below the real one, it has made stroke borders harder than real ones. In our side
#   runs (three seeds, and λ = 100 and 10) L1 + GAN never came out clearly below L1
#   alone on this task's Fréchet distance. When the input nearly fixes the output,
#   learning the loss has little left to fix; the gain is largest where the input leaves
#   most open.
#
# ## 4. CycleGAN: translation without pairs
#
# Now suppose the pairs are gone. Domain A is thin digits (one half of the training set as
# it is), domain B is thick digits (the *other* half, each dilated: every pixel takes the
# maximum over itself and its four neighbours). No digit of A appears in B, so no L1 term
# can be written. Two generators, G: A -> B and F: B -> A, each face a discriminator of
# its target domain, D_B and D_A. An adversarial loss alone only asks that G(a) look like
# *some* thick digit; nothing asks it to be *a's* digit. CycleGAN adds a **cycle**: going
# there and back must return the start. The generators minimise
#
# $$ \mathcal{L} = (D_B(G(a)) - 1)^2 + (D_A(F(b)) - 1)^2
#    + \lambda\,\big(\|F(G(a)) - a\|_1 + \|G(F(b)) - b\|_1\big), $$
#
# with λ = 10 as in the paper, and each discriminator ½[(D(real) − 1)² + D(fake)²]: the
# **least-squares** GAN loss the paper uses (D outputs a score, not a probability; every
# term is averaged over the PatchGAN's 7×7 map). `models.CycleGAN` also has the paper's
# optional identity term, λ_id(‖G(b) − b‖₁ + ‖F(a) − a‖₁); here λ_id = 0.
#
# **Why not a U-Net here?** A U-Net's skip connections can let its output copy the input
# whatever the loss says, so even without a cycle it might keep the digit, and removing
# the cycle could show little. Our generators are `encoder_decoder`: the same layers without
# the skips, so everything reaches the output through a 7×7 bottleneck. What they keep of
# the input, they keep because a loss asks for it, or because convolutions find it the
# easiest thing to do.
#
# **Did the digit survive?** We give the classifier the translated test digits and count
# how often it names the true label. The classifier reads thick digits less well than
# thin ones, so each direction is set beside the classifier's accuracy on *real* images
# of its target domain: a translation that keeps every digit should score about as well
# as those.

# %%
half = len(x_train) // 2
domain_a = x_train[:half]                                 # thin: as written
domain_b = dilate(x_train[half:], footprint="diamond")    # thick: other digits, dilated
thin_test, thick_test = x_test, dilate(x_test, footprint="diamond")


def train_cyclegan(cycle_weight, seed=0):
    """G, F (encoder-decoders without skips) and two PatchGANs, on unpaired batches."""
    model = CycleGAN(encoder_decoder(1, 1, width=WIDTH, depth=2, rng=seed),
                     encoder_decoder(1, 1, width=WIDTH, depth=2, rng=seed + 1),
                     patchgan_discriminator(1, WIDTH, rng=seed + 2),
                     patchgan_discriminator(1, WIDTH, rng=seed + 3),
                     cycle_weight=cycle_weight)
    optimizers = model.configure_optimizers()
    order = np.random.default_rng(seed)
    start = time.perf_counter()
    for _ in range(CYCLE_STEPS):
        # Two independent draws: a batch of A and a batch of B share no digit.
        batch = (domain_a[order.integers(0, len(domain_a), BATCH)],
                 domain_b[order.integers(0, len(domain_b), BATCH)])
        logs = model.training_step(batch, optimizers)
    print(f"  cycle weight {cycle_weight:g}: {CYCLE_STEPS} steps in "
          f"{time.perf_counter() - start:.0f} s; last batch: "
          + ", ".join(f"{k} {v:.3f}" for k, v in logs.items()))
    return model


def keeps_label(images, labels):
    """The share of images the classifier assigns to the given labels."""
    return metrics.classifier_score(images, labels)["matches_label"]


cyclegans = {weight: train_cyclegan(weight) for weight in (10.0, 0.0)}
ceiling = {"thin": keeps_label(thin_test, y_test), "thick": keeps_label(thick_test, y_test)}
print(f"the classifier on real test digits: thin {ceiling['thin']:.1%}, "
      f"thick {ceiling['thick']:.1%}")
identity = {}
for weight, model in cyclegans.items():
    to_thick = model.translate_ab(thin_test).numpy()
    to_thin = model.translate_ba(thick_test).numpy()
    round_trip = model.translate_ba(to_thick).numpy()
    identity[weight] = {"A -> B (thin -> thick)": keeps_label(to_thick, y_test),
                        "B -> A (thick -> thin)": keeps_label(to_thin, y_test),
                        "A -> B -> A": keeps_label(round_trip, y_test)}
    ink = {"G(a)": to_thick.mean(), "F(b)": to_thin.mean()}
    print(f"cycle weight {weight:g}: " + ", ".join(f"{k} {v:.1%}" for k, v in
                                                    identity[weight].items())
          + f"; mean ink G(a) {ink['G(a)']:.3f} (thick real {thick_test.mean():.3f}), "
          f"F(b) {ink['F(b)']:.3f} (thin real {thin_test.mean():.3f})")
    # Where each mean ink lies between the two real levels: 0 at the domain it came
    # from, 1 at the domain it was sent to; "near" is within a quarter of the gap.
    gap = thick_test.mean() - thin_test.mean()
    way = {"G(a)": (ink["G(a)"] - thin_test.mean()) / gap,
           "F(b)": (thick_test.mean() - ink["F(b)"]) / gap}
    print("  mean ink moved " + ", ".join(
        f"{k} {v:.0%} of the way to its target domain "
        f"({'near' if abs(v - 1) <= 0.25 else 'not near'} it)" for k, v in way.items()))
    lost = {"one way, A -> B": ceiling["thick"] - identity[weight]["A -> B (thin -> thick)"],
            "one way, B -> A": ceiling["thin"] - identity[weight]["B -> A (thick -> thin)"],
            "round trip A -> B -> A": ceiling["thin"] - identity[weight]["A -> B -> A"]}
    print("  points of labels lost against the classifier on real digits of the domain it "
          "ends in (negative: kept more often than there): "
          + ", ".join(f"{k} {100 * v:.1f}" for k, v in lost.items()))
    for k, v in identity[weight].items():
        SUMMARY[f"CycleGAN λ_cyc={weight:g}: label kept {k}"] = f"{v:.1%}"
SUMMARY["classifier on real thin / thick test digits"] = (
    f"{ceiling['thin']:.1%} / {ceiling['thick']:.1%}")

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 2.9))
for ax, (weight, model) in zip(axes, cyclegans.items(), strict=True):
    a = thin_test[:10]
    ab = model.translate_ab(a).numpy()
    viz.image_grid(np.concatenate([a, ab, model.translate_ba(ab).numpy()]), nrow=3, ax=ax,
                   title=f"λ_cyc = {weight:g}: a, G(a), F(G(a)) (rows)")
fig.suptitle("CycleGAN thin -> thick -> thin: compare the round trips (bottom rows) with "
             "(left) and without (right) the cycle loss")
fig.tight_layout()
print("saved", viz.save_figure(fig, FIGURES / "cyclegan_round_trips.png"))

labels = list(identity[10.0])
positions = np.arange(len(labels))
fig, ax = plt.subplots(figsize=(7, 4))
for offset, (weight, colour) in zip((-0.2, 0.2), ((10.0, "tab:blue"), (0.0, "tab:red")),
                                    strict=True):
    ax.bar(positions + offset, [100 * identity[weight][k] for k in labels], width=0.4,
           color=colour, label=f"cycle weight λ = {weight:g}")
# Each group's yardstick: the classifier on real digits of the domain it ends in.
targets = ("thick", "thin", "thin")
ax.hlines([100 * ceiling[t] for t in targets], positions - 0.45, positions + 0.45,
          color="black", linestyle="--", label="classifier on real digits of that domain")
ax.set_xticks(positions, labels)
ax.set_ylabel("translated test digits classified\nas their true label (%)")
ax.set_xlabel("direction of translation")
ax.set_ylim(0, 100)
ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3, fontsize=8)
ax.set_title("Does the digit survive translation? With (blue) and without (red) the cycle "
             "loss", fontsize=10)
fig.tight_layout()
print("saved", viz.save_figure(fig, FIGURES / "cyclegan_identity.png"))

# %% [markdown]
# Compare the two runs in the printed lines and the bar chart. In both runs the
# discriminators ask only for the other domain's look: the "mean ink moved"
# lines say, for each run, how far of the way from one real level to the other each
# generator's ink went (near 100% means the discriminator got what it asked for). What
# the cycle adds is that each translated digit stays *its* digit. Without it, the only
# thing holding the digit in place is the generator's own bias: a convolutional
# encoder-decoder starts close to a blurred copy of its input, and a small edit of the
# input is the nearest plausible thick digit. That bias is strong on MNIST, so a one-way
# translation without the cycle can keep most labels; the "labels lost" lines give the
# points lost one way and over the round trip A -> B -> A, where the damage of each leg
# adds up and which is the quantity the cycle loss trains directly. Look for what those
# points are made of in the right-hand figure: strokes that blot or break.
#
# **DiscoGAN** (Kim et al., 2017) appeared within weeks of CycleGAN with the same core: two
# generators, A -> B and B -> A, and a reconstruction loss that sends each image there and
# back. The differences are in the recipe. DiscoGAN measures the reconstruction with the
# squared error in its authors' code (the paper leaves the distance open) rather than L1,
# and its paper adds the adversarial and reconstruction terms with equal weight rather
# than a λ; it has no identity term; it uses the cross-entropy GAN loss rather than least
# squares; and its generators are encoder-decoders without skips, with a discriminator
# that gives one probability per image, where CycleGAN uses ResNet-block generators and
# PatchGAN discriminators. Our CycleGAN's generators are, in that respect, DiscoGAN's.

# %%
SUMMARY.show(QUICK)

# %% [markdown]
# ## Exercises
#
# `exercises/19_image_to_image.py` holds three exercises: `sobel_magnitude`, the edge map
# of section 1 for one image in NumPy; `cycle_consistency_loss`, CycleGAN's mean absolute
# round-trip error, built from tensor operations so that autodiff reaches both generators;
# and `patch_receptive_field`, the side of the input square one output of a convolution
# stack sees (for the PatchGAN, 18 pixels). Fill them in and run `scratchnet check 19`
# (`--file my_copy.py` grades another file). Reference solutions are in
# `exercises/solutions/`.
