"""`inpaintkit train` and `inpaintkit export`: train a model, export its EMA weights."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import InpaintkitError
from .app import app, fail, parse_key_values


@app.command()
def train(
    data: Annotated[
        str, typer.Argument(help="emoji[:STYLE[:SPLIT]] | fashion-mnist[:SPLIT] | folder.")
    ],
    preset: Annotated[str, typer.Option(help="Named network + process preset.")] = "emoji32",
    steps: Annotated[int, typer.Option(help="Total optimizer steps.")] = 10_000,
    out: Annotated[Path, typer.Option(help="Run folder (checkpoints, log, samples).")] = Path(
        "runs/ddpm"
    ),
    resume: Annotated[bool, typer.Option(help="Continue from the newest checkpoint.")] = False,
    batch_size: Annotated[int | None, typer.Option(help="Global batch [preset's].")] = None,
    lr: Annotated[float | None, typer.Option(help="Peak learning rate.")] = None,
    threads: Annotated[
        int | None, typer.Option(help="CPU threads (1 on a busy machine is much faster).")
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option("--option", "-o", help="Any TrainConfig field as KEY=VALUE (repeatable)."),
    ] = None,
) -> None:
    """Train an unconditional DDPM with accelerate (CPU, GPU, or `accelerate launch` for several);
    checkpoints every few minutes, resumes exactly with --resume."""
    from ..train.ddpm import run_training

    try:
        last = run_training(
            data, preset=preset, steps=steps, out=out, resume=resume, batch_size=batch_size,
            lr=lr, num_threads=threads, **parse_key_values(option or []),
        )  # fmt: skip
    except InpaintkitError as err:
        fail(err)
    typer.echo(f"last checkpoint: {last}\nexport it: inpaintkit export {out} model.safetensors")


@app.command()
def export(
    run: Annotated[Path, typer.Argument(help="A training run folder.")],
    path: Annotated[Path, typer.Argument(help="Output .safetensors (EMA weights, fp16).")],
    card: Annotated[Path | None, typer.Option(help="Model card (markdown) to embed.")] = None,
) -> None:
    """Export a run's EMA weights as one inpaintkit .safetensors file, usable with --model."""
    from ..train.ddpm import export_model

    try:
        written = export_model(run, path, card=card.read_text() if card else "")
    except (InpaintkitError, OSError) as err:
        fail(err)
    typer.echo(f"wrote {written}")
