"""The data order of a run: a pure function of (seed, position), so a resumed run sees the same
batches (exact resume after kill -9)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler


def as_item_dict(item: object) -> dict:
    """A dataset item as the loop's dict: a bare tensor (an image) becomes {"image": tensor}."""
    return item if isinstance(item, dict) else {"image": item}


class EpochStream(Dataset):
    """Position p of an endless stream of epochs -> item perm_e[p mod N], e = p // N, where
    perm_e is a permutation drawn from numpy's default_rng((seed, e)): data order depends only on
    (seed, position). Items come from ``data.item(index, epoch)`` when the data set has it (per
    epoch augmentation or holes), ``data[index]`` otherwise; always as a dict (``as_item_dict``).
    """

    def __init__(self, data: Dataset, seed: int) -> None:
        self.data = data
        self.seed = seed
        self.num_items = len(data)
        self._perms: dict[int, np.ndarray] = {}

    def index_at(self, position: int) -> tuple[int, int]:
        """(item index, epoch) at stream ``position``."""
        epoch, offset = divmod(position, self.num_items)
        perm = self._perms.get(epoch)
        if perm is None:
            perm = np.random.default_rng((self.seed, epoch)).permutation(self.num_items)
            self._perms = {epoch: perm}  # keep only the current epoch
        return int(perm[offset]), epoch

    def __len__(self) -> int:  # pragma: no cover - only a hint for DataLoader
        return self.num_items

    def __getitem__(self, position: int) -> dict:
        index, epoch = self.index_at(position)
        return as_item_dict(item_at(self.data, index, epoch))


def item_at(data: Dataset, index: int, epoch: int) -> object:
    """``data.item(index, epoch)`` when the data set defines it, else ``data[index]``."""
    item = getattr(data, "item", None)
    return item(index, epoch) if callable(item) else data[index]


def fixed_batch(data: Dataset, count: int) -> dict[str, torch.Tensor]:
    """The first ``count`` items (pass 0) stacked: a fixed batch for previews and evaluation."""
    items = [as_item_dict(item_at(data, i, 0)) for i in range(min(count, len(data)))]
    return {key: torch.stack([item[key] for item in items]) for key in items[0]}


class StepBatches(Sampler[list[int]]):
    """Stream positions for this process, one batch per step from ``start_step`` on (endless)."""

    def __init__(self, start_step: int, global_batch: int, rank: int, world: int) -> None:
        self.start_step = start_step
        self.global_batch = global_batch
        self.local = global_batch // world
        self.rank = rank

    def __iter__(self) -> Iterator[list[int]]:
        step = self.start_step
        while True:
            first = step * self.global_batch + self.rank * self.local
            yield list(range(first, first + self.local))
            step += 1
