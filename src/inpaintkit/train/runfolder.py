"""The run folder's files besides checkpoints: config.json and log.csv.

Run folder layout (``out_dir`` of :func:`inpaintkit.train.loop.train`)::

    ckpt/ckpt-<step>.pt   networks, EMAs, optimizers, LR schedulers, step, RNG states, data position
    ckpt/config.json      the resolved configuration (preset included), written at start
    log.csv               step, <losses>, lr, images_per_s, elapsed_s
    samples/step-<step>.png  preview grid of the EMA networks
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

from ..errors import InpaintkitError

LOG_COLUMNS = ("step", "loss", "lr", "images_per_s", "elapsed_s")
"""The log columns of an objective whose only loss is "loss" (the DDPM prior)."""


def log_columns(loss_names: tuple[str, ...]) -> tuple[str, ...]:
    """step, the objective's loss names, lr, images_per_s, elapsed_s."""
    return ("step", *loss_names, "lr", "images_per_s", "elapsed_s")


def write_json(path: Path, data: dict) -> None:
    """Write ``data`` as sorted, indented JSON atomically (temporary file + os.replace)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_run_info(run_dir: Path) -> dict:
    """The contents of ``run_dir/ckpt/config.json``; InpaintkitError if it is not a run."""
    path = Path(run_dir) / "ckpt" / "config.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise InpaintkitError(f"{run_dir} is not a training run folder ({path}: {err})") from err


class CsvLog:
    """log.csv: one row per log step; on resume rows after the resumed step are dropped."""

    def __init__(self, path: Path, start_step: int, columns: tuple[str, ...] = LOG_COLUMNS):
        self.path = Path(path)
        self.columns = columns
        rows = []
        if start_step > 0 and self.path.exists():
            with open(self.path, newline="", encoding="utf-8") as f:
                rows = [r for r in csv.DictReader(f) if int(r["step"]) <= start_step]
        with open(self.path, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)

    def append(self, row: dict) -> None:
        with open(self.path, "a", newline="", encoding="utf-8") as f:
            csv.DictWriter(f, fieldnames=self.columns).writerow(row)
