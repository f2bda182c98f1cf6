# %% [markdown]
# # Lesson 09: β-VAE and disentangled codes
#
# An ordinary autoencoder squeezes an image through a small code, but nothing tells it
# *how* to arrange the code. Each code number usually ends up carrying a bit of
# everything: move one of them and position, size and shape all change a little at once.
# Veličković's lecture calls this the **entanglement** problem. A code whose units each
# follow one real cause of variation (one unit for the horizontal position, one for the
# size, ...) is called **disentangled**, and it is much easier to read.
#
# ## One extra number in the VAE loss
#
# The β-VAE (Higgins et al., 2017) keeps the VAE of the last lessons and puts a weight
# $\beta \ge 0$ on the KL term of the ELBO. It maximises
#
# $$\mathcal{L}_\beta(x) = \mathbb{E}_{q_\phi(z \mid x)}\big[\log p_\theta(x \mid z)\big]
#   \;-\; \beta\, D_{KL}\big(q_\phi(z \mid x) \,\|\, p(z)\big),
#   \qquad p(z) = \mathcal{N}(0, I).$$
#
# * $\beta = 1$ is the ordinary VAE, and $\mathcal{L}_1$ is the ELBO.
# * $\beta = 0$ drops the KL term. What is left is an autoencoder whose code is
#   $z = \mu + \sigma \odot \varepsilon$. Nothing stops the encoder from making $\sigma$
#   tiny and $\mu$ as large as it likes, so the noise stops mattering. We train it for
#   contrast: Veličković's slides show that such a model learns an entangled code.
# * $\beta > 1$ makes every nat of information in the code dearer. The prior has no
#   covariance between units, and the posterior is a diagonal Gaussian, so the KL is a
#   sum over units, $\sum_u D_{KL}(q(z_u \mid x) \,\|\, \mathcal{N}(0, 1))$. A unit that
#   the decoder does not need is pushed all the way to the prior, where it costs nothing.
#   The hope (Higgins et al.) is that, when the data are made by a few independent
#   factors, the cheapest way to pay for the information that *must* get through is one
#   unit per factor, aligned with the axes of the code.
#
# The price is reconstruction: the larger β, the less the code may say about the image,
# and the blurrier the reconstructions. This lesson measures both sides of that trade.
#
# ## Data with known factors
#
# Disentanglement can only be measured when we know the true factors. `make_shapes`
# draws dSprites-like binary images (Matthey et al., 2017) from five independent factors:
# **shape** (square, ellipse, heart), **scale**, **orientation**, and the horizontal and
# vertical position **pos_x** and **pos_y**. The course's toy problem (Peychev et al., in
# Veličković's deck) is of the same kind.
#
# ## Measuring disentanglement: the Mutual Information Gap
#
# For each code unit $z_j$ and true factor $v_k$ we estimate the mutual information
# $I(z_j; v_k)$ from a histogram of held-out codes (20 equal-width bins per unit). MIG
# (Chen et al., 2018) asks, for every factor, how much more the best unit knows about it
# than the runner-up, relative to the factor's entropy $H(v_k)$:
#
# $$\mathrm{MIG} = \frac{1}{K} \sum_{k=1}^{K}
#   \frac{I(z_{j^{(1)}}; v_k) - I(z_{j^{(2)}}; v_k)}{H(v_k)},$$
#
# where $j^{(1)}$ and $j^{(2)}$ are the units with the largest and second-largest MI with
# $v_k$. It is 1 when each factor lives in exactly one unit, and near 0 both when no unit
# knows a factor and when the knowledge is smeared over several units. The codes are the
# posterior means $\mu(x)$ of held-out images.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

import scratchnet as sn
from scratchnet import metrics, models, nn, optim, viz
from scratchnet.datasets import DataLoader, make_shapes
from scratchnet.lesson import KeyNumbers, figure_dir, quick_mode

QUICK = quick_mode()  # `--quick` or SCRATCHNET_QUICK=1: tiny data, two epochs
FIGURES = figure_dir("09_beta_vae")
SUMMARY = KeyNumbers("Key numbers from this lesson (held-out shapes):")

BETAS = [0.0, 1.0, 4.0]
LATENT = 8            # more units than the 5 factors, so that unused units can show up
HIDDEN = 256
IMAGE_SIZE = 32
ORIENTATIONS = 10     # dSprites has 40; fewer keep the grid small (11,520 images)
N_TEST = 512 if QUICK else 2304
N_TRAIN = 1024 if QUICK else None   # None: every grid image that is not held out
EPOCHS = 2 if QUICK else 24         # 24 epochs of 9,216 images = 3,456 steps of 64

sn.manual_seed(0)
images, factors = make_shapes(size=IMAGE_SIZE, orientations=ORIENTATIONS)  # the full grid
order = np.random.default_rng(0).permutation(len(images))
test_idx, train_idx = order[:N_TEST], order[N_TEST:]
if N_TRAIN is not None:
    train_idx = train_idx[:N_TRAIN]
x_train, x_test = images[train_idx], images[test_idx]
f_test = factors.indices[test_idx]          # (N_test, 5) level index of each factor
NAMES = factors.names
print(f"quick mode: {QUICK}; grid of {len(images)} shapes, factor levels "
      f"{dict(zip(NAMES, factors.sizes))}")
print(f"train {x_train.shape}, held out {x_test.shape}; {x_train.mean():.1%} of pixels are on; "
      f"figures go to {FIGURES}")

# %%
examples = np.random.default_rng(1).choice(len(x_test), 24, replace=False)
fig = viz.image_grid(x_test[examples], nrow=3,
                     title="Held-out shapes: each differs in shape, scale, angle and x, y position")
print("saved", viz.save_figure(fig, FIGURES / "shapes.png"))

# %% [markdown]
# ## 1. The model
#
# An MLP, as in Higgins et al.'s dSprites experiments but much smaller:
# 1024 → 256 → 256 → 2·8 for the encoder (μ and log σ² of 8 latent units) and
# 8 → 256 → 256 → 1024 for the decoder. The decoder outputs logits of a **Bernoulli**
# likelihood, because every pixel is 0 or 1, so the reconstruction term is minus the
# binary cross-entropy summed over the 1,024 pixels, in nats.
#
# All three models start from the same weights and see the batches in the same order.
# The only difference is β.

# %%


def beta_vae(beta: float) -> models.VAE:
    """The MLP β-VAE of this lesson; the same initial weights for every β."""
    rng = np.random.default_rng(0)
    n_pixels = IMAGE_SIZE * IMAGE_SIZE
    encoder = nn.Sequential(
        nn.Flatten(),
        nn.Dense(n_pixels, HIDDEN, activation="relu", rng=rng),
        nn.Dense(HIDDEN, HIDDEN, activation="relu", rng=rng),
        nn.Dense(HIDDEN, 2 * LATENT, rng=rng))
    decoder = nn.Sequential(
        nn.Dense(LATENT, HIDDEN, activation="relu", rng=rng),
        nn.Dense(HIDDEN, HIDDEN, activation="relu", rng=rng),
        nn.Dense(HIDDEN, n_pixels, rng=rng),
        nn.Reshape((1, IMAGE_SIZE, IMAGE_SIZE)))
    return models.VAE(encoder, decoder, LATENT, beta=beta, likelihood="bernoulli", rng=rng)


trained, results = {}, {}
for beta in BETAS:
    sn.manual_seed(1)
    model = beta_vae(beta)
    started = time.perf_counter()
    history = sn.train.fit(model, lambda m, x: m.loss(x),
                           optim.Adam(model.parameters(), lr=1e-3),
                           DataLoader(x_train, batch_size=64, rng=2), epochs=EPOCHS,
                           progress=False)
    seconds = time.perf_counter() - started
    model.eval()
    with sn.no_grad():
        recon, kl = model.elbo_terms(sn.Tensor(x_test))
        mu = model.encode(sn.Tensor(x_test))[0].numpy()
    trained[beta] = model
    results[beta] = {
        "recon": float(-recon.numpy().mean()),   # -E log p(x|z), nats per image
        "kl": float(kl.numpy().mean()),
        "active": model.active_units(sn.Tensor(x_test)),
        "mig": metrics.mig(mu, f_test),
        "mu": mu, "unit_kl": model.kl_per_unit(x_test), "unit_var": mu.var(axis=0),
    }
    print(f"beta = {beta}: {EPOCHS} epochs in {seconds:.1f} s, final training loss "
          f"{history['loss'][-1]:.2f}")

# %% [markdown]
# ## 2. The trade-off in numbers
#
# For each β, on the held-out images: the reconstruction term
# $-\mathbb{E}_q[\log p(x \mid z)]$ (nats per image, lower is better), the KL term (how
# many nats the code carries about the image), the number of **active units** (those
# whose posterior mean varies with the image, $\mathrm{Var}_x(\mu_u(x)) > 0.01$), and MIG.

# %%
print(f"{'beta':>5} {'-E log p(x|z)':>14} {'KL':>8} {'active units':>13} {'MIG':>6}")
for beta, r in results.items():
    print(f"{beta:>5} {r['recon']:>14.2f} {r['kl']:>8.2f} {r['active']:>9} / {LATENT} "
          f"{r['mig']:>6.3f}")
    SUMMARY[f"beta = {beta:g}: -E log p(x|z) / KL / active units / MIG"] = (
        f"{r['recon']:.2f} / {r['kl']:.2f} nats / {r['active']} of {LATENT} / {r['mig']:.3f}")
print("\nKL per unit (nats), units in their own order:")
for beta, r in results.items():
    print(f"  beta = {beta:<4}" + " ".join(f"{v:7.2f}" for v in r["unit_kl"]))

fig, (ax_trade, ax_mig) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"wspace": 0.35})
# One colour per beta, the same in both panels.
beta_colours = dict(zip(BETAS, plt.cm.viridis(np.linspace(0.0, 0.8, len(BETAS)))))
for beta, r in results.items():
    ax_trade.scatter(r["kl"], r["recon"], s=50, color=beta_colours[beta])
    ax_trade.annotate(f"beta = {beta:g}", (r["kl"], r["recon"]), textcoords="offset points",
                      xytext=(6, 4))
ax_trade.set(xscale="log", xlabel="KL(q(z|x) || p(z)), nats (log scale)",
             ylabel="-E log p(x|z), nats", title="A cheaper code costs reconstruction")
ax_trade.margins(0.15)
ax_trade.grid(True, alpha=0.3)
labels = [f"{b:g}" for b in BETAS]
ax_mig.bar(labels, [results[b]["mig"] for b in BETAS], color=[beta_colours[b] for b in BETAS])
ax_mig.set(xlabel="beta (weight of the KL term)",
           ylabel="MIG on held-out shapes\n(fraction of a factor's entropy, 0 to 1)",
           title="Does a larger beta disentangle? (higher MIG)")
ax_mig.grid(True, axis="y", alpha=0.3)
print("saved", viz.save_figure(fig, FIGURES / "tradeoff.png"))

# %% [markdown]
# ## 3. Which unit knows which factor?
#
# MIG is one number, an average over five factors. To see where it comes from, we compute
# the whole table $I(z_j; v_k) / H(v_k)$ with `metrics.mutual_information`: one row per
# unit, one column per factor. It is the estimator MIG uses (equal-width bins, plug-in
# probabilities), and the cell below checks that the gaps of this table give back
# `metrics.mig`.

# %%
print(f"{'factor':>12} " + " ".join(f"{'beta = ' + format(b, 'g'):>21}" for b in BETAS))
print(f"{'':>12} " + " ".join(f"{'best unit  MI/H  gap/H':>21}" for _ in BETAS))
tables = {}
for beta, r in results.items():
    mi, entropy = metrics.mutual_information(r["mu"], f_test)
    ranked = np.sort(mi, axis=0)
    gaps = (ranked[-1] - ranked[-2]) / entropy
    tables[beta] = {"mi": mi / entropy[None, :], "gaps": gaps, "best": mi.argmax(axis=0)}
    assert abs(gaps.mean() - r["mig"]) < 1e-6, "our MI table disagrees with metrics.mig"
for k, name in enumerate(NAMES):
    cells = [f"z{t['best'][k]:<4} {t['mi'][t['best'][k], k]:>6.2f} {t['gaps'][k]:>6.2f}"
             for t in tables.values()]
    print(f"{name:>12} " + " ".join(f"{c:>21}" for c in cells))
print("(the mean of each gap/H column is that model's MIG)")
for beta, t in tables.items():
    SUMMARY[f"beta = {beta:g}: per-factor gap/H ({', '.join(NAMES)})"] = (
        " ".join(f"{g:.2f}" for g in t["gaps"]))

# One colour scale for the three panels, topped at the largest cell so that weak rows show.
mi_top = max(float(t["mi"].max()) for t in tables.values())
fig, axes = plt.subplots(1, len(BETAS), figsize=(4.6 * len(BETAS), 4.6))
for ax, (beta, t) in zip(axes, tables.items()):
    by_kl = np.argsort(results[beta]["unit_kl"])[::-1]
    shown = ax.imshow(t["mi"][by_kl], vmin=0, vmax=mi_top, cmap="viridis")
    ax.set_xticks(range(len(NAMES)), NAMES, rotation=45, ha="right")
    ax.set_yticks(range(LATENT), [f"z{j} ({results[beta]['unit_kl'][j]:.1f})" for j in by_kl])
    ax.set_title(f"beta = {beta:g}, MIG {results[beta]['mig']:.3f}")
axes[0].set_ylabel("unit (its KL in nats), by KL")
fig.colorbar(shown, ax=axes, label="I(z_j; v_k) / H(v_k)\n(fraction of the factor's entropy)",
             shrink=0.8)
fig.suptitle("Disentangled: one bright cell per factor column, each in its own unit "
             "(held-out shapes)", y=1.02)
print("saved", viz.save_figure(fig, FIGURES / "factor_mutual_information.png"))

# %% [markdown]
# ## 4. Latent traversals
#
# The picture behind the numbers, as in Veličković's "shifting the code" slides: take one
# held-out image, encode it to its posterior mean $\mu$, then change **one** unit at a
# time from −3 to 3 (the prior's ±3 standard deviations) while the others keep their
# values from $\mu$, and decode. Each row is one unit, the rows sorted by the unit's KL,
# most informative first. In a disentangled code a row changes one thing (the shape slides
# sideways, or grows); an unused unit gives a row of identical images.
#
# For β = 0 this picture is less useful. Nothing ties that code to the prior, so its scale
# is arbitrary: the row labels show that each unit spreads over the data with a standard
# deviation of several units. The window from −3 to 3 is then narrow, and it may lie far
# from the base image's own value of that unit, so its rows show distorted shapes that
# hardly change along the row.

# %%
base = int(np.flatnonzero((f_test[:, 0] == 2) & (f_test[:, 1] >= 3))[0])  # a larger heart
STEPS = np.linspace(-3.0, 3.0, 9)
print(f"base image: held-out image {base}, factors "
      f"{dict(zip(NAMES, f_test[base].tolist()))}")
for beta, model in trained.items():
    r = results[beta]
    by_kl = np.argsort(r["unit_kl"])[::-1]
    codes = np.repeat(r["mu"][base][None, :], LATENT * len(STEPS), axis=0)
    for row, unit in enumerate(by_kl):
        codes[row * len(STEPS):(row + 1) * len(STEPS), unit] = STEPS
    with sn.no_grad():
        decoded = model.decode(sn.Tensor(codes.astype(np.float32))).numpy()
    fig, ax = plt.subplots(figsize=(len(STEPS) * 0.75 + 1.6, LATENT * 0.75))
    viz.image_grid(decoded, nrow=LATENT, ncol=len(STEPS), ax=ax)
    for row, unit in enumerate(by_kl):
        ax.text(-2, 1 + row * (IMAGE_SIZE + 1) + IMAGE_SIZE / 2,
                f"z{unit}: KL {r['unit_kl'][unit]:.2f}\nsd {np.sqrt(r['unit_var'][unit]):.2f}",
                ha="right", va="center", fontsize=7)
    ax.set_title(f"beta = {beta:g}: one unit z_j from -3 to 3 per row (rows by KL)\n"
                 "disentangled: each row changes one factor, an unused unit nothing",
                 fontsize=9)
    name = f"traversal_beta_{beta:g}.png"
    print("saved", viz.save_figure(fig, FIGURES / name))

# %% [markdown]
# ## 5. What the numbers show
#
# Read this section against the tables of sections 2 and 3 (and the key numbers at the
# end). A `--quick` run trains for two epochs only, and its numbers mean nothing.
#
# **The trade-off.** The cell below states it from this run's numbers. Raising β makes
# every nat the code carries more expensive, so the KL falls, units switch off (their
# posterior mean stops depending on the image), and the reconstruction term rises. The
# first panel of `tradeoff.png` shows the three points: every nat saved in the code is
# paid for by a worse reconstruction.

# %%
for beta, r in results.items():
    print(f"beta = {beta:g}: the code carries {r['kl']:.1f} nats per image in "
          f"{r['active']} active units of {LATENT}; reconstruction costs {r['recon']:.1f} nats")
ranking = sorted(BETAS, key=lambda b: results[b]["mig"], reverse=True)
print("MIG, best first: " + ", ".join(f"beta = {b:g} ({results[b]['mig']:.3f})"
                                       for b in ranking))
best_gaps = tables[ranking[0]]["gaps"]
print("the best model's largest per-factor gaps: " + ", ".join(
    f"{NAMES[k]} {best_gaps[k]:.2f}" for k in np.argsort(best_gaps)[::-1][:2]))

# %% [markdown]
# **Disentanglement: where a high MIG comes from.** The per-factor table of section 3
# shows which factors make a model's MIG. In the full runs we made, the model with the
# largest β scored best, and only on position: one unit knew the horizontal position and a
# different unit the vertical one, and the traversal shows it (one row moves the shape
# sideways, another moves it up and down). Nothing tracked shape or orientation: in the
# traversal, the heart comes back as a round blob. At 32 × 32 pixels, the difference
# between a square, an ellipse and a heart is only a few pixels along the outline, a
# small gain in reconstruction for what a unit would cost in KL, so at a large β it is not
# worth encoding. At small β the position is known too, but spread over several units at
# once (see the heat maps), so the best unit for a factor hardly beats the second best and
# the gaps stay small. Factors that no unit singles out have gaps near zero for every β,
# and that caps MIG far below 1. Check the cell above and the heat maps to see whether
# your run follows the same pattern.
#
# **Be careful with one run.** MIG is sensitive to the random seed. In two earlier runs
# with other seeds for the weights and the batch order, the ranking of the three models by
# MIG differed, and the margins were small. Locatello et al. (2019) made the same point at
# a much larger scale: in unsupervised training, the seed can matter as much as β. The
# reason is a symmetry. The prior $\mathcal{N}(0, I)$ looks the same after any rotation
# of the code, so a code that stores position along a diagonal is penalised about as much
# as one that stores it along the axes. Only the diagonal posterior breaks the tie, and
# its pull is weak. Our models train for a few thousand steps; Higgins et al. trained for
# far longer, on 64 × 64 images with all 40 orientations.
#
# **A note on reproducibility.** Every random choice here is seeded, so a rerun on the
# same machine with the same settings gives the same numbers. But the numbers can still
# move a little between machines, or with the number of threads the BLAS library uses
# (`--threads N`), because a matrix product summed in a different order rounds
# differently, and training amplifies such differences. MIG, a difference of two small
# mutual informations, moves the most.
#
# ## Summary
#
# * β weighs the KL term of the ELBO. β = 1 is the VAE, β = 0 an autoencoder with a
#   noisy code, β > 1 a stronger push towards the factorised prior.
# * Raising β lowers the KL, switches units off and costs reconstruction (the key numbers
#   below give all three for each β).
# * A higher MIG at large β comes from giving single factors, such as the horizontal and
#   vertical position, one unit each; shape and orientation are dropped altogether, and
#   MIG, for every β, depends on the seed.

# %%
SUMMARY.show(QUICK)

# %% [markdown]
# ## Exercises
#
# `exercises/09_beta_vae.py` holds three exercises: `beta_vae_loss`, `kl_per_unit` and
# `active_units`. Fill them in and run `scratchnet check 09` (`--file my_copy.py` grades
# another file). Each failure says which number is wrong, what was expected, and gives a
# hint. Reference solutions are in `exercises/solutions/`.
