"""The typer application every command module registers on, and its error exit."""

from __future__ import annotations

import typer

from ..errors import InpaintkitError

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


def parse_key_values(pairs: list[str]) -> dict[str, object]:
    """KEY=VALUE strings to typed values: int, float, true/false, none, else the string."""
    parsed: dict[str, object] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise InpaintkitError(f"--option takes KEY=VALUE, got {pair!r}")
        lowered = text.lower()
        if lowered in ("true", "false"):
            value: object = lowered == "true"
        elif lowered == "none":
            value = None
        else:
            try:
                value = int(text)
            except ValueError:
                try:
                    value = float(text)
                except ValueError:
                    value = text
        parsed[key.replace("-", "_")] = value
    return parsed
