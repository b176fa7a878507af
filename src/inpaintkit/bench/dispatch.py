"""Where tasks run: in this process, in N local worker processes, or as Ray tasks.

Every path runs the same :func:`~.execute.run_task` on the same tasks, so their results are
identical; only the order in which results arrive differs (the caller records them as they come).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from multiprocessing import get_context

from ..errors import InpaintkitError
from .execute import Task, TaskResult, run_task


def execute(
    tasks: Iterable[Task], *, workers: int = 1, ray_address: str | None = None
) -> Iterator[TaskResult]:
    """Run ``tasks``, yielding each result as it finishes.

    workers: 1 = serially in this process; N > 1 = N spawned local processes. ray_address: run as
    Ray tasks instead, on the cluster at that address, or on a local Ray started here ("local",
    with ``workers`` CPUs when > 1). At most 2 x workers tasks are in flight at a time.
    """
    if workers < 1:
        raise InpaintkitError(f"workers must be >= 1, got {workers}")
    if ray_address is not None:
        yield from _ray(tasks, ray_address, workers)
    elif workers == 1:
        for task in tasks:
            yield run_task(task)
    else:
        yield from _processes(tasks, workers)


def exit_with_parent(parent: int, poll_s: float = 1.0) -> None:
    """Worker initializer: end this process once ``parent`` is gone. A pool's workers otherwise
    outlive a killed benchmark (SIGTERM/SIGKILL skip the pool's shutdown), idle, each holding
    its model, until someone finds them."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_s)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _processes(tasks: Iterable[Task], workers: int) -> Iterator[TaskResult]:
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=get_context("spawn"),
        initializer=exit_with_parent,
        initargs=(os.getpid(),),
    )
    pending: set[Future] = set()
    queue = iter(tasks)
    try:
        while True:
            for task in queue:
                pending.add(pool.submit(run_task, task))
                if len(pending) >= 2 * workers:
                    break
            if not pending:
                return
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                yield future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _ray(tasks: Iterable[Task], address: str, workers: int) -> Iterator[TaskResult]:
    try:
        import ray
    except ImportError as err:
        raise InpaintkitError("--ray-address needs Ray: pip install 'ray[default]'") from err
    started_here = not ray.is_initialized()
    if started_here:
        local = address == "local"
        ray.init(
            address=None if local else address,
            num_cpus=(workers if workers > 1 else os.cpu_count()) if local else None,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
        )
    remote = ray.remote(num_cpus=1)(run_task)
    limit = 2 * max(workers, int(ray.cluster_resources().get("CPU", 1)))
    queue = iter(tasks)
    pending: list = []
    try:
        while True:
            for task in queue:
                pending.append(remote.remote(task))
                if len(pending) >= limit:
                    break
            if not pending:
                return
            finished, pending = ray.wait(pending, num_returns=1)
            yield ray.get(finished[0])
    finally:
        for ref in pending:
            ray.cancel(ref)
        if started_here:
            ray.shutdown()
