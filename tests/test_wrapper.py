"""The one wrapper: high-resolution strategies, crops, feathering, seeds, inputs and one paste."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

import inpaintkit
from inpaintkit.errors import InpaintkitError
from inpaintkit.io import input_to_tensor
from inpaintkit.methods import Job, plan_jobs, run_method, sample_seed
from inpaintkit.methods.strategy import (
    cut,
    default_margin,
    feather_weights,
    hole_regions,
    plan,
    resolve_strategy,
)
from inpaintkit.methods.wrapper import piece_seed
from inpaintkit.models import DiffusionModel

FAST = {"steps": 4, "jump_length": 2, "resamplings": 2, "progress": False}  # 6 evaluations


def _photo(width: int = 640, height: int = 480) -> Image.Image:
    """scikit-image's astronaut (a photograph), resized so the short side fits, then cropped."""
    from skimage import data

    side = max(width, height)
    image = Image.fromarray(data.astronaut()).resize((side, side), Image.Resampling.BICUBIC)
    return image.crop((0, 0, width, height))


def _square_hole(shape: tuple[int, int], top: int, left: int, side: int) -> np.ndarray:
    hole = np.zeros(shape, bool)
    hole[top : top + side, left : left + side] = True
    return hole


class Fake:
    """A method that records what it was given and fills with a constant (or noise)."""

    name = "fake"

    def __init__(self, image_size=None, multiple=None, value=1.0, inputs=()) -> None:
        self.image_size, self.multiple, self.value = image_size, multiple, value
        self.needs = type("Needs", (), {"inputs": tuple(inputs)})()
        self.calls: list[dict] = []

    def __call__(self, known, keep, *, generators, callback=None, **inputs):
        self.calls.append(
            {
                "known": known.clone(),
                "keep": keep.clone(),
                "seeds": [g.initial_seed() for g in generators],
                "inputs": inputs,
            }
        )
        if self.value == "identity":  # gives back what it got, hole pixels included
            return known.clone()
        if self.value is None:  # noise everywhere, known pixels included
            g = generators[0]
            return torch.rand(known.shape, generator=g) * 2 - 1
        return torch.full_like(known, self.value)


# ---------------------------------------------------------------------------------------------
# the acceptance: a 640x480 photo with a 40-pixel hole, without --resize


@pytest.mark.parametrize("which", ["tiny", "default"])
def test_photo_640x480_with_40px_hole(which: str, tiny_model: DiffusionModel) -> None:
    image = _photo()
    hole = _square_hole((480, 640), 200, 300, 40)
    model = tiny_model if which == "tiny" else "default"
    out = inpaintkit.inpaint(image, hole, model=model, seed=1, **FAST)
    a, b = np.asarray(out), np.asarray(image)
    assert out.size == (640, 480) and out.mode == "RGB"  # never squashed
    assert np.array_equal(a[~hole], b[~hole])  # every known pixel exact
    changed = (a != b).any(axis=2)
    assert changed[hole].mean() > 0.9 and not changed[~hole].any()  # only the hole changes
    size = 16 if which == "tiny" else 32
    (piece,) = plan(hole, "crop", image_size=size)
    # one square crop: side max(size, 40 + 2 * size // 4), centred on the hole, resized to size
    side = max(size, 40 + 2 * (size // 4))
    top, left = 200 - (side - 40) // 2, 300 - (side - 40) // 2
    assert piece.box == (top, left, top + side, left + side) and piece.padded == (side, side)
    assert piece.size == size and piece.own.sum() == 40 * 40


def test_only_hole_pixels_change_even_when_the_method_rewrites_known_ones() -> None:
    image = _photo(96, 64)
    hole = _square_hole((64, 96), 10, 70, 6)
    out = run_method(Fake(image_size=16, value=None), [Job(image, hole)], seed=3)[0][0]
    changed = (np.asarray(out) != np.asarray(image)).any(axis=2)
    assert not changed[~hole].any() and changed[hole].mean() > 0.9


# ---------------------------------------------------------------------------------------------
# strategies


def test_auto_and_strategy_names() -> None:
    assert resolve_strategy("auto", 16, 16, 16) == "original"
    assert resolve_strategy("auto", 16, 17, 12) == "crop"
    assert resolve_strategy("auto", 16, 12, 17) == "crop"
    assert resolve_strategy("auto", None, 4000, 3000) == "original"
    assert resolve_strategy("auto", None, 1024, 1024, crop_above=1024) == "original"
    assert resolve_strategy("auto", None, 1025, 300, crop_above=1024) == "crop"
    assert resolve_strategy("auto", None, 300, 1025, crop_above=1024) == "crop"
    assert resolve_strategy("auto", 16, 20, 20, crop_above=1024) == "crop"  # fixed size first
    assert resolve_strategy("original", None, 4000, 3000, crop_above=1024) == "original"
    assert resolve_strategy("resize", 16, 4000, 3000) == "resize"
    assert default_margin(256) == 64 and default_margin(16) == 4 and default_margin(None) == 128
    with pytest.raises(InpaintkitError, match=r"unknown strategy 'tiles'; choose one of \['auto'"):
        resolve_strategy("tiles", 16, 16, 16)
    with pytest.raises(InpaintkitError, match="unknown strategy 'Crop'"):
        run_method(Fake(), [Job(_photo(8, 8), np.ones((8, 8), bool))], strategy="Crop")
    with pytest.raises(InpaintkitError, match="crop margin must be an integer >= 0, got -1"):
        plan(np.ones((8, 8), bool), "crop", margin=-1)
    with pytest.raises(InpaintkitError, match="feather must be an integer >= 0"):
        feather_weights(np.ones((8, 8), bool), -2)


def test_original_pads_to_the_multiple_with_reflection_and_crops_back() -> None:
    image = _photo(21, 13)
    hole = _square_hole((13, 21), 2, 3, 4)
    fake = Fake(multiple=8, value=1.0)
    out = run_method(fake, [Job(image, hole)], strategy="original")[0][0]
    (call,) = fake.calls
    assert call["known"].shape == (1, 3, 16, 24)
    known = call["known"][0]
    # bottom rows 13, 14, 15 reflect rows 11, 10, 9; right columns 21.. reflect 19, 18, 17
    assert torch.equal(known[:, 13:16, :21], known[:, [11, 10, 9], :21])
    assert torch.equal(known[:, :13, 21:24], known[:, :13, [19, 18, 17]])
    assert call["keep"][0, 0, :13, :21].eq(torch.from_numpy(~hole).float()).all()
    assert out.size == (21, 13)
    a = np.asarray(out)
    assert (a[hole] == 255).all() and np.array_equal(a[~hole], np.asarray(image)[~hole])


def test_original_pads_a_smaller_image_up_to_the_model_size() -> None:
    fake = Fake(image_size=16)
    out = run_method(fake, [Job(_photo(10, 12), _square_hole((12, 10), 1, 1, 3))])[0][0]
    assert fake.calls[0]["known"].shape == (1, 3, 16, 16) and out.size == (10, 12)


def test_crop_boxes_two_distant_holes_are_two_crops() -> None:
    hole = _square_hole((480, 640), 100, 200, 40) | _square_hole((480, 640), 300, 500, 10)
    first, second = plan(hole, "crop", image_size=16)
    assert first.box == (96, 196, 144, 244) and first.size == 16  # 48 px square -> 16
    assert second.box == (296, 496, 314, 514) and second.size == 16  # 10 + 2 * 4 = 18
    assert first.own.sum() == 1600 and second.own.sum() == 100
    # each crop owns only its own region, even where another hole falls inside its box
    near = _square_hole((64, 64), 10, 10, 4) | _square_hole((64, 64), 10, 20, 4)
    a, b = plan(near, "crop", image_size=32)
    assert a.own.sum() == b.own.sum() == 16 and not (a.own & b.own).any()


def test_crop_boxes_overlapping_regions_merge() -> None:
    hole = np.zeros((100, 100), bool)
    hole[10:12, 10:60] = True  # an L: its box is rows 10..59, columns 10..59
    hole[10:60, 10:12] = True
    hole[40:44, 40:44] = True  # a separate dot inside the L's box
    hole[58:70, 58:70] = True  # overlaps the L's box at one corner: merged too
    hole[90:95, 90:95] = True  # far away: a crop of its own
    boxes, regions = hole_regions(hole)
    assert boxes == [(10, 10, 70, 70), (90, 90, 95, 95)]
    assert set(np.unique(regions)) == {-1, 0, 1} and (regions[hole] >= 0).all()
    pieces = plan(hole, "crop", image_size=32, margin=8)
    assert [p.own.sum() for p in pieces] == [hole[:80, :80].sum(), 25]
    # without a fixed size the crop is the grown box, clipped
    assert plan(hole, "crop", margin=8)[0].box == (2, 2, 78, 78)


def test_crop_at_the_border_is_shifted_inside_and_padded_when_the_image_is_small() -> None:
    hole = _square_hole((480, 640), 0, 630, 10)
    (piece,) = plan(hole, "crop", image_size=16)
    assert piece.box == (0, 622, 18, 640) and piece.pad == (0, 0) and piece.size == 16
    assert piece.own[:10, 8:].all() and piece.own.sum() == 100
    # a strip shorter than the square: the crop is clipped and reflect-padded to a square
    strip = _square_hole((10, 200), 2, 100, 4)
    (piece,) = plan(strip, "crop", image_size=16)
    assert piece.box == (0, 94, 10, 110) and piece.pad == (6, 0) and piece.size is None
    image = np.arange(10 * 200 * 3, dtype=np.int64).reshape(10, 200, 3).astype(np.uint8)
    view = cut(piece, image)
    assert view.shape == (16, 16, 3) and np.array_equal(
        view[10:], image[[8, 7, 6, 5, 4, 3], 94:110]
    )


def test_crop_run_pastes_only_hole_pixels_with_per_piece_seeds_and_one_batch() -> None:
    shape = (48, 64)
    holes = [
        _square_hole(shape, 2, 2, 4) | _square_hole(shape, 40, 55, 5),
        _square_hole(shape, 20, 30, 6),
    ]
    jobs = [Job(_photo(64, 48), h) for h in holes]
    fake = Fake(image_size=16, value=-1.0)
    results = run_method(fake, jobs, samples=2, seed=7, strategy="crop", batch_size=8)
    (call,) = fake.calls  # 3 crops x 2 samples, all 16x16: one batch
    assert call["known"].shape == (6, 3, 16, 16)
    expected = [piece_seed(7, n, k, c) for n, k, c in [(0, 0, 0), (0, 0, 1), (0, 1, 0)]]
    expected += [piece_seed(7, n, k, c) for n, k, c in [(0, 1, 1), (1, 0, 0), (1, 1, 0)]]
    assert call["seeds"] == expected
    assert piece_seed(7, 1, 1, 0) == sample_seed(7, 1, 1) != piece_seed(7, 1, 1, 1)
    for job, outs in zip(jobs, results):
        for out in outs:
            a = np.asarray(out)
            assert (a[job.hole] == 0).all()
            assert np.array_equal(a[~job.hole], np.asarray(job.image)[~job.hole])
    # batch size does not change which seed a piece gets
    again = Fake(image_size=16, value=-1.0)
    run_method(again, jobs, samples=2, seed=7, strategy="crop", batch_size=4)
    assert [s for c in again.calls for s in c["seeds"]] == expected


def test_feather_blends_inside_the_hole_and_keeps_known_pixels_exact() -> None:
    image = Image.fromarray(np.full((20, 20, 3), 30, np.uint8))
    hole = _square_hole((20, 20), 5, 5, 10)
    weights = feather_weights(hole, 2)
    assert weights[5, 5:10].tolist() == pytest.approx([1 / 3, 1 / 3, 1 / 3, 1 / 3, 1 / 3])
    assert weights[6, 6] == pytest.approx(2 / 3) and weights[7, 7] == 1.0 and weights[0, 0] == 0
    out = run_method(Fake(value=1.0), [Job(image, hole)], feather=2)[0][0]
    a = np.asarray(out)[..., 0]
    assert a[5, 5] == round(255 / 3 + 30 * 2 / 3) == 105  # border: a third of the fill
    assert a[6, 6] == round(255 * 2 / 3 + 30 / 3) == 180
    assert a[7, 7] == a[10, 10] == 255  # deeper than the band: the fill
    assert np.array_equal(np.asarray(out)[~hole], np.asarray(image)[~hole])
    plain = run_method(Fake(value=1.0), [Job(image, hole)])[0][0]
    assert (np.asarray(plain)[hole] == 255).all()


def test_inputs_are_cut_like_the_image_and_passed_as_keyword_tensors() -> None:
    image = _photo(64, 48)
    hole = _square_hole((48, 64), 20, 30, 6)
    sketch = np.zeros((48, 64), bool)
    sketch[::3] = True
    guide = np.asarray(image.convert("L"))
    fake = Fake(image_size=16, inputs=("sketch", "guide"))
    run_method(fake, [Job(image, hole, {"sketch": sketch, "guide": guide})], strategy="crop")
    (piece,) = plan(hole, "crop", image_size=16)
    inputs = fake.calls[0]["inputs"]
    assert inputs["sketch"].shape == inputs["guide"].shape == (1, 1, 16, 16)
    assert torch.equal(inputs["sketch"], input_to_tensor(cut(piece, sketch)))
    assert torch.equal(inputs["guide"], input_to_tensor(cut(piece, guide)))
    assert set(inputs["sketch"].unique().tolist()) == {0.0, 1.0}
    with pytest.raises(InpaintkitError, match=r"takes the inputs \['sketch', 'guide'\]; missing"):
        run_method(fake, [Job(image, hole, {"sketch": sketch})])
    with pytest.raises(InpaintkitError, match=r"does not take \['edges'\]"):
        run_method(Fake(), [Job(image, hole, {"edges": sketch})])
    with pytest.raises(InpaintkitError, match="reference 1 must be a PIL RGB image"):
        run_method(Fake(), [Job(image, hole, references=(image, image.convert("L")))])
    with pytest.raises(InpaintkitError, match="of the image's size"):
        run_method(fake, [Job(image, hole, {"sketch": sketch[:10], "guide": guide})])


# ---------------------------------------------------------------------------------------------
# the command line


def test_cli_strategy_crop(tmp_path: Path, tiny_model: DiffusionModel) -> None:
    from inpaintkit.cli import app
    from inpaintkit.models.store import save_model

    _photo(64, 48).save(tmp_path / "photo.png")
    hole = _square_hole((48, 64), 30, 40, 8)
    Image.fromarray(hole.astype(np.uint8) * 255).save(tmp_path / "hole.png")
    model = save_model(tiny_model, tmp_path / "tiny.safetensors", dtype=torch.float32)
    out = tmp_path / "out"
    args = ["inpaint", tmp_path / "photo.png", "--mask", tmp_path / "hole.png", "--model", model]
    args += ["--steps", "4", "--jump-length", "2", "--resamplings", "2", "--no-progress"]
    result = CliRunner().invoke(
        app, [str(a) for a in [*args, "--strategy", "crop", "--feather", "1", "--out", out]]
    )
    assert result.exit_code == 0, result.output
    res, src = (
        np.asarray(Image.open(out / "photo.png")),
        np.asarray(Image.open(tmp_path / "photo.png")),
    )
    assert res.shape == (48, 64, 3) and np.array_equal(res[~hole], src[~hole])
    assert not np.array_equal(res[hole], src[hole])
    config = json.loads((out / "inpaintkit.json").read_text())
    assert config["strategy"] == "crop" and config["strategies"] == ["crop"]
    assert config["feather"] == 1 and config["crop_margin"] is None
    bad = CliRunner().invoke(app, [str(a) for a in [*args, "--strategy", "tile", "--out", out]])
    assert bad.exit_code == 2 and "unknown strategy 'tile'" in bad.output
    both = [*args, "--resize", "--strategy", "crop", "--out", out]
    clash = CliRunner().invoke(app, [str(a) for a in both])
    assert clash.exit_code == 2 and "--resize is --strategy resize" in clash.output


def test_crop_of_a_model_sized_image_is_original() -> None:
    image, hole = _photo(16, 16), _square_hole((16, 16), 3, 9, 6)
    outs = [
        run_method(Fake(image_size=16, value=None), [Job(image, hole)], seed=2, strategy=s)[0][0]
        for s in ("crop", "original", "auto")
    ]
    assert outs[0].tobytes() == outs[1].tobytes() == outs[2].tobytes()
    assert outs[0].tobytes() != image.tobytes()


def test_plan_jobs_counts_the_pieces_a_dry_run_would_sample() -> None:
    shape = (48, 64)
    jobs = [
        Job(_photo(64, 48), _square_hole(shape, 2, 2, 4) | _square_hole(shape, 40, 55, 5)),
        Job(_photo(64, 48), np.zeros(shape, bool)),
        Job(_photo(16, 16), _square_hole((16, 16), 3, 3, 3)),
    ]
    fake = Fake(image_size=16)
    assert [len(p) for p in plan_jobs(fake, jobs)] == [2, 0, 1]
    assert [len(p) for p in plan_jobs(fake, jobs, resize=True)] == [1, 0, 1]
    with pytest.raises(InpaintkitError, match="works at 16x16 but the image is 64x48"):
        plan_jobs(fake, jobs, strategy="original")


@pytest.mark.parametrize(
    ("hole_box", "size"),
    [((200, 300, 40), 16), ((0, 630, 10), 16), ((100, 50, 8), 32), ((440, 0, 40), None)],
)
def test_crops_go_back_where_they_came_from(hole_box, size) -> None:
    """A method that returns its input: the hole gets the input's own pixels back (through a
    Lanczos resize down and up where the crop is larger than the model), so any offset shows."""
    y, x = np.mgrid[0:480, 0:640]
    waves = [np.sin(2 * np.pi * x / 90), np.cos(2 * np.pi * y / 70), np.sin(np.pi * (x + y) / 55)]
    smooth = np.rint(127 + 120 * np.stack(waves, axis=2))  # a 1 px shift: mean error 3.4
    image = Image.fromarray(smooth.astype(np.uint8))
    hole = _square_hole((480, 640), *hole_box)
    out = run_method(Fake(image_size=size, value="identity"), [Job(image, hole)], strategy="crop")
    diff = np.abs(np.asarray(out[0][0], int) - smooth)
    (piece,) = plan(hole, "crop", image_size=size)
    assert diff[~hole].max() == 0
    if piece.size is None:
        assert diff[hole].max() == 0
    else:  # Lanczos down and up
        assert diff[hole].max() <= 3 and diff[hole].mean() < 0.5


def test_api_and_cli_take_extra_inputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """inpaintkit.inpaint(..., inputs={"sketch": FILE}) and `inpaintkit inpaint --input
    sketch=FILE` read the file at the image's size and hand it to the method as a keyword
    tensor; a size mismatch or a bad flag is a clear error."""
    from inpaintkit.methods import METHODS, Method, Needs

    seen: list[torch.Tensor] = []

    class SketchFill(Method):
        name = "sketch-fill"
        needs = Needs(None, inputs=("sketch",))

        def __init__(self, options: object) -> None:
            self.options = options

        def __call__(self, known, keep, *, generators, callback=None, sketch):
            seen.append(sketch)
            return sketch.expand_as(known)  # paint the sketch into the hole

    monkeypatch.setitem(METHODS, "sketch-fill", SketchFill)
    image = _photo(24, 16)
    hole = _square_hole((16, 24), 4, 6, 5)
    sketch = np.zeros((16, 24), np.uint8)
    sketch[:, ::2] = 255
    Image.fromarray(sketch).save(tmp_path / "sketch.png")
    out = inpaintkit.inpaint(image, hole, "sketch-fill", inputs={"sketch": tmp_path / "sketch.png"})
    assert seen[0].shape == (1, 1, 16, 24)
    expected = np.where(hole[..., None], sketch[..., None], np.asarray(image))
    assert np.array_equal(np.asarray(out), expected)
    with pytest.raises(InpaintkitError, match="input 'sketch' is 8x16 but the image is 24x16"):
        inpaintkit.inpaint(image, hole, "sketch-fill", inputs={"sketch": sketch[:, :8]})
    # the command line: the same fill from --input, one file for all images
    from inpaintkit.cli import app

    image.save(tmp_path / "a.png")
    Image.fromarray(hole).save(tmp_path / "hole.png")
    runner = CliRunner()
    args = ["inpaint", str(tmp_path / "a.png"), "--mask", str(tmp_path / "hole.png"),
            "--method", "sketch-fill", "--out", str(tmp_path / "out")]  # fmt: skip
    result = runner.invoke(app, [*args, "--input", f"sketch={tmp_path}/sketch.png"])
    assert result.exit_code == 0, result.output
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out" / "a.png")), expected)
    result = runner.invoke(app, [*args, "--input", "sketch"])
    assert result.exit_code == 2 and "--input takes NAME=FILE" in result.output
    result = runner.invoke(inpaintkit.cli.app, [*args, "--overwrite"])  # out holds a run
    assert result.exit_code == 2 and "missing" in result.output
