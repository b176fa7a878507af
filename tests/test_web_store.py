"""The web app's parts on their own: the results store's expiry and size cap on a fake clock,
the job queue's bound, cancellation and Retry-After, the progress's ETA, the per-model run
locks, and the request-size guard."""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
import pytest

pytest.importorskip("fastapi")

from PIL import Image  # noqa: E402

from inpaintkit.errors import InpaintkitError  # noqa: E402
from inpaintkit.web.errors import WebError  # noqa: E402
from inpaintkit.web.jobs import TERMINAL, JobQueue, QueueFull, WebJob  # noqa: E402
from inpaintkit.web.limits import BodyLimit  # noqa: E402
from inpaintkit.web.models import ModelPool  # noqa: E402
from inpaintkit.web.results import ResultsStore  # noqa: E402
from inpaintkit.web.runner import Progress  # noqa: E402

A, B, C = "a" * 32, "b" * 32, "c" * 32


class Clock:
    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def finish(jobs: list[WebJob], timeout: float = 20.0) -> None:
    """Wait until every job has ended."""
    deadline = time.monotonic() + timeout
    while any(j.status not in TERMINAL for j in jobs) and time.monotonic() < deadline:
        time.sleep(0.005)


def job(**kw) -> WebJob:
    return WebJob("telea", None, Image.new("RGB", (4, 4)), np.zeros((4, 4), bool), **kw)


def test_results_store_expires_and_caps_size_oldest_first(tmp_path) -> None:
    clock = Clock()
    store = ResultsStore(tmp_path, max_bytes=250, max_age_s=100, clock=clock)
    store.save(A, {"result-0.png": b"x" * 100})
    clock.now = 10
    store.save(B, {"result-0.png": b"y" * 100, "input.png": b"z" * 20})
    assert store.total_bytes() == 220 and A in store and B in store
    clock.now = 20
    store.save(C, {"result-0.png": b"w" * 100})  # 320 > 250: the oldest (A) goes
    assert A not in store and (B in store) and (C in store) and store.total_bytes() == 220
    assert not (tmp_path / A).exists()
    with pytest.raises(WebError, match="size cap") as err:
        store.path(A, "result-0.png")
    assert err.value.status == 404
    assert store.path(B, "input.png").read_bytes() == b"z" * 20
    clock.now = 109.9  # B was saved at 10: still 99.9 s old
    assert store.sweep() == []
    clock.now = 110
    assert store.sweep() == [B]
    with pytest.raises(WebError, match="expired"):
        store.path(B, "result-0.png")
    # a new store adopts the folder's jobs
    again = ResultsStore(tmp_path, max_bytes=250, max_age_s=1e9, clock=clock)
    assert C in again and again.total_bytes() == 100


@pytest.mark.parametrize(
    ("job_id", "name"),
    [
        ("../" + A[3:], "input.png"),
        (A, "../input.png"),
        (A, "..%2finput.png"),
        (A, "x.txt"),
        (A.upper(), "input.png"),
        (A, "/etc/passwd"),
        (A, "result-0.png/.."),
    ],
)
def test_results_store_refuses_names_outside_its_pattern(tmp_path, job_id, name) -> None:
    store = ResultsStore(tmp_path / "r", max_bytes=10**6, max_age_s=100)
    store.save(A, {"input.png": b"p"})
    with pytest.raises(WebError) as err:
        store.path(job_id, name)
    assert err.value.status == 404


def test_queue_bound_cancel_and_retry_after() -> None:
    gate = threading.Event()
    ran: list[str] = []

    def run(j: WebJob) -> None:
        while not gate.wait(0.005) and not j.cancel.is_set():  # a method that stops when told
            pass
        ran.append(j.id)

    clock = Clock(50.0)
    queue = JobQueue(run, workers=1, max_queue=2, clock=clock)
    first = queue.submit(job())
    while first.status != "running":
        pass
    waiting = [queue.submit(job()), queue.submit(job())]
    with pytest.raises(QueueFull) as full:
        queue.submit(job())
    # no finished job yet: 1 s per job x (2 queued + 1 running) / 1 worker
    assert full.value.retry_after == 3 and full.value.queued == 2
    assert queue.cancel(waiting[0].id).status == "cancelled"
    with pytest.raises(InpaintkitError, match="already ended"):
        queue.cancel(waiting[0].id)
    last = queue.submit(job())  # the cancelled job's place is free
    gate.set()
    finish([first, waiting[1], last])
    assert waiting[0].id not in ran and len(ran) == 3
    assert queue.stats()["cancelled"] == 1 and queue.stats()["done"] == 3
    # shutting down cancels what has not ended
    gate.clear()
    running, queued = queue.submit(job()), queue.submit(job())
    queue.shutdown()
    assert (running.status, queued.status) == ("cancelled", "cancelled")


def test_queue_reports_failures_and_keeps_working() -> None:
    def run(j: WebJob) -> None:
        if j.seed == 1:
            raise InpaintkitError("bad job")
        if j.seed == 2:
            raise ZeroDivisionError("boom")

    queue = JobQueue(run, workers=1, max_queue=5, clock=Clock())
    jobs = [queue.submit(job(seed=s)) for s in (1, 2, 0)]
    finish(jobs)
    assert [j.status for j in jobs] == ["failed", "failed", "done"]
    assert jobs[0].error == "bad job" and "ZeroDivisionError: boom" in jobs[1].error
    # ended jobs let go of their pixels and keep their size
    assert all(j.image is None and j.hole is None and j.size == (4, 4) for j in jobs)


def test_retry_after_uses_recent_run_times() -> None:
    queue = JobQueue(lambda j: None, workers=2, max_queue=5, clock=Clock())
    queue._durations = [2.0, 4.0]  # mean 3 s
    queue._queued, queue._running = 3, 2
    assert queue.retry_after() == 8  # ceil(3 x 5 / 2)


def test_progress_eta_and_calls_that_start_over() -> None:
    clock = Clock(0.0)
    record = job()
    progress = Progress(record, total_nfe=100, preview_interval_s=1.0, clock=clock)
    clock.now = 5.0
    progress({"step": 0, "nfe": 25})
    assert record.progress["nfe"] == 25 and record.progress["eta_s"] == pytest.approx(15.0)
    clock.now = 10.0
    progress({"step": 1, "nfe": 50})
    progress({"step": 0, "nfe": 10})  # the next method call counts from 0 again
    assert record.progress["nfe"] == 60 and record.progress["eta_s"] == pytest.approx(
        10 / 60 * 40, abs=1e-3
    )
    record.cancel.set()
    with pytest.raises(Exception, match=record.id):
        progress({"nfe": 61})


def test_one_run_lock_per_model() -> None:
    pool = ModelPool(None)
    one, two = object(), object()
    assert pool.run_lock(one) is pool.run_lock(one)
    assert pool.run_lock(one) is not pool.run_lock(two)
    with pool.run_lock(None), pool.run_lock(None):  # no model: nothing to hold
        pass


def test_body_limit_refuses_streamed_bodies_over_the_cap() -> None:
    async def app(scope, receive, send) -> None:  # reads everything, then answers 200
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def call(chunks: list[bytes], headers: list) -> list[dict]:
        sent: list[dict] = []
        messages = [
            {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
            for i, c in enumerate(chunks)
        ]

        async def receive() -> dict:
            return messages.pop(0)

        async def send(message: dict) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "POST", "headers": headers}
        await BodyLimit(app, max_bytes=10)(scope, receive, send)
        return sent

    assert asyncio.run(call([b"12345", b"12345"], []))[0]["status"] == 200
    assert asyncio.run(call([b"12345", b"123456"], []))[0]["status"] == 413  # chunked
    assert asyncio.run(call([b"1"], [(b"content-length", b"11")]))[0]["status"] == 413
