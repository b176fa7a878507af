"""`inpaintkit train` and `inpaintkit export`: train a model, export its EMA weights."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import InpaintkitError
from ..options import split_key_values
from .app import app, fail
from .checks import check_run


@app.command()
def train(
    data: Annotated[
        str,
        typer.Argument(
            help="emoji[:STYLE[:SPLIT]] | fashion-mnist[:SPLIT] | photos[:SPLIT] | folder."
        ),
    ],
    preset: Annotated[str, typer.Option(help="Named network preset.")] = "emoji32",
    objective: Annotated[
        str | None,
        typer.Option(
            help="ddpm-prior | conditional-ddpm | adversarial | strdiffusion (default: by the "
            "preset's kind)."
        ),
    ] = None,
    steps: Annotated[int, typer.Option(help="Total optimizer steps.")] = 10_000,
    out: Annotated[Path, typer.Option(help="Run folder (checkpoints, log, samples).")] = Path(
        "runs/ddpm"
    ),
    resume: Annotated[bool, typer.Option(help="Continue from the newest checkpoint.")] = False,
    batch_size: Annotated[int | None, typer.Option(help="Global batch [preset's].")] = None,
    lr: Annotated[float | None, typer.Option(help="Peak learning rate.")] = None,
    holes: Annotated[
        str | None,
        typer.Option(help="Hole generator of objectives with holes, e.g. thin+thick:2."),
    ] = None,
    threads: Annotated[
        int | None, typer.Option(help="CPU threads (1 on a busy machine is much faster).")
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option("--option", "-o", help="Any TrainConfig field as KEY=VALUE (repeatable)."),
    ] = None,
    objective_option: Annotated[
        list[str] | None,
        typer.Option(
            "--objective-option", "-O", help="An objective option as KEY=VALUE (repeatable)."
        ),
    ] = None,
    debug: Annotated[bool, typer.Option(help="Show full tracebacks on errors.")] = False,
) -> None:
    """Train a model with accelerate (CPU, GPU, or `accelerate launch` for several): a DDPM
    prior by default, a conditional diffusion model or an adversarial feed-forward generator;
    checkpoints every few minutes, resumes exactly with --resume."""
    from ..options import parse_values
    from ..train.config import TrainConfig
    from ..train.export import run_training

    try:
        check_run(batch_size=batch_size, counts={"--steps": (steps, 1), "--threads": (threads, 1)})
        # the objective converts its own options; TrainConfig fields go through the one parser
        objective_options = split_key_values(objective_option or [], "--objective-option")
        overrides = parse_values(
            TrainConfig, split_key_values(option or []), owner="inpaintkit train"
        )
        if holes is not None:
            objective_options["holes"] = holes
        last = run_training(
            data, preset=preset, steps=steps, out=out, resume=resume, batch_size=batch_size,
            lr=lr, objective=objective, num_threads=threads,
            objective_options=objective_options, **overrides,
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
    """Export a run's EMA weights as one inpaintkit .safetensors file, usable with --model
    (any objective: the file says the model's kind)."""
    from ..train.export import export_model

    try:
        written = export_model(run, path, card=card.read_text() if card else "")
    except (InpaintkitError, OSError) as err:
        fail(err)
    typer.echo(f"wrote {written}")
