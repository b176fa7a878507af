"""The photo set: the committed lists and split, the Debian fetcher (offline: a fake runner
stands in for apt-get and dpkg), the seeded multi-scale crops and the data spec."""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from inpaintkit.cli import app
from inpaintkit.data import debs
from inpaintkit.data.photo_build import build_photo_set
from inpaintkit.data.photo_crops import PhotoCropDataset
from inpaintkit.data.photo_set import (
    PACKAGE_FOLDERS,
    SKIMAGE,
    SPLIT_SEED,
    TUNE_FRACTION,
    TUNE_SEED,
    draw_scenes,
    heldout_scenes,
    load_photo_scenes,
    parse_photo_files,
    photo_files,
    split_files,
    tune_scenes,
)
from inpaintkit.data.photos import read_photo
from inpaintkit.data.specs import make_dataset
from inpaintkit.errors import InpaintkitError

SOURCES = {"mate-backgrounds": "mate", "plasma-workspace-wallpapers": "plasma",
           "opencv-doc": "opencv", "scikit-image": "skimage"}  # fmt: skip
PAIRS = [("leuvenA", "leuvenB"), ("aloeL", "aloeR"), ("graf1", "graf3"), ("aero1", "aero3"),
         ("rubberwhale1", "rubberwhale2"), ("left", "right"),
         ("motorcycle_left", "motorcycle_right")]  # fmt: skip


def test_committed_list_parses_and_every_photo_has_a_scene():
    files = photo_files()
    assert len(files) == 54 and len({f.scene for f in files}) == 47
    assert Counter(f.package for f in files) == {
        "mate-backgrounds": 12, "plasma-workspace-wallpapers": 10, "opencv-doc": 26,
        "scikit-image": 6,
    }  # fmt: skip
    for f in files:
        assert f.scene.split("/")[0] == SOURCES[f.package] and f.scene.split("/")[1]
        folder = "skimage/data" if f.package == SKIMAGE else PACKAGE_FOLDERS[f.package]
        assert f.path.startswith(folder + "/"), f
    assert len({f.name for f in files}) == 54  # file names of the built set do not collide
    # a wallpaper is listed in one size only
    plasma = [f.path.split("/")[3] for f in files if f.package == "plasma-workspace-wallpapers"]
    assert len(plasma) == len(set(plasma)) == 10


def test_split_is_by_scene_and_pairs_stay_together():
    train, test = split_files("train"), split_files("test")
    assert (len(train), len(test)) == (44, 10)
    train_scenes, test_scenes = {f.scene for f in train}, {f.scene for f in test}
    assert (len(train_scenes), len(test_scenes)) == (38, 9)
    assert not train_scenes & test_scenes
    assert train_scenes | test_scenes == {f.scene for f in photo_files()}
    assert test_scenes == heldout_scenes()
    stems = {Path(f.path).stem: f for f in photo_files()}
    for a, b in PAIRS:
        assert stems[a].scene == stems[b].scene
        assert (stems[a] in test) == (stems[b] in test)
    assert sum(n == 2 for n in Counter(f.scene for f in photo_files()).values()) == len(PAIRS)
    with pytest.raises(InpaintkitError, match="choose one of"):
        split_files("val")


def test_committed_test_scenes_are_the_recorded_seeded_draw():
    scenes = sorted({f.scene for f in photo_files()})
    drawn = draw_scenes(scenes)
    assert drawn == sorted(heldout_scenes())
    assert Counter(s.split("/")[0] for s in drawn) == {"mate": 2, "opencv": 4, "plasma": 2,
                                                       "skimage": 1}  # fmt: skip
    assert draw_scenes(scenes, seed=SPLIT_SEED + 1) != drawn  # the check can fail
    header = Path(__file__).parents[1] / "src/inpaintkit/data/photo_test_scenes.txt"
    assert f"default_rng({SPLIT_SEED})" in header.read_text()


def test_tune_split_is_a_recorded_draw_of_training_scenes():
    train_scenes = sorted({f.scene for f in split_files("train")})
    drawn = draw_scenes(train_scenes, seed=TUNE_SEED, fraction=TUNE_FRACTION)
    assert drawn == sorted(tune_scenes())
    assert Counter(s.split("/")[0] for s in drawn) == {"mate": 2, "opencv": 2, "plasma": 1,
                                                       "skimage": 1}  # fmt: skip
    tune, fit, test = split_files("tune"), split_files("fit"), split_files("test")
    assert (len(tune), len(fit)) == (6, 38)
    assert {f.scene for f in tune} == tune_scenes()
    assert not {f.scene for f in fit} & (tune_scenes() | heldout_scenes())
    assert sorted(tune + fit, key=photo_files().index) == split_files("train")
    assert not {f.scene for f in tune} & {f.scene for f in test}
    header = Path(__file__).parents[1] / "src/inpaintkit/data/photo_tune_scenes.txt"
    assert f"default_rng({TUNE_SEED})" in header.read_text()


def test_photo_list_errors_name_the_line():
    with pytest.raises(InpaintkitError, match="line 2: expected"):
        parse_photo_files("# note\nopencv-doc a.jpg\n")
    with pytest.raises(InpaintkitError, match="unknown package 'gnome-backgrounds'"):
        parse_photo_files("gnome-backgrounds a.jpg gnome/a\n")
    with pytest.raises(InpaintkitError, match="twice"):
        parse_photo_files("opencv-doc a.jpg opencv/a\nopencv-doc a.jpg opencv/b\n")
    two = parse_photo_files("opencv-doc x/aL.jpg opencv/a\nopencv-doc x/aR.jpg opencv/a\n")
    one = parse_photo_files("opencv-doc x/b.jpg opencv/b\n")
    assert [f.name for f in two] == ["opencv-a-aL", "opencv-a-aR"] and one[0].name == "opencv-b"


def fake_runner(tree: dict[str, bytes], calls: list[list[str]]):
    """A stand-in for apt-get download and dpkg -x: the .deb is a dummy, dpkg writes ``tree``."""

    def run(argv: list[str], cwd: Path) -> None:
        calls.append(argv)
        if argv[0] == "apt-get":
            (cwd / f"{argv[2]}_1.0-1_all.deb").write_bytes(b"deb")
        else:
            for rel, data in tree.items():
                (Path(argv[3]) / rel).parent.mkdir(parents=True, exist_ok=True)
                (Path(argv[3]) / rel).write_bytes(data)

    return run


def test_fetch_deb_keeps_the_folders_images_and_the_copyright_once(tmp_path):
    tree = {"usr/share/wp/a/1.jpg": b"1", "usr/share/wp/a/metadata.json": b"{}",
            "usr/share/wp/readme.txt": b"no", "usr/share/other/2.png": b"no",
            "usr/share/doc/pkg/copyright": b"GPL-2+"}  # fmt: skip
    calls: list[list[str]] = []
    root = debs.fetch_deb("pkg", "usr/share/wp", tmp_path, run=fake_runner(tree, calls))
    assert root == tmp_path / "debs" / "pkg"
    kept = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert kept == [".fetched", "usr/share/doc/pkg/copyright", "usr/share/wp/a/1.jpg",
                    "usr/share/wp/a/metadata.json"]  # fmt: skip
    assert [c[:2] for c in calls] == [["apt-get", "download"], ["dpkg", "-x"]]
    debs.fetch_deb("pkg", "usr/share/wp", tmp_path, run=fake_runner(tree, calls))
    assert len(calls) == 2  # cached: no apt
    debs.fetch_deb("pkg", "usr/share/other", tmp_path, run=fake_runner(tree, calls))
    assert len(calls) == 4 and (root / "usr/share/other/2.png").is_file()
    assert not (root / "usr/share/wp").exists() and not list((tmp_path / "debs").glob(".pkg-*"))


def test_missing_or_failing_apt_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(debs.shutil, "which", lambda tool: None)
    with pytest.raises(InpaintkitError) as err:
        debs.fetch_deb("mate-backgrounds", "usr/share/backgrounds", tmp_path)
    assert "`apt-get download mate-backgrounds`" in str(err.value)
    assert "apt-get is not on PATH" in str(err.value)

    def refuse(argv, cwd):
        raise subprocess.CalledProcessError(100, argv, stderr="E: Unable to locate package x")

    with pytest.raises(InpaintkitError) as err:
        debs.fetch_deb("x", "usr/share/x", tmp_path, run=refuse)
    message = str(err.value)
    assert "Debian package x failed: `apt-get download x` exited with status 100" in message
    assert "Unable to locate package x" in message
    assert not (tmp_path / "debs" / "x").exists()


def coordinate_photo(path: Path, width: int = 1536, height: int = 1024) -> Path:
    """A PNG whose red level is x * 255 / (width - 1) and green y * 255 / (height - 1)."""
    x = np.arange(width) * 255 / (width - 1)
    y = np.arange(height) * 255 / (height - 1)
    rgb = np.zeros((height, width, 3), np.uint8)
    rgb[..., 0] = np.rint(x)[None, :]
    rgb[..., 1] = np.rint(y)[:, None]
    Image.fromarray(rgb).save(path)
    return path


def test_crop_scale_is_in_range_by_construction(tmp_path):
    data = PhotoCropDataset([coordinate_photo(tmp_path / "xy.png")], 64, seed=1)
    assert len(data) == 64 and data.scale_range(0) == (128, 512)
    shorts = np.array([data.draws(i, e)[1] for e in range(40) for i in range(64)])
    assert shorts.min() >= 128 and shorts.max() <= 512
    assert shorts.min() <= 135 and shorts.max() >= 505  # both ends are reached
    assert abs(shorts.mean() - 320) < 10  # uniform on [128, 512]: mean 320, s.e. 2.5
    for index, epoch in [(0, 0), (7, 0), (7, 1), (63, 5)]:
        _, short, top, left = data.draws(index, epoch)
        crop = data.crop_uint8(index, epoch).astype(float)
        cols, rows = np.arange(64), np.arange(64)
        slope_x = np.polyfit(cols, crop[8:56, :, 0].mean(0), 1)[0]
        slope_y = np.polyfit(rows, crop[:, 8:56, 1].mean(1), 1)[0]
        # one crop pixel spans 1024 / short source pixels: red rises 255/1535 per source pixel
        assert 1024 * 255 / 1535 / slope_x == pytest.approx(short, rel=0.03)
        assert 1024 * 255 / 1023 / slope_y == pytest.approx(short, rel=0.03)
        centre = (left + 32) * 1024 / short * 255 / 1535  # red at the crop's centre column
        assert crop[:, 31:33, 0].mean() == pytest.approx(centre, abs=2.5)


def test_crops_are_seeded_by_seed_epoch_and_index(tmp_path):
    rng = np.random.default_rng(0)
    paths = []
    for n, size in enumerate([(700, 500), (400, 640)]):
        paths.append(tmp_path / f"p{n}.jpg")
        Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), np.uint8)).save(paths[-1])
    data, again = PhotoCropDataset(paths, 32, seed=3), PhotoCropDataset(paths, 32, seed=3)
    assert len(data) == 128 and data.draws(64, 0)[0] == 1
    first = data.item(70, 2)
    assert first.shape == (3, 32, 32) and first.min() >= -1 and first.max() <= 1
    assert again.item(70, 2).numpy().tobytes() == first.numpy().tobytes()
    assert not np.array_equal(data.item(70, 3).numpy(), first.numpy())
    assert not np.array_equal(PhotoCropDataset(paths, 32, seed=4).item(70, 2), first)
    assert np.array_equal(data[70], data.item(70, 0))
    assert data.decoded(0).shape == (500, 700, 3)  # below CACHE_SHORT: kept at its own size


def test_small_photos_are_never_upscaled(tmp_path):
    small = np.random.default_rng(1).integers(0, 256, (90, 100, 3), np.uint8)
    Image.fromarray(small).save(tmp_path / "small.png")
    Image.new("RGB", (450, 300)).save(tmp_path / "mid.png")
    Image.new("RGB", (20, 20)).save(tmp_path / "tiny.png")
    data = PhotoCropDataset([tmp_path / n for n in ("small.png", "mid.png", "tiny.png")], 32)
    assert data.skipped == [tmp_path / "tiny.png"] and len(data) == 128
    assert data.scale_range(0) == (90, 90) and data.scale_range(1) == (128, 300)
    assert max(data.draws(i, e)[1] for i in range(64, 128) for e in range(5)) <= 300
    for index in (0, 9):  # at its own size, a crop is a window of the photo
        _, short, top, left = data.draws(index, 4)
        window = small[top : top + 32, left : left + 32].astype(int)
        assert short == 90 and np.abs(data.crop_uint8(index, 4) - window).max() <= 1
    with pytest.raises(InpaintkitError, match="no photo has a short side of at least 32"):
        PhotoCropDataset([tmp_path / "tiny.png"], 32)
    with pytest.raises(InpaintkitError, match="resolution <= 512"):
        PhotoCropDataset([tmp_path / "mid.png"], 600)


def test_read_photo_bounds_and_colours(tmp_path):
    Image.new("L", (300, 200), 77).save(tmp_path / "grey.png")
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[..., 0], rgba[:5, :, 3] = 200, 255
    Image.fromarray(rgba, "RGBA").save(tmp_path / "alpha.png")
    assert read_photo(tmp_path / "grey.png", long_max=150).shape == (100, 150, 3)
    assert read_photo(tmp_path / "grey.png", short_max=100).shape == (100, 150, 3)
    assert read_photo(tmp_path / "grey.png", long_max=1000).shape == (200, 300, 3)  # no upscale
    assert (read_photo(tmp_path / "grey.png") == 77).all()
    out = read_photo(tmp_path / "alpha.png")
    assert out[0, 0].tolist() == [200, 0, 0] and out[9, 0].tolist() == [255, 255, 255]


def fake_photo_cache(root: Path) -> Path:
    """A cache where every listed Debian photo is a small random image (skimage's are real)."""
    rng = np.random.default_rng(2)
    for f in photo_files():
        if f.package == SKIMAGE:
            continue
        path = root / "debs" / f.package / f.path
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (72, 96, 3), np.uint8)).save(path)
    for package, folder in PACKAGE_FOLDERS.items():
        (root / "debs" / package / ".fetched").write_text(folder + "\n")
    return root


def test_photo_spec_build_and_scenes_on_a_fake_cache(tmp_path, monkeypatch):
    cache = fake_photo_cache(tmp_path / "cache")
    monkeypatch.setattr(debs.shutil, "which", lambda tool: None)  # apt is never called
    test = make_dataset("photos:test", 32, cache_dir=cache)
    assert isinstance(test, PhotoCropDataset) and len(test) == 10 * 64
    assert test.item(5, 0).shape == (3, 32, 32)
    assert test.seed == 0 and make_dataset("photos:test", 32, cache_dir=cache, seed=7).seed == 7
    assert len(make_dataset("photos", 32, cache_dir=cache)) == 44 * 64
    assert len(make_dataset("photos:all", 32, cache_dir=cache)) == 54 * 64
    with pytest.raises(InpaintkitError, match="unknown photo split 'val'"):
        make_dataset("photos:val", 32, cache_dir=cache)
    with pytest.raises(InpaintkitError, match=r"use photos\[:train\|test\|all\]"):
        make_dataset("photos:test:x", 32, cache_dir=cache)
    scenes = load_photo_scenes("test", max_side=64, cache_dir=cache)
    assert [s.name for s in scenes][:2] == ["mate-Dune", "mate-Wood"] and len(scenes) == 10
    coffee = [s for s in scenes if s.scene == "skimage/coffee"][0]
    assert coffee.image.shape == (43, 64, 3)  # 600x400 scaled to a long side of 64
    summary = build_photo_set(cache)
    assert summary.files == {"all": 54, "train": 44, "test": 10}
    assert summary.scenes == {"all": 47, "train": 38, "test": 9}
    assert len(list((cache / "photos" / "test").iterdir())) == 10
    assert (cache / "photos" / "test" / "opencv-books-left.jpg").is_file()
    assert len((cache / "photos" / "index.csv").read_text().splitlines()) == 55
    monkeypatch.setenv("INPAINTKIT_CACHE", str(cache))
    result = CliRunner().invoke(app, ["data", "photos"])
    assert result.exit_code == 0, result.output
    assert "photo set: 54 photos of 47 scenes" in result.output
    assert "test: 10 photos of 9 scenes" in result.output
    shutil.rmtree(cache / "debs" / "opencv-doc")
    result = CliRunner().invoke(app, ["data", "photos"])
    assert result.exit_code == 2 and "apt-get download opencv-doc" in result.output
