"""DeepFill v2's user sketch, measured: the same held-out images and holes as ``inpaintkit bench``
(``--data``, ``--seed``), filled by ``deepfill-v2`` without a sketch and with the sketch a user
would draw at best, the Canny edges of the true image inside the hole (the paper's training
sketch, Yu et al. 2019 sec. 3.4). Prints hole PSNR per mask, mean ± 95% half-width, and the
paired gain with its interval.

    .venv/bin/python bench/sketch_check.py --data emoji-test --n 50 --seed 0 \
        [--model FILE] [--masks wide,narrow,sr2x,altlines,half,expand]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from inpaintkit import inpaint
from inpaintkit.bench.data import load_bench_images
from inpaintkit.bench.plan import bench_hole
from inpaintkit.data.sketch import canny_edges
from inpaintkit.metrics import mean_ci
from inpaintkit.metrics.pixel import image_metrics


def true_sketch(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """The Canny edges of ``image`` (uint8 [H,W,3]) inside ``hole``: uint8 [H,W], 255 = stroke."""
    pixels = torch.from_numpy(image).permute(2, 0, 1).float() / 127.5 - 1.0
    edges = canny_edges(pixels)[0].numpy() * hole
    return (edges * 255).astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="emoji-test")
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--model", default=None, help="a deepfill-v2 export (default: embedded)")
    parser.add_argument("--masks", default="wide,narrow,sr2x,altlines,half,expand")
    args = parser.parse_args()

    images = load_bench_images(args.data, args.size, args.n).images
    print("| mask | no sketch | true-edge sketch | gain (paired) | hole pixels with a stroke |")
    print("| --- | --- | --- | --- | --- |")
    for mask in args.masks.split(","):
        plain, guided, strokes = [], [], []
        for index, image in enumerate(images):
            hole = bench_hole(mask, args.size, args.seed, index)
            sketch = true_sketch(image, hole)
            strokes.append((sketch > 0).sum() / max(1, hole.sum()))
            for inputs, scores in ((None, plain), ({"sketch": sketch}, guided)):
                result = inpaint(image, hole, "deepfill-v2", model=args.model, inputs=inputs,
                                 progress=False)  # fmt: skip
                scores.append(image_metrics(np.asarray(result), image, hole)["psnr_hole"])
        cells = [mean_ci(v) for v in (plain, guided, np.subtract(guided, plain))]
        print(f"| {mask} | " + " | ".join(f"{m:.2f} ± {(hi - lo) / 2:.2f}" for m, lo, hi in cells)
              + f" | {np.mean(strokes):.1%} |")  # fmt: skip


if __name__ == "__main__":
    main()
