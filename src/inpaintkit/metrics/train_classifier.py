"""Command line: train the project-internal emoji classifier and write its weights.

``python -m inpaintkit.metrics.train_classifier --out PATH --epochs N [--seed S]``
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .classifier import DEFAULT_WEIGHTS
from .classifier_training import train_classifier


def main(argv: list[str] | None = None) -> None:
    """Command line: ``python -m inpaintkit.metrics.train_classifier --out PATH --epochs N``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", type=Path, required=True, help=f"output .safetensors (shipped: {DEFAULT_WEIGHTS})"
    )
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--no-twitter", action="store_true", help="skip the twitter evaluation")
    args = parser.parse_args(argv)
    train_classifier(
        args.out,
        args.epochs,
        args.seed,
        num_threads=args.threads,
        eval_twitter=not args.no_twitter,
    )


if __name__ == "__main__":
    main()
