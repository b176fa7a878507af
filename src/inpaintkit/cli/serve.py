"""`inpaintkit serve`: the web app (paint a hole, pick a method, watch it fill) and any studies."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import InpaintkitError
from .app import app, fail, warn


def web_missing(err: ImportError) -> InpaintkitError:
    """The error for a missing web extra."""
    return InpaintkitError(
        f"the web app needs the web extra ({err.name} is missing): pip install 'inpaintkit[web]'"
    )


@app.command()
def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on; 127.0.0.1 keeps it on this machine.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    model: Annotated[
        str | None,
        typer.Option(
            help="Model of the methods that use one (a file or hub id); default: each method's "
            "own (the embedded prior for RePaint and DDNM)."
        ),
    ] = None,
    device: Annotated[str, typer.Option(help="Torch device of the methods.")] = "cpu",
    workers: Annotated[int, typer.Option(min=1, help="Jobs that run at once.")] = 1,
    max_queue: Annotated[
        int, typer.Option(min=1, help="Jobs that may wait; more get 429 with Retry-After.")
    ] = 16,
    max_upload_mb: Annotated[float, typer.Option(help="Largest uploaded file, MiB.")] = 32.0,
    max_megapixels: Annotated[
        float, typer.Option(help="Largest image, megapixels (checked before decoding).")
    ] = 16.0,
    results: Annotated[
        Path | None,
        typer.Option(help="Folder of the results (default: a temporary one, removed on exit)."),
    ] = None,
    results_max_mb: Annotated[float, typer.Option(help="Size cap of the results, MiB.")] = 512.0,
    results_max_age: Annotated[
        float, typer.Option(help="Seconds a job's results are kept.")
    ] = 3600.0,
    study: Annotated[
        list[Path] | None,
        typer.Option(help="A study folder to serve at /study/ID (repeatable)."),
    ] = None,
    debug: Annotated[bool, typer.Option(help="Show full tracebacks on errors.")] = False,
) -> None:
    """Serve the web app at http://HOST:PORT/ (API under /api/v1, documented at /docs)."""
    try:
        import uvicorn

        from ..models.manager import shared_models
        from ..threads import thread_report
        from ..web import ServerConfig, create_app, exposure_warning
    except ImportError as err:
        fail(web_missing(err))
    mib = 1024 * 1024
    try:
        config = ServerConfig(
            host=host,
            port=port,
            model=model,
            device=device,
            workers=workers,
            max_queue=max_queue,
            max_upload_bytes=int(max_upload_mb * mib),
            max_megapixels=max_megapixels,
            results_dir=results,
            results_max_bytes=int(results_max_mb * mib),
            results_max_age_s=results_max_age,
            studies=tuple(study or ()),
        )
        if model is not None:
            shared_models().get(model, device)  # a bad --model fails now, not at the first job
        web = create_app(config)
    except InpaintkitError as err:
        fail(err)
    warning = exposure_warning(host)
    if warning:
        warn(warning)
    threads = thread_report()
    typer.echo(
        f"inpaintkit: http://{host}:{port}/ (API docs /docs); {workers} worker(s), "
        f"{threads['threads']} torch thread(s) ({threads['source']})"
    )
    for study_id in sorted(web.state.inpaintkit.studies):
        typer.echo(f"study: http://{host}:{port}/study/{study_id}")
    uvicorn.run(web, host=host, port=port, log_level="warning")
