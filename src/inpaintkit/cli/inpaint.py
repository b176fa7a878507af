"""`inpaintkit inpaint`: fill the holes of image files and write results, grids and the config."""

from __future__ import annotations

import platform
import time
from pathlib import Path
from typing import Annotated

import typer

from ..errors import InpaintkitError
from ..options import split_key_values
from ..threads import thread_report
from .app import app, fail
from .checks import check_run
from .dryrun import report_dry_run
from .outputs import Trajectory, plan_outputs, write_outputs
from .pairing import expand_images, resolve_masks


@app.command()
def inpaint(
    images: Annotated[
        list[Path],
        typer.Argument(
            help="Image files, or folders of images (their .png .jpg .jpeg .webp .bmp .tif "
            "files, sorted by name).",
            metavar="DIR_OR_FILES",
        ),
    ],
    mask: Annotated[
        list[Path] | None,
        typer.Option(
            help="Mask file (white = hole); once for all images or once per image (repeat "
            "--mask before each file). For a folder of masks use --mask-dir."
        ),
    ] = None,
    mask_dir: Annotated[
        Path | None,
        typer.Option(
            help="Folder of masks: each image gets the mask of the same name (any image "
            "suffix); an image without a mask or a mask without an image is an error."
        ),
    ] = None,
    extra_input: Annotated[
        list[str] | None,
        typer.Option(
            "--input",
            help="An extra input the method takes, NAME=FILE (e.g. sketch=edges.png): once for "
            "all images or once per image, for each name (see `inpaintkit methods`).",
        ),
    ] = None,
    sketch: Annotated[
        list[Path] | None,
        typer.Option(
            help="A sketch for sketch-guided methods (deepfill-v2): white strokes on black = "
            "edges to follow inside the hole; once for all images or once per image. The same "
            "as --input sketch=FILE.",
        ),
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
    method: Annotated[
        str, typer.Option(help="Method, or auto: by image size (docs/photos.md).")
    ] = "auto",
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
    steps: Annotated[
        int | None, typer.Option(help="Respaced reverse steps T (default: the method's).")
    ] = None,
    jump_length: Annotated[
        int | None, typer.Option(help="Jump length j (default: the method's).")
    ] = None,
    resamplings: Annotated[
        int | None, typer.Option(help="Resamplings r (default: the method's).")
    ] = None,
    jump_n_sample: Annotated[
        int | None, typer.Option(help="Extra up/down steps (default: the method's).")
    ] = None,
    budget: Annotated[
        int | None,
        typer.Option(
            help="Network evaluations per image (a batch shares them): choose the walk (steps, "
            "and resamplings when they leave too few steps) that fits; jump length and "
            "resamplings given by flag or -o are kept. Not with --steps."
        ),
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option",
            "-o",
            help="Any method option as KEY=VALUE (repeatable); `inpaintkit methods --verbose` "
            "lists them with defaults and ranges.",
        ),
    ] = None,
    samples: Annotated[int, typer.Option(help="Samples per image (K).")] = 1,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same bytes.")] = 0,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("out"),
    overwrite: Annotated[
        bool,
        typer.Option(
            help="Reuse an output folder of an earlier run: the files its inpaintkit.json "
            "lists are removed first. Without it such a folder is refused."
        ),
    ] = False,
    output_format: Annotated[
        str | None,
        typer.Option(
            "--format", help="Result format: png | jpg | webp [the input's; png for others]."
        ),
    ] = None,
    quality: Annotated[
        int | None, typer.Option(help="jpg / webp quality 1..100 [jpg 95, webp 90].")
    ] = None,
    resize: Annotated[
        bool, typer.Option(help="Inpaint at the model's size and paste the fill back.")
    ] = False,
    strategy: Annotated[
        str,
        typer.Option(
            help="Images not at the model's size: auto (crop when larger than the model, else "
            "original) | original (pad to the method's multiple) | resize (= --resize) | crop "
            "(a crop around each hole, at the model's size)."
        ),
    ] = "auto",
    crop_margin: Annotated[
        int | None,
        typer.Option(help="Context around each hole for crop, px [model size // 4, or 128]."),
    ] = None,
    feather: Annotated[
        int | None,
        typer.Option(
            help="Blend the fill over this many px inside the hole border [0; 3 for auto's "
            "photo choice]."
        ),
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Images per network call.")] = 8,
    device: Annotated[str, typer.Option(help="cpu, cuda, cuda:1, mps ...")] = "cpu",
    class_label: Annotated[
        int | None, typer.Option(help="Class for class-conditional models.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option(help="Print the schedule and estimated time; sample nothing.")
    ] = False,
    save_trajectory: Annotated[
        bool,
        typer.Option(
            help="Also write <stem>_trajectory.gif of x0_hat over time (one per crop, "
            "<stem>_trajectory_<c>.gif, when the image is cut into several)."
        ),
    ] = False,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
    quiet: Annotated[bool, typer.Option(help="No progress output (bar or log lines).")] = False,
    debug: Annotated[bool, typer.Option(help="Show full tracebacks on errors.")] = False,
) -> None:
    """Inpaint images; writes OUT/<stem>.<format> (OUT/<stem>_<k>.<format> when --samples > 1),
    OUT/<stem>_hole.png, OUT/<stem>_grid.png (input with the hole | results) and
    OUT/inpaintkit.json (the resolved configuration and the files written). Outputs never
    replace an input; files are written atomically."""
    from ..methods import build_method, get_method, parse_options, plan_jobs, run_method
    from ..methods.choice import AUTO, choose_method, emoji_model_note
    from ..methods.strategy import check_strategy, resolve_strategy
    from ..models import embedded_models, load_model, parse_model_options

    try:
        check_strategy(strategy)
        if resize and strategy not in ("auto", "resize"):
            raise InpaintkitError(f"--resize is --strategy resize; it contradicts {strategy}")
        strategy = "resize" if resize else strategy
        checks = dict(
            class_label=class_label, strategy=strategy, model=model,
            given={**_given(steps=steps, jump_length=jump_length, resamplings=resamplings,
                            jump_n_sample=jump_n_sample), **split_key_values(option or [])},
        )  # fmt: skip
        check_run(
            device=device, batch_size=batch_size, seed=seed, samples=samples, budget=budget,
            counts={"--mask-seed": (mask_seed, 0), "--crop-margin": (crop_margin, 0),
                    "--feather": (feather, 0)},
            method=None if method == AUTO else method, images=images, **checks,
        )  # fmt: skip
        model_options = parse_model_options(model_option or [])
        images = expand_images(images)  # folders -> their images; missing paths named
        masks = resolve_masks(images, mask, mask_dir, mask_kind)
        extras = _inputs(_with_sketch(extra_input or [], sketch or []), len(images))
        jobs = _jobs(
            images,
            masks,
            mask_kind,
            mask_seed if mask_seed is not None else seed,
            mask_white,
            threshold,
            extras,
        )
        choice = None
        if method == AUTO:  # chosen by the images' size (inpaintkit.methods.choice)
            choice = choose_method([job.image.size for job in jobs], model, embedded_models())
            method, model = choice.method, model or choice.model
            feather = choice.feather if feather is None else feather
            check_run(method=method, images=images, budget=budget, **{**checks, "model": model})
            if not quiet and choice.method != "repaint":  # repaint: what it always was
                typer.echo(f"method auto: {choice.reason} (--method NAME to choose)", err=True)
        feather = feather or 0
        given = checks["given"]  # -o wins over the named flags
        cls = get_method(method)
        # the one parser, before any model is loaded: a bad value fails fast
        options = parse_options(cls.Options, given, owner=method)
        if choice is None and model is None and cls.needs.model_kind and not quiet:
            sizes = [job.image.size for job in jobs]  # an emoji model on a photo: say so
            note = emoji_model_note(method, cls.model_spec(None), sizes)
            if note:
                typer.echo(note, err=True)
        if save_trajectory and cls.needs.model_kind is None:
            raise InpaintkitError(f"--save-trajectory needs a diffusion method, not {method}")
        plan = plan_outputs(  # the folder is created (or refused) before any model is loaded
            out,
            images,
            [*images, *(masks or []), *(p for ps in extras.values() for p in ps)],
            samples=samples,
            format=output_format,
            quality=quality,
            overwrite=overwrite,
            create=not dry_run,
        )
        if budget is not None:
            model, options = _apply_budget(
                cls, model, device, options, set(given), budget, model_options
            )
        elif model_options:
            model = load_model(cls.model_spec(model), device=device, **model_options)
        inpainter = build_method(
            method,
            model=model,
            device=device,
            options=options,
            class_label=class_label,
            progress=progress and not quiet,
        )
        if dry_run:
            pieces = plan_jobs(
                inpainter, jobs, strategy=strategy, crop_margin=crop_margin
            )  # the method rows: samples x pieces, grouped by working size as run_method does
            report_dry_run(inpainter, pieces, samples, batch_size, budget)
            return
        recorder = Trajectory(inpainter) if save_trajectory else None
        started = time.perf_counter()
        results = run_method(
            inpainter,
            jobs,
            samples=samples,
            seed=seed,
            strategy=strategy,
            crop_margin=crop_margin,
            feather=feather,
            batch_size=batch_size,
            callback=recorder,
        )
        seconds = time.perf_counter() - started
        write_outputs(plan, images, jobs, results, recorder)
        config = {
            **inpainter.config(),
            "samples": samples,
            "seed": seed,
            "budget": budget,
            "resize": resize,
            "strategy": strategy,
            "strategies": [
                resolve_strategy(
                    strategy,
                    getattr(inpainter, "image_size", None),
                    *job.image.size,
                    getattr(inpainter, "crop_above", None),
                )
                for job in jobs
            ],
            "crop_margin": crop_margin,
            "feather": feather,
            "auto": None if choice is None else choice.reason,
            "mask": [str(m) for m in masks or []],
            "mask_dir": None if mask_dir is None else str(mask_dir),
            "mask_kind": mask_kind,
            "mask_white": mask_white,
            "images": [str(p) for p in images],
            "seconds": round(seconds, 3),
            "python": platform.python_version(),
            "device": device,
            "format": output_format or "input",
            "quality": quality,
            "threads": thread_report(),
        }
        plan.record(config)
    except InpaintkitError as err:
        fail(err)
    typer.echo(f"inpainted {len(jobs)} image(s) x {samples} in {seconds:.1f} s -> {out}/")


def _apply_budget(
    cls: type,
    model: str | None,
    device: str,
    options: object,
    given: set[str],
    budget: int,
    model_options: dict | None = None,
) -> tuple[object, object]:
    """(the loaded model, the options the method's ``for_budget`` chose for ``budget``).

    The options the user gave (flags and -o, named in ``given``) are kept; the rest of the walk
    is chosen by the method (see inpaintkit.methods.diffusion.budget.choose_walk). The model is
    loaded here because respacing cannot exceed its training timesteps."""
    from ..models import load_model

    if cls.needs.model_kind is None:
        cls.for_budget(options, budget)  # raises: no network, no budget
    if "steps" in given:
        raise InpaintkitError("--budget chooses the steps itself; drop --steps (or -o steps=)")

    loaded = load_model(cls.model_spec(model), device=device, **(model_options or {}))
    loaded = cls.resolve_model(loaded, device)  # the kind is checked before the budget
    max_steps = len(loaded.betas) if hasattr(loaded, "betas") else None
    return loaded, cls.for_budget(options, budget, max_steps=max_steps, fixed=given)


def _given(**options: object) -> dict:
    """The method options the user set (None = the method's own default)."""
    return {k: v for k, v in options.items() if v is not None}


def _with_sketch(pairs: list[str], sketches: list[Path]) -> list[str]:
    """``--input`` pairs plus ``--sketch FILE`` flags as ``sketch=FILE`` (not both kinds)."""
    if sketches and any(pair.partition("=")[0].strip() == "sketch" for pair in pairs):
        raise InpaintkitError("--sketch FILE is --input sketch=FILE; give the sketch one way")
    return [*pairs, *(f"sketch={path}" for path in sketches)]


def _inputs(pairs: list[str], count: int) -> dict[str, list[Path]]:
    """``--input NAME=FILE`` flags -> {name: one file for all images, or one per image}."""
    files: dict[str, list[Path]] = {}
    for pair in pairs:
        name, sep, path = pair.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise InpaintkitError(f"--input takes NAME=FILE, got {pair!r}")
        files.setdefault(name.strip(), []).append(Path(path.strip()))
    for name, paths in files.items():
        if len(paths) not in (1, count):
            raise InpaintkitError(
                f"give --input {name}=FILE once for all images or once per image ({count}), "
                f"not {len(paths)} times"
            )
    return files


def _jobs(images, masks, mask_kind, mask_seed, mask_white, threshold, inputs):
    from ..io import load_hole, load_image, load_input
    from ..masks import make_hole
    from ..methods import Job

    stems = [p.stem for p in images]
    if len(set(stems)) != len(stems):
        same = sorted(str(p) for p in images if stems.count(p.stem) > 1)
        raise InpaintkitError(
            f"images with the same name would write the same outputs: {', '.join(same)}"
        )
    jobs = []
    for n, path in enumerate(images):
        picture = load_image(path)
        if masks:
            source = masks[0] if len(masks) == 1 else masks[n]
            hole = load_hole(source, size=picture.size, white=mask_white, threshold=threshold)
        else:
            hole = make_hole(mask_kind, (picture.height, picture.width), seed=mask_seed + n)
        extras = {
            name: load_input(paths[0] if len(paths) == 1 else paths[n], picture.size, name)
            for name, paths in inputs.items()
        }
        jobs.append(Job(picture, hole, inputs=extras))
    return jobs
