"""`inpaintkit inpaint`: fill the holes of image files and write results, grids and the config."""

from __future__ import annotations

import json
import platform
import time
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from ..errors import InpaintkitError
from .app import app, fail, parse_key_values


@app.command()
def inpaint(
    images: Annotated[list[Path], typer.Argument(help="Image files to inpaint.")],
    mask: Annotated[
        list[Path] | None,
        typer.Option(help="Mask file (white = hole); once for all images or once per image."),
    ] = None,
    mask_kind: Annotated[
        str | None, typer.Option(help="Generate the mask instead: see `inpaintkit masks --help`.")
    ] = None,
    mask_seed: Annotated[int | None, typer.Option(help="Seed of generated masks [--seed].")] = None,
    mask_white: Annotated[
        str, typer.Option(help="What white means in mask files: hole, or keep (RePaint's files).")
    ] = "hole",
    threshold: Annotated[
        float | None, typer.Option(help="Binarise non-binary masks: white iff value >= t * max.")
    ] = None,
    method: Annotated[str, typer.Option(help="Inpainting method.")] = "repaint",
    model: Annotated[
        str | None,
        typer.Option(help="default | embedded name | folder | .safetensors | .pt | hub id."),
    ] = None,
    model_option: Annotated[
        list[str] | None,
        typer.Option(
            "--model-option",
            help="What the checkpoint cannot tell, as KEY=VALUE (repeatable), e.g. "
            "image_size=64, num_head_channels=32 for a guided-diffusion .pt.",
        ),
    ] = None,
    steps: Annotated[int | None, typer.Option(help="Respaced steps, the paper's T [250].")] = None,
    jump_length: Annotated[int | None, typer.Option(help="Jump length j [10].")] = None,
    resamplings: Annotated[int | None, typer.Option(help="Resamplings r [10].")] = None,
    jump_n_sample: Annotated[int | None, typer.Option(help="Extra up/down steps [1].")] = None,
    budget: Annotated[
        int | None,
        typer.Option(
            help="Network evaluations per image (a batch shares them): use the most steps that "
            "fit, keeping the method's jump length and resamplings. Not with --steps."
        ),
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option("--option", "-o", help="Any method option as KEY=VALUE (repeatable)."),
    ] = None,
    samples: Annotated[int, typer.Option(help="Samples per image (K).")] = 1,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same bytes.")] = 0,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("out"),
    resize: Annotated[
        bool, typer.Option(help="Inpaint at the model's size and paste the fill back.")
    ] = False,
    batch_size: Annotated[int, typer.Option(help="Images per network call.")] = 8,
    device: Annotated[str, typer.Option(help="cpu, cuda, cuda:1, mps ...")] = "cpu",
    class_label: Annotated[
        int | None, typer.Option(help="Class for class-conditional models.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option(help="Print the schedule and estimated time; sample nothing.")
    ] = False,
    save_trajectory: Annotated[
        bool, typer.Option(help="Also write <stem>_trajectory.gif of x0_hat over time.")
    ] = False,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """Inpaint IMAGES; writes OUT/<stem>.png (OUT/<stem>_<k>.png when --samples > 1),
    OUT/<stem>_hole.png, OUT/<stem>_grid.png (input with the hole | results) and
    OUT/inpaintkit.json (the resolved configuration)."""
    from ..api import build_method
    from ..methods import run_inpainter
    from ..models import load_model, parse_model_options

    try:
        model_options = parse_model_options(model_option or [])
        jobs = _jobs(
            images,
            mask,
            mask_kind,
            mask_seed if mask_seed is not None else seed,
            mask_white,
            threshold,
        )
        options = {
            **_given(
                steps=steps,
                jump_length=jump_length,
                resamplings=resamplings,
                jump_n_sample=jump_n_sample,
            ),
            **parse_key_values(option or []),  # -o wins over the named flags
        }
        if budget is not None:
            model, options = _apply_budget(method, model, device, options, budget, model_options)
        elif model_options:
            model = load_model(model or "default", device=device, **model_options)
        inpainter = build_method(
            method,
            model=model,
            device=device,
            class_label=class_label,
            progress=progress,
            **options,
        )
        rows = sum(samples for job in jobs if job.hole.any())
        if dry_run:
            _dry_run(inpainter, rows, batch_size, budget)
            return
        if save_trajectory and not getattr(inpainter, "uses_model", False):
            raise InpaintkitError(f"--save-trajectory needs a diffusion method, not {method}")
        recorder = _Trajectory(inpainter) if save_trajectory else None
        started = time.perf_counter()
        results = run_inpainter(
            inpainter,
            jobs,
            samples=samples,
            seed=seed,
            resize=resize,
            batch_size=batch_size,
            callback=recorder,
        )
        seconds = time.perf_counter() - started
        _write(out, images, jobs, results, recorder)
        config = {
            **inpainter.config(),
            "samples": samples,
            "seed": seed,
            "budget": budget,
            "resize": resize,
            "mask": [str(m) for m in mask or []],
            "mask_kind": mask_kind,
            "mask_white": mask_white,
            "images": [str(p) for p in images],
            "seconds": round(seconds, 3),
            "python": platform.python_version(),
            "device": device,
        }
        (out / "inpaintkit.json").write_text(json.dumps(config, indent=2) + "\n")
    except InpaintkitError as err:
        fail(err)
    typer.echo(f"inpainted {len(jobs)} image(s) x {samples} in {seconds:.1f} s -> {out}/")


def _apply_budget(
    method: str,
    model: str | None,
    device: str,
    options: dict,
    budget: int,
    model_options: dict | None = None,
) -> tuple[object, dict]:
    """(model, options with ``steps`` chosen by ``for_budget``). The other options (the named
    flags and -o, e.g. jump_length) are applied first, so the search keeps them; the model is
    loaded here because respacing cannot exceed its training timesteps."""
    from dataclasses import fields

    from ..methods import get_method
    from ..models import load_model

    cls = get_method(method)
    if not getattr(cls, "uses_model", False):
        raise InpaintkitError(
            f"--budget counts network evaluations; {method} uses no network (drop --budget)"
        )
    if "steps" in options:
        raise InpaintkitError("--budget chooses the steps itself; drop --steps (or -o steps=)")
    unknown = sorted(set(options) - {f.name for f in fields(cls.Options)})
    if unknown:  # the same message as build_method's, before anything is loaded
        valid = sorted(f.name for f in fields(cls.Options))
        raise InpaintkitError(f"unknown option(s) {unknown} for {method}; valid: {valid}")
    loaded = load_model(model or "default", device=device, **(model_options or {}))
    chosen = cls.Options(**options).for_budget(budget, max_steps=len(loaded.betas))
    return loaded, {**options, "steps": chosen.steps}


def _given(**options: object) -> dict:
    """The method options the user set (None = the method's own default)."""
    return {k: v for k, v in options.items() if v is not None}


def _jobs(images, masks, mask_kind, mask_seed, mask_white, threshold):
    from ..io import load_hole, load_image
    from ..masks import make_hole
    from ..methods import Job

    if (masks is None) == (mask_kind is None):
        raise InpaintkitError("give exactly one of --mask FILE or --mask-kind KIND")
    if masks and len(masks) not in (1, len(images)):
        raise InpaintkitError(f"give one --mask for all images or one per image ({len(images)})")
    stems = [p.stem for p in images]
    if len(set(stems)) != len(stems):
        raise InpaintkitError("two input images have the same file name; outputs would collide")
    jobs = []
    for n, path in enumerate(images):
        picture = load_image(path)
        if masks:
            source = masks[0] if len(masks) == 1 else masks[n]
            hole = load_hole(source, size=picture.size, white=mask_white, threshold=threshold)
        else:
            hole = make_hole(mask_kind, (picture.height, picture.width), seed=mask_seed + n)
        jobs.append(Job(picture, hole))
    return jobs


def _dry_run(inpainter, rows: int, batch_size: int, budget: int | None = None) -> None:
    """Print what sampling would cost, timing one network evaluation on this machine."""
    import torch

    if not getattr(inpainter, "uses_model", False):
        typer.echo(f"{inpainter.name}: no network; {rows} output(s) to fill")
        return
    summary = inpainter.options.summary()
    knobs = ", ".join(f"{k}={v}" for k, v in asdict(inpainter.options).items() if v is not None)
    batches = -(-rows // batch_size) if rows else 0
    batch = min(rows, batch_size) or 1
    model = inpainter.model
    size = model.image_size
    x = torch.zeros(batch, model.channels, size, size, device=model.device)
    t = torch.zeros(batch, dtype=torch.long, device=model.device)
    labels = t if model.num_classes else None
    with torch.no_grad():
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            model.unet(x, t, class_labels=labels)
            timings.append(time.perf_counter() - started)
            if timings[-1] > 2:  # a big model: one timing is enough
                break
    per_eval = sorted(timings)[len(timings) // 2]
    total = per_eval * summary["network_evaluations"] * batches
    if budget is not None:
        typer.echo(
            f"budget: {budget} network evaluations per batch -> steps={summary['steps']} "
            f"({summary['network_evaluations']} network evaluations)"
        )
    typer.echo(
        f"model: {model.source} ({model.num_parameters() / 1e6:.1f}M parameters, {size}x{size})\n"
        f"schedule: {knobs}: {summary['network_evaluations']} network "
        f"evaluations and {summary['undo_steps']} undo steps per batch\n"
        f"work: {rows} output(s) in {batches} batch(es) of up to {batch_size}\n"
        f"estimated time on this machine: {_duration(total)} "
        f"({per_eval * 1000:.0f} ms per evaluation at batch {batch})"
    )


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


class _Trajectory:
    """Collects x0_hat of every output about 60 times during sampling, for GIFs."""

    def __init__(self, inpainter, frames: int = 60) -> None:  # noqa: ANN001
        nfe = inpainter.options.summary()["network_evaluations"]
        self.every = max(1, nfe // frames)
        self.frames: dict[tuple[int, int], list] = {}

    def __call__(self, info: dict) -> None:
        from ..io import tensor_to_images

        if info["nfe"] % self.every and info["t"] != 0:
            return
        for row, image in zip(info["rows"], tensor_to_images(info["x0_hat"])):
            self.frames.setdefault(row, []).append(image)


def _write(out: Path, paths, jobs, results, recorder) -> None:
    from ..io import make_grid, save_hole, save_image, show_hole

    out.mkdir(parents=True, exist_ok=True)
    grid_rows = []
    for n, (path, job, outputs) in enumerate(zip(paths, jobs, results)):
        stem = path.stem
        for k, image in enumerate(outputs):
            save_image(image, out / (f"{stem}.png" if len(outputs) == 1 else f"{stem}_{k}.png"))
        save_hole(job.hole, out / f"{stem}_hole.png")
        row = [job.image, show_hole(job.image, job.hole), *outputs]
        save_image(make_grid([row]), out / f"{stem}_grid.png")
        grid_rows.append(row)
        if recorder is not None:
            _write_gif(
                out / f"{stem}_trajectory.gif",
                [recorder.frames.get((n, k), []) for k in range(len(outputs))],
            )
    if len(grid_rows) > 1:
        save_image(make_grid(grid_rows), out / "grid.png")


def _write_gif(path: Path, per_sample: list[list]) -> None:
    from ..io import make_grid

    count = min((len(f) for f in per_sample), default=0)
    if count == 0:
        return
    frames = [make_grid([[frames[i] for frames in per_sample]]) for i in range(count)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=80, loop=0)
