"""The command line, end to end on a tiny model saved to disk."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from inpaintkit.cli import app
from inpaintkit.models import DiffusionModel
from inpaintkit.models.store import save_model

runner = CliRunner()
FAST = ["--steps", "6", "--jump-length", "2", "--resamplings", "2", "--no-progress"]


@pytest.fixture
def files(tmp_path: Path, tiny_model: DiffusionModel) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(tmp_path / "cat.png")
    Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(tmp_path / "dog.png")
    hole = np.zeros((16, 16), np.uint8)
    hole[2:10, 5:14] = 255
    Image.fromarray(hole).save(tmp_path / "hole.png")
    Image.fromarray(255 - hole).save(tmp_path / "keep.png")
    model = save_model(tiny_model, tmp_path / "tiny.safetensors", dtype=torch.float32)
    return {
        "dir": tmp_path,
        "cat": tmp_path / "cat.png",
        "dog": tmp_path / "dog.png",
        "hole": tmp_path / "hole.png",
        "keep": tmp_path / "keep.png",
        "model": model,
    }


def _run(*args: object) -> object:
    result = runner.invoke(app, [str(a) for a in args])
    return result


def test_inpaint_writes_results_grid_and_config(files: dict[str, Path]) -> None:
    out = files["dir"] / "out"
    result = _run(
        "inpaint",
        files["cat"],
        "--mask",
        files["hole"],
        "--model",
        files["model"],
        *FAST,
        "--out",
        out,
    )
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {
        "cat.png",
        "cat_grid.png",
        "cat_hole.png",
        "inpaintkit.json",
    }
    res, src = np.asarray(Image.open(out / "cat.png")), np.asarray(Image.open(files["cat"]))
    hole = np.asarray(Image.open(files["hole"])) > 0
    assert np.array_equal(res[~hole], src[~hole]) and not np.array_equal(res[hole], src[hole])
    assert Image.open(out / "cat_grid.png").size == (3 * 16 + 2 * 2, 16)
    config = json.loads((out / "inpaintkit.json").read_text())
    assert config["steps"] == 6 and config["resamplings"] == 2 and config["seed"] == 0
    assert config["method"] == "repaint" and config["model"].endswith("tiny.safetensors")


def test_samples_batch_and_keep_masks(files: dict[str, Path]) -> None:
    a, b = files["dir"] / "a", files["dir"] / "b"
    common = ["--model", files["model"], *FAST, "--samples", "2"]
    r1 = _run("inpaint", files["cat"], files["dog"], "--mask", files["hole"], *common, "--out", a)
    r2 = _run(
        "inpaint",
        files["cat"],
        files["dog"],
        "--mask",
        files["keep"],
        "--mask-white",
        "keep",
        *common,
        "--out",
        b,
    )
    assert r1.exit_code == 0 and r2.exit_code == 0, r1.output + r2.output
    for name in ["cat_0.png", "cat_1.png", "dog_0.png", "dog_1.png", "grid.png"]:
        assert (a / name).exists()
    # white = keep files read as the same hole give the same bytes
    assert (a / "dog_1.png").read_bytes() == (b / "dog_1.png").read_bytes()
    assert (a / "cat_0.png").read_bytes() != (a / "cat_1.png").read_bytes()


def test_generated_mask_and_trajectory(files: dict[str, Path]) -> None:
    out = files["dir"] / "t"
    result = _run(
        "inpaint",
        files["cat"],
        "--mask-kind",
        "half",
        "--model",
        files["model"],
        *FAST,
        "--save-trajectory",
        "--out",
        out,
    )
    assert result.exit_code == 0, result.output
    hole = np.asarray(Image.open(out / "cat_hole.png")) > 0
    assert hole[:, 8:].all() and not hole[:, :8].any()
    gif = Image.open(out / "cat_trajectory.gif")
    assert gif.n_frames == 10  # one frame per reverse step: 6 + 2 jumps x 2 steps
    files = json.loads((out / "inpaintkit.json").read_text())["files"]
    assert files == ["cat.png", "cat_hole.png", "cat_grid.png", "cat_trajectory.gif"]


def test_dry_run_prints_paper_schedule(files: dict[str, Path]) -> None:
    out = files["dir"] / "dry"
    result = _run(
        "inpaint",
        files["cat"],
        "--mask",
        files["hole"],
        "--model",
        files["model"],
        "--steps",
        "100",
        "--dry-run",
        "--out",
        out,
    )
    assert result.exit_code == 0, result.output
    assert "910 network evaluations and 810 undo steps" in result.output  # T=100, j=10, r=10
    assert "estimated time on this machine" in result.output and not out.exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--mask-kind", "half"], "exactly one of --mask"),
        (["--mask-kind", "nope"], "unknown mask kind|wide"),
        (["--mask-kind", "half", "--steps", "0"], "option steps of repaint: 0 is out of range"),
        (["--mask", "missing.png"], "missing.png"),
    ],
)
def test_errors_are_clear(files: dict[str, Path], extra: list[str], message: str) -> None:
    args = ["inpaint", files["cat"], "--model", files["model"], "--no-progress", *extra]
    if extra == ["--mask-kind", "half"]:
        args += ["--mask", files["hole"]]
    result = _run(*args)
    assert result.exit_code == 2
    assert re.search(message, result.output), result.output


def test_non_binary_mask_needs_threshold(files: dict[str, Path]) -> None:
    soft = np.zeros((16, 16), np.uint8)
    soft[2:10, 5:14] = 200
    soft[0, 0] = 255
    Image.fromarray(soft).save(files["dir"] / "soft.png")
    args = [
        "inpaint",
        files["cat"],
        "--mask",
        files["dir"] / "soft.png",
        "--model",
        files["model"],
        *FAST,
        "--out",
        files["dir"] / "s",
    ]
    result = _run(*args)
    assert result.exit_code == 2 and "--threshold" in result.output
    assert _run(*args, "--threshold", "0.5").exit_code == 0


def test_masks_command(tmp_path: Path) -> None:
    result = _run("masks", "--kind", "sr2x", "--size", "32", "--count", "3", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    files = sorted(tmp_path.glob("sr2x_*.png"))
    assert len(files) == 3
    assert (np.asarray(Image.open(files[0])) > 0).mean() == 0.75  # keeps 1 pixel in 4
    assert "mean hole 75.0%" in result.output


def test_models_prints_a_card_by_name_or_file(files: dict[str, Path]) -> None:
    from inpaintkit.models import load_model

    shipped = _run("models", "photo64")
    assert shipped.exit_code == 0, shipped.output
    assert shipped.output.strip() == load_model("photo64").card.strip()
    plain = _run("models", files["model"])  # a user's file without a card
    assert (
        plain.exit_code == 0 and plain.output.strip() == f"{files['model']} carries no model card"
    )
    missing = _run("models", "no-such-model")
    assert missing.exit_code == 2 and "no model 'no-such-model'" in missing.output
    listing = _run("models")
    assert listing.exit_code == 0 and "photo64: prior, 64x64, 4.70M parameters." in listing.output


def test_classical_method_with_options(files: dict[str, Path]) -> None:
    out = files["dir"] / "telea"
    base = ["inpaint", files["cat"], "--mask", files["hole"], "--method", "telea", "--out", out]
    assert _run(*base, "-o", "radius=5").exit_code == 0
    assert json.loads((out / "inpaintkit.json").read_text())["radius"] == 5
    bad = _run(*base, "-o", "bogus=1")
    assert bad.exit_code == 2 and "unknown option 'bogus' for telea" in bad.output
    again = [*base, "--overwrite"]  # the folder holds the first run's outputs
    assert "uses no diffusion model" in _run(*again, "--model", files["model"]).output
    assert "KEY=VALUE" in _run(*again, "-o", "radius").output


def test_option_overrides_flag_and_trajectory_needs_diffusion(files: dict[str, Path]) -> None:
    out = files["dir"] / "o"
    args = ["inpaint", files["cat"], "--mask", files["hole"], "--model", files["model"], *FAST]
    assert _run(*args, "-o", "steps=4", "--out", out).exit_code == 0
    assert json.loads((out / "inpaintkit.json").read_text())["steps"] == 4
    telea = ["inpaint", files["cat"], "--mask", files["hole"], "--method", "telea"]
    result = _run(*telea, "--save-trajectory", "--out", out, "--overwrite")
    assert result.exit_code == 2 and "needs a diffusion method" in result.output
