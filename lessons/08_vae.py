# %% [markdown]
# # Lesson 08: the variational autoencoder
#
# The autoencoders of lessons 04 to 07 compress and rebuild, but they cannot *invent*. A
# point picked at random in their code space usually decodes to a smudge, because nothing
# told the encoder where in that space to put the digits. A **variational autoencoder**
# (Kingma & Welling, 2014) is a proper probabilistic model of the images, so it can be
# sampled and it gives each image a likelihood, measured in nats.
#
# ## The model
#
# Each image $x$ is explained by a hidden code $z \in \mathbb{R}^L$:
#
# $$p(z) = \mathcal{N}(0, I), \qquad p_\theta(x \mid z) = \prod_i
# \text{Bernoulli}\big(x_i;\ \sigma(f_\theta(z))_i\big),$$
#
# with the decoder network $f_\theta$ giving one logit per pixel. The likelihood
# $p_\theta(x) = \int p(z)\, p_\theta(x \mid z)\, dz$ is an integral over all codes, which no
# one can compute for a neural decoder. So an **encoder** network guesses, for each image,
# where its codes lie: $q_\phi(z \mid x) = \mathcal{N}\big(\mu_\phi(x),\,
# \text{diag}\,\sigma^2_\phi(x)\big)$.
#
# ## The evidence lower bound
#
# For any $q$, the log-likelihood splits into a bound and a gap (Veličković's lecture
# derives it line by line):
#
# $$\log p_\theta(x) = \underbrace{\mathbb{E}_{q}\big[\log p_\theta(x \mid z)\big]
# - \mathrm{KL}\big(q_\phi(z \mid x)\,\|\,p(z)\big)}_{\text{ELBO}(x)}
# \;+\; \mathrm{KL}\big(q_\phi(z \mid x)\,\|\,p_\theta(z \mid x)\big).$$
#
# The last KL is never negative, so the ELBO is a lower bound on $\log p_\theta(x)$, and
# raising it either raises the likelihood or makes $q$ a better guess of the true
# posterior. Its two terms read like an autoencoder: a **reconstruction** term (decode a
# code drawn for $x$ and score $x$ under it) and a **regulariser** that keeps each
# image's code distribution close to the prior. For Gaussians the regulariser has a
# closed form,
#
# $$\mathrm{KL}\big(\mathcal{N}(\mu, \text{diag}\,\sigma^2)\,\|\,\mathcal{N}(0, I)\big)
# = \tfrac12 \sum_{j=1}^{L} \big(\mu_j^2 + \sigma_j^2 - 1 - \log \sigma_j^2\big),$$
#
# which is `F.gaussian_kl(mu, logvar)`. (One of the course slides prints this sum without
# the factor ½; section 2 checks which is right.)
#
# ## The reparameterisation trick
#
# The reconstruction term is an expectation over $z \sim q_\phi(z \mid x)$, estimated with
# one sample. A sampling step has no gradient with respect to $\phi$. The trick is to
# draw the noise first and make $z$ a function of it:
#
# $$z = \mu_\phi(x) + \sigma_\phi(x) \odot \varepsilon, \qquad \varepsilon \sim
# \mathcal{N}(0, I), \qquad \sigma = \exp\big(\tfrac12 \log \sigma^2\big).$$
#
# Now $z$ is an ordinary differentiable function of the encoder's outputs, and backprop
# trains the encoder and the decoder together. In scratchnet, `models.VAE` does all of
# this; its `loss(x)` is $-$ the mean ELBO of a batch.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

import scratchnet as sn
import scratchnet.functional as F
from scratchnet import models, optim, viz
from scratchnet.datasets import DataLoader, load_mnist, random_binarize
from scratchnet.lesson import KeyNumbers, bundled_mnist, figure_dir, quick_mode

QUICK = quick_mode()  # `--quick` or SCRATCHNET_QUICK=1: tiny data, few epochs
FIGURES = figure_dir("08_vae")
SUMMARY = KeyNumbers("Key numbers from this lesson (test split of the bundled MNIST subset):")

sn.manual_seed(0)
x_train, y_train, _, y_test = bundled_mnist(QUICK)
# The test digits are binarised once, with a fixed seed, so every model is scored on the
# same binary images. Training batches get a fresh binary sample every time
# (dynamic binarisation), which acts as data augmentation.
x_test, _ = load_mnist("test", source="bundled", binarize="dynamic", rng=0)
x_test = x_test[:len(y_test)]
EPOCHS = 2 if QUICK else 50
EPOCHS_2D = 2 if QUICK else 30    # the 2-D model of section 6
EPOCHS_50D = 4 if QUICK else 150  # the 50-D model of section 7: units switch off slowly
print(f"quick mode: {QUICK}; train {x_train.shape}, test {x_test.shape}; figures go to "
      f"{FIGURES}")

# %% [markdown]
# ## 1. The trick, checked by gradcheck
#
# With the generator seeded, the noise $\varepsilon$ is the same on every call, so
# $z(\mu, \log\sigma^2)$ is a fixed, smooth function and its gradient can be checked
# against finite differences like any other op. Without the trick there is nothing to
# check: a $z$ drawn directly from $\mathcal{N}(\mu, \sigma^2)$ by NumPy is a plain number
# with no graph behind it.

# %%
rng = np.random.default_rng(3)
mu = sn.Tensor(rng.normal(size=(4, 3)), requires_grad=True, dtype=np.float64)
logvar = sn.Tensor(rng.normal(size=(4, 3)), requires_grad=True, dtype=np.float64)


def seeded_sample(m: sn.Tensor, lv: sn.Tensor) -> sn.Tensor:
    return models.reparameterize(m, lv, rng=np.random.default_rng(7))


passed = sn.gradcheck(seeded_sample, (mu, logvar))
z = seeded_sample(mu, logvar)
z.sum().backward()
eps = np.random.default_rng(7).standard_normal((4, 3))
print(f"gradcheck of z = mu + exp(logvar / 2) * eps: {passed}")
print(f"dz/dmu is all ones: {np.allclose(mu.grad, 1.0)}; dz/dlogvar = eps * sigma / 2: "
      f"{np.allclose(logvar.grad, eps * np.exp(logvar.data / 2) / 2)}")
SUMMARY["gradcheck through the reparameterised sample"] = str(passed)

# %% [markdown]
# ## 2. The KL term: closed form against sampling
#
# $\mathrm{KL}(q\,\|\,p) = \mathbb{E}_q[\log q(z) - \log p(z)]$, so averaging
# $\log q(z) - \log p(z)$ over many samples of $z$ must agree with the closed form. It
# settles the factor ½. While we are at it: a Keras snippet in the course computes
# `z_mean + K.exp(z_log_var) * epsilon`, which scales the noise by $\sigma^2$ instead of
# $\sigma$. The sample variances below show the difference.

# %%
mu_q, logvar_q = np.array([[0.5, -1.0, 2.0]]), np.array([[0.3, -0.7, -2.0]])
closed = float(F.gaussian_kl(sn.Tensor(mu_q), sn.Tensor(logvar_q)).data[0])
z_mc = mu_q + np.exp(logvar_q / 2) * np.random.default_rng(11).standard_normal((1_000_000, 3))
log_q = -0.5 * (np.log(2 * np.pi) + logvar_q + (z_mc - mu_q) ** 2 / np.exp(logvar_q)).sum(1)
log_p = -0.5 * (np.log(2 * np.pi) + z_mc ** 2).sum(1)
mc = log_q - log_p
print(f"KL closed form {closed:.4f}; Monte Carlo over {len(mc):,} samples {mc.mean():.4f} "
      f"± {mc.std() / np.sqrt(len(mc)):.4f}; without the 1/2 it would be {2 * closed:.4f}")
wrong = mu_q + np.exp(logvar_q) * np.random.default_rng(11).standard_normal((1_000_000, 3))
print(f"target variances sigma^2:          {np.round(np.exp(logvar_q[0]), 3)}")
print(f"with exp(logvar / 2) * eps:        {np.round(z_mc.var(axis=0), 3)}")
print(f"with exp(logvar) * eps (the slide): {np.round(wrong.var(axis=0), 3)}")
SUMMARY["KL: closed form vs Monte Carlo"] = f"{closed:.4f} vs {mc.mean():.4f}"

# %% [markdown]
# ## 3. Train the reference VAE
#
# `models.mlp_vae(20)` is the model of Kingma & Welling's MNIST experiments with ReLU
# units: 784-400-(20 means, 20 log-variances) in the encoder and 20-400-784 logits in the
# decoder. We train it with Adam ($10^{-3}$, batches of 128) and, after each epoch,
# measure the two ELBO terms on the test digits. Before any training the KL is small: the
# codes are all close to the prior, and the decoder draws an average blur. The table's
# first row is measured after one epoch, not at the start, and by then the encoder already
# spends some nats of KL on codes that make the reconstruction term much better.

# %%
def elbo_terms(model: models.VAE, x: np.ndarray) -> tuple[float, float]:
    """Mean reconstruction log-likelihood and mean KL in nats, one z per image."""
    with sn.no_grad():
        recon, kl = model.elbo_terms(x)
    return float(recon.data.mean()), float(kl.data.mean())


class TestTerms(sn.train.Callback):
    """After every epoch, log the ELBO's terms on the test digits into the History:
    ``test_recon`` (E[log p(x|z)]), ``test_kl``, ``test_elbo`` and ``test_active_units``."""

    def on_epoch_end(self, epoch: int, history: sn.train.History, model: models.VAE) -> None:
        recon, kl = elbo_terms(model, x_test)
        history.record({"test_recon": recon, "test_kl": kl, "test_elbo": recon - kl,
                        "test_active_units": model.active_units(x_test)})


def train_vae(model: models.VAE, epochs: int, seed: int) -> tuple[sn.train.History, float]:
    """Adam 1e-3, batch 128, dynamic binarisation; returns the History and the time."""
    sn.manual_seed(seed)
    batch_rng = np.random.default_rng(seed)
    loader = DataLoader(x_train, batch_size=128, shuffle=True, rng=seed)
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    started = time.perf_counter()
    history = sn.train.fit(model, lambda m, x: m.loss(random_binarize(x.data, batch_rng)),
                           optimizer, loader, epochs, callbacks=[TestTerms()], progress=False)
    return history, time.perf_counter() - started


vae = models.mlp_vae(20, rng=0)
print(f"{vae.num_parameters():,} parameters")
terms, seconds = train_vae(vae, EPOCHS, seed=1)
print(f"trained {EPOCHS} epochs in {seconds:.1f} s ({seconds / EPOCHS:.2f} s per epoch)")
print(f"{'epoch':>5} {'E[log p(x|z)]':>14} {'KL':>8} {'ELBO':>9}")
for epoch, recon, kl in zip(range(1, terms.epochs + 1), terms["test_recon"], terms["test_kl"]):
    if epoch in (1, 2, 5) or epoch % 10 == 0 or epoch == EPOCHS:
        print(f"{epoch:>5} {recon:>14.2f} {kl:>8.2f} {recon - kl:>9.2f}")
SUMMARY["reference VAE 784-400-20: training time"] = (
    f"{seconds:.1f} s for {EPOCHS} epochs ({seconds / EPOCHS:.2f} s per epoch)")

fig = viz.plot_history(terms, keys=["test_recon", "test_kl", "test_elbo"],
                       ylabel="nats per test digit",
                       title="the ELBO = E[log p(x|z)] - KL, on the test digits")
print("saved", viz.save_figure(fig, FIGURES / "elbo_terms.png"))

# %% [markdown]
# ## 4. How good is it, in nats? The importance-weighted estimate
#
# The ELBO is only a lower bound. Burda et al. (2016) tighten it by averaging $k$
# importance weights inside the logarithm:
#
# $$\mathcal{L}_k(x) = \log \frac1k \sum_{i=1}^{k}
# \frac{p_\theta(x \mid z_i)\, p(z_i)}{q_\phi(z_i \mid x)}, \qquad z_i \sim
# q_\phi(z \mid x).$$
#
# $\mathcal{L}_1$ is the ELBO (with the KL estimated by sampling), $\mathcal{L}_k$ never
# decreases with $k$ in expectation, and it tends to $\log p_\theta(x)$. The gap between
# the ELBO and $\mathcal{L}_{100}$ is roughly the posterior KL that the encoder's Gaussian
# guess leaves on the table. `VAE.importance_log_likelihood(x, k)` computes it in chunks.

# %%
sn.manual_seed(5)
with sn.no_grad():
    test_elbo = float(np.mean([vae.elbo(x_test).data.mean() for _ in range(5)]))
iw = {k: float(vae.importance_log_likelihood(x_test, k=k).data.mean()) for k in (1, 10, 100)}
print(f"test ELBO (one z per digit, averaged over 5 passes): {test_elbo:.2f} nats")
for k, value in iw.items():
    print(f"  importance-weighted estimate, k = {k:>3}: {value:.2f} nats")
SUMMARY["test ELBO (target >= -112 nats)"] = f"{test_elbo:.2f} nats"
SUMMARY["test IW estimate k = 1 / 10 / 100 (target k=100 >= -107)"] = (
    f"{iw[1]:.2f} / {iw[10]:.2f} / {iw[100]:.2f} nats")

# %% [markdown]
# ## 5. Samples from the prior
#
# To generate, skip the encoder: draw $z \sim \mathcal{N}(0, I)$ and decode. We show the
# pixel probabilities $\sigma(f_\theta(z))$ rather than a binary sample of them, as papers
# usually do. They are blurrier than real digits, the common complaint about VAEs, and
# some of them are not digits at all: the parts of the prior that no image's code covers
# decode to mixtures.

# %%
sn.manual_seed(9)
fig = viz.image_grid(vae.sample(64), nrow=8, title="VAE samples: decode(z), z ~ N(0, I)")
print("saved", viz.save_figure(fig, FIGURES / "prior_samples.png"))
fig = viz.image_grid(np.concatenate([x_test[:8], vae.reconstruct(x_test[:8]).data]), nrow=2,
                     title="test digits (top) and the VAE's mean reconstructions")
print("saved", viz.save_figure(fig, FIGURES / "reconstructions.png"))

# %% [markdown]
# ## 6. A two-number code: the manifold of digits
#
# With $L = 2$ the whole code space can be drawn. Decoding a grid of points (spaced
# evenly in probability under the prior, as in Kingma & Welling's figure 4) shows digits
# that morph continuously into one another. And the test digits' posterior means,
# coloured by label, show that the encoder sorts digits by class without seeing a label,
# while keeping the cloud close to the $\mathcal{N}(0, I)$ disc that the KL term asks
# for.

# %%
vae2 = models.mlp_vae(2, rng=0)
terms2, seconds2 = train_vae(vae2, EPOCHS_2D, seed=2)
print(f"2-D VAE: {EPOCHS_2D} epochs in {seconds2:.1f} s; test ELBO "
      f"{terms2['test_elbo'][-1]:.2f} nats")
fig = viz.latent_manifold(lambda z: vae2.decode(sn.Tensor(z)).data, grid_size=15,
                          latent_range=(-2.5, 2.5), norm_ppf=True,
                          title="decoded grid of the 2-D code")
print("saved", viz.save_figure(fig, FIGURES / "latent_manifold.png"))
with sn.no_grad():
    codes2, _ = vae2.encode(x_test)
fig = viz.latent_scatter(codes2.data, y_test,
                         title="posterior means of the test digits: classes gather in\n"
                               "regions, near the prior's N(0, I) circles")
ax = fig.axes[0]
ax.collections[0].set_sizes([14])  # larger markers: a thousand dots, not a grey blob
# The prior's contours: radius r holds 1 - exp(-r^2 / 2) of N(0, I)'s mass in 2-D.
for radius, style in ((1.0, "--"), (2.0, ":")):
    mass = 1 - np.exp(-radius ** 2 / 2)
    ax.add_patch(plt.Circle((0, 0), radius, fill=False, color="black", linestyle=style,
                            linewidth=1.2, label=f"N(0, I): radius {radius:g} ({mass:.0%})"))
reach = max(2.5, float(np.abs(codes2.data).max()) * 1.05)
ax.set_aspect("equal", adjustable="box")  # keep the circles round at fixed limits
ax.set(xlim=(-reach, reach), ylim=(-reach, reach),
       xlabel="z₁ (posterior mean, prior units)", ylabel="z₂ (posterior mean, prior units)")
ax.legend(loc="upper right", fontsize=8)
print("saved", viz.save_figure(fig, FIGURES / "latent_scatter.png"))
print(f"posterior means: mean {np.round(codes2.data.mean(axis=0), 2)}, "
      f"std {np.round(codes2.data.std(axis=0), 2)} (the prior: 0 and 1)")
SUMMARY["2-D VAE test ELBO"] = f"{terms2['test_elbo'][-1]:.2f} nats"

# %% [markdown]
# ## 7. How many units does the VAE use?
#
# The KL term charges for every latent unit whose posterior differs from the prior. A
# unit that does not pay for itself in reconstruction is switched off: its posterior mean
# stops depending on $x$, its variance goes to 1, and its KL to 0. Burda et al. (2016)
# count a unit $u$ as **active** when $\text{Var}_x\big(\mathbb{E}_q[z_u \mid x]\big) >
# 10^{-2}$. We give a model 50 units, more than it needs, and watch the count while it
# trains. Switching a unit off is slow: the KL's pull on an almost useless unit is weak,
# so this model trains for longer than the others.

# %%
vae50 = models.mlp_vae(50, rng=0)
terms50, seconds50 = train_vae(vae50, EPOCHS_50D, seed=3)
print(f"50-D VAE: {EPOCHS_50D} epochs in {seconds50:.1f} s")
print(f"{'epoch':>5} {'active units (of 50)':>21} {'test ELBO':>10}")
for epoch, count, elbo in zip(range(1, terms50.epochs + 1), terms50["test_active_units"],
                              terms50["test_elbo"]):
    if epoch in (1, EPOCHS_50D) or epoch % 25 == 0:
        print(f"{epoch:>5} {count:>21.0f} {elbo:>10.2f}")

kl_per_unit = vae50.kl_per_unit(x_test)
order = np.argsort(kl_per_unit)[::-1]
variances = vae50.latent_variances(x_test)[order]
print(f"{'latent size':>11} {'epochs':>7} {'active units':>13} {'test ELBO':>10}")
for size, t in [(2, terms2), (20, terms), (50, terms50)]:
    print(f"{size:>11} {t.epochs:>7} {t['test_active_units'][-1]:>13.0f} "
          f"{t['test_elbo'][-1]:>10.2f}")
print(f"50-D model: units below 0.1 nats of KL: {(kl_per_unit < 0.1).sum()}; the "
      f"{len(kl_per_unit) - (kl_per_unit < 0.1).sum()} others carry "
      f"{kl_per_unit[kl_per_unit >= 0.1].sum() / kl_per_unit.sum():.1%} of the KL")
SUMMARY["active units for latent sizes 2 / 20 / 50"] = (
    f"{terms2['test_active_units'][-1]:.0f} / {terms['test_active_units'][-1]:.0f} / "
    f"{terms50['test_active_units'][-1]:.0f} "
    f"(after {EPOCHS_2D} / {EPOCHS} / {EPOCHS_50D} epochs)")

fig, ax = plt.subplots(figsize=(6.0, 4.0))
units = np.arange(1, len(kl_per_unit) + 1)
ax.semilogy(units, kl_per_unit[order], marker="o", markersize=3, label="KL of unit u (nats)")
ax.semilogy(units, variances, marker="o", markersize=3, label="Var_x(E[z_u | x])")
ax.axhline(1e-2, color="k", linestyle="--", linewidth=0.8, label="activity threshold 0.01")
ax.set_xlabel("unit u, most informative first")
ax.set_ylabel("nats (KL); squared code units (variance)")
ax.set_title("50-D VAE: units sorted by their KL")
ax.grid(True, alpha=0.3)
ax.legend()
print("saved", viz.save_figure(fig, FIGURES / "active_units.png"))
fig = viz.plot_history(terms50, keys=["test_active_units"], ylabel="units with Var > 0.01",
                       title="50-D VAE: active units while training")
print("saved", viz.save_figure(fig, FIGURES / "active_units_while_training.png"))

# %% [markdown]
# The small models use every unit they have. The 50-unit model starts with all 50
# active, and the count falls as training goes on: a unit whose posterior mean barely
# moves with $x$ is pushed onto the prior. The KL per unit shows the same thing from the
# other side: a minority of units carries almost all of the information about $x$ in
# nats, and the rest sit near 0 nats, on their way to being switched off. The threshold
# $10^{-2}$ is a convention, so the count depends on how long we train; the sorted KL
# curve is the more honest picture.

# %% [markdown]
# ## Summary
#
# * A VAE maximises the ELBO: a reconstruction term minus the KL from each image's code
#   distribution to the prior. The KL has a closed form, with a factor ½.
# * The reparameterisation trick $z = \mu + \sigma \odot \varepsilon$ makes the sampled
#   code differentiable; with the noise fixed it passes gradcheck like any other op.
# * The ELBO is a bound. The importance-weighted estimate with $k$ samples is higher, and
#   rises with $k$; the gap measures how far $q$ is from the true posterior.
# * Samples from the prior are recognisable but blurry. The 2-D code lays the digits out
#   on a smooth map, sorted by class without labels.
# * Latent units that do not pay for their KL are switched off: the model decides how
#   many of its units to use.
#
# Lesson 09 turns the KL's weight up ($\beta > 1$) and asks whether the units then
# line up with the factors that generated the images.

# %%
SUMMARY.show(QUICK)

# %% [markdown]
# ## Exercises
#
# `exercises/08_vae.py` holds three exercises: `reparameterise`, `kl_to_standard_normal` and
# `kl_diag_gaussians`, the KL of two diagonal Gaussians. Fill them in and run `scratchnet
# check 08` (`--file my_copy.py` grades another file). Each failure says which number is
# wrong, what was expected, and gives a hint. Reference solutions are in
# `exercises/solutions/`.
