"""The photo benchmark's report (:mod:`.photobench`): table.md, summary.json and grids.

Per hole kind and method: hole PSNR and SSIM as mean ± the half-width of a 95% Student-t
interval over the items (:func:`inpaintkit.metrics.mean_ci`); the paired difference of each
method against the best classical method of that kind (the classical fill with the highest
mean hole PSNR), mean ± 95% t-interval of the per-item differences over the items both have
(:func:`paired_ci`); and seconds per megapixel of hole (the methods' summed wall seconds over
their summed hole pixels / 1e6). The issue's target (the best photo method ahead of PatchMatch
and Telea in hole PSNR on thin and medium holes) is checked on the paired intervals, and the
kinds where a classical method is ahead are listed.

Grids (``grids/<photo>-full.png`` and ``grids/<photo>-crops.png``): per hole kind one row,
the input with its hole in grey, the truth, then each method's fill (index 0 of each kind);
full photos downscaled to :data:`TILE_WIDTH` px wide, crops at 256 px. A method without a fill
there (a crop-only method on the full photo, or a refused item) shows a grey tile.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from ..io import make_grid, show_hole
from ..metrics import mean_ci
from .photobench_items import CROP_KINDS, Item
from .report import format_cell
from .store import safe_label

TILE_WIDTH = 320
TARGET_KINDS = ("thin", "medium")
TARGET_BASELINES = ("patchmatch", "telea")


def paired_ci(
    values: dict[tuple, float], reference: dict[tuple, float]
) -> tuple[float, float, float, int]:
    """(mean, lo, hi, n) of ``values[k] - reference[k]`` over the keys both have (NaNs drop
    out): the mean difference and its 95% Student-t interval."""
    diffs = [values[k] - reference[k] for k in values if k in reference]
    diffs = [d for d in diffs if not math.isnan(d)]
    mean, lo, hi = mean_ci(diffs)
    return mean, lo, hi, len(diffs)


def _by_item(rows: list[dict], label: str, kind: str, metric: str) -> dict[tuple, float]:
    return {
        (r["photo"], int(r["index"])): float(r[metric])
        for r in rows
        if r["method"] == label and r["kind"] == kind and r[metric] is not None
    }


def summarize(rows: list[dict], methods: Sequence, kinds: Sequence[str]) -> dict:
    """{kind: {"best_classical": label or None, "methods": {label: {"n", "errors",
    "psnr_hole": [mean, lo, hi], "ssim_hole": [...], "d_psnr": [mean, lo, hi, n], "d_ssim":
    [...], "s_per_mp": float}}}} for the methods (PhotoMethod) that have rows of a kind."""
    summary: dict = {}
    for kind in kinds:
        table: dict = {}
        for m in methods:
            mine = [r for r in rows if r["method"] == m.label and r["kind"] == kind]
            if not mine:
                continue
            ok = [r for r in mine if not r.get("error")]
            pixels = sum(r["hole_pixels"] for r in ok)
            table[m.label] = {
                "n": len(ok),
                "errors": len(mine) - len(ok),
                "psnr_hole": list(mean_ci(r["psnr_hole"] for r in ok)),
                "ssim_hole": list(mean_ci(r["ssim_hole"] for r in ok)),
                "s_per_mp": sum(r["seconds"] for r in ok) / (pixels / 1e6) if pixels else math.nan,
            }
        classical = [m.label for m in methods if m.classical and m.label in table]
        best = max(classical, key=lambda c: _mean(table[c]["psnr_hole"]), default=None)
        for label, cell in table.items():
            for metric, key in (("psnr_hole", "d_psnr"), ("ssim_hole", "d_ssim")):
                cell[key] = (
                    list(
                        paired_ci(
                            _by_item(rows, label, kind, metric), _by_item(rows, best, kind, metric)
                        )
                    )  # fmt: skip
                    if best is not None
                    else [math.nan] * 3 + [0]
                )
        if table:
            summary[kind] = {"best_classical": best, "methods": table}
    return summary


def _mean(triple: Sequence[float]) -> float:
    return -math.inf if math.isnan(triple[0]) else triple[0]


def _verdict(mean: float, lo: float, hi: float) -> str:
    if math.isnan(lo):
        return "no interval" if not math.isnan(mean) else "no data"
    if lo > 0:
        return "ahead (interval above 0)"
    if hi < 0:
        return "behind (interval below 0)"
    return "not separable (interval holds 0)"


def target_lines(rows: list[dict], methods: Sequence, summary: dict) -> list[str]:
    """The issue's target, per thin/medium kind: the best photo (model) method's paired hole
    PSNR difference against PatchMatch and Telea (the first spec of each in the run)."""
    photo = [m.label for m in methods if not m.classical]
    lines = []
    for kind in TARGET_KINDS:
        table = summary.get(kind, {}).get("methods", {})
        mine = [p for p in photo if p in table]
        if not mine:
            lines.append(f"- {kind}: no photo method was run")
            continue
        best = max(mine, key=lambda p: _mean(table[p]["psnr_hole"]))
        for name in TARGET_BASELINES:
            base = next((m.label for m in methods if m.spec.name == name), None)
            if base is None or base not in table:
                lines.append(f"- {kind}: {best} vs {name}: {name} was not run")
                continue
            mean, lo, hi, n = paired_ci(_by_item(rows, best, kind, "psnr_hole"),
                                        _by_item(rows, base, kind, "psnr_hole"))  # fmt: skip
            lines.append(
                f"- {kind}: {best} minus {base}: {format_cell(mean, lo, hi, 2)} dB over {n} "
                f"items: {_verdict(mean, lo, hi)}"
            )
    return lines


def classical_wins(summary: dict, methods: Sequence) -> list[str]:
    """One line per kind where the best classical method's mean hole PSNR is above every photo
    method's (with the paired interval of the best photo method against it)."""
    photo = [m.label for m in methods if not m.classical]
    if not any(p in entry["methods"] for p in photo for entry in summary.values()):
        return ["- no photo method was run"]
    lines = []
    for kind, entry in summary.items():
        best, table = entry["best_classical"], entry["methods"]
        mine = [p for p in photo if p in table]
        if best is None or not mine:
            continue
        top = max(mine, key=lambda p: _mean(table[p]["psnr_hole"]))
        mean, lo, hi, n = table[top]["d_psnr"]
        if not math.isnan(mean) and mean < 0:
            lines.append(
                f"- {kind}: {best} leads; {top} minus {best}: {format_cell(mean, lo, hi, 2)} dB "
                f"({n} items, {_verdict(mean, lo, hi)})"
            )
    return lines or ["- none: on every kind run, a photo method's mean hole PSNR is ahead"]


def render_table(summary: dict, rows: list[dict], methods: Sequence, notes: list[str]) -> str:
    """table.md (see the module docstring)."""
    lines = ["# Photo benchmark", "", *notes, ""]
    for kind, entry in summary.items():
        where = "256x256 crops" if kind in CROP_KINDS else "full photos"
        lines += [
            f"## {kind} ({where}; paired against the best classical: {entry['best_classical']})",
            "",
            "| method | n | hole PSNR (dB) | hole SSIM | Δ PSNR vs best classical | "
            "Δ SSIM vs best classical | s / MP of hole |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for label, c in entry["methods"].items():
            errors = f" ({c['errors']} refused)" if c["errors"] else ""
            lines.append(
                f"| {label} | {c['n']}{errors} | {format_cell(*c['psnr_hole'], 2)} | "
                f"{format_cell(*c['ssim_hole'], 3)} | {format_cell(*c['d_psnr'][:3], 2)} | "
                f"{format_cell(*c['d_ssim'][:3], 3)} | {c['s_per_mp']:.2f} |"
            )
        lines.append("")
    lines += ["## Target: the best photo method ahead of PatchMatch and Telea (hole PSNR)", ""]
    lines += target_lines(rows, methods, summary) + [""]
    lines += ["## Where the classical methods still win (hole PSNR)", ""]
    lines += classical_wins(summary, methods) + [""]
    return "\n".join(lines)


def result_path(out: Path, label: str, item: Item) -> Path:
    """Where the fill of a grid item is kept: results/<label>/<kind>/<photo>-<index>.png."""
    return Path(out) / "results" / safe_label(label) / item.kind / f"{item.photo}-{item.index}.png"


def _tile(image: Image.Image | None, size: tuple[int, int]) -> Image.Image:
    if image is None:
        return Image.new("RGB", size, (200, 200, 200))
    return image.convert("RGB").resize(size, Image.Resampling.LANCZOS)


def write_grids(
    out: Path, methods: Sequence, items: Sequence[Item], photos: Sequence[str]
) -> list[str]:
    """grids/<photo>-full.png and grids/<photo>-crops.png (see the module docstring); returns
    the written paths relative to ``out``."""
    written = []
    for photo in photos:
        for group, is_crop in (("full", False), ("crops", True)):
            chosen = [i for i in items if i.photo == photo and i.index == 0
                      and (i.kind in CROP_KINDS) == is_crop]  # fmt: skip
            if not chosen:
                continue
            h, w = chosen[0].truth.shape[:2]
            size = (w, h) if is_crop else (TILE_WIDTH, max(1, round(h * TILE_WIDTH / w)))
            grid_rows = []
            for item in chosen:
                truth = Image.fromarray(item.truth)
                tiles = [_tile(show_hole(truth, item.hole), size), _tile(truth, size)]
                for m in methods:
                    path = result_path(out, m.label, item)
                    tiles.append(_tile(Image.open(path) if path.exists() else None, size))
                grid_rows.append(tiles)
            name = f"grids/{photo}-{group}.png"
            (out / "grids").mkdir(parents=True, exist_ok=True)
            make_grid(grid_rows).save(out / name)
            written.append(name)
    return written


def write_report(
    out: Path,
    rows: list[dict],
    methods: Sequence,
    items: Sequence[Item],
    grid_photos: Sequence[str],
    *,
    crop_only: set[str] | frozenset[str] = frozenset(),
) -> dict:
    """Write table.md, summary.json and the grids for ``rows``; returns the summary."""
    kinds = list(dict.fromkeys(i.kind for i in items))
    summary = summarize(rows, methods, kinds)
    grids = write_grids(out, methods, items, grid_photos)
    seconds = [r["seconds"] for r in rows]
    notes = [
        f"{len(rows)} rows; {len({i.photo for i in items})} photos; {len(items)} items. "
        "Scores are of the raw fill (feather 0; known pixels pasted back exactly), in the hole "
        "only; ± is the half-width of a 95% Student-t interval over the items; Δ is the paired "
        "per-item difference against the kind's best classical method (highest mean hole PSNR).",
        "Full-photo kinds (thin, medium, thick) use the photos of at least 640x480 at their own "
        "size; the paper's six use a seeded 256x256 crop of every photo.",
        "Seconds are wall seconds of each method call alone, on this machine's settings "
        f"(total {sum(seconds):.1f} s).",
    ]
    if crop_only:
        notes.append(
            "Run on the 256x256 crops only (too slow on full photos): "
            f"{', '.join(sorted(crop_only))}."
        )
    notes += ["", "Grids (input with its hole in grey, truth, then the methods in this order: "
              + ", ".join(m.label for m in methods) + "):"]  # fmt: skip
    notes += [f"- [{g}]({g})" for g in grids]
    (out / "table.md").write_text(render_table(summary, rows, methods, notes))
    (out / "summary.json").write_text(json.dumps(_jsonable(summary), indent=1))
    return summary


def _jsonable(value: object) -> object:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


__all__ = [
    "classical_wins",
    "paired_ci",
    "render_table",
    "result_path",
    "summarize",
    "target_lines",
    "write_grids",
    "write_report",
]
