"""The one wrapper around every method (DESIGN rule 8): jobs in, images out.

It checks the jobs, cuts each image into the pieces its high-resolution strategy asks for
(:mod:`.strategy`: original | resize | crop | auto), converts them to tensors at the edge
(:mod:`inpaintkit.io.tensors`), batches the pieces of all jobs and samples together, seeds every
piece on its own, and pastes the known pixels back ONCE: a result's known pixels are the input's
exactly, whatever the method returns there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image

from ..errors import InpaintkitError
from ..io import hole_to_keep, image_to_tensor, input_to_tensor, tensor_to_images
from .base import Callback, Inpainter
from .strategy import (
    Piece,
    check_strategy,
    cut,
    feather_weights,
    paste,
    plan,
    resolve_strategy,
    uncut,
)


@dataclass(frozen=True)
class Job:
    """One input: an RGB image, its hole and any extra inputs the method takes.

    image: PIL RGB (W, H). hole: bool [H, W], True = hole. inputs: name -> a picture (PIL L/RGB
    or uint8 [H, W] / [H, W, 3]) or a bool mask [H, W] of the image's size, e.g. a sketch; the
    wrapper cuts them with the image's geometry and passes them to the method as keyword tensors
    (``io.input_to_tensor``). references: RGB images for reference-driven methods, which take
    them in their ``fit`` step; the wrapper carries them and does not cut them.
    """

    image: Image.Image
    hole: np.ndarray
    inputs: dict[str, Image.Image | np.ndarray] = field(default_factory=dict)
    references: tuple[Image.Image, ...] = ()


def sample_seed(seed: int, image_index: int, sample_index: int) -> int:
    """The seed of one output: independent of batch size and of the other inputs."""
    return int(np.random.SeedSequence([seed, image_index, sample_index]).generate_state(1)[0])


def piece_seed(seed: int, image_index: int, sample_index: int, piece_index: int) -> int:
    """The seed of one piece of one output: sample_seed for the first piece (so an image that is
    one piece draws what it drew before strategies existed), its own stream for the others."""
    if piece_index == 0:
        return sample_seed(seed, image_index, sample_index)
    key = [seed, image_index, sample_index, piece_index]
    return int(np.random.SeedSequence(key).generate_state(1)[0])


def run_method(
    method: Inpainter,
    jobs: list[Job],
    *,
    samples: int = 1,
    seed: int = 0,
    strategy: str = "auto",
    resize: bool = False,
    crop_margin: int | None = None,
    feather: int = 0,
    batch_size: int = 8,
    callback: Callback | None = None,
    seeds: list[int] | None = None,
) -> list[list[Image.Image]]:
    """Inpaint every job ``samples`` times; returns results[job][sample] as RGB images of the
    job's size.

    strategy: "auto" (default: "crop" when the image is larger than the method's
        ``image_size`` on either side, else "original"), "original", "resize" or "crop"; see
        :mod:`inpaintkit.methods.strategy`. ``resize=True`` is a synonym of "resize".
    crop_margin: context around each hole region for "crop", in image pixels (default
        image_size // 4, or 128 without a fixed size).
    feather: px band inside the hole border over which the fill is blended with the input's
        hole pixels (default 0: the fill as is). Known pixels stay exact.
    An empty hole returns the input unchanged (nothing is sampled); a full hole is pure sampling.
    Piece c of sample k of input n draws from ``piece_seed(seed, n, k, c)``, independent of the
    batch. Pieces of the same working size batch together, ``batch_size`` per method call.
    ``callback`` gets the method's step reports plus "rows", the (input, sample) of each batch
    row, and "pieces", its (input, sample, piece). ``seeds``, one per job, replaces that: job n
    then draws as a run of it alone with seed ``seeds[n]`` (inpaintkit.inpaint_batch).
    """
    if samples < 1:
        raise InpaintkitError(f"samples must be >= 1, got {samples}")
    if batch_size < 1:
        raise InpaintkitError(f"batch_size must be >= 1, got {batch_size}")
    weights = [feather_weights(job.hole, feather) for job in jobs]
    pieces = plan_jobs(method, jobs, strategy=strategy, resize=resize, crop_margin=crop_margin)
    working: dict[tuple[int, int], Job] = {}  # (input, piece) -> the method's view of it
    for n, job in enumerate(jobs):
        image = np.asarray(job.image)
        for c, piece in enumerate(pieces[n]):
            working[n, c] = Job(
                Image.fromarray(cut(piece, image)),
                cut(piece, job.hole),
                {name: cut(piece, _plane(value)) for name, value in job.inputs.items()},
            )
    by_size: dict[tuple[int, int], list[tuple[int, int, int]]] = {}  # (input, sample, piece)
    for n in range(len(jobs)):
        for k in range(samples):
            for c in range(len(pieces[n])):
                by_size.setdefault(working[n, c].image.size, []).append((n, k, c))
    results = [[np.array(job.image) for _ in range(samples)] for job in jobs]
    for group in by_size.values():
        for start in range(0, len(group), batch_size):
            chunk = group[start : start + batch_size]
            views = [working[n, c] for n, _, c in chunk]
            outputs = _call(
                method,
                views,
                [
                    piece_seed(seed, n, k, c) if seeds is None else piece_seed(seeds[n], 0, k, c)
                    for n, k, c in chunk
                ],
                callback=None if callback is None else _with_rows(callback, chunk),
            )
            for (n, k, c), view, out in zip(chunk, views, outputs):
                piece = pieces[n][c]
                fill = uncut(piece, np.asarray(out), np.asarray(view.image), view.hole)
                paste(results[n][k], piece, fill, weights[n])
    return [[Image.fromarray(arr) for arr in per_job] for per_job in results]


def plan_jobs(
    method: Inpainter,
    jobs: list[Job],
    *,
    strategy: str = "auto",
    resize: bool = False,
    crop_margin: int | None = None,
) -> list[list[Piece]]:
    """The pieces run_method cuts each job into (arguments as there), after checking the jobs;
    a job's method rows are ``samples * len(pieces)`` (what --dry-run counts)."""
    if resize:
        if strategy not in ("auto", "resize"):
            raise InpaintkitError(f"resize=True is strategy 'resize'; it contradicts {strategy!r}")
        strategy = "resize"
    check_strategy(strategy)
    _check_jobs(method, jobs)
    size = getattr(method, "image_size", None)
    multiple = getattr(method, "multiple", None) or 1
    return [
        plan(
            job.hole,
            resolve_strategy(strategy, size, *job.image.size, getattr(method, "crop_above", None)),
            image_size=size,
            multiple=multiple,
            margin=crop_margin,
        )
        for job in jobs
    ]


def fill_batch(
    method: Inpainter,
    jobs: list[Job],
    seeds: list[int],
    *,
    callback: Callback | None = None,
) -> list[Image.Image]:
    """One call of the method on these jobs (sizes already right, all equal); row i draws its
    noise from ``torch.Generator().manual_seed(seeds[i])`` whatever else the batch holds. Known
    pixels of each result are the input's exactly."""
    outputs = _call(method, jobs, seeds, callback=callback)
    return [_paste(job, out) for job, out in zip(jobs, outputs)]


def _call(
    method: Inpainter,
    jobs: list[Job],
    seeds: list[int],
    *,
    callback: Callback | None = None,
) -> list[Image.Image]:
    """The method's raw outputs for these jobs, as RGB images (known pixels as it left them)."""
    known = torch.cat([image_to_tensor(job.image) for job in jobs])
    keep = torch.cat([hole_to_keep(job.hole) for job in jobs])
    inputs = {
        name: torch.cat([input_to_tensor(job.inputs[name]) for job in jobs])
        for name in jobs[0].inputs
    }
    generators = [torch.Generator().manual_seed(int(s)) for s in seeds]
    out = method(known, keep, generators=generators, callback=callback, **inputs)
    return tensor_to_images(out)


def _paste(job: Job, filled: Image.Image) -> Image.Image:
    """The input with its hole taken from ``filled`` (same size); exact elsewhere."""
    out = np.where(job.hole[..., None], np.asarray(filled), np.asarray(job.image))
    return Image.fromarray(out.astype(np.uint8))


def _with_rows(callback: Callback, chunk: list[tuple[int, int, int]]) -> Callable[[dict], None]:
    """Tell the callback which (input, sample) and (input, sample, piece) each batch row is."""
    rows = [(n, k) for n, k, _ in chunk]
    return lambda info: callback({**info, "rows": rows, "pieces": chunk})


def _plane(value: Image.Image | np.ndarray) -> np.ndarray:
    """An extra input as an array the strategy can cut: uint8 [H, W] / [H, W, 3] or bool [H, W]."""
    if isinstance(value, Image.Image) and value.mode not in ("L", "RGB"):
        raise InpaintkitError(f"an input image must be of mode L or RGB, got {value.mode}")
    return np.asarray(value)


def _needed_inputs(method: Inpainter) -> tuple[str, ...]:
    needs = getattr(method, "needs", None)
    return tuple(getattr(needs, "inputs", ()) or ())


def _check_jobs(method: Inpainter, jobs: list[Job]) -> None:
    """Holes and inputs of the image's size, and exactly the inputs the method takes (those in
    its ``optional_inputs`` may be left out, for every job or for none)."""
    needed = _needed_inputs(method)
    name = getattr(method, "name", type(method).__name__)
    optional = set(getattr(method, "optional_inputs", ())) & set(needed)
    for key in sorted(optional):  # an optional input: for every job or for none (one batch)
        given = sum(key in job.inputs for job in jobs)
        if 0 < given < len(jobs):
            raise InpaintkitError(
                f"method {name}: the optional input {key!r} is given for {given} of "
                f"{len(jobs)} images; give it for every image or for none"
            )
    for n, job in enumerate(jobs):
        shape = (job.image.height, job.image.width)
        if job.hole.shape != shape:
            raise InpaintkitError(
                f"input {n}: hole is {job.hole.shape[1]}x{job.hole.shape[0]} but the image is "
                f"{job.image.width}x{job.image.height}"
            )
        missing = sorted(set(needed) - set(job.inputs) - optional)
        extra = sorted(set(job.inputs) - set(needed))
        if missing or extra:
            raise InpaintkitError(
                f"input {n}: method {name} takes the inputs {list(needed)}; "
                + (f"missing {missing}" if missing else f"it does not take {extra}")
            )
        for r, reference in enumerate(job.references):
            if not isinstance(reference, Image.Image) or reference.mode != "RGB":
                got = getattr(reference, "mode", type(reference).__name__)
                raise InpaintkitError(
                    f"input {n}: reference {r} must be a PIL RGB image (io.load_image), got {got}"
                )
        for key, value in job.inputs.items():
            plane = _plane(value)
            ok = plane.dtype == bool and plane.ndim == 2
            ok |= plane.dtype == np.uint8 and (
                plane.ndim == 2 or (plane.ndim == 3 and plane.shape[2] == 3)
            )
            if not ok or plane.shape[:2] != shape:
                raise InpaintkitError(
                    f"input {n}: {key!r} must be a picture (PIL L/RGB, uint8 [H, W] or "
                    f"[H, W, 3]) or a bool mask [H, W] of the image's size {shape}, got dtype "
                    f"{plane.dtype} shape {plane.shape}"
                )
