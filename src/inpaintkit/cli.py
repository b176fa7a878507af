"""The ``inpaintkit`` command line (typer). Nothing below this module imports it."""

from __future__ import annotations

import json
import platform
import time
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from .errors import InpaintkitError

app = typer.Typer(
    help="Free-form image inpainting with diffusion models (RePaint) and classical baselines.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _fail(err: Exception) -> None:
    typer.secho(f"error: {err}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


@app.callback()
def _main() -> None:
    """inpaintkit: RePaint-class inpainting on your images and your diffusion checkpoints."""


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
    from .api import build_method
    from .methods import run_inpainter

    try:
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
            **_parse_options(option or []),  # -o wins over the named flags
        }
        if budget is not None:
            model, options = _apply_budget(method, model, device, options, budget)
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
        _fail(err)
    typer.echo(f"inpainted {len(jobs)} image(s) x {samples} in {seconds:.1f} s -> {out}/")


def _apply_budget(
    method: str, model: str | None, device: str, options: dict, budget: int
) -> tuple[object, dict]:
    """(model, options with ``steps`` chosen by ``for_budget``). The other options (the named
    flags and -o, e.g. jump_length) are applied first, so the search keeps them; the model is
    loaded here because respacing cannot exceed its training timesteps."""
    from dataclasses import fields

    from .methods import get_method
    from .models import load_model

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
    loaded = load_model(model or "default", device=device)
    chosen = cls.Options(**options).for_budget(budget, max_steps=len(loaded.betas))
    return loaded, {**options, "steps": chosen.steps}


def _given(**options: object) -> dict:
    """The method options the user set (None = the method's own default)."""
    return {k: v for k, v in options.items() if v is not None}


def _parse_options(pairs: list[str]) -> dict[str, object]:
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


def _jobs(images, masks, mask_kind, mask_seed, mask_white, threshold):
    from .io import load_hole, load_image
    from .masks import make_hole
    from .methods import Job

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
        from .io import tensor_to_images

        if info["nfe"] % self.every and info["t"] != 0:
            return
        for row, image in zip(info["rows"], tensor_to_images(info["x0_hat"])):
            self.frames.setdefault(row, []).append(image)


def _write(out: Path, paths, jobs, results, recorder) -> None:
    from .io import make_grid, save_hole, save_image, show_hole

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
    from .io import make_grid

    count = min((len(f) for f in per_sample), default=0)
    if count == 0:
        return
    frames = [make_grid([[frames[i] for frames in per_sample]]) for i in range(count)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=80, loop=0)


@app.command()
def masks(
    kind: Annotated[
        str, typer.Option(help="wide narrow sr2x altlines half expand thin medium thick box")
    ],
    size: Annotated[int, typer.Option(help="Square size in pixels.")] = 256,
    count: Annotated[int, typer.Option(help="How many masks.")] = 1,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("out/masks"),
) -> None:
    """Write COUNT seeded masks of KIND as PNGs (white = hole): OUT/<kind>_<i>.png."""
    from .io import save_hole
    from .masks import hole_fraction, make_holes

    try:
        holes = make_holes(kind, size, count, seed=seed)
    except InpaintkitError as err:
        _fail(err)
    for i, hole in enumerate(holes):
        save_hole(hole, out / f"{kind}_{i:04d}.png")
    mean = sum(hole_fraction(h) for h in holes) / len(holes)
    typer.echo(f"wrote {count} {kind} mask(s) of {size}x{size} to {out}/ (mean hole {mean:.1%})")


@app.command()
def methods() -> None:
    """List the inpainting methods, one line each."""
    from .methods import METHODS

    width = max(map(len, METHODS))
    for name, cls in sorted(METHODS.items()):
        typer.echo(f"{name:<{width}}  {cls.summary}")


@app.command()
def models() -> None:
    """List the models shipped inside the package."""
    from .models import embedded_models, load_model

    for n, name in enumerate(embedded_models()):
        model = load_model(name)
        card = model.card.strip().splitlines()
        title = card[0].lstrip("# ") if card else ""
        tag = " (default)" if n == 0 else ""
        typer.echo(
            f"{name}{tag}: {model.image_size}x{model.image_size}, "
            f"{model.num_parameters() / 1e6:.2f}M parameters. {title}"
        )


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
        str, typer.Option(help="emoji-test | emoji-test-64 | a folder of images.")
    ] = "emoji-test",
    n: Annotated[int | None, typer.Option(help="Use the first N images (default: all).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the masks and the sampling.")] = 0,
    model: Annotated[str, typer.Option(help="Model of the diffusion methods.")] = "default",
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
) -> None:
    """Benchmark METHODS x MASKS x images: OUT/results.jsonl (one line per item, resumable),
    OUT/table.md (Table-1 shape), results.csv, summary.json, grids and plots."""
    from .bench import BenchConfig, run_bench, write_report

    try:
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
        )
        run = run_bench(config, log=typer.echo)
    except InpaintkitError as err:
        _fail(err)
    typer.echo(
        f"{run.computed} item(s) computed, {run.skipped} already recorded, "
        f"{run.seconds:.1f} s -> {out}/"
    )


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
    from .train.ddpm import run_training

    try:
        last = run_training(
            data, preset=preset, steps=steps, out=out, resume=resume, batch_size=batch_size,
            lr=lr, num_threads=threads, **_parse_options(option or []),
        )  # fmt: skip
    except InpaintkitError as err:
        _fail(err)
    typer.echo(f"last checkpoint: {last}\nexport it: inpaintkit export {out} model.safetensors")


@app.command()
def export(
    run: Annotated[Path, typer.Argument(help="A training run folder.")],
    path: Annotated[Path, typer.Argument(help="Output .safetensors (EMA weights, fp16).")],
    card: Annotated[Path | None, typer.Option(help="Model card (markdown) to embed.")] = None,
) -> None:
    """Export a run's EMA weights as one inpaintkit .safetensors file, usable with --model."""
    from .train.ddpm import export_model

    try:
        written = export_model(run, path, card=card.read_text() if card else "")
    except (InpaintkitError, OSError) as err:
        _fail(err)
    typer.echo(f"wrote {written}")


@app.command()
def data(
    name: Annotated[str, typer.Argument(help="Data set to fetch: emoji.")],
    style: Annotated[str, typer.Option(help="google or twitter.")] = "google",
) -> None:
    """Fetch a data set into the cache (the emoji need npm and the npm registry)."""
    from .data.emoji import fetch_emoji, load_emoji

    if name != "emoji":
        _fail(InpaintkitError(f"unknown data set {name!r}; choose: emoji"))
    try:
        folder = fetch_emoji(style)
        sizes = {split: len(load_emoji(style, split, size=32)) for split in ("train", "test")}
    except InpaintkitError as err:
        _fail(err)
    typer.echo(f"{style} emoji in {folder}: {sizes['train']} train, {sizes['test']} test images")
