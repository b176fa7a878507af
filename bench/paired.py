"""Paired differences against any method of an ``inpaintkit bench`` folder (the folder's own
report pairs against its first method): each method's score minus the reference's, image by
image. For example the survey CNNs against RePaint at the paper setting (docs/benchmarks.md):

    .venv/bin/python bench/paired.py /work/bench/v2-emoji-test --against repaint

``--reference-folder`` takes the reference's scores from another folder run on the same data,
size and seed (checked hole by hole), e.g. inpaint-ddpm on inpaint32 against RePaint on
emoji32-v2, which cannot share one folder.
"""

from __future__ import annotations

import argparse

from inpaintkit.bench.paired import paired_table
from inpaintkit.bench.report import METRICS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder")
    parser.add_argument("--against", required=True, help="the reference method's label")
    parser.add_argument("--metric", default="psnr_hole", choices=sorted(METRICS))
    parser.add_argument("--reference-folder", help="take the reference from this folder")
    args = parser.parse_args()
    print(paired_table(args.folder, args.against, args.metric, args.reference_folder))


if __name__ == "__main__":
    main()
