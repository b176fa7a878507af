"""The inpainting API under /api/v1 (FastAPI documents it at /docs).

- ``GET /methods``: "auto" first, then every registered method with its option schema and
  the model it needs.
- ``POST /inpaint``: multipart ``image``, ``mask`` (white = hole), ``method``, ``options``
  (JSON object, parsed by the one option parser: a bad value is 422 naming the option),
  ``samples`` (K), ``seed``, ``strategy``; returns ``{"id", "method", "chosen", ...}``. Method
  "auto" is chosen by the picture's size, as on the command line
  (:mod:`inpaintkit.methods.choice`): the job then runs the chosen method, model and feather,
  and ``chosen`` says why.
- ``GET /jobs/{id}``: the job as JSON (``status``, ``progress``, ``result_urls``); with
  ``Accept: text/event-stream`` the same URL streams its events (:mod:`.events`).
- ``DELETE /jobs/{id}``: cancels it. ``GET /results/{id}/{name}``: its PNG files.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, StreamingResponse

from ..errors import InpaintkitError
from ..io import WHITE_CHOICES
from ..methods import get_method, list_methods
from ..methods.choice import AUTO, choose_method
from ..methods.strategy import STRATEGIES
from ..models import embedded_models
from ..options import OptionError, parse_options
from ..threads import thread_report
from .errors import WebError
from .events import job_events
from .jobs import QueueFull, WebJob
from .results import check_id
from .state import ServerState, server
from .uploads import decode_hole, decode_image, read_upload

router = APIRouter(prefix="/api/v1", tags=["inpainting"])
MAX_SEED = 2**63 - 1
AUTO_ENTRY = {
    "name": AUTO,
    "summary": "Chosen by the picture's size: repaint on the default prior up to 64 px, the "
    "photo default above (docs/photos.md); takes no options.",
    "model_kind": None,
    "inputs": [],
    "references": False,
    "cost": {},
    "options": [],
    "available": True,
    "why": None,
}
"""The /methods entry of "auto" (not a registered method: it resolves to one per job)."""


def job_view(job: WebJob) -> dict:
    """A job as JSON: its request, status, progress and the URLs of its files."""
    base = f"/api/v1/results/{job.id}"
    done = job.status == "done"
    return {
        "id": job.id,
        "method": job.method,
        "chosen": job.chosen,
        "options": asdict(job.options),
        "samples": job.samples,
        "seed": job.seed,
        "strategy": job.strategy,
        "size": list(job.size),
        "status": job.status,
        "error": job.error,
        "created": job.created,
        "started": job.started,
        "finished": job.finished,
        "progress": job.progress,
        "cancel_requested": job.cancel.is_set(),
        "input_url": f"{base}/input.png" if done else None,
        "hole_url": f"{base}/hole.png" if done else None,
        "result_urls": [f"{base}/{name}" for name in job.results] if done else [],
    }


def _find(state: ServerState, job_id: str) -> WebJob:
    job = state.queue.get(check_id(job_id))
    if job is None:
        raise WebError(404, f"no job {job_id}", field="id")
    return job


@router.get("/methods")
def methods(request: Request) -> dict:
    """Every method: name, summary, the model kind it needs (null: none), its cost and its
    options (name, type, default, help, min, max, choices, valid), and whether this server
    can run it (``available``, with ``why`` when not)."""
    state = server(request)
    listed = [AUTO_ENTRY]
    for entry in list_methods():
        why = None
        try:
            state.pool.check(get_method(entry["name"]))
        except InpaintkitError as err:
            why = str(err)
        if entry["inputs"] or entry["references"]:
            why = "the web page does not take extra inputs or reference images yet"
        listed.append({**entry, "available": why is None, "why": why})
    limit = state.config.max_samples
    return {"methods": listed, "strategies": list(STRATEGIES), "max_samples": limit}


@router.get("/info")
def info(request: Request) -> dict:
    """The server's limits, queue counters and CPU threads."""
    state = server(request)
    config = state.config
    return {
        "limits": {
            "max_upload_bytes": config.max_upload_bytes,
            "max_megapixels": config.max_megapixels,
            "max_samples": config.max_samples,
            "max_queue": config.max_queue,
            "workers": config.workers,
            "results_max_bytes": config.results_max_bytes,
            "results_max_age_s": config.results_max_age_s,
        },
        "queue": state.queue.stats(),
        "results_bytes": state.store.total_bytes(),
        "threads": thread_report(),
        "studies": sorted(state.studies),
    }


def _parse_request(
    state: ServerState, method: str, options: str, samples: int, seed: int, strategy: str
) -> object | None:
    """The method's parsed Options, or WebError 422 naming the field or option; None for
    "auto", which takes no options and is resolved once the image is read."""
    if method == AUTO:
        if (options or "{}").strip() != "{}":
            raise WebError(
                422, "method auto takes no options; choose a method to set them", field="options"
            )
        _check_run(state, samples, seed, strategy)
        return None
    try:
        cls = get_method(method)
    except InpaintkitError as err:
        raise WebError(422, str(err), field="method") from err
    try:
        values = json.loads(options or "{}")
    except json.JSONDecodeError as err:
        raise WebError(422, f"options: not valid JSON ({err})", field="options") from err
    if not isinstance(values, dict):
        raise WebError(422, "options: expected a JSON object of option values", field="options")
    try:
        parsed = parse_options(cls.Options, values, owner=method)
    except OptionError as err:
        raise WebError(422, str(err), field="options", option=err.option) from err
    except InpaintkitError as err:
        raise WebError(422, str(err), field="options") from err
    _check_run(state, samples, seed, strategy)
    try:
        state.pool.check(cls)
    except InpaintkitError as err:
        raise WebError(422, str(err), field="method") from err
    return parsed


def _check_run(state: ServerState, samples: int, seed: int, strategy: str) -> None:
    """WebError 422 for samples, seed or strategy out of range."""
    if not 1 <= samples <= state.config.max_samples:
        raise WebError(
            422, f"samples must be 1..{state.config.max_samples}, got {samples}", field="samples"
        )
    if not 0 <= seed <= MAX_SEED:
        raise WebError(422, f"seed must be 0..2**63-1, got {seed}", field="seed")
    if strategy not in STRATEGIES:
        raise WebError(
            422, f"strategy must be one of {list(STRATEGIES)}, got {strategy!r}", field="strategy"
        )


@router.post("/inpaint")
async def inpaint(
    request: Request,
    image: Annotated[UploadFile, File(description="The picture (any format PIL reads).")],
    mask: Annotated[UploadFile, File(description="The hole, same size: white = hole.")],
    method: Annotated[str, Form(description="A method name from GET /methods, or auto.")],
    options: Annotated[str, Form(description='Method options as JSON, e.g. {"steps": 50}.')] = "{}",
    samples: Annotated[int, Form(description="K: how many fills.")] = 1,
    seed: Annotated[int, Form(description="Seed of the sampling.")] = 0,
    strategy: Annotated[str, Form(description="auto, original, resize or crop.")] = "auto",
    white: Annotated[str, Form(description="What white means in the mask: hole or keep.")] = "hole",
    threshold: Annotated[
        float | None, Form(description="Binarise a grey mask: white iff value/max >= this.")
    ] = None,
) -> dict:
    """Queue a job; returns ``{"id", "status", "url"}``. 422 names a bad field or option, 413
    an oversized upload or image, 429 (with Retry-After) a full queue."""
    state = server(request)
    parsed = _parse_request(state, method, options, samples, seed, strategy)
    if white not in WHITE_CHOICES:
        raise WebError(
            422, f"white must be one of {list(WHITE_CHOICES)}, got {white!r}", field="white"
        )
    if threshold is not None and not 0 < threshold <= 1:
        raise WebError(422, f"threshold must be in (0, 1], got {threshold}", field="threshold")
    queue = state.queue
    try:
        queue.check_room()  # refuse before decoding anything
    except QueueFull as full:
        _refuse(full.retry_after, full.queued)
    limit, pixels = state.config.max_upload_bytes, state.config.max_pixels
    data = await read_upload(image, "image", limit)
    picture = await run_in_threadpool(decode_image, data, pixels)
    hole = await run_in_threadpool(
        lambda data: decode_hole(data, picture.size, pixels, white=white, threshold=threshold),
        await read_upload(mask, "mask", limit),
    )
    model, feather, chosen = None, 0, None
    if method == AUTO:  # by the picture's size, as the command line (methods.choice)
        choice = choose_method([picture.size], state.pool.model, embedded_models())
        parsed = _parse_request(state, choice.method, "{}", samples, seed, strategy)
        method, model, feather, chosen = (choice.method, choice.model, choice.feather or 0,
                                          f"auto: {choice.reason}")  # fmt: skip
    job = WebJob(method, parsed, picture, hole, samples=samples, seed=seed, strategy=strategy,
                 model=model, feather=feather, chosen=chosen)  # fmt: skip
    try:
        queue.submit(job)
    except QueueFull as full:
        _refuse(full.retry_after, full.queued)
    return {"id": job.id, "status": job.status, "url": f"/api/v1/jobs/{job.id}",
            "method": job.method, "chosen": job.chosen}  # fmt: skip


def _refuse(retry_after: int, queued: int) -> None:
    raise WebError(
        429,
        f"the queue is full ({queued} jobs waiting); retry in {retry_after} s",
        headers={"Retry-After": str(retry_after)},
        retry_after=retry_after,
    )


@router.get("/jobs")
def jobs(request: Request) -> dict:
    """Every job this server remembers, newest first."""
    return {"jobs": [job_view(job) for job in reversed(server(request).queue.jobs())]}


@router.get("/jobs/{job_id}", response_model=None)
def job(request: Request, job_id: str) -> dict | StreamingResponse:
    """The job's status and results; with ``Accept: text/event-stream``, its live events
    (``job`` on every change with step, NFE and ETA; ``preview`` with the predicted x0)."""
    found = _find(server(request), job_id)
    if "text/event-stream" in request.headers.get("accept", ""):
        return StreamingResponse(
            job_events(request, found, job_view),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    return job_view(found)


@router.delete("/jobs/{job_id}")
def cancel(request: Request, job_id: str) -> dict:
    """Cancel a job: a queued job ends at once (status cancelled), a running one at its next
    step (``cancel_requested``). 409 for a job that has already ended."""
    state = server(request)
    found = _find(state, job_id)
    try:
        state.queue.cancel(found.id)
    except InpaintkitError as err:
        raise WebError(409, str(err), field="id") from err
    return job_view(found)


@router.get("/results/{job_id}/{name}")
def result_file(request: Request, job_id: str, name: str, download: bool = False) -> FileResponse:
    """One PNG of a finished job: input.png, hole.png or result-<k>.png."""
    path = server(request).store.path(job_id, name)
    filename = f"inpaintkit-{job_id[:8]}-{name}" if download else None
    return FileResponse(path, media_type="image/png", filename=filename)
