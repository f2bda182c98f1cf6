"""SequenceAutoencoder: it learns a code of sequences it must rebuild without seeing them."""

from __future__ import annotations

import numpy as np
import pytest

import scratchnet as sn
from scratchnet import datasets, models, optim


def waves(n: int, steps: int = 10, seed: int = 0) -> np.ndarray:
    """Sine waves of random phase and amplitude, (n, steps, 1): two numbers per sequence."""
    rng = np.random.default_rng(seed)
    t = np.arange(steps)
    phase, amplitude = rng.uniform(0, 2 * np.pi, (n, 1)), rng.uniform(0.3, 1.0, (n, 1))
    return (amplitude * np.sin(0.6 * t + phase))[..., None].astype(np.float32)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_it_rebuilds_held_out_sequences_from_a_small_code(cell):
    train, test = waves(256), waves(64, seed=1)
    model = models.SequenceAutoencoder(1, 24, 4, cell=cell, output_activation=None, rng=0)
    with sn.no_grad():
        before = model.loss(test).item()
    sn.train.fit(model, lambda m, x: m.loss(x), optim.Adam(model.parameters(), lr=1e-2),
                 datasets.DataLoader(train, batch_size=32, rng=0), epochs=25, progress=False,
                 clip_grad_norm=5.0)
    with sn.no_grad():
        after = model.loss(test).item()
    assert after < 0.1 * before and after < 0.1 * float(test.var())


def test_shapes_and_the_decoder_depends_on_the_code_only():
    model = models.SequenceAutoencoder(3, 8, 2, cell="rnn", num_layers=2, rng=0)
    x = np.random.default_rng(0).normal(size=(5, 7, 3))
    code = model.encode(x)
    assert code.shape == (5, 2)
    out = model.decode(code, 11)
    assert out.shape == (5, 11, 3) and out.numpy().min() > 0 and out.numpy().max() < 1
    np.testing.assert_allclose(model(x).numpy(), model.decode(code, 7).numpy(), rtol=1e-6)
    first, second = model.decode(code[:1], 4).numpy(), model.decode(code[1:2], 4).numpy()
    assert not np.allclose(first, second)


def test_every_parameter_gets_a_gradient_and_it_gradchecks():
    sn.set_default_dtype(np.float64)
    model = models.SequenceAutoencoder(2, 3, 2, rng=0, output_activation=None)
    x = np.random.default_rng(1).normal(size=(2, 4, 2))
    model.loss(x).backward()
    assert all(p.grad is not None and np.any(p.grad.numpy() != 0) for p in model.parameters())
    assert sn.gradcheck(lambda t: model(t), [x])


@pytest.mark.parametrize("call, message", [
    (lambda m: m(np.zeros((2, 5))), r"SequenceAutoencoder: expected sequences of shape "
                                    r"\(N, T, 3\), got \(2, 5\)"),
    (lambda m: m.decode(np.zeros((2, 3)), 4), r"SequenceAutoencoder.decode: expected codes "
                                              r"of shape \(N, 2\), got \(2, 3\)"),
    (lambda m: m.decode(np.zeros((2, 2)), 0), r"SequenceAutoencoder.decode: steps must be"),
    (lambda m: models.SequenceAutoencoder(3, 4, 2, cell="cnn"),
     r"SequenceAutoencoder: cell must be one of"),
    (lambda m: models.SequenceAutoencoder(3, 4, 2, output_activation="relu"),
     r"SequenceAutoencoder: output_activation must be 'sigmoid' or None, got 'relu'"),
])
def test_bad_input_is_named(call, message):
    with pytest.raises(ValueError, match=message):
        call(models.SequenceAutoencoder(3, 4, 2, rng=0))


def test_the_lstm_encoder_starts_with_open_forget_gates_and_codes_h_and_c():
    opened = models.SequenceAutoencoder(3, 4, 2, forget_bias=3.0, rng=0)
    plain = models.SequenceAutoencoder(3, 4, 2, forget_bias=0.0, rng=0)
    shift = opened.encoder.cells[0].bias_ih.numpy() - plain.encoder.cells[0].bias_ih.numpy()
    np.testing.assert_allclose(shift, np.r_[np.zeros(4), np.full(4, 3.0), np.zeros(8)],
                               atol=1e-6)
    assert opened.to_code.in_features == 8  # [h_T, c_T]
    assert models.SequenceAutoencoder(3, 4, 2, cell="gru", rng=0).to_code.in_features == 4
    with pytest.raises(TypeError, match="SequenceAutoencoder: forget_bias must be a number"):
        models.SequenceAutoencoder(3, 4, 2, forget_bias="open")
