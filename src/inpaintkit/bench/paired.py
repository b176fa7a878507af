"""Paired differences against any method of a bench folder, not only its first (the folder's
own report pairs against its first method): each method's score minus the reference's, image by
image, over the images both scored; mean ± 95% Student-t half-width (``bench/paired.py``).
The reference may come from another folder run on the same images and holes (a method of
another model cannot share a folder: a folder holds one model's results)."""

from __future__ import annotations

from pathlib import Path

from ..errors import InpaintkitError
from .report import METRICS, format_cell, latest_rows, methods_and_masks, paired_differences
from .store import FIXED_DEFAULTS, FIXED_KEYS, RunDir


def paired_table(
    folder: str | Path,
    against: str,
    metric: str = "psnr_hole",
    reference_folder: str | Path | None = None,
) -> str:
    """The markdown table of ``metric(method) - metric(against)`` for every other method of the
    bench ``folder``, one column per mask; each cell names its number of paired images when the
    cells do not all have the same. ``reference_folder``: take ``against``'s scores from that
    folder instead; it must have the same data, size and seed, and the same hole on every
    paired image (checked), else InpaintkitError."""
    rundir = RunDir(folder)
    rows = latest_rows(rundir)
    methods, masks = methods_and_masks(rows, rundir.read_config() or {})
    source = folder
    if reference_folder is not None:
        source, reference = reference_folder, RunDir(reference_folder)
        rows = [r for r in rows if r["method"] != against]
        methods = [m for m in methods if m != against]
        theirs = [r for r in latest_rows(reference) if r["method"] == against]
        _check_same_items(rundir, reference, rows, theirs)
        rows += theirs
        if theirs:
            methods.append(against)
    if against not in methods:
        raise InpaintkitError(f"{against!r} is not a method of {source}")
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


def _check_same_items(
    ours: RunDir, theirs: RunDir, rows: list[dict], their_rows: list[dict]
) -> None:
    """Refuse pairing two folders unless their data, size and seed agree and every image both
    scored had the same truth and the same hole in each."""
    a, b = ours.read_config() or {}, theirs.read_config() or {}
    differ = [
        key
        for key in FIXED_KEYS
        if key != "runtime" and a.get(key, FIXED_DEFAULTS.get(key)) != b.get(key)
    ]
    if differ:
        raise InpaintkitError(
            f"{theirs.root} and {ours.root} differ in {', '.join(differ)}: their images and "
            "holes are not the same, so their scores cannot be paired"
        )
    names = {(r["mask"], r["name"]) for r in rows} & {(r["mask"], r["name"]) for r in their_rows}
    for mask, name in sorted(names):
        files = {
            "hole": (ours.hole_path(mask, name), theirs.hole_path(mask, name)),
            "truth": (ours.truth_path(name), theirs.truth_path(name)),
        }
        for what, (mine, other) in files.items():
            if mine.read_bytes() != other.read_bytes():
                raise InpaintkitError(
                    f"{mask} image {name}: the {what} differs between {ours.root} and "
                    f"{theirs.root}; their scores cannot be paired"
                )
