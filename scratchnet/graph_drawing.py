"""Drawing the computation graph: :func:`draw_graph` (matplotlib only) and :func:`to_dot`.

Both read the graph that the engine recorded while ``tensor`` was computed, from its
``creator`` back to the leaves, and show it flowing left to right:

* **Function nodes** (blue boxes) show the operation's name: ``Mul``, ``Tanh``, ``MatMul``.
* **Leaf tensors** (green) are reached through their ``AccumulateGrad`` node. They show
  their name (``Tensor(..., name="w")``, else ``leaf``) and shape, and with
  ``show_values`` / ``show_grads`` their values and ``.grad`` when they have at most
  ``max_values`` elements.
* **The output** (orange) is ``tensor`` itself, labelled the same way (``output`` when it
  has no name).
* **Edges** go from the node that produced a tensor to the operation that consumed it,
  and are labelled with that tensor's shape. The engine keeps, for each input of an
  operation, its producer, shape and dtype, but not the intermediate tensor itself (that
  is what lets memory be freed during the forward pass), so intermediate values are not
  drawn: an edge says what flowed, a leaf or the output says what it was.

Inputs that need no gradient (a constant such as the ``2.0`` in ``2.0 * x``, or a tensor
without ``requires_grad``) are not part of the graph, so they are not drawn. A gradient
computed with ``create_graph=True`` has a graph of its own, made of the backward pass's
operations and the forward values they read; it draws like any other tensor::

    from scratchnet import viz
    fig = viz.draw_graph(loss, show_values=True)       # two lines, headless-safe
    (g,) = sn.grad(loss, x, create_graph=True)
    fig = viz.draw_graph(g)                            # the graph of the gradient

Layout: columns count the operations on the longest path from a node to the output, so
every edge points to the right and each node (a leaf too) sits one column before its
first consumer, next to where it is used. An edge that skips columns passes through
placeholder points in the columns between (the layered "Sugiyama" method), and a few
sweeps order each column by the mean height of its neighbours, which removes most
crossings. Beyond ``max_nodes`` (300 by default) a drawing is unreadable and
:func:`draw_graph` raises; :func:`to_dot` has no limit, since Graphviz lays out large
graphs well.

This module imports matplotlib only inside :func:`draw_graph`, because
:mod:`scratchnet.autograd` re-exports :func:`to_dot` and must stay light.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from scratchnet.autograd import AccumulateGrad, Function, Tensor, _graph_nodes
from scratchnet.backend import as_numpy

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["draw_graph", "to_dot"]

# Colours grouped by the role of a node: what the engine computes, what gets a .grad,
# and what you asked about.
_COLOURS = {"function": "#cfe2f3", "leaf": "#d9ead3", "output": "#fce5cd"}
_ROLE_NAMES = {"function": "operation (Function)", "leaf": "leaf tensor (gets .grad)",
               "output": "the tensor drawn"}


@dataclass
class _Node:
    """One drawn node: an operation, a leaf tensor or the output tensor."""

    kind: str  # "function", "leaf" or "output"
    label: str
    generation: int  # the engine's: 1 + the highest generation among the inputs
    depth: int = 0  # operations on the longest path from this node to the output


@dataclass
class _Graph:
    """What both drawings show: nodes and labelled edges ``(producer, consumer, label)``."""

    nodes: list[_Node] = field(default_factory=list)
    edges: list[tuple[int, int, str]] = field(default_factory=list)


def _shape_text(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def _tensor_label(t: Tensor, default_name: str, show_values: bool, show_grads: bool,
                  max_values: int) -> str:
    """Name, shape, and for small tensors the values and gradient, one per line."""
    lines = [t.name or default_name, f"shape {_shape_text(t.shape)}"]
    small = t.size <= max_values
    if show_values and small:
        lines.append("value " + _values_text(t.data))
    if show_grads and small:
        lines.append("grad " + ("None" if t.grad is None else _values_text(t.grad.data)))
    return "\n".join(lines)


def _values_text(data: Any) -> str:
    """A number with 5 significant digits, or a small array as NumPy prints it."""
    array = as_numpy(data)
    if array.ndim == 0:
        return f"{array.item():.5g}"
    return np.array2string(array, precision=4, separator=", ", max_line_width=40)


def _check_tensor(tensor: Any, caller: str) -> None:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{caller}: expected a scratchnet Tensor, got "
                        f"{type(tensor).__name__}; wrap arrays with sn.Tensor(...)")


def _describe(tensor: Tensor, show_values: bool, show_grads: bool, max_values: int) -> _Graph:
    """The nodes and edges to draw for ``tensor``'s graph."""
    graph = _Graph()
    if tensor.creator is None:
        # No operation made it: the graph is the tensor alone. Say why, since an empty
        # graph usually means no_grad() or a missing requires_grad=True upstream.
        why = ("a leaf: no operation made it" if tensor.requires_grad else
               "no graph: requires_grad=False\n(made under no_grad, or from\n"
               "tensors that need no gradient)")
        label = _tensor_label(tensor, "tensor", show_values, show_grads, max_values)
        graph.nodes.append(_Node("leaf", f"{label}\n{why}", 0))
        return graph
    engine_nodes = _graph_nodes([tensor])
    index = {id(node): i for i, node in enumerate(engine_nodes)}
    edge_shapes: dict[int, tuple[int, ...]] = {}
    for i, node in enumerate(engine_nodes):
        for edge in node.edges:
            if edge is None:
                continue
            producer, slot, shape, _ = edge
            edge_shapes[index[id(producer)]] = shape
            graph.edges.append((index[id(producer)], i, _edge_label(producer, slot, shape)))
    for i, node in enumerate(engine_nodes):
        if isinstance(node, Function):
            graph.nodes.append(_Node("function", type(node).__name__, node.generation))
            continue
        assert isinstance(node, AccumulateGrad)
        leaf = node.leaf()
        if leaf is None:  # nothing else holds the leaf any more; its edge knows the shape
            label = f"leaf (freed)\nshape {_shape_text(edge_shapes[i])}"
        else:
            label = _tensor_label(leaf, "leaf", show_values, show_grads, max_values)
        graph.nodes.append(_Node("leaf", label, 0))
    creator = tensor.creator
    graph.nodes.append(_Node("output", _tensor_label(tensor, "output", show_values, show_grads,
                                                     max_values), creator.generation + 1))
    graph.edges.append((index[id(creator)], len(graph.nodes) - 1,
                        _edge_label(creator, tensor._slot, tensor.shape)))
    # Every consumer has a higher generation than its producers, so walking generations
    # downwards finds each node's consumers' depths before the node's own.
    producers: dict[int, list[int]] = {}
    for producer, consumer, _ in graph.edges:
        producers.setdefault(consumer, []).append(producer)
    for i in sorted(range(len(graph.nodes)), key=lambda i: -graph.nodes[i].generation):
        for p in producers.get(i, ()):
            graph.nodes[p].depth = max(graph.nodes[p].depth, graph.nodes[i].depth + 1)
    return graph


def _edge_label(producer: Any, slot: int, shape: tuple[int, ...]) -> str:
    """The shape that flows along an edge, and which output it is when there are several."""
    text = _shape_text(shape)
    return f"out {slot}: {text}" if len(producer._output_specs) > 1 else text


# --------------------------------------------------------------------------------------
# Graphviz DOT
# --------------------------------------------------------------------------------------
def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(tensor: Tensor, show_values: bool = False, show_grads: bool = False,
           max_values: int = 6) -> str:
    """The graph that produced ``tensor``, as Graphviz DOT text (same nodes as draw_graph).

    Render it with Graphviz, e.g. ``dot -Tpng graph.dot -o graph.png``. Nodes are named
    ``n0, n1, ...``; operations are boxes, tensors ellipses (leaves green, the output
    orange); each edge ``producer -> consumer`` is labelled with the shape it carries.
    ``show_values`` / ``show_grads`` add the values and ``.grad`` of leaves and of the
    output when they have at most ``max_values`` elements. There is no size limit.
    """
    _check_tensor(tensor, "to_dot()")
    graph = _describe(tensor, show_values, show_grads, max_values)
    lines = ["digraph scratchnet {", "  rankdir=LR;", '  node [fontname="Helvetica"];',
             '  edge [fontname="Helvetica", fontsize=10];']
    for i, node in enumerate(graph.nodes):
        shape = "box" if node.kind == "function" else "ellipse"
        lines.append(f"  n{i} [label={_dot_quote(node.label)}, shape={shape}, style=filled, "
                     f'fillcolor="{_COLOURS[node.kind]}"];')
    for producer, consumer, label in graph.edges:
        lines.append(f"  n{producer} -> n{consumer} [label={_dot_quote(label)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------
# matplotlib drawing
# --------------------------------------------------------------------------------------
_FONT_PT = 9.0
_EDGE_FONT_PT = 7.0
_CHAR_IN = 0.62 * _FONT_PT / 72  # average width of a character, inches
_LINE_IN = 1.25 * _FONT_PT / 72  # height of a line of text, inches
_GAP_IN = 1.2  # room between columns for the arrows and their shape labels
_DUMMY_IN = 0.3  # height taken by a long edge passing through a column


def _barycentre(slot: tuple[str, int], neighbours: dict[tuple[str, int], list[Any]],
                rank: dict[tuple[str, int], int]) -> float:
    """The mean rank of a slot's neighbours in the column beside it (its own if none)."""
    near = neighbours.get(slot)
    return sum(rank[s] for s in near) / len(near) if near else rank[slot]


def _layout(graph: _Graph) -> tuple[dict[int, tuple[float, float]],
                                    list[list[tuple[float, float]]], float, float,
                                    list[int]]:
    """Positions (inches) of the nodes, the route of every edge, the drawing's size.

    Returns ``(position of each node, points of each edge, width, height, the number of
    columns)``. A node's column is its depth counted from the right: the output is last,
    and each node sits one column before its earliest consumer.
    """
    n_columns = max(n.depth for n in graph.nodes) + 1
    # Slots: real nodes and, for edges that skip columns, one placeholder per column crossed.
    columns: list[list[tuple[str, int]]] = [[] for _ in range(n_columns)]
    for i, node in enumerate(graph.nodes):
        columns[n_columns - 1 - node.depth].append(("node", i))
    routes: list[list[tuple[str, int]]] = []
    n_dummies = 0
    for producer, consumer, _ in graph.edges:
        c0 = n_columns - 1 - graph.nodes[producer].depth
        c1 = n_columns - 1 - graph.nodes[consumer].depth
        route = [("node", producer)]
        for c in range(c0 + 1, c1):
            columns[c].append(("dummy", n_dummies))
            route.append(("dummy", n_dummies))
            n_dummies += 1
        routes.append([*route, ("node", consumer)])
    neighbours_left: dict[tuple[str, int], list[tuple[str, int]]] = {}
    neighbours_right: dict[tuple[str, int], list[tuple[str, int]]] = {}
    for route in routes:
        for left, right in itertools.pairwise(route):
            neighbours_right.setdefault(left, []).append(right)
            neighbours_left.setdefault(right, []).append(left)
    # Barycentre sweeps: sort each column by the mean rank of its neighbours, alternately
    # looking left and right, which untangles most crossings in a few passes.
    rank = {slot: r for column in columns for r, slot in enumerate(column)}
    for sweep in range(8):
        order = range(1, n_columns) if sweep % 2 == 0 else range(n_columns - 2, -1, -1)
        neighbours = neighbours_left if sweep % 2 == 0 else neighbours_right
        for c in order:
            columns[c].sort(key=lambda slot, near=neighbours: _barycentre(slot, near, rank))
            for r, slot in enumerate(columns[c]):
                rank[slot] = r
    # Sizes in inches, from the longest line and the number of lines of each label.
    widest = max(max(len(line) for line in n.label.split("\n")) for n in graph.nodes)
    column_width = widest * _CHAR_IN + 0.3 + _GAP_IN
    tallest = max(n.label.count("\n") + 1 for n in graph.nodes)
    node_height = tallest * _LINE_IN + 0.35

    def slot_height(slot: tuple[str, int]) -> float:
        return node_height if slot[0] == "node" else _DUMMY_IN

    height = max(sum(slot_height(s) for s in column) for column in columns)
    where: dict[tuple[str, int], tuple[float, float]] = {}
    for c, column in enumerate(columns):
        top = (height + sum(slot_height(s) for s in column)) / 2  # centre each column
        for slot in column:
            where[slot] = (c * column_width, top - slot_height(slot) / 2)
            top -= slot_height(slot)
    positions = {i: where[("node", i)] for i in range(len(graph.nodes))}
    points = [[where[slot] for slot in route] for route in routes]
    return positions, points, n_columns * column_width, height, n_columns


def draw_graph(tensor: Tensor, show_values: bool = False, show_grads: bool = False,
               ax: Axes | None = None, *, max_nodes: int = 300, max_values: int = 6,
               title: str | None = None) -> Figure:
    """Draw the graph that produced ``tensor`` with matplotlib, inputs left, output right.

    Args:
        tensor: any Tensor; one that no operation made (a leaf, or a result computed under
            ``no_grad``) is drawn as a single node that says so.
        show_values: print the values of the leaves and of ``tensor`` on their nodes, for
            those with at most ``max_values`` elements.
        show_grads: print their ``.grad`` too (``None`` before a backward pass).
        ax: draw into these axes instead of a new figure sized to the graph.
        max_nodes: refuse graphs with more drawn nodes than this (operations, leaves and
            the output), which would be unreadable; use :func:`to_dot` for those.
        max_values: the largest number of elements whose values are printed.
        title: the figure's title; by default it says what the drawing shows.

    Returns:
        The figure. Its x axis counts, for each column, the operations on the longest
        path from there to the output (0 for the output itself).

    Raises:
        TypeError: ``tensor`` is not a Tensor.
        ValueError: the graph has more than ``max_nodes`` nodes.
    """
    _check_tensor(tensor, "draw_graph()")
    graph = _describe(tensor, show_values, show_grads, max_values)
    if len(graph.nodes) > max_nodes:
        raise ValueError(
            f"draw_graph(): the graph has {len(graph.nodes)} nodes (operations, leaves and "
            f"the output), more than max_nodes={max_nodes}, too many to read in one drawing. "
            "Draw a smaller part of the computation, raise max_nodes, or export the graph "
            "with scratchnet.autograd.to_dot(tensor) and lay it out with Graphviz")
    # Imported here: autograd re-exports to_dot from this module, and importing viz picks
    # the headless backend before pyplot makes a figure.
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyArrowPatch, Patch

    from scratchnet.viz import _figure_and_axes

    positions, routes, width, height, n_columns = _layout(graph)
    fig, ax = _figure_and_axes(ax, (max(width + 0.4, 5.0), max(height + 1.2, 2.5)))
    boxes = []
    for i, node in enumerate(graph.nodes):
        x, y = positions[i]
        style = "square,pad=0.4" if node.kind == "function" else "round,pad=0.4"
        text = ax.text(x, y, node.label, ha="center", va="center", fontsize=_FONT_PT,
                       zorder=3, bbox={"boxstyle": style, "facecolor": _COLOURS[node.kind],
                                       "edgecolor": "0.35"})
        boxes.append(text.get_bbox_patch())
    # Arrows are drawn after the boxes (higher zorder), so each box has its final place
    # when an arrow is clipped to it.
    seen_pairs: dict[tuple[int, int], int] = {}
    for (producer, consumer, label), points in zip(graph.edges, routes):
        repeat = seen_pairs.get((producer, consumer), 0)  # x * x: two edges, two arcs
        seen_pairs[(producer, consumer)] = repeat + 1
        bend = f"arc3,rad={0.25 * repeat * (-1) ** repeat}"
        common = {"color": "0.3", "linewidth": 1.0, "zorder": 4}
        if len(points) == 2:
            ax.add_patch(FancyArrowPatch(points[0], points[1], arrowstyle="-|>",
                                         mutation_scale=12, patchA=boxes[producer],
                                         patchB=boxes[consumer], connectionstyle=bend,
                                         **common))
        else:  # a long edge: out of the box, through the placeholders, into the consumer
            ax.add_patch(FancyArrowPatch(points[0], points[1], arrowstyle="-",
                                         patchA=boxes[producer], shrinkB=0, **common))
            xs, ys = zip(*points[1:-1])
            ax.add_line(Line2D(xs, ys, **common))
            ax.add_patch(FancyArrowPatch(points[-2], points[-1], arrowstyle="-|>",
                                         mutation_scale=12, patchB=boxes[consumer], shrinkA=0,
                                         connectionstyle=bend, **common))
        # The label sits on the last stretch, in the gap before the consumer's column.
        (x0, y0), (x1, y1) = points[-2], points[-1]
        ax.text((x0 + x1) / 2 + 0.15 * (x1 - x0), (y0 + y1) / 2 + 0.15 * (y1 - y0), label,
                ha="center", va="center", fontsize=_EDGE_FONT_PT, color="0.25", zorder=5,
                bbox={"boxstyle": "round,pad=0.1", "facecolor": "white",
                      "edgecolor": "none", "alpha": 0.85})
    column_width = width / n_columns
    ax.set_xlim(-column_width / 2, width - column_width / 2)
    ax.set_ylim(-0.1, height + 0.1)
    ax.set_xticks([c * column_width for c in range(n_columns)],
                  [str(n_columns - 1 - c) for c in range(n_columns)])
    ax.set_xlabel("operations still to apply (longest path to the output)")
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    kinds = sorted({n.kind for n in graph.nodes}, key=list(_COLOURS).index)
    ax.legend(handles=[Patch(facecolor=_COLOURS[k], edgecolor="0.35", label=_ROLE_NAMES[k])
                       for k in kinds], loc="lower center", bbox_to_anchor=(0.5, 1.0),
              ncol=len(kinds), fontsize=8, frameon=False)
    if title is None:
        n_functions = sum(n.kind == "function" for n in graph.nodes)
        n_leaves = sum(n.kind == "leaf" for n in graph.nodes) if n_functions else 0
        title = (f"How {tensor.name or 'the tensor'} was computed: {n_functions} operations "
                 f"on {n_leaves} leaves; follow the arrows from the leaves to the output")
    ax.set_title(title, fontsize=10, pad=22)  # room for the legend
    return fig
