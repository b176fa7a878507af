"""The typer application every command module registers on, and its error exits.

Every command registered with ``@app.command()`` runs inside :func:`guarded`: an
InpaintkitError or an OSError (a file that cannot be read or written) is one line on stderr
and exit 2; any other exception is one line ``internal error: ...`` and exit 1. ``--debug``
(global, ``inpaintkit --debug CMD``, or a command's own flag) shows the full traceback instead.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, Any

import click
import typer

from ..errors import InpaintkitError

#: Whether the running command shows tracebacks (set per invocation by the callback/guard).
_STATE = {"debug": False}


def debugging() -> bool:
    """True when the running command was given ``--debug`` (tracebacks are shown)."""
    return _STATE["debug"]


def fail(err: Exception) -> None:
    """Print ``err`` in red on stderr and exit with status 2 (a usage or input error);
    with ``--debug``, re-raise it so the full traceback is shown."""
    if _STATE["debug"]:
        raise err
    typer.secho(f"error: {err}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def warn(message: str) -> None:
    """Print ``warning: message`` in yellow on stderr (the run goes on)."""
    typer.secho(f"warning: {message}", fg=typer.colors.YELLOW, err=True)


def guarded(command: Callable[..., Any]) -> Callable[..., Any]:
    """``command`` with the error policy of the module docstring (typer sees its signature)."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("debug"):
            _STATE["debug"] = True
        try:
            return command(*args, **kwargs)
        except (
            typer.Exit,
            typer.Abort,
            click.exceptions.Exit,
            click.exceptions.Abort,
            click.ClickException,
        ):
            raise
        except (InpaintkitError, OSError) as err:
            fail(err)
        except Exception as err:
            if _STATE["debug"]:
                raise
            typer.secho(
                f"internal error: {type(err).__name__}: {err} (run with --debug for the traceback)",
                fg=typer.colors.RED,
                err=True,
            )
            raise typer.Exit(1) from None

    return run


class GuardedTyper(typer.Typer):
    """A Typer whose commands run inside :func:`guarded`."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], Any]:
        """As ``typer.Typer.command``; the registered callback is the guarded function."""
        register = super().command(*args, **kwargs)

        def decorator(function: Callable[..., Any]) -> Callable[..., Any]:
            register(guarded(function))
            return function

        return decorator


app = GuardedTyper(
    help="Free-form image inpainting with diffusion models (RePaint) and classical baselines.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _main(
    debug: Annotated[
        bool, typer.Option(help="Show full tracebacks instead of one-line errors.")
    ] = False,
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
    _STATE["debug"] = debug
    if threads is not None:  # already in the environment before torch loaded (cli/__init__)
        from ..threads import set_threads

        set_threads(threads)
