"""`inpaintkit inpaint` batch mode and outputs: folders, --mask-dir pairing, mask files taken for
images, outputs that never replace an input, --overwrite, --format/--quality, the file list."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from inpaintkit.cli import app

runner = CliRunner()
TELEA = ["--method", "telea"]


def _run(*args: object) -> object:
    return runner.invoke(app, [str(a) for a in args])


def _error(result: object) -> str:
    """The one error line of a failed run (exit 2, no traceback)."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.output.count("\n") == 1, result.output
    assert result.output.startswith("error: "), result.output
    return result.output[len("error: ") : -1]


def _picture(path: Path, seed: int = 0, size: int = 16) -> Path:
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(path)
    return path


def _mask(path: Path, size: int = 16) -> Path:
    hole = np.zeros((size, size), np.uint8)
    hole[3:9, 4:12] = 255
    Image.fromarray(hole).save(path)
    return path


@pytest.fixture
def batch(tmp_path: Path) -> dict[str, Path]:
    """imgs/{a,b,c}.png and masks/{a,b,c}.png."""
    (tmp_path / "imgs").mkdir()
    (tmp_path / "masks").mkdir()
    for n, stem in enumerate("abc"):
        _picture(tmp_path / "imgs" / f"{stem}.png", n)
        _mask(tmp_path / "masks" / f"{stem}.png")
    return {"dir": tmp_path, "imgs": tmp_path / "imgs", "masks": tmp_path / "masks"}


# ---------------------------------------------------------------------------------------------
# batch mode


def test_folder_with_mask_dir_pairs_by_stem(batch: dict[str, Path]) -> None:
    imgs, masks, out = batch["imgs"], batch["masks"], batch["dir"] / "out"
    (masks / "b.png").rename(masks / "b.bmp")  # any image suffix pairs
    _mask(masks / "b.bmp")  # a BMP of the same hole (PIL chooses the format from the suffix)
    (imgs / "notes.txt").write_text("not an image")
    result = _run("inpaint", imgs, "--mask-dir", masks, *TELEA, "--out", out)
    assert result.exit_code == 0, result.output
    record = json.loads((out / "inpaintkit.json").read_text())
    assert record["images"] == [str(imgs / f"{s}.png") for s in "abc"]
    assert record["mask"] == [str(masks / "a.png"), str(masks / "b.bmp"), str(masks / "c.png")]
    assert record["files"] == [
        "a.png",
        "a_hole.png",
        "a_grid.png",
        "b.png",
        "b_hole.png",
        "b_grid.png",
        "c.png",
        "c_hole.png",
        "c_grid.png",
        "grid.png",
    ]
    assert sorted(p.name for p in out.iterdir()) == sorted([*record["files"], "inpaintkit.json"])
    # one-by-one runs give the same bytes
    single = batch["dir"] / "single"
    alone = _run("inpaint", imgs / "b.png", "--mask", masks / "b.bmp", *TELEA, "--out", single)
    assert alone.exit_code == 0, alone.output
    assert (single / "b.png").read_bytes() == (out / "b.png").read_bytes()


def test_pairing_errors_name_every_missing_file(batch: dict[str, Path]) -> None:
    imgs, masks = batch["imgs"], batch["masks"]
    (masks / "a.png").unlink()
    (masks / "c.png").unlink()
    _mask(masks / "d.png")
    _mask(masks / "e.png")
    _picture(imgs / "f.jpg")
    out = batch["dir"] / "out"
    args = ["inpaint", imgs, "--mask-dir", masks, *TELEA, "--out", out]
    assert _error(_run(*args)) == (
        f"no mask in {masks} for 3 image(s): {imgs / 'a.png'}, {imgs / 'c.png'}, "
        f"{imgs / 'f.jpg'}; no image for 2 mask(s): {masks / 'd.png'}, {masks / 'e.png'}"
    )
    assert not out.exists()  # nothing ran, nothing was created


def test_shell_pattern_after_mask_is_refused(batch: dict[str, Path]) -> None:
    """`inpaint imgs/*.png --mask masks/*.png`: Typer gets ONE --mask, the others are IMAGES."""
    imgs, masks = batch["imgs"], batch["masks"]
    argv = ["inpaint", *(imgs / f"{s}.png" for s in "abc"), "--mask"]
    argv += [*(masks / f"{s}.png" for s in "abc"), *TELEA, "--out", batch["dir"] / "out"]
    assert _error(_run(*argv)) == (
        f"2 of the images are in the folder of the --mask files: {masks / 'b.png'}, "
        f"{masks / 'c.png'}. A shell pattern after --mask (--mask {masks}/*.png) gives ONE "
        "--mask and makes the other masks images; to pair each image with the mask of the same "
        f"name use --mask-dir {masks}, or repeat --mask before each mask file"
    )
    # the exact argv of `--mask masks/a.png masks/b.png` before the images
    argv = ["inpaint", "--mask", masks / "a.png", masks / "b.png", imgs / "a.png", *TELEA]
    assert _error(_run(*argv)).startswith("1 of the images are in the folder of the --mask")
    # repeating --mask works, as does one folder holding images and masks side by side
    argv = ["inpaint", imgs / "a.png", imgs / "b.png", "--mask", masks / "a.png", "--mask"]
    assert _run(*argv, masks / "b.png", *TELEA, "--out", batch["dir"] / "o2").exit_code == 0
    side = _mask(imgs / "hole.png")
    argv = ["inpaint", imgs / "a.png", imgs / "b.png", "--mask", side, *TELEA]
    assert _run(*argv, "--out", batch["dir"] / "o3").exit_code == 0


def test_image_and_mask_the_same_file(batch: dict[str, Path]) -> None:
    a = batch["imgs"] / "a.png"
    assert _error(_run("inpaint", a, "--mask", a, *TELEA)) == (
        f"an image and a mask are the same file: {a}; an image's transparent hole is not read "
        "as its own mask: save the mask as a file of its own (white = hole)"
    )
    result = _run("inpaint", batch["masks"], "--mask-dir", batch["masks"], *TELEA)
    assert _error(result).startswith(
        f"an image and a mask are the same file: {batch['masks'] / 'a.png'}, "
    )
    both = _error(_run("inpaint", a, "--mask", a, "--mask-dir", batch["masks"], *TELEA))
    assert both == "give exactly one of --mask FILE, --mask-dir FOLDER or --mask-kind KIND"


def test_missing_paths_and_empty_folders_are_named(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    mask = _mask(tmp_path / "m.png")
    result = _run("inpaint", tmp_path / "x.png", tmp_path / "empty", "--mask", mask, *TELEA)
    assert _error(result) == (
        f"not found: {tmp_path / 'x.png'}; no images (.png .jpg .jpeg .webp .bmp .tif .tiff) in "
        f"the folder(s): {tmp_path / 'empty'}"
    )


# ---------------------------------------------------------------------------------------------
# outputs never replace an input


def test_out_dot_next_to_the_photo_is_refused(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    photo = _picture(tmp_path / "photo.png")
    _mask(tmp_path / "hole.png")
    before = photo.read_bytes()
    monkeypatch.chdir(tmp_path)
    result = _run("inpaint", "photo.png", "--mask", "hole.png", *TELEA, "--out", ".")
    assert _error(result) == (
        "--out . would replace the input photo.png with a result; outputs never replace an "
        "input: choose another --out"
    )
    result = _run("inpaint", photo, "--mask", "hole.png", *TELEA, "--out", tmp_path)
    assert "would replace the input" in _error(result)
    # a mask named as an output (x_hole.png) is protected too
    (tmp_path / "x.png").write_bytes(before)
    _mask(tmp_path / "x_hole.png")
    result = _run("inpaint", "x.png", "--mask", "x_hole.png", *TELEA, "--out", ".")
    assert "would replace the input x.png" in _error(result)
    assert photo.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == [
        "hole.png",
        "photo.png",
        "x.png",
        "x_hole.png",
    ]


def test_rerun_is_refused_and_overwrite_removes_the_old_files(tmp_path: Path) -> None:
    photo, hole, out = _picture(tmp_path / "cat.png"), _mask(tmp_path / "h.png"), tmp_path / "o"
    base = ["inpaint", photo, "--mask", hole, *TELEA, "--out", out]
    assert _run(*base, "--samples", "2").exit_code == 0
    (out / "mine.txt").write_text("the user's own file")
    assert _error(_run(*base)) == (
        f"{out} holds the outputs of an earlier run ({out / 'inpaintkit.json'}); give "
        "--overwrite to remove the files it lists and write the new ones, or choose another --out"
    )
    result = _run(*base, "--overwrite")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "cat.png",
        "cat_grid.png",
        "cat_hole.png",
        "inpaintkit.json",
        "mine.txt",  # not listed by the earlier run: kept
    ]
    assert json.loads((out / "inpaintkit.json").read_text())["files"] == [
        "cat.png",
        "cat_hole.png",
        "cat_grid.png",
    ]


def test_files_of_the_same_names_are_refused_without_a_record(tmp_path: Path) -> None:
    photo, hole, out = _picture(tmp_path / "cat.png"), _mask(tmp_path / "h.png"), tmp_path / "o"
    out.mkdir()
    (out / "cat_grid.png").write_bytes(b"someone's file")
    assert _error(_run("inpaint", photo, "--mask", hole, *TELEA, "--out", out)) == (
        f"{out} already holds cat_grid.png; give --overwrite to replace them, or choose another "
        "--out"
    )
    assert (out / "cat_grid.png").read_bytes() == b"someone's file"


def test_overwrite_never_removes_an_input_or_a_file_outside(tmp_path: Path) -> None:
    photo, hole, out = _picture(tmp_path / "cat.png"), _mask(tmp_path / "h.png"), tmp_path / "o"
    assert _run("inpaint", photo, "--mask", hole, *TELEA, "--out", out).exit_code == 0
    # the earlier result used as the input of a rerun into the same folder
    again = _run("inpaint", out / "cat.png", "--mask", hole, *TELEA, "--out", out, "--overwrite")
    assert "would replace the input" in _error(again)
    (out / "inpaintkit.json").write_text(json.dumps({"files": ["../cat.png"]}))
    result = _run("inpaint", photo, "--mask", hole, *TELEA, "--out", out, "--overwrite")
    assert _error(result) == (
        f"--overwrite: {out / 'inpaintkit.json'} lists files outside {out}: ../cat.png"
    )
    assert photo.exists()


@pytest.mark.parametrize("where", ["file", "under-file", "proc"])
def test_unwritable_out_fails_at_once_before_any_model(tmp_path: Path, where: str) -> None:
    photo, hole = _picture(tmp_path / "cat.png"), _mask(tmp_path / "h.png")
    (tmp_path / "plain").write_text("a file")
    out = {
        "file": tmp_path / "plain",
        "under-file": tmp_path / "plain" / "sub",
        "proc": Path("/proc/inpaintkit-test/out"),
    }[where]
    # a model that does not exist: the output folder is checked before any model is loaded
    args = ["inpaint", photo, "--mask", hole, "--model", tmp_path / "none.safetensors"]
    message = _error(_run(*args, "--out", out, "--steps", "20", "--no-progress"))
    expected = {
        "file": f"--out must be a folder, but {out} is a file",
        "under-file": f"cannot write to the output folder {out}: Not a directory",
        "proc": f"cannot write to the output folder {out}: No such file or directory",
    }[where]
    assert message == expected


# ---------------------------------------------------------------------------------------------
# formats


def _photo(path: Path, size: int = 96) -> Path:
    """A smooth picture with a little sensor noise, saved as a high-quality JPEG."""
    y, x = np.mgrid[0:size, 0:size] / size
    rng = np.random.default_rng(0)
    base = np.stack([120 + 80 * np.sin(6 * x), 90 + 60 * y, 150 + 50 * np.cos(5 * x * y)], -1)
    pixels = np.clip(base + rng.normal(0, 4, base.shape), 0, 255).astype(np.uint8)
    Image.fromarray(pixels).save(path, quality=95)
    return path


def test_jpeg_input_gives_a_jpeg_smaller_than_png(tmp_path: Path) -> None:
    photo, hole = _photo(tmp_path / "photo.jpg"), _mask(tmp_path / "h.png", 96)
    base = ["inpaint", photo, "--mask", hole, *TELEA]
    assert _run(*base, "--out", tmp_path / "j").exit_code == 0
    assert _run(*base, "--out", tmp_path / "p", "--format", "png").exit_code == 0
    assert _run(*base, "--out", tmp_path / "q", "--quality", "50").exit_code == 0
    jpg, png = tmp_path / "j" / "photo.jpg", tmp_path / "p" / "photo.png"
    assert Image.open(jpg).format == "JPEG" and Image.open(png).format == "PNG"
    assert jpg.stat().st_size < png.stat().st_size / 2
    assert (tmp_path / "q" / "photo.jpg").stat().st_size < jpg.stat().st_size
    files = json.loads((tmp_path / "j" / "inpaintkit.json").read_text())["files"]
    assert files == ["photo.jpg", "photo_hole.png", "photo_grid.png"]  # masks and grids: PNG
    assert _run(*base, "--out", tmp_path / "w", "--format", "webp").exit_code == 0
    assert Image.open(tmp_path / "w" / "photo.webp").format == "WEBP"


def test_format_and_quality_errors(tmp_path: Path) -> None:
    photo, hole = _picture(tmp_path / "cat.png"), _mask(tmp_path / "h.png")
    base = ["inpaint", photo, "--mask", hole, *TELEA, "--out", tmp_path / "o"]
    assert _error(_run(*base, "--format", "bmp")) == (
        "--format must be one of png, jpg, webp, got bmp"
    )
    assert _error(_run(*base, "--format", "jpg", "--quality", "0")) == (
        "--quality must be 1..100, got 0"
    )
    assert _error(_run(*base, "--quality", "80")) == (
        "--quality applies to jpg and webp results, and these results are png; give --format "
        "jpg or --format webp"
    )


def test_dry_run_checks_out_without_creating_it(tmp_path: Path) -> None:
    photo, hole = _picture(tmp_path / "cat.png"), _mask(tmp_path / "h.png")
    (tmp_path / "plain").write_text("a file")
    base = ["inpaint", photo, "--mask", hole, *TELEA, "--dry-run", "--out"]
    assert _error(_run(*base, tmp_path / "plain" / "sub")) == (
        f"cannot create the output folder {tmp_path / 'plain' / 'sub'}: {tmp_path / 'plain'} is "
        "not a writable folder"
    )


def test_photos_beside_the_mask_are_not_taken_for_masks(tmp_path: Path) -> None:
    """One RGB photo beside hole.png and one elsewhere: a normal run, not the shell trap."""
    photo, hole = _picture(tmp_path / "photo1.png", 1), _mask(tmp_path / "hole.png")
    (tmp_path / "other").mkdir()
    other = _picture(tmp_path / "other" / "photo2.png", 2)
    result = _run("inpaint", photo, other, "--mask", hole, *TELEA, "--out", tmp_path / "o")
    assert result.exit_code == 0, result.output
    # ... but a one-channel file beside the mask is a mask, whatever the counts
    extra = _mask(tmp_path / "second_hole.png")
    result = _run("inpaint", other, extra, "--mask", hole, *TELEA, "--out", tmp_path / "p")
    assert _error(result).startswith(
        f"1 of the images are in the folder of the --mask files: {extra}."
    )
    # two photos of one name from two folders
    (tmp_path / "again").mkdir()
    twin = _picture(tmp_path / "again" / "photo2.png", 3)
    result = _run("inpaint", other, twin, "--mask", hole, *TELEA, "--out", tmp_path / "q")
    assert _error(result) == (
        f"images with the same name would write the same outputs: {twin}, {other}"
    )
