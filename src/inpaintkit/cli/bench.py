"""`inpaintkit bench`: methods x masks x images -> tables, grids and plots."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import InpaintkitError
from .app import app, fail
from .checks import check_run


@app.command()
def bench(
    out: Annotated[Path, typer.Option(help="Output folder (resumed when it exists).")],
    methods: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated specs NAME or NAME:key=value,... and presets table2, table3, "
            "table4 (the paper's ablations)."
        ),
    ] = None,
    masks: Annotated[
        str, typer.Option(help="Mask kinds, comma-separated.")
    ] = "wide,narrow,sr2x,altlines,half,expand",
    data: Annotated[
        str,
        typer.Option(
            help="emoji-test | emoji-test:STYLE | emoji-tune:STYLE | emoji-test-64 | a folder."
        ),
    ] = "emoji-test",
    n: Annotated[int | None, typer.Option(help="Use the first N images (default: all).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the masks and the sampling.")] = 0,
    model: Annotated[
        str,
        typer.Option(
            help="Model of the methods that use one: default (the embedded prior) or a file; "
            "feedforward and inpaint-ddpm need a model of their kind."
        ),
    ] = "default",
    model_option: Annotated[
        list[str] | None,
        typer.Option(
            "--model-option",
            help="What the model's checkpoint cannot tell, as KEY=VALUE (repeatable).",
        ),
    ] = None,
    size: Annotated[
        int | None, typer.Option(help="Image size (default: the model's resolution).")
    ] = None,
    workers: Annotated[int, typer.Option(help="Local worker processes.")] = 1,
    ray_address: Annotated[
        str | None, typer.Option(help="Run as Ray tasks: 'local' or a cluster address.")
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Images per method call.")] = 8,
    device: Annotated[str, typer.Option(help="Torch device of the diffusion methods.")] = "cpu",
    steps_scale: Annotated[
        float, typer.Option(help="Scale the presets' T=250 (e.g. 0.2 -> T=50).")
    ] = 1.0,
    threads: Annotated[
        int, typer.Option(help="Torch threads per batch (fixed: reproducible).")
    ] = 1,
    runtime: Annotated[
        str,
        typer.Option(
            help="fp32: diffusion methods without precision/channels_last in their spec run in "
            "fp32 (same bits on every machine); auto: the device's defaults (bf16 on CPUs with "
            "native bf16)."
        ),
    ] = "fp32",
    report_only: Annotated[
        bool, typer.Option(help="Only rebuild the tables and figures of OUT.")
    ] = False,
    debug: Annotated[bool, typer.Option(help="Show full tracebacks on errors.")] = False,
) -> None:
    """Benchmark METHODS x MASKS x images: OUT/results.jsonl (one line per item, resumable),
    OUT/table.md (Table-1 shape), results.csv, summary.json, grids and plots."""
    from ..bench import BenchConfig, run_bench, write_report
    from ..models import parse_model_options

    try:
        model_options = parse_model_options(model_option or [])
        if not report_only:
            check_run(
                device=device,
                batch_size=batch_size,
                seed=seed,
                counts={"--n": (n, 1), "--workers": (workers, 1), "--threads": (threads, 1)},
            )
        if report_only:
            write_report(out, log=typer.echo)
            typer.echo(f"report: {out / 'table.md'}")
            return
        if methods is None:
            raise InpaintkitError("give --methods (or --report-only)")
        config = BenchConfig(
            methods=methods,
            out=out,
            masks=masks,
            data=data,
            n=n,
            seed=seed,
            model=model,
            size=size,
            workers=workers,
            ray_address=ray_address,
            batch_size=batch_size,
            device=device,
            steps_scale=steps_scale,
            threads=threads,
            runtime=runtime,
            model_options=model_options,
        )
        run = run_bench(config, log=typer.echo)
    except InpaintkitError as err:
        fail(err)
    typer.echo(
        f"{run.computed} item(s) computed, {run.skipped} already recorded, "
        f"{run.seconds:.1f} s -> {out}/"
    )
