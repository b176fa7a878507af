"""The benchmark harness: specs, paired masks, resuming, parallel paths, tables, ablations.

Tiny and seeded: 16x16 images from tests/data/emoji_test_64, n <= 3, a fake method counted per
call, telea, and RePaint with a tiny random network saved to a file (4 steps).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from inpaintkit.bench import (
    BenchConfig,
    format_cell,
    parse_method_spec,
    parse_methods,
    run_bench,
    split_specs,
)
from inpaintkit.bench.plan import bench_hole
from inpaintkit.bench.presets import NFE_TOLERANCE, pair_nfe, table2_pairs, table4_pairs
from inpaintkit.bench.report import METRICS
from inpaintkit.bench.store import RunDir
from inpaintkit.diffusion.schedules import count_steps, sdedit_times
from inpaintkit.errors import InpaintkitError
from inpaintkit.methods import METHODS, ArrayInpainter

SIZE = 16
IGNORED = {"wall_s", "worker", "finished", "batch"}  # how it ran, not what it gave


@dataclass(frozen=True)
class FakeOptions:
    level: int = 0
    refuse_half: bool = False


class FakeFill(ArrayInpainter):
    """Fills the hole with a colour drawn from the item's rng; counts and records its calls."""

    name = "fake"
    summary = "test-only"
    Options = FakeOptions
    calls: list = []

    def fill(self, image: np.ndarray, hole: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        FakeFill.calls.append((self.options.level, image.copy(), hole.copy()))
        if self.options.refuse_half and hole[:, -1].all():
            raise InpaintkitError("fake refuses the half mask")
        out = image.copy()
        out[hole] = rng.integers(0, 256, size=3, dtype=np.uint8) // 2 + self.options.level
        return out


@pytest.fixture(autouse=True)
def fake_method(monkeypatch):
    monkeypatch.setitem(METHODS, "fake", FakeFill)
    FakeFill.calls = []


@pytest.fixture(scope="module")
def tiny_model_file(tmp_path_factory) -> Path:
    from conftest import make_tiny_unet

    from inpaintkit.models.model import DiffusionModel
    from inpaintkit.models.spec import DiffusionConfig
    from inpaintkit.models.store import save_model

    unet = make_tiny_unet(size=SIZE, out_channels=6, seed=3)
    config = DiffusionConfig(num_train_timesteps=100, learned_variance=True)
    model = DiffusionModel(unet=unet, config=config, source="tiny-bench")
    return save_model(model, tmp_path_factory.mktemp("model") / "tiny.safetensors")


def config(out: Path, methods: str, **kw) -> BenchConfig:
    base = dict(methods=methods, out=out, masks="wide,half", data="emoji-test-64", n=3, seed=0)
    if "model" not in kw:
        base["size"] = SIZE
    return BenchConfig(**{**base, **kw})


def rows_by_key(out: Path) -> dict:
    rows = RunDir(out).read_rows()
    return {(r["method"], r["mask"], r["image"]): {k: v for k, v in r.items() if k not in IGNORED}
            for r in rows}  # fmt: skip


def pngs(out: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(out)): p.read_bytes() for p in sorted((out / "images").rglob("*.png"))
    }


# -- specs --------------------------------------------------------------------------------------


def test_specs_parse_typed_and_split():
    assert split_specs("repaint:steps=50,jump_length=5,telea,fake:level=2") == [
        "repaint:steps=50,jump_length=5",
        "telea",
        "fake:level=2",
    ]
    spec = parse_method_spec(
        "repaint:steps=50,jump_length=5,resamplings=3,clip_denoised=false,variance=none"
    )
    assert (
        spec.label
        == "repaint:steps=50,jump_length=5,resamplings=3,clip_denoised=false,variance=none"
    )
    assert spec.options == {
        "steps": 50,
        "jump_length": 5,
        "resamplings": 3,
        "clip_denoised": False,
        "variance": None,
    }
    assert spec.cost() == {"network_evaluations": 140, "undo_steps": 90}
    assert spec.series == (  # steps dropped: the same walk at another length
        "repaint:jump_length=5,resamplings=3,clip_denoised=false,variance=none"
    )
    assert parse_method_spec("telea:radius=2").options == {"radius": 2.0}
    for bad, words in [
        ("repaint:steps=fifty", "option steps of repaint: 'fifty' is not an integer"),
        ("repaint:stepz=5", "unknown option 'stepz'"),
        ("repaint:steps=5,steps=6", "given twice"),
        ("nosuch", "unknown method"),
        ("repaint:steps", "not key=value"),
    ]:
        with pytest.raises(InpaintkitError, match=words):
            parse_method_spec(bad)
    with pytest.raises(InpaintkitError, match="given twice"):
        parse_methods("telea,telea")
    labels = [s.label for s in parse_methods("table3,telea", steps_scale=0.2)]
    assert len(labels) == 10 and labels[0] == "repaint:steps=50,jump_length=1,resamplings=1"


def test_presets_pair_nfe_within_tolerance():
    for steps in (250, 100, 50):
        for a, b in table2_pairs(steps) + table4_pairs(steps):
            na, nb = pair_nfe(a, b)
            assert abs(na - nb) <= NFE_TOLERANCE * max(na, nb), (a, na, b, nb)
    # table2 is built with EQUAL NFE; the paper's T=250 numbers
    assert [pair_nfe(*p) for p in table2_pairs(250)] == [(490, 490), (730, 730), (970, 970)]
    assert [pair_nfe(*p) for p in table4_pairs(250)] == [(1210, 1258), (2410, 2392)]
    assert len(parse_methods("table3,table4", steps_scale=0.2)) == 9 + 2  # 2 shared, kept once
    specs = parse_methods("table2,table4", steps_scale=0.2)
    assert {s.series for s in specs} >= {"slowing down (r=1)", "SDEdit-style (T=50)"}


def test_specs_differing_in_budget_only_share_a_curve():
    series = [
        s.series
        for s in parse_methods(
            "ddnm,ddnm:steps=25,repaint-fast:steps=15,resamplings=3,repaint-fast:resamplings=3,"
            "repaint-fast:spacing=even,repaint-fast:steps=25,spacing=even,telea"
        )
    ]
    assert series == [
        "ddnm",
        "ddnm",
        "repaint-fast:resamplings=3",
        "repaint-fast:resamplings=3",
        "repaint-fast:spacing=even",
        "repaint-fast:spacing=even",
        "telea",
    ]


def test_sdedit_times_shape_counts_and_sampler(tiny_model):
    times = sdedit_times(10, 2)
    assert times == [9, 8, 7, 6, 5] + ([4, 3, 2, 1, 0, -1] + [0, 1, 2, 3, 4, 5]) * 2 + [
        4, 3, 2, 1, 0, -1
    ]  # fmt: skip
    assert all(abs(a - b) == 1 for a, b in zip(times, times[1:]))
    for steps, repeats in [(250, 17), (250, 0), (51, 3), (1, 1)]:
        half = steps // 2
        nfe, undo = count_steps(sdedit_times(steps, repeats))
        assert (nfe, undo) == (steps + repeats * (half + 1), repeats * (half + 1))
    assert sdedit_times(250, 0) == list(range(249, -2, -1))

    from inpaintkit.diffusion.process import GaussianDiffusion
    from inpaintkit.diffusion.samplers import sample_repaint

    diffusion = GaussianDiffusion.respaced(tiny_model.betas, 10, "even")
    g = torch.Generator().manual_seed(0)
    known = torch.rand(2, 3, 16, 16, generator=g) * 2 - 1
    keep = (torch.rand(2, 1, 16, 16, generator=g) > 0.5).float()
    x = torch.randn(2, 3, 16, 16, generator=g)
    seen = []
    out = sample_repaint(
        tiny_model.denoiser(), x, diffusion, keep=keep, known=known, times=times,
        generator=g, callback=lambda info: seen.append(info["t"]), progress=False,
    )  # fmt: skip
    assert len(seen) == count_steps(times)[0]
    assert torch.equal(out * keep, known * keep) and out.abs().max() <= 1


# -- harness ------------------------------------------------------------------------------------


def test_same_hole_for_every_method_of_an_image(tmp_path):
    run_bench(config(tmp_path, "fake,fake:level=9,telea"), report=False)
    holes: dict[int, list[np.ndarray]] = {}
    for level, _image, hole in FakeFill.calls:
        holes.setdefault(level, []).append(hole)
    assert len(holes[0]) == len(holes[9]) == 6  # 2 masks x 3 images each, in the same order
    for a, b in zip(holes[0], holes[9]):
        assert np.array_equal(a, b)
    rundir = RunDir(tmp_path)
    rows = rundir.read_rows()
    assert len(rows) == 18
    for row in rows:
        hole = bench_hole(row["mask"], SIZE, 0, row["image"])
        assert np.array_equal(hole, RunDir.load_hole(rundir.hole_path(row["mask"], row["name"])))
        result = RunDir.load_png(rundir.result_path(row["mask"], row["method"], row["name"]))
        truth = RunDir.load_png(rundir.truth_path(row["name"]))
        assert np.array_equal(result[~hole], truth[~hole])  # known pixels exact, every method
    wide = [bench_hole("wide", SIZE, 0, i) for i in range(3)]
    assert not np.array_equal(wide[0], wide[1])  # a different hole per image


def test_resume_after_kill_and_lost_line_recomputes_nothing_else(tmp_path):
    methods = "fake,fake:level=9"
    reference = tmp_path / "uninterrupted"
    run_bench(config(reference, methods, batch_size=2), report=False)
    FakeFill.calls = []

    out = tmp_path / "killed"

    def kill_after_four(row: dict) -> None:
        if len(RunDir(out).read_rows()) == 4:
            raise KeyboardInterrupt  # like Ctrl-C, or a kill between two items

    with pytest.raises(KeyboardInterrupt):
        run_bench(config(out, methods, batch_size=2), on_item=kill_after_four, report=False)
    # chunks (batch 2): wide [0,1], wide [2], half [0,1]: the kill came after half 0 was
    # recorded, so half 1 was computed in flight and lost
    assert len(FakeFill.calls) == 5
    with open(RunDir(out).results_path, "ab") as f:
        f.write(b'{"method": "fake", "mask": "wi')  # and a line cut short by a hard kill
    FakeFill.calls = []
    run = run_bench(config(out, methods, batch_size=2), report=False)
    assert (run.skipped, run.computed) == (4, 8)
    assert len(FakeFill.calls) == 8  # no recorded item ran again

    lines = RunDir(out).results_path.read_text().splitlines()
    lost = json.loads(lines[3])
    RunDir(out).results_path.write_text("\n".join(lines[:3] + lines[4:]) + "\n")
    FakeFill.calls = []
    run = run_bench(config(out, methods, batch_size=2))
    assert run.computed == 1 and len(FakeFill.calls) == 1
    assert rows_by_key(out) == rows_by_key(reference)
    assert pngs(out) == pngs(reference)
    assert (lost["method"], lost["mask"], lost["image"]) in rows_by_key(out)


def test_config_mismatch_is_an_error(tmp_path, tiny_model_file):
    run_bench(config(tmp_path, "fake"), report=False)
    with pytest.raises(InpaintkitError, match=r"seed: folder has 0, this run 1"):
        run_bench(config(tmp_path, "fake", seed=1), report=False)
    with pytest.raises(InpaintkitError, match="size: folder has 16, this run 24"):
        run_bench(config(tmp_path, "fake", size=24), report=False)
    run_bench(config(tmp_path, "fake", n=2, masks="half"), report=False)  # subsets are fine

    other = tmp_path / "m"
    run_bench(config(other, "repaint:steps=2", model=str(tiny_model_file)), report=False)
    from conftest import make_tiny_unet

    from inpaintkit.models import load_model
    from inpaintkit.models.store import save_model

    copy = tmp_path / "renamed.safetensors"  # same weights under another name: same model
    copy.write_bytes(tiny_model_file.read_bytes())
    assert run_bench(config(other, "repaint:steps=2", model=str(copy)), report=False).computed == 0
    changed = load_model(str(tiny_model_file))
    changed.unet = make_tiny_unet(size=SIZE, out_channels=6, seed=4)
    path = save_model(changed, tmp_path / "other.safetensors")
    with pytest.raises(InpaintkitError, match="model: folder has"):
        run_bench(config(other, "repaint:steps=2", model=str(path)), report=False)


def test_named_data_is_recorded_as_named_from_any_directory(tmp_path, monkeypatch):
    from inpaintkit.bench.data import data_source

    monkeypatch.chdir(tmp_path)  # a styled spec is a name, not a folder under the cwd
    for name in ("emoji-test", "emoji-test-64", "emoji-test:twitter", "emoji-tune:facebook"):
        assert data_source(name) == name
    assert data_source("photos") == str(tmp_path / "photos")
    with pytest.raises(InpaintkitError, match="unknown emoji style 'apple'"):
        data_source("emoji-test:apple")


def test_a_label_whose_defaults_changed_is_an_error(tmp_path, monkeypatch):
    run_bench(config(tmp_path, "fake,fake:level=3", n=1), report=False)
    stored = RunDir(tmp_path).read_config()["settings"]
    assert stored == {
        "fake": {"level": 0, "refuse_half": False},
        "fake:level=3": {"level": 3, "refuse_half": False},
    }

    @dataclass(frozen=True)
    class NewDefaults(FakeOptions):
        level: int = 5  # a later version changed the default

    monkeypatch.setattr(FakeFill, "Options", NewDefaults)
    run_bench(config(tmp_path, "fake:level=3", n=1), report=False)  # spelled out: same meaning
    with pytest.raises(InpaintkitError, match=r"'fake' now means level=5, in this folder level=0"):
        run_bench(config(tmp_path, "fake", n=1), report=False)
    assert run_bench(config(tmp_path, "fake:level=0", n=1), report=False).computed == 2

    @dataclass(frozen=True)
    class NewOption(FakeOptions):
        gain: float = 1.0  # an option added later: the folder never recorded it

    monkeypatch.setattr(FakeFill, "Options", NewOption)
    assert run_bench(config(tmp_path, "fake", n=1), report=False).computed == 0

    legacy = tmp_path / "legacy"  # written before labels' values were kept: nothing to check
    run_bench(config(legacy, "fake", n=1), report=False)
    path = legacy / "bench.json"
    path.write_text(json.dumps({k: v for k, v in json.loads(path.read_text()).items()
                                if k != "settings"}))  # fmt: skip
    monkeypatch.setattr(FakeFill, "Options", NewDefaults)
    assert run_bench(config(legacy, "fake", n=1), report=False).computed == 0
    assert "settings" not in RunDir(legacy).read_config()  # not recorded as today's meaning


def test_runtime_pins_fp32_unless_auto_and_is_a_fixed_setting(
    tmp_path, tiny_model_file, monkeypatch
):
    from inpaintkit.models import runtime as rt

    monkeypatch.setattr(rt, "_cpu_bf16", lambda: True)  # auto = bf16 + channels_last
    kw = dict(model=str(tiny_model_file), masks="half", n=2)

    def images(out: Path, label: str) -> list[np.ndarray]:
        folder = RunDir(out).result_path("half", label, "x").parent
        return [np.asarray(Image.open(p)) for p in sorted(folder.glob("*.png"))]

    run_bench(config(tmp_path / "fp32", "repaint:steps=3", **kw), report=False)
    fp32 = images(tmp_path / "fp32", "repaint:steps=3")
    run_bench(config(tmp_path / "auto", "repaint:steps=3", runtime="auto", **kw), report=False)
    auto = images(tmp_path / "auto", "repaint:steps=3")
    pinned = "repaint:steps=3,precision=fp32,channels_last=false"
    run_bench(config(tmp_path / "auto", pinned, runtime="auto", **kw), report=False)
    lowp = "repaint:steps=3,precision=bf16,channels_last=true"
    run_bench(config(tmp_path / "fp32", lowp, **kw), report=False)  # the spec wins
    assert len(fp32) == 2 and any((a != b).any() for a, b in zip(fp32, auto))
    assert all((a == b).all() for a, b in zip(fp32, images(tmp_path / "auto", pinned)))
    assert all((a == b).all() for a, b in zip(auto, images(tmp_path / "fp32", lowp)))

    assert RunDir(tmp_path / "fp32").read_config()["runtime"] == "fp32"
    with pytest.raises(InpaintkitError, match="runtime: folder has 'fp32', this run 'auto'"):
        run_bench(config(tmp_path / "fp32", "repaint:steps=3", runtime="auto", **kw))
    path = tmp_path / "fp32" / "bench.json"  # a folder from before the setting: it ran fp32
    path.write_text(json.dumps({k: v for k, v in json.loads(path.read_text()).items()
                                if k != "runtime"}))  # fmt: skip
    assert run_bench(config(tmp_path / "fp32", "repaint:steps=3", **kw), report=False).computed == 0
    with pytest.raises(InpaintkitError, match="unknown runtime 'bf16'; choose one of"):
        run_bench(config(tmp_path / "x", "repaint:steps=3", runtime="bf16", **kw))


def _parallel_methods() -> str:
    return "telea,repaint:steps=4,jump_length=1,resamplings=2"


def test_workers_equal_serial(tmp_path, tiny_model_file):
    kw = dict(model=str(tiny_model_file), batch_size=2)
    run_bench(config(tmp_path / "serial", _parallel_methods(), **kw), report=False)
    run_bench(config(tmp_path / "workers", _parallel_methods(), workers=2, **kw), report=False)
    serial, workers = rows_by_key(tmp_path / "serial"), rows_by_key(tmp_path / "workers")
    assert len(serial) == 12 and serial == workers
    assert pngs(tmp_path / "serial") == pngs(tmp_path / "workers")
    assert {r["worker"] for r in RunDir(tmp_path / "workers").read_rows()} != {
        r["worker"] for r in RunDir(tmp_path / "serial").read_rows()
    }


def test_ray_local_equals_serial(tmp_path, tiny_model_file):
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install ray)")
    kw = dict(model=str(tiny_model_file), batch_size=2, masks="half")
    run_bench(config(tmp_path / "serial", _parallel_methods(), **kw), report=False)
    try:
        run_bench(
            config(tmp_path / "ray", _parallel_methods(), ray_address="local", workers=2, **kw),
            report=False,
        )
    except Exception as err:  # noqa: BLE001 - Ray failing to START here is a skip, not a bug
        if ray.is_initialized() or "ray" not in type(err).__module__.lower():
            raise
        pytest.skip(f"a local Ray could not start on this machine: {err}")
    assert rows_by_key(tmp_path / "serial") == rows_by_key(tmp_path / "ray")
    assert pngs(tmp_path / "serial") == pngs(tmp_path / "ray")


def test_table_cells_match_mean_ci_of_rows(tmp_path):
    from inpaintkit.metrics import mean_ci

    run_bench(config(tmp_path, "fake,telea,fake:refuse_half=true"))
    table = (tmp_path / "table.md").read_text()
    assert "- `fake:refuse_half=true` on half: 3 image(s): fake refuses the half mask" in table
    FakeFill.calls = []
    assert run_bench(config(tmp_path, "fake:refuse_half=true")).computed == 0  # refusals count
    rows = RunDir(tmp_path).read_rows()
    sections = table.split("\n## ")
    checked = 0
    for metric, (title, decimals) in METRICS.items():
        if not any(metric in r for r in rows):
            continue
        section = next(s for s in sections if s.startswith(title))
        header = next(line for line in section.splitlines() if line.startswith("| method"))
        masks = [c.strip() for c in header.strip("|").split("|")[1:]]
        for line in section.splitlines():
            match = re.match(r"\| `([^`]+)` \|(.*)\|$", line)
            if not match:
                continue
            label, cells = match.group(1), [c.strip() for c in match.group(2).split("|")]
            for mask, cell in zip(masks, cells):
                values = [
                    r.get(metric, float("nan"))  # a refused item has no scores
                    for r in rows
                    if r["method"] == label and r["mask"] == mask
                ]
                assert cell == format_cell(*mean_ci(values), decimals)
                checked += 1
    assert checked >= 3 * 2 * 6
    paired = next(s for s in sections if s.startswith("Paired: Hole PSNR minus that of `fake`"))
    by = {(r["method"], r["mask"], r["image"]): r.get("psnr_hole") for r in rows}
    diffs = [by["telea", "wide", i] - by["fake", "wide", i] for i in range(3)]
    wide = re.search(r"\| `telea` \| ([^|]+) \|", paired).group(1).strip()
    assert wide == format_cell(*mean_ci(diffs), 2)
    # LPIPS: a table section when this machine can score it, else the note that says why not
    from inpaintkit.metrics import LpipsUnavailable, lpips_scorer

    try:
        lpips_scorer()
    except LpipsUnavailable as err:
        assert f"LPIPS is not in these tables. {err}" in table
        assert str(err).startswith("LPIPS skipped: ")
        assert not any(s.startswith(METRICS["lpips"][0]) for s in sections)
        assert not any("lpips" in r for r in rows)
    else:
        assert any(s.startswith(METRICS["lpips"][0]) for s in sections)
        assert "LPIPS is not in these tables" not in table
    for name in ("results.csv", "summary.json", "grid_wide.png", "plots/bars_psnr_hole.png"):
        assert (tmp_path / name).is_file(), name
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["cells"]["telea"]["half"]["n"] == 3
    assert ". 3 images per cell (fewer where a method refused" in table
    assert "Images per cell" not in table


def test_cells_of_unequal_size_are_counted(tmp_path):
    run_bench(config(tmp_path, "fake", n=3))
    run_bench(config(tmp_path, "telea", n=2, masks="half"))  # a run still going, say
    table = (tmp_path / "table.md").read_text()
    assert "Cells hold 2 to 3 images" in table and "images per cell" not in table
    counts = table.split("## Images per cell")[1].split("\n## ")[0]
    assert "| `fake` | 3 | 3 |" in counts and "| `telea` | – | 2 |" in counts


def test_cli_bench_and_report_only(tmp_path):
    from typer.testing import CliRunner

    from inpaintkit.cli import app

    args = ["bench", "--methods", "telea", "--masks", "sr2x", "--data", "emoji-test-64"]
    args += ["--n", "2", "--size", str(SIZE), "--out", str(tmp_path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "1 method(s) x 1 mask(s) x 2 image(s)" in result.output
    (tmp_path / "table.md").unlink()
    result = CliRunner().invoke(app, ["bench", "--out", str(tmp_path), "--report-only"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "table.md").is_file()
    result = CliRunner().invoke(app, args[:-2] + ["--out", str(tmp_path), "--seed", "5"])
    assert result.exit_code == 2 and "seed: folder has 0, this run 5" in result.output


def test_paired_kid_is_zero_for_identical_sets_and_matches_the_definition():
    from inpaintkit.bench.scoring import paired_mmd2

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    assert paired_mmd2(x, x) == pytest.approx(0.0, abs=1e-12)

    def k(a, b):
        return (a @ b / 4 + 1) ** 3

    brute = sum(
        k(x[i], x[j]) + k(y[i], y[j]) - k(x[i], y[j]) - k(x[j], y[i])
        for i in range(6)
        for j in range(6)
        if i != j
    ) / (6 * 5)
    assert paired_mmd2(x, y) == pytest.approx(brute)


def test_method_grid_places_input_result_and_truth(tmp_path):
    from inpaintkit.bench.figures import method_grid

    run_bench(config(tmp_path, "telea"), report=False)
    rundir = RunDir(tmp_path)
    names = sorted(p.stem for p in (tmp_path / "images" / "truth").glob("*.png"))[:2]
    grid = method_grid(rundir, "telea", ["wide", "half"], names, pad=2)
    # 2 rows of 16 px, 6 tiles with gaps of 2 px, plus 4 px more between the two images
    assert grid.shape == (2 * 18 + 2, 6 * 18 + 2 + 4, 3)
    half_result = RunDir.load_png(rundir.result_path("half", "telea", names[1]))
    assert np.array_equal(grid[20:36, 2 + 4 * 18 + 4 : 2 + 4 * 18 + 4 + 16], half_result)
    truth = RunDir.load_png(rundir.truth_path(names[0]))
    assert np.array_equal(grid[2:18, 2 + 2 * 18 : 2 + 2 * 18 + 16], truth)
    shown = grid[2:18, 2:18]
    hole = RunDir.load_hole(rundir.hole_path("wide", names[0]))
    assert (shown[hole] == 128).all() and np.array_equal(shown[~hole], truth[~hole])
    with pytest.raises(FileNotFoundError):
        method_grid(rundir, "navier-stokes", ["wide"], names)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states in /proc")
def test_workers_exit_when_the_benchmark_is_killed():
    import subprocess
    import sys
    import time

    script = """
import os, signal
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from inpaintkit.bench.dispatch import exit_with_parent
if __name__ == "__main__":
    pool = ProcessPoolExecutor(1, mp_context=get_context("spawn"), initializer=exit_with_parent,
                               initargs=(os.getpid(), 0.1))
    print(pool.submit(os.getpid).result(), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # no shutdown, like kill -9 of a benchmark
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    worker = int(done.stdout.split()[0])

    def alive() -> bool:
        try:
            state = Path(f"/proc/{worker}/stat").read_text().split(")")[-1].split()[0]
        except FileNotFoundError:
            return False
        return state != "Z"

    deadline = time.monotonic() + 15
    while alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive()


def test_paired_table_against_any_method_matches_mean_ci_of_differences(tmp_path):
    from inpaintkit.bench.paired import paired_table
    from inpaintkit.metrics import mean_ci

    run_bench(config(tmp_path, "fake,telea"))
    table = paired_table(tmp_path, "telea")
    by = {
        (r["method"], r["mask"], r["image"]): r["psnr_hole"] for r in RunDir(tmp_path).read_rows()
    }
    diffs = [by["fake", "wide", i] - by["telea", "wide", i] for i in range(3)]
    assert table.splitlines()[0].startswith("| method | wide |")
    row = next(line for line in table.splitlines() if line.startswith("| `fake` |"))
    assert row.split("|")[2].strip() == format_cell(*mean_ci(diffs), 2)
    assert "`telea`" not in table  # the reference is not paired with itself
    with pytest.raises(InpaintkitError, match="'repaint' is not a method of"):
        paired_table(tmp_path, "repaint")


def test_paired_table_takes_the_reference_from_another_folder_of_the_same_items(tmp_path):
    from inpaintkit.bench.paired import paired_table

    run_bench(config(tmp_path / "both", "fake,telea"))
    run_bench(config(tmp_path / "fake", "fake"))
    run_bench(config(tmp_path / "telea", "telea"))
    # the same items in two folders pair exactly as in one
    apart = paired_table(tmp_path / "fake", "telea", reference_folder=tmp_path / "telea")
    assert apart == paired_table(tmp_path / "both", "telea")
    run_bench(config(tmp_path / "seed1", "telea", seed=1))
    with pytest.raises(InpaintkitError, match="differ in seed"):
        paired_table(tmp_path / "fake", "telea", reference_folder=tmp_path / "seed1")
    telea = RunDir(tmp_path / "telea")
    name = telea.read_rows()[0]["name"]
    telea.hole_path("wide", name).write_bytes(telea.hole_path("half", name).read_bytes())
    with pytest.raises(InpaintkitError, match=f"wide image {name}: the hole differs"):
        paired_table(tmp_path / "fake", "telea", reference_folder=tmp_path / "telea")
    with pytest.raises(InpaintkitError, match="'repaint' is not a method of"):
        paired_table(tmp_path / "fake", "repaint", reference_folder=tmp_path / "telea")


def test_an_adaptive_samplers_cost_is_the_mean_it_spent_and_a_range_over_masks():
    from inpaintkit.bench.report import render_table, summarize

    rows = []
    for mask, spent in (("wide", (600, 702)), ("narrow", (684, 684))):
        for i, nfe in enumerate(spent):
            for method, used in (("strdiffusion", nfe), ("telea", 0)):
                rows.append({"method": method, "mask": mask, "image": i, "name": f"{i}.png",
                             "psnr_hole": 20.0 + i, "wall_s": 1.0, "nfe": used})  # fmt: skip
    config = {"series": {}, "data": "d", "size": 16, "seed": 0}
    summary = {"config": config, **summarize(rows, config)}
    assert summary["cells"]["strdiffusion"]["wide"]["nfe"] == 651  # (600 + 702) / 2
    assert summary["cells"]["strdiffusion"]["narrow"]["nfe"] == 684
    table = render_table(summary)
    assert "| `strdiffusion` | 651-684 |" in table and "| `telea` | 0 |" in table
