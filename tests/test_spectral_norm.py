"""Spectral normalisation: the power-iteration estimate of σ(W) against NumPy's SVD for
Dense and Conv2D weights, the wrapped layer's output against W/σ applied by hand, the
persistent u (a buffer, frozen in evaluation mode), the gradient through σ against finite
differences, and the wrapper's parameters and errors."""

from __future__ import annotations

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import nn
from scratchnet.models.gan import dcgan_discriminator, mlp_discriminator


@pytest.fixture
def float64():
    sn.set_default_dtype(np.float64)  # conftest restores float32 afterwards


def top_singular_value(weight):
    w = np.asarray(weight, dtype=np.float64)
    return np.linalg.svd(w.reshape(w.shape[0], -1), compute_uv=False)[0]


def normalize(v):
    return v / np.linalg.norm(v)


def dense(rng=0):
    return nn.Dense(6, 9, rng=rng)


def conv(rng=0):
    return nn.Conv2D(3, 5, 3, padding=1, rng=rng)


def inputs_for(layer, n=4, seed=0):
    shape = (n, 6) if isinstance(layer, nn.Dense) else (n, 3, 5, 5)
    return np.random.default_rng(seed).normal(size=shape).astype(sn.get_default_dtype())


LAYERS = {"dense": dense, "conv": conv}


# -- σ by power iteration -------------------------------------------------------------------
@pytest.mark.parametrize("make", LAYERS.values(), ids=LAYERS.keys())
def test_many_forward_passes_converge_to_the_largest_singular_value(float64, make):
    layer = make()
    wrapped = nn.SpectralNorm(layer, rng=1)
    x = sn.Tensor(inputs_for(layer))
    exact = top_singular_value(layer.weight.numpy())
    first = float(wrapped.sigma().data)
    assert abs(first - exact) / exact > 1e-3     # one step from a random u is not there yet
    for _ in range(200):
        wrapped(x)
    assert float(wrapped.sigma().data) == pytest.approx(exact, rel=1e-3)
    assert wrapped.spectral_norm() == pytest.approx(exact, rel=1e-12)
    normalized = layer.weight.numpy() / float(wrapped.sigma().data)
    assert top_singular_value(normalized) == pytest.approx(1.0, rel=1e-3)


@pytest.mark.parametrize("make", LAYERS.values(), ids=LAYERS.keys())
def test_fifty_power_iterations_in_one_call_converge_too(make):
    layer = make()
    wrapped = nn.SpectralNorm(layer, n_power_iterations=50, rng=1)
    wrapped(sn.Tensor(inputs_for(layer)))
    exact = top_singular_value(layer.weight.numpy())
    wrapped.eval()
    assert float(wrapped.sigma().data) == pytest.approx(exact, rel=1e-3)


def test_one_training_call_takes_one_power_step_from_the_saved_u(float64):
    layer = dense()
    wrapped = nn.SpectralNorm(layer, rng=3)
    W, b = layer.weight.numpy(), layer.bias.numpy()
    u0 = np.array(wrapped.u, copy=True)
    assert np.linalg.norm(u0) == pytest.approx(1.0) and u0.shape == (W.shape[0],)
    x = inputs_for(layer)
    y = wrapped(sn.Tensor(x)).numpy()

    v = normalize(W.T @ u0)
    u1 = normalize(W @ v)
    v1 = normalize(W.T @ u1)
    sigma = u1 @ W @ v1
    np.testing.assert_allclose(wrapped.u, u1, rtol=1e-10)
    np.testing.assert_allclose(y, x @ (W / sigma) + b, rtol=1e-10)


# -- the normalised layer -------------------------------------------------------------------
def test_dense_output_is_the_layer_with_its_weight_divided_by_sigma(float64):
    layer = dense()
    wrapped = nn.SpectralNorm(layer, n_power_iterations=5, rng=1).eval()
    sigma = float(wrapped.sigma().data)
    x = inputs_for(layer)
    expected = x @ (layer.weight.numpy() / sigma) + layer.bias.numpy()
    np.testing.assert_allclose(wrapped(sn.Tensor(x)).numpy(), expected, rtol=1e-12)


def test_conv_output_is_the_layer_with_its_weight_divided_by_sigma(float64):
    layer = conv()
    wrapped = nn.SpectralNorm(layer, n_power_iterations=5, rng=1)
    x = sn.Tensor(inputs_for(layer))
    wrapped(x)                                   # a training call, to move u
    wrapped.eval()
    sigma = float(wrapped.sigma().data)
    reference = conv()
    reference.weight.data[...] = layer.weight.numpy() / sigma
    reference.bias.data[...] = layer.bias.numpy()
    np.testing.assert_allclose(wrapped(x).numpy(), reference(x).numpy(), rtol=1e-12)
    # The layer keeps its raw weight: only the call saw W / σ.
    assert isinstance(layer.weight, nn.Parameter)
    assert top_singular_value(layer.weight.numpy()) != pytest.approx(1.0, rel=1e-2)


def test_the_raw_weight_comes_back_even_when_the_layer_raises():
    layer = dense()
    wrapped = nn.SpectralNorm(layer)
    with pytest.raises(ValueError, match="expected input"):
        wrapped(sn.Tensor(np.zeros((2, 4), np.float32)))
    assert isinstance(layer.weight, nn.Parameter)
    assert wrapped.parameters()[0] is layer.weight


# -- u, a buffer ----------------------------------------------------------------------------
def test_u_is_a_saved_buffer_frozen_in_evaluation_mode():
    layer = dense()
    wrapped = nn.SpectralNorm(layer, rng=1)
    x = sn.Tensor(inputs_for(layer))
    assert "u" in dict(wrapped.named_buffers())
    wrapped(x)
    trained_u = np.array(wrapped.u, copy=True)
    wrapped(x)
    assert not np.allclose(wrapped.u, trained_u)   # training mode moves u

    wrapped.eval()
    frozen = np.array(wrapped.u, copy=True)
    out = [wrapped(x).numpy() for _ in range(3)]
    np.testing.assert_array_equal(wrapped.u, frozen)
    np.testing.assert_array_equal(out[0], out[2])

    state = wrapped.state_dict()
    np.testing.assert_array_equal(state["u"], frozen)
    copy = nn.SpectralNorm(dense(rng=5), rng=7).eval()
    copy.load_state_dict(state)
    np.testing.assert_array_equal(copy.u, frozen)
    np.testing.assert_allclose(copy(x).numpy(), out[0], rtol=1e-6)


# -- gradients ------------------------------------------------------------------------------
@pytest.mark.parametrize("make", LAYERS.values(), ids=LAYERS.keys())
def test_output_passes_gradcheck_with_respect_to_the_weight_with_u_fixed(float64, make):
    layer = make()
    wrapped = nn.SpectralNorm(layer, n_power_iterations=3, rng=1)
    x = inputs_for(layer, n=2)
    wrapped(sn.Tensor(x))
    wrapped.eval()
    weight = layer.weight

    def fn(w, x):
        object.__setattr__(layer, "weight", w)
        try:
            return wrapped(x)
        finally:
            object.__setattr__(layer, "weight", weight)

    assert sn.gradcheck(fn, [weight.numpy().copy(), x])


def test_sigma_gradient_is_the_top_singular_vector_pair(float64):
    # ∂σ_max/∂W = u vᵀ for the top singular vectors; σ = uᵀWv with u, v held gives it.
    layer = dense()
    wrapped = nn.SpectralNorm(layer, n_power_iterations=200, rng=1)
    wrapped(sn.Tensor(inputs_for(layer)))
    wrapped.eval()
    weight = layer.weight

    def sigma(w):
        object.__setattr__(layer, "weight", w)
        try:
            return wrapped.sigma()
        finally:
            object.__setattr__(layer, "weight", weight)

    assert sn.gradcheck(sigma, [weight.numpy().copy()])
    wrapped.sigma().backward()
    left, _, right = np.linalg.svd(weight.numpy())
    # (u, v) and (−u, −v) are both singular pairs; their outer product is the same.
    np.testing.assert_allclose(weight.grad.numpy(), np.outer(left[:, 0], right[0]), atol=1e-6)


# -- the wrapper ----------------------------------------------------------------------------
def test_the_wrapper_trains_the_layers_own_parameters():
    layer = dense()
    wrapped = nn.SpectralNorm(layer)
    assert [id(p) for p in wrapped.parameters()] == [id(p) for p in layer.parameters()]
    assert wrapped.num_parameters() == layer.num_parameters()
    wrapped(sn.Tensor(inputs_for(layer))).sum().backward()
    assert layer.weight.grad is not None and layer.bias.grad is not None


class OneDimensionalWeight(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(np.ones(3))

    def forward(self, x):
        return x * self.weight


@pytest.mark.parametrize("layer", [nn.ReLU(), nn.BatchNorm1D(4), OneDimensionalWeight()],
                         ids=["no weight", "batchnorm", "1-D weight"])
def test_a_layer_without_a_matrix_weight_is_rejected(layer):
    with pytest.raises(TypeError, match="at least 2 dimensions"):
        nn.SpectralNorm(layer)


def test_spectrally_normalised_discriminators_keep_their_size_and_work():
    plain, normed = mlp_discriminator(2, (8, 8), rng=0), mlp_discriminator(2, (8, 8),
                                                                           spectral_norm=True,
                                                                           rng=0)
    assert sum(isinstance(m, nn.SpectralNorm) for m in normed.modules()) == 3
    assert normed.num_parameters() == plain.num_parameters()
    x = sn.Tensor(np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32))
    for _ in range(100):
        normed(x)
    normed.eval()
    # Every layer is 1-Lipschitz (LeakyReLU too), so the whole network is.
    a, b = x.numpy()[:32], x.numpy()[32:]
    gap = np.abs(normed(sn.Tensor(a)).numpy() - normed(sn.Tensor(b)).numpy())[:, 0]
    assert np.all(gap <= np.linalg.norm(a - b, axis=1) * 1.01)

    conv_d = dcgan_discriminator(width=2, spectral_norm=True, rng=0)
    assert sum(isinstance(m, nn.SpectralNorm) for m in conv_d.modules()) == 3
    assert conv_d(sn.Tensor(np.zeros((2, 1, 28, 28), np.float32))).shape == (2, 1)
