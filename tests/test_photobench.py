"""The photo benchmark (inpaintkit.bench.photobench): paired seeded items, resume, refused
config changes, the paired interval, and a tiny end-to-end run on two synthetic photos."""

from __future__ import annotations

import json
import math
import zlib

import numpy as np
import pytest

from inpaintkit.bench import photobench
from inpaintkit.bench.photobench import (
    PhotoBenchConfig,
    check_config,
    parse_photo_method,
    read_rows,
    run_photobench,
)
from inpaintkit.bench.photobench_items import (
    CROP,
    full_sized,
    item_seed_sequence,
    make_item,
    make_items,
    parse_kinds,
)
from inpaintkit.bench.photobench_report import paired_ci
from inpaintkit.data.photo_set import PhotoScene
from inpaintkit.errors import InpaintkitError

pytestmark = pytest.mark.usefixtures("one_thread")


def _photo(h: int, w: int, seed: int) -> np.ndarray:
    """A smooth colour gradient with seeded noise: something a fill can get partly right."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x / w * 200, y / h * 200, (x + y) / (w + h) * 255], axis=-1)
    return np.clip(base + rng.normal(0, 8, (h, w, 3)), 0, 255).astype(np.uint8)


PHOTOS = [("big", _photo(480, 640, 1)), ("small", _photo(260, 300, 2))]


@pytest.fixture
def fake_scenes(monkeypatch):
    calls = []

    def load(split="test", max_side=1024, cache_dir=None):
        calls.append((split, max_side))
        return [PhotoScene(name, f"fake/{name}", image) for name, image in PHOTOS]

    monkeypatch.setattr(photobench, "load_photo_scenes", load)
    return calls


def test_items_are_seeded_by_photo_kind_and_index_only():
    a = make_items(PHOTOS, ["thin", "half"], 2, seed=0)
    # full-photo kinds skip the photo below 640x480; crop kinds take both photos
    assert [(i.kind, i.photo, i.index) for i in a] == [
        ("thin", "big", 0), ("thin", "big", 1),
        ("half", "big", 0), ("half", "big", 1), ("half", "small", 0), ("half", "small", 1),
    ]  # fmt: skip
    # the same item whatever else the run holds (another kind list, one photo alone)
    alone = make_item("big", PHOTOS[0][1], "thin", 1, seed=0)
    assert np.array_equal(alone.hole, a[1].hole) and alone.seed == a[1].seed
    again = make_items(PHOTOS[1:], ["half"], 2, seed=0)
    assert again[1].box == a[5].box and np.array_equal(again[1].truth, a[5].truth)
    # another index, seed or photo draws another hole / crop
    assert not np.array_equal(a[0].hole, a[1].hole)
    assert make_item("big", PHOTOS[0][1], "thin", 0, seed=1).seed != a[0].seed
    assert a[2].box != a[3].box
    # the seed sequence is the documented key (crc32 is stable across processes)
    seq = item_seed_sequence(0, "big", "thin", 1)
    assert list(seq.entropy) == [0, zlib.crc32(b"big"), zlib.crc32(b"thin"), 1]
    assert a[1].seed == int(seq.generate_state(1)[0])
    # a crop item is the photo's 256x256 window at its box; a full item is the photo
    top, left = a[4].box
    assert a[4].truth.shape == (CROP, CROP, 3)
    assert np.array_equal(a[4].truth, PHOTOS[1][1][top : top + CROP, left : left + CROP])
    assert a[0].truth.shape == (480, 640, 3) and a[0].box is None
    assert a[2].hole[:, 128:].all() and not a[2].hole[:, :128].any()  # "half": the right half


def test_full_size_rule_and_kind_parsing():
    assert full_sized((480, 640)) and full_sized((640, 480)) and full_sized((640, 1024))
    assert not full_sized((459, 612)) and not full_sized((512, 512))
    assert parse_kinds("thin, sr2x") == ("thin", "sr2x")
    with pytest.raises(InpaintkitError, match="unknown hole kind.*choose from thin"):
        parse_kinds("thin,box")
    with pytest.raises(InpaintkitError, match="twice"):
        parse_kinds("thin,thin")


def test_method_specs_carry_a_model():
    lama = parse_photo_method("lama:model=lama32")
    assert (lama.label, lama.spec.name, lama.model, lama.classical) == (
        "lama:model=lama32", "lama", "lama32", False,
    )  # fmt: skip
    telea = parse_photo_method("telea:radius=5")
    assert telea.classical and telea.model is None and telea.spec.options == {"radius": 5.0}
    with pytest.raises(InpaintkitError, match="runs no model"):
        parse_photo_method("telea:model=lama32")


def test_paired_interval_by_hand():
    # differences 2, 3, 2 (key "d" has no partner and drops out): mean 7/3, s = sqrt(1/3),
    # half-width t_{0.975, 2} s / sqrt(3) = 4.302652729749464 / 3 = 1.434217576583155
    mean, lo, hi, n = paired_ci({"a": 3.0, "b": 5.0, "c": 4.0, "d": 9.0},
                                {"a": 1.0, "b": 2.0, "c": 2.0})  # fmt: skip
    assert n == 3
    assert mean == pytest.approx(7 / 3)
    assert (hi - lo) / 2 == pytest.approx(1.434217576583155, rel=1e-9)
    assert (lo + hi) / 2 == pytest.approx(7 / 3)


def test_changed_config_is_refused(tmp_path):
    items = {"seed": 0, "holes": ["thin"]}
    check_config(tmp_path, {"items": items, "methods": {"telea": {"settings": {"radius": 3}}}})
    with pytest.raises(InpaintkitError, match=r"other items \(changed: seed;"):
        check_config(tmp_path, {"items": {**items, "seed": 1}, "methods": {}})
    with pytest.raises(InpaintkitError, match="method 'telea' with other settings"):
        check_config(tmp_path, {"items": items, "methods": {"telea": {"settings": {"radius": 5}}}})
    # a new method joins the folder; the old one stays recorded
    merged = check_config(tmp_path, {"items": items, "methods": {"ns": {"settings": {}}}})
    assert sorted(merged["methods"]) == ["ns", "telea"]


def test_end_to_end_two_photos_resume_and_refusal(tmp_path, fake_scenes, monkeypatch):
    out = tmp_path / "run"
    config = PhotoBenchConfig(out=out, methods="telea,lama:model=lama32", holes="thin,half",
                              masks_per_photo=1, grid_photos=2)  # fmt: skip
    summary = run_photobench(config, log=None)
    rows = read_rows(out)
    # thin on "big" only (the other photo is below 640x480), half on both; two methods
    assert sorted((r["method"], r["kind"], r["photo"]) for r in rows) == sorted(
        (m, k, p) for m in ("telea", "lama:model=lama32")
        for k, p in (("thin", "big"), ("half", "big"), ("half", "small"))
    )  # fmt: skip
    for r in rows:
        assert r["error"] is None and 0 < r["psnr_hole"] < 100 and 0 < r["ssim_hole"] <= 1
        assert r["seconds"] > 0
    # paired: both methods saw the same hole (same pixel count per item)
    pixels = {}
    for r in rows:
        pixels.setdefault((r["kind"], r["photo"]), set()).add(r["hole_pixels"])
    assert all(len(v) == 1 for v in pixels.values())
    assert {(r["width"], r["height"]) for r in rows if r["kind"] == "thin"} == {(640, 480)}
    assert {(r["width"], r["height"]) for r in rows if r["kind"] == "half"} == {(256, 256)}
    # the summary: telea is the only classical method, so it is its own reference (Δ = 0)
    thin = summary["thin"]
    assert thin["best_classical"] == "telea"
    assert thin["methods"]["telea"]["d_psnr"][0] == 0.0
    lama_half = [r for r in rows if r["method"].startswith("lama") and r["kind"] == "half"]
    telea_half = {r["photo"]: r["psnr_hole"] for r in rows if r["method"] == "telea"
                  and r["kind"] == "half"}  # fmt: skip
    expect = np.mean([r["psnr_hole"] - telea_half[r["photo"]] for r in lama_half])
    assert summary["half"]["methods"]["lama:model=lama32"]["d_psnr"][0] == pytest.approx(expect)
    thin_rows = [r for r in rows if r["method"] == "telea" and r["kind"] == "thin"]
    per_mp = thin_rows[0]["seconds"] / (thin_rows[0]["hole_pixels"] / 1e6)
    assert thin["methods"]["telea"]["s_per_mp"] == pytest.approx(per_mp)
    table = (out / "table.md").read_text()
    assert "## thin (full photos" in table and "## half (256x256 crops" in table
    assert "| telea | 1 |" in table and "Target" in table
    assert (out / "grids" / "big-full.png").exists() and (
        out / "grids" / "small-crops.png"
    ).exists()
    assert json.loads((out / "summary.json").read_text())["thin"]["best_classical"] == "telea"
    # a rerun computes nothing
    lines = (out / "results.jsonl").read_text()

    def no_more(*args, **kwargs):
        raise AssertionError("a resumed run recomputed a row")

    monkeypatch.setattr(photobench, "score_item", no_more)
    run_photobench(config, log=None)
    assert (out / "results.jsonl").read_text() == lines
    # a changed config in the same folder is refused
    config.masks_per_photo = 2
    with pytest.raises(InpaintkitError, match=r"other items \(changed: masks_per_photo;"):
        run_photobench(config, log=None)


def test_crop_only_methods_skip_full_photos_and_a_kill_resumes(tmp_path, fake_scenes):
    out = tmp_path / "run"
    config = PhotoBenchConfig(
        out=out, methods="telea,exemplar", holes="thin,sr2x", masks_per_photo=1,
        crop_only="telea,exemplar", grid_photos=0,
    )  # fmt: skip
    run_photobench(config, log=None)
    rows = read_rows(out)
    assert sorted((r["method"], r["kind"], r["photo"]) for r in rows) == [
        (m, "sr2x", p) for m in ("exemplar", "telea") for p in ("big", "small")
    ]
    # exemplar refuses sr2x (no fully known 9x9 patch): a row with NaN scores and the reason
    refused = [r for r in rows if r["method"] == "exemplar"]
    assert all(math.isnan(r["psnr_hole"]) and "fully known" in r["error"] for r in refused)
    assert "| exemplar | 0 (2 refused) | – |" in (out / "table.md").read_text()
    # a row cut off by a kill is redone; the complete ones are kept
    text = (out / "results.jsonl").read_text().splitlines()
    (out / "results.jsonl").write_text("\n".join(text[:3]) + "\n" + text[3][:20])
    summary = run_photobench(config, log=None)
    assert len(read_rows(out)) == 4 and summary["sr2x"]["methods"]["telea"]["n"] == 2
    assert summary["sr2x"]["best_classical"] == "telea"
    assert summary["sr2x"]["methods"]["telea"]["d_psnr"][:3] == [0.0, 0.0, 0.0]
    assert fake_scenes == [("test", 1024), ("test", 1024)]


def test_every_method_gets_the_same_holes_and_seeds(tmp_path, fake_scenes, monkeypatch):
    import inpaintkit.methods as methods

    seen: dict[str, list] = {}

    def fake_run(method, jobs, *, seed, strategy, feather):
        assert (strategy, feather) == ("auto", 0)
        hole = jobs[0].hole
        seen.setdefault(method.name, []).append((seed, hole.shape, int(hole.sum())))
        # the truth never reaches a method: the hole pixels arrive grey
        assert (np.asarray(jobs[0].image)[hole] == 127).all()
        return [[jobs[0].image]]

    monkeypatch.setattr(methods, "run_method", fake_run)
    config = PhotoBenchConfig(out=tmp_path / "r", methods="telea,navier-stokes",
                              holes="medium,expand", masks_per_photo=2, grid_photos=0)  # fmt: skip
    run_photobench(config, log=None)
    assert len(seen["telea"]) == 2 + 4  # medium: the big photo; expand: both photos
    assert seen["telea"] == seen["navier-stokes"]
    expected = [i.seed for i in make_items(PHOTOS, ["medium", "expand"], 2, seed=0)]
    assert [s for s, _, _ in seen["telea"]] == expected
    assert len(set(expected)) == len(expected)


def test_classical_wins_says_when_no_photo_method_ran() -> None:
    from types import SimpleNamespace

    from inpaintkit.bench.photobench_report import classical_wins

    entry = {"best_classical": "telea", "methods": {"telea": {"d_psnr": (0.0, 0.0, 0.0, 3)}}}
    telea = SimpleNamespace(label="telea", classical=True)
    assert classical_wins({"thin": entry}, [telea]) == ["- no photo method was run"]
    photo = SimpleNamespace(label="lama", classical=False)
    behind = {"psnr_hole": (20.0, 19.0, 21.0, 3), "d_psnr": (-1.0, -1.5, -0.5, 3)}
    entry["methods"]["lama"] = behind
    lines = classical_wins({"thin": entry}, [telea, photo])
    assert len(lines) == 1 and lines[0].startswith("- thin: telea leads; lama minus telea")
