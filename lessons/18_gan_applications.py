# %% [markdown]
# # Lesson 18: what a trained GAN is good for: inpainting and super-resolution
#
# Lesson 11 trained a DCGAN and scored its samples. Sampling is the least useful thing a
# generator does. A generator trained on digits is a **model of what digits look like**,
# and this lesson puts that knowledge to work on two repair jobs:
#
# 1. **Inpainting**: part of a digit is missing; paint it back. Yeh et al. (CVPR 2017)
#    keep the trained generator fixed and *search its input* for a code whose drawing
#    agrees with the pixels we still have.
# 2. **Super-resolution**: we have only a 7×7 thumbnail; paint the 28×28 digit. Here a
#    network is trained for the job, once with squared error alone and once with a
#    discriminator as well (SRGAN, Ledig et al., CVPR 2017).
#
# Both are **ill-posed**: many complete digits agree with what we see. A method that
# averages over the possibilities scores well on pixel error and looks blurry; a method
# that commits to one sharp possibility looks real and can be wrong in the details. The
# lesson measures both sides of that trade, and shows that they cannot both be won
# (Blau & Michaeli, CVPR 2018).
#
# **Two measures, two questions.** *PSNR* (peak signal-to-noise ratio,
# $10\log_{10}(1/\text{MSE})$ in decibels for pixels in $[0, 1]$) asks "how close are the
# pixels to the truth?" For inpainting we compute it **on the hole only**: every method
# copies the known pixels exactly, and counting them would only dilute the differences.
# The second question is "does the result look like a real digit, and the right one?"
# For inpainting we ask the default MNIST classifier (`models.mnist_classifier`) to read
# each completed digit and count how often it still gives the true label ("class kept");
# for super-resolution we compare the whole set of outputs with real digits by the
# Fréchet distance of their classifier features (`metrics.frechet_distance`, lower is
# more real-looking), and count how often the classifier is confident.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

import scratchnet as sn
from scratchnet import datasets, metrics, models, optim, representations, viz
from scratchnet.lesson import KeyNumbers, bundled_mnist, figure_dir, quick_mode
from scratchnet.models.classifier import accuracy
from scratchnet.models.inpainting import (
    MASKS,
    hole_psnr,
    inpainting_mask,
    mean_fill,
    nearest_neighbour_fill,
    semantic_inpainting,
)
from scratchnet.models.pretrained import DCGAN_RECIPE, VAE_RECIPE, mnist_dcgan, mnist_vae
from scratchnet.models.super_resolution import SuperResolution, downsample, sr_upsampler, upsample

QUICK = quick_mode()  # `--quick` or SCRATCHNET_QUICK=1: tiny data, an epoch or two each
FIGURES = figure_dir("18_gan_applications")
SUMMARY = KeyNumbers("Key numbers from this lesson (test digits; PSNR in dB, higher is "
                     "closer; Fréchet distance, lower is more real-looking):")

sn.manual_seed(0)
x_train, y_train, x_test, y_test = bundled_mnist(QUICK)
N_INPAINT = 40 if QUICK else 200       # test digits to repair with each mask
SEARCH = {"steps": 20 if QUICK else 200, "lr": 0.05, "window": 7,
          "candidates": 8 if QUICK else 64}
GAN_PRIOR, VAE_PRIOR = 0.003, 0.3       # λ of each search's prior term (section 2)
CE_EPOCHS = 1 if QUICK else 5           # the context encoder's training
SR_EPOCHS = 1 if QUICK else 4           # each super-resolution model's training
SR_ADVERSARIAL = 0.01                   # λ of SRGAN's adversarial term (section 5)
# Quick mode trains tiny models; their file names carry a hash of these settings, so
# they never replace the full models that a full run caches.
TINY = {"epochs": 1, "train_size": 300} if QUICK else {}
print(f"quick mode: {QUICK}; {len(x_train)} training and {len(x_test)} test digits; "
      f"figures go to {FIGURES}")

# %% [markdown]
# ## 1. The trained models
#
# The DCGAN is lesson 11's, trained with that lesson's starting recipe (the mark its
# targets refer to) on the same 4,000 bundled training digits. Lesson 11's final recipe
# adds a categorical code to the generator's input, and the search below is over a plain
# Gaussian z, so we keep the starting recipe here.
# `models.pretrained.mnist_dcgan()` trains it the first time it is called (a minute or a
# few) and caches its weights in the data home, as `mnist_classifier()`
# does for the classifier, so later runs load it at once. Its discriminator is kept too:
# the inpainting search uses it. `mnist_vae()` does the same for a small convolutional
# VAE (lesson 08), our second generative model. The settings of both trainings are in
# `DCGAN_RECIPE` and `VAE_RECIPE`.

# %%
start = time.perf_counter()
gan = mnist_dcgan(progress=False, **TINY)
vae = mnist_vae(progress=False, **TINY)
classifier = models.mnist_classifier(progress=False)
print(f"DCGAN, VAE and classifier ready in {time.perf_counter() - start:.0f} s")
print("DCGAN settings:", {**DCGAN_RECIPE, **TINY})
print("VAE settings:  ", {**VAE_RECIPE, **TINY})
gan_score = metrics.classifier_score(gan.sample(500, rng=0).data)
print(f"DCGAN samples the classifier is confident about: {gan_score['confident']:.0%} "
      f"(lesson 11 measures this in detail)")

# %% [markdown]
# ## 2. Inpainting by searching the generator's input
#
# Write $y$ for the damaged digit and $M$ for the **mask**: 1 on the pixels we know, 0 on
# the hole. The generator $G$ can draw only digit-like images, so Yeh et al. look for the
# code $z$ whose drawing $G(z)$ agrees with $y$ where $y$ is known. Two losses guide the
# search:
#
# $$\mathcal{L}(z) = \underbrace{\big\lVert W \odot \big(G(z) - y\big)\big\rVert_1}
# _{\text{contextual}} \;+\; \lambda\,\underbrace{\big(-\log D(G(z))\big)}_{\text{prior}}.$$
#
# * The **contextual loss** compares only known pixels. Yeh et al. weight them by $W$: a
#   known pixel counts in proportion to how much of the hole lies in a 7×7 window around
#   it (`inpainting.context_weights`), because the pixels next to the hole say most about
#   how its strokes continue, and far-off background says almost nothing. The L1 norm
#   lets a few pixels disagree without dragging the whole search towards them.
# * The **prior loss** asks the trained discriminator whether $G(z)$ looks real, so the
#   search does not buy agreement on the known pixels with an odd-looking drawing. We use
#   the non-saturating form $-\log D$, as the generator's own loss does; Yeh et al. wrote
#   $\log(1 - D)$, which has the same minimum and weaker gradients. They used
#   $\lambda = 0.003$.
#
# Only $z$ moves: the generator and the discriminator are frozen, and the engine
# differentiates the loss with respect to an *input*. Each image has its own $z$, so one
# Adam step updates all their codes at once. The search is not convex: a bad start ends
# in a wrong digit that fits the border. So we start each image from the best of a few
# dozen random codes (forward passes only), and then descend.
#
# Finally we **blend**: the result keeps the known pixels exactly and takes only the hole
# from the generator,
#
# $$\hat{x} = M \odot y + (1 - M) \odot G(z^\ast).$$
#
# Yeh et al. blend with Poisson editing instead: they solve for hole pixels whose
# *gradients* match $G(z^\ast)$'s while their values meet $y$ at the border, which hides a
# brightness mismatch along the seam. MNIST's black background and white strokes leave
# little such mismatch, so we paste.
#
# **The same search through a VAE.** A VAE's decoder is a generator too, with a prior we
# can write down: $z \sim \mathcal{N}(0, I)$. Its prior loss is
# $-\log p(z) = \lVert z\rVert^2/2$ up to a constant, and everything else stays the same
# (`semantic_inpainting(vae, ...)`). The weight $\lambda$ is then on a different scale from
# the discriminator's; we chose it (`VAE_PRIOR`) by trying a few values.
#
# ## 3. Three masks and four baselines
#
# `inpainting.inpainting_mask` makes three kinds of damage:
#
# * **centre**: a 14×14 square in the middle, a quarter of the image and most of the ink;
# * **left**: the left half;
# * **random**: half of the pixels, chosen at random for each image.
#
# The GAN's search is compared with:
#
# * **mean fill**: the hole gets the average training digit (knows digits only on average);
# * **nearest neighbour**: the hole is copied from the training digit closest to $y$ on the
#   known pixels (can only copy a digit it has seen, but every one it copies is real);
# * **VAE search**: the same search through the VAE's decoder;
# * **context encoder** (Pathak et al., 2016, lesson 16): an encoder-decoder trained to
#   paint a hidden square, here trained briefly for this lesson. It is trained with the
#   *centre* square, exactly our centre mask; for the left half and the random pixels it
#   meets holes it never saw in training (its input fill, each image's mean known value,
#   tells it where they are), so those two rows test how far it generalises.

# %%
ce_start = time.perf_counter()
context_encoder = models.ContextEncoder(representations.digit_encoder(rng=0),
                                        representations.digit_decoder(rng=0), mask="center",
                                        rng=0)
representations.train_pretext(context_encoder, x_train, CE_EPOCHS)
print(f"context encoder trained for {CE_EPOCHS} epoch(s) in "
      f"{time.perf_counter() - ce_start:.0f} s")

mean_digit = x_train.mean(axis=0)
truth, labels = x_test[:N_INPAINT], y_test[:N_INPAINT]
print(f"the classifier reads {accuracy(classifier, truth, labels):.0%} of the undamaged "
      "test digits correctly: the ceiling for 'class kept'")
METHODS = ("mean fill", "nearest neighbour", "VAE search", "context encoder", "GAN search")


def complete(kind: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The mask of ``kind`` for the test digits, and each method's completed images."""
    known = inpainting_mask(kind, len(truth), rng=0)
    damaged = truth * known
    done = {"mean fill": mean_fill(damaged, known, mean_digit),
            "nearest neighbour": nearest_neighbour_fill(damaged, known, x_train)[0],
            "VAE search": semantic_inpainting(vae, damaged, known, prior_weight=VAE_PRIOR,
                                              rng=1, **SEARCH)["completed"],
            "context encoder": context_encoder.inpaint(truth, 1 - known[:, :1]).data,
            "GAN search": semantic_inpainting(gan, damaged, known, prior_weight=GAN_PRIOR,
                                              rng=1, **SEARCH)["completed"]}
    return known, done


inpainted = {}
for kind in MASKS:
    kind_start = time.perf_counter()
    inpainted[kind] = complete(kind)
    print(f"{kind} mask: every method done in {time.perf_counter() - kind_start:.0f} s")

# %% [markdown]
# ## 4. Results: pixels against meaning
#
# The table gives, for each mask and method, the PSNR on the hole and the share of
# completed digits that the classifier still reads as the true digit.

# %%
inpaint_table = {kind: {method: (hole_psnr(truth, images, known),
                                 accuracy(classifier, images, labels))
                        for method, images in done.items()}
                 for kind, (known, done) in inpainted.items()}
print(f"{'mask':<8}{'method':<20}{'hole PSNR (dB)':>16}{'class kept':>12}")
for kind, rows in inpaint_table.items():
    for method, (psnr, kept) in rows.items():
        print(f"{kind:<8}{method:<20}{psnr:>16.2f}{kept:>12.0%}")
for method in METHODS:
    psnr, kept = inpaint_table["center"][method]
    SUMMARY[f"inpainting, centre: {method}"] = f"hole PSNR {psnr:.2f} dB, class kept {kept:.0%}"
centre = inpaint_table["center"]
gan_kept = centre["GAN search"][1]
beaten = [m for m in ("mean fill", "nearest neighbour") if centre[m][1] < gan_kept]
verdict = {2: "more often than both copying baselines",
           1: f"more often than {beaten[0] if beaten else ''} only",
           0: "no more often than either copying baseline"}[len(beaten)]
print(f"centre mask: the GAN search keeps the class {verdict}; the best hole PSNR is "
      f"{max(centre, key=lambda m: centre[m][0])}'s")


def with_hole(images: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Grey images as RGB with the hole's background tinted blue, to show what was filled."""
    grey = np.repeat(images, 3, axis=1)
    tint = np.array([0.0, 0.15, 0.45], dtype=grey.dtype)[None, :, None, None]
    return np.where(known > 0, grey, grey + (1 - grey) * tint)


SHOWN = 10
for kind, (known, done) in inpainted.items():
    rows = [with_hole(truth[:SHOWN] * known[:SHOWN], known[:SHOWN])]
    rows += [with_hole(done[m][:SHOWN], known[:SHOWN]) for m in METHODS]
    rows.append(with_hole(truth[:SHOWN], known[:SHOWN]))
    fig = viz.image_grid(np.concatenate(rows), nrow=len(rows),
                         title=f"{kind} mask, hole tinted blue. Rows: damaged, "
                               + ", ".join(METHODS) + ", truth.\n"
                               "Which rows keep each digit's identity, and which blur it?")
    print("saved", viz.save_figure(fig, FIGURES / f"inpainting_{kind}.png"))

# %% [markdown]
# Read the table by columns, then the pictures:
#
# * **PSNR rewards hedging.** When the hole could hold several different strokes, the
#   pixel error is smallest for a grey average of them, which is what the mean fill and,
#   less crudely, the VAE paint. A sharp stroke in a slightly wrong place is counted as
#   wrong twice: where it is and where it should have been. So a sharp completion can lose
#   on PSNR and still be the better repair: compare the PSNR column with the pictures.
# * **The class column asks whether the repair makes sense.** The mean fill paints the
#   same average blob into every hole; the classifier's reading of the result depends
#   on the known border alone. The nearest neighbour always paints a real digit, but the
#   one it copies matches the border, not necessarily the class. The GAN search paints a
#   digit drawn *for* this border.
# * **The masks differ in how much they leave.** Random pixels leave a thinned-out but
#   complete outline of the digit, the most information of the three; the centre square
#   removes most of the ink, and the printed line under the table says how the GAN search
#   fared there against the two copying baselines. With most of the ink hidden, several
#   digits fit the border, and the search has no reason to prefer the true one: it finds
#   *a* code that fits, and the centre figure shows how often that code draws a
#   different digit. The nearest neighbour faces the same ambiguity but picks among
#   thousands of real digits, and the context encoder was trained on this very hole with
#   the answers in hand.
# * **The context encoder** was trained on exactly the centre square. Compare its centre
#   row with its left and random rows: a network trained for one hole shape has learned
#   that shape, while the search methods use whatever pixels they are given.

# %% [markdown]
# ### Are the generator's drawings a good enough library?
#
# A search through a generator can only paint what the generator can draw. One part of
# that can be measured with no search at all. Draw as many images from each model as there
# are real training digits, and fill each hole from the *drawing* that best matches the
# known pixels: the nearest-neighbour baseline, with the model's drawings in place of real
# digits. This asks how good the drawings are as a library of completions, next to the
# real digits. It is not the generator's ceiling: the search adjusts the code to each
# border instead of picking from a fixed set, and can do better than the copy, so the
# test cannot say how much of the search's own shortfall lies in the generator. It does
# say whether drawings that fit a border tend to continue it the way real digits do.

# %%
drawings = {"GAN drawings": gan.sample(len(x_train), rng=2).numpy(),
            "VAE drawings": vae.sample(len(x_train), rng=2).numpy(),
            "real training digits": x_train}
centre_known = inpainted["center"][0]
copy_kept = {source: accuracy(classifier,
                              nearest_neighbour_fill(truth * centre_known, centre_known,
                                                     images)[0], labels)
             for source, images in drawings.items()}
print(f"centre mask, the hole copied from the closest of {len(x_train):,} images:")
for source, kept in copy_kept.items():
    print(f"  {source:<22} class kept {kept:>4.0%}")
    SUMMARY[f"inpainting, centre: copied from {source}"] = f"class kept {kept:.0%}"


def points(share: float, other: float) -> str:
    """How two shares differ, in percentage points of their printed (rounded) values."""
    difference = round(share * 100) - round(other * 100)
    if difference == 0:
        return "as often as"
    return f"{abs(difference)} points {'more' if difference > 0 else 'less'} often than"


real_kept = copy_kept["real training digits"]
for model in ("GAN", "VAE"):
    searched, copied = centre[f"{model} search"][1], copy_kept[f"{model} drawings"]
    print(f"{model}: copying its drawings keeps the class "
          f"{points(copied, real_kept)} copying real digits; its search "
          f"keeps it {points(searched, copied)} copying its drawings")

# %% [markdown]
# Where the real digits' row is far above the GAN drawings' row, the drawings that fit a
# border often continue it differently from real digits, even where each drawing alone
# looks like some digit; the printed lines give that gap, and how far each search climbs
# above its copy. In our side runs, stronger generators (lesson 11's final networks,
# with and without the code, trained for 60 epochs) raised their drawings' row by some
# points, but not to the real digits' level. Compare the VAE's row with the GAN's too:
# the VAE is trained to give every training digit a likely code, while nothing in a
# GAN's training asks it to cover every digit; if the VAE's row is the higher one, that
# is a likely reason.
#
# ## 5. Super-resolution: from 7×7 to 28×28
#
# We shrink each test digit to 7×7 by averaging 4×4 blocks (`downsample`), which keeps
# where the ink was but not the strokes' shape, and ask each method to paint the 28×28
# digit back. Two baselines need no training (`upsample`):
#
# * **nearest**: each thumbnail pixel becomes a 4×4 block;
# * **bilinear**: each output pixel is interpolated linearly, along rows and then columns,
#   between the four nearest thumbnail pixel *centres* (as
#   `torch.nn.functional.interpolate(mode="bilinear", align_corners=False)`).
#
# The learned upsampler (`sr_upsampler`) works at the thumbnail's size and grows the
# image with two **sub-pixel convolutions** (Shi et al., 2016): a convolution makes
# $4C$ channels at 7×7, and `F.pixel_shuffle(·, 2)` rearranges each group of four into a
# 2×2 block of one channel, giving $C$ channels at 14×14; once more gives 28×28. Each
# enlarging convolution runs *before* its enlargement, at the smaller size, which is
# cheap, and nothing is interpolated. The
# network's output is *added* to the bilinear enlargement, so it only learns the
# correction (a residual, as in Kim et al.'s VDSR, 2016).
#
# We train it twice, with the same architecture and data (`SuperResolution`):
#
# * **MSE only**: minimise $\mathcal{L}_\text{MSE} = \frac{1}{n}\lVert G(x_\text{low}) - x\rVert^2$.
#   Its optimum is the *average* of every sharp digit that shrinks to the same thumbnail.
# * **MSE + adversarial** (SRGAN): a discriminator $D$ learns to tell real digits from
#   upsampled ones, and the upsampler minimises
#   $$\mathcal{L} = \mathcal{L}_\text{MSE} + \lambda\,\big(-\log D(G(x_\text{low}))\big),$$
#   while $D$ minimises $-\log D(x) - \log\big(1 - D(G(x_\text{low}))\big)$. Ledig et al.
#   weighted the adversarial term by $10^{-3}$ against a content loss on VGG features;
#   against pixel MSE we use $\lambda$ = `SR_ADVERSARIAL`. `SuperResolution` brings its
#   own `training_step` (one update of $D$, then one of the upsampler through the frozen
#   $D$) and `configure_optimizers`, so `sn.train.fit` trains it as it trains a GAN.

# %%
low_test = downsample(x_test)
sr_outputs = {"nearest": upsample(low_test, 4, "nearest"),
              "bilinear": upsample(low_test, 4, "bilinear")}
sr_histories = {}
for name, weight in (("MSE", 0.0), ("MSE + GAN", SR_ADVERSARIAL)):
    sn.manual_seed(2)
    model = SuperResolution(sr_upsampler(width=32, rng=3), adversarial=weight, rng=4)
    loader = datasets.DataLoader(x_train, batch_size=32, drop_last=True, rng=5)
    sr_start = time.perf_counter()
    if weight == 0:
        sr_histories[name] = sn.train.fit(model, lambda m, x: m.loss(x),
                                          optim.Adam(model.parameters(), lr=1e-3), loader,
                                          SR_EPOCHS, progress=False)
    else:
        sr_histories[name] = sn.train.fit(model, optimizer=model.configure_optimizers(lr=1e-3),
                                          loader=loader, epochs=SR_EPOCHS, progress=False)
    sr_outputs[name] = model.upsample(low_test)
    print(f"{name}: trained {SR_EPOCHS} epoch(s) in {time.perf_counter() - sr_start:.0f} s; "
          f"the upsampler's mean loss in the last epoch {sr_histories[name]['loss'][-1]:.4f}")

# %% [markdown]
# ## 6. The perception–distortion trade-off, measured
#
# For each method: PSNR against the true digits (distortion), and, for perception, the
# confident share and the Fréchet distance between the set of outputs and a reference set
# of real digits: as many training digits, none of which any method rebuilt. Scoring
# against the test digits themselves would pair each output with its own truth, so a
# perfect copy would score zero. The Fréchet distance of a finite set is biased upwards,
# so the table's last row gives its floor: the true test digits against the same
# reference. No method can be expected to go below it.

# %%
reference = x_train[:len(x_test)]
floor = metrics.frechet_distance(x_test, reference)
sr_table = {name: (metrics.psnr(x_test, out), metrics.frechet_distance(out, reference),
                   metrics.classifier_score(out, classifier=classifier)["confident"])
            for name, out in sr_outputs.items()}
print(f"{'method':<12}{'PSNR (dB)':>11}{'Fréchet':>10}{'confident':>11}")
for name, (psnr, fd, confident) in sr_table.items():
    print(f"{name:<12}{psnr:>11.2f}{fd:>10.1f}{confident:>11.0%}")
real_confident = metrics.classifier_score(x_test, classifier=classifier)["confident"]
print(f"{'real digits':<12}{'':>11}{floor:>10.1f}{real_confident:>11.0%}   (the floor)")
for name, (psnr, fd, confident) in sr_table.items():
    SUMMARY[f"super-resolution: {name}"] = (f"PSNR {psnr:.2f} dB, Fréchet {fd:.1f}, "
                                            f"confident {confident:.0%}")
SUMMARY["super-resolution: Fréchet floor (real vs real)"] = f"{floor:.1f}"
best_psnr = max(sr_table, key=lambda n: sr_table[n][0])
best_fd = min(sr_table, key=lambda n: sr_table[n][1])
print(f"best PSNR: {best_psnr}; best Fréchet distance: {best_fd}")
# The verdicts the prose below points at, decided by the measured values.
learned, interpolated = ("MSE", "MSE + GAN"), ("nearest", "bilinear")
on_psnr = all(sr_table[a][0] > sr_table[b][0] for a in learned for b in interpolated)
on_fd = all(sr_table[a][1] < sr_table[b][1] for a in learned for b in interpolated)
print(f"both learned models beat both interpolations on PSNR: {on_psnr}; "
      f"on Fréchet distance: {on_fd}")
own_wins = best_psnr == "MSE" and best_fd == "MSE + GAN"
print("MSE wins PSNR and MSE + GAN wins Fréchet (each the measure it optimises): "
      f"{own_wins}")

SHOWN_SR = 10
rows = [upsample(low_test[:SHOWN_SR], 4, "nearest")] + [
    sr_outputs[name][:SHOWN_SR] for name in ("bilinear", "MSE", "MSE + GAN")] + [
    x_test[:SHOWN_SR]]
fig = viz.image_grid(np.concatenate(rows), nrow=len(rows),
                     title="Rows: the 7×7 input (drawn as blocks), bilinear, MSE, MSE + GAN, "
                           "truth.\nCompare the MSE and MSE + GAN rows: whose strokes are "
                           "crisper, whose closer to the truth?")
print("saved", viz.save_figure(fig, FIGURES / "super_resolution.png"))

colours = {"nearest": "tab:gray", "bilinear": "tab:brown", "MSE": "tab:blue",
           "MSE + GAN": "tab:red"}
fig, ax = plt.subplots(figsize=(6, 4.5))
for name, (psnr, fd, _) in sr_table.items():
    ax.scatter(psnr, fd, s=60, color=colours[name], label=name, zorder=3)
    ax.annotate(name, (psnr, fd), textcoords="offset points", xytext=(6, 4))
ax.axhline(floor, color="black", linestyle=":", linewidth=1,
           label="real vs real (the floor)")
ax.set_yscale("log")
ax.set_xlabel("PSNR against the true digits (dB); right is less distortion")
ax.set_ylabel("Fréchet distance to real digits\n(classifier features², log scale); "
              "down is more real")
ax.set_title("Perception–distortion: right is closer in pixels, down looks more real.\n"
             "Where do MSE and MSE + GAN sit against each other?")
ax.grid(True, alpha=0.3)
ax.margins(x=0.15, y=0.15)
ax.legend(fontsize=8, loc="lower left")
print("saved", viz.save_figure(fig, FIGURES / "perception_distortion.png"))

# %% [markdown]
# **Reading the trade-off.** Blau & Michaeli proved that, for an ill-posed restoration,
# lowering the distortion (pixel error) below some level forces the outputs' distribution
# away from the real one, and the other way round: the best achievable pairs form a curve,
# and a method can only choose where on it to sit. Our two learned models share
# everything except the adversarial term, so the difference between their two points is
# the effect of that term alone. The first printed line under the table says which
# method wins each axis, and the last one whether each learned model wins the measure it
# optimises; in the picture, compare the MSE row's strokes with the GAN row's. Bilinear
# and nearest know nothing of what digits look like; the middle line says whether both
# learned models beat them on each axis, which in the plot means further right and
# further down.
#
# Two cautions about the measures. The Fréchet distance compares *sets*, so it can say
# that the outputs look like real digits in general, not that each one is the right
# digit; PSNR compares each output with its own truth. And the classifier's confidence
# can be high for a crisp digit of the wrong class. Use the measures together, and look
# at the pictures.
#
# ## What to remember
#
# * A trained generator is a prior over images. Searching its input for the code that
#   best explains what we see turns it into a repair tool with no further training; the
#   same search works through any decoder whose prior we can score, such as a VAE's.
# * Pixel error favours the average of all plausible answers; a discriminator favours one
#   plausible answer. Report both kinds of measure: they can rank the same methods
#   differently, as the verdict lines under the trade-off table show for ours.
# * A repair is only as good as the model behind it: the GAN search inherits the
#   generator's flaws, and a context encoder inherits the hole shape it was trained on.

# %%
SUMMARY.show(QUICK)

# %% [markdown]
# ## Exercises
#
# `exercises/18_gan_applications.py` holds three exercises: `hole_psnr`, the PSNR over the
# hole pixels only, one per image, given the *hole* mask (1 = missing). The lesson's
# `inpainting.hole_psnr` takes the known mask instead (1 = given) and by default pools the
# holes of the whole set into one number; its `per_image=True` is the exercise's answer.
# `contextual_loss`, Yeh et al.'s L1 on the known pixels, checked
# against `models.inpainting_loss`; and `pixel_shuffle` in NumPy, checked against
# `F.pixel_shuffle`. Fill them in and run `scratchnet check 18` (`--file my_copy.py`
# grades another file). Reference solutions are in `exercises/solutions/`.
