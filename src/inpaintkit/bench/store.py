"""The output folder of a benchmark: its fixed configuration, the per-item results log and the
images. Everything a report needs is on disk here, so ``--report-only`` needs no data access.

Layout of DIR:
  bench.json                 the fixed configuration (data, size, seed, model), plot series and
                             every label's full option values
  results.jsonl              one JSON object per finished item, appended and fsynced
  images/truth/<image>.png   the ground truth at the benchmark size
  masks/<mask>/<image>.png   the hole (white = hole)
  images/<mask>/<method-label>/<image>.png   the inpainted result (label made file-safe)
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import InpaintkitError

CONFIG_FILE = "bench.json"
RESULTS_FILE = "results.jsonl"
FIXED_KEYS = ("data", "size", "seed", "runtime")
"""Settings that must not change between runs into one folder (plus the model's identity)."""
FIXED_DEFAULTS = {"runtime": "fp32"}
"""What a folder written before a setting existed ran with (every run before the bench's
``runtime`` setting was fp32: that was the CPU's auto precision, and no GPU ran one)."""


def row_key(row: dict) -> tuple:
    """The identity of an item: (method label, mask, image index, seed, model)."""
    return (row["method"], row["mask"], int(row["image"]), int(row["seed"]), row.get("model"))


def safe_label(label: str) -> str:
    """A method label as a folder name: ':' and ',' become '_', other unsafe characters '-'.
    "repaint:steps=50,jump_length=5" -> "repaint_steps=50_jump_length=5"."""
    return re.sub(r"[^A-Za-z0-9._=+-]", "-", label.replace(":", "_").replace(",", "_"))


class RunDir:
    """The folder ``root`` of one benchmark (created on demand)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    @property
    def results_path(self) -> Path:
        return self.root / RESULTS_FILE

    def result_path(self, mask: str, label: str, name: str) -> Path:
        return self.root / "images" / mask / safe_label(label) / f"{name}.png"

    def truth_path(self, name: str) -> Path:
        return self.root / "images" / "truth" / f"{name}.png"

    def hole_path(self, mask: str, name: str) -> Path:
        return self.root / "masks" / mask / f"{name}.png"

    # -- configuration -------------------------------------------------------------------------
    def read_config(self) -> dict | None:
        path = self.root / CONFIG_FILE
        if not path.exists():
            return None
        return json.loads(path.read_text())

    def check_config(
        self,
        fixed: dict,
        model: dict | None,
        series: dict[str, str],
        settings: dict[str, dict],
    ) -> dict:
        """Compare this run's fixed settings with the folder's; write the merged configuration.

        fixed: {"data", "size", "seed", "runtime"} (a folder without a key ran with
        FIXED_DEFAULTS'). model: {"spec", "source", "digest"} when the run uses a diffusion
        model, else None. series: label -> NFE-plot series, merged into the stored ones.
        settings: label -> every option value the label stands for (defaults included), merged
        into the stored ones; a label whose values changed (a default changed between runs) is
        an error, since its results would mix two samplers. A folder written before labels'
        values were kept stays without them: what its labels meant is not known.
        Raises InpaintkitError naming every setting that differs from the folder's. A model is
        the same when its weights are (sha256 over its tensors), whatever its name or path: the
        embedded model and an exported copy of it are interchangeable.
        """
        stored = self.read_config()
        unknown_meanings = stored is not None and "settings" not in stored
        if stored is not None:
            problems = [
                f"{key}: folder has {stored.get(key, FIXED_DEFAULTS.get(key))!r}, this run "
                f"{fixed[key]!r}"
                for key in FIXED_KEYS
                if stored.get(key, FIXED_DEFAULTS.get(key)) != fixed[key]
            ]
            old = stored.get("model")
            if model is not None and old is not None and old["digest"] != model["digest"]:
                problems.append(
                    f"model: folder has {old['source']} ({old['digest'][:12]}), this run "
                    f"{model['source']} ({model['digest'][:12]})"
                )
            for label, values in settings.items():
                before = stored.get("settings", {}).get(label) or {}
                # an option the folder never recorded is new since: its default kept the old walk
                changed = {k: v for k, v in values.items() if k in before and before[k] != v}
                if changed:
                    problems.append(
                        f"{label!r} now means "
                        + ", ".join(f"{k}={v}" for k, v in changed.items())
                        + ", in this folder "
                        + ", ".join(f"{k}={before[k]}" for k in changed)
                        + " (spell such options out in the spec)"
                    )
            if problems:
                raise InpaintkitError(
                    f"{self.root} holds a benchmark with another configuration ("
                    + "; ".join(problems)
                    + "); resuming would mix results: use another --out folder, or the same "
                    "settings"
                )
            model = model or old
            series = {**stored.get("series", {}), **series}
            settings = {**stored.get("settings", {}), **settings}
        config = {**fixed, "model": model, "series": series}
        if not unknown_meanings:
            config["settings"] = settings
        self.root.mkdir(parents=True, exist_ok=True)
        _write_atomic(self.root / CONFIG_FILE, (json.dumps(config, indent=2) + "\n").encode())
        return config

    # -- results log ---------------------------------------------------------------------------
    def read_rows(self) -> list[dict]:
        """Every recorded item, in order. A last line cut short by a kill is dropped from the
        file (it was never complete, so its item simply runs again)."""
        path = self.results_path
        if not path.exists():
            return []
        data = path.read_bytes()
        if data and not data.endswith(b"\n"):
            data = data[: data.rfind(b"\n") + 1]
            with open(path, "r+b") as f:
                f.truncate(len(data))
        rows = []
        for n, line in enumerate(data.decode().splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as err:
                    raise InpaintkitError(f"{path}:{n} is not valid JSON: {err}") from err
        return rows

    def append_row(self, row: dict) -> None:
        """Append one item as a JSON line, flushed and fsynced before returning."""
        self.root.mkdir(parents=True, exist_ok=True)
        line = json.dumps(row, allow_nan=True) + "\n"
        with open(self.results_path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    # -- images --------------------------------------------------------------------------------
    def save_png(self, path: Path, array: np.ndarray) -> None:
        """Write uint8 [H, W, 3] (or bool [H, W] as white = True) atomically."""
        if array.dtype == bool:
            array = array.astype(np.uint8) * 255
        path.parent.mkdir(parents=True, exist_ok=True)
        image = Image.fromarray(array)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".png.tmp")
        os.close(fd)
        _readable(tmp)
        try:
            image.save(tmp, format="PNG")
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    @staticmethod
    def load_png(path: Path) -> np.ndarray:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))

    @staticmethod
    def load_hole(path: Path) -> np.ndarray:
        with Image.open(path) as im:
            return np.asarray(im.convert("L")) > 127


def _readable(tmp: str) -> None:
    """mkstemp makes 0600 files; give the final file the usual 0666 & ~umask."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    _readable(tmp)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
