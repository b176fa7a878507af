"""The typer application every command module registers on, and its error exit."""

from __future__ import annotations

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
def _main() -> None:
    """inpaintkit: RePaint-class inpainting on your images and your diffusion checkpoints."""
