"""Quality of a prior against training time: the held-out training objective per emoji style.

For each model (an embedded name, a .safetensors file, or a training checkpoint .pt whose EMA
weights are read), the eps MSE and the variational bound (bits per dimension, without the prior
term) on the TUNE split of each style, with one seeded set of (t, noise) draws shared by every
model, so the numbers compare. Cheap (a few hundred network calls per style): it is how recipes
and checkpoints are compared before the costly RePaint runs on the test split.

    python bench/prior_curve.py emoji32 /work/runs/prior2/ckpt/ckpt-00001000.pt \
        --styles google,twitter,facebook --out docs/data/prior_curve.csv
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import torch

from inpaintkit.data.emoji import load_emoji
from inpaintkit.io.tensors import arrays_to_tensor
from inpaintkit.models import load_model
from inpaintkit.train.export import checkpoint_model
from inpaintkit.train.report import heldout_loss


def load_any(spec: str):
    """A prior from an embedded name / file, or the EMA weights of a training checkpoint."""
    return checkpoint_model(Path(spec)) if spec.endswith(".pt") else load_model(spec)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--styles", default="google,twitter,facebook")
    parser.add_argument("--split", default="tune")
    parser.add_argument("--draws", type=int, default=4)
    parser.add_argument("--out", type=Path, default=None, help="append rows to this CSV")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    data = {s: arrays_to_tensor(load_emoji(s, args.split, size=32)) for s in args.styles.split(",")}
    rows = []
    for spec in args.models:
        model = load_any(spec)
        for style, images in data.items():
            started = time.perf_counter()
            result = heldout_loss(model, images, draws=args.draws)
            row = {"model": spec, "style": style, "split": args.split, "n": len(images), **result}
            row["seconds"] = round(time.perf_counter() - started, 1)
            rows.append(row)
            print(", ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}"
                            for k, v in row.items()), flush=True)  # fmt: skip
    if args.out:
        new = not args.out.exists()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with open(args.out, "a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            if new:
                writer.writeheader()
            writer.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
