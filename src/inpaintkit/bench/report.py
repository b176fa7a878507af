"""Tables from a benchmark folder: results.csv, summary.json and table.md (the paper's Table 1
shape: rows = methods, columns = mask settings, one table per metric), then the figures.

Everything is computed from DIR/results.jsonl and the PNGs in DIR, so a report can be rebuilt at
any time (``--report-only``), also while another process is still adding results.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..masks import MASK_KINDS
from .scoring import KID_MIN_IMAGES, kid_internal
from .store import RunDir, row_key

KID_KEY = "kid_internal"
KID_NAME = "KID (project-internal emoji classifier features)"

METRICS: dict[str, tuple[str, int]] = {
    "psnr_hole": ("Hole PSNR (dB, higher is better)", 2),
    "ssim_hole": ("Hole SSIM (higher is better)", 3),
    "l1_hole": ("Hole L1 (mean |error|, 0..1, lower is better)", 4),
    "lpips": ("LPIPS (lower is better)", 4),
    "psnr": ("Whole-image PSNR (dB, higher is better)", 2),
    "ssim": ("Whole-image SSIM (higher is better)", 3),
    "l1": ("Whole-image L1 (mean |error|, 0..1, lower is better)", 4),
}
"""Per-item metrics in table order: key -> (title, decimals)."""

PAIRED_METRICS = ("psnr_hole",)
"""Metrics that also get a table of per-image differences to the first method."""

CSV_FIELDS = (
    "method", "method_name", "mask", "image", "name", "seed", "item_seed", "model",
    "model_source", "size",
    "data", *METRICS, "hole_fraction", "wall_s", "batch", "nfe", "undo_steps", "worker",
    "finished", "options", "error",
)  # fmt: skip

Log = Callable[[str], None]


def format_cell(mean: float, lo: float, hi: float, decimals: int) -> str:
    """ "mean ± half-width" of a (mean, lo, hi) interval; "–" for no data; "mean (n=1)" when
    there is no interval."""
    if math.isnan(mean):
        return "–"
    if math.isnan(lo) or math.isnan(hi):
        return f"{mean:.{decimals}f} (n=1)"
    return f"{mean:.{decimals}f} ± {(hi - lo) / 2:.{decimals}f}"


def latest_rows(rundir: RunDir) -> list[dict]:
    """The folder's rows, one per item (the last line wins if an item was recorded twice)."""
    rows: dict[tuple, dict] = {}
    for row in rundir.read_rows():
        rows[row_key(row)] = row
    return list(rows.values())


def summarize(
    rows: list[dict], config: dict, rundir: RunDir | None = None, *, log: Log | None = None
) -> dict:
    """Per (method, mask) cell: n, mean_ci of every metric, mean wall s/image, NFE, and the
    project-internal KID when the cell has >= KID_MIN_IMAGES images (else a note says why not);
    KID reads the images from ``rundir`` (None: no KID).

    Returns {"methods", "masks", "metrics", "cells": {label: {mask: {...}}}, "names": {image
    index: file name}, "paired": {metric: {label: {mask: {"mean", "lo", "hi", "n"}}}} (per-image
    differences to the first method), "kid_note", "lpips_note"}.
    """
    from ..metrics import mean_ci

    methods, masks = methods_and_masks(rows, config)
    metrics = [m for m in METRICS if any(m in r for r in rows)]
    cells: dict[str, dict[str, dict]] = {}
    for label in methods:
        for mask in masks:
            everything = sorted(
                (r for r in rows if r["method"] == label and r["mask"] == mask),
                key=lambda r: int(r["image"]),
            )
            if not everything:
                continue
            group = [r for r in everything if "error" not in r]
            failed = [r for r in everything if "error" in r]
            spent = [r.get("nfe", 0) for r in everything]  # varies for an adaptive sampler
            cell: dict = {"n": len(group), "nfe": round(sum(spent) / len(spent))}
            cell["images"] = [int(r["image"]) for r in group]
            if failed:
                cell["failed"] = len(failed)
                cell["error"] = failed[0]["error"]
            for metric in metrics:
                mean, lo, hi = mean_ci(float(r[metric]) for r in group if metric in r)
                cell[metric] = {"mean": mean, "lo": lo, "hi": hi}
            cell["wall_s"] = float(np.mean([r["wall_s"] for r in group])) if group else math.nan
            cells.setdefault(label, {})[mask] = cell
    names = {int(r["image"]): r["name"] for r in rows}
    paired = {
        m: paired_differences(rows, methods, masks, m) for m in PAIRED_METRICS if m in metrics
    }
    kid_note = f"{KID_NAME} not computed."
    if rundir is not None:
        kid_note = _add_kid(cells, rundir, names, log)
    return {
        "methods": methods,
        "masks": masks,
        "metrics": metrics,
        "cells": cells,
        "names": names,
        "paired": paired,
        "kid_note": kid_note,
        "lpips_note": "" if "lpips" in metrics else _lpips_note(),
    }


def write_report(out: str | Path, *, log: Log | None = None) -> dict:
    """Write results.csv, summary.json, table.md and the figures of the folder ``out``.

    Returns the summary (as written to summary.json). Raises InpaintkitError when the folder
    holds no benchmark.
    """
    from ..errors import InpaintkitError
    from .figures import write_figures

    rundir = RunDir(out)
    config = rundir.read_config()
    if config is None:
        raise InpaintkitError(f"{rundir.root} holds no benchmark (no bench.json)")
    rows = latest_rows(rundir)
    if not rows:
        raise InpaintkitError(f"{rundir.results_path} has no results yet")
    _write_csv(rundir.root / "results.csv", rows)
    summary = {"config": config, **summarize(rows, config, rundir, log=log)}
    (rundir.root / "summary.json").write_text(
        json.dumps(_jsonable(summary), indent=2, allow_nan=False) + "\n"
    )
    summary["figures"] = write_figures(rundir, summary)
    (rundir.root / "table.md").write_text(render_table(summary))
    return summary


def render_table(summary: dict) -> str:
    """table.md: one Table-1-shaped table per metric, the cost table and the KID table."""
    config, cells, masks = summary["config"], summary["cells"], summary["masks"]
    methods = summary["methods"]
    model = config.get("model") or {}
    refused = any("failed" in c for per in cells.values() for c in per.values())
    tried = {c["n"] + c.get("failed", 0) for per in cells.values() for c in per.values()}
    if len(tried) == 1:
        count = f"{tried.pop()} images per cell" + (
            " (fewer where a method refused some: listed below)." if refused else "."
        )
    else:  # a run in progress, or methods / masks added with another --n
        count = (
            f"Cells hold {min(tried)} to {max(tried)} images (each cell's count is in the table "
            "'Images per cell')."
        )
    lines = [
        "# Benchmark results",
        "",
        f"Data `{config['data']}` at {config['size']}x{config['size']}, seed {config['seed']}"
        + (f", model `{model['source']}` (weights sha256 {model['digest'][:12]})" if model else "")
        + f". {count}",
        "Each cell: mean ± half-width of the 95% Student-t interval over the images "
        "(`inpaintkit.metrics.mean_ci`). Every method saw the same hole on a given image.",
        "",
    ]
    header = "| method | " + " | ".join(masks) + " |"
    rule = "| --- |" + " --- |" * len(masks)
    for metric in summary["metrics"]:
        title, decimals = METRICS[metric]
        lines += [f"## {title}", "", header, rule]
        for label in methods:
            row = [
                format_cell(*_triple(cells[label].get(mask, {}).get(metric)), decimals)
                for mask in masks
            ]
            lines.append(f"| `{label}` | " + " | ".join(row) + " |")
        lines.append("")
    if len(tried) > 1:
        lines += ["## Images per cell", "", header, rule]
        for label in methods:
            row = [str(cells[label][m]["n"]) if m in cells[label] else "–" for m in masks]
            lines.append(f"| `{label}` | " + " | ".join(row) + " |")
        lines.append("")
    for metric, table in summary.get("paired", {}).items():
        if not table:
            continue
        title, decimals = METRICS[metric]
        lines += [
            f"## Paired: {title.split(' (')[0]} minus that of `{methods[0]}`, image by image",
            "",
            "Every method saw the same hole on each image, so per-image differences cancel "
            "the (large) spread between images: mean ± half-width of the 95% interval of the "
            "differences; an interval excluding 0 is a difference these images support.",
            "",
            header,
            rule,
        ]
        for label in methods[1:]:
            row = [
                format_cell(*_triple(table.get(label, {}).get(mask)), decimals) for mask in masks
            ]
            lines.append(f"| `{label}` | " + " | ".join(row) + " |")
        lines.append("")
    failures = [
        (label, mask, c) for label in methods for mask, c in cells[label].items() if "failed" in c
    ]
    if failures:
        lines += ["Items a method refused (not scored; their cells use the other images):", ""]
        for label, mask, c in failures:
            lines.append(f"- `{label}` on {mask}: {c['failed']} image(s): {c['error']}")
        lines.append("")
    if summary.get("lpips_note"):
        lines += [f"LPIPS is not in these tables. {summary['lpips_note']}", ""]
    lines += [
        "## Cost: network evaluations (NFE) and wall seconds per image",
        "",
        "| method | NFE per image | " + " | ".join(masks) + " |",
        "| --- | --- |" + " --- |" * len(masks),
    ]
    for label in methods:
        per = cells[label]
        spent = sorted({c["nfe"] for c in per.values()})  # an adaptive sampler's differ by mask
        nfe = f"{spent[0]}-{spent[-1]}" if len(spent) > 1 else spent[0]
        walls = [f"{per[m]['wall_s']:.3f}" if m in per and per[m]["n"] else "–" for m in masks]
        lines.append(f"| `{label}` | {nfe} | " + " | ".join(walls) + " |")
    lines += [
        "",
        "Wall seconds per image = the batch's inpainting time / its images (model loading "
        "excluded). A diffusion method's NFE is per batch, so also per image; an adaptive "
        "sampler's is the mean it spent, and a range over the masks.",
        "",
        f"## {KID_NAME}, lower is better",
        "",
    ]
    if any(KID_KEY in c for per in cells.values() for c in per.values()):
        lines += [
            "Each cell: the unbiased MMD^2 of the n results against the ground truth of the "
            "same n images, KID's cubic kernel on the features of a small emoji classifier "
            "trained by this project (`metrics.RealismScorer`), ± the std over 100 random "
            "subsets of n/2 images (a conservative noise indicator). Since results and truth "
            "are paired, the estimate skips i = j in every term (`bench.scoring.paired_mmd2`): "
            "0 means 'as realistic as the truth at this n'. These are NOT Inception KID values "
            "and compare only with each other.",
            "",
            header,
            rule,
        ]
        for label in methods:
            row = []
            for mask in masks:
                kid = cells[label].get(mask, {}).get(KID_KEY)
                row.append("–" if kid is None else f"{kid['mean']:.4f} ± {kid['std']:.4f}")
            lines.append(f"| `{label}` | " + " | ".join(row) + " |")
        lines.append("")
    if summary.get("kid_note"):
        lines += [summary["kid_note"], ""]
    figures = summary.get("figures") or []
    if figures:
        lines += ["## Figures", ""] + [f"- [{f}]({f})" for f in figures] + [""]
    return "\n".join(lines)


def paired_differences(rows: list[dict], methods: list[str], masks: list[str], metric: str) -> dict:
    """{label: {mask: {"mean", "lo", "hi", "n"}}}: mean_ci of the per-image difference
    ``metric(label) - metric(methods[0])`` over the images both have scores for."""
    from ..metrics import mean_ci

    if len(methods) < 2:
        return {}
    value = {
        (r["method"], r["mask"], int(r["image"])): float(r[metric]) for r in rows if metric in r
    }
    out: dict[str, dict] = {}
    for label in methods[1:]:
        for mask in masks:
            diffs = [
                v - value[methods[0], mask, i]
                for (m, k, i), v in value.items()
                if m == label and k == mask and (methods[0], mask, i) in value
            ]
            if diffs:
                mean, lo, hi = mean_ci(diffs)
                out.setdefault(label, {})[mask] = {
                    "mean": mean,
                    "lo": lo,
                    "hi": hi,
                    "n": len(diffs),
                }
    return out


def _triple(stats: dict | None) -> tuple[float, float, float]:
    if not stats:
        return math.nan, math.nan, math.nan
    return stats["mean"], stats["lo"], stats["hi"]


def methods_and_masks(rows: list[dict], config: dict) -> tuple[list[str], list[str]]:
    """The folder's method labels in report order (the configuration's series first) and its
    masks in MASK_KINDS order."""
    present = {r["method"] for r in rows}
    order = [label for label in config.get("series", {}) if label in present]
    masks = [m for m in MASK_KINDS if any(r["mask"] == m for r in rows)]
    return order + sorted(present - set(order)), masks


def _add_kid(cells: dict, rundir: RunDir, names: dict[int, str], log: Log | None) -> str:
    """Add KID_KEY to every cell with enough images; returns a note on what was skipped."""
    from ..errors import InpaintkitError

    small = [
        (label, mask) for label, per in cells.items() for mask, c in per.items()
        if 0 < c["n"] < KID_MIN_IMAGES
    ]  # fmt: skip
    todo = [
        (label, mask) for label, per in cells.items() for mask, c in per.items()
        if c["n"] >= KID_MIN_IMAGES
    ]  # fmt: skip
    notes = []
    if small:
        notes.append(
            f"{KID_NAME} is given only for cells of at least {KID_MIN_IMAGES} images "
            f"({len(small)} cell(s) had fewer)."
        )
    truth_cache: dict[int, np.ndarray] = {}
    for label, mask in todo:
        cell = cells[label][mask]
        try:
            real = np.stack([_truth(rundir, names, i, truth_cache) for i in cell["images"]])
            fake = np.stack(
                [RunDir.load_png(rundir.result_path(mask, label, names[i])) for i in cell["images"]]
            )
            mean, std, m = kid_internal(real, fake)
        except (InpaintkitError, OSError, KeyError) as err:
            notes.append(f"{KID_NAME} skipped: {err}")
            break
        cell[KID_KEY] = {"mean": mean, "std": std, "subset_size": m}
        if log is not None:
            log(f"KID (internal) {label} {mask}: {mean:.4f}")
    return " ".join(notes)


def _truth(rundir: RunDir, names: dict[int, str], index: int, cache: dict) -> np.ndarray:
    if index not in cache:
        cache[index] = RunDir.load_png(rundir.truth_path(names[index]))
    return cache[index]


def _lpips_note() -> str:
    from ..errors import InpaintkitError
    from ..metrics import lpips_scorer

    try:
        lpips_scorer()
    except InpaintkitError as err:
        return str(err)
    return "LPIPS was available now but not when these results were scored; rerun to add it."


def _write_csv(path: Path, rows: list[dict]) -> None:
    extra = sorted({k for r in rows for k in r} - set(CSV_FIELDS))
    ordered = sorted(rows, key=lambda r: (r["method"], r["mask"], int(r["image"])))
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=[*CSV_FIELDS, *extra], extrasaction="ignore")
        writer.writeheader()
        for row in ordered:
            writer.writerow(
                {k: json.dumps(v) if isinstance(v, dict) else v for k, v in row.items()}
            )


def _jsonable(value: object) -> object:
    """NaN -> None (strict JSON), recursively."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
