"""Paired differences against any method of a bench folder, not only its first (the folder's
own report pairs against its first method): each method's score minus the reference's, image by
image, over the images both scored; mean ± 95% Student-t half-width (``bench/paired.py``)."""

from __future__ import annotations

from pathlib import Path

from ..errors import InpaintkitError
from .report import METRICS, format_cell, latest_rows, methods_and_masks, paired_differences
from .store import RunDir


def paired_table(folder: str | Path, against: str, metric: str = "psnr_hole") -> str:
    """The markdown table of ``metric(method) - metric(against)`` for every other method of the
    bench ``folder``, one column per mask; each cell names its number of paired images when the
    cells do not all have the same."""
    rundir = RunDir(folder)
    rows = latest_rows(rundir)
    methods, masks = methods_and_masks(rows, rundir.read_config() or {})
    if against not in methods:
        raise InpaintkitError(f"{against!r} is not a method of {folder}: {', '.join(methods)}")
    methods = [against] + [m for m in methods if m != against]
    table = paired_differences(rows, methods, masks, metric)
    counts = {cell["n"] for by_mask in table.values() for cell in by_mask.values()}
    lines = ["| method | " + " | ".join(masks) + " |", "| --- |" + " --- |" * len(masks)]
    for label in methods[1:]:
        cells = []
        for mask in masks:
            cell = table.get(label, {}).get(mask)
            text = (
                "–"
                if cell is None
                else format_cell(cell["mean"], cell["lo"], cell["hi"], METRICS[metric][1])
            )
            if cell is not None and len(counts) > 1:
                text += f" (n={cell['n']})"
            cells.append(text)
        lines.append(f"| `{label}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)
