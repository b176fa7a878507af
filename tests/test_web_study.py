"""The two-alternative study (RePaint section 5.2): preference rates and 95% intervals against
hand computations, the 75% self-consistency rule, the schedule (every question twice, sides
swapped), building a study from a real bench folder (which is only read), votes through the
API into SQLite, and the `study` commands."""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient  # noqa: E402
from PIL import Image  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from inpaintkit.bench import BenchConfig, run_bench  # noqa: E402
from inpaintkit.cli import app as cli  # noqa: E402
from inpaintkit.errors import InpaintkitError  # noqa: E402
from inpaintkit.web import ServerConfig, create_app  # noqa: E402
from inpaintkit.web.study.build import create_study  # noqa: E402
from inpaintkit.web.study.stats import (  # noqa: E402
    consistency,
    counts,
    normal_interval,
    preference_table,
    wilson_interval,
)
from inpaintkit.web.study.store import StudyStore, make_schedule  # noqa: E402

METHODS = ["telea", "navier-stokes"]


def test_intervals_against_hand_computations() -> None:
    # 30 of 40 votes: p = 0.75; half-width 1.96 * sqrt(0.75 * 0.25 / 40) = 1.96 * 0.068465
    p, low, high = normal_interval(30, 40)
    assert p == 0.75
    assert (low, high) == pytest.approx((0.75 - 0.134189, 0.75 + 0.134189), abs=1e-5)
    # Wilson: centre 0.75 + z^2/80 = 0.798018, spread z * sqrt(0.0046875 + z^2/6400) = 0.142521,
    # scale 1 + z^2/40 = 1.096036
    assert wilson_interval(30, 40) == pytest.approx((0.598060, 0.858129), abs=1e-5)
    # 0 of 10: the normal interval collapses to a point, Wilson's does not (z^2/n / (1 + z^2/n))
    assert normal_interval(0, 10) == (0.0, 0.0, 0.0)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.384146 / 1.384146), abs=1e-6)
    assert np.isnan(normal_interval(0, 0)[0]) and np.isnan(wilson_interval(0, 0)[1])


def votes_of(participant: str, answers: list[tuple[int, str, str]]) -> list[dict]:
    """Votes on A-vs-B questions: (question, chosen in round 1, chosen in round 2)."""
    out = []
    for question, first, second in answers:
        for repeat, chosen in ((0, first), (1, second)):
            out.append(
                {
                    "participant": participant,
                    "question": question,
                    "repeat": repeat,
                    "left": "A",
                    "right": "B",
                    "chosen": chosen,
                }
            )
    return out


def test_the_75_percent_self_consistency_rule() -> None:
    # p3: 3 of 4 repeated questions answered the same both times -> counts
    p3 = votes_of("p3", [(0, "A", "A"), (1, "A", "A"), (2, "B", "B"), (3, "A", "B")])
    # p2: 2 of 4 -> does not count
    p2 = votes_of("p2", [(0, "B", "B"), (1, "B", "B"), (2, "A", "B"), (3, "B", "A")])
    records = consistency(p3 + p2)
    assert records["p3"] == {"repeated": 4, "consistent": 3, "rate": 0.75}
    assert records["p2"] == {"repeated": 4, "consistent": 2, "rate": 0.5}
    assert counts(records["p3"]) and not counts(records["p2"])
    assert not counts({"repeated": 0, "consistent": 0, "rate": float("nan")})
    table = preference_table(p3 + p2, ["A", "B"])
    (row,) = table["pairs"]
    # only p3's 8 votes count: A chosen 1+1+0+1 + 1+1+0+0 = 5 times of 8
    assert (row["votes"], row["votes_a"], row["votes_b"]) == (8, 5, 3)
    assert row["rate_a"] == 5 / 8
    assert row["half_width"] == pytest.approx(1.959964 * (5 / 8 * 3 / 8 / 8) ** 0.5, abs=1e-6)
    assert row["paper"].startswith("A vs B: 62.5% ± 33.5 of 8 votes prefer A")
    assert (table["votes_total"], table["votes_counted"]) == (16, 8)


def test_schedule_asks_every_question_twice_with_sides_swapped() -> None:
    for seed in range(20):
        schedule = make_schedule(5, random.Random(seed))
        assert len(schedule) == 10
        first, second = schedule[:5], schedule[5:]
        assert sorted(s["question"] for s in first) == sorted(s["question"] for s in second)
        assert first[-1]["question"] != second[0]["question"]  # never twice in a row
        sides = {s["question"]: s["a_left"] for s in first}
        assert all(s["a_left"] != sides[s["question"]] and s["repeat"] == 1 for s in second)
    assert make_schedule(5, random.Random(3)) == make_schedule(5, random.Random(3))


def folder_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(folder)).encode() + path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bench")
    config = BenchConfig(
        methods="telea,navier-stokes,biharmonic",
        out=out,
        masks="wide,half",
        data="emoji-test-64",
        n=3,
        seed=0,
        size=16,
    )
    run_bench(config, report=False)
    return out


def test_create_study_from_a_bench_folder(bench, tmp_path) -> None:
    before = folder_digest(bench)
    store = create_study(bench, METHODS, tmp_path / "s", n=4, seed=1)
    assert folder_digest(bench) == before  # the bench folder is only read
    assert store.id == "s" and store.methods == METHODS and len(store.questions) == 4
    items = {q["item"] for q in store.questions}
    assert len(items) == 4 and all(i.split("/")[0] in ("wide", "half") for i in items)
    q = store.questions[0]
    mask, name = q["item"].split("/")
    masked = np.asarray(Image.open(store.folder / "images" / f"{q['input']}.png"))
    truth = np.asarray(Image.open(bench / "images" / "truth" / f"{name}.png").convert("RGB"))
    hole = np.asarray(Image.open(bench / "masks" / mask / f"{name}.png").convert("L")) > 127
    assert (masked[hole] == 128).all() and np.array_equal(masked[~hole], truth[~hole])
    fill = (store.folder / "images" / f"{q['fill_a']}.png").read_bytes()
    assert fill == (bench / "images" / mask / q["a"] / f"{name}.png").read_bytes()
    assert all(m not in str(p) for p in (store.folder / "images").iterdir() for m in METHODS)
    three = create_study(bench, [*METHODS, "biharmonic"], tmp_path / "t", n=2, study_id="three")
    assert len(three.questions) == 2 * 3  # one question per pair of methods per item
    with pytest.raises(InpaintkitError, match="no results of \\['lama'\\]"):
        create_study(bench, ["telea", "lama"], tmp_path / "u")
    with pytest.raises(InpaintkitError, match="more items than"):
        create_study(bench, METHODS, tmp_path / "v", n=7)
    with pytest.raises(InpaintkitError, match="holds a study already"):
        create_study(bench, METHODS, tmp_path / "s", n=1)


def test_votes_through_the_api_into_sqlite_and_results(bench, tmp_path) -> None:
    store = create_study(bench, METHODS, tmp_path / "study", n=3, study_id="demo")
    method_of = {q[f"fill_{k}"]: q[k] for q in store.questions for k in "ab"}
    client = TestClient(
        create_app(ServerConfig(results_dir=tmp_path / "r", studies=(store.folder,)))
    )
    api = "/api/v1/studies/demo"
    assert client.get("/study/demo").status_code == 200
    assert client.get("/study/nope").status_code == 404

    def token(url: str) -> str:
        return url.rsplit("/", 1)[1].removesuffix(".png")

    # participant 1 always prefers telea (consistent); participant 2 always clicks left
    first = client.post(f"{api}/participants").json()
    assert len(first["showings"]) == 6 and first["question"] == "Which image looks more realistic?"
    for show in first["showings"]:
        side = "left" if method_of[token(show["left"])] == "telea" else "right"
        last = client.post(
            f"{api}/votes",
            json={
                "participant": first["participant"],
                "index": show["index"],
                "choice": side,
                "response_ms": 900,
            },
        ).json()
    assert last["consistency"] == {"repeated": 3, "consistent": 3, "rate": 1.0, "counted": True}
    second = client.post(f"{api}/participants").json()
    for show in second["showings"]:
        last = client.post(
            f"{api}/votes",
            json={"participant": second["participant"], "index": show["index"], "choice": "left"},
        ).json()
    assert last["consistency"]["consistent"] == 0 and not last["consistency"]["counted"]
    again = {"participant": second["participant"], "index": 0, "choice": "left"}
    assert client.post(f"{api}/votes", json=again).status_code == 409
    assert client.post(f"{api}/votes", json={**again, "index": 6}).status_code == 422
    assert client.post(f"{api}/votes", json={**again, "choice": "up"}).status_code == 422
    assert client.post(f"{api}/votes", json={**again, "participant": "f" * 32}).status_code == 404
    resumed = client.get(f"{api}/participants/{first['participant']}").json()
    assert resumed["answered"] == list(range(6))

    results = client.get(f"{api}/results").json()
    (row,) = results["pairs"]
    assert (results["votes_total"], results["votes_counted"]) == (12, 6)
    assert (row["method_a"], row["votes"], row["votes_a"], row["rate_a"]) == ("telea", 6, 6, 1.0)
    assert row["wilson_low"] == pytest.approx(wilson_interval(6, 6)[0])
    csv = client.get("/study/demo/results.csv").text.splitlines()
    assert csv[0].startswith("method_a,method_b,votes,votes_a") and csv[1].startswith(
        "telea,navier-stokes,6,6,0,1.0"
    )
    assert len(client.get("/study/demo/votes.csv").text.splitlines()) == 13

    with sqlite3.connect(store.folder / "votes.sqlite") as db:
        rows = db.execute(
            "SELECT participant, left_method, right_method, chosen, chosen_side,"
            " voted_at, response_ms FROM votes ORDER BY id"
        ).fetchall()
    assert len(rows) == 12 and {r[0] for r in rows} == {first["participant"], second["participant"]}
    for _, left, right, chosen, side, voted_at, _ in rows:
        assert {left, right} == set(METHODS) and chosen == (left if side == "left" else right)
        assert voted_at.startswith("20")
    assert [r[6] for r in rows[:6]] == [900] * 6
    for name in ("0123456789abcdef.png", "..%2f..%2fstudy.json", "study.json"):
        assert client.get(f"{api}/images/{name}").status_code == 404
    ok = client.get(first["showings"][0]["input"])
    assert ok.status_code == 200 and ok.headers["content-type"] == "image/png"


def test_study_commands(bench, tmp_path) -> None:
    runner = CliRunner()
    out = tmp_path / "cli-study"
    made = runner.invoke(
        cli,
        [
            "study",
            "create",
            "--bench",
            str(bench),
            "--methods",
            "telea,navier-stokes",
            "--n",
            "2",
            "--out",
            str(out),
        ],
    )
    assert made.exit_code == 0, made.output
    assert "2 question(s)" in made.output
    store = StudyStore(out)
    participant, showings = store.new_participant()
    for show in showings:  # always the first method: consistent
        q = store.questions[store.schedule(participant)[show["index"]]["question"]]
        store.vote(
            participant, show["index"], "left" if show["left"] == q["fill_a"] else "right", None
        )
    table = tmp_path / "table.csv"
    shown = runner.invoke(cli, ["study", "results", str(out), "--csv", str(table)])
    assert shown.exit_code == 0, shown.output
    assert "telea vs navier-stokes: 100.0% ± 0.0 of 4 votes prefer telea" in shown.output
    assert table.read_text().splitlines()[1].startswith("telea,navier-stokes,4,4,0")
    bad = runner.invoke(
        cli,
        [
            "study",
            "create",
            "--bench",
            str(tmp_path),
            "--methods",
            "a,b",
            "--out",
            str(tmp_path / "x"),
        ],
    )
    assert bad.exit_code == 2 and "not a bench folder" in bad.output
    assert json.loads((out / "study.json").read_text())["questions"][0]["a"] == "telea"
