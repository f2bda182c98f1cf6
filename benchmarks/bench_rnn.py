#!/usr/bin/env python
"""Recurrent benchmark: a training step of the character-level LSTM and GRU, scratchnet
against PyTorch CPU.

Each workload is one training step of the lesson's character model, float32, run side by
side in one process with the same initial weights (scratchnet's, copied into PyTorch) and
the same batches of real text::

    ids (N, T) -> Embedding(V, E) -> LSTM or GRU (E -> H, one layer, batch-first)
               -> Dense(H, V) -> logits (N, T, V)

One step is: gradients reset, logits from a zero state, cross-entropy averaged over the
N·T characters, backward (through all T steps), gradient clipping at a total norm of 5,
Adam (lr 2e-3) update. It is written out in both libraries rather than taken from
``CharRNN.loss``, whose training mode carries a detached state between batches: here both
start every batch from zeros, so both do exactly the same work.

The sizes are lesson 15's: N = 16 streams of T = 64 characters, H = 384, E = 32. The
lesson also uses dropout (0.35), which both libraries leave out here.

1. ``lstm_step``: ``models.CharRNN(V, H, cell="lstm", embedding_dim=E)``; PyTorch:
   ``nn.Embedding``, ``nn.LSTM(E, H, batch_first=True)``, ``nn.Linear(H, V)``,
   ``nn.utils.clip_grad_norm_``, ``optim.Adam``.
2. ``gru_step``: the same with ``cell="gru"`` and ``nn.GRU``.

The batches are those of the lesson: the Sonnets (``datasets.load_text("sonnets")``)
encoded by a ``CharVocab`` (V = its size) and cut by ``TextLoader(ids, N, T)``; step k
takes batch k (cycling), in both libraries. scratchnet stores each weight matrix as
(in, out), PyTorch as (out, in), with the same gate order (LSTM: i, f, g, o; GRU: r, z,
n), so the copy is ``weight_ih_l0 = W_ih.T`` and so on.

Before timing, a float64 check on a small case (N, T, H, E = 3, 5, 6, 4, the Sonnets'
vocabulary) for each cell: the logits, the loss and the gradient of every parameter
(embedding, W_ih, W_hh, b_ih, b_hh, the head's weight and bias) agree with PyTorch to
1e-10 of the largest value of their array, and so do the parameters after one whole timed
step (clipping and Adam included). A failed check makes the exit status 1, after the
report is printed.

Usage (from the repository root)::

    python benchmarks/bench_rnn.py --threads 1       # ~30 s on 2 cores, at most ~1 min
    python benchmarks/bench_rnn.py --quick           # a few seconds: a smoke test
    python benchmarks/bench_rnn.py --threads 1 --json benchmarks/results/rnn.json
    python benchmarks/bench_rnn.py --no-torch        # scratchnet only

Options, timing method (warm-up, then one run of each library in turn, stopping early once
a time budget is used; each ratio the median of the per-pair ratios), load measurement
(NOISY) and machine description are ``bench_autograd.py``'s, from ``harness.py``; the JSON
layout is theirs (schema 2), its ``workloads`` rows from ``harness.workload_row``::

    {"name": "lstm_step", "unit": "ms/step", "scratchnet": float, "pytorch": float | null,
     "ratio": float | null, "ratio_spread": {"q1", "q3", "min", "max"} | null,
     "target": 2.0, "meets_target": bool | null, "headline": true,
     "spread": {...}, "repeats": {...}}

Targets (issue 17): each step at most 2× PyTorch's time at one thread (``--threads 1``);
at more threads the rows are reported without a target (``target`` null, still headlines),
as bench_models.py does for its convolutional steps. A missed target is reported, not an
error.
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable
from typing import Any

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

# ---- Sizes: the lesson's recipe (V is the Sonnets' vocabulary size) -------------------
BATCH, SEQ_LEN, HIDDEN, EMBED = 16, 64, 384, 32  # N, T, H, E: lesson 15's recipe
QUICK_SIZES = {"batch": 4, "seq_len": 8, "hidden": 16, "embed": 8}  # --quick
CHECK_SIZES = {"batch": 3, "seq_len": 5, "hidden": 6, "embed": 4}  # the float64 check
LR, CLIP_NORM = 2e-3, 5.0
TEXT = "sonnets"
SEED = 0
# ---------------------------------------------------------------------------------------

CELLS = ("lstm", "gru")
TARGET = 2.0  # at most 2x PyTorch's step time, at one thread
CHECK_TOL = 1e-10  # float64: largest difference, relative to the array's largest value

FULL = Plan(warmup=3, repeats=50, budget_s=12.0)
QUICK = Plan(warmup=1, repeats=3, budget_s=0.2)


def targets_for(threads: int) -> dict[str, float | None]:
    """Each row's target at this thread count (see the module's docstring)."""
    return {f"{cell}_step": TARGET if threads == 1 else None for cell in CELLS}


def sizes_for(quick: bool) -> dict[str, int]:
    """N, T, H, E of the timed steps."""
    if quick:
        return dict(QUICK_SIZES)
    return {"batch": BATCH, "seq_len": SEQ_LEN, "hidden": HIDDEN, "embed": EMBED}


def load_batches(sn: Any, batch: int, seq_len: int, count: int) -> tuple[int, list[Any]]:
    """The vocabulary size V and the first ``count`` (x, y) batches (int64, (N, T)) of the
    text, as the lesson's TextLoader cuts them (fewer if the text has fewer)."""
    text = sn.datasets.load_text(TEXT)
    vocab = sn.datasets.CharVocab(text)
    ids = vocab.encode(text)
    loader = sn.datasets.TextLoader(ids, batch, seq_len)
    batches = []
    for pair in loader:
        batches.append(pair)
        if len(batches) == count:
            break
    return len(vocab), batches


# --------------------------------------------------------------------------------------
# The two libraries' models and steps
# --------------------------------------------------------------------------------------
def scratchnet_model(sn: Any, cell: str, vocab_size: int, sizes: dict[str, int]) -> Any:
    """The lesson's CharRNN with one layer of ``cell``, in the default dtype; the same seed
    gives the same initial weights every time."""
    return sn.models.CharRNN(vocab_size, sizes["hidden"], cell=cell,
                             embedding_dim=sizes["embed"], rng=SEED)


def scratchnet_logits_and_loss(sn: Any, model: Any, x: Any, y: Any) -> tuple[Any, Any]:
    """Logits (N, T, V) from a zero state and their mean cross-entropy over the N·T
    characters."""
    logits, _ = model(x)  # no state given: zeros
    loss = sn.functional.cross_entropy(logits.reshape(-1, model.vocab_size), y.reshape(-1))
    return logits, loss


def scratchnet_step(sn: Any, model: Any, batches: list[Any]) -> Callable[[], float]:
    """One training step per call, on the next batch (cycling); returns the loss."""
    optimizer = sn.optim.Adam(model.parameters(), lr=LR)
    parameters = list(model.parameters())
    position = [0]

    def step() -> float:
        x, y = batches[position[0] % len(batches)]
        position[0] += 1
        optimizer.zero_grad()
        _, loss = scratchnet_logits_and_loss(sn, model, x, y)
        loss.backward()
        sn.optim.clip_grad_norm_(parameters, CLIP_NORM)
        optimizer.step()
        return loss.item()

    return step


def torch_model(torch: Any, cell: str, vocab_size: int, sizes: dict[str, int]) -> Any:
    """Embedding -> LSTM/GRU (batch-first) -> Linear, as CharRNN with one layer."""
    nn = torch.nn
    recurrent = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]

    class TorchCharRNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, sizes["embed"])
            self.rnn = recurrent(sizes["embed"], sizes["hidden"], batch_first=True)
            self.head = nn.Linear(sizes["hidden"], vocab_size)

        def forward(self, ids: Any) -> Any:
            outputs, _ = self.rnn(self.embedding(ids))  # zero initial state
            return self.head(outputs)

    return TorchCharRNN()


def parameter_pairs(sn_model: Any, t_model: Any) -> list[tuple[str, Any, Any, bool]]:
    """(name, scratchnet parameter, PyTorch parameter, transposed?) for every parameter:
    scratchnet keeps matrices as (in, out), PyTorch as (out, in)."""
    cell = sn_model.rnn.cells[0]
    return [("embedding", sn_model.embedding.weight, t_model.embedding.weight, False),
            ("W_ih", cell.weight_ih, t_model.rnn.weight_ih_l0, True),
            ("W_hh", cell.weight_hh, t_model.rnn.weight_hh_l0, True),
            ("b_ih", cell.bias_ih, t_model.rnn.bias_ih_l0, False),
            ("b_hh", cell.bias_hh, t_model.rnn.bias_hh_l0, False),
            ("head.weight", sn_model.head.weight, t_model.head.weight, True),
            ("head.bias", sn_model.head.bias, t_model.head.bias, False)]


def copy_weights(np: Any, torch: Any, sn_model: Any, t_model: Any) -> None:
    """Give the PyTorch model scratchnet's weights."""
    with torch.no_grad():
        for _, mine, theirs, transposed in parameter_pairs(sn_model, t_model):
            array = mine.data.T if transposed else mine.data
            theirs.copy_(torch.from_numpy(np.ascontiguousarray(array)))


def torch_logits_and_loss(torch: Any, model: Any, x: Any, y: Any) -> tuple[Any, Any]:
    """As :func:`scratchnet_logits_and_loss`, in PyTorch."""
    logits = model(x)
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                             y.reshape(-1))
    return logits, loss


def torch_step(torch: Any, model: Any, batches: list[Any]) -> Callable[[], float]:
    """The same step in PyTorch, on the same batches in the same order."""
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    parameters = list(model.parameters())
    batches = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in batches]
    position = [0]

    def step() -> float:
        x, y = batches[position[0] % len(batches)]
        position[0] += 1
        optimizer.zero_grad()
        _, loss = torch_logits_and_loss(torch, model, x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, CLIP_NORM)
        optimizer.step()
        return loss.item()

    return step


# --------------------------------------------------------------------------------------
# The float64 check
# --------------------------------------------------------------------------------------
def _relative_error(np: Any, ours: Any, theirs: Any) -> float:
    """Largest difference over the largest magnitude of ``theirs`` (inf on a shape
    mismatch)."""
    if ours.shape != theirs.shape:
        return float("inf")
    return float(np.abs(ours - theirs).max()) / (float(np.abs(theirs).max()) + 1e-300)


def check_cell(np: Any, sn: Any, torch: Any, cell: str) -> list[dict[str, Any]]:
    """Logits, loss, every gradient and one whole step against PyTorch, in float64.

    Without PyTorch: the step runs and its loss is finite.
    """
    previous = sn.get_default_dtype()
    sn.set_default_dtype(np.float64)
    try:
        return _check_cell(np, sn, torch, cell)
    finally:
        sn.set_default_dtype(previous)


def _check_cell(np: Any, sn: Any, torch: Any, cell: str) -> list[dict[str, Any]]:
    vocab_size, batches = load_batches(sn, CHECK_SIZES["batch"], CHECK_SIZES["seq_len"], 1)
    model = scratchnet_model(sn, cell, vocab_size, CHECK_SIZES)
    shape = "N, T, H, E = {batch}, {seq_len}, {hidden}, {embed}".format(**CHECK_SIZES)
    where = f"float64, {shape}, V = {vocab_size}, one batch of the {TEXT.capitalize()}"
    if torch is None:
        loss = scratchnet_step(sn, model, batches)()
        return [{"name": f"{cell}.scratchnet_finite", "ok": bool(np.isfinite(loss)),
                 "detail": f"{where}: loss {loss:.6f} nats per character"}]
    t_model = torch_model(torch, cell, vocab_size, CHECK_SIZES).double()
    copy_weights(np, torch, model, t_model)
    x, y = batches[0]
    logits, loss = scratchnet_logits_and_loss(sn, model, x, y)
    loss.backward()
    t_logits, t_loss = torch_logits_and_loss(torch, t_model, torch.from_numpy(x),
                                             torch.from_numpy(y))
    t_loss.backward()
    grads = {}
    for name, mine, theirs, transposed in parameter_pairs(model, t_model):
        theirs_grad = theirs.grad.numpy()
        grads[name] = _relative_error(np, mine.grad.data,
                                      theirs_grad.T if transposed else theirs_grad)
    worst = max(grads, key=grads.get)
    # The gradients' total norm says whether the step's clipping changes anything here.
    norm = float(np.sqrt(sum((p.grad.data ** 2).sum() for p in model.parameters())))
    forward_error = max(_relative_error(np, logits.data, t_logits.detach().numpy()),
                        abs(loss.item() - t_loss.item()) / abs(t_loss.item()))

    # One whole timed step, on fresh models with the same initial weights (the same seed):
    # clipping and Adam must give the same update too.
    stepped = scratchnet_model(sn, cell, vocab_size, CHECK_SIZES)
    t_stepped = torch_model(torch, cell, vocab_size, CHECK_SIZES).double()
    copy_weights(np, torch, stepped, t_stepped)
    losses = (scratchnet_step(sn, stepped, batches)(), torch_step(torch, t_stepped, batches)())
    step_error = max(
        _relative_error(np, mine.data, theirs.detach().numpy().T if transposed
                        else theirs.detach().numpy())
        for _, mine, theirs, transposed in parameter_pairs(stepped, t_stepped))
    step_error = max(step_error, abs(losses[0] - losses[1]) / abs(losses[1]))
    return [
        {"name": f"{cell}.logits_and_loss_match_pytorch", "ok": forward_error <= CHECK_TOL,
         "detail": f"{where}: loss {loss.item():.12f} / {t_loss.item():.12f}; largest "
                   f"difference {forward_error:.2e} (logits relative to their largest, "
                   "loss relative to its value)"},
        {"name": f"{cell}.grads_match_pytorch", "ok": grads[worst] <= CHECK_TOL,
         "detail": f"{where}: every parameter ({', '.join(grads)}); largest difference "
                   f"{grads[worst]:.2e} of its array's largest gradient, in {worst}"},
        {"name": f"{cell}.step_matches_pytorch", "ok": step_error <= CHECK_TOL,
         "detail": f"{where}: parameters after one step (clip at {CLIP_NORM:g}, Adam lr "
                   f"{LR:g}; the gradients' total norm {norm:.3g}) differ by at most "
                   f"{step_error:.2e} of their array's largest"},
    ]


# --------------------------------------------------------------------------------------
def timed(step: Callable[[], float]) -> Callable[[], dict[str, float]]:
    """A runner for run_interleaved: one call of ``step``, in seconds."""

    def run() -> dict[str, float]:
        start = time.perf_counter()
        step()
        return {"step": time.perf_counter() - start}

    return run


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv, "Time a training step of the character-level LSTM and GRU "
                            "(Embedding -> LSTM/GRU -> Linear, clipping, Adam) in scratchnet "
                            "against PyTorch CPU.",
                      quick_help="a few-second smoke run: tiny sizes, one warm-up, a few "
                                 "timed pairs")
    threads = configure_threads(args.threads)
    allocator = pin_allocator()

    import numpy as np  # after configure_threads, so the BLAS thread count applies

    sn = import_scratchnet()
    torch = import_torch(threads, args.no_torch)
    plan = QUICK if args.quick else FULL
    sizes = sizes_for(args.quick)
    gc.collect()
    gc.freeze()  # keeps run_interleaved's collections short (see bench_autograd.main)
    monitor = LoadMonitor("bench_rnn")
    began = time.perf_counter()

    # The checks first (float64, models of their own); they also make PyTorch's first Adam
    # step, which imports torch._dynamo (seconds), before any timing.
    checks = [check for cell in CELLS for check in check_cell(np, sn, torch, cell)]
    monitor.mark("checks")

    sn.set_default_dtype(np.float32)
    # Enough distinct batches that the steps read different text, few enough to hold.
    vocab_size, batches = load_batches(sn, sizes["batch"], sizes["seq_len"],
                                       plan.warmup + plan.repeats)
    times = {}
    for cell in CELLS:
        model = scratchnet_model(sn, cell, vocab_size, sizes)
        runners = {"scratchnet": timed(scratchnet_step(sn, model, batches))}
        if torch is not None:
            t_model = torch_model(torch, cell, vocab_size, sizes)
            copy_weights(np, torch, model, t_model)
            runners["pytorch"] = timed(torch_step(torch, t_model, batches))
        times[cell] = run_interleaved(runners, plan, threads)
        monitor.mark(cell)
    noise = monitor.finish()

    targets = targets_for(threads)
    rows = [workload_row(f"{cell}_step", "ms/step", 1e3,
                         {library: phases["step"] for library, phases in times[cell].items()},
                         targets[f"{cell}_step"], headline=True)
            for cell in CELLS]

    result = {
        "schema": 2,
        "machine": {**machine_info(np, sn, torch), "allocator": allocator,
                    **monitor.machine_fields(noise)},
        "threads": threads,
        "quick": args.quick,
        "noisy": noise["noisy"],
        "noise": noise,
        "settings": {
            "dtype": "float32",
            "data": f"datasets.load_text({TEXT!r}), CharVocab, TextLoader(ids, N, T); "
                    "step k takes batch k",
            "model": "models.CharRNN(V, H, cell, embedding_dim=E): Embedding -> one "
                     "batch-first LSTM/GRU layer -> Dense(H, V)",
            "step": "gradients reset, logits from a zero state, cross-entropy mean over N*T, "
                    f"backward, clip_grad_norm_({CLIP_NORM:g}), Adam step",
            "sizes": {**sizes, "vocab": vocab_size},
            "lr": LR,
            "clip_norm": CLIP_NORM,
            "batches": len(batches),
            "check": {**CHECK_SIZES, "dtype": "float64", "tolerance": CHECK_TOL},
            "targets": targets,
            "plan": plan._asdict(),
        },
        "checks": checks,
        "workloads": rows,
        "elapsed_s": round(time.perf_counter() - began, 2),
    }

    print_header("recurrent benchmark", result["machine"], threads, args, noise)
    print()
    print(markdown_table(rows))
    print()
    print(f"One step: gradients reset, forward from a zero state, cross-entropy, backward, "
          f"clip_grad_norm_({CLIP_NORM:g}), Adam lr {LR:g}; float32. Embedding({vocab_size}, "
          f"{sizes['embed']}) -> LSTM/GRU ({sizes['embed']} -> {sizes['hidden']}) -> "
          f"Linear({sizes['hidden']}, {vocab_size}); batch {sizes['batch']} × "
          f"{sizes['seq_len']} characters of the {TEXT.capitalize()}.")
    print("ratio = scratchnet / PyTorch, the median over interleaved pairs of runs (lower is "
          "better); target: " + (f"≤ {TARGET:g}× at one thread" if threads == 1
                                 else f"≤ {TARGET:g}× at one thread only (none here)") + ".")
    print_checks_and_json(checks, result, args.json)
    failed = [check["name"] for check in checks if not check["ok"]]
    if failed:
        print(f"bench_rnn: failed checks: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
