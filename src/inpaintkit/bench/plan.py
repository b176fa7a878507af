"""Work items and their seeds: (method, mask setting, image index), grouped into chunks.

Seeds depend only on (run seed, mask setting, image index), never on the method, the batch or
the order of work. So every method sees the SAME hole on a given image (a paired comparison),
every RePaint setting starts from the same noise (common random numbers), and a resumed or
parallel run draws exactly what an uninterrupted serial run draws.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from ..masks import make_hole

_MASK_STREAM = 1  # SeedSequence stream ids: masks and sampling never share a stream
_SAMPLE_STREAM = 2


def _derive(seed: int, mask: str, image_index: int, stream: int) -> int:
    words = [seed, zlib.crc32(mask.encode()), image_index, stream]
    return int(np.random.SeedSequence(words).generate_state(1)[0])


def mask_seed(seed: int, mask: str, image_index: int) -> int:
    """The seed of the hole of image ``image_index`` under mask setting ``mask`` (>= 0)."""
    return _derive(seed, mask, image_index, _MASK_STREAM)


def item_seed(seed: int, mask: str, image_index: int) -> int:
    """The sampling seed of an item (a method's torch.Generator / numpy Generator)."""
    return _derive(seed, mask, image_index, _SAMPLE_STREAM)


def bench_hole(kind: str, size: int, seed: int, image_index: int) -> np.ndarray:
    """bool [size, size], True = hole: ``make_hole(kind, size, seed=mask_seed(...))``."""
    return make_hole(kind, (size, size), seed=mask_seed(seed, kind, image_index))


@dataclass(frozen=True)
class Chunk:
    """Items of one (method label, mask) that run as one batch: their image indices."""

    label: str
    mask: str
    indices: tuple[int, ...]


def plan_chunks(
    labels: list[str],
    masks: list[str],
    count: int,
    batch_size: int,
    done: set[tuple[str, str, int]],
) -> list[Chunk]:
    """The chunks still to run, in order method -> mask -> image block.

    Images are split into FIXED blocks [0, B), [B, 2B), ... (B = batch_size); a chunk is a
    block's items not in ``done`` ((label, mask, index) triples). Since a chunk's results are
    recorded together, rerunning the same command rebuilds exactly the batches an
    uninterrupted run has (batched network outputs differ from single ones in the last float
    bits, so this keeps resumed results bit-identical).
    """
    chunks = []
    for label in labels:
        for mask in masks:
            for start in range(0, count, batch_size):
                todo = tuple(
                    i for i in range(start, min(count, start + batch_size))
                    if (label, mask, i) not in done
                )  # fmt: skip
                if todo:
                    chunks.append(Chunk(label, mask, todo))
    return chunks
