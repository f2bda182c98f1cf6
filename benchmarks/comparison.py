"""Rows and a markdown table for benchmarks that compare results, not only times.

``bench_vae.py`` (against PyTorch) and ``bench_rbm.py`` (against scikit-learn) report
quantities such as a log-likelihood in nats next to the reference framework's value, the
difference or ratio, and whether scratchnet meets its target. Both build their rows and
their table here, naming the reference by its JSON key (``"pytorch"``, ``"sklearn"``).
"""

from __future__ import annotations

from typing import Any


def comparison_row(name: str, unit: str, values: dict[str, Any], reference: str,
                   higher_is_better: bool | None, target: float | None = None,
                   compare: str = "difference", spread: dict[str, Any] | None = None
                   ) -> dict[str, Any]:
    """One quantity: scratchnet's value, the reference's, their difference or ratio.

    ``values`` maps "scratchnet" and ``reference`` (absent or None without it) to numbers.
    ``compare`` is "difference" (nats, errors) or "ratio" (times). ``meets_target`` says
    whether scratchnet's value is on the good side of ``target``.
    """
    ours, theirs = values["scratchnet"], values.get(reference)
    both = theirs is not None
    meets = None
    if target is not None and higher_is_better is not None:
        meets = bool(ours >= target) if higher_is_better else bool(ours <= target)
    return {
        "name": name,
        "unit": unit,
        "scratchnet": ours,
        reference: theirs,
        "difference": ours - theirs if both and compare == "difference" else None,
        "ratio": ours / theirs if both and compare == "ratio" and theirs else None,
        "higher_is_better": higher_is_better,
        "target": target,
        "meets_target": meets,
        "spread": spread or {"scratchnet": None, reference: None},
    }


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "units":
        return f"{value:.0f}"
    if unit == "mse":
        return f"{value:.4f}"
    if unit == "s":
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return f"{value:.2f}"


def _cell(row: dict[str, Any], framework: str) -> str:
    text = format_value(row[framework], row["unit"])
    spread = row["spread"].get(framework)
    if spread is not None and row[framework] is not None:
        low, high = ((spread["q1"], spread["q3"]) if "q1" in spread
                     else (spread["min"], spread["max"]))
        text += f" [{format_value(low, row['unit'])}–{format_value(high, row['unit'])}]"
    return text


def comparison_table(rows: list[dict[str, Any]], reference: str, title: str) -> str:
    """A markdown table of ``rows``; ``title`` names the reference ("PyTorch", ...)."""
    lines = [f"| quantity | unit | scratchnet | {title} | scratchnet vs {title} "
             "| target (scratchnet) | status |",
             "|---|---|---|---|---|---|---|"]
    for row in rows:
        if row["difference"] is not None:
            versus = f"{row['difference']:+.4f}" if row["unit"] == "mse" else \
                f"{row['difference']:+.2f}"
        elif row["ratio"] is not None:
            versus = f"{row['ratio']:.2f}×"
        else:
            versus = "n/a" if row[reference] is None else "–"
        if row["target"] is None:
            target = "–"
        else:
            sign = "≥" if row["higher_is_better"] else "≤"
            target = f"{sign} {format_value(row['target'], row['unit'])}"
        status = {True: "met", False: "MISSED", None: "–"}[row["meets_target"]]
        lines.append(f"| {row['name']} | {row['unit']} | {_cell(row, 'scratchnet')} "
                     f"| {_cell(row, reference)} | {versus} | {target} | {status} |")
    return "\n".join(lines)
