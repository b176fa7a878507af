"""Running one job: the method from the registry, the model from the pool, the wrapper's
high-resolution strategy, progress reports with an ETA and an x0 preview, and cancellation.

Progress: diffusion methods report every step with ``{"step", "nfe", "x0_hat", ...}``; the
network evaluations of the whole job are the method's ``cost(options)`` per method call times
the calls the wrapper will make (:func:`planned_calls`), so the ETA is elapsed time x (NFE
left / NFE done). Methods without a network report nothing and finish in one go.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
from PIL import Image

from ..io import tensor_to_images
from ..methods import Job, build_method, get_method, plan_jobs, run_method
from .jobs import WebJob
from .models import ModelPool
from .results import ResultsStore, png_bytes

BATCH_SIZE = 8
PREVIEW_SIDE = 256
"""Largest side of an x0 preview (previews of large crops are scaled down)."""


def planned_calls(method: object, job: Job, samples: int, strategy: str) -> int:
    """How many method calls run_method makes for ``samples`` outputs of ``job``: its pieces
    grouped by working size, :data:`BATCH_SIZE` rows per call."""
    pieces = plan_jobs(method, [job], strategy=strategy)[0]
    sizes: dict[tuple[int, int], int] = {}
    for piece in pieces:
        key = (piece.size, piece.size) if piece.size else piece.padded
        sizes[key] = sizes.get(key, 0) + samples
    return sum(math.ceil(rows / BATCH_SIZE) for rows in sizes.values())


class Progress:
    """Turns a method's step reports into the job's progress, preview and cancellation checks.

    total_nfe: network evaluations of the whole job (0: unknown); clock: time.monotonic;
    preview_interval_s: at most one preview per this many seconds.
    """

    def __init__(
        self,
        job: WebJob,
        total_nfe: int,
        *,
        preview_interval_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.job, self.total_nfe, self.clock = job, total_nfe, clock
        self.preview_interval_s = preview_interval_s
        self.started = clock()
        self.base = 0  # NFE of finished method calls
        self.last_nfe = 0
        self.last_preview = -math.inf
        self.steps = 0

    def __call__(self, info: dict) -> None:
        self.job.check_cancelled()  # a cancelled job stops at its next step
        nfe = int(info.get("nfe", 0))
        if nfe < self.last_nfe:  # a new method call (the next batch or piece) started over
            self.base += self.last_nfe
        self.last_nfe = nfe
        self.steps += 1
        done = self.base + nfe
        elapsed = self.clock() - self.started
        left = max(self.total_nfe - done, 0)
        eta = elapsed / done * left if done and self.total_nfe else None
        progress = {
            "step": self.steps,
            "nfe": done,
            "total_nfe": self.total_nfe,
            "elapsed_s": round(elapsed, 3),
            "eta_s": None if eta is None else round(eta, 3),
        }
        changes: dict = {"progress": progress}
        x0 = info.get("x0_hat")
        now = self.clock()
        if x0 is not None and now - self.last_preview >= self.preview_interval_s:
            self.last_preview = now
            preview = tensor_to_images(x0[:1].detach().float().cpu().clamp(-1, 1))[0]
            preview.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
            changes.update(preview=png_bytes(preview), preview_version=self.job.preview_version + 1)
        self.job.touch(**changes)


def run_job(
    job: WebJob, *, pool: ModelPool, store: ResultsStore, device: str, preview_interval_s: float
) -> None:
    """Run ``job`` and save its input, hole and K results in ``store`` (result-0.png, ...);
    known pixels of every result equal the input's (the wrapper pastes them back)."""
    cls = get_method(job.method)
    model = pool.model_for(cls) if job.model is None else pool.load(job.model)
    job.check_cancelled()
    method = build_method(
        job.method, model=model, device=device, options=job.options, progress=False
    )
    work = Job(job.image, job.hole)
    total = int(cls.cost(job.options).get("network_evaluations", 0))
    total *= planned_calls(method, work, job.samples, job.strategy)
    progress = Progress(job, total, preview_interval_s=preview_interval_s)
    job.touch(progress={"step": 0, "nfe": 0, "total_nfe": total, "elapsed_s": 0.0, "eta_s": None})
    with pool.run_lock(model):
        job.check_cancelled()
        results = run_method(
            method,
            [work],
            samples=job.samples,
            seed=job.seed,
            strategy=job.strategy,
            feather=job.feather,
            batch_size=BATCH_SIZE,
            callback=progress,
        )[0]
    job.check_cancelled()
    hole = Image.fromarray(job.hole.astype(np.uint8) * 255)  # white = hole, as io.save_hole
    files = {"input.png": png_bytes(job.image), "hole.png": png_bytes(hole)}
    files.update({f"result-{k}.png": png_bytes(image) for k, image in enumerate(results)})
    store.save(job.id, files)
    job.touch(results=[name for name in files if name.startswith("result-")])
