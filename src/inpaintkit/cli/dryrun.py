"""`inpaintkit inpaint --dry-run`: what sampling would cost, timed on this machine."""

from __future__ import annotations

from dataclasses import asdict

import typer

from ..threads import thread_report


def report_dry_run(
    inpainter, pieces: list, samples: int, batch_size: int, budget: int | None = None
) -> None:
    """Print what sampling would cost, timing one network evaluation on this machine.

    pieces: ``plan_jobs``'s pieces per job; the method's rows are samples x pieces, batched per
    working size as :func:`~inpaintkit.methods.run_method` does. Works for every model kind:
    the cost is the method's ``cost()``, the timing one call of its ``time_network(batch, h,
    w)`` (one denoiser call, or one generator call for a feed-forward model)."""
    sizes: dict[tuple[int, int], int] = {}  # working (height, width) -> rows
    for job_pieces in pieces:
        for piece in job_pieces:
            size = (piece.size, piece.size) if piece.size else piece.padded
            sizes[size] = sizes.get(size, 0) + samples
    rows = sum(sizes.values())
    if inpainter.needs.model_kind is None:
        typer.echo(f"{inpainter.name}: no network; {rows} output(s) to fill")
        return
    cost = inpainter.cost(inpainter.options)
    nfe = cost["network_evaluations"]
    low = cost.get("network_evaluations_min", nfe)  # adaptive methods: a range
    span = f"{low} to {nfe}" if low != nfe else f"{nfe}"
    knobs = ", ".join(f"{k}={v}" for k, v in asdict(inpainter.options).items() if v is not None)
    batches = sum(-(-count // batch_size) for count in sizes.values())
    batch = min(max(sizes.values(), default=1), batch_size)
    height, width = max(sizes, key=lambda hw: hw[0] * hw[1], default=None) or _model_size(inpainter)
    timings = []
    for _ in range(3):
        timings.append(inpainter.time_network(batch, height, width))
        if timings[-1] > 2:  # a big model: one timing is enough
            break
    per_eval = sorted(timings)[len(timings) // 2]
    threads = thread_report()  # the run's own settings: timed in this process, policy applied
    total = per_eval * nfe * batches
    least = per_eval * low * batches
    if budget is not None:
        walk = ", ".join(
            f"{name}={getattr(inpainter.options, name)}"
            for name in ("steps", "jump_length", "resamplings", "u_max", "resampling")
            if hasattr(inpainter.options, name)
        )
        typer.echo(
            f"budget: {budget} network evaluations per batch -> {walk or 'as is'} "
            f"({span} network evaluations)"
        )
    model = inpainter.model
    size = model.image_size
    typer.echo(
        f"model: {model.source} ({model.kind}, {model.num_parameters() / 1e6:.1f}M parameters, "
        f"{f'{size}x{size}' if size else 'any size'})\n"
        f"schedule: {knobs or 'no options'}: {span} network "
        f"evaluations and {cost.get('undo_steps', 0)} undo steps per batch\n"
        f"work: {rows} output(s) in {batches} batch(es) of up to {batch_size}\n"
        f"estimated time on this machine: "
        f"{_duration(least) + ' to ' if low != nfe else ''}{_duration(total)} "
        f"({per_eval * 1000:.0f} ms per evaluation at batch {batch}, {width}x{height})\n"
        f"threads: {threads['threads']} ({threads['source']}; "
        f"OMP_WAIT_POLICY={threads['wait_policy'] or 'unset'})"
    )


def _model_size(inpainter) -> tuple[int, int]:
    """(height, width) to time at when nothing is to be filled: the model's size, else 64."""
    size = getattr(inpainter, "image_size", None) or 64
    return size, size


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
