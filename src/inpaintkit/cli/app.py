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


def split_key_values(pairs: list[str]) -> dict[str, str]:
    """KEY=VALUE strings to {key: "value"} with "-" in keys read as "_"; the values stay strings
    for the one option parser (inpaintkit.methods.options.parse_options), which converts them
    by the option's declared type. The last of a repeated key wins."""
    parsed: dict[str, str] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise InpaintkitError(f"--option takes KEY=VALUE, got {pair!r}")
        parsed[key] = text.strip()
    return parsed


def parse_key_values(pairs: list[str]) -> dict[str, object]:
    """KEY=VALUE strings to guessed types: int, float, true/false, none, else the string.
    For options without a schema (training); method options use :func:`split_key_values`."""
    parsed: dict[str, object] = {}
    for key, text in split_key_values(pairs).items():
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
        parsed[key] = value
    return parsed
