"""Jobs of a server: their records, a bounded queue, a pool of worker threads, cancellation.

A job is ``queued`` when accepted, ``running`` once a worker takes it, and ends ``done``,
``failed`` or ``cancelled``. At most ``max_queue`` jobs wait; one more is refused with
:class:`QueueFull`, which carries a Retry-After estimate (the mean run time of recent jobs times
the jobs ahead, per worker). Cancelling a queued job ends it at once; a running job sees its
``cancel`` event at the method's next step report (diffusion methods report every step) or, for
methods without steps, when it returns, and its results are then dropped.
"""

from __future__ import annotations

import math
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from ..errors import InpaintkitError

TERMINAL = ("done", "failed", "cancelled")
STATUSES = ("queued", "running", *TERMINAL)
KEEP_FINISHED = 1000
"""Finished job records kept in memory (their files follow the results store's own rules)."""


class JobCancelled(Exception):
    """Raised inside a running job when its cancel event is set."""


class QueueFull(Exception):
    """The queue holds ``max_queue`` jobs; ``retry_after`` is a wait estimate in seconds."""

    def __init__(self, retry_after: int, queued: int) -> None:
        super().__init__(f"the queue is full ({queued} jobs waiting); retry in {retry_after} s")
        self.retry_after, self.queued = retry_after, queued


@dataclass
class WebJob:
    """One request to inpaint: what to run and, as it runs, its status, progress and results.

    options: the method's parsed Options. image: PIL RGB; hole: bool [H, W] (True = hole); both
    are let go when the job ends (its files are in the results store), ``size`` stays.
    progress: the latest step report (step, nfe, total_nfe, elapsed_s, eta_s); preview: the
    latest predicted x0 as PNG bytes; version: bumped on every change (event streams poll it).
    model: a model spec that overrides the server's choice (None: the pool's); feather: px the
    fill is blended over inside the hole border; chosen: why "auto" picked this (None when the
    request named the method).
    """

    method: str
    options: Any
    image: Image.Image | None
    hole: np.ndarray | None
    samples: int = 1
    seed: int = 0
    strategy: str = "auto"
    model: str | None = None
    feather: int = 0
    chosen: str | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    status: str = "queued"
    created: float = 0.0
    started: float | None = None
    finished: float | None = None
    error: str | None = None
    results: list[str] = field(default_factory=list)
    progress: dict = field(default_factory=dict)
    preview: bytes | None = None
    preview_version: int = 0
    version: int = 0
    cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    size: tuple[int, int] = (0, 0)

    def __post_init__(self) -> None:
        if self.image is not None:
            self.size = self.image.size

    def touch(self, **changes: object) -> None:
        """Set fields and bump ``version`` (what event streams watch)."""
        for key, value in changes.items():
            setattr(self, key, value)
        self.version += 1

    def check_cancelled(self) -> None:
        """Raise :class:`JobCancelled` when the job was cancelled."""
        if self.cancel.is_set():
            raise JobCancelled(self.id)


class JobQueue:
    """Runs jobs on ``workers`` threads with at most ``max_queue`` waiting.

    run: ``run(job)`` does the work (raising JobCancelled, InpaintkitError or anything else);
    clock: seconds, for the jobs' times and the Retry-After estimate.
    """

    def __init__(
        self,
        run: Callable[[WebJob], None],
        *,
        workers: int,
        max_queue: int,
        clock: Callable[[], float],
    ) -> None:
        self._run, self.workers, self.max_queue, self.clock = run, workers, max_queue, clock
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="inpaintkit-job")
        self._lock = threading.Lock()
        self._jobs: OrderedDict[str, WebJob] = OrderedDict()
        self._queued = 0
        self._running = 0
        self._durations: list[float] = []
        self.counts = {"accepted": 0, "refused": 0, **{status: 0 for status in TERMINAL}}

    def retry_after(self) -> int:
        """Seconds until a place is likely free: mean recent run time x jobs ahead / workers."""
        mean = sum(self._durations) / len(self._durations) if self._durations else 1.0
        ahead = self._queued + self._running
        return max(1, math.ceil(mean * ahead / self.workers))

    def check_room(self) -> None:
        """Raise :class:`QueueFull` when a job submitted now would be refused (a cheap check
        before an upload is decoded; :meth:`submit` checks again)."""
        with self._lock:
            if self._queued >= self.max_queue:
                self.counts["refused"] += 1
                raise QueueFull(self.retry_after(), self._queued)

    def submit(self, job: WebJob) -> WebJob:
        """Queue ``job`` or raise :class:`QueueFull`."""
        with self._lock:
            if self._queued >= self.max_queue:
                self.counts["refused"] += 1
                raise QueueFull(self.retry_after(), self._queued)
            self._queued += 1
            self.counts["accepted"] += 1
            job.created = self.clock()
            self._jobs[job.id] = job
            self._forget_old()
        self._pool.submit(self._work, job)
        return job

    def get(self, job_id: str) -> WebJob | None:
        """The job with this id, or None."""
        with self._lock:
            return self._jobs.get(job_id)

    def jobs(self) -> list[WebJob]:
        """Every job record held, oldest first."""
        with self._lock:
            return list(self._jobs.values())

    def cancel(self, job_id: str) -> WebJob | None:
        """Cancel a job: a queued one ends now, a running one at its next step. Returns the job
        (None when unknown); a finished job is left as it is (InpaintkitError)."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            if job.status in TERMINAL:
                raise InpaintkitError(f"job {job_id} has already ended ({job.status})")
            job.cancel.set()
            if job.status == "queued":
                self._queued -= 1
                self._end(job, "cancelled")
        return job

    def stats(self) -> dict:
        """Queue counters for /api/v1/info: queued, running, capacity and totals."""
        with self._lock:
            return {
                "queued": self._queued,
                "running": self._running,
                "max_queue": self.max_queue,
                "workers": self.workers,
                **self.counts,
            }

    def shutdown(self) -> None:
        """Cancel every job and stop the workers (waits for running jobs to see the cancel)."""
        for job in self.jobs():
            if job.status not in TERMINAL:
                try:
                    self.cancel(job.id)
                except InpaintkitError:
                    pass
        self._pool.shutdown(wait=True, cancel_futures=True)

    # -- worker side -----------------------------------------------------------------------------

    def _end(self, job: WebJob, status: str, error: str | None = None) -> None:
        """Mark ``job`` finished and let go of its pixels (caller holds the lock): a thousand
        finished records must not hold a thousand photos."""
        job.touch(status=status, finished=self.clock(), error=error, image=None, hole=None)
        self.counts[status] += 1

    def _work(self, job: WebJob) -> None:
        with self._lock:
            if job.status != "queued":  # cancelled while it waited
                return
            self._queued -= 1
            self._running += 1
            job.touch(status="running", started=self.clock())
        status, error = "done", None
        try:
            job.check_cancelled()
            self._run(job)
            job.check_cancelled()
        except JobCancelled:
            status = "cancelled"
        except InpaintkitError as err:
            status, error = "failed", str(err)
        except Exception as err:  # a job's failure must not stop the worker
            status, error = "failed", f"internal error: {type(err).__name__}: {err}"
        with self._lock:
            self._running -= 1
            if status == "done":
                self._durations = [*self._durations[-19:], self.clock() - (job.started or 0.0)]
            else:
                job.results = []
            self._end(job, status, error)

    def _forget_old(self) -> None:
        """Drop the oldest finished records beyond :data:`KEEP_FINISHED` (caller holds the lock)."""
        finished = [j for j in self._jobs.values() if j.status in TERMINAL]
        for job in finished[: max(0, len(finished) - KEEP_FINISHED)]:
            del self._jobs[job.id]
