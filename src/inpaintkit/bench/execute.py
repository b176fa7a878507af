"""Running one chunk of work items: the unit a worker process or a Ray task executes.

A :class:`Task` carries everything it needs (the method spec, the model spec, the images, holes
and seeds), so workers never load data; a :class:`TaskResult` carries the filled images back and
the parent scores and records them. Built methods are cached per process; loaded models come
from the process-wide :func:`~inpaintkit.models.manager.shared_models` cache, so a worker loads
each model once.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from ..errors import InpaintkitError
from ..methods.wrapper import Job, fill_batch


@dataclass(frozen=True)
class Task:
    """One batch: items of one (method label, mask) setting.

    name/options: the method and its typed options (a :class:`~.specs.MethodSpec`'s).
    model: a load_model spec for methods that use one, else None. model_options: load_model's
    options for it (what a checkpoint cannot tell, e.g. a guided model's image_size), {} if
    none (the last field: it has a default). threads: torch intra-op
    threads while it runs (fixed, so results do not depend on how work is spread).
    images: uint8 [k, H, W, 3]; holes: bool [k, H, W] (True = fill); seeds: k ints.
    """

    label: str
    name: str
    options: dict
    model: str | None
    device: str
    threads: int
    mask: str
    indices: tuple[int, ...]
    seeds: tuple[int, ...]
    images: np.ndarray
    holes: np.ndarray
    model_options: tuple[tuple[str, object], ...] = ()


@dataclass(frozen=True)
class TaskResult:
    """images: uint8 [k, H, W, 3] with known pixels equal to the input's; seconds: wall time of
    the inpainting itself (building the method and loading the model excluded). errors: per
    item, None or the message of the InpaintkitError with which the method refused it (its
    image is then the unchanged input and must not be scored). nfe: the network evaluations the
    batch spent, where the method counts them as it runs (an adaptive sampler's
    ``last_stats.nfe``, e.g. StrDiffusion's); None where its cost is fixed or it was retried
    item by item."""

    label: str
    mask: str
    indices: tuple[int, ...]
    images: np.ndarray
    seconds: float
    worker: str
    errors: tuple[str | None, ...] = ()
    nfe: int | None = None


_INPAINTERS: dict[tuple, object] = {}


def build_inpainter(
    name: str, options: dict, model: str | None, device: str, model_options: dict | None = None
) -> object:
    """The method ``name`` with ``options`` (cached per process; models from the shared
    cache, :func:`~inpaintkit.models.manager.shared_models`, loaded once per process)."""
    from ..methods import build_method, get_method

    cls = get_method(name)
    model_options = dict(model_options or {})
    key = (cls, json.dumps(options, sort_keys=True), model, device, repr(sorted(model_options)))
    if key not in _INPAINTERS:
        if cls.needs.model_kind is not None:
            from ..models.manager import shared_models

            loaded = shared_models().get(model or "default", device, **model_options)
            _INPAINTERS[key] = build_method(
                name, model=loaded, device=device, options=options, progress=False
            )
        else:
            _INPAINTERS[key] = build_method(name, options=options)
    return _INPAINTERS[key]


def inpaint_batch(
    inpainter, images: np.ndarray, holes: np.ndarray, seeds: tuple[int, ...]
) -> np.ndarray:
    """Fill ``holes`` of ``images`` (uint8 [k,H,W,3], bool [k,H,W]) in one call of the method.

    Row i draws from ``torch.Generator().manual_seed(seeds[i])`` whatever the batch holds
    (:func:`~inpaintkit.methods.wrapper.fill_batch`; seeded per item, so a resumed run draws what an
    uninterrupted one does). Known pixels are pasted back exactly; an
    empty hole returns the image without calling the method. Returns uint8 [k, H, W, 3].
    """
    size = getattr(inpainter, "image_size", None)
    if size is not None and images.shape[1:3] != (size, size):
        raise InpaintkitError(
            f"{inpainter.name} works at {size}x{size} but the benchmark images are "
            f"{images.shape[2]}x{images.shape[1]}; use --size {size} (nothing is resized here)"
        )
    out = images.copy()
    rows = [i for i in range(len(images)) if holes[i].any()]
    if not rows:
        return out
    jobs = [Job(Image.fromarray(images[i]), holes[i]) for i in rows]
    for i, image in zip(rows, fill_batch(inpainter, jobs, [seeds[i] for i in rows])):
        out[i] = np.asarray(image)
    return out


def run_task(task: Task) -> TaskResult:
    """Run one task with ``task.threads`` torch threads (restored afterwards).

    A method that refuses an input with an InpaintkitError (e.g. exemplar-based filling when no
    patch is fully known) does not stop the benchmark: the batch is retried one item at a time
    and each refused item comes back with its error message. Other exceptions propagate.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(task.threads)
    try:
        inpainter = build_inpainter(
            task.name, task.options, task.model, task.device, dict(task.model_options)
        )
        started = time.perf_counter()
        nfe = None
        try:
            if hasattr(inpainter, "last_stats"):
                inpainter.last_stats = None  # a batch with no hole must not report the last run
            images = inpaint_batch(inpainter, task.images, task.holes, task.seeds)
            errors: list[str | None] = [None] * len(task.indices)
            nfe = getattr(getattr(inpainter, "last_stats", None), "nfe", None)
        except InpaintkitError:
            images, errors = _one_by_one(inpainter, task)
        seconds = time.perf_counter() - started
    finally:
        torch.set_num_threads(previous)
    worker = f"{socket.gethostname()}:{os.getpid()}"
    return TaskResult(
        task.label, task.mask, task.indices, images, seconds, worker, tuple(errors), nfe
    )


def _one_by_one(inpainter, task: Task) -> tuple[np.ndarray, list[str | None]]:
    images = task.images.copy()
    errors: list[str | None] = []
    for i in range(len(task.indices)):
        try:
            images[i] = inpaint_batch(
                inpainter, task.images[i : i + 1], task.holes[i : i + 1], task.seeds[i : i + 1]
            )[0]
            errors.append(None)
        except InpaintkitError as err:
            errors.append(str(err))
    return images, errors
