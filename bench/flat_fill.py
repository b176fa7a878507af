"""Hole PSNR of a flat fill (white, mid-gray, black) on the bench's images and holes: the scale
against which docs/strdiffusion.md reads a weak model's numbers.

    .venv/bin/python bench/flat_fill.py --data emoji-test --n 50
"""

from __future__ import annotations

import argparse

import numpy as np

from inpaintkit.bench.data import load_bench_images
from inpaintkit.bench.plan import bench_hole
from inpaintkit.bench.runner import PAPER_MASKS
from inpaintkit.metrics.pixel import psnr

FILLS = {"white": 1.0, "mid-gray": 0.5, "black": 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="emoji-test")
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    images = load_bench_images(args.data, args.size, args.n).images.astype(float)
    print("| fill | " + " | ".join(PAPER_MASKS) + " |")
    print("| --- " * (len(PAPER_MASKS) + 1) + "|")
    for name, value in FILLS.items():
        cells = []
        for mask in PAPER_MASKS:
            scores = [
                psnr(((x[bench_hole(mask, args.size, args.seed, i)] - 255 * value) ** 2).mean())
                for i, x in enumerate(images)
            ]
            cells.append(f"{np.mean(scores):.2f}")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
