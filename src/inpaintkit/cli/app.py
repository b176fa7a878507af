"""The typer application every command module registers on, and its error exit."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(
    help="Free-form image inpainting with diffusion models (RePaint) and classical baselines.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def fail(err: Exception) -> None:
    """Print ``err`` in red on stderr and exit with status 2 (a usage or input error)."""
    typer.secho(f"error: {err}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


@app.callback()
def _main(
    threads: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="CPU threads for torch (default: one per core up to 4, waiting passively; "
            "also INPAINTKIT_THREADS or OMP_NUM_THREADS).",
        ),
    ] = None,
) -> None:
    """inpaintkit: RePaint-class inpainting on your images and your diffusion checkpoints."""
    if threads is not None:  # already in the environment before torch loaded (cli/__init__)
        from ..threads import set_threads

        set_threads(threads)
