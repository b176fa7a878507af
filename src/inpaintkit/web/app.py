"""The app factory: :func:`create_app` builds the FastAPI app of one server.

It holds a job queue (worker threads), a results folder with a size cap and an expiry, the
model pool (one run lock per model) and the studies it serves. Errors never stop it: a refused
input is a 4xx JSON body ``{"detail", "field"}``; anything unexpected is a 500 JSON body.
CPU inference follows inpaintkit's thread policy (:mod:`inpaintkit.threads`), which the
command line applies before torch loads; the app itself changes no global state.
"""

from __future__ import annotations

import shutil
import tempfile
from contextlib import asynccontextmanager
from functools import partial
from importlib import metadata
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from .config import ServerConfig
from .errors import WebError
from .jobs import JobQueue
from .limits import BodyLimit
from .models import ModelPool
from .results import ResultsStore
from .routes import router
from .runner import run_job
from .state import ServerState
from .study.routes import load_studies
from .study.routes import router as study_router

STATIC = Path(__file__).resolve().parent / "static"
"""The page: plain HTML, JavaScript and CSS, no build step."""


def _version() -> str:
    try:
        return metadata.version("inpaintkit")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def create_app(config: ServerConfig | None = None) -> FastAPI:
    """The app for ``config`` (defaults: :class:`ServerConfig`'s). Its results folder is
    ``config.results_dir`` or a temporary folder removed at shutdown."""
    config = config or ServerConfig()
    temporary = config.results_dir is None
    root = Path(tempfile.mkdtemp(prefix="inpaintkit-results-")) if temporary else config.results_dir
    store = ResultsStore(
        root,
        max_bytes=config.results_max_bytes,
        max_age_s=config.results_max_age_s,
        clock=config.clock,
    )
    pool = ModelPool(config.model, config.device)
    run = partial(
        run_job,
        pool=pool,
        store=store,
        device=config.device,
        preview_interval_s=config.preview_interval_s,
    )
    queue = JobQueue(run, workers=config.workers, max_queue=config.max_queue, clock=config.clock)
    state = ServerState(config, queue, store, pool, load_studies(config.studies))

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # noqa: ANN202
        yield
        queue.shutdown()
        if temporary:
            shutil.rmtree(root, ignore_errors=True)

    app = FastAPI(
        title="inpaintkit",
        version=_version(),
        description="Paint a hole, pick a method, watch it fill; and a two-alternative study.",
        lifespan=lifespan,
    )
    app.state.inpaintkit = state
    app.add_middleware(BodyLimit, max_bytes=2 * config.max_upload_bytes + 1024 * 1024)

    @app.exception_handler(WebError)
    async def web_error(request: Request, err: WebError) -> JSONResponse:
        return JSONResponse(err.body(), status_code=err.status, headers=err.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, err: RequestValidationError) -> JSONResponse:
        problems = err.errors()
        first = problems[0] if problems else {}
        loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
        field = loc[-1] if loc else None
        detail = f"{field}: {first.get('msg', 'invalid')}" if field else str(first.get("msg"))
        body = {
            "detail": detail,
            "field": field,
            "errors": [
                {"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg")} for e in problems
            ],
        }
        return JSONResponse(body, status_code=422)

    @app.exception_handler(Exception)
    async def internal(request: Request, err: Exception) -> JSONResponse:
        detail = f"internal error: {type(err).__name__}: {err}"
        return JSONResponse({"detail": detail, "field": None}, status_code=500)

    app.include_router(router)
    app.include_router(study_router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    return app
