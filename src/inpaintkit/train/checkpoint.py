"""Training checkpoints: atomic writes, safe loads (``weights_only=True``) and RNG state capture.

A checkpoint is one ``torch.save`` file holding only tensors and plain containers, so it loads
with ``torch.load(weights_only=True)`` (no pickle of arbitrary objects). Global RNG states (torch,
CUDA, numpy, python ``random``) are converted to tensors / lists for that reason.
"""

from __future__ import annotations

import os
import random
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import InpaintkitError

CHECKPOINT_FORMAT = "inpaintkit-train-1"
CHECKPOINT_GLOB = "ckpt-*.pt"
_STEP_RE = re.compile(r"ckpt-(\d+)\.pt$")

#: keys every training checkpoint must have
REQUIRED_KEYS = (
    "format",
    "step",
    "model",
    "ema",
    "optimizer",
    "lr_scheduler",
    "rng",
    "sampler",
    "config",
)


def checkpoint_path(ckpt_dir: Path, step: int) -> Path:
    """``<ckpt_dir>/ckpt-<step, 8 digits>.pt``."""
    return Path(ckpt_dir) / f"ckpt-{step:08d}.pt"


def list_checkpoints(ckpt_dir: Path) -> list[tuple[int, Path]]:
    """(step, path) of every checkpoint in ``ckpt_dir``, ascending by step."""
    found = []
    for path in Path(ckpt_dir).glob(CHECKPOINT_GLOB):
        match = _STEP_RE.search(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found)


def latest_checkpoint(ckpt_dir: Path) -> Path | None:
    """The checkpoint with the highest step, or None when there is none."""
    found = list_checkpoints(ckpt_dir)
    return found[-1][1] if found else None


def atomic_torch_save(obj: Any, path: Path) -> Path:
    """``torch.save`` to a temporary file in the same folder, fsync, then ``os.replace``: a
    reader sees either the old file or the complete new one, never a partial write."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def load_checkpoint(path: Path, required: tuple[str, ...] = REQUIRED_KEYS) -> dict:
    """Load a checkpoint with ``weights_only=True`` onto the CPU.

    Raises InpaintkitError when the file is missing, truncated, not a torch file, not a dict, or
    lacks one of ``required``.
    """
    path = Path(path)
    if not path.is_file():
        raise InpaintkitError(f"checkpoint {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a damaged file
        raise InpaintkitError(
            f"checkpoint {path} is damaged or not an inpaintkit training checkpoint "
            f"({type(err).__name__}: {str(err)[:200]}); delete it to resume from an older one"
        ) from err
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise InpaintkitError(f"{path} is not an inpaintkit training checkpoint")
    missing = [k for k in required if k not in state]
    if missing:
        raise InpaintkitError(f"checkpoint {path} lacks {missing}; it cannot be resumed from")
    return state


def capture_rng_state(generator: torch.Generator | None = None) -> dict:
    """All global RNG states (torch CPU, every CUDA device, numpy, python) plus ``generator``'s,
    as tensors and plain containers (``weights_only``-loadable)."""
    np_state = np.random.get_state()
    py_version, py_internal, py_gauss = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {
            "kind": np_state[0],
            "keys": torch.from_numpy(np_state[1].astype(np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "python": {
            "version": py_version,
            "internal": torch.tensor(py_internal, dtype=torch.int64),
            "gauss_next": py_gauss,
        },
    }
    if generator is not None:
        state["generator"] = generator.get_state()
    return state


def restore_rng_state(state: dict, generator: torch.Generator | None = None) -> None:
    """Inverse of :func:`capture_rng_state` (CUDA states only if the device count matches)."""
    torch.set_rng_state(state["torch"])
    cuda = state.get("cuda") or []
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)
    np_state = state["numpy"]
    np.random.set_state(
        (
            np_state["kind"],
            np_state["keys"].numpy().astype(np.uint32),
            np_state["pos"],
            np_state["has_gauss"],
            np_state["cached_gaussian"],
        )
    )
    py = state["python"]
    random.setstate((py["version"], tuple(int(v) for v in py["internal"]), py["gauss_next"]))
    if generator is not None and "generator" in state:
        generator.set_state(state["generator"])
