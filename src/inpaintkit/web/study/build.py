"""``inpaintkit study create``: the questions of a two-alternative study from a bench folder.

A bench folder (``inpaintkit bench --out DIR``) holds, per mask setting and image, the ground
truth, the hole and every method's fill (layout in :mod:`inpaintkit.bench.store`). A question
is one (mask, image) item and one pair of the chosen methods: the masked input (the truth with
its hole painted flat grey, as the paper shows "the input image with the blank missing region")
and the two fills. ``n`` items are drawn at random (seeded) among those every chosen method
filled; each item gives one question per pair of methods. The positions (left, right) and the
order of the questions are drawn per participant when the study runs (:mod:`.store`).

The study folder is self-contained: ``study.json`` (the questions), ``images/<token>.png`` (the
files under opaque random names, so a URL does not tell which method made a fill) and
``votes.sqlite`` (one row per vote). The bench folder is only read.
"""

from __future__ import annotations

import json
import random
import re
import shutil
from datetime import datetime, timezone
from itertools import combinations
from pathlib import Path

import numpy as np
from PIL import Image

from ...bench.store import CONFIG_FILE, RESULTS_FILE, RunDir
from ...errors import InpaintkitError
from .store import FORMAT, QUESTION, StudyStore

GREY = 128
ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def read_bench_rows(bench: Path) -> list[dict]:
    """The rows of a bench folder's results.jsonl, read only (a last line cut short by a kill is
    skipped, as the bench itself would)."""
    path = bench / RESULTS_FILE
    if not path.is_file():
        raise InpaintkitError(
            f"{bench} is not a bench folder: it has no {RESULTS_FILE} (make one with "
            "`inpaintkit bench --methods A,B --out DIR`)"
        )
    text = path.read_text()
    lines = text.splitlines() if text.endswith("\n") else text.splitlines()[:-1]
    rows = []
    for n, line in enumerate(lines, 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise InpaintkitError(f"{path}:{n} is not valid JSON: {err}") from err
    return rows


def study_id_for(out: Path, given: str | None) -> str:
    """The study's id: ``given`` or the folder's name, made of letters, digits, _ and -."""
    name = given if given is not None else re.sub(r"[^A-Za-z0-9_-]", "-", out.resolve().name)
    if not ID_RE.fullmatch(name):
        raise InpaintkitError(f"a study id is 1-64 letters, digits, _ or -; got {name!r}")
    return name


def create_study(
    bench: str | Path,
    methods: list[str],
    out: str | Path,
    *,
    n: int | None = None,
    seed: int = 0,
    masks: list[str] | None = None,
    study_id: str | None = None,
) -> StudyStore:
    """Build the study folder ``out`` from the bench folder ``bench`` and return its store.

    methods: two or more method labels of the bench (as in its results.jsonl, e.g. "telea" or
    "repaint:steps=50"). n: items drawn (default: every item all methods filled); masks: only
    these mask settings (default: all). seed: the draw. ``out`` must not hold a study already.
    """
    bench, out = Path(bench), Path(out)
    if len(methods) < 2 or len(set(methods)) != len(methods):
        raise InpaintkitError(f"give two or more different methods, got {methods}")
    if n is not None and n < 1:
        raise InpaintkitError(f"--n must be >= 1, got {n}")
    rows = read_bench_rows(bench)
    labels = sorted({row["method"] for row in rows})
    missing = [m for m in methods if m not in labels]
    if missing:
        raise InpaintkitError(f"{bench} has no results of {missing}; it has {labels}")
    run = RunDir(bench)
    done: dict[tuple[str, str], set[str]] = {}
    for row in rows:
        if masks is None or row["mask"] in masks:
            done.setdefault((row["mask"], row["name"]), set()).add(row["method"])
    items = sorted(
        key
        for key, have in done.items()
        if set(methods) <= have
        and run.truth_path(key[1]).is_file()
        and run.hole_path(*key).is_file()
        and all(run.result_path(key[0], m, key[1]).is_file() for m in methods)
    )
    if not items:
        raise InpaintkitError(f"{bench} has no item (mask, image) that all of {methods} filled")
    if n is not None and n > len(items):
        raise InpaintkitError(f"--n {n} asks for more items than {bench} has ({len(items)})")
    rng = random.Random(seed)
    chosen = sorted(rng.sample(items, n if n is not None else len(items)))
    if (out / "study.json").exists():
        raise InpaintkitError(f"{out} holds a study already; choose another --out")
    images = out / "images"
    images.mkdir(parents=True, exist_ok=True)
    used: set[str] = set()

    def token() -> str:
        while True:
            name = f"{rng.getrandbits(64):016x}"
            if name not in used:
                used.add(name)
                return name

    questions = []
    for mask, name in chosen:
        truth = np.asarray(Image.open(run.truth_path(name)).convert("RGB")).copy()
        hole = np.asarray(Image.open(run.hole_path(mask, name)).convert("L")) > 127
        truth[hole] = GREY
        masked = token()
        Image.fromarray(truth).save(images / f"{masked}.png")
        fills = {}
        for method in methods:
            fills[method] = token()
            shutil.copyfile(run.result_path(mask, method, name), images / f"{fills[method]}.png")
        for a, b in combinations(methods, 2):
            questions.append(
                {
                    "id": len(questions),
                    "item": f"{mask}/{name}",
                    "input": masked,
                    "a": a,
                    "b": b,
                    "fill_a": fills[a],
                    "fill_b": fills[b],
                }
            )
    config = {}
    if (bench / CONFIG_FILE).is_file():
        config = json.loads((bench / CONFIG_FILE).read_text())
    study = {
        "format": FORMAT,
        "id": study_id_for(out, study_id),
        "question": QUESTION,
        "methods": list(methods),
        "bench": str(bench.resolve()),
        "data": config.get("data"),
        "seed": seed,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "questions": questions,
    }
    (out / "study.json").write_text(json.dumps(study, indent=2) + "\n")
    return StudyStore(out)
