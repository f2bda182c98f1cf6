#!/usr/bin/env python
"""Convolution benchmark: scratchnet's conv2d, conv_transpose2d and max_pool2d against PyTorch CPU.

The workloads are the layers of the course's convolutional autoencoder on MNIST padded to
32×32, batch 128, float32, no bias (the bias is a broadcast add, timed elsewhere):

- ``conv2d.1-16.32x32``: (128, 1, 32, 32) -> (128, 16, 32, 32), 3×3 kernels;
- ``conv2d.16-8.16x16``: (128, 16, 16, 16) -> (128, 8, 16, 16);
- ``conv2d.8-8.8x8``: (128, 8, 8, 8) -> (128, 8, 8, 8);
  scratchnet ``conv2d(x, w, padding="same")``, PyTorch ``conv2d(x, w, padding=1)``;
- ``max_pool2d.16x32x32``, ``max_pool2d.8x16x16``, ``max_pool2d.8x8x8``: 2×2 windows,
  stride 2, on (128, 16, 32, 32), (128, 8, 16, 16) and (128, 8, 8, 8);
- ``conv_transpose2d.8-8.4x4``: (128, 8, 4, 4) -> (128, 8, 8, 8), 3×3, stride 2;
- ``conv_transpose2d.8-16.8x8``: (128, 8, 8, 8) -> (128, 16, 16, 16);
- ``conv_transpose2d.16-1.16x16``: (128, 16, 16, 16) -> (128, 1, 32, 32);
  scratchnet ``conv_transpose2d(x, w, stride=2, padding="same")``, PyTorch
  ``conv_transpose2d(x, w, stride=2, padding=1, output_padding=1)``.

Each run is a forward pass and a backward pass from a fixed random upstream gradient
(``y.backward(g)``), which computes the gradients with respect to the input and the
weight (the input only, for pooling). Timed phases: ``forward`` (including the graph
recording), ``backward``, and ``fwd+bwd`` (both; the row that carries the target).

Before timing, every workload is run once in both frameworks from the same arrays and the
outputs and gradients are compared (printed and stored as ``checks``). A note on
``padding="same"`` for the stride-2 transposed convolution: scratchnet follows Keras, whose
"same" puts the odd row/column of padding at the bottom/right of the *forward* conv, so the
transposed conv crops it there; PyTorch's ``padding=1, output_padding=1`` (the usual way to
get the same output size) crops one row at the top instead — the output is shifted by a
pixel. Both do the same work, so that is what is timed; the checks compare scratchnet's
"same" with PyTorch's ``padding=0`` output cropped at the bottom/right (Keras' "same"), and
PyTorch's ``padding=1, output_padding=1`` with scratchnet's ``padding=((1, 0), (1, 0))``.

Usage (from the repository root)::

    python benchmarks/bench_conv.py                  # ~45 s on 2 cores
    python benchmarks/bench_conv.py --quick          # a few seconds, smoke test
    python benchmarks/bench_conv.py --threads 1 --json benchmarks/results/conv.json
    python benchmarks/bench_conv.py --no-torch       # scratchnet only

The options, the timing method (after warm-up, one run of each framework in turn; each
ratio the median of the per-pair ratios; medians and interquartile ranges), the load
measurement (a busy machine marks the run NOISY), the machine description and the JSON
layout (schema 2) are those of ``bench_autograd.py``: both take them from ``harness.py``.
Workload names are those above with a phase suffix (``.forward``, ``.backward``,
``.fwd+bwd``), unit ``ms``, plus a ``geomean`` row: the geometric mean of the nine
``.fwd+bwd`` ratios (unit ``ratio``; ``scratchnet`` and ``pytorch`` are null).

Targets, at any thread count: every ``.fwd+bwd`` ratio (scratchnet / PyTorch) at most 2.
The geometric mean has no target of its own (it is under 2 when every ratio is), but the
suite's summary shows it (``"headline": true``), as the one number to compare between
versions of the code. Missing a target is reported, not an error: the exit status is 0.
"""

from __future__ import annotations

import gc
import math
import sys
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from harness import (  # benchmarks/harness.py: this folder is first on sys.path
    LoadMonitor,
    Plan,
    configure_threads,
    import_scratchnet,
    import_torch,
    machine_info,
    markdown_table,
    parse_args,
    pin_allocator,
    print_checks_and_json,
    print_header,
    run_interleaved,
    workload_row,
)

BATCH = 128
OP_TARGET = 2.0  # no single op's fwd+bwd above 2x PyTorch's
CHECK_TOL = 1e-4  # largest difference, relative to the largest value (float32)

FULL = Plan(warmup=3, repeats=60, budget_s=6.0)
QUICK = Plan(warmup=1, repeats=3, budget_s=0.6)


class Workload(NamedTuple):
    name: str
    op: str  # "conv2d" | "conv_transpose2d" | "max_pool2d"
    x_shape: tuple[int, int, int, int]
    w_shape: tuple[int, int, int, int] | None  # None for pooling


WORKLOADS = (
    Workload("conv2d.1-16.32x32", "conv2d", (BATCH, 1, 32, 32), (16, 1, 3, 3)),
    Workload("conv2d.16-8.16x16", "conv2d", (BATCH, 16, 16, 16), (8, 16, 3, 3)),
    Workload("conv2d.8-8.8x8", "conv2d", (BATCH, 8, 8, 8), (8, 8, 3, 3)),
    Workload("max_pool2d.16x32x32", "max_pool2d", (BATCH, 16, 32, 32), None),
    Workload("max_pool2d.8x16x16", "max_pool2d", (BATCH, 8, 16, 16), None),
    Workload("max_pool2d.8x8x8", "max_pool2d", (BATCH, 8, 8, 8), None),
    # conv_transpose2d weights are (C_in, C_out, kh, kw) in both frameworks.
    Workload("conv_transpose2d.8-8.4x4", "conv_transpose2d", (BATCH, 8, 4, 4), (8, 8, 3, 3)),
    Workload("conv_transpose2d.8-16.8x8", "conv_transpose2d", (BATCH, 8, 8, 8), (8, 16, 3, 3)),
    Workload("conv_transpose2d.16-1.16x16", "conv_transpose2d", (BATCH, 16, 16, 16),
             (16, 1, 3, 3)),
)


# --------------------------------------------------------------------------------------
# The ops, called the same way in both frameworks
# --------------------------------------------------------------------------------------
def scratchnet_op(op: str) -> Callable[..., Any]:
    import scratchnet.functional as F

    return {
        "conv2d": lambda x, w: F.conv2d(x, w, padding="same"),
        "conv_transpose2d": lambda x, w: F.conv_transpose2d(x, w, stride=2, padding="same"),
        "max_pool2d": lambda x, w: F.max_pool2d(x, 2),
    }[op]


def torch_op(op: str) -> Callable[..., Any]:
    import torch.nn.functional as TF

    return {
        "conv2d": lambda x, w: TF.conv2d(x, w, padding=1),
        "conv_transpose2d": lambda x, w: TF.conv_transpose2d(x, w, stride=2, padding=1,
                                                              output_padding=1),
        "max_pool2d": lambda x, w: TF.max_pool2d(x, 2),
    }[op]


def make_arrays(np: Any, work: Workload, seed: int) -> tuple[Any, Any, Any]:
    """Input, weight (or None) and upstream gradient, float32, from a seeded generator."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(work.x_shape, dtype=np.float32)
    w = None
    if work.w_shape is not None:
        fan_in = math.prod(work.w_shape[1:]) if work.op == "conv2d" else (
            work.w_shape[0] * work.w_shape[2] * work.w_shape[3])
        w = (rng.standard_normal(work.w_shape, dtype=np.float32)
             * np.float32((2.0 / fan_in) ** 0.5))
    n, c, h, wd = work.x_shape
    if work.op == "conv2d":
        out_shape = (n, work.w_shape[0], h, wd)
    elif work.op == "conv_transpose2d":
        out_shape = (n, work.w_shape[1], 2 * h, 2 * wd)
    else:
        out_shape = (n, c, h // 2, wd // 2)
    gy = rng.standard_normal(out_shape, dtype=np.float32)
    return x, w, gy


def scratchnet_runner(sn: Any, work: Workload, arrays: tuple[Any, Any, Any]
                      ) -> Callable[[], dict[str, float]]:
    op = scratchnet_op(work.op)
    x = sn.Tensor(arrays[0], requires_grad=True)
    w = None if arrays[1] is None else sn.Tensor(arrays[1], requires_grad=True)
    gy = arrays[2]
    return _runner(op, x, w, gy)


def torch_runner(torch: Any, work: Workload, arrays: tuple[Any, Any, Any]
                 ) -> Callable[[], dict[str, float]]:
    op = torch_op(work.op)
    x = torch.tensor(arrays[0], requires_grad=True)
    w = None if arrays[1] is None else torch.tensor(arrays[1], requires_grad=True)
    gy = torch.from_numpy(arrays[2].copy())
    return _runner(op, x, w, gy)


def _runner(op: Callable[..., Any], x: Any, w: Any, gy: Any) -> Callable[[], dict[str, float]]:
    """One forward and one backward, timed by phase; the same code for both frameworks."""

    def run() -> dict[str, float]:
        start = time.perf_counter()
        y = op(x, w)
        forwarded = time.perf_counter()
        y.backward(gy)
        done = time.perf_counter()
        x.grad = None
        if w is not None:
            w.grad = None
        del y  # free the graph outside the timed region
        return {"forward": forwarded - start, "backward": done - forwarded,
                "fwd+bwd": done - start}

    return run


# --------------------------------------------------------------------------------------
# Checks: the two frameworks must compute the same thing, or the timings mean nothing.
# --------------------------------------------------------------------------------------
def _relative_error(np: Any, ours: Any, theirs: Any) -> float:
    if ours.shape != theirs.shape:
        return math.inf
    return float(np.abs(ours - theirs).max()) / (float(np.abs(theirs).max()) + 1e-30)


def _forward_backward(op: Callable[..., Any], x: Any, w: Any, gy: Any) -> list[Any]:
    y = op(x, w)
    y.backward(gy)
    return [y, x.grad] + ([] if w is None else [w.grad])


def check_workload(np: Any, sn: Any, torch: Any, work: Workload,
                   arrays: tuple[Any, Any, Any]) -> list[dict[str, Any]]:
    """Output and gradients from the same arrays: scratchnet against PyTorch."""
    import scratchnet.functional as F

    x0, w0, gy0 = arrays
    names = ["output", "grad_input"] + ([] if w0 is None else ["grad_weight"])

    def ours(op: Callable[..., Any]) -> list[Any]:
        x = sn.Tensor(x0, requires_grad=True)
        w = None if w0 is None else sn.Tensor(w0, requires_grad=True)
        return [t.data for t in _forward_backward(op, x, w, gy0)]

    ours_same = ours(scratchnet_op(work.op))
    finite = all(bool(np.isfinite(a).all()) for a in ours_same)
    expected_shape = gy0.shape
    checks = [{"name": f"{work.name}.scratchnet_finite", "ok": finite
               and ours_same[0].shape == expected_shape and ours_same[1].shape == x0.shape,
               "detail": f"output {ours_same[0].shape}, expected {expected_shape}"}]
    if torch is None:
        return checks
    import torch.nn.functional as TF

    def theirs(op: Callable[..., Any], crop: int = 0) -> list[Any]:
        x = torch.tensor(x0, requires_grad=True)
        w = None if w0 is None else torch.tensor(w0, requires_grad=True)
        gy = torch.from_numpy(gy0.copy())
        if crop:  # drop the last row and column: Keras' "same" from PyTorch's padding=0
            def cropped(x, w):
                y = op(x, w)
                return y[:, :, :y.shape[2] - crop, :y.shape[3] - crop]

            return [t.detach().numpy() for t in _forward_backward(cropped, x, w, gy)]
        return [t.detach().numpy() for t in _forward_backward(op, x, w, gy)]

    pairs = []  # (check name, scratchnet arrays, PyTorch arrays, what was compared)
    if work.op == "conv_transpose2d":
        keras_same = theirs(lambda x, w: TF.conv_transpose2d(x, w, stride=2), crop=1)
        pairs.append(("matches_pytorch", ours_same, keras_same,
                      'padding="same" vs PyTorch padding=0 cropped at the bottom/right'))
        shifted = ours(lambda x, w: F.conv_transpose2d(x, w, stride=2,
                                                       padding=((1, 0), (1, 0))))
        pairs.append(("timed_pytorch_call", shifted, theirs(torch_op(work.op)),
                      "padding=((1, 0), (1, 0)) vs PyTorch padding=1, output_padding=1"))
    else:
        pairs.append(("matches_pytorch", ours_same, theirs(torch_op(work.op)),
                      "same call in both"))
    for suffix, a, b, what in pairs:
        errors = {name: _relative_error(np, u, v) for name, u, v in zip(names, a, b)}
        worst = max(errors.values())
        detail = ", ".join(f"{k} {v:.1e}" for k, v in errors.items())
        checks.append({"name": f"{work.name}.{suffix}", "ok": worst <= CHECK_TOL,
                       "detail": f"{what}: largest difference / largest value: {detail}"})
    return checks


# --------------------------------------------------------------------------------------
def geomean_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The geometric mean of the rows' ratios: informative, but in the suite's summary."""
    ratios = [row["ratio"] for row in rows]
    value = None
    if ratios and all(r is not None and r > 0 for r in ratios):
        value = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
    return {"name": "geomean", "unit": "ratio", "scratchnet": None, "pytorch": None,
            "ratio": value, "ratio_spread": None, "target": None, "meets_target": None,
            "headline": True, "spread": {"scratchnet": None, "pytorch": None},
            "repeats": {"scratchnet": None, "pytorch": None}}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv, "Time scratchnet's conv2d, conv_transpose2d and max_pool2d "
                            "(forward + backward, the conv autoencoder's shapes, batch 128) "
                            "against PyTorch CPU.")
    threads = configure_threads(args.threads)
    allocator = pin_allocator()

    import numpy as np  # after configure_threads, so the BLAS thread count applies

    sn = import_scratchnet()
    torch = import_torch(threads, args.no_torch)
    plan = QUICK if args.quick else FULL
    gc.collect()
    gc.freeze()  # keeps run_interleaved's collections short (see bench_autograd.main)
    monitor = LoadMonitor("bench_conv")
    began = time.perf_counter()

    # All checks first: besides their purpose, they leave the memory allocator in the same
    # state for every timed workload (glibc raises its mmap threshold after freeing a large
    # block, which decides whether big temporaries cost fresh page faults on every run).
    arrays_of = {work.name: make_arrays(np, work, seed) for seed, work in enumerate(WORKLOADS)}
    checks: list[dict[str, Any]] = []
    for work in WORKLOADS:
        checks += check_workload(np, sn, torch, work, arrays_of[work.name])
    monitor.mark("checks")
    times: dict[str, dict[str, dict[str, list[float]]]] = {}
    for work in WORKLOADS:
        arrays = arrays_of[work.name]
        runners = {"scratchnet": scratchnet_runner(sn, work, arrays)}
        if torch is not None:
            runners["pytorch"] = torch_runner(torch, work, arrays)
        times[work.name] = run_interleaved(runners, plan, threads)
        monitor.mark(work.name)
    noise = monitor.finish()

    def row(work: Workload, phase: str) -> dict[str, Any]:
        samples = {fw: by_phase[phase] for fw, by_phase in times[work.name].items()}
        return workload_row(f"{work.name}.{phase}", "ms", 1e3, samples,
                            OP_TARGET if phase == "fwd+bwd" else None)

    main_rows = [row(work, "fwd+bwd") for work in WORKLOADS]
    main_rows.append(geomean_row(main_rows))
    phase_rows = [row(work, phase) for work in WORKLOADS for phase in ("forward", "backward")]

    result = {
        "schema": 2,
        "machine": {**machine_info(np, sn, torch), "allocator": allocator,
                    **monitor.machine_fields(noise)},
        "threads": threads,
        "quick": args.quick,
        "noisy": noise["noisy"],
        "noise": noise,
        "settings": {"batch": BATCH, "dtype": "float32", "bias": False,
                     "workloads": [{"name": w.name, "op": w.op, "input": list(w.x_shape),
                                    "weight": None if w.w_shape is None else list(w.w_shape)}
                                   for w in WORKLOADS],
                     "targets": {"per_op_fwd+bwd": OP_TARGET, "geomean": None},
                     "plan": plan._asdict()},
        "checks": checks,
        "workloads": main_rows + phase_rows,
        "elapsed_s": round(time.perf_counter() - began, 2),
    }

    print_header("convolution benchmark", result["machine"], threads, args, noise)
    print()
    print(markdown_table(main_rows))
    print()
    print(markdown_table(phase_rows))
    print()
    print(f"batch {BATCH}, float32, 3×3 kernels, no bias; fwd+bwd = forward + backward from a "
          "fixed upstream gradient (gradients w.r.t. input and weight).")
    print(f"ratio = scratchnet / PyTorch (lower is better); targets: each fwd+bwd "
          f"≤ {OP_TARGET:g}× PyTorch; their geometric mean is informative.")
    print_checks_and_json(checks, result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
