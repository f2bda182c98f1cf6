"""The autoencoder family, measured: linear AE == PCA's subspace, the contractive penalty
against its closed form and finite differences, denoising, sparsity, the course's builders."""

from __future__ import annotations

import math

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import nn, optim
from scratchnet.datasets.loader import DataLoader
from scratchnet.metrics import psnr, subspace_angles
from scratchnet.models import (
    PCA,
    Autoencoder,
    LinearAutoencoder,
    TiedDense,
    conv_autoencoder,
    deep_autoencoder,
)
from scratchnet.train import evaluate


@pytest.fixture
def float64():
    sn.set_default_dtype(np.float64)  # conftest restores float32 afterwards


def train_full_batch(model, x, steps, lr=1e-2):
    """Adam on the whole data set at every step, so the result is the optimum, not noise."""
    opt = optim.Adam(model.parameters(), lr=lr)
    x = sn.Tensor(x)
    model.train()
    for _ in range(steps):
        opt.zero_grad()
        model.loss(x).backward()
        opt.step()
    return model.eval()


def predict(model, x):
    with sn.no_grad():
        return model(sn.Tensor(x)).numpy()


def swapped_in(model, names, tensors):
    """Put ``tensors`` in place of the model's parameters ``names`` (dotted), return the undo.

    gradcheck hands its own float64 leaves to the function; swapping them in for the
    parameters lets it check gradients with respect to the weights (as in test_nn.py).
    """
    saved = []
    for name, t in zip(names, tensors):
        *path, attr = name.split(".")
        owner = model
        for part in path:
            owner = getattr(owner, part)
        saved.append((owner, attr, getattr(owner, attr)))
        object.__setattr__(owner, attr, t)

    def undo():
        for owner, attr, original in reversed(saved):
            object.__setattr__(owner, attr, original)

    return undo


# ---- linear autoencoders against PCA --------------------------------------------------------

D, K = 20, 3
VARIANCES = np.array([25.0, 16.0, 9.0] + [0.25] * (D - K))  # eigengap λ3/λ4 = 36


def eigengap_data(n, seed):
    """Gaussian data whose top-3 principal subspace is a fixed random one (rotation seed 0)."""
    rotation, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(D, D)))
    z = np.random.default_rng(seed).normal(size=(n, D)) * np.sqrt(VARIANCES)
    return z @ rotation.T + 1.0


@pytest.mark.parametrize("tied", [False, True])
def test_linear_autoencoder_learns_pcas_subspace_and_matches_its_test_mse(float64, tied):
    x_train, x_test = eigengap_data(400, seed=1), eigengap_data(400, seed=2)
    pca = PCA(K).fit(x_train)
    model = train_full_batch(LinearAutoencoder(D, K, tied=tied, rng=3), x_train, steps=2000)
    basis = model.decoder_basis()
    assert basis.shape == (D, K)
    largest_angle = math.degrees(subspace_angles(basis, pca.components_.T).max())
    assert largest_angle < 1.0
    pca_mse = pca.reconstruction_error(x_test)
    ae_mse = float(((predict(model, x_test) - x_test) ** 2).mean())
    assert abs(ae_mse - pca_mse) <= 0.005 * pca_mse
    if tied:
        # The tied optimum is an orthonormal basis of the subspace: Wᵀ W = I.
        np.testing.assert_allclose(basis.T @ basis, np.eye(K), atol=1e-3)


def test_tied_autoencoder_shares_one_weight_matrix():
    n_in, k = 20, 3
    tied = LinearAutoencoder(n_in, k, tied=True, rng=0)
    assert isinstance(tied.decoder, TiedDense)
    assert tied.decoder.weight is tied.encoder.weight
    assert tied.num_parameters() == n_in * k + k + n_in
    assert [name for name, _ in tied.named_parameters()] == [
        "encoder.weight", "encoder.bias", "decoder.bias"]
    untied = LinearAutoencoder(n_in, k, rng=0)
    assert untied.num_parameters() == 2 * n_in * k + k + n_in
    np.testing.assert_array_equal(tied.decoder_basis(), tied.encoder.weight.numpy())
    np.testing.assert_array_equal(untied.decoder_basis(), untied.decoder.weight.numpy().T)
    assert "tied" in repr(tied)


def test_tied_decoder_is_the_transpose_and_its_gradient_sums_both_uses(float64):
    model = LinearAutoencoder(4, 2, tied=True, rng=1)
    model.decoder.bias.data[:] = [0.1, -0.2, 0.3, 0.05]
    x = np.random.default_rng(0).normal(size=(5, 4))
    W, b_e, b_d = (p.numpy() for p in model.parameters())
    np.testing.assert_allclose(predict(model, x), (x @ W + b_e) @ W.T + b_d, rtol=1e-12)

    # One tensor stands for the weight in both places, so gradcheck sees the summed gradient.
    def loss(w, be, bd):
        undo = swapped_in(model, ["encoder.weight", "decoder.weight", "encoder.bias",
                                  "decoder.bias"], [w, w, be, bd])
        try:
            return model.loss(x)
        finally:
            undo()

    assert sn.gradcheck(loss, [W, b_e, b_d])
    # Backward into the real parameter accumulates both uses: for x̂ = (xW + b_e)Wᵀ + b_d
    # and G = ∂loss/∂x̂, ∂loss/∂W = xᵀ G W (through the encoder) + Gᵀ (xW + b_e) (decoder).
    model.loss(x).backward()
    G = 2 * (predict(model, x) - x) / x.size
    expected = x.T @ G @ W + G.T @ (x @ W + b_e)
    np.testing.assert_allclose(model.encoder.weight.grad.numpy(), expected, rtol=1e-10)
    assert model.decoder.weight.grad is model.encoder.weight.grad


def test_tied_state_dict_round_trip_stays_tied(tmp_path):
    source = LinearAutoencoder(6, 2, tied=True, rng=0)
    source.decoder.bias.data[:] = np.arange(6)
    state = source.state_dict()
    assert set(state) == {"encoder.weight", "encoder.bias", "decoder.bias"}
    target = LinearAutoencoder(6, 2, tied=True, rng=1)
    target.load_state_dict(state)
    assert target.decoder.weight is target.encoder.weight
    x = np.random.default_rng(0).normal(size=(3, 6)).astype(np.float32)
    np.testing.assert_array_equal(predict(target, x), predict(source, x))
    # A training step moves the one shared matrix: the decoder follows.
    train_full_batch(target, x, steps=1)
    assert target.decoder.weight is target.encoder.weight
    assert not np.array_equal(target.encoder.weight.numpy(), state["encoder.weight"])
    # Through a checkpoint file, too.
    sn.save(source, tmp_path / "tied.npz")
    again = LinearAutoencoder(6, 2, tied=True, rng=2)
    sn.load(again, tmp_path / "tied.npz")
    assert again.decoder.weight is again.encoder.weight
    np.testing.assert_array_equal(again.decoder.weight.numpy(), state["encoder.weight"])
    np.testing.assert_array_equal(again.decoder.bias.numpy(), np.arange(6))


# ---- the contractive penalty ----------------------------------------------------------------

def test_jacobian_norm_equals_the_closed_form_for_a_sigmoid_layer(float64):
    rng = np.random.default_rng(0)
    encoder = nn.Dense(7, 4, activation="sigmoid", rng=1)
    encoder.bias.data[:] = rng.normal(size=4)
    model = Autoencoder(encoder, nn.Dense(4, 7, rng=2), contractive=0.1)
    x = rng.normal(size=(6, 7))
    got = model.jacobian_norm(sn.Tensor(x, requires_grad=True)).numpy()
    W = encoder.weight.numpy()  # (n_in, n_code): ∂h_j/∂x_i = h_j (1 - h_j) W_ij
    h = 1 / (1 + np.exp(-(x @ W + encoder.bias.numpy())))
    expected = ((h * (1 - h)) ** 2 * (W ** 2).sum(axis=0)).sum(axis=1)
    assert got.shape == (6,)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=0)
    # The loss adds λ · the batch mean of it to the reconstruction error.
    x_hat = predict(model, x)
    np.testing.assert_allclose(model.loss(x).item(),
                               ((x_hat - x) ** 2).mean() + 0.1 * expected.mean(), rtol=1e-10)


def finite_difference_jacobian_norm(encoder, x, eps=1e-6):
    """Σ over code units and input values of (∂h/∂x)², one example at a time (they are
    independent, so perturbing the same input value of every example at once is enough)."""
    total = np.zeros(len(x))
    flat = x.reshape(len(x), -1)
    for i in range(flat.shape[1]):
        step = np.zeros_like(flat)
        step[:, i] = eps
        with sn.no_grad():
            plus = encoder(sn.Tensor((flat + step).reshape(x.shape))).numpy()
            minus = encoder(sn.Tensor((flat - step).reshape(x.shape))).numpy()
        column = (plus - minus).reshape(len(x), -1) / (2 * eps)
        total += (column ** 2).sum(axis=1)
    return total


@pytest.mark.parametrize("kind", ["tanh_mlp", "conv"])
def test_jacobian_norm_matches_finite_differences_for_any_encoder(float64, kind):
    rng = np.random.default_rng(1)
    if kind == "tanh_mlp":
        encoder = nn.Sequential(nn.Dense(5, 4, activation="tanh", rng=0),
                                nn.Dense(4, 3, activation="tanh", rng=1))
        decoder = nn.Dense(3, 5, rng=2)
        x = rng.normal(size=(6, 5))
    else:
        encoder = nn.Sequential(nn.Conv2D(1, 2, 3, activation="tanh", rng=0), nn.Flatten())
        decoder = nn.Sequential(nn.Dense(8, 16, rng=1), nn.Reshape((1, 4, 4)))
        x = rng.normal(size=(3, 1, 4, 4))
    model = Autoencoder(encoder, decoder, contractive=1.0)
    got = model.jacobian_norm(sn.Tensor(x, requires_grad=True)).numpy()
    np.testing.assert_allclose(got, finite_difference_jacobian_norm(encoder, x), rtol=1e-7)


def test_jacobian_norm_gradient_with_respect_to_x_passes_gradcheck(float64):
    encoder = nn.Sequential(nn.Dense(4, 3, activation="tanh", rng=0),
                            nn.Dense(3, 2, activation="sigmoid", rng=1))
    model = Autoencoder(encoder, nn.Dense(2, 4, rng=2), contractive=1.0)
    x = np.random.default_rng(2).normal(size=(5, 4))
    assert sn.gradcheck(model.jacobian_norm, [x])


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_contractive_loss_gradient_for_the_weights_passes_gradcheck(float64, activation):
    """The penalty's weight gradient is a second derivative: the double-backprop path."""
    model = Autoencoder(nn.Dense(4, 3, activation=activation, rng=0),
                        nn.Dense(3, 4, activation="sigmoid", rng=1), contractive=0.7)
    rng = np.random.default_rng(3)
    model.encoder.bias.data[:] = rng.normal(size=3)
    x = rng.random((5, 4))
    names = [name for name, _ in model.named_parameters()]
    params = [p.numpy() for p in model.parameters()]

    def loss(*ps):
        undo = swapped_in(model, names, ps)
        try:
            # enable_grad: gradcheck evaluates its finite differences under no_grad, and
            # the penalty needs a graph to differentiate (see the no_grad test below).
            with sn.enable_grad():
                return model.loss(x)
        finally:
            undo()

    assert sn.gradcheck(loss, params)
    # The penalty makes a difference to that gradient (so the check is not vacuous).
    model.loss(x).backward()
    with_penalty = model.encoder.weight.grad.numpy()
    model.zero_grad()
    model.contractive = 0.0
    model.loss(x).backward()
    assert np.abs(with_penalty - model.encoder.weight.grad.numpy()).max() > 1e-3


def test_contractive_loss_can_be_evaluated_without_a_graph():
    """Validation (train.evaluate) runs the loss under no_grad; the penalty must still work."""
    model = Autoencoder(nn.Dense(4, 3, activation="sigmoid", rng=0), nn.Dense(3, 4, rng=1),
                        contractive=0.5)
    x = np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)
    expected = model.loss(x).item()
    with sn.no_grad():
        assert model.loss(x).item() == pytest.approx(expected, rel=1e-6)
    got = evaluate(model, lambda m, batch: m.loss(batch),
                   DataLoader(x, batch_size=8, shuffle=False))["loss"]
    assert got == pytest.approx(expected, rel=1e-6)


def test_jacobian_norm_needs_an_input_that_requires_grad():
    model = Autoencoder(nn.Dense(3, 2, rng=0), nn.Dense(2, 3, rng=1))
    with pytest.raises(ValueError, match="jacobian_norm: x must require grad"):
        model.jacobian_norm(sn.Tensor(np.ones((2, 3), np.float32)))


def test_contractive_training_flattens_the_encoder():
    x_train, x_test = manifold_data(200, seed=1), manifold_data(200, seed=2)

    def mean_jacobian_norm(contractive):
        model = Autoencoder(nn.Dense(32, 4, activation="tanh", rng=0),
                            nn.Dense(4, 32, activation="sigmoid", rng=1),
                            contractive=contractive)
        train_full_batch(model, x_train, steps=100)
        squared = model.jacobian_norm(sn.Tensor(x_test, requires_grad=True)).numpy()
        return float(np.sqrt(squared).mean())

    assert mean_jacobian_norm(0.01) < mean_jacobian_norm(0.0) / 2  # measured: 0.50 vs 1.84


# ---- denoising -------------------------------------------------------------------------------

def manifold_data(n, seed, d=32):
    """Points near a curved 2-D surface in [0, 1]^d: x = sigmoid(z A), z ~ N(0, I₂)."""
    A = np.random.default_rng(100).normal(0, 1.5, size=(2, d))
    z = np.random.default_rng(seed).normal(size=(n, 2))
    return (1 / (1 + np.exp(-z @ A))).astype(np.float32)


def small_autoencoder(noise=None, **options):
    return Autoencoder(nn.Dense(32, 8, activation="tanh", rng=0),
                       nn.Dense(8, 32, activation="sigmoid", rng=1), noise=noise, rng=0,
                       **options)


@pytest.mark.parametrize("noise", [0.5, ("masking", 0.3)])
def test_denoising_autoencoder_raises_psnr_over_the_noisy_input(noise):
    x_train, x_test = manifold_data(300, seed=1), manifold_data(300, seed=2)
    rng = np.random.default_rng(3)
    if noise == 0.5:
        noisy = x_test + rng.normal(0, 0.5, size=x_test.shape).astype(np.float32)
    else:
        noisy = x_test * (rng.random(x_test.shape) >= 0.3).astype(np.float32)
    denoiser = train_full_batch(small_autoencoder(noise), x_train, steps=500)
    plain = train_full_batch(small_autoencoder(None), x_train, steps=500)
    assert not denoiser.training  # eval mode: forward adds no noise
    before = psnr(x_test, noisy)
    after = psnr(x_test, predict(denoiser, noisy))
    assert after > before + 8  # measured: +12.7 dB (Gaussian), +11.8 dB (masking)
    # Training on corrupted inputs is what makes it denoise: the plain one gains much less.
    assert after > psnr(x_test, predict(plain, noisy)) + 3
    # And it does better than predicting the training mean.
    assert after > psnr(x_test, np.broadcast_to(x_train.mean(axis=0), x_test.shape)) + 3


def test_corrupt_is_the_identity_in_eval_mode_and_without_noise():
    x = sn.Tensor(np.random.default_rng(0).random((4, 32)).astype(np.float32))
    for noise in (0.5, ("masking", 0.5)):
        model = small_autoencoder(noise).eval()
        np.testing.assert_array_equal(model.corrupt(x).numpy(), x.numpy())
    clean = small_autoencoder(None)
    assert clean.training
    np.testing.assert_array_equal(clean.corrupt(x).numpy(), x.numpy())
    # forward never corrupts, even in training mode.
    noisy = small_autoencoder(0.5)
    assert noisy.training
    np.testing.assert_array_equal(noisy(x).numpy(), noisy.decode(noisy.encode(x)).numpy())


def test_masking_zeroes_about_p_of_the_values_and_leaves_the_rest():
    model = small_autoencoder(("masking", 0.3))
    x = np.random.default_rng(0).uniform(0.5, 1.0, size=(200, 100)).astype(np.float32)
    out = model.corrupt(sn.Tensor(x)).numpy()
    zeroed = out == 0
    assert zeroed.mean() == pytest.approx(0.3, abs=0.01)
    np.testing.assert_array_equal(out[~zeroed], x[~zeroed])  # no rescaling of survivors


@pytest.mark.parametrize("noise", [0.5, ("gaussian", 0.5)])
def test_gaussian_noise_has_the_requested_std(noise):
    model = small_autoencoder(noise)
    assert model.noise == ("gaussian", 0.5)
    x = np.full((200, 100), 0.25, dtype=np.float32)
    added = model.corrupt(sn.Tensor(x)).numpy() - x
    assert added.dtype == np.float32
    assert added.std() == pytest.approx(0.5, rel=0.02)
    assert abs(added.mean()) < 0.01
    # Each call draws afresh, and a seeded model repeats its draws.
    again = model.corrupt(sn.Tensor(x)).numpy() - x
    assert not np.array_equal(added, again)
    np.testing.assert_array_equal(small_autoencoder(noise).corrupt(sn.Tensor(x)).numpy() - x,
                                  added)


def test_the_reconstruction_target_is_the_clean_input():
    x = np.random.default_rng(0).random((100, 50)).astype(np.float32)
    identity = Autoencoder(nn.Identity(), nn.Identity())
    assert identity.loss(x).item() == 0.0
    gaussian = Autoencoder(nn.Identity(), nn.Identity(), noise=0.5, rng=1)
    assert gaussian.loss(x).item() == pytest.approx(0.25, rel=0.05)  # E[noise²] = σ²
    masking = Autoencoder(nn.Identity(), nn.Identity(), noise=("masking", 0.3), rng=1)
    expected = 0.3 * (x ** 2).mean()  # a masked value is rebuilt as 0 instead of x
    assert masking.loss(x).item() == pytest.approx(expected, rel=0.05)
    # In evaluation mode nothing is corrupted.
    assert gaussian.eval().loss(x).item() == 0.0
    assert masking.eval().loss(x).item() == 0.0


def test_bce_loss_is_the_binary_cross_entropy_of_the_reconstruction(float64):
    model = small_autoencoder(None, loss="bce")
    x = manifold_data(10, seed=0).astype(np.float64)
    x_hat = predict(model, x)
    expected = -(x * np.log(x_hat) + (1 - x) * np.log(1 - x_hat)).mean()
    assert model.loss(x).item() == pytest.approx(expected, rel=1e-10)


def test_autoencoder_with_bce_refuses_images_in_0_255_with_a_message_that_says_scale():
    model = small_autoencoder(None, loss="bce")
    x = manifold_data(10, seed=0) * 255  # the same points as 0-255 pixel values
    with pytest.raises(ValueError, match=r"Autoencoder: values must lie in \[0, 1\] "
                                         r"\(loss='bce'.*scale the data to \[0, 1\] first "
                                         r"\(images in 0-255: divide by 255\)"):
        model.loss(x)
    with pytest.raises(ValueError, match="scale the data"):
        model.reconstruction_loss(model(sn.Tensor(x)), sn.Tensor(x))
    assert np.isfinite(model.loss(x / 255).item())
    # Mean squared error reads no probabilities: any range is its to reconstruct.
    assert np.isfinite(small_autoencoder(None, loss="mse").loss(x).item())


# ---- sparsity --------------------------------------------------------------------------------

def test_l1_sparsity_penalty_is_beta_times_mean_absolute_code(float64):
    model = Autoencoder(nn.Dense(6, 4, activation="tanh", rng=0), nn.Dense(4, 6, rng=1),
                        sparsity=0.3)
    x = np.random.default_rng(0).normal(size=(5, 6))
    h = model.encode(sn.Tensor(x))
    assert model.penalties(sn.Tensor(x), h).item() == pytest.approx(
        0.3 * np.abs(h.numpy()).mean(), rel=1e-12)
    x_hat = predict(model, x)
    assert model.loss(x).item() == pytest.approx(
        ((x_hat - x) ** 2).mean() + 0.3 * np.abs(h.numpy()).mean(), rel=1e-12)


def kl_sparsity(rho, rho_hat):
    return np.sum(rho * np.log(rho / rho_hat) + (1 - rho) * np.log((1 - rho) / (1 - rho_hat)))


def test_kl_sparsity_penalty_matches_the_formula(float64):
    model = Autoencoder(nn.Dense(6, 4, activation="sigmoid", rng=0), nn.Dense(4, 6, rng=1),
                        sparsity=2.0, sparsity_target=0.1)
    x = np.random.default_rng(0).normal(size=(8, 6))
    h = model.encode(sn.Tensor(x))
    rho_hat = h.numpy().mean(axis=0)
    expected = 2.0 * kl_sparsity(0.1, rho_hat)
    assert expected > 0.1
    assert model.penalties(sn.Tensor(x), h).item() == pytest.approx(expected, rel=1e-10)
    x_hat = predict(model, x)
    assert model.loss(x).item() == pytest.approx(((x_hat - x) ** 2).mean() + expected,
                                                 rel=1e-10)


def test_kl_sparsity_penalty_is_zero_at_the_target(float64):
    rho = 0.2
    encoder = nn.Dense(6, 4, activation="sigmoid", rng=0)
    encoder.weight.data[:] = 0.0
    encoder.bias.data[:] = math.log(rho / (1 - rho))  # sigmoid(bias) = ρ for every input
    model = Autoencoder(encoder, nn.Dense(4, 6, rng=1), sparsity=5.0, sparsity_target=rho)
    x = sn.Tensor(np.random.default_rng(0).normal(size=(8, 6)))
    h = model.encode(x)
    np.testing.assert_allclose(h.numpy(), rho, rtol=1e-12)
    assert abs(model.penalties(x, h).item()) < 1e-12


def test_kl_sparsity_gradient_passes_gradcheck(float64):
    model = Autoencoder(nn.Dense(4, 3, activation="sigmoid", rng=0), nn.Dense(3, 4, rng=1),
                        sparsity=1.5, sparsity_target=0.05)
    x = np.random.default_rng(1).normal(size=(6, 4))
    assert sn.gradcheck(model.loss, [x])


@pytest.mark.parametrize("target", [None, 0.05])
def test_sparsity_training_pulls_the_code_towards_its_target(target):
    x_train, x_test = manifold_data(300, seed=1), manifold_data(300, seed=2)

    def trained_code(sparsity):
        model = Autoencoder(nn.Dense(32, 16, activation="sigmoid", rng=0),
                            nn.Dense(16, 32, activation="sigmoid", rng=1),
                            sparsity=sparsity,
                            sparsity_target=target if sparsity > 0 else None)
        train_full_batch(model, x_train, steps=300)
        with sn.no_grad():
            return model.encode(sn.Tensor(x_test)).numpy()

    free, sparse = trained_code(0.0), trained_code(0.1)
    assert free.mean() > 0.3  # measured 0.56
    if target is None:
        assert sparse.mean() < free.mean() / 4  # measured 0.08
    else:
        # Measured: mean 0.063, every unit's mean within 0.039 of ρ = 0.05.
        assert abs(sparse.mean() - target) < 0.03
        assert np.abs(sparse.mean(axis=0) - target).max() < 0.1


# ---- the course's builders -------------------------------------------------------------------

def captured_summary(model, shape):
    printed = []
    table = model.summary(shape, print_fn=printed.append)
    assert printed == [table]
    return table


def test_conv_autoencoder_is_small_and_maps_images_to_images():
    model = conv_autoencoder(rng=0)
    assert model.num_parameters() == 3801
    assert model.loss_name == "bce"
    x = np.random.default_rng(0).random((2, 1, 28, 28)).astype(np.float32)
    with sn.no_grad():
        assert model.encode(sn.Tensor(x)).shape == (2, 8, 4, 4)
        out = model(sn.Tensor(x)).numpy()
    assert out.shape == (2, 1, 28, 28)
    assert ((out >= 0) & (out <= 1)).all()
    table = captured_summary(model, (1, 28, 28))
    assert "Total params: 3,801" in table
    assert "(None, 1, 28, 28)" in table.splitlines()[-4]  # the last layer: the crop


def test_deep_autoencoder_has_the_course_sizes():
    model = deep_autoencoder(rng=0)
    assert model.num_parameters() == 209_968
    assert model.loss_name == "bce"
    x = np.random.default_rng(0).random((3, 1, 28, 28)).astype(np.float32)
    with sn.no_grad():
        assert model.encode(sn.Tensor(x)).shape == (3, 32)
        out = model(sn.Tensor(x)).numpy()
    assert out.shape == (3, 1, 28, 28)
    assert ((out >= 0) & (out <= 1)).all()
    assert "Total params: 209,968" in captured_summary(model, (1, 28, 28))
    smaller = deep_autoencoder(code_size=2, rng=0, loss="mse", noise=0.5)
    assert smaller.num_parameters() == 209_968 - 30 * (128 + 128 + 1)
    assert smaller.loss_name == "mse" and smaller.noise == ("gaussian", 0.5)


@pytest.mark.parametrize("build", [lambda rng: LinearAutoencoder(20, 3, rng=rng),
                                   lambda rng: deep_autoencoder(rng=rng),
                                   lambda rng: conv_autoencoder(rng=rng)],
                         ids=["linear", "deep", "conv"])
def test_one_seed_gives_reproducible_but_independent_layers(build):
    """A seed makes the model reproducible; it must not give two layers the same draws."""
    first, second = build(3), build(3)
    for a, b in zip(first.parameters(), second.parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    weights = [p.numpy().ravel() for name, p in first.named_parameters()
               if name.endswith("weight")]
    for i, a in enumerate(weights):
        for b in weights[i + 1:]:
            n = min(a.size, b.size)  # the same draws, maybe scaled by another init limit:
            correlation = np.corrcoef(a[:n], b[:n])[0, 1]
            assert abs(correlation) < 0.5, "two layers start from the same random numbers"


@pytest.mark.parametrize("build", [conv_autoencoder, deep_autoencoder])
def test_builders_train_on_bundled_mnist(build):
    images, _ = sn.datasets.load_mnist("train", source="bundled")
    x = images[:8]
    model = build(rng=0)
    before = model.loss(x).item()
    train_full_batch(model, x, steps=3, lr=3e-3)
    assert all(p.grad is not None for p in model.parameters())
    assert model.loss(x).item() < before


# ---- bad settings -----------------------------------------------------------------------------

def pair():
    return nn.Dense(3, 2, rng=0), nn.Dense(2, 3, rng=1)


def test_unknown_loss_is_refused():
    with pytest.raises(ValueError, match=r"Autoencoder: loss must be one of \('mse', 'bce'\), "
                                         r"got 'l1'"):
        Autoencoder(*pair(), loss="l1")


@pytest.mark.parametrize("noise", ["gaussian", ("gaussian",), ("salt", 0.1), ["masking", 0.2],
                                   True])
def test_malformed_noise_is_refused(noise):
    with pytest.raises(ValueError, match="Autoencoder: noise must be None, a std"):
        Autoencoder(*pair(), noise=noise)


@pytest.mark.parametrize(("noise", "what"), [(-0.1, "noise std"),
                                             (("gaussian", math.nan), "noise std"),
                                             (("masking", 1.0), "masking probability"),
                                             (("masking", -0.1), "masking probability")])
def test_noise_levels_out_of_range_are_refused(noise, what):
    with pytest.raises(ValueError, match=f"Autoencoder: {what} must be"):
        Autoencoder(*pair(), noise=noise)


def test_negative_penalties_and_bad_sparsity_targets_are_refused():
    with pytest.raises(ValueError, match="Autoencoder: contractive must be a finite number >= 0"):
        Autoencoder(*pair(), contractive=-1.0)
    with pytest.raises(ValueError, match="Autoencoder: sparsity must be a finite number >= 0"):
        Autoencoder(*pair(), sparsity=-0.5)
    for target in (0.0, 1.0, 1.5, -0.2):
        with pytest.raises(ValueError, match=r"Autoencoder: sparsity_target must be a finite "
                                             r"number in \(0, 1\)"):
            Autoencoder(*pair(), sparsity=1.0, sparsity_target=target)
    with pytest.raises(TypeError, match="Autoencoder: contractive must be a number"):
        Autoencoder(*pair(), contractive="0.1")


def test_linear_autoencoder_sizes_are_checked():
    with pytest.raises(ValueError, match="LinearAutoencoder: n_code must be a positive integer"):
        LinearAutoencoder(20, 0)
    with pytest.raises(TypeError, match="LinearAutoencoder: n_in must be an integer"):
        LinearAutoencoder(20.0, 3)


def test_a_sparsity_target_without_a_sparsity_weight_is_refused():
    with pytest.raises(ValueError, match="sparsity_target has no effect with sparsity=0"):
        Autoencoder(nn.Dense(4, 2), nn.Dense(2, 4), sparsity_target=0.05)
