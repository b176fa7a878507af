"""`inpaintkit realfill`: complete one image from reference photos of the same scene (RealFill:
fit, sample, select; docs/realfill.md)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from PIL import Image, ImageDraw

from ..options import split_key_values
from .app import app
from .checks import check_run

TILE = 128  # px: small samples are enlarged (nearest) in the ranking grid so scores are legible
CAPTION = 14


def output_names(stem: str, keep: int) -> list[str]:
    """The files a run writes: <stem>.png (the best), <stem>_<k>.png for ranks k = 1..keep-1,
    <stem>_ranking.png."""
    return [f"{stem}.png", *[f"{stem}_{k}.png" for k in range(1, keep)], f"{stem}_ranking.png"]


def ranking_grid(
    target: Image.Image,
    hole: np.ndarray,
    references: list[Image.Image],
    samples: list[Image.Image],
    scores: list[int],
    order: list[int],
    per_row: int = 8,
) -> Image.Image:
    """A picture of the run: the target with its hole grey and the references on the first row,
    then every sample best first, each captioned "#rank sample k: score"."""
    from ..io import show_hole

    scale = max(1, -(-TILE // max(target.size)))  # ceil: tiles at least TILE px
    size = (target.width * scale, target.height * scale)

    def tile(image: Image.Image, text: str) -> Image.Image:
        canvas = Image.new("RGB", (size[0], size[1] + CAPTION), (255, 255, 255))
        picture = image.convert("RGB")
        if picture.size != target.size:  # references may differ: fit them into the tile
            picture = picture.resize(target.size, Image.Resampling.LANCZOS)
        canvas.paste(picture.resize(size, Image.Resampling.NEAREST), (0, 0))
        ImageDraw.Draw(canvas).text((2, size[1] + 1), text, fill=(0, 0, 0))
        return canvas

    first = [tile(show_hole(target, hole), "target")]
    first += [tile(r, f"reference {i + 1}") for i, r in enumerate(references)]
    tiles = [tile(samples[k], f"#{r + 1} s{k}: {scores[k]}") for r, k in enumerate(order)]
    rows = [first[i : i + per_row] for i in range(0, len(first), per_row)]
    rows += [tiles[i : i + per_row] for i in range(0, len(tiles), per_row)]
    from ..io import make_grid

    return make_grid(rows, pad=4)


@app.command()
def realfill(
    target: Annotated[Path, typer.Argument(help="The image to complete.")],
    mask: Annotated[Path, typer.Option("--mask", help="Its hole mask (white = hole).")],
    ref: Annotated[
        list[Path],
        typer.Option("--ref", help="A reference photo of the same scene (repeat; 1-5 typical)."),
    ],
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    model: Annotated[
        str | None,
        typer.Option(
            help="A conditional-diffusion model (file or embedded name) or a diffusers "
            "StableDiffusionInpaintPipeline folder [inpaint32]."
        ),
    ] = None,
    steps: Annotated[int | None, typer.Option(help="Sampler steps [200, DDPM].")] = None,
    samples: Annotated[int, typer.Option(help="Samples K to draw and rank.")] = 16,
    keep: Annotated[int, typer.Option(help="How many of the best to write (M).")] = 4,
    seed: Annotated[int, typer.Option(help="Seed of the fit and the samples.")] = 0,
    adapter: Annotated[
        Path | None, typer.Option(help="A saved adapter: skip the fit and use it.")
    ] = None,
    save_adapter: Annotated[
        Path | None, typer.Option(help="Write the fitted adapter here (safetensors).")
    ] = None,
    fit_steps: Annotated[int | None, typer.Option(help="LoRA fit steps [400].")] = None,
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option",
            "-o",
            help="Any realfill option as KEY=VALUE (repeatable; `inpaintkit methods --verbose`).",
        ),  # fmt: skip
    ] = None,
    mask_white: Annotated[
        str, typer.Option(help="What white means in the mask: hole, or keep.")
    ] = "hole",
    batch_size: Annotated[int, typer.Option(help="Samples per network call.")] = 8,
    device: Annotated[str, typer.Option(help="cpu, cuda, cuda:1 ...")] = "cpu",
    overwrite: Annotated[bool, typer.Option(help="Replace an earlier run's outputs.")] = False,
    debug: Annotated[bool, typer.Option(help="Show full tracebacks on errors.")] = False,
) -> None:
    """RealFill: fit a LoRA adapter on the references and the target's known pixels, draw K
    samples, blend them with a feathered mask and rank them by SIFT matches with the
    references; writes the best as OUT/<stem>.png, the next as <stem>_<k>.png and a ranking
    grid. Never writes over an input."""
    from ..errors import InpaintkitError
    from ..io import load_hole, load_image, save_image
    from ..methods import build_method, get_method, parse_options
    from .outputs import plan_outputs

    check_run(
        device=device, seed=seed, samples=samples, batch_size=batch_size,
        counts={"--keep": (keep, 1), "--steps": (steps, 1), "--fit-steps": (fit_steps, 1)},
    )  # fmt: skip
    if keep > samples:
        raise InpaintkitError(f"--keep {keep} is more than --samples {samples}")
    given = {"steps": steps, "fit_steps": fit_steps, "adapter": str(adapter) if adapter else None}
    given = {k: v for k, v in given.items() if v is not None}
    options = parse_options(
        get_method("realfill").Options, {**given, **split_key_values(option or [])}, "realfill"
    )
    picture = load_image(target)
    hole = load_hole(mask, size=picture.size, white=mask_white)
    references = [load_image(r) for r in ref]
    inputs = [target, mask, *ref, *([adapter] if adapter else [])]
    if save_adapter is not None and save_adapter.resolve() in {p.resolve() for p in inputs}:
        raise InpaintkitError(f"--save-adapter {save_adapter} would replace an input")
    names = output_names(target.stem, keep)
    plan = plan_outputs(out, [target], inputs, samples=keep, overwrite=overwrite, names=names)
    method = build_method("realfill", model=model, device=device, options=options)
    started = time.perf_counter()
    stats = None
    if not method.fitted:
        stats = method.fit(references, seed=seed, targets=[(picture, hole)])
        typer.echo(
            f"fit: {int(stats['steps'])} steps in {stats['seconds']:.0f} s "
            f"({stats['seconds_per_step']:.2f} s/step), loss {stats['first_loss']:.4f} -> "
            f"{stats['loss']:.4f}"
        )
    if save_adapter is not None:
        typer.echo(f"adapter: {method.save_adapter(save_adapter)}")
    result = method.complete(
        picture, hole, references, samples=samples, seed=seed, batch_size=batch_size
    )
    for old in plan.remove:
        old.unlink(missing_ok=True)
    stem = target.stem
    save_image(result.samples[result.order[0]], plan.path(f"{stem}.png"))
    for rank, k in enumerate(result.order[1:keep], start=1):
        save_image(result.samples[k], plan.path(f"{stem}_{rank}.png"))
    grid = ranking_grid(picture, hole, references, result.samples, result.scores, result.order)
    save_image(grid, plan.path(f"{stem}_ranking.png"))
    plan.record(
        {
            **method.config(),
            "target": str(target),
            "mask": str(mask),
            "references": [str(r) for r in ref],
            "samples": samples,
            "keep": keep,
            "seed": seed,
            "fit": stats,
            "scores": result.scores,
            "order": result.order,
            "seconds": round(time.perf_counter() - started, 1),
        }  # fmt: skip
    )
    best = result.order[0]
    typer.echo(f"best: sample {best} ({result.scores[best]} matches) -> {out / f'{stem}.png'}")
