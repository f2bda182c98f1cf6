"""Graph drawing: viz.draw_graph (matplotlib) and autograd.to_dot (Graphviz text).

The DOT text is parsed back into nodes and edges, and the matplotlib figure is read back
through its text artists, so the checks are on what was drawn, not on pixels.
"""

from __future__ import annotations

import re

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

import scratchnet as sn
import scratchnet.functional as F
from scratchnet import viz
from scratchnet.autograd import to_dot

NODE = re.compile(r'^\s*(n\d+) \[label="((?:[^"\\]|\\.)*)", shape=(\w+)', re.MULTILINE)
EDGE = re.compile(r'^\s*(n\d+) -> (n\d+) \[label="((?:[^"\\]|\\.)*)"\]', re.MULTILINE)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def parse_dot(text: str) -> tuple[dict[str, tuple[str, str]], list[tuple[str, str, str]]]:
    """{name: (label, shape)} and [(producer, consumer, label)], labels unescaped."""
    def unescape(label: str) -> str:
        return label.replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")

    nodes = {name: (unescape(label), shape) for name, label, shape in NODE.findall(text)}
    edges = [(a, b, unescape(label)) for a, b, label in EDGE.findall(text)]
    return nodes, edges


def lesson_expression() -> tuple[sn.Tensor, sn.Tensor, sn.Tensor]:
    """Lesson 00's f(a, b) = tanh(a b) e^b + a, with named tensors."""
    a = sn.Tensor(np.float64(0.5), requires_grad=True, name="a")
    b = sn.Tensor(np.float64(1.5), requires_grad=True, name="b")
    f = F.tanh(a * b) * F.exp(b) + a
    f.name = "f"
    return a, b, f


def drawn_texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.axes[0].texts]


def test_dot_of_the_lesson_expression_has_its_nodes_edges_and_labels():
    _, _, f = lesson_expression()
    nodes, edges = parse_dot(to_dot(f))
    labels = sorted(label.split("\n")[0] for label, _ in nodes.values())
    # 5 operations (Mul, Tanh, Exp, Mul, Add), 2 leaves and the output itself.
    assert labels == ["Add", "Exp", "Mul", "Mul", "Tanh", "a", "b", "f"]
    assert sum(shape == "box" for _, shape in nodes.values()) == 5
    # c = a*b (2), d = tanh c (1), e = exp b (1), g = d*e (2), f = g + a (2), f -> output (1).
    assert len(edges) == 9
    name_of = {node: label.split("\n")[0] for node, (label, _) in nodes.items()}
    pairs = sorted((name_of[p], name_of[c]) for p, c, _ in edges)
    assert pairs == sorted([("a", "Mul"), ("b", "Mul"), ("Mul", "Tanh"), ("b", "Exp"),
                            ("Tanh", "Mul"), ("Exp", "Mul"), ("Mul", "Add"), ("a", "Add"),
                            ("Add", "f")])
    assert all(label == "()" for _, _, label in edges)  # every value here is a scalar
    assert nodes[next(n for n, v in name_of.items() if v == "a")][0] == "a\nshape ()"


def test_dot_labels_show_shapes_values_and_grads_of_small_tensors():
    w = sn.Tensor(np.array([[1.0, -2.0], [0.5, 3.0]]), requires_grad=True, name="w")
    x = sn.Tensor(np.ones((5, 2)), requires_grad=True)  # 10 elements: values not printed
    loss = (x @ w).sum()
    loss.backward()
    nodes, edges = parse_dot(to_dot(loss, show_values=True, show_grads=True))
    labels = [label for label, _ in nodes.values()]
    w_label = next(label for label in labels if label.startswith("w\n"))
    assert "shape (2, 2)" in w_label
    assert "value [[ 1. , -2. ]," in w_label and "grad [[5., 5.]," in w_label
    x_label = next(label for label in labels if label.startswith("leaf\n"))
    assert x_label == "leaf\nshape (5, 2)"
    out_label = next(label for label in labels if label.startswith("output\n"))
    assert out_label == f"output\nshape ()\nvalue {loss.item():.1f}\ngrad None"
    assert sorted(label for _, _, label in edges) == ["()", "(2, 2)", "(5, 2)", "(5, 2)"]


def test_an_edge_names_the_output_slot_of_a_multi_output_function():
    class Halves(sn.Function):
        def forward(self, x):
            return x[:2].copy(), x[2:].copy()

        def backward(self, g0, g1):
            return F.concatenate([g0, g1])

    x = sn.Tensor(np.arange(5.0), requires_grad=True, name="x")
    _, second = Halves()(x)
    _, edges = parse_dot(to_dot(second))
    assert sorted(label for _, _, label in edges) == ["(5,)", "out 1: (3,)"]


def test_the_same_input_twice_gives_two_edges():
    x = sn.Tensor(np.array([1.0, 2.0]), requires_grad=True, name="x")
    nodes, edges = parse_dot(to_dot(x * x))
    assert len(nodes) == 3 and len(edges) == 3
    fig = viz.draw_graph(x * x)
    assert len(fig.axes[0].patches) == 3  # three arrows, the repeated one bent


def test_constants_are_not_part_of_the_graph():
    x = sn.Tensor(np.array([1.0, 2.0]), requires_grad=True, name="x")
    y = 2.0 * x + sn.Tensor(np.array([3.0, 4.0]))  # neither constant needs a gradient
    nodes, edges = parse_dot(to_dot(y))
    assert sorted(label.split("\n")[0] for label, _ in nodes.values()) == [
        "Add", "Mul", "output", "x"]
    assert len(edges) == 3


def test_draw_graph_draws_every_node_and_saves_headless(tmp_path):
    _, _, f = lesson_expression()
    fig = viz.draw_graph(f, show_values=True)
    assert isinstance(fig, Figure)
    texts = drawn_texts(fig)
    for op in ("Mul", "Tanh", "Exp", "Add"):
        assert op in texts
    assert texts.count("Mul") == 2
    assert "a\nshape ()\nvalue 0.5" in texts and "b\nshape ()\nvalue 1.5" in texts
    assert f"f\nshape ()\nvalue {f.item():.4f}" in texts
    assert texts.count("()") == 9  # one shape label per edge
    assert "f was computed" in fig.axes[0].get_title()
    assert fig.axes[0].get_xlabel().startswith("operations still to apply")
    path = viz.save_figure(fig, tmp_path / "graph.png")
    assert matplotlib.get_backend().lower() == "agg"  # conftest/viz: headless
    with open(path, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"


def test_draw_graph_into_given_axes_and_grads():
    a, _b, f = lesson_expression()
    f.backward()
    fig, ax = plt.subplots()
    assert viz.draw_graph(f, show_grads=True, ax=ax) is fig
    assert f"a\nshape ()\ngrad {a.grad.item():.4f}" in [t.get_text() for t in ax.texts]


def test_the_graph_of_a_create_graph_gradient_draws():
    a, _b, f = lesson_expression()
    (da,) = sn.grad(f, a, create_graph=True)
    da.name = "df/da"
    nodes, _edges = parse_dot(to_dot(da))
    ops = sorted(label for label, shape in nodes.values() if shape == "box")
    # df/da = 1 + b e^b (1 - tanh²(ab)): the backward pass's own operations, reading the
    # forward pass's values (tanh(ab), e^b) and the leaves.
    assert ops.count("Tanh") == 1 and ops.count("Exp") == 1 and "Sub" in ops
    assert len(ops) > 5
    leaves = sorted(label.split("\n")[0] for label, shape in nodes.values()
                    if shape == "ellipse")
    assert leaves == ["a", "b", "df/da"]
    fig = viz.draw_graph(da, show_values=True)
    assert f"df/da\nshape ()\nvalue {da.item():.4f}" in drawn_texts(fig)
    assert sum(t in ops for t in drawn_texts(fig)) == len(ops)
    # and its gradient's graph, one order higher, draws as well
    (d2a,) = sn.grad(da, a, create_graph=True)
    assert len(parse_dot(to_dot(d2a))[0]) > len(nodes)
    viz.draw_graph(d2a)


def test_too_large_a_graph_raises_naming_the_count_and_the_limit():
    x = sn.Tensor(np.ones(3), requires_grad=True)
    y = x
    for _ in range(400):
        y = F.tanh(y)
    with pytest.raises(ValueError, match=r"draw_graph\(\): the graph has 402 nodes.*"
                                         r"max_nodes=300.*to_dot"):
        viz.draw_graph(y)
    assert len(parse_dot(to_dot(y))[0]) == 402  # no limit on the text export
    z = x
    for _ in range(5):
        z = F.tanh(z)
    with pytest.raises(ValueError, match="7 nodes"):
        viz.draw_graph(z, max_nodes=6)


def test_a_wide_graph_of_a_few_hundred_nodes_draws(tmp_path):
    xs = [sn.Tensor(np.ones(2), requires_grad=True, name=f"x{i}") for i in range(60)]
    total = xs[0]
    for x in xs[1:]:
        total = total + F.tanh(x) * x
    fig = viz.draw_graph(total)  # 60 leaves + 59 * 3 operations + the output = 238 nodes
    texts = drawn_texts(fig)
    assert texts.count("Tanh") == 59 and texts.count("Add") == 59
    viz.save_figure(fig, tmp_path / "wide.png")


def test_not_a_tensor_is_refused():
    with pytest.raises(TypeError, match=r"draw_graph\(\): expected a scratchnet Tensor, "
                                        r"got ndarray"):
        viz.draw_graph(np.ones(3))
    with pytest.raises(TypeError, match=r"to_dot\(\): expected a scratchnet Tensor, got list"):
        to_dot([1.0])


def test_a_tensor_without_a_graph_is_one_node_that_says_why():
    with sn.no_grad():
        y = F.tanh(sn.Tensor(np.ones(2), requires_grad=True))
    nodes, edges = parse_dot(to_dot(y))
    assert len(nodes) == 1 and edges == []
    (label, _), = nodes.values()
    assert "no graph: requires_grad=False" in label
    leaf = sn.Tensor(np.ones(2), requires_grad=True, name="w")
    fig = viz.draw_graph(leaf)
    assert drawn_texts(fig) == ["w\nshape (2,)\na leaf: no operation made it"]


def test_a_freed_leaf_is_drawn_with_the_shape_its_edge_kept():
    x = sn.Tensor(np.ones(3), requires_grad=True, name="x")
    y = x + sn.Tensor(np.ones((2, 3)), requires_grad=True)  # Add keeps neither input
    nodes, _ = parse_dot(to_dot(y))
    assert "leaf (freed)\nshape (2, 3)" in [label for label, _ in nodes.values()]
