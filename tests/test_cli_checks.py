"""Early checks, one-line errors, --debug, traps and progress output of the command line."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import save_file
from typer.testing import CliRunner

from inpaintkit.cli import app
from inpaintkit.diffusion.progress import LogProgress, progress_bar
from inpaintkit.errors import InpaintkitError
from inpaintkit.models import DiffusionModel, check_device
from inpaintkit.models.store import save_model

runner = CliRunner()
CPU_ONLY = "CUDA is not available in this torch build (CPU only); use --device cpu"
FAST = ["--steps", "6", "--jump-length", "2", "--resamplings", "2"]


def _run(*args: object) -> object:
    return runner.invoke(app, [str(a) for a in args])


def _one_line_error(result: object, code: int = 2) -> str:
    """The single stderr line of a failed command (asserts: exit code, one line, no traceback)."""
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert "Traceback" not in result.output
    return lines[0]


@pytest.fixture
def files(tmp_path: Path, tiny_model: DiffusionModel) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(tmp_path / "cat.png")
    hole = np.zeros((16, 16), np.uint8)
    hole[2:10, 5:14] = 255
    Image.fromarray(hole).save(tmp_path / "hole.png")
    model = save_model(tiny_model, tmp_path / "tiny.safetensors", dtype=torch.float32)
    return {"dir": tmp_path, "cat": tmp_path / "cat.png", "hole": tmp_path / "hole.png",
            "model": model}  # fmt: skip


# -- early checks ------------------------------------------------------------------------------


@pytest.fixture
def cpu_only_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.version, "cuda", None)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--device", "cuda"], CPU_ONLY),
        (["--device", "cuda:1"], CPU_ONLY),
        (["--device", "foo"], "unknown device 'foo'; valid: cpu, cuda, cuda:N (e.g. cuda:1), mps"),
        (["--device", "mps"], "MPS is not available here"),
        (["--batch-size", "0"], "--batch-size must be an integer >= 1, got 0"),
        (["--batch-size", "-3"], "--batch-size must be an integer >= 1, got -3"),
        (["--seed", "-1"], "--seed must be an integer >= 0, got -1"),
        (["--samples", "0"], "--samples must be an integer >= 1, got 0"),
        (["--feather", "-2"], "--feather must be an integer >= 0, got -2"),
    ],
)  # fmt: skip
def test_inpaint_checks_run_before_any_file_or_model(
    tmp_path: Path, cpu_only_torch: None, flags: list[str], message: str
) -> None:
    # neither the image nor the model exists: the option check must come first
    missing = tmp_path / "missing"
    result = _run("inpaint", missing / "a.png", "--mask-kind", "wide", "--model",
                  missing / "m.safetensors", "--out", tmp_path / "out", *flags)  # fmt: skip
    line = _one_line_error(result)
    assert line.startswith("error: ") and message in line
    assert not (tmp_path / "out").exists()


def test_check_device_forms(cpu_only_torch: None, monkeypatch: pytest.MonkeyPatch) -> None:
    assert check_device("cpu") == "cpu"
    for bad in ("gpu", "cuda:x", "cpu:1", ""):
        with pytest.raises(InpaintkitError, match="device"):
            check_device(bad)
    monkeypatch.setattr(torch.version, "cuda", "12.1")  # a CUDA build without a GPU
    with pytest.raises(InpaintkitError, match="built for CUDA 12.1 but finds no GPU"):
        check_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert check_device("cuda:1") == "cuda:1"
    with pytest.raises(InpaintkitError, match=r"has 2 CUDA device\(s\) \(cuda:0..cuda:1\)"):
        check_device("cuda:2")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--device", "foo"], "unknown device 'foo'"),
        (["--batch-size", "0"], "--batch-size must be an integer >= 1, got 0"),
        (["--seed", "-1"], "--seed must be an integer >= 0, got -1"),
        (["--workers", "0"], "--workers must be an integer >= 1, got 0"),
        (["--n", "0"], "--n must be an integer >= 1, got 0"),
    ],
)
def test_bench_checks(tmp_path: Path, flags: list[str], message: str) -> None:
    result = _run("bench", "--out", tmp_path / "b", "--methods", "telea", *flags)
    assert message in _one_line_error(result)
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--batch-size", "0"], "--batch-size must be an integer >= 1, got 0"),
        (["--steps", "0"], "--steps must be an integer >= 1, got 0"),
        (["--threads", "0"], "--threads must be an integer >= 1, got 0"),
    ],
)
def test_train_checks(tmp_path: Path, flags: list[str], message: str) -> None:
    result = _run("train", "emoji", "--out", tmp_path / "run", *flags)
    assert message in _one_line_error(result)
    assert not (tmp_path / "run").exists()


# -- checkpoint headers --------------------------------------------------------------------------


def _rewrite(path: Path, change_tensors=None, change_metadata=None) -> Path:
    with safe_open(str(path), framework="pt") as f:
        metadata = dict(f.metadata())
        state = {k: f.get_tensor(k) for k in f.keys()}
    if change_tensors:
        change_tensors(state)
    if change_metadata:
        change_metadata(metadata)
    out = path.with_name("broken.safetensors")
    save_file(state, str(out), metadata=metadata)
    return out


def _first_weight(state: dict) -> str:
    return next(k for k, v in state.items() if v.ndim == 4)


def test_checkpoint_with_a_wrong_shape_is_one_line(files: dict[str, Path]) -> None:
    def shrink(state: dict) -> None:
        key = _first_weight(state)
        state[key] = state[key][:1].clone()

    broken = _rewrite(files["model"], change_tensors=shrink)
    result = _run("inpaint", files["cat"], "--mask", files["hole"], "--model", broken, *FAST,
                  "--out", files["dir"] / "out")  # fmt: skip
    line = _one_line_error(result)
    assert str(broken) in line and "shape" in line


def test_checkpoint_with_broken_metadata_json_is_one_line(files: dict[str, Path]) -> None:
    def corrupt(metadata: dict) -> None:
        metadata["networks"] = metadata["networks"][:-3]

    broken = _rewrite(files["model"], change_metadata=corrupt)
    result = _run("inpaint", files["cat"], "--mask", files["hole"], "--model", broken, *FAST,
                  "--out", files["dir"] / "out")  # fmt: skip
    line = _one_line_error(result)
    assert f"{broken}: metadata entry 'networks' is not valid JSON" in line


def test_nan_weights_are_blamed_on_the_checkpoint(files: dict[str, Path]) -> None:
    keys = []

    def poison(state: dict) -> None:
        key = _first_weight(state)
        state[key] = state[key].clone()
        state[key].view(-1)[:3] = float("nan")
        keys.append(key)

    broken = _rewrite(files["model"], change_tensors=poison)
    result = _run("inpaint", files["cat"], "--mask", files["hole"], "--model", broken, *FAST,
                  "--out", files["dir"] / "out")  # fmt: skip
    line = _one_line_error(result)
    key = keys[0].split(".", 1)[1]
    assert f"{broken}: network 'unet': the checkpoint is broken: tensor '{key}' holds 3 NaN" in line
    assert "image" not in line


def test_overflowing_weights_blame_the_network_output(files: dict[str, Path]) -> None:
    def overflow(state: dict) -> None:
        key = _first_weight(state)
        state[key] = torch.full_like(state[key], 3e38)

    broken = _rewrite(files["model"], change_tensors=overflow)
    result = _run("inpaint", files["cat"], "--mask", files["hole"], "--model", broken, *FAST,
                  "--no-progress", "--out", files["dir"] / "out")  # fmt: skip
    line = _one_line_error(result)
    assert "the network's output is not finite (the image was finite)" in line
    assert "the sampled result holds" in line


# -- --debug and unexpected errors ---------------------------------------------------------------


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    args = ["inpaint", tmp_path / "a.png", "--mask-kind", "wide", "--device", "foo"]
    plain = _run(*args)
    assert (
        plain.exit_code == 2 and plain.exception is None or isinstance(plain.exception, SystemExit)
    )
    for debug in (_run(*args, "--debug"), _run("--debug", *args)):
        assert isinstance(debug.exception, InpaintkitError)
        assert "unknown device 'foo'" in str(debug.exception)
    # --debug of one invocation does not leak into the next
    assert _run(*args).exit_code == 2


def test_unexpected_error_is_one_internal_error_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(device: str) -> str:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr("inpaintkit.models.check_device", boom)
    args = ["inpaint", tmp_path / "a.png", "--mask-kind", "wide"]
    line = _one_line_error(_run(*args), code=1)
    assert line == (
        "internal error: ZeroDivisionError: division by zero (run with --debug for the traceback)"
    )
    assert isinstance(_run(*args, "--debug").exception, ZeroDivisionError)


def test_os_error_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(device: str) -> str:
        raise PermissionError(13, "Permission denied", "/proc/x")

    monkeypatch.setattr("inpaintkit.models.check_device", denied)
    line = _one_line_error(_run("inpaint", tmp_path / "a.png", "--mask-kind", "wide"))
    assert line == "error: [Errno 13] Permission denied: '/proc/x'"


# -- traps ---------------------------------------------------------------------------------------


def test_jump_length_at_or_above_steps_is_an_error(files: dict[str, Path]) -> None:
    for flags in (["--steps", "6", "--jump-length", "6"], ["--steps", "6", "-o", "jump_length=9"]):
        result = _run("inpaint", files["cat"], "--mask", files["hole"], "--model", files["model"],
                      *flags, "--out", files["dir"] / "out")  # fmt: skip
        line = _one_line_error(result)
        assert "at or above steps=6" in line and "resamplings=10 would be off" in line
    assert not (files["dir"] / "out").exists()


def test_small_steps_with_default_jumps_warn(files: dict[str, Path]) -> None:
    result = _run("inpaint", files["cat"], "--mask", files["hole"], "--model", files["model"],
                  "--steps", "4", "--no-progress", "--out", files["dir"] / "out")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (
        "warning: jump_length=10 is at or above steps=4: the walk has no jump point, so "
        "resamplings=10 is off"
    ) in result.stderr


def test_class_label_on_an_unconditional_model_is_an_error(files: dict[str, Path]) -> None:
    result = _run("inpaint", files["cat"], "--mask", files["hole"], "--model", files["model"],
                  *FAST, "--class-label", "3", "--out", files["dir"] / "out")  # fmt: skip
    line = _one_line_error(result)
    assert "is unconditional: it takes no class label, got 3" in line
    result = _run("inpaint", files["cat"], "--mask", files["hole"], "--method", "telea",
                  "--class-label", "3", "--out", files["dir"] / "out")  # fmt: skip
    assert "method telea (no model) takes no class label" in _one_line_error(result)


def _cutout(path: Path) -> Path:
    """An RGBA photo-like image with a fully transparent 4x4 hole."""
    rgba = np.random.default_rng(1).integers(0, 256, (16, 16, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    rgba[4:8, 4:8, 3] = 0
    Image.fromarray(rgba, "RGBA").save(path)
    return path


def test_rgba_image_as_its_own_mask_is_refused(files: dict[str, Path]) -> None:
    image = _cutout(files["dir"] / "cut.png")
    result = _run("inpaint", image, "--mask", image, "--method", "telea",
                  "--out", files["dir"] / "out")  # fmt: skip
    line = _one_line_error(result)
    assert "an image and a mask are the same file" in line
    assert "transparent hole is not read as its own mask" in line
    copy = files["dir"] / "cut_mask.png"
    copy.write_bytes(image.read_bytes())
    result = _run("inpaint", image, "--mask", copy, "--method", "telea",
                  "--out", files["dir"] / "out")  # fmt: skip
    line = _one_line_error(result)
    assert "looks like an image with a transparent hole" in line
    assert "(94% of the pixels)" in line and "--mask-white keep" in line
    result = _run("inpaint", image, "--mask", copy, "--mask-white", "keep", "--method", "telea",
                  "--out", files["dir"] / "out")  # fmt: skip
    assert result.exit_code == 0, result.output
    written = json.loads((files["dir"] / "out" / "inpaintkit.json").read_text())
    assert written["mask_white"] == "keep"


def test_resize_of_a_non_square_photo_warns(files: dict[str, Path]) -> None:
    wide = files["dir"] / "wide.png"
    Image.new("RGB", (24, 16), (10, 20, 30)).save(wide)
    result = _run("inpaint", wide, "--mask-kind", "wide", "--resize", "--dry-run")
    assert result.exit_code == 0, result.output
    assert (
        f"warning: --resize squashes {wide} (24x16, aspect 1.50) into the model's square and "
        "back; the default model knows only 32x32 emoji"
    ) in result.stderr
    assert "--strategy auto crops a square around each hole" in result.stderr
    result = _run("inpaint", files["cat"], "--mask-kind", "wide", "--resize", "--dry-run")
    assert result.exit_code == 0 and "squashes" not in result.stderr


def test_masks_help_names_the_files_it_writes(tmp_path: Path) -> None:
    help_text = _run("masks", "--help").output
    assert "<kind>_0000.png" in help_text
    result = _run("masks", "--kind", "box", "--size", "16", "--count", "2", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["box_0000.png", "box_0001.png"]


# -- progress ------------------------------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_in_a_log_is_a_line_every_five_percent() -> None:
    stream = io.StringIO()
    now = {"t": 0.0}
    seen = []
    for item in LogProgress(range(200), "RePaint", stream, clock=lambda: now["t"]):
        seen.append(item)
        now["t"] += 1.0  # one second per step
    assert seen == list(range(200))
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue()
    assert len(lines) == 20  # 5%, 10%, ..., 100%
    assert lines[0] == "RePaint: 5% (10/200 steps) 10.0 s elapsed, ETA 190.0 s"
    assert lines[-1] == "RePaint: 100% (200/200 steps) 200.0 s elapsed, ETA 0.0 s"
    short = io.StringIO()
    list(LogProgress(range(3), "DDIM", short))
    assert [line.split(" (")[0] for line in short.getvalue().splitlines()] == [
        "DDIM: 33%", "DDIM: 66%", "DDIM: 100%",
    ]  # fmt: skip


def test_progress_modes_by_stream() -> None:
    log = io.StringIO()
    assert isinstance(progress_bar(range(5), "x", True, stream=log), LogProgress)
    terminal = _Terminal()
    list(progress_bar(range(5), "RePaint", True, stream=terminal))
    assert "\r" in terminal.getvalue() and "RePaint" in terminal.getvalue()  # tqdm's bar
    quiet = io.StringIO()
    list(progress_bar(range(5), "RePaint", False, stream=quiet))
    assert quiet.getvalue() == ""


def test_cli_progress_in_a_log_and_quiet(files: dict[str, Path]) -> None:
    args = ["inpaint", files["cat"], "--mask", files["hole"], "--model", files["model"], *FAST]
    result = _run(*args, "--out", files["dir"] / "a")
    assert result.exit_code == 0, result.output
    assert "\r" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("RePaint: ")]
    assert lines and lines[-1].startswith("RePaint: 100% (")
    assert all("elapsed, ETA" in line for line in lines)
    quiet = _run(*args, "--quiet", "--out", files["dir"] / "b")
    assert quiet.exit_code == 0 and quiet.stderr == ""
