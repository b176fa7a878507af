"""The paired hole-PSNR gain of one method over another in a photo benchmark folder, per hole
kind (mean ± 95% Student-t half-width over the items both scored), e.g. a photo network over
the pull-push fill it starts from (docs/photos.md):

    .venv/bin/python bench/photobench_gain.py /work/bench/photobench \
        "lama:model=/work/runs/lama-photo128-pp.safetensors" --over pull-push
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

from inpaintkit.bench.photobench import read_rows
from inpaintkit.metrics import mean_ci


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("method", help="the method label whose gain is reported")
    parser.add_argument("--over", default="pull-push", help="the method it is paired against")
    args = parser.parse_args()
    scores: dict[tuple, dict[str, float]] = defaultdict(dict)
    for row in read_rows(args.folder):
        if row.get("error") is None:
            key = (row["kind"], row["photo"], row["index"])
            scores[key][row["method"]] = row["psnr_hole"]
    gains: dict[str, list[float]] = defaultdict(list)
    for (kind, _, _), by_method in scores.items():
        if args.method in by_method and args.over in by_method:
            gains[kind].append(by_method[args.method] - by_method[args.over])
    for kind, values in gains.items():
        mean, low, high = mean_ci(values)
        print(f"{kind:9s} n={len(values):3d} gain {mean:+.2f} ± {(high - low) / 2:.2f} dB")


if __name__ == "__main__":
    main()
