"""``--method auto``: the method chosen by the input's size (inpaintkit.methods.choice), through
the function, the command line and the Python API."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

import inpaintkit
from inpaintkit.cli import app
from inpaintkit.methods import choice
from inpaintkit.methods.choice import PHOTO_FEATHER, PHOTO_MODEL, choose_method

PHOTO = ("lama32",)  # an embedded network of any size stands in for the photo model in the CLI


def test_small_images_get_repaint_on_the_default_prior() -> None:
    for sizes in ([(32, 32)], [(64, 64)], [(16, 16), (64, 40)]):
        picked = choose_method(sizes, None, [PHOTO_MODEL])
        assert (picked.method, picked.model, picked.feather) == ("repaint", None, None)


def test_photos_get_lama_on_the_photo_network_feathered() -> None:
    for sizes in ([(65, 10)], [(10, 65)], [(32, 32), (640, 480)]):
        picked = choose_method(sizes, None, ["emoji32-v2", PHOTO_MODEL])
        assert (picked.method, picked.model, picked.feather) == ("lama", PHOTO_MODEL, PHOTO_FEATHER)
    assert "640x480" in choose_method([(32, 32), (640, 480)], None, [PHOTO_MODEL]).reason


def test_photo_without_the_photo_network_is_pull_push_and_says_so() -> None:
    picked = choose_method([(640, 480)], None, ["emoji32-v2"])
    assert (picked.method, picked.model, picked.feather) == ("pull-push", None, None)
    assert picked.reason == (
        "640x480 px: a photo: pull-push, the best fill on held-out photos (no learned photo "
        "network here beats it: docs/photos.md)"
    )


def test_a_given_model_means_repaint_on_it() -> None:
    picked = choose_method([(640, 480)], "my-prior.safetensors", [PHOTO_MODEL])
    assert (picked.method, picked.model) == ("repaint", None)


@pytest.fixture
def photo(tmp_path: Path) -> dict[str, Path]:
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (80, 96, 3), dtype=np.uint8)
    hole = np.zeros((80, 96), np.uint8)
    hole[30:40, 10:70] = 255
    Image.fromarray(image).save(tmp_path / "photo.png")
    Image.fromarray(hole).save(tmp_path / "hole.png")
    return {"dir": tmp_path, "photo": tmp_path / "photo.png", "hole": tmp_path / "hole.png"}


def test_cli_without_method_runs_the_photo_choice(
    photo: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(choice, "PHOTO_MODEL", PHOTO[0])
    out = photo["dir"] / "out"
    args = ["inpaint", photo["photo"], "--mask", photo["hole"], "--no-progress", "--out", out]
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    assert "method auto: 96x80 px: a photo, lama on lama32" in result.output
    config = json.loads((out / "inpaintkit.json").read_text())
    assert config["method"] == "lama" and config["feather"] == PHOTO_FEATHER
    assert config["auto"].startswith("96x80 px: a photo") and config["strategies"] == ["original"]
    result_pixels = np.asarray(Image.open(out / "photo.png"))
    source = np.asarray(Image.open(photo["photo"]))
    hole = np.asarray(Image.open(photo["hole"])) > 0
    assert result_pixels.shape == source.shape  # the photo's own size and aspect ratio
    assert np.array_equal(result_pixels[~hole], source[~hole])
    assert not np.array_equal(result_pixels[hole], source[hole])


def test_api_auto_matches_the_named_method_with_the_feather(
    photo: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(choice, "PHOTO_MODEL", PHOTO[0])
    auto = inpaintkit.inpaint(photo["photo"], photo["hole"], progress=False)
    named = inpaintkit.inpaint(
        photo["photo"], photo["hole"], "lama", model="lama32", feather=PHOTO_FEATHER,
        progress=False,
    )  # fmt: skip
    plain = inpaintkit.inpaint(photo["photo"], photo["hole"], "lama", progress=False)
    assert np.array_equal(np.asarray(auto), np.asarray(named))
    assert not np.array_equal(np.asarray(auto), np.asarray(plain))  # the feather changed it


@pytest.mark.parametrize("method", ["auto", "pull-push"])
def test_large_images_are_cropped_around_the_holes(
    photo: dict[str, Path], monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    monkeypatch.setattr(choice, "PHOTO_MODEL", PHOTO[0])  # auto: lama on lama32
    wide = np.zeros((40, 1100, 3), np.uint8)
    wide[:, :, 1] = np.arange(1100, dtype=np.uint8)[None, :]
    hole = np.zeros((40, 1100), np.uint8)
    hole[15:25, 500:520] = 255
    Image.fromarray(wide).save(photo["dir"] / "wide.png")
    Image.fromarray(hole).save(photo["dir"] / "wide_hole.png")
    out = photo["dir"] / "wide_out"
    args = ["inpaint", photo["dir"] / "wide.png", "--mask", photo["dir"] / "wide_hole.png"]
    args += ["--method", method, "--no-progress", "--out", out]
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "inpaintkit.json").read_text())["strategies"] == ["crop"]


@pytest.fixture
def network_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, ...]]:
    """The input shape of every feed-forward network call (the generator still runs)."""
    from inpaintkit.models.feedforward import FeedForwardModel

    calls, fill = [], FeedForwardModel.fill

    def recorded(self, masked, hole, *extras):
        calls.append(tuple(masked.shape))
        return fill(self, masked, hole, *extras)

    monkeypatch.setattr(FeedForwardModel, "fill", recorded)
    return calls


def test_a_4000x3000_photo_with_a_small_hole_runs_on_one_crop(
    monkeypatch: pytest.MonkeyPatch, network_calls: list
) -> None:
    monkeypatch.setattr(choice, "PHOTO_MODEL", PHOTO[0])
    rng = np.random.default_rng(5)
    image = np.empty((3000, 4000, 3), np.uint8)
    image[...] = rng.integers(0, 256, (1, 4000, 3), dtype=np.uint8)  # vertical stripes
    hole = np.zeros((3000, 4000), bool)
    hole[1500:1540, 2000:2030] = True
    result = np.asarray(inpaintkit.inpaint(image, hole, progress=False))
    assert result.shape == image.shape and np.array_equal(result[~hole], image[~hole])
    assert not np.array_equal(result[hole], image[hole])
    # one call on the hole's 40x30 box plus 128 px of context on each side (296x286), the
    # width padded to the network's multiple of 4
    assert network_calls == [(1, 3, 296, 288)]


def test_a_named_method_on_an_emoji_model_warns_on_a_photo(photo: dict[str, Path]) -> None:
    note = choice.emoji_model_note("repaint", "default", [(32, 32), (600, 400)])
    assert note.startswith("note: repaint runs on emoji32-v2") and "600x400" in note
    assert choice.emoji_model_note("lama", "lama32", [(64, 64)]) is None  # small: no note
    assert choice.emoji_model_note("repaint", "photo64", [(600, 400)]) is None
    runs = {}
    for method, extra in (("lama", []), ("telea", []), ("lama", ["--model", "lama32"])):
        args = ["inpaint", photo["photo"], "--mask", photo["hole"], "--method", method,
                *extra, "--dry-run", "--out", photo["dir"] / "out"]  # fmt: skip
        result = CliRunner().invoke(app, [str(a) for a in args])
        assert result.exit_code == 0, result.output
        runs[(method, *extra)] = result.output
    assert "note: lama runs on lama32, a model trained on 32x32 emoji" in runs[("lama",)]
    assert "96x80 image" in runs[("lama",)]
    assert "note:" not in runs[("telea",)]  # no model
    assert "note:" not in runs[("lama", "--model", "lama32")]  # the user chose the model
