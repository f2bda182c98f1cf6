"""float32 in, float32 out: no silent float64 upcast anywhere in training.

scratchnet's default dtype is float32: it halves memory and is what GPUs are fast at. One
stray float64 (a NumPy constant, ``np.zeros`` without a dtype, a float64 target) promotes
everything after it, doubles memory and time, and on a GPU can cost far more than 2×.
Nothing fails when that happens, so these tests look: every layer in a forward and
backward pass, the losses, the optimizers' updates and one training step of each model
family, checking outputs, every parameter's ``.grad`` and the parameters after a step.

Every test runs once per backend (``backend`` fixture, tests/conftest.py).
"""

from __future__ import annotations

import numpy as np
import pytest
from test_nn import LAYERS

import scratchnet as sn
import scratchnet.functional as F
from scratchnet import models, nn, optim
from scratchnet.backend import to_device

F32 = np.dtype(np.float32)


def on(backend: str, array) -> object:
    """``array`` as float32 (floating data) on ``backend``."""
    array = np.asarray(array)
    if array.dtype.kind == "f":
        array = array.astype(np.float32)
    return to_device(array, backend)


def assert_float32(what: str, value) -> None:
    assert value.dtype == F32, f"{what} is {value.dtype}, expected float32"


def assert_parameters_float32(module: nn.Module, grads: bool = True) -> None:
    """Every parameter is float32, and so is its gradient (when ``grads``)."""
    for name, p in module.named_parameters():
        assert_float32(f"parameter {name}", p)
        if grads:
            assert p.grad is not None, f"parameter {name} got no gradient"
            assert_float32(f"{name}.grad", p.grad)


# --------------------------------------------------------------------------------------
# Layers
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_every_layer_keeps_float32_forward_and_backward(backend, name, training):
    make, shape = LAYERS[name]
    layer = make().to(backend).train(training)
    rng = np.random.default_rng(0)
    x = sn.Tensor(on(backend, rng.normal(size=shape)), requires_grad=True)
    y = layer(x)
    assert_float32(f"{name} output", y)
    y.backward(on(backend, rng.normal(size=y.shape)))  # a random upstream gradient
    assert_float32(f"{name} input gradient", x.grad)
    assert_parameters_float32(layer)


# --------------------------------------------------------------------------------------
# Losses: float32 predictions, targets as they come (float32, or float64 straight from
# NumPy): the loss and the prediction's gradient stay float32
# --------------------------------------------------------------------------------------
def _unit(rng, shape):
    return rng.uniform(0.05, 0.95, size=shape)


LOSSES = {
    "mse": (lambda p, t: F.mse_loss(p, t), lambda rng: rng.normal(size=(4, 3))),
    "bce": (lambda p, t: F.binary_cross_entropy(F.sigmoid(p), t), lambda rng: _unit(rng, (4, 3))),
    "bce_with_logits": (lambda p, t: F.binary_cross_entropy_with_logits(p, t),
                        lambda rng: _unit(rng, (4, 3))),
}


@pytest.mark.parametrize("target_dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_regression_losses_keep_float32(backend, name, target_dtype):
    loss_fn, make_target = LOSSES[name]
    rng = np.random.default_rng(1)
    prediction = sn.Tensor(on(backend, rng.normal(size=(4, 3))), requires_grad=True)
    target = to_device(make_target(rng).astype(target_dtype), backend)
    loss = loss_fn(prediction, target)
    assert_float32(f"{name} loss", loss)
    loss.backward()
    assert_float32(f"{name} prediction gradient", prediction.grad)


def test_cross_entropy_keeps_float32(backend):
    rng = np.random.default_rng(2)
    logits = sn.Tensor(on(backend, rng.normal(size=(4, 5))), requires_grad=True)
    loss = F.cross_entropy(logits, to_device(np.array([2, 0, 4, 2]), backend))
    assert_float32("cross_entropy", loss)
    loss.backward()
    assert_float32("cross_entropy logits gradient", logits.grad)


def test_gaussian_kl_keeps_float32(backend):
    rng = np.random.default_rng(3)
    mu = sn.Tensor(on(backend, rng.normal(size=(4, 2))), requires_grad=True)
    logvar = sn.Tensor(on(backend, rng.normal(size=(4, 2))), requires_grad=True)
    kl = F.gaussian_kl(mu, logvar)
    assert_float32("gaussian_kl", kl)
    kl.mean().backward()
    assert_float32("gaussian_kl mu gradient", mu.grad)
    assert_float32("gaussian_kl logvar gradient", logvar.grad)


# --------------------------------------------------------------------------------------
# Optimizers
# --------------------------------------------------------------------------------------
OPTIMIZERS = {
    "sgd": lambda ps: optim.SGD(ps, lr=0.1),
    "sgd-nesterov-decay": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True,
                                               weight_decay=1e-2),
    "adam": lambda ps: optim.Adam(ps, lr=1e-3),
    "adam-decay": lambda ps: optim.Adam(ps, lr=1e-3, weight_decay=1e-2),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_steps_keep_parameters_float32(backend, name):
    model = nn.Sequential(nn.Dense(3, 4, activation="tanh", rng=0), nn.Dense(4, 1, rng=0))
    model.to(backend)
    optimizer = OPTIMIZERS[name](model.parameters())
    rng = np.random.default_rng(4)
    x, y = on(backend, rng.normal(size=(8, 3))), on(backend, rng.normal(size=(8, 1)))
    for _ in range(3):  # the later steps use the momentum / moment buffers
        optimizer.zero_grad()
        F.mse_loss(model(x), y).backward()
        optimizer.step()
    assert_parameters_float32(model)


# --------------------------------------------------------------------------------------
# One training step of each model family
# --------------------------------------------------------------------------------------
def _adam_step(model: nn.Module, loss: sn.Tensor) -> None:
    """Backward, check the gradients, step, check the parameters."""
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    optimizer.zero_grad()
    loss.backward()
    assert_parameters_float32(model)
    optimizer.step()
    assert_parameters_float32(model, grads=False)


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_vae_training_step_keeps_float32(backend, likelihood):
    vae = models.mlp_vae(latent_dim=2, hidden=8, image_shape=(1, 4, 4), likelihood=likelihood,
                         rng=0).to(backend)
    x = sn.Tensor(on(backend, np.random.default_rng(5).uniform(size=(6, 1, 4, 4))))
    mu, logvar = vae.encode(x)
    assert_float32("VAE mu", mu)
    assert_float32("VAE logvar", logvar)
    assert_float32("VAE reconstruction", vae(x))
    assert_float32("VAE elbo", vae.elbo(x))
    loss = vae.loss(x)
    assert_float32("VAE loss", loss)
    _adam_step(vae, loss)
    assert_float32("VAE sample", vae.sample(3))


def test_conv_autoencoder_training_step_keeps_float32(backend):
    ae = models.conv_autoencoder(rng=0).to(backend)
    x = sn.Tensor(on(backend, np.random.default_rng(6).uniform(size=(2, 1, 28, 28))))
    assert_float32("conv autoencoder output", ae(x))
    loss = ae.loss(x)
    assert_float32("conv autoencoder loss", loss)
    _adam_step(ae, loss)


@pytest.mark.parametrize("loss", ["non_saturating", "wgan_gp"])
def test_gan_training_step_keeps_float32(backend, loss):
    generator = models.dcgan_generator(latent_dim=4, width=2, rng=0)
    discriminator = models.dcgan_discriminator(width=2, rng=1)
    gan = models.GAN(generator, discriminator, latent_dim=4, loss=loss, rng=2).to(backend)
    real = sn.Tensor(on(backend, np.random.default_rng(7).uniform(size=(4, 1, 28, 28))))
    fake = gan.sample(4)
    assert_float32("GAN sample", fake)
    assert_float32("GAN score", gan.score(real))
    if loss == "wgan_gp":
        assert_float32("gradient penalty", gan.gradient_penalty(real, fake))
    logs = gan.training_step(real, gan.configure_optimizers())
    assert all(np.isfinite(v) for v in logs.values()), logs
    assert_parameters_float32(gan.generator)
    assert_parameters_float32(gan.discriminator)


def test_rbm_cd_step_keeps_float32(backend):
    rbm = models.RBM(16, 8, rng=0).to(backend)
    X = to_device((np.random.default_rng(8).uniform(size=(16, 16)) < 0.5).astype(np.float32),
                  backend)
    h = rbm.hidden_probabilities(X)
    assert h.dtype == F32, f"P(h | v) is {h.dtype}"
    v_model = rbm.gibbs(X, steps=1)
    assert v_model.dtype == F32, f"a Gibbs sample is {v_model.dtype}"
    for name, g in zip("Wba", rbm.cd_gradient(X, v_model)):
        assert g.dtype == F32, f"the CD gradient for {name} is {g.dtype}"
    assert_float32("free energy", rbm.free_energy(X))
    gap = rbm.free_energy_gap(X, v_model)
    assert_float32("free-energy gap", gap)
    gap.backward()
    assert_parameters_float32(rbm)
    history = rbm.fit(X, epochs=1, batch_size=8, progress=False)
    assert all(np.isfinite(values).all() for values in history.values())
    assert_parameters_float32(rbm, grads=False)
