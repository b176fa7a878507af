"""A job's server-sent events: ``job`` (its JSON on every change: status, step, NFE, ETA),
``preview`` (the latest predicted x0 as a PNG data URL) and a last ``job`` event when it ends,
after which the stream closes. The stream polls the job's version number (jobs run in worker
threads; the stream never blocks the event loop)."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Callable

from fastapi import Request

from .jobs import TERMINAL, WebJob

POLL_S = 0.05
HEARTBEAT_S = 15.0


def sse(event: str, data: dict) -> str:
    """One server-sent event: ``event: NAME`` and one ``data:`` line of JSON."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def job_events(
    request: Request, job: WebJob, view: Callable[[WebJob], dict], poll_s: float = POLL_S
) -> AsyncIterator[str]:
    """The events of ``job`` until it ends or the client goes away."""
    sent_version, sent_preview, quiet = -1, 0, 0.0
    while True:
        version, status = job.version, job.status
        if version != sent_version:
            sent_version, quiet = version, 0.0
            if job.preview is not None and job.preview_version != sent_preview:
                sent_preview = job.preview_version
                url = "data:image/png;base64," + base64.b64encode(job.preview).decode()
                yield sse("preview", {"id": job.id, "image": url, "step": job.progress.get("step")})
            yield sse("job", view(job))
            if status in TERMINAL:
                return
        elif quiet >= HEARTBEAT_S:
            quiet = 0.0
            yield ": heartbeat\n\n"
        if await request.is_disconnected():
            return
        await asyncio.sleep(poll_s)
        quiet += poll_s
