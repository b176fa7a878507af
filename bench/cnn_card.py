"""The numbers and figures of a shipped feed-forward model's card, from its run and a bench folder.

    .venv/bin/python bench/cnn_card.py --run /work/runs/pconv32 \
        --model src/inpaintkit/models/weights/pconv32.safetensors \
        --bench /work/bench/cnn-check --label pconv --baseline telea \
        --prefix src/inpaintkit/models/weights/pconv32

writes PREFIX-loss.png (every logged loss per window, log scale) and, with --bench,
PREFIX-inpainting.png (the bench folder's results of LABEL on held-out emoji: a row per mask
setting, per image input | result | truth, zoomed 2x), and prints a markdown block for the
card: the run's settings, its training time without stalls, the first and last window of every
loss, the parameters and file size, and the bench's hole PSNR of LABEL and BASELINE per mask
setting.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from PIL import Image

from inpaintkit.bench.figures import method_grid
from inpaintkit.bench.store import RunDir
from inpaintkit.models import load_model
from inpaintkit.train.export import load_run_config
from inpaintkit.train.report import read_log, training_time

PAPER_MASKS = ["wide", "narrow", "sr2x", "altlines", "half", "expand"]
NOT_LOSSES = {"step", "lr", "images_per_s", "elapsed_s", "phase"}


def plot_losses(rows: list[dict], columns: list[str], path: Path, title: str) -> None:
    """Every loss column against step, one line each (absolute values, log scale)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.5, 3.4), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    steps = [r["step"] for r in rows]
    for column in columns:
        axes.plot(steps, [abs(r[column]) + 1e-8 for r in rows], linewidth=1, label=column)
    axes.set_yscale("log")
    axes.set_xlabel("optimizer step")
    axes.set_ylabel("|loss| (window mean)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=7, ncol=3)
    axes.set_title(title)
    figure.tight_layout()
    figure.savefig(path)


def psnr_rows(bench: Path, labels: list[str]) -> list[str]:
    """Markdown rows: hole PSNR mean ± 95% half-width per mask of each label (summary.json)."""
    cells_of = json.loads((bench / "summary.json").read_text())["cells"]
    lines = ["| method | " + " | ".join(PAPER_MASKS) + " |", "| --- |" + " --- |" * 6]
    for label in labels:
        cells = []
        for mask in PAPER_MASKS:
            stats = cells_of.get(label, {}).get(mask, {}).get("psnr_hole")
            half = (stats["hi"] - stats["lo"]) / 2 if stats else 0.0
            cells.append(f"{stats['mean']:.2f} ± {half:.2f}" if stats else "-")
        lines.append(f"| `{label}` | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", type=Path, required=True, help="training run folder")
    parser.add_argument("--model", required=True, help="the exported .safetensors")
    parser.add_argument("--bench", type=Path, help="a bench folder with LABEL (none: no grid)")
    parser.add_argument("--label", help="method label in the bench folder")
    parser.add_argument("--baseline", default="telea")
    parser.add_argument("--images", type=int, default=4, help="images per mask row")
    parser.add_argument("--prefix", type=Path, required=True, help="output path prefix")
    args = parser.parse_args()

    rows = read_log(args.run)
    config = load_run_config(args.run)
    columns = [c for c in rows[0] if c not in NOT_LOSSES]
    preset = getattr(config.preset, "name", config.preset)
    plot_losses(rows, columns, Path(f"{args.prefix}-loss.png"), f"{preset}: training losses")
    time = training_time(rows, config.batch_size)
    model = load_model(args.model)
    size_mb = Path(args.model).stat().st_size / 1e6

    if args.bench is not None:
        rundir = RunDir(args.bench)
        names = sorted(p.stem for p in (args.bench / "images" / "truth").glob("*.png"))
        grid = method_grid(rundir, args.label, PAPER_MASKS, names[: args.images])
        grid = grid.repeat(2, axis=0).repeat(2, axis=1)
        Image.fromarray(grid).save(f"{args.prefix}-inpainting.png", optimize=True)

    first, last = rows[0], rows[-1]
    print(f"- Preset `{preset}`, objective `{config.objective}`, options "
          f"`{json.dumps(config.objective_options)}`.")  # fmt: skip
    print(f"- {model.num_parameters():,} generator parameters; the file (fp16) is "
          f"{size_mb:.2f} MB.")  # fmt: skip
    print(f"- {time['steps']:,} steps at batch {config.batch_size}, AdamW lr {config.lr:g} "
          f"(warm-up {config.warmup_steps}, {config.lr_decay} decay), EMA {config.ema_decay}, "
          f"seed {config.seed}.")  # fmt: skip
    print(f"- Wall time {time['elapsed_s'] / 60:.1f} min of steps on one core "
          f"({time['training_s'] / 60:.1f} min without stalls; median "
          f"{time['median_images_per_s']:.0f} images/s).")  # fmt: skip
    print("- Losses, first log window -> last: " + "; ".join(
        f"{c} {first[c]:.4g} -> {last[c]:.4g}" for c in columns) + ".")  # fmt: skip
    if args.bench is not None:
        print()
        print("\n".join(psnr_rows(args.bench, [args.label, args.baseline])))


if __name__ == "__main__":
    main()
