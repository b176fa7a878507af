"""Small commands: `masks`, `methods`, `models` and `data`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import InpaintkitError
from .app import app, fail


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
    """Write COUNT seeded masks of KIND as 8-bit PNGs (white = hole): OUT/<kind>_0000.png,
    OUT/<kind>_0001.png, ... (the index has four digits)."""
    from ..io import save_hole
    from ..masks import hole_fraction, make_holes

    try:
        holes = make_holes(kind, size, count, seed=seed)
    except InpaintkitError as err:
        fail(err)
    for i, hole in enumerate(holes):
        save_hole(hole, out / f"{kind}_{i:04d}.png")
    mean = sum(hole_fraction(h) for h in holes) / len(holes)
    typer.echo(f"wrote {count} {kind} mask(s) of {size}x{size} to {out}/ (mean hole {mean:.1%})")


@app.command()
def methods(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Also list every option with its range.")
    ] = False,
) -> None:
    """List the inpainting methods: one line each (summary, model needed, headline defaults and
    default cost); --verbose adds every option's default, valid values and help, generated from
    the methods' option schemas."""
    from ..methods import METHODS
    from ..methods.choice import AUTO, SMALL_SIDE
    from ..options import format_value, option_schema

    width = max(map(len, METHODS))
    models = {
        name: (cls.needs.model_kind or "none") + "".join(f"+{i}" for i in cls.needs.inputs)
        for name, cls in METHODS.items()
    }
    kinds = max(map(len, models.values()))
    typer.echo(f"{'method':<{width}}  {'model':<{kinds}}  summary (headline defaults; cost)")
    typer.echo(f"{AUTO:<{width}}  {'(chosen)':<{kinds}}  the default: by image size, repaint up "
               f"to {SMALL_SIDE} px, the photo default above (docs/photos.md)")  # fmt: skip
    for name, cls in sorted(METHODS.items()):
        typer.echo(f"{name:<{width}}  {models[name]:<{kinds}}  {cls.describe()}")
        if not verbose:
            continue
        schema = option_schema(cls.Options)
        column = max((len(o["name"]) for o in schema), default=0)
        for o in schema:
            typer.echo(
                f"{'':<{width}}    {o['name']:<{column}} = {format_value(o['default'])}  "
                f"[{o['valid']}] {o['help']}"
            )


@app.command()
def models(
    model: Annotated[
        str | None,
        typer.Argument(help="An embedded model's name or a model file: print its model card."),
    ] = None,
) -> None:
    """List the models shipped inside the package; with MODEL (a name or a file), print its model
    card (data, training, held-out evidence, limits)."""
    from ..models import embedded_models, load_model

    if model is not None:
        try:
            card = load_model(model).card.strip()
        except InpaintkitError as err:
            fail(err)
        typer.echo(card or f"{model} carries no model card")
        return
    for n, name in enumerate(embedded_models()):
        loaded = load_model(name)
        card = loaded.card.strip().splitlines()
        title = card[0].lstrip("# ") if card else ""
        tag = " (default)" if n == 0 and loaded.kind == "prior" else ""
        size = loaded.image_size
        shape = f"{size}x{size}" if size else "any size"
        typer.echo(
            f"{name}{tag}: {loaded.kind}, {shape}, "
            f"{loaded.num_parameters() / 1e6:.2f}M parameters. {title}"
        )


@app.command()
def data(
    name: Annotated[str, typer.Argument(help="Data set to fetch: emoji or photos.")],
    style: Annotated[str, typer.Option(help="Emoji style: google, twitter, facebook.")] = "google",
) -> None:
    """Fetch a data set into the cache ($INPAINTKIT_CACHE, default ~/.cache/inpaintkit).

    emoji: the npm package (needs npm and the npm registry). photos: real photographs from the
    Debian packages mate-backgrounds, plasma-workspace-wallpapers and opencv-doc (apt-get
    download + dpkg -x, no install, no root) and scikit-image's bundled photos, kept by a
    committed list and split by scene (docs/data.md)."""
    if name == "photos":
        _photos()
        return
    from ..data.emoji import fetch_emoji, load_emoji

    if name != "emoji":
        fail(InpaintkitError(f"unknown data set {name!r}; choose: emoji, photos"))
    try:
        folder = fetch_emoji(style)
        sizes = {split: len(load_emoji(style, split, size=32)) for split in ("train", "test")}
    except InpaintkitError as err:
        fail(err)
    typer.echo(f"{style} emoji in {folder}: {sizes['train']} train, {sizes['test']} test images")


def _photos() -> None:
    from ..data.photo_build import build_photo_set

    try:
        summary = build_photo_set(progress=typer.echo)
    except InpaintkitError as err:
        fail(err)
    for line in summary.lines():
        typer.echo(line)
