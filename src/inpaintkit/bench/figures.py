"""Figures of a benchmark folder (matplotlib, Agg canvas; pyplot's global state is not used).

- grid_<mask>.png: rows = the first 8 images, columns = input with the hole (grey) | each
  method | ground truth.
- plots/bars_<metric>.png: per mask setting, a bar per method with its 95% interval.
- plots/nfe.png: hole PSNR, hole SSIM (and the project-internal KID when computed) against
  network evaluations for the diffusion settings, one line per series (an ablation's curve).
"""

from __future__ import annotations

import math
import textwrap

import numpy as np

from .store import RunDir

GRID_ROWS = 8
BAR_METRICS = ("psnr_hole", "ssim_hole")
NFE_METRICS = ("psnr_hole", "ssim_hole", "kid_internal")
_TITLES = {
    "psnr_hole": "hole PSNR (dB)",
    "ssim_hole": "hole SSIM",
    "kid_internal": "KID (project-internal)",
}


def write_figures(rundir: RunDir, summary: dict) -> list[str]:
    """Write every figure for ``summary`` (from :func:`~.report.summarize`) under the folder;
    returns their paths relative to it."""
    written = []
    for mask in summary["masks"]:
        path = f"grid_{mask}.png"
        if _grid(rundir, summary, mask, rundir.root / path):
            written.append(path)
    (rundir.root / "plots").mkdir(exist_ok=True)
    for metric in BAR_METRICS:
        if metric in summary["metrics"]:
            path = f"plots/bars_{metric}.png"
            _bars(summary, metric, rundir.root / path)
            written.append(path)
    diffusion = [m for m in summary["methods"] if _nfe(summary, m) > 0]
    if len(diffusion) >= 2:
        path = "plots/nfe.png"
        _nfe_plot(summary, diffusion, rundir.root / path)
        written.append(path)
    return written


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def _wrap(label: str, width: int = 16) -> str:
    return textwrap.fill(label.replace(",", ", ").replace(":", ": "), width)


def _grid(rundir: RunDir, summary: dict, mask: str, path) -> bool:
    methods = [m for m in summary["methods"] if mask in summary["cells"][m]]
    indices = sorted({i for m in methods for i in summary["cells"][m][mask]["images"]})
    names = summary.get("names", {})
    indices = [i for i in indices if i in names][:GRID_ROWS]
    if not indices:
        return False
    columns = ["input", *methods, "truth"]
    height = 0.9 * len(indices) + 0.6
    figure = _figure(0.9 * len(columns) + 0.2, height)
    figure.subplots_adjust(
        left=0.01, right=0.99, bottom=0.01, top=1 - 0.55 / height, wspace=0.06, hspace=0.06
    )
    axes = figure.subplots(len(indices), len(columns), squeeze=False)
    for r, index in enumerate(indices):
        name = names[index]
        truth = RunDir.load_png(rundir.truth_path(name))
        hole = RunDir.load_hole(rundir.hole_path(mask, name))
        shown = truth.copy()
        shown[hole] = 128
        tiles = [shown]
        for label in methods:
            result = rundir.result_path(mask, label, name)
            tiles.append(RunDir.load_png(result) if result.exists() else None)
        tiles.append(truth)
        for c, tile in enumerate(tiles):
            ax = axes[r][c]
            ax.set_xticks([])
            ax.set_yticks([])
            if tile is not None:
                ax.imshow(tile, interpolation="nearest")
            else:  # refused by the method, or not run yet
                ax.text(0.5, 0.5, "no result", ha="center", va="center", fontsize=5)
            if r == 0:
                ax.set_title(_wrap(columns[c]), fontsize=5)
    figure.suptitle(f"mask: {mask}", fontsize=8, y=1 - 0.08 / height)
    figure.savefig(path)
    return True


def _bars(summary: dict, metric: str, path) -> None:
    masks, methods = summary["masks"], summary["methods"]
    cols = min(3, len(masks))
    rows = math.ceil(len(masks) / cols)
    figure = _figure(3.4 * cols, (0.3 * len(methods) + 1.0) * rows + 0.5)
    axes = figure.subplots(rows, cols, squeeze=False)
    for k, mask in enumerate(masks):
        ax = axes[k // cols][k % cols]
        means, errors = [], []
        for label in methods:
            stats = summary["cells"][label].get(mask, {}).get(metric)
            mean = stats["mean"] if stats else math.nan
            half = (stats["hi"] - stats["lo"]) / 2 if stats else math.nan
            means.append(mean)
            errors.append(0.0 if math.isnan(half) else half)
        y = np.arange(len(methods))
        ax.barh(y, means, xerr=errors, color="#4c72b0", ecolor="black", capsize=2)
        ax.set_yticks(y, [_wrap(m, 40) for m in methods], fontsize=5)
        ax.invert_yaxis()
        ax.set_title(mask, fontsize=8)
        ax.tick_params(axis="x", labelsize=6)
    for k in range(len(masks), rows * cols):
        axes[k // cols][k % cols].set_visible(False)
    figure.suptitle(f"{_TITLES.get(metric, metric)}: mean and 95% interval", fontsize=9)
    figure.tight_layout()
    figure.savefig(path)


def _nfe(summary: dict, label: str) -> int:
    cells = summary["cells"][label]
    return int(next(iter(cells.values())).get("nfe", 0)) if cells else 0


def _nfe_plot(summary: dict, methods: list[str], path) -> None:
    from matplotlib.ticker import NullLocator

    masks = summary["masks"]
    metrics = [m for m in NFE_METRICS if _has(summary, methods, m)]
    series: dict[str, list[str]] = {}
    for label in methods:
        series.setdefault(summary["config"].get("series", {}).get(label, label), []).append(label)
    figure = _figure(2.6 * len(masks), 2.3 * len(metrics) + 0.6)
    axes = figure.subplots(len(metrics), len(masks), squeeze=False)
    for r, metric in enumerate(metrics):
        for c, mask in enumerate(masks):
            ax = axes[r][c]
            for name, labels in series.items():
                points = []
                for label in labels:
                    stats = summary["cells"][label].get(mask, {}).get(metric)
                    if stats:
                        points.append((_nfe(summary, label), *_center_err(stats)))
                if not points:
                    continue
                points.sort()
                x, y, e = zip(*points)
                ax.errorbar(x, y, yerr=e, marker="o", ms=3, capsize=2, lw=1, label=name)
            ax.set_xscale("log")
            ticks = _spread(sorted({_nfe(summary, label) for label in methods}))
            ax.set_xticks(ticks, [str(t) for t in ticks], fontsize=5, rotation=90)
            ax.xaxis.set_minor_locator(NullLocator())
            ax.tick_params(labelsize=6)
            if r == 0:
                ax.set_title(mask, fontsize=8)
            if c == 0:
                ax.set_ylabel(_TITLES[metric], fontsize=7)
            if r == len(metrics) - 1:
                ax.set_xlabel("network evaluations", fontsize=7)
    handles, labels = axes[0][0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=min(4, len(labels)), fontsize=7)
    figure.tight_layout(rect=(0, 0.08, 1, 1))
    figure.savefig(path)


def _spread(values: list[int], ratio: float = 1.2) -> list[int]:
    """Ticks at least ``ratio`` apart on the log axis (close NFE values would overlap)."""
    kept: list[int] = []
    for value in values:
        if not kept or value >= kept[-1] * ratio:
            kept.append(value)
    return kept


def _has(summary: dict, methods: list[str], metric: str) -> bool:
    return any(metric in c for m in methods for c in summary["cells"][m].values())


def _center_err(stats: dict) -> tuple[float, float]:
    """(value, error bar): mean and 95% half-width, or KID's mean and subset std."""
    if "std" in stats:
        return stats["mean"], stats["std"]
    half = (stats["hi"] - stats["lo"]) / 2
    return stats["mean"], 0.0 if math.isnan(half) else half


def method_grid(
    rundir: RunDir, label: str, masks: list[str], names: list[str], *, pad: int = 2
) -> np.ndarray:
    """One method's results as a pixel grid (no resampling): a row per mask setting, and per
    image three tiles: input with the hole grey | the method's result | ground truth.
    Returns uint8 [H, W, 3] on white; raises FileNotFoundError for a missing result."""
    rows = []
    for mask in masks:
        tiles = []
        for name in names:
            truth = RunDir.load_png(rundir.truth_path(name))
            shown = truth.copy()
            shown[RunDir.load_hole(rundir.hole_path(mask, name))] = 128
            tiles += [shown, RunDir.load_png(rundir.result_path(mask, label, name)), truth]
        rows.append(tiles)
    h, w = rows[0][0].shape[:2]

    def left(c: int) -> int:  # a wider gap between images than between their three tiles
        return pad + c * (w + pad) + (c // 3) * 2 * pad

    width = left(len(rows[0]) - 1) + w + pad
    grid = np.full((len(rows) * (h + pad) + pad, width, 3), 255, np.uint8)
    for r, tiles in enumerate(rows):
        for c, tile in enumerate(tiles):
            top = pad + r * (h + pad)
            grid[top : top + h, left(c) : left(c) + w] = tile
    return grid
