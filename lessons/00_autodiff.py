# %% [markdown]
# # Lesson 00: automatic differentiation, run backwards
#
# Every model in this course is trained the same way. Veličković's lectures put it in
# four steps: run the network on an input, measure the loss $\mathcal{L}$, compute the
# partial derivative $\partial \mathcal{L} / \partial w_i$ for **every** weight $w_i$, and
# nudge the weights along those derivatives. The third step is the hard part. An
# autoencoder has tens of thousands of weights, and we need the derivative for every one
# of them on every step. This lesson shows how scratchnet computes them: exactly (not
# by finite differences), and all of them in one pass backwards through the computation.
#
# ## The chain rule
#
# If $u = g(x)$ and $y = f(u)$, then $\dfrac{dy}{dx} = f'(u)\,g'(x)$. With vectors,
# $x \in \mathbb{R}^n$, $u \in \mathbb{R}^k$, $y \in \mathbb{R}^m$, derivatives become
# Jacobian matrices and the chain rule multiplies them:
#
# $$J_{f \circ g}(x) = J_f(u)\, J_g(x), \qquad (J_f)_{ij} = \frac{\partial y_i}{\partial u_j}.$$
#
# A program is a long chain $x \to u_1 \to u_2 \to \dots \to u_K = \mathcal{L}$, so its
# derivative is a product of many Jacobians, $J = J_K \cdots J_2 J_1$. Matrix products
# can be evaluated in any order, and the order decides the cost.
#
# * **Forward mode** starts from the input side with a direction $u \in \mathbb{R}^n$:
#   $J_1 u$, then $J_2 (J_1 u)$, and so on. Each pass gives one *Jacobian-vector product*
#   $J u$: how every output changes when the inputs move along $u$. To get the whole
#   gradient of a loss you need $n$ passes, one per parameter.
# * **Reverse mode** starts from the output side with a row vector $v^\top$:
#   $v^\top J_K$, then $(v^\top J_K) J_{K-1}$, and so on. Each pass gives one
#   *vector-Jacobian product* (VJP) $v^\top J$: how the single number $v^\top y$ depends
#   on **every** input.
#
# A loss is one number ($m = 1$). With $v = 1$, a single reverse pass gives the
# whole gradient $\nabla \mathcal{L} \in \mathbb{R}^n$. Its cost is a small constant multiple
# of one forward evaluation, whether $n$ is 10 or 10 million. That is why deep learning runs
# on reverse mode, which for neural networks is called *backpropagation*. There is a price:
# the backward pass needs the intermediate values of the forward pass, so they have to be
# kept in memory until it runs. (Baydin et al., "Automatic differentiation in machine
# learning: a survey", JMLR 2018, is a readable overview.)
#
# ## Adjoints: what flows backwards
#
# Write $\bar{u} = \partial \mathcal{L} / \partial u$ (the *adjoint* of $u$). A node
# $y = h(x_1, x_2, \dots)$ receives $\bar{y}$ from the nodes that used $y$. For each of its
# inputs it sends back
#
# $$\bar{x}_i \mathrel{+}= \bar{y}\,\frac{\partial y}{\partial x_i}
# \qquad\text{(for arrays: } \bar{x}_i \mathrel{+}= J_{h,i}^\top \bar{y}\text{, a VJP).}$$
#
# The $+=$ is the multivariate chain rule. If $x$ is used in two places, $\mathcal{L}$
# depends on it along two paths, and the two contributions add up. In scratchnet each
# operation is a `sn.Function` with a `forward` (arrays in, arrays out) and a `backward`
# (upstream gradient in, one VJP per input out). The engine calls the `backward`s in
# reverse order and does the adding.

# %%
import math
import time

import matplotlib.pyplot as plt
import numpy as np

import scratchnet as sn
import scratchnet.functional as F
from scratchnet import viz
from scratchnet.autograd import iter_functions
from scratchnet.lesson import KeyNumbers, figure_dir, quick_mode

QUICK = quick_mode()  # `--quick` or SCRATCHNET_QUICK=1: smaller sizes, fewer steps
# Work in float64 throughout, so that the digits we compare are exact up to ~1e-16
# (scratchnet's default is float32, which is what the models train in).
sn.set_default_dtype(np.float64)
FIGURES = figure_dir("00_autodiff")
SUMMARY = KeyNumbers("Key numbers from this lesson:")  # printed again at the end
print(f"quick mode: {QUICK}; figures are saved to {FIGURES}")

# %% [markdown]
# ## 1. An expression graph, by hand and by machine
#
# Take a function of two numbers
#
# $$f(a, b) = \tanh(a b)\, e^{b} + a, \qquad a = 0.5,\; b = 1.5,$$
#
# and give every intermediate value a name. The table lists each node with its *local*
# derivatives, which are all a node's `backward` needs to know:
#
# | node | computes | local derivatives |
# |---|---|---|
# | $c$ | $a \cdot b$ | $\partial c/\partial a = b$, $\partial c/\partial b = a$ |
# | $d$ | $\tanh c$ | $\partial d/\partial c = 1 - d^2$ |
# | $e$ | $\exp b$ | $\partial e/\partial b = e$ |
# | $g$ | $d \cdot e$ | $\partial g/\partial d = e$, $\partial g/\partial e = d$ |
# | $f$ | $g + a$ | $\partial f/\partial g = 1$, $\partial f/\partial a = 1$ |
#
# Both inputs are used twice: $a$ feeds $c$ and $f$, and $b$ feeds $c$ and $e$. So each
# of them collects two contributions on the way back. Building the graph is just
# evaluating the expression with tensors that have `requires_grad=True`. Each operation
# records itself as the `creator` of its output.

# %%
A0, B0 = 0.5, 1.5
a = sn.Tensor(A0, requires_grad=True)
b = sn.Tensor(B0, requires_grad=True)
c = a * b
d = F.tanh(c)
e = F.exp(b)
g = d * e
f = g + a

print("forward pass (each node, the operation that made it, its value):")
for name, t in [("a", a), ("b", b), ("c", c), ("d", d), ("e", e), ("g", g), ("f", f)]:
    op = type(t.creator).__name__ if t.creator is not None else "leaf"
    print(f"  {name} = {t.item():.12f}   ({op})")

# %% [markdown]
# Now run the graph backwards. `f.backward()` seeds $\bar f = 1$ and calls every
# node's `backward` in reverse order. By default only *leaves* (here $a$, $b$) keep
# their `.grad`, because intermediate gradients are thrown away as soon as they have been
# used. `.retain_grad()` asks the engine to keep them, so that we can look at them.

# %%
for t in (c, d, e, g, f):
    t.retain_grad()
f.backward()

autodiff = {name: t.grad.item() for name, t in
            [("f", f), ("g", g), ("e", e), ("d", d), ("c", c), ("b", b), ("a", a)]}
print("backward pass (adjoints, d f / d node):")
for name, value in autodiff.items():
    print(f"  {name}_bar = {value:.12f}")

# %% [markdown]
# ### The graph, drawn
#
# `viz.draw_graph(f)` draws the graph that the engine recorded, from the leaves on the left
# to the output on the right. Blue boxes are operations (`Function`s), green nodes are the
# leaves that receive a `.grad`, the orange one is the tensor we asked about. With
# `show_values=True` and `show_grads=True` the leaves and the output show their values and
# gradients. Each arrow is labelled with the shape of the value it carries; `()` means a
# single number.
#
# There is no node for $c$, $d$, $e$ or $g$. The engine does not keep intermediate
# tensors: each operation points at the operations that made its inputs, and keeps only
# what its own `backward` will read. That is what lets a large network free memory during
# its forward pass. So an arrow tells you what flowed, and only the leaves and the output
# can show values. You can follow both paths from $a$ (into the first `Mul` and into the
# `Add`) and both paths from $b$ (into `Mul` and `Exp`): these are the two contributions
# that each of them collected.

# %%
a.name, b.name, f.name = "a", "b", "f"  # names are what the drawing prints on a tensor
graph_figure = viz.save_figure(
    viz.draw_graph(f, show_values=True, show_grads=True,
                   title="The graph of f = tanh(ab) e^b + a: a and b each feed two operations"),
    FIGURES / "graph_of_f.png", dpi=120)
forward_ops = [type(fn).__name__ for fn in iter_functions(f)]
print(f"f's graph: {len(forward_ops)} operations ({', '.join(sorted(forward_ops))}) "
      f"on 2 leaves; saved {graph_figure}")

# %% [markdown]
# ### The same numbers with pencil and paper
#
# Sweep the table from the bottom up. Start at the output with $\bar f = 1$, and multiply
# by a local derivative each time you step back through a node:
#
# $$
# \begin{aligned}
# \bar f &= 1, \\
# \bar g &= \bar f \cdot 1 = 1,
#     \qquad \bar a \leftarrow \bar f \cdot 1 = 1 \quad\text{(first path into } a\text{)}, \\
# \bar d &= \bar g\, e, \qquad \bar e = \bar g\, d, \\
# \bar c &= \bar d\,(1 - d^2), \\
# \bar b &= \bar e\, e + \bar c\, a
#     \quad\text{(two paths: through } e \text{ and through } c\text{)}, \\
# \bar a &= 1 + \bar c\, b
#     \quad\text{(two paths: directly into } f \text{ and through } c\text{)}.
# \end{aligned}
# $$
#
# Written out in full, $\partial f/\partial a = 1 + b\,e^b(1-\tanh^2 ab)$ and
# $\partial f/\partial b = e^b \tanh ab + a\,e^b(1-\tanh^2 ab)$. The next cell evaluates
# these with plain Python floats from the `math` module, with no tensors involved, and
# compares them with what the engine produced.

# %%
c_h = A0 * B0
d_h = math.tanh(c_h)
e_h = math.exp(B0)
f_bar = 1.0
g_bar = f_bar * 1.0
d_bar = g_bar * e_h
e_bar = g_bar * d_h
c_bar = d_bar * (1.0 - d_h**2)
b_bar = e_bar * e_h + c_bar * A0
a_bar = f_bar * 1.0 + c_bar * B0
by_hand = {"f": f_bar, "g": g_bar, "e": e_bar, "d": d_bar, "c": c_bar, "b": b_bar, "a": a_bar}

print(f"{'adjoint':>8} {'by hand':>18} {'autodiff':>18} {'|difference|':>13}")
worst_hand = 0.0
for name in by_hand:
    diff = abs(by_hand[name] - autodiff[name])
    worst_hand = max(worst_hand, diff)
    print(f"{name + '_bar':>8} {by_hand[name]:18.12f} {autodiff[name]:18.12f} {diff:13.2e}")
print(f"largest difference between hand and autodiff: {worst_hand:.1e}")
SUMMARY["df/da, df/db at (0.5, 1.5)"] = f"{a.grad.item():.10f}, {b.grad.item():.10f}"
SUMMARY["hand vs autodiff, largest difference"] = f"{worst_hand:.1e}"

# %% [markdown]
# ### The whole idea on one screen
#
# What did `f.backward()` do to get these numbers? Nothing more than the sweep we just
# did by hand, made automatic. The next cell is a complete reverse-mode engine for single
# numbers. Each `Value` holds
#
# * `data`, its number, and `grad`, its adjoint, which starts at zero;
# * `parents`, the values it was computed from;
# * `local_backward`, a small function written by the operation that made the value.
#   Given the value's adjoint $\bar y$, it returns one contribution per parent,
#   $\bar y\,\partial y/\partial x_i$, using the local derivatives from the table above.
#
# `backward()` then does two things. First a *topological sort*: a depth-first walk lists
# every value after all the values it was made from. Then it walks that list from the
# end, starting with $\bar f = 1$, and each value hands its adjoint back to its parents.
# The parents **add** what they receive (`+=`), which is how $a$ and $b$, each used twice,
# collect both paths. Thanks to the ordering, a value has heard from every one of its users
# before it passes its own adjoint on. We run it on the same $f(a, b)$ and compare with
# `sn.grad`.

# %%
class Value:
    """A number that remembers its parents and how to send gradient back to them."""

    def __init__(self, data, parents=(), local_backward=None):
        self.data = data
        self.grad = 0.0
        self.parents = parents
        self.local_backward = local_backward  # adjoint of this value -> one term per parent

    def __add__(self, other):
        return Value(self.data + other.data, (self, other), lambda g: (g, g))

    def __mul__(self, other):
        return Value(self.data * other.data, (self, other),
                     lambda g: (g * other.data, g * self.data))

    def tanh(self):
        y = math.tanh(self.data)
        return Value(y, (self,), lambda g: (g * (1.0 - y * y),))

    def exp(self):
        y = math.exp(self.data)
        return Value(y, (self,), lambda g: (g * y,))

    def backward(self):
        order, seen = [], set()

        def visit(node):  # append a node only after all of its parents
            if node not in seen:
                seen.add(node)
                for parent in node.parents:
                    visit(parent)
                order.append(node)

        visit(self)
        self.grad = 1.0
        for node in reversed(order):  # every user of a node comes before the node itself
            if node.local_backward is not None:
                for parent, term in zip(node.parents, node.local_backward(node.grad)):
                    parent.grad += term  # a value used twice adds up both contributions


mini_a, mini_b = Value(A0), Value(B0)
mini_f = (mini_a * mini_b).tanh() * mini_b.exp() + mini_a
mini_f.backward()

engine_a = sn.Tensor(A0, requires_grad=True)
engine_b = sn.Tensor(B0, requires_grad=True)
engine_f = F.tanh(engine_a * engine_b) * F.exp(engine_b) + engine_a
engine_da, engine_db = sn.grad(engine_f, [engine_a, engine_b])

print(f"{'':>6} {'mini engine':>18} {'sn.grad':>18} {'relative diff':>14}")
worst_mini = 0.0
for name, mini, engine in [("f", mini_f.data, engine_f.item()),
                           ("df/da", mini_a.grad, engine_da.item()),
                           ("df/db", mini_b.grad, engine_db.item())]:
    rel = abs(mini - engine) / abs(engine)
    worst_mini = max(worst_mini, rel)
    print(f"{name:>6} {mini:18.12f} {engine:18.12f} {rel:14.1e}")
    assert rel <= 1e-12, (f"the mini engine and scratchnet disagree on {name}: "
                          f"{mini!r} against {engine!r} (relative difference {rel:.1e})")
SUMMARY["mini engine vs sn.grad, largest relative difference"] = f"{worst_mini:.1e}"

# %% [markdown]
# That is all of reverse mode. scratchnet's engine runs the same loop; what it adds is
# what real models need:
#
# * **Arrays instead of numbers.** A `local_backward` becomes an operation's `backward`,
#   which returns vector-Jacobian products $J^\top \bar y$. For a matrix product that is
#   again a matrix product, not a multiplication by one number.
# * **Broadcasting, undone in one place.** In `X + bias` a bias of shape `(n,)` is added
#   to every row of an `(m, n)` array, so its gradient is the sum over the rows. The engine
#   sums every gradient back to its input's shape itself, so no single operation has to.
# * **Gradients that are graphs.** Our `local_backward`s compute with plain floats, so the
#   gradients they produce cannot be differentiated again. scratchnet's backwards are
#   written with tensor operations, so with `create_graph=True` a gradient is itself a
#   graph, and second derivatives come out of the same machinery (section 3).
# * **Saved tensors.** A `Value` holds on to its parents, data and all. For a few numbers
#   that costs nothing; for a network it would keep every intermediate array alive until
#   the backward pass. In scratchnet each operation's `forward` calls `save_for_backward`
#   with only what its backward will read (an addition saves nothing, `tanh` its output),
#   and a node points at the nodes that made its inputs rather than at the inputs
#   themselves, so the rest can be freed as the forward pass goes on. Section 4 writes
#   such an operation.

# %% [markdown]
# ## 2. Checking against finite differences
#
# A derivative can also be estimated without any calculus, by wiggling one input:
#
# $$\frac{\partial f}{\partial a}
# \approx \frac{f(a + \varepsilon, b) - f(a - \varepsilon, b)}{2\varepsilon},
# \qquad \text{error } O(\varepsilon^2).$$
#
# This is far too slow for training (it needs two evaluations *per parameter*), and it is
# only approximately right. As an independent check of a `backward` it is very useful.
# `sn.gradcheck(fn, inputs)` does this in float64 for every input element, and either
# returns `True` or raises `sn.GradcheckError` naming the worst element.

# %%
def f_ab(a, b):
    return F.tanh(a * b) * F.exp(b) + a


EPS = 1e-6
fd_a = (f_ab(sn.Tensor(A0 + EPS), sn.Tensor(B0)).item()
        - f_ab(sn.Tensor(A0 - EPS), sn.Tensor(B0)).item()) / (2 * EPS)
fd_b = (f_ab(sn.Tensor(A0), sn.Tensor(B0 + EPS)).item()
        - f_ab(sn.Tensor(A0), sn.Tensor(B0 - EPS)).item()) / (2 * EPS)
print(f"finite differences: df/da ~ {fd_a:.10f}  (autodiff {a.grad.item():.10f}, "
      f"difference {abs(fd_a - a.grad.item()):.1e})")
print(f"                    df/db ~ {fd_b:.10f}  (autodiff {b.grad.item():.10f}, "
      f"difference {abs(fd_b - b.grad.item()):.1e})")

print("sn.gradcheck at the point (0.5, 1.5):", sn.gradcheck(f_ab, [np.array(A0), np.array(B0)]))
rng = np.random.default_rng(0)
shape = (3, 4) if QUICK else (8, 16)
result = sn.gradcheck(f_ab, [rng.standard_normal(shape), rng.standard_normal(shape)])
print(f"sn.gradcheck on random {shape} arrays:", result)
SUMMARY["gradcheck of f(a, b)"] = str(result)

# %% [markdown]
# ### Why reverse mode: one backward pass against $2n$ forward passes
#
# Here is the claim from the introduction, measured. Take a loss with $n$ parameters,
# $\mathcal{L}(w) = \sum_k \tanh\big((Xw)_k\big)$ with $X \in \mathbb{R}^{50 \times n}$,
# and compute its gradient once with one forward and one backward pass, and once with
# central differences, which need two forward passes per parameter.

# %%
n_params = 200 if QUICK else 2000
X = rng.standard_normal((50, n_params)) / math.sqrt(n_params)
w0 = rng.standard_normal(n_params)


def loss_fn(w):
    return F.tanh(X @ w).sum()


start = time.perf_counter()
w = sn.Tensor(w0, requires_grad=True)
loss_fn(w).backward()
t_reverse = time.perf_counter() - start

start = time.perf_counter()
fd_grad = np.empty(n_params)
with sn.no_grad():  # plain evaluations: no graph needed
    for j in range(n_params):
        step = np.zeros(n_params)
        step[j] = EPS
        fd_grad[j] = (loss_fn(sn.Tensor(w0 + step)).item()
                      - loss_fn(sn.Tensor(w0 - step)).item()) / (2 * EPS)
t_fd = time.perf_counter() - start

agree = np.max(np.abs(fd_grad - w.grad.numpy()))
print(f"n = {n_params} parameters")
print(f"  reverse mode      : 1 forward + 1 backward pass, {t_reverse * 1e3:8.2f} ms")
print(f"  finite difference : {2 * n_params} forward passes,      {t_fd * 1e3:8.2f} ms "
      f"({t_fd / t_reverse:.0f}x slower)")
print(f"  largest difference between the two gradients: {agree:.1e}")
SUMMARY[f"gradient of {n_params} params: finite differences / reverse mode"] = (
    f"{t_fd / t_reverse:.0f}x slower")

# %% [markdown]
# ## 3. Second derivatives and Newton's method
#
# Each `backward` in scratchnet is itself written with tensor operations. Normally the
# engine runs it with graph recording switched off. With `create_graph=True` it records
# the backward computation too, so the gradient $f'(x)$ is again a node in a graph, and
# can be differentiated once more to give $f''(x)$:
#
# ```python
# (df,) = sn.grad(f(x), x, create_graph=True)   # f'(x), still attached to a graph
# (d2f,) = sn.grad(df, x)                        # f''(x)
# ```
#
# Later lessons use exactly this for the contractive autoencoder's penalty and for the
# WGAN gradient penalty. Here we use it for **Newton's method**. Near $x_k$, approximate
# $f$ by its second-order Taylor polynomial and jump to that parabola's minimum:
#
# $$x_{k+1} = x_k - \frac{f'(x_k)}{f''(x_k)}.$$
#
# Our test function is $f(x) = e^x - 2x$, with $f'(x) = e^x - 2$ and $f''(x) = e^x$. Its
# minimum is at $x^* = \ln 2 \approx 0.693147$. Near $x^*$ the error
# $\epsilon_k = x_k - x^*$ obeys
#
# $$\epsilon_{k+1} \approx \frac{f'''(x^*)}{2 f''(x^*)}\,\epsilon_k^2 = \tfrac12\,\epsilon_k^2
# \quad\text{(Newton: quadratic, the number of correct digits doubles each step)},$$
#
# $$\epsilon_{k+1} \approx \big(1 - \eta f''(x^*)\big)\,\epsilon_k = (1 - 2\eta)\,\epsilon_k
# \quad\text{(gradient descent with step } \eta\text{: linear).}$$

# %%
def f_1d(x):
    return F.exp(x) - 2.0 * x


X_STAR = math.log(2.0)


def derivatives(x_value):
    """f(x), f'(x) and f''(x) by automatic differentiation."""
    x = sn.Tensor(x_value, requires_grad=True)
    y = f_1d(x)
    (df,) = sn.grad(y, x, create_graph=True)  # keep the graph of f'(x) ...
    (d2f,) = sn.grad(df, x)  # ... so that it can be differentiated again
    return y.item(), df.item(), d2f.item()


# %% [markdown]
# ### What the graph of a gradient looks like
#
# With `create_graph=True` a gradient is an ordinary tensor with a graph of its own, so it
# can be drawn like any other. Take $\partial f/\partial a = 1 + b\,e^b(1-\tanh^2 ab)$ for
# the $f(a, b)$ of section 1 and compare its drawing with the graph of $f$. The forward
# operations come back, because the backward of `tanh` reads tanh's output and the backward
# of `exp` reads $e^b$; the new operations (`Mul`, `Sub`, `Add`) are the chain rule itself,
# written as tensor operations. Because the result is a graph on the same leaves, `sn.grad`
# can differentiate it once more: below, the mixed second derivative
# $\partial^2 f/\partial a\,\partial b = e^b s\,(1 + b - 2ab\tanh ab)$ with $s = 1-\tanh^2 ab$,
# checked against that formula.

# %%
grad_a = sn.Tensor(A0, requires_grad=True, name="a")
grad_b = sn.Tensor(B0, requires_grad=True, name="b")
(df_da,) = sn.grad(f_ab(grad_a, grad_b), grad_a, create_graph=True)
df_da.name = "df/da"
gradient_ops = [type(fn).__name__ for fn in iter_functions(df_da)]
print(f"the graph of df/da: {len(gradient_ops)} operations ({', '.join(sorted(gradient_ops))}),"
      f" against {len(forward_ops)} in f's own graph")
gradient_graph_figure = viz.save_figure(
    viz.draw_graph(df_da, show_values=True,
                   title="The graph of df/da (create_graph=True): the forward values it reads, "
                         "then the chain rule as operations"),
    FIGURES / "graph_of_df_da.png", dpi=120)
print(f"saved {gradient_graph_figure}")
(d2f_dadb,) = sn.grad(df_da, grad_b)
s_h = 1.0 - math.tanh(A0 * B0) ** 2
d2f_by_hand = math.exp(B0) * s_h * (1.0 + B0 - 2.0 * A0 * B0 * math.tanh(A0 * B0))
print(f"d2f/da db = {d2f_dadb.item():.12f} (by hand {d2f_by_hand:.12f}, "
      f"difference {abs(d2f_dadb.item() - d2f_by_hand):.1e})")

# %%
X0 = 2.0
_, df0, d2f0 = derivatives(X0)
print(f"at x = {X0}: f'(x) = {df0:.12f} (by hand e^x - 2 = {math.exp(X0) - 2:.12f})")
print(f"          f''(x) = {d2f0:.12f} (by hand e^x     = {math.exp(X0):.12f})")
print("sn.gradgradcheck on f:", sn.gradgradcheck(f_1d, [rng.standard_normal(5)]))

# %%
print("Newton's method from x0 = 2:")
print(f"{'k':>3} {'x_k':>20} {'error |x_k - ln 2|':>20} {'-log10(error)':>14} "
      f"{'e_k / e_(k-1)^2':>16}")
newton_x = [X0]
for k in range(10):
    err = abs(newton_x[-1] - X_STAR)
    digits = f"{-math.log10(err):.1f}" if err > 0 else "exact"
    ratio = f"{err / abs(newton_x[-2] - X_STAR) ** 2:.3f}" if k > 0 and err > 0 else "-"
    print(f"{k:3d} {newton_x[-1]:20.16f} {err:20.3e} {digits:>14} {ratio:>16}")
    if err < 1e-15:
        break
    _, df, d2f = derivatives(newton_x[-1])
    newton_x.append(newton_x[-1] - df / d2f)
newton_steps = len(newton_x) - 1
print(f"the ratio approaches 1/2 = f'''(x*) / (2 f''(x*)); Newton reached machine precision "
      f"in {newton_steps} steps")

# %%
LR = 0.1
gd_steps = 100 if QUICK else 200
gd_x = [X0]
for _ in range(gd_steps):
    _, df, _ = derivatives(gd_x[-1])
    gd_x.append(gd_x[-1] - LR * df)
gd_err = [abs(x - X_STAR) for x in gd_x]
print(f"gradient descent from x0 = 2 with step {LR} (error shrinks ~{1 - 2 * LR:.1f}x per step):")
for k in range(0, gd_steps + 1, gd_steps // 10):
    print(f"  step {k:3d}: x = {gd_x[k]:.12f}, error {gd_err[k]:.3e}")
target = 1e-8
gd_hit = next((k for k, err in enumerate(gd_err) if err < target), None)
newton_hit = next(k for k, x in enumerate(newton_x) if abs(x - X_STAR) < target)
gd_text = f"{gd_hit} steps" if gd_hit is not None else f"more than {gd_steps} steps"
print(f"steps to reach error < {target:g}: Newton {newton_hit}, gradient descent {gd_text}")
SUMMARY["Newton: steps to 1e-8 / to machine precision"] = f"{newton_hit} / {newton_steps}"
SUMMARY[f"gradient descent (step {LR}): steps to 1e-8"] = gd_text

# %%
fig, (ax_f, ax_e) = plt.subplots(1, 2, figsize=(11, 4))
grid = np.linspace(-0.6, 2.2, 300)
ax_f.plot(grid, np.exp(grid) - 2 * grid, color="0.3", label=r"$f(x) = e^x - 2x$")
gd_shown = np.array(gd_x[:30])
ax_f.plot(gd_shown, np.exp(gd_shown) - 2 * gd_shown, "o", ms=4, color="tab:blue", alpha=0.6,
          label=f"gradient descent (first {len(gd_shown)} iterates)")
nx = np.array(newton_x)
ax_f.plot(nx, np.exp(nx) - 2 * nx, "s-", ms=6, color="tab:red", label="Newton iterates")
for k, x in enumerate(newton_x[:4]):
    ax_f.annotate(f"$x_{k}$", (x, math.exp(x) - 2 * x), textcoords="offset points",
                  xytext=(4, 6), color="tab:red")
ax_f.axvline(X_STAR, color="0.6", ls=":", label=r"$x^* = \ln 2$")
ax_f.set_xlabel("x")
ax_f.set_ylabel("f(x)")
ax_f.set_title("Iterates on the function")
ax_f.legend(fontsize=8)

floor = 1e-17  # an error of exactly 0 cannot be drawn on a log axis
ax_e.semilogy([max(abs(x - X_STAR), floor) for x in newton_x], "s-", color="tab:red",
              label="Newton (quadratic)")
ax_e.semilogy([max(err, floor) for err in gd_err], "-", color="tab:blue",
              label=f"gradient descent, step {LR} (linear)")
ax_e.semilogy(np.arange(gd_steps + 1), gd_err[0] * (1 - 2 * LR) ** np.arange(gd_steps + 1),
              "--", color="tab:blue", alpha=0.5, label=r"prediction $(1-2\eta)^k$")
ax_e.set_ylim(floor / 2, 10)
ax_e.set_xlabel("step k")
ax_e.set_ylabel(r"error $|x_k - \ln 2|$")
ax_e.set_title("Error against step (log scale)")
ax_e.legend(fontsize=8)
fig.tight_layout()
newton_figure = FIGURES / "newton_vs_gradient_descent.png"
viz.save_figure(fig, newton_figure, dpi=120)
print(f"saved {newton_figure}")

# %% [markdown]
# ## 4. A gradient check that proves nothing
#
# When you write a `backward` yourself, you also have to check it, and the check has to be
# able to fail. Softmax shows how a check can be too weak. It is
#
# $$y_i = \frac{e^{x_i}}{\sum_j e^{x_j}},
# \qquad \frac{\partial y_i}{\partial x_j} = y_i(\delta_{ij} - y_j),
# \qquad \bar{x} = y \odot \big(\bar{y} - (\bar{y} \cdot y)\big).$$
#
# Its outputs always sum to 1, whatever $x$ is. So $\sum_i y_i$ is a constant, and the true
# gradient of `softmax(x).sum()` is exactly **zero**. A tempting way to test a `backward`
# is to reduce the output with `.sum()` and compare gradients. That only tests the VJP for
# the upstream gradient $\bar y = \mathbf{1}$, and any wrong backward that also gives zero
# for $\bar y = \mathbf{1}$ passes.
#
# Below is a realistic bug: the leading factor $y \odot$ has been forgotten, so the
# backward computes $\bar y - (\bar y \cdot y)$. For $\bar y = \mathbf 1$ this is
# $1 - \sum_i y_i = 0$, which matches the truth. For any other $\bar y$ it is wrong. (A
# backward that returns all zeros would pass the sum test just as well.)
#
# The op is written as every scratchnet op is: `forward` works on arrays and hands
# `save_for_backward` the one array its backward reads (the output $y$); `backward` gets it
# back from `self.saved_tensors` as a tensor of the graph.

# %%
class BrokenSoftmax(sn.Function):
    """Softmax over the last axis whose backward forgets the factor y (a deliberate bug)."""

    def forward(self, x):
        xp = sn.get_array_module(x)
        z = xp.exp(x - x.max(axis=-1, keepdims=True))
        y = z / z.sum(axis=-1, keepdims=True)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_tensors
        return gy - F.sum(gy * y, axis=-1, keepdims=True)  # BUG: should be y * (...)


def broken_softmax(x):
    return BrokenSoftmax()(x)


x_np = rng.standard_normal((4, 5))
same_forward = np.max(np.abs(broken_softmax(sn.Tensor(x_np)).numpy()
                             - F.softmax(sn.Tensor(x_np)).numpy()))
print(f"the forward pass is right: largest difference from F.softmax = {same_forward:.1e}")


def vjp_check(fn, x_value, v):
    """Largest |analytic - numerical| over the entries of v^T J (central differences)."""
    x = sn.Tensor(x_value, requires_grad=True)
    (analytic,) = sn.grad(fn(x), x, grad_outputs=v)
    numerical = np.empty(x_value.size)
    with sn.no_grad():
        for j in range(x_value.size):
            step = np.zeros(x_value.size)
            step[j] = EPS
            step = step.reshape(x_value.shape)
            numerical[j] = np.sum(v * (fn(sn.Tensor(x_value + step)).numpy()
                                       - fn(sn.Tensor(x_value - step)).numpy())) / (2 * EPS)
    return np.max(np.abs(analytic.numpy().ravel() - numerical))


ones = np.ones(x_np.shape)
random_v = rng.standard_normal(x_np.shape)
vacuous = vjp_check(broken_softmax, x_np, ones)
real = vjp_check(broken_softmax, x_np, random_v)
print(f"upstream gradient = ones (the .sum() check): largest difference {vacuous:.1e}"
      " -> 'passes'")
print(f"upstream gradient = random                 : largest difference {real:.1e} -> fails")
print("sn.gradcheck of broken_softmax(x).sum():",
      sn.gradcheck(lambda x: broken_softmax(x).sum(), [x_np]), "(fooled, as expected)")

# %% [markdown]
# `sn.gradcheck` never reduces the output with a sum. For small problems it compares the
# **whole Jacobian**, one row per output element (upstream gradients $\bar y = e_k$). For
# larger ones it compares $v^\top J$ for a **random** $v$ (`max_full=0` forces this mode
# here). Either way the bug is caught, and the error message points at the worst element.

# %%
caught = []
for label, kwargs in [("full Jacobian", {}), ("random upstream gradient", {"max_full": 0})]:
    try:
        sn.gradcheck(broken_softmax, [x_np], **kwargs)
        print(f"{label}: not caught?!")
    except sn.GradcheckError as err:
        caught.append(label)
        print(f"{label}: caught ->\n    {err}")
print("and the real F.softmax passes:", sn.gradcheck(F.softmax, [x_np]))
SUMMARY["broken softmax: .sum() check / sn.gradcheck"] = (
    f"passes (diff {vacuous:.0e}) / caught by {len(caught)} of 2 modes")

# %% [markdown]
# Let us look at the two Jacobians of one row. Both have columns that sum to zero, which
# is exactly what the `.sum()` check measures ($\mathbf 1^\top J$). Apart from that they
# are different matrices.

# %%
def jacobian(fn, x_row):
    """Rows of J from one backward pass each, with one-hot upstream gradients."""
    rows = []
    for k in range(x_row.size):
        x = sn.Tensor(x_row, requires_grad=True)
        (row,) = sn.grad(fn(x), x, grad_outputs=np.eye(x_row.size)[k])
        rows.append(row.numpy())
    return np.stack(rows)


J_true = jacobian(F.softmax, x_np[0])
J_broken = jacobian(broken_softmax, x_np[0])
print("column sums (1^T J), true  :", np.round(J_true.sum(axis=0), 12) + 0.0)
print("column sums (1^T J), broken:", np.round(J_broken.sum(axis=0), 12) + 0.0)
print(f"largest entry of J_true - J_broken: {np.max(np.abs(J_true - J_broken)):.3f}")

fig, axes = plt.subplots(1, 2, figsize=(9.5, 4.2), layout="constrained")
for ax, J, title in [(axes[0], J_true, r"true: $y_i(\delta_{ij} - y_j)$"),
                     (axes[1], J_broken, r"broken backward: $\delta_{ij} - y_i$")]:
    # Each panel on its own scale, symmetric about 0 so that white is 0, red positive and
    # blue negative in both: one shared scale would be set by the larger broken entries
    # and would leave the true Jacobian almost white.
    limit = np.max(np.abs(J))
    image = ax.imshow(J, cmap="RdBu_r", vmin=-limit, vmax=limit)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("input j (logit index)")
    ax.set_ylabel("output i (probability index)")
    ax.set_xticks(range(J.shape[1]))
    ax.set_yticks(range(J.shape[0]))
    fig.colorbar(image, ax=ax, shrink=0.85,
                 label=r"$\partial y_i / \partial x_j$ (probability per unit logit)")
fig.suptitle("Softmax Jacobians of one row: both have a positive diagonal and columns that "
             "sum to 0,\nbut the entries differ (note the two colour scales)", fontsize=10)
jacobian_figure = FIGURES / "softmax_jacobians.png"
viz.save_figure(fig, jacobian_figure, dpi=120)
print(f"saved {jacobian_figure}")

# %% [markdown]
# ## Summary
#
# * Reverse mode pushes adjoints $\bar u = \partial\mathcal L/\partial u$ from the loss back
#   to the inputs, one vector-Jacobian product per node. A value used twice adds up the
#   gradients from both uses. One backward pass gives the whole gradient of a scalar loss.
# * Hand derivation, finite differences and the engine agree; the key numbers below say
#   how closely.
# * Backward passes are themselves differentiable (`create_graph=True`), so second
#   derivatives come for free. Newton's method then doubles the correct digits each step,
#   while gradient descent gains a fixed fraction of a digit per step.
# * A gradient check must use upstream gradients other than all ones. `.sum()` makes a
#   softmax check vacuous. `sn.gradcheck` uses one-hot or random ones and catches the bug.

# %%
SUMMARY.show(QUICK)

# %% [markdown]
# ## Exercises
#
# `exercises/00_autodiff.py` holds three exercises: a `Softsign` Function with its
# backward, checked to second order; `central_difference`, the gradient by finite
# differences; and `newton_step`, one Newton step with both derivatives from `sn.grad`.
# Fill them in and run `scratchnet check 00` (`--file my_copy.py` grades another file).
# Each failure says which number is wrong, what was expected, and gives a hint.
# Reference solutions are in `exercises/solutions/`.
