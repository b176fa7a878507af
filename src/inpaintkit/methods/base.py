"""The Inpainter protocol and the one shared wrapper around every method (DESIGN rule 8):
size checks, optional resizing, K samples with per-sample seeds, batching, and pasting the
known pixels back exactly."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Protocol

import numpy as np
import torch
from PIL import Image

from ..errors import InpaintkitError
from ..io import hole_to_keep, image_to_tensor, tensor_to_images

Callback = Callable[[dict], None]


class Inpainter(Protocol):
    """A method that fills holes in a batch of images.

    ``image_size`` is the only resolution it works at (a diffusion model's), or None for any.
    ``__call__`` takes known [B,3,H,W] in [-1,1] and keep [B,1,H,W] (1 = known) and one
    torch.Generator per row, and returns [B,3,H,W] in [-1,1].
    """

    name: str
    image_size: int | None

    def __call__(
        self,
        known: torch.Tensor,
        keep: torch.Tensor,
        *,
        generators: list[torch.Generator],
        callback: Callback | None = None,
    ) -> torch.Tensor: ...


class ArrayInpainter:
    """Base of the methods that fill one uint8 image at a time (the classical baselines).

    A subclass sets ``name``, ``summary`` and ``Options`` (a dataclass) and implements
    :meth:`fill`; conversion, batching and seeding live here once.
    """

    name: str = ""
    summary: str = ""
    Options: type = type(None)
    uses_model = False
    image_size: int | None = None

    def __init__(self, options: object | None = None) -> None:
        self.options = options if options is not None else self.Options()

    def fill(self, image: np.ndarray, hole: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """image: uint8 [H,W,3]; hole: bool [H,W] (True = fill); returns uint8 [H,W,3]."""
        raise NotImplementedError

    def config(self) -> dict:
        return {"method": self.name, **asdict(self.options)}

    def __call__(
        self,
        known: torch.Tensor,
        keep: torch.Tensor,
        *,
        generators: list[torch.Generator],
        callback: Callback | None = None,
    ) -> torch.Tensor:
        rows = []
        for image, row_keep, generator in zip(tensor_to_images(known), keep, generators):
            rng = np.random.default_rng(generator.initial_seed())
            filled = self.fill(np.asarray(image), row_keep[0].cpu().numpy() == 0, rng)
            rows.append(image_to_tensor(Image.fromarray(filled)))
        return torch.cat(rows).to(known.device)


@dataclass(frozen=True)
class Job:
    """One input: an RGB image and its hole (bool [H, W], True = hole)."""

    image: Image.Image
    hole: np.ndarray


def sample_seed(seed: int, image_index: int, sample_index: int) -> int:
    """The seed of one output: independent of batch size and of the other inputs."""
    return int(np.random.SeedSequence([seed, image_index, sample_index]).generate_state(1)[0])


def run_inpainter(
    inpainter: Inpainter,
    jobs: list[Job],
    *,
    samples: int = 1,
    seed: int = 0,
    resize: bool = False,
    batch_size: int = 8,
    callback: Callback | None = None,
) -> list[list[Image.Image]]:
    """Inpaint every job ``samples`` times; returns results[job][sample] as RGB images.

    An empty hole returns the input unchanged (nothing is sampled); a full hole is pure sampling.
    Images whose size differs from ``inpainter.image_size`` are refused unless ``resize``: then
    the image and hole are resized to the model's size, inpainted, and the fill is resized back
    and pasted into the original known pixels (Lanczos for images; a pixel is a hole when any of
    its area is). Known pixels of the result always equal the input's. ``callback`` gets the
    method's step reports plus "rows": the (input, sample) of each batch row.
    """
    if samples < 1:
        raise InpaintkitError(f"samples must be >= 1, got {samples}")
    for n, job in enumerate(jobs):
        if job.hole.shape != (job.image.height, job.image.width):
            raise InpaintkitError(
                f"input {n}: hole is {job.hole.shape[1]}x{job.hole.shape[0]} but the image is "
                f"{job.image.width}x{job.image.height}"
            )
    prepared = [_prepare(inpainter.image_size, job, resize) for job in jobs]
    rows = [
        (n, k) for n, job in enumerate(jobs) if job.hole.any() for k in range(samples)
    ]  # (input, sample) pairs that need the method
    filled: dict[tuple[int, int], Image.Image] = {}
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        outputs = fill_batch(
            inpainter,
            [prepared[n] for n, _ in chunk],
            [sample_seed(seed, n, k) for n, k in chunk],
            callback=None if callback is None else _with_rows(callback, chunk),
        )
        filled.update(zip(chunk, outputs))
    return [[_paste(job, filled.get((n, k))) for k in range(samples)] for n, job in enumerate(jobs)]


def fill_batch(
    inpainter: Inpainter,
    jobs: list[Job],
    seeds: list[int],
    *,
    callback: Callback | None = None,
) -> list[Image.Image]:
    """One call of the method on these jobs (sizes already right); row i draws its noise from
    ``torch.Generator().manual_seed(seeds[i])`` whatever else the batch holds. Known pixels of
    each result are the input's exactly."""
    known = torch.cat([image_to_tensor(job.image) for job in jobs])
    keep = torch.cat([hole_to_keep(job.hole) for job in jobs])
    generators = [torch.Generator().manual_seed(int(s)) for s in seeds]
    out = inpainter(known, keep, generators=generators, callback=callback)
    return [_paste(job, image) for job, image in zip(jobs, tensor_to_images(out))]


def _with_rows(callback: Callback, rows: list[tuple[int, int]]) -> Callback:
    """Tell the callback which (input, sample) each batch row is."""
    return lambda info: callback({**info, "rows": rows})


def _prepare(size: int | None, job: Job, resize: bool) -> Job:
    width, height = job.image.size
    if size is None or (width, height) == (size, size):
        return job
    if not resize:
        raise InpaintkitError(
            f"the model works at {size}x{size} but the image is {width}x{height}; nothing is "
            "resized silently: pass resize=True (CLI: --resize) to inpaint at the model's size "
            "and paste the fill back into the original, use a model trained at this size, or "
            "a classical method that works at any size (--method telea; see inpaintkit methods)"
        )
    image = job.image.resize((size, size), Image.Resampling.LANCZOS)
    # a model pixel is a hole when any part of its area is (box filter, then > 0)
    hole = Image.fromarray(job.hole.astype(np.uint8) * 255).resize(
        (size, size), Image.Resampling.BOX
    )
    return Job(image, np.asarray(hole) > 0)


def _paste(job: Job, filled: Image.Image | None) -> Image.Image:
    """The input with its hole taken from ``filled`` (resized back if needed); exact elsewhere."""
    if filled is None:
        return job.image.copy()
    if filled.size != job.image.size:
        filled = filled.resize(job.image.size, Image.Resampling.LANCZOS)
    out = np.where(job.hole[..., None], np.asarray(filled), np.asarray(job.image))
    return Image.fromarray(out.astype(np.uint8))
