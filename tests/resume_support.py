"""The exact-resume check every trainer's tests share: train straight, train again and "kill"
it after a checkpoint (later checkpoints deleted), resume, and compare bit for bit."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import torch

from inpaintkit.train.checkpoint import list_checkpoints, load_checkpoint

STATE_KEYS = ("model", "ema", "optimizer", "rng")


def straight_and_resumed(
    run: Callable[[Path, bool], Path], root: Path, kill_after: int
) -> tuple[dict, dict]:
    """The last checkpoints of ``run(root/"a", False)`` and of ``run(root/"b", ...)`` killed
    after step ``kill_after`` then resumed (``run(out, resume)`` returns the last checkpoint)."""
    straight = run(root / "a", False)
    run(root / "b", False)
    for step, path in list_checkpoints(root / "b" / "ckpt"):
        if step > kill_after:
            path.unlink()
    resumed = run(root / "b", True)
    return load_checkpoint(straight), load_checkpoint(resumed)


def tensors(tree: object, prefix: str = "") -> Iterator[tuple[str, torch.Tensor]]:
    """Every tensor of a nested dict, by its slash-joined path."""
    if isinstance(tree, torch.Tensor):
        yield prefix, tree
    elif isinstance(tree, dict):
        for key, value in tree.items():
            yield from tensors(value, f"{prefix}/{key}")


def assert_same_state(a: dict, b: dict, keys: tuple[str, ...] = STATE_KEYS) -> None:
    """Both checkpoints hold the same non-empty tensors under each of ``keys``, bit for bit."""
    for key in keys:
        left, right = dict(tensors(a[key])), dict(tensors(b[key]))
        assert left.keys() == right.keys() and left, key
        for path, tensor in left.items():
            assert torch.equal(tensor, right[path]), (key, path)


def logged_losses(run_dir: Path) -> list[list[str]]:
    """The run's log.csv rows without their last three (timing) columns."""
    return [row.split(",")[:-3] for row in (run_dir / "log.csv").read_text().splitlines()]
