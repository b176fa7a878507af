"""The figures and numbers of a shipped model's card, from its training run and a bench folder.

    .venv/bin/python bench/model_card.py --run /work/runs/emoji32-v2 \
        --model src/inpaintkit/models/weights/emoji32-v2.safetensors \
        --bench runs/bench/v2-emoji-test --label repaint-fast \
        --prefix src/inpaintkit/models/weights/emoji32-v2

writes PREFIX-loss.png (training loss per log window), PREFIX-samples.png (16 unconditional
samples: ancestral DDPM on 250 evenly respaced steps, seed 0), PREFIX-inpainting.png (the bench
folder's results of LABEL: a row per mask setting, per image input | result | truth, zoomed 2x)
and prints a JSON summary: training time without stalls, final loss, held-out and training eps
MSE (and the bound estimate for learned-variance models) of the exported weights. A conditional
inpainting model gets neither samples nor the held-out objective (both need a hole here):
``bench/conditioning_check.py`` measures it on held-out images.

``--data photos`` (a photo prior, such as photo64) measures the held-out objective on seeded
crops of the photo set's TEST and FIT splits (every 8th item of seed 0's first pass: 8 crops
per photo, :func:`inpaintkit.data.photo_crops.photo_dataset`) instead of Google emoji.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from inpaintkit.bench.figures import method_grid
from inpaintkit.bench.store import RunDir
from inpaintkit.data import load_emoji
from inpaintkit.data.photo_crops import photo_dataset
from inpaintkit.models import load_model
from inpaintkit.models.conditional import ConditionalDiffusionModel
from inpaintkit.train.export import load_run_config
from inpaintkit.train.previews import save_sample_grid
from inpaintkit.train.report import heldout_loss, plot_loss, read_log, training_time

PAPER_MASKS = ["wide", "narrow", "sr2x", "altlines", "half", "expand"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", type=Path, required=True, help="training run folder")
    parser.add_argument("--model", required=True, help="the exported .safetensors")
    parser.add_argument(
        "--bench", type=Path, help="an inpaintkit bench folder with LABEL's results"
    )
    parser.add_argument("--label", default="repaint", help="method label in the bench folder")
    parser.add_argument("--images", type=int, default=4, help="images per mask row")
    parser.add_argument("--prefix", type=Path, required=True, help="output path prefix")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--data", choices=("emoji", "photos"), default="emoji", help="held-out images"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    rows = read_log(args.run)
    config = load_run_config(args.run)
    summary = {"training": training_time(rows, config.batch_size)}
    last = [r["loss"] for r in rows[-10:]]
    summary["final_loss_last_10_windows"] = float(np.mean(last))
    preset = getattr(config.preset, "name", config.preset)
    plot_loss(rows, f"{args.prefix}-loss.png", title=f"{preset}: training loss")

    model = load_model(args.model)
    summary["parameters"] = model.num_parameters()
    size = model.image_size
    if isinstance(model, ConditionalDiffusionModel):
        # it needs a hole to denoise: bench/conditioning_check.py measures it on held-out images
        summary["heldout"] = "conditional model: see bench/conditioning_check.py"
    else:
        for split in ("test", "train"):
            x = heldout_images(args.data, split, size)
            summary[f"heldout_{split}"] = {"images": len(x), **heldout_loss(model, x)}
        samples = Path(f"{args.prefix}-samples.png")
        save_sample_grid(model.unet, model.betas, samples, num_steps=250)

    if args.bench:
        rundir = RunDir(args.bench)
        names = sorted(p.stem for p in (args.bench / "images" / "truth").glob("*.png"))
        grid = method_grid(rundir, args.label, PAPER_MASKS, names[: args.images])
        grid = grid.repeat(2, axis=0).repeat(2, axis=1)
        Image.fromarray(grid).save(f"{args.prefix}-inpainting.png", optimize=True)
    print(json.dumps(summary, indent=2))


def heldout_images(data: str, split: str, size: int) -> torch.Tensor:
    """Float [N, 3, size, size] in [-1, 1]: 380 Google emoji of ``split``, or 8 seeded crops per
    photo of the photo set's ``split`` (its training side is the FIT split)."""
    if data == "photos":
        crops = photo_dataset("fit" if split == "train" else split, size, seed=0)
        return torch.stack([crops[index] for index in range(0, len(crops), 8)])
    images = load_emoji("google", split, size=size)[:380]
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1


if __name__ == "__main__":
    main()
