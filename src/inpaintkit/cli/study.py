"""`inpaintkit study create|results`: the RePaint paper's two-alternative user study (5.2)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .app import GuardedTyper, app
from .serve import web_missing

study_app = GuardedTyper(
    help="The two-alternative user study: build it from a bench folder, serve it with "
    "`inpaintkit serve --study STUDY`, read its results.",
    no_args_is_help=True,
)
app.add_typer(study_app, name="study")


@study_app.command("create")
def create(
    bench: Annotated[Path, typer.Option(help="A bench folder (inpaintkit bench --out).")],
    methods: Annotated[str, typer.Option(help="Two or more of its method labels, A,B[,C...].")],
    out: Annotated[Path, typer.Option(help="The study folder to create.")],
    n: Annotated[
        int | None,
        typer.Option(
            help="Items (image + hole) drawn at random; each gives one question per "
            "pair of methods (default: all)."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the draw and the image names.")] = 0,
    masks: Annotated[
        str | None, typer.Option(help="Only these mask settings, comma-separated.")
    ] = None,
    study_id: Annotated[
        str | None, typer.Option("--id", help="The study's id in /study/ID (default: OUT's name).")
    ] = None,
    debug: Annotated[bool, typer.Option(help="Show full tracebacks on errors.")] = False,
) -> None:
    """Build a study: the same input and hole, two methods' fills, anonymised; serve it with
    `inpaintkit serve --study OUT`."""
    try:
        from ..web.study.build import create_study
    except ImportError as err:
        raise web_missing(err) from err
    names = [m.strip() for m in methods.split(",") if m.strip()]
    mask_list = [m.strip() for m in masks.split(",") if m.strip()] if masks else None
    store = create_study(bench, names, out, n=n, seed=seed, masks=mask_list, study_id=study_id)
    typer.echo(
        f"study {store.id}: {len(store.questions)} question(s) of {len(names)} methods, each "
        f"asked twice -> {out}/ (serve it: inpaintkit serve --study {out})"
    )


@study_app.command("results")
def results(
    study: Annotated[Path, typer.Argument(help="A study folder.")],
    csv: Annotated[Path | None, typer.Option(help="Write the table as CSV here.")] = None,
    votes: Annotated[Path | None, typer.Option(help="Write every vote as CSV here.")] = None,
    debug: Annotated[bool, typer.Option(help="Show full tracebacks on errors.")] = False,
) -> None:
    """Each pair of methods' preference rate with its 95% interval, from the counted
    participants (at least 75% of their repeated answers agree)."""
    try:
        from ..web.study.store import StudyStore
    except ImportError as err:
        raise web_missing(err) from err
    store = StudyStore(study)
    table = store.results()
    people = table["participants"]
    typer.echo(
        f"study {store.id}: {table['votes_total']} vote(s) from {len(people)} participant(s); "
        f"{table['participants_counted']} counted (>= {table['threshold']:.0%} self-consistent), "
        f"{table['votes_counted']} vote(s) counted"
    )
    for row in table["pairs"]:
        typer.echo(row["paper"])
    if csv is not None:
        csv.write_text(store.results_csv())
        typer.echo(f"table: {csv}")
    if votes is not None:
        votes.write_text(store.votes_csv())
        typer.echo(f"votes: {votes}")
