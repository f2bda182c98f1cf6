"""The exercises' grader is itself graded: every reference solution passes, every stub is
"not done", and a plausible wrong answer to each exercise fails with the message meant to
teach its mistake."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from scratchnet import exercises
from scratchnet.exercises import LESSONS, exercise_file, format_report, grade, main

SOLUTIONS = exercises.find_exercises_dir() / "solutions"

# (lesson, exercise, code that redefines it wrongly, text the FAIL message must contain).
# The code is appended to the reference solution, so only that one answer is wrong.
WRONG_ANSWERS = [
    ("00", "Softsign", """
        class Softsign(sn.Function):
            def forward(self, x):
                self.save_for_backward(x)
                return x / (1.0 + abs(x))

            def backward(self, gy):
                (x,) = self.saved_tensors
                return gy / (1.0 + F.abs(x))  # the square is missing
        """, "dy/dx = 1 / (1 + |x|)^2"),
    ("00", "Softsign", """
        class Softsign(sn.Function):
            def forward(self, x):
                self.save_for_backward(x)
                return x / (1.0 + abs(x))

            def backward(self, gy):
                (x,) = self.saved_tensors
                d = 1.0 + np.abs(x.data)  # right numbers, but off the graph
                return gy * sn.Tensor(1.0 / (d * d))
        """, "Softsign second derivative"),
    ("00", "Softsign", """
        class Softsign(sn.Function):
            def forward(self, x):
                self.save_for_backward(x)
                return x / (1.0 + np.abs(x).astype(np.float64))

            def backward(self, gy):
                (x,) = self.saved_tensors
                d = 1.0 + F.abs(x)
                return gy / (d * d)
        """, "expected dtype float32, got float64"),
    ("00", "central_difference", """
        def central_difference(f, x, eps=1e-3):
            g = np.empty(x.shape)
            for j in range(x.size):
                step = np.zeros(x.shape)
                step[j] = eps
                g[j] = (f(x + step) - f(x)) / eps
            return g
        """, "one-sided difference"),
    ("00", "central_difference", """
        def central_difference(f, x, eps=1e-3):
            g = np.empty(x.shape)
            for j in range(x.size):
                step = np.zeros(x.shape)
                step[j] = eps
                g[j] = (f(x + step) - f(x - step)) / eps
            return g
        """, "divide by 2 eps"),
    ("00", "central_difference", """
        def central_difference(f, x, eps=1e-3):
            g = np.empty(x.shape)
            for j in range(x.size):
                x[j] += eps
                plus = f(x)
                x[j] -= 2 * eps
                g[j] = (plus - f(x)) / (2 * eps)
            return g
        """, "changed its argument x"),
    ("00", "newton_step", """
        def newton_step(f, x):
            t = sn.Tensor(x, requires_grad=True)
            (d1,) = sn.grad(f(t), t)
            return x - d1.item()
        """, "gradient step"),
    ("01", "glorot_uniform", """
        def glorot_uniform(shape, fan_in, fan_out, rng):
            limit = math.sqrt(2.0 / (fan_in + fan_out))  # the std used as the bound
            return rng.uniform(-limit, limit, size=shape)
        """, "a uniform on (-a, a) has variance a²/3"),
    ("01", "glorot_uniform", """
        def glorot_uniform(shape, fan_in, fan_out, rng):
            limit = math.sqrt(6.0 / (fan_in + fan_out))
            return np.random.uniform(-limit, limit, size=shape)  # ignores rng
        """, "draw from the `rng` passed in"),
    ("01", "he_normal", """
        def he_normal(shape, fan_in, fan_out, rng):
            return rng.normal(0.0, math.sqrt(1.0 / fan_in), size=shape)
        """, "a ReLU zeroes half of its inputs"),
    ("01", "he_normal", """
        def he_normal(shape, fan_in, fan_out, rng):
            return rng.normal(0.0, 2.0 / fan_in, size=shape)
        """, "the standard deviation, sqrt(2 / fan_in), not the variance"),
    ("01", "dense_backward", """
        def dense_backward(x, W, gy):
            return gy @ W.T, gy.T @ x, gy.sum(axis=0)
        """, "expected shape (4, 3), got shape (3, 4)"),
    ("01", "dense_backward", """
        def dense_backward(x, W, gy):
            return gy @ W.T, x.T @ gy, gy.mean(axis=0)
        """, "(sum, not mean)"),
    ("02", "conv_output_size", """
        def conv_output_size(n, kernel, stride=1, padding=0):
            return (n - kernel) // stride + 1
        """, "the padding is missing"),
    ("02", "conv_output_size", """
        def conv_output_size(n, kernel, stride=1, padding=0):
            return (n + 2 * padding - kernel) / stride + 1
        """, "use floor division //"),
    ("02", "cross_correlate2d", """
        def cross_correlate2d(image, kernel):
            kh, kw = kernel.shape
            flipped = kernel[::-1, ::-1]
            h_out, w_out = image.shape[0] - kh + 1, image.shape[1] - kw + 1
            out = np.zeros((h_out, w_out))
            for a in range(kh):
                for b in range(kw):
                    out += flipped[a, b] * image[a:a + h_out, b:b + w_out]
            return out
        """, "the kernel is flipped"),
    ("02", "max_pool2d", """
        def max_pool2d(x, k):
            h, w = x.shape
            return x.reshape(h // k, k, w // k, k).mean(axis=(1, 3))
        """, "this is average pooling"),
    ("02", "max_pool2d", """
        def max_pool2d(x, k):
            h, w = x.shape
            return x.reshape(h // k, k, w // k, k).max(axis=(1, 2))
        """, "expected shape (3, 4), got shape (3, 2)"),
    ("03", "pca_fit", """
        def pca_fit(X, k):
            _, _, vt = np.linalg.svd(X, full_matrices=False)
            return X.mean(axis=0), -vt[:k]  # not centred (and the signs do not matter)
        """, "the directions of the uncentred data"),
    ("03", "pca_fit", """
        def pca_fit(X, k):
            mean = X.mean(axis=0)
            _, _, vt = np.linalg.svd(X - mean, full_matrices=False)
            return mean, vt[:k].T
        """, "not its columns"),
    ("03", "pca_reconstruct", """
        def pca_reconstruct(X, mean, components):
            return (X - mean) @ components.T @ components
        """, "the mean is missing"),
    ("03", "pca_reconstruct", """
        def pca_reconstruct(X, mean, components):
            return X @ components.T @ components + mean
        """, "project X - mean, not X"),
    ("03", "explained_variance_ratio", """
        def explained_variance_ratio(X):
            s = np.linalg.svd(X - X.mean(axis=0), compute_uv=False)
            return s / s.sum()
        """, "the singular values are not squared"),
    ("03", "explained_variance_ratio", """
        def explained_variance_ratio(X):
            s = np.linalg.svd(X, compute_uv=False)
            return s ** 2 / np.sum(s ** 2)
        """, "the data was not centred"),
    ("04", "largest_principal_angle", """
        def largest_principal_angle(A, B):
            qa, _ = np.linalg.qr(A)
            qb, _ = np.linalg.qr(B)
            cosines = np.linalg.svd(qa.T @ qb, compute_uv=False)
            return float(np.arccos(np.clip(cosines.min(), -1.0, 1.0)))
        """, "this is in radians"),
    ("04", "largest_principal_angle", """
        def largest_principal_angle(A, B):
            cosines = np.linalg.svd(A.T @ B, compute_uv=False)
            return float(np.degrees(np.arccos(np.clip(cosines.min(), -1.0, 1.0))))
        """, "the bases were not orthonormalised"),
    ("04", "directions_from_decoder", """
        def directions_from_decoder(W_d, X):
            q = np.linalg.svd(W_d.T, full_matrices=False)[0]
            z = (X - X.mean(axis=0)) @ q
            variances, p = np.linalg.eigh(z.T @ z / (len(X) - 1))
            return q @ p, variances
        """, "as np.linalg.eigh returns them"),
    ("04", "directions_from_decoder", """
        def directions_from_decoder(W_d, X):
            q = np.linalg.svd(W_d.T, full_matrices=False)[0]
            z = (X - X.mean(axis=0)) @ q
            variances, p = np.linalg.eigh(z.T @ z / (len(X) - 1))
            return q @ p, variances[::-1]
        """, "reorder P's columns with the eigenvalues"),
    ("05", "sparsity_penalty", """
        def sparsity_penalty(h, rho, beta):
            rho_hat = F.mean(h, axis=0)
            kl = (rho_hat * F.log(rho_hat / rho)
                  + (1.0 - rho_hat) * F.log((1.0 - rho_hat) / (1.0 - rho)))
            return beta * F.sum(kl)
        """, "the arguments of the KL are swapped"),
    ("05", "sparsity_penalty", """
        import numpy as np

        def sparsity_penalty(h, rho, beta):
            rho_hat = h.numpy().mean(axis=0)  # leaves the graph
            kl = rho * np.log(rho / rho_hat) + (1 - rho) * np.log((1 - rho) / (1 - rho_hat))
            return sn.Tensor(beta * kl.sum())
        """, "not connected to the input's graph"),
    ("05", "bce_with_logits", """
        def bce_with_logits(logits, x):
            p = F.sigmoid(logits)
            return -F.mean(x * F.log(p) + (1.0 - x) * F.log(1.0 - p))
        """, "the value is inf (expected 66.8977). Hint: log σ(-100) underflows"),
    ("05", "bce_with_logits", """
        def bce_with_logits(logits, x):
            return F.sum(F.softplus(logits) - x * logits)
        """, "this is the sum"),
    ("06", "conv_params", """
        def conv_params(c_in, c_out, kernel):
            return c_out * kernel * kernel * c_in
        """, "the biases are missing"),
    ("06", "conv_params", """
        def conv_params(c_in, c_out, kernel):
            return c_out * (kernel * kernel + 1)
        """, "for *each* input channel"),
    ("06", "conv_transpose_output_size", """
        def conv_transpose_output_size(n, kernel, stride=1, padding=0, output_padding=0):
            return n * stride
        """, "only the 'same'-padded case"),
    ("06", "conv_transpose_output_size", """
        def conv_transpose_output_size(n, kernel, stride=1, padding=0, output_padding=0):
            return (n - 1) * stride + kernel + output_padding
        """, "padding *removes* rows"),
    ("07", "gaussian_corrupt", """
        def gaussian_corrupt(x, sigma, rng):
            return (x + rng.normal(0.0, sigma ** 2, x.shape)).astype(x.dtype)
        """, "not σ: σ² is its variance"),
    ("07", "gaussian_corrupt", """
        def gaussian_corrupt(x, sigma, rng):
            x += (sigma * rng.standard_normal(x.shape)).astype(x.dtype)
            return x
        """, "it changed its argument x"),
    ("07", "gaussian_corrupt", """
        def gaussian_corrupt(x, sigma, rng):
            return x + sigma * rng.standard_normal(x.shape)
        """, "expected dtype float32, got float64"),
    ("07", "denoising_loss", """
        def denoising_loss(reconstruct, x, sigma, rng):
            x_noisy = sn.Tensor(gaussian_corrupt(x, sigma, rng))
            return F.mse_loss(reconstruct(x_noisy), x_noisy)
        """, "compares its output with the *clean* x"),
    ("07", "denoising_loss", """
        def denoising_loss(reconstruct, x, sigma, rng):
            return F.mse_loss(reconstruct(sn.Tensor(x)), x)
        """, "the autoencoder was given the clean x"),
    ("07", "contractive_penalty", """
        def contractive_penalty(x, W, b):
            h = F.sigmoid(x @ W + b)
            return F.mean(F.sum(h * (1.0 - h) * F.sum(W * W, axis=0), axis=1))
        """, "h(1 - h) is not squared"),
    ("07", "contractive_penalty", """
        def contractive_penalty(x, W, b):
            h = F.sigmoid(x @ W + b).numpy()  # off the graph: nothing to train through
            slope = h * (1.0 - h)
            norms = np.sum(W.numpy() ** 2, axis=0)
            return sn.Tensor(np.mean(np.sum(slope ** 2 * norms, axis=1)))
        """, "contractive_penalty gradient with respect to W"),
    ("08", "reparameterise", """
        def reparameterise(mu, logvar, eps):
            return mu + F.exp(logvar) * eps
        """, "scale it by the standard deviation σ = exp(½ logvar)"),
    ("08", "reparameterise", """
        def reparameterise(mu, logvar, eps):
            z = mu.numpy() + np.exp(0.5 * logvar.numpy()) * eps  # a sample with no gradient
            return sn.Tensor(z)
        """, "reparameterise gradient with respect to mu and logvar"),
    ("08", "kl_to_standard_normal", """
        def kl_to_standard_normal(mu, logvar):
            return F.sum(F.exp(logvar) + mu * mu - 1.0 - logvar, axis=1)
        """, "the ½ is missing"),
    ("08", "kl_to_standard_normal", """
        def kl_to_standard_normal(mu, logvar):
            return -0.5 * F.sum(F.exp(logvar) + mu * mu - 1.0 - logvar, axis=1)
        """, "the sign is flipped"),
    ("08", "kl_diag_gaussians", """
        def kl_diag_gaussians(mu_q, logvar_q, mu_p, logvar_p):
            diff = mu_p - mu_q
            ratio = (F.exp(logvar_p) + diff * diff) / F.exp(logvar_q)
            return 0.5 * F.sum(logvar_q - logvar_p + ratio - 1.0, axis=1)
        """, "the KL is not symmetric"),
    ("08", "kl_diag_gaussians", """
        def kl_diag_gaussians(mu_q, logvar_q, mu_p, logvar_p):
            diff = mu_q - mu_p
            ratio = (F.exp(logvar_q) + diff * diff) / F.exp(logvar_p)
            return 0.5 * F.sum(logvar_p - logvar_q + ratio, axis=1)  # the -1 is missing
        """, "the -1 is missing"),
    ("09", "beta_vae_loss", """
        def beta_vae_loss(logits, x, mu, logvar, beta):
            nll = F.sum(F.softplus(logits) - x * logits, axis=1)
            kl = 0.5 * F.sum(F.exp(logvar) + mu * mu - 1.0 - logvar, axis=1)
            return F.mean(beta * nll + kl)
        """, "β weighs the KL term, not the reconstruction"),
    ("09", "beta_vae_loss", """
        def beta_vae_loss(logits, x, mu, logvar, beta):
            nll = F.mean(F.softplus(logits) - x * logits, axis=1)
            kl = 0.5 * F.sum(F.exp(logvar) + mu * mu - 1.0 - logvar, axis=1)
            return F.mean(nll + beta * kl)
        """, "log p(x | z) sums over the pixels"),
    ("09", "kl_per_unit", """
        def kl_per_unit(mu, logvar):
            return np.sum(0.5 * (mu ** 2 + np.exp(logvar) - 1.0 - logvar), axis=0)
        """, "this sums over the rows"),
    ("09", "active_units", """
        def active_units(mu, threshold=1e-2):
            return int(np.sum(np.abs(mu.mean(axis=0)) > threshold))
        """, "its variance over the rows is large"),
    ("09", "active_units", """
        def active_units(mu, threshold=1e-2):
            return int(np.sum(np.var(mu, axis=0) > 1e-2))
        """, "use the threshold argument"),
    ("09", "active_units", """
        def active_units(mu, threshold=1e-2):
            return np.var(mu, axis=0) > threshold  # the .sum() is missing
        """, "active_units: expected the int 2, got array("),
    ("08", "kl_diag_gaussians", """
        def kl_diag_gaussians(mu_q, logvar_q, mu_p, logvar_p):
            raise SystemExit("giving up")
        """, "raised SystemExit: giving up"),
    ("14", "rnn_forward", """
        def rnn_forward(x, h0, W_ih, W_hh, b):
            states = []
            for t in range(x.shape[1]):
                states.append(F.tanh(x[:, t] @ W_ih + h0 @ W_hh + b))  # h is never carried
            return F.stack(states, axis=1), states[-1]
        """, "every step used h0"),
    ("14", "rnn_forward", """
        def rnn_forward(x, h0, W_ih, W_hh, b):
            h, states = h0, []
            for t in range(x.shape[1]):
                h = F.tanh(x[:, t] @ W_ih + h @ W_hh.T + b)
                states.append(h)
            return F.stack(states, axis=1), h
        """, "W_hh is transposed"),
    ("14", "rnn_forward", """
        def rnn_forward(x, h0, W_ih, W_hh, b):
            h, states = h0, []
            for t in range(x.shape[1]):
                h = F.tanh(x[:, t] @ W_ih + h @ W_hh + b)
                states.append(h)
            return F.stack(states, axis=1), h0
        """, "this is h0: return the state after the last step"),
    ("14", "rnn_forward", """
        def rnn_forward(x, h0, W_ih, W_hh, b):
            xs, w_ih, w_hh, bias = x.numpy(), W_ih.numpy(), W_hh.numpy(), b.numpy()
            h, states = h0.numpy(), []
            for t in range(xs.shape[1]):
                h = np.tanh(xs[:, t] @ w_ih + h @ w_hh + bias)  # right values, no graph
                states.append(h)
            return sn.Tensor(np.stack(states, axis=1)), sn.Tensor(h)
        """, "rnn_forward gradient (backpropagation through time)"),
    ("14", "lstm_cell", """
        def lstm_cell(x, h, c, W_ih, W_hh, b):
            i, f, o, g = F.split(x @ W_ih + h @ W_hh + b, 4)
            c_new = F.sigmoid(f) * c + F.sigmoid(i) * F.tanh(g)
            return F.sigmoid(o) * F.tanh(c_new), c_new
        """, "read in the order i, f, o, g; the order is i, f, g, o"),
    ("14", "lstm_cell", """
        def lstm_cell(x, h, c, W_ih, W_hh, b):
            i, f, g, o = F.split(x @ W_ih + h @ W_hh + b, 4)
            c_new = F.tanh(f) * c + F.tanh(i) * F.sigmoid(g)
            return F.tanh(o) * F.tanh(c_new), c_new
        """, "tanh and σ are swapped"),
    ("14", "lstm_cell", """
        def lstm_cell(x, h, c, W_ih, W_hh, b):
            i, f, g, o = F.split(x @ W_ih + h @ W_hh + b, 4)
            c_new = F.sigmoid(f) * c + F.sigmoid(i) * F.tanh(g)
            return F.sigmoid(o) * F.tanh(c), c_new
        """, "h' used the old cell c"),
    ("14", "lstm_cell", """
        def lstm_cell(x, h, c, W_ih, W_hh, b):
            i, f, g, o = F.split(x @ W_ih + h @ W_hh + b, 4)
            c_new = F.sigmoid(f) * c + F.sigmoid(i) * F.tanh(g)
            return c_new, F.sigmoid(o) * F.tanh(c_new)
        """, "this is h': return (h', c'), in that order"),
    ("14", "clip_by_global_norm", """
        def clip_by_global_norm(grads, max_norm):
            total = math.sqrt(sum(float(np.sum(g ** 2)) for g in grads))
            clipped = []
            for g in grads:
                norm = np.sqrt(np.sum(g ** 2))
                clipped.append(g * min(1.0, max_norm / norm))  # each array on its own
            return clipped, total
        """, "each array was clipped by its own norm"),
    ("14", "clip_by_global_norm", """
        def clip_by_global_norm(grads, max_norm):
            total = sum(float(np.sqrt(np.sum(g ** 2))) for g in grads)
            scale = max_norm / total if total > max_norm else 1.0
            return [g * scale for g in grads], total
        """, "this adds the arrays' norms"),
    ("14", "clip_by_global_norm", """
        def clip_by_global_norm(grads, max_norm):
            total = math.sqrt(sum(float(np.sum(g ** 2)) for g in grads))
            return [g * (max_norm / total) for g in grads], total
        """, "the gradient was scaled up to max_norm"),
    ("14", "clip_by_global_norm", """
        def clip_by_global_norm(grads, max_norm):
            total = math.sqrt(sum(float(np.sum(g ** 2)) for g in grads))
            if total > max_norm:
                for g in grads:
                    g *= max_norm / total
            return grads, total
        """, "it changed the arrays passed in"),
    ("15", "bits_per_char", """
        def bits_per_char(logits, targets):
            shifted = logits - logits.max(axis=1, keepdims=True)
            log_p = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
            return float(-np.mean(log_p[np.arange(len(targets)), targets]))
        """, "this is in nats"),
    ("15", "bits_per_char", """
        def bits_per_char(logits, targets):
            return float(-np.mean(logits[np.arange(len(targets)), targets]) / np.log(2.0))
        """, "the logits were not normalised"),
    ("15", "bits_per_char", """
        def bits_per_char(logits, targets):
            p = np.exp(logits) / np.sum(np.exp(logits), axis=1, keepdims=True)
            return float(-np.mean(np.log2(p[np.arange(len(targets)), targets])))
        """, "exp(1000) overflows to inf: subtract each row's max"),
    ("15", "temperature_softmax", """
        def temperature_softmax(logits, temperature):
            scaled = logits * temperature
            e = np.exp(scaled - scaled.max(axis=-1, keepdims=True))
            return e / e.sum(axis=-1, keepdims=True)
        """, "the logits were multiplied by T"),
    ("15", "temperature_softmax", """
        def temperature_softmax(logits, temperature):
            e = np.exp(logits / temperature)
            return e / e.sum(axis=-1, keepdims=True)
        """, "temperature_softmax of logits near ±1000: element"),
    ("15", "temperature_softmax", """
        def temperature_softmax(logits, temperature):
            e = np.exp(logits / temperature)
            return e / e.sum(axis=0, keepdims=True)
        """, "normalise each row (axis=-1)"),
    ("15", "bigram_counts_probabilities", """
        def bigram_counts_probabilities(ids, V, k):
            counts = np.zeros((V, V))
            np.add.at(counts, (ids[:-1], ids[1:]), 1)
            return (counts + k) / (counts.sum(axis=0, keepdims=True) + k * V)
        """, "the columns sum to 1"),
    ("15", "bigram_counts_probabilities", """
        def bigram_counts_probabilities(ids, V, k):
            counts = np.zeros((V, V))
            counts[ids[:-1], ids[1:]] += 1
            return (counts + k) / (counts.sum(axis=1, keepdims=True) + k * V)
        """, "np.add.at(C, (ids[:-1], ids[1:]), 1)"),
    ("15", "bigram_counts_probabilities", """
        def bigram_counts_probabilities(ids, V, k):
            counts = np.zeros((V, V))
            np.add.at(counts, (ids[:-1], ids[1:]), 1)
            seen = np.bincount(ids, minlength=V)[:, None]
            return (counts + k) / (seen + k * V)
        """, "including the last id, which nothing follows"),
    ("16", "rotation_targets", """
        def rotation_targets(images):
            rotated = np.concatenate([np.rot90(images, -k, axes=(2, 3)) for k in range(4)])
            return rotated, np.repeat(np.arange(4), len(images))
        """, "the images turn clockwise"),
    ("16", "rotation_targets", """
        def rotation_targets(images):
            rotated = np.stack([np.rot90(images, k, axes=(2, 3)) for k in range(4)], axis=1)
            return rotated.reshape(-1, *images.shape[1:]), np.tile(np.arange(4), len(images))
        """, "the rows are grouped by image"),
    ("16", "rotation_targets", """
        def rotation_targets(images):
            rotated = np.concatenate([np.rot90(images, k, axes=(2, 3)) for k in range(4)])
            return rotated, np.tile(np.arange(4), len(images))
        """, "np.repeat, not np.tile"),
    ("16", "rotation_targets", """
        def rotation_targets(images):
            rotated = np.concatenate([np.rot90(images, k, axes=(2, 3)) for k in range(4)])
            return rotated, np.repeat(90 * np.arange(4), len(images))
        """, "these are degrees"),
    ("16", "rotation_targets", """
        def rotation_targets(images):
            rotated = np.concatenate([np.rot90(images, k, axes=(2, 3)) for k in range(4)])
            return rotated, np.repeat(np.arange(4.0), len(images))
        """, "the labels have dtype float64, expected integers"),
    ("16", "max_hamming_set", """
        def max_hamming_set(first, n_permutations):
            candidates = np.array(list(itertools.permutations(range(len(first)))))
            total = np.zeros(len(candidates))
            chosen = []
            for row in [np.asarray(first)] + [None] * (n_permutations - 1):
                if row is None:  # Noroozi & Favaro's rule: the largest total distance
                    taken = [(candidates == c).all(axis=1) for c in chosen]
                    row = candidates[int(np.argmax(np.where(np.any(taken, axis=0), -1, total)))]
                chosen.append(row)
                total = total + np.sum(candidates != row, axis=1)
            return np.stack(chosen)
        """, "largest *total* distance"),
    ("16", "max_hamming_set", """
        def max_hamming_set(first, n_permutations):
            candidates = np.array(list(itertools.permutations(range(len(first)))))
            chosen = [np.asarray(first)]
            nearest = np.sum(candidates != chosen[0], axis=1)
            for _ in range(n_permutations - 1):
                best = len(nearest) - 1 - int(np.argmax(nearest[::-1]))
                chosen.append(candidates[best])
                nearest = np.minimum(nearest, np.sum(candidates != candidates[best], axis=1))
            return np.stack(chosen)
        """, "the last of the tied candidates"),
    ("16", "max_hamming_set", """
        def max_hamming_set(first, n_permutations):
            candidates = np.array(list(itertools.permutations(range(len(first)))))
            chosen = [candidates[0]]
            nearest = np.sum(candidates != chosen[0], axis=1)
            for _ in range(n_permutations - 1):
                best = int(np.argmax(nearest))
                chosen.append(candidates[best])
                nearest = np.minimum(nearest, np.sum(candidates != candidates[best], axis=1))
            return np.stack(chosen)
        """, "starts from the permutation `first` passed in"),
    ("16", "nt_xent", """
        def nt_xent(z1, z2, temperature):
            z = np.concatenate([z1, z2])
            z = z / np.linalg.norm(z, axis=1, keepdims=True)
            logits = z @ z.T / temperature
            n2 = len(z)
            positive = logits[np.arange(n2), (np.arange(n2) + n2 // 2) % n2]
            top = logits.max(axis=1)
            log_sum = top + np.log(np.sum(np.exp(logits - top[:, None]), axis=1))
            return float(np.mean(log_sum - positive))
        """, "includes j = i"),
    ("16", "nt_xent", """
        def nt_xent(z1, z2, temperature):
            z = np.concatenate([z1, z2])
            logits = z @ z.T / temperature
            np.fill_diagonal(logits, -np.inf)
            n2 = len(z)
            positive = logits[np.arange(n2), (np.arange(n2) + n2 // 2) % n2]
            top = logits.max(axis=1)
            log_sum = top + np.log(np.sum(np.exp(logits - top[:, None]), axis=1))
            return float(np.mean(log_sum - positive))
        """, "not scaled to unit length"),
    ("16", "nt_xent", """
        def nt_xent(z1, z2, temperature):
            z = np.concatenate([z1, z2])
            z = z / np.linalg.norm(z, axis=1, keepdims=True)
            logits = z @ z.T / temperature
            np.fill_diagonal(logits, -np.inf)
            n2 = len(z)
            positive = logits[np.arange(n2), (np.arange(n2) + n2 // 2) % n2]
            log_sum = np.log(np.sum(np.exp(logits / temperature), axis=1))
            return float(np.mean(log_sum - positive / temperature))
        """, "divided by τ twice"),
    ("16", "nt_xent", """
        def nt_xent(z1, z2, temperature):
            z = np.concatenate([z1, z2])
            z = z / np.linalg.norm(z, axis=1, keepdims=True)
            logits = z @ z.T / temperature
            np.fill_diagonal(logits, -np.inf)
            n2 = len(z)
            positive = logits[np.arange(n2), (np.arange(n2) + n2 // 2) % n2]
            return float(np.mean(np.log(np.sum(np.exp(logits), axis=1)) - positive))
        """, "subtract each row's largest logit before exp"),
    ("17", "cosine_knn_predict", """
        def cosine_knn_predict(train_features, train_labels, test_features, k):
            distance = np.linalg.norm(test_features[:, None] - train_features[None], axis=2)
            nearest = np.argsort(distance, axis=1)[:, :k]
            votes = [np.bincount(train_labels[row], minlength=8) for row in nearest]
            return np.array([np.argmax(v) for v in votes])
        """, "nearest rows by Euclidean distance"),
    ("17", "cosine_knn_predict", """
        def cosine_knn_predict(train_features, train_labels, test_features, k):
            similarity = test_features @ train_features.T
            nearest = np.argsort(-similarity, axis=1)[:, :k]
            votes = [np.bincount(train_labels[row], minlength=8) for row in nearest]
            return np.array([np.argmax(v) for v in votes])
        """, "not scaled to unit length"),
    ("17", "cosine_knn_predict", """
        def cosine_knn_predict(train_features, train_labels, test_features, k):
            def unit(x):
                return x / np.linalg.norm(x, axis=1, keepdims=True)

            nearest = np.argsort(unit(test_features) @ unit(train_features).T, axis=1)[:, :k]
            votes = [np.bincount(train_labels[row], minlength=8) for row in nearest]
            return np.array([np.argmax(v) for v in votes])
        """, "the k *least* similar rows"),
    ("17", "cosine_knn_predict", """
        def cosine_knn_predict(train_features, train_labels, test_features, k):
            def unit(x):
                return x / np.linalg.norm(x, axis=1, keepdims=True)

            nearest = np.argsort(-(unit(test_features) @ unit(train_features).T), axis=1)[:, :k]
            votes = [np.bincount(train_labels[row], minlength=8) for row in nearest]
            return np.array([np.argmax(v) for v in votes])  # ties: the smallest label
        """, "a tied vote went to the smallest label"),
    ("17", "cosine_knn_predict", """
        _right = cosine_knn_predict

        def cosine_knn_predict(train_features, train_labels, test_features, k):
            predicted = _right(train_features, train_labels, test_features, k)
            return np.searchsorted(np.unique(train_labels), predicted)
        """, "these are class indices 0, 1, 2"),
    ("17", "draw_labels_per_class", """
        def draw_labels_per_class(labels, m, rng):
            return np.concatenate([rng.choice(np.flatnonzero(labels == c), size=m)
                                   for c in np.unique(labels)])
        """, "rng.choice(..., replace=False)"),
    ("17", "draw_labels_per_class", """
        def draw_labels_per_class(labels, m, rng):
            return np.concatenate([np.flatnonzero(labels == c)[:m] for c in np.unique(labels)])
        """, "not the first m"),
    ("17", "draw_labels_per_class", """
        def draw_labels_per_class(labels, m, rng):
            return np.concatenate([np.random.choice(np.flatnonzero(labels == c), m, replace=False)
                                   for c in np.unique(labels)])
        """, "draw from the `rng` passed in"),
    ("17", "draw_labels_per_class", """
        def draw_labels_per_class(labels, m, rng):
            return rng.choice(len(labels), size=m * len(np.unique(labels)), replace=False)
        """, "not m in all"),
    ("17", "draw_labels_per_class", """
        def draw_labels_per_class(labels, m, rng):
            return np.repeat(np.unique(labels), m)
        """, "these look like labels"),
    ("17", "standardise", """
        def standardise(train_features, test_features):
            def scale(x):
                std = x.std(axis=0)
                return (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)

            return scale(train_features), scale(test_features)
        """, "scaled with its own mean and std"),
    ("17", "standardise", """
        def standardise(train_features, test_features):
            mean, std = train_features.mean(axis=0), train_features.std(axis=0)
            return (train_features - mean) / std, (test_features - mean) / std
        """, "standardise: train_z: element (0, 3) is nan"),
    ("17", "standardise", """
        def standardise(train_features, test_features):
            mean = train_features.mean(axis=0)
            std = train_features.std(axis=0, ddof=1)
            std = np.where(std > 0, std, 1.0)
            return (train_features - mean) / std, (test_features - mean) / std
        """, "ddof=1"),
    ("17", "standardise", """
        def standardise(train_features, test_features):
            both = np.concatenate([train_features, test_features])
            mean, std = both.mean(axis=0), both.std(axis=0)
            return (train_features - mean) / std, (test_features - mean) / std
        """, "the training rows only"),
    ("17", "standardise", """
        def standardise(train_features, test_features):
            mean, std = train_features.mean(axis=0), train_features.std(axis=0)
            std = np.where(std > 0, std, 1.0)
            train_features -= mean
            train_features /= std
            return train_features, (test_features - mean) / std
        """, "it changed the arrays passed in"),
    ("18", "hole_psnr", """
        def hole_psnr(reference, estimate, hole):
            squared = hole * (reference - estimate) ** 2
            return 10.0 * np.log10(1.0 / squared.mean(axis=(1, 2, 3)))
        """, "averaged over all the pixels of the image"),
    ("18", "hole_psnr", """
        def hole_psnr(reference, estimate, hole):
            return 10.0 * np.log10(1.0 / ((reference - estimate) ** 2).mean(axis=(1, 2, 3)))
        """, "the PSNR of the whole image"),
    ("18", "hole_psnr", """
        def hole_psnr(reference, estimate, hole):
            axes = (1, 2, 3)
            mse = (hole * (reference - estimate) ** 2).sum(axis=axes) / hole.sum(axis=axes)
            return 20.0 * np.log10(1.0 / mse)
        """, "the factor is 10 for a ratio of *squared* quantities"),
    ("18", "hole_psnr", """
        def hole_psnr(reference, estimate, hole):
            axes = (1, 2, 3)
            mse = (hole * (reference - estimate) ** 2).sum(axis=axes) / hole.sum(axis=axes)
            return 10.0 * np.log10(1.0 / np.sqrt(mse))
        """, "this is 10·log10(1 / RMSE)"),
    ("18", "hole_psnr", """
        def hole_psnr(reference, estimate, hole):
            axes = (1, 2, 3)
            known = 1.0 - hole
            mse = (known * (reference - estimate) ** 2).sum(axis=axes) / known.sum(axis=axes)
            return 10.0 * np.log10(1.0 / mse)
        """, "this is measured on the given pixels"),
    ("18", "hole_psnr", """
        def hole_psnr(reference, estimate, hole):
            mse = np.sum(hole * (reference - estimate) ** 2) / np.sum(hole)
            return 10.0 * np.log10(1.0 / mse)
        """, "expected one PSNR per image, shape (3,), got a single number"),
    ("18", "contextual_loss", """
        def contextual_loss(generated, corrupted, known):
            return (((generated - corrupted) * known) ** 2).reshape(len(generated), -1).sum(axis=1)
        """, "the differences were squared"),
    ("18", "contextual_loss", """
        def contextual_loss(generated, corrupted, known):
            hole = 1.0 - known
            return F.abs((generated - corrupted) * hole).reshape(len(generated), -1).sum(axis=1)
        """, "this compares the hole"),
    ("18", "contextual_loss", """
        def contextual_loss(generated, corrupted, known):
            return F.abs((generated - corrupted) * known).reshape(len(generated), -1).mean(axis=1)
        """, "the L1 norm is a sum"),
    ("18", "contextual_loss", """
        def contextual_loss(generated, corrupted, known):
            return F.abs((generated - corrupted) * known).sum()
        """, "expected one loss per image"),
    ("18", "contextual_loss", """
        def contextual_loss(generated, corrupted, known):
            diff = (generated.numpy() - corrupted.numpy()) * known.numpy()
            return sn.Tensor(np.abs(diff).sum(axis=(1, 2, 3)))
        """, "not connected to `generated`'s graph"),
    ("18", "pixel_shuffle", """
        def pixel_shuffle(x, r):
            n, _, h, w = x.shape
            blocks = x.reshape(n, r, r, -1, h, w)
            return blocks.transpose(0, 3, 4, 1, 5, 2).reshape(n, -1, h * r, w * r)
        """, "TensorFlow's depth_to_space order"),
    ("18", "pixel_shuffle", """
        def pixel_shuffle(x, r):
            n, _, h, w = x.shape
            blocks = x.reshape(n, -1, r, r, h, w)
            return blocks.transpose(0, 1, 4, 3, 5, 2).reshape(n, -1, h * r, w * r)
        """, "each r×r block is transposed"),
    ("18", "pixel_shuffle", """
        def pixel_shuffle(x, r):
            n, _, h, w = x.shape
            blocks = x.reshape(n, -1, r, r, h, w)
            return blocks.transpose(0, 1, 2, 4, 3, 5).reshape(n, -1, h * r, w * r)
        """, "the output is r×r tiles"),
    ("18", "pixel_shuffle", """
        def pixel_shuffle(x, r):
            n, channels, h, w = x.shape
            return x.reshape(n, channels // (r * r), h * r, w * r)
        """, "a reshape alone moves no value"),
    ("19", "sobel_magnitude", """
        _right = sobel_magnitude

        def sobel_magnitude(image):
            return _right(image) ** 2
        """, "the square root is missing"),
    ("19", "sobel_magnitude", """
        def sobel_magnitude(image):
            h, w = image.shape
            gx, gy = np.zeros((h - 2, w - 2)), np.zeros((h - 2, w - 2))
            for a in range(3):
                for b in range(3):
                    window = image[a:a + h - 2, b:b + w - 2]
                    gx += SOBEL_X[a, b] * window
                    gy += SOBEL_X.T[a, b] * window
            return np.sqrt(gx ** 2 + gy ** 2)
        """, "expected shape (7, 9), got shape (5, 7). Hint: without padding"),
    ("19", "sobel_magnitude", """
        def sobel_magnitude(image):
            h, w = image.shape
            padded = np.pad(image, 1, mode="edge")
            gx, gy = np.zeros((h, w)), np.zeros((h, w))
            for a in range(3):
                for b in range(3):
                    gx += SOBEL_X[a, b] * padded[a:a + h, b:b + w]
                    gy += SOBEL_X.T[a, b] * padded[a:a + h, b:b + w]
            return np.sqrt(gx ** 2 + gy ** 2)
        """, "padded with np.pad's mode='edge'"),
    ("19", "sobel_magnitude", """
        def sobel_magnitude(image):
            h, w = image.shape
            padded = np.pad(image, 1)
            windows = [padded[a:a + h, b:b + w] for a in range(3) for b in range(3)]
            gx = sum(k * window for k, window in zip(SOBEL_X.ravel(), windows))
            gy = sum(k * window for k, window in zip(SOBEL_X.T.ravel(), windows))
            return np.abs(gx) + np.abs(gy)  # the cheap L1 stand-in
        """, "this is |G_x| + |G_y|"),
    ("19", "sobel_magnitude", """
        _right = sobel_magnitude

        def sobel_magnitude(image):
            image[:] = _right(image)  # overwrites the input
            return image
        """, "it changed the image passed in"),
    ("19", "cycle_consistency_loss", """
        def cycle_consistency_loss(x, x_back):
            return F.mean((x_back - x) ** 2)
        """, "this is the mean squared error"),
    ("19", "cycle_consistency_loss", """
        def cycle_consistency_loss(x, x_back):
            return F.mean(x_back - x)
        """, "the absolute value is missing"),
    ("19", "cycle_consistency_loss", """
        def cycle_consistency_loss(x, x_back):
            return F.mean(F.abs(x_back - x).reshape(len(x), -1).sum(axis=1))
        """, "this sums each image and averages the images"),
    ("19", "patch_receptive_field", """
        def patch_receptive_field(kernel_sizes, strides):
            return 1 + sum(k - 1 for k in kernel_sizes)
        """, "the strides were ignored"),
    ("19", "patch_receptive_field", """
        def patch_receptive_field(kernel_sizes, strides):
            field, step = 1, 1
            for k, s in zip(kernel_sizes, strides):
                step *= s
                field += (k - 1) * step
            return field
        """, "each layer's own stride was counted"),
    ("19", "patch_receptive_field", """
        def patch_receptive_field(kernel_sizes, strides):
            field = 1
            for k, s in zip(kernel_sizes, strides):  # the recursion, but from the input end
                field = (field - 1) * s + k
            return field
        """, "the layers were taken from the output end"),
    ("19", "patch_receptive_field", """
        def patch_receptive_field(kernel_sizes, strides):
            return float(1 + sum((k - 1) * int(np.prod(strides[:j]))
                                 for j, k in enumerate(kernel_sizes)))
        """, "expected the int 18, got 18.0"),
]

# Exercises whose reference solution calls another exercise's answer.
USES = {("07", "gaussian_corrupt"): {"denoising_loss"}}


def _graded(lesson: str, path: Path) -> dict[str, exercises.Result]:
    return {r.name: r for r in grade(lesson, path)}


@pytest.mark.parametrize("lesson", sorted(LESSONS))
def test_reference_solutions_pass(lesson):
    path = next(SOLUTIONS.glob(f"{lesson}_*.py"))
    results = grade(lesson, path)
    assert [r.name for r in results] == [e.name for e in LESSONS[lesson]]
    assert all(r.status == "PASS" for r in results), format_report(lesson, path, results)


@pytest.mark.parametrize("lesson", sorted(LESSONS))
def test_stubs_are_not_done(lesson):
    results = grade(lesson)
    assert [r.status for r in results] == ["NOT DONE"] * len(LESSONS[lesson])


@pytest.mark.parametrize("lesson, name, code, message", WRONG_ANSWERS,
                         ids=[f"{w[0]}-{w[1]}-{i}" for i, w in enumerate(WRONG_ANSWERS)])
def test_a_wrong_answer_fails_with_its_lesson(tmp_path, lesson, name, code, message):
    solution = next(SOLUTIONS.glob(f"{lesson}_*.py")).read_text(encoding="utf-8")
    path = tmp_path / f"{lesson}_wrong.py"
    path.write_text(solution + "\n\n" + textwrap.dedent(code), encoding="utf-8")
    results = _graded(lesson, path)
    assert results[name].status == "FAIL"
    assert message in results[name].message
    others = {n: r.status for n, r in results.items() if n != name}
    # An answer that the docstring tells the next exercise to call can fail that one too.
    assert all(status == "PASS" for n, status in others.items()
               if n not in USES.get((lesson, name), ())), others


def test_every_exercise_has_a_wrong_answer_tested():
    tested = {(lesson, name) for lesson, name, _, _ in WRONG_ANSWERS}
    assert tested == {(lesson, e.name) for lesson, ex in LESSONS.items() for e in ex}


def test_the_knn_grader_keeps_to_the_rule_of_knn_accuracy():
    # cosine_knn_predict's docstring promises the rule of metrics.knn_accuracy, ties included.
    from scratchnet.exercises import _knn_data, _np_knn
    from scratchnet.metrics import knn_accuracy
    train, labels, test = _knn_data(0)
    for k in (4, 5):
        truth = _np_knn(train, labels, test, k)
        assert knn_accuracy(train, labels, test, truth, k=k) == 1.0
    # The grading data holds tied votes that the summed similarity decides.
    assert not np.array_equal(_np_knn(train, labels, test, 4),
                              _np_knn(train, labels, test, 4, tie="smallest"))


def test_the_contextual_loss_grader_matches_models_inpainting_loss():
    # contextual_loss's grader computes Yeh et al.'s contextual term in NumPy; it must be
    # the term that models.inpainting_loss (at prior_weight=0) gives a generator's images.
    import scratchnet as sn
    from scratchnet import models, nn
    from scratchnet.exercises import _inpainting_data, _np_contextual
    from scratchnet.models.inpainting import inpainting_loss
    reference, _, hole = _inpainting_data(0)
    generator = nn.Sequential(nn.Dense(3, reference[0].size, rng=0),
                              nn.Reshape(reference.shape[1:]))
    discriminator = nn.Sequential(nn.Reshape((-1,)), nn.Dense(reference[0].size, 1, rng=1))
    gan = models.GAN(generator, discriminator, 3, rng=2)
    z = sn.Tensor(np.random.default_rng(3).standard_normal((len(reference), 3)))
    generated = gan.generate(z).numpy()
    np.testing.assert_allclose(_np_contextual(generated, reference, 1 - hole),
                               inpainting_loss(gan, z, reference, 1 - hole, 0.0).numpy(),
                               rtol=1e-6)


def test_the_receptive_field_grader_measures_the_patchgan():
    # The PatchGAN case is graded against the field that autodiff measures, which is the
    # 18×18 patch that models.image_to_image documents.
    from scratchnet.exercises import _np_receptive_field, _patchgan_layers
    kernels, strides, measured = _patchgan_layers()
    assert (kernels, strides, measured) == ([4, 4, 3], [2, 2, 1], 18)
    assert _np_receptive_field(kernels, strides) == measured


def test_a_failure_names_the_element_and_both_values(tmp_path):
    solution = (SOLUTIONS / "00_autodiff.py").read_text(encoding="utf-8")
    path = tmp_path / "00_mine.py"
    path.write_text(solution + textwrap.dedent("""
        def central_difference(f, x, eps=1e-3):
            g = (f(x + eps) - f(x - eps)) / (2 * eps) * np.ones(x.shape)
            g[2] = 99.0
            return g
        """), encoding="utf-8")
    message = _graded("00", path)["central_difference"].message
    assert "element (" in message and "expected " in message and "got " in message
    assert "Hint:" in message


def test_missing_name_crash_and_import_error_are_failures(tmp_path):
    path = tmp_path / "00_partial.py"
    path.write_text("import numpy as np\n\ndef central_difference(f, x, eps=1e-3):\n"
                    "    return x[99]\n", encoding="utf-8")
    results = _graded("00", path)
    assert "defines no `Softsign`" in results["Softsign"].message
    assert "raised IndexError" in results["central_difference"].message
    path.write_text("def broken(:\n", encoding="utf-8")
    assert all("could not be imported" in r.message for r in grade("00", path))


def test_main_exit_status_and_report(capsys):
    assert main(["00"]) == 1
    out = capsys.readouterr().out
    assert "NOT DONE  Softsign" in out and "0 of 3 exercises pass" in out
    assert main(["0", "--file", str(SOLUTIONS / "00_autodiff.py")]) == 0
    assert "3 of 3 exercises pass" in capsys.readouterr().out
    assert main(["42"]) == 2
    assert "no exercises for lesson '42'" in capsys.readouterr().err


def test_exercise_files_are_found_from_elsewhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the checkout is found from the package, not the cwd
    assert exercise_file("00").parent == SOLUTIONS.parent


def test_an_installed_package_finds_the_exercises_in_the_working_folder(tmp_path, monkeypatch):
    from scratchnet import cli
    monkeypatch.setattr(cli, "checkout_root", lambda: None)  # as when pip-installed
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="no exercises/ folder found"):
        exercise_file("03")
    (tmp_path / "exercises").mkdir()
    stub = tmp_path / "exercises" / "03_pca.py"
    stub.write_text((SOLUTIONS.parent / "03_pca.py").read_text(encoding="utf-8"),
                    encoding="utf-8")
    assert exercise_file("03").resolve() == stub.resolve()
    assert main(["03"]) == 1  # the copied stubs, graded from the working folder


def test_not_done_means_the_students_own_raise(tmp_path, monkeypatch):
    # A NotImplementedError from code the answer calls is a failure, not "not done".
    (tmp_path / "helper_library.py").write_text(
        "def unsupported():\n    raise NotImplementedError('this library lacks it')\n",
        encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    path = tmp_path / "00_calls.py"
    path.write_text(textwrap.dedent("""
        import helper_library

        def central_difference(f, x, eps=1e-3):
            return helper_library.unsupported()

        def newton_step(f, x):
            raise NotImplementedError("exercise: newton_step")
        """), encoding="utf-8")
    results = _graded("00", path)
    assert results["central_difference"].status == "FAIL"
    assert "this library lacks it (at 00_calls.py, line 5)" in results["central_difference"].message
    assert results["newton_step"].status == "NOT DONE"
