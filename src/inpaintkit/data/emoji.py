"""The emoji training data: 64x64 RGBA PNGs from the npm package ``emoji-datasource-<style>``.

The package (iamcal/emoji-data, 16.0.0) holds ``emoji.json`` and ``img/<style>/64/*.png``. For the
google style that is 3786 PNGs: 1911 base emoji plus 1875 skin-tone variants. ``emoji.json`` lists
each base emoji (its ``unified`` code, e.g. ``"1F385"``) with its ``skin_variations``; every PNG is
mapped to its BASE id so that a train/test split by base id keeps near-duplicate variants together.

The split is fixed: the base ids in ``emoji_test_ids.txt`` (190 of the 1911 google base ids, 10%
of each category, drawn once with ``numpy.random.default_rng(20261121)`` and committed) are the
test split; the rest is "train". Inside "train", the 86 base ids of ``emoji_tune_ids.txt`` (5%,
drawn once and committed) are the "tune" split for choosing between recipes, and "fit" is "train"
without them. The split is by BASE id and the same in every style (all styles list the same
emoji), so a test base is never seen in any style. Nothing here draws random numbers at run time.

Images: google (Noto Emoji) Apache-2.0; twitter (Twemoji) CC-BY-4.0; facebook: the package is
MIT, the images are Meta's (the emoji-data README: used as the platforms' own emoji); inpaintkit
uses that style only to MEASURE how far a prior generalises, never to train a shipped model.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import InpaintkitError

EMOJI_VERSION = "16.0.0"
STYLES = ("google", "twitter", "facebook")
SPLITS = ("train", "test", "all", "tune", "fit")
SIZES = (32, 64)
TEST_IDS_FILE = "emoji_test_ids.txt"
TUNE_IDS_FILE = "emoji_tune_ids.txt"


@dataclass(frozen=True)
class EmojiFile:
    """One PNG of the package: its file name, its own unified id, its base emoji's id and name."""

    image: str
    unified: str
    base: str
    name: str


def default_cache_dir() -> Path:
    """``$INPAINTKIT_CACHE`` if set, else ``~/.cache/inpaintkit``."""
    env = os.environ.get("INPAINTKIT_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "inpaintkit"


def _check_style(style: str) -> None:
    if style not in STYLES:
        raise InpaintkitError(f"unknown emoji style {style!r}; choose one of {STYLES}")


def _package_dir(style: str, cache_dir: Path | None) -> Path:
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return root / "emoji" / f"emoji-datasource-{style}-{EMOJI_VERSION}"


def fetch_emoji(style: str = "google", cache_dir: Path | None = None) -> Path:
    """Download (once) and unpack ``emoji-datasource-<style>@16.0.0``; return its 64x64 PNG folder.

    Runs ``npm pack`` in a temporary folder under the cache dir (default :func:`default_cache_dir`)
    and keeps only ``emoji.json``, the licence/readme and ``img/<style>/64/`` (about 6 MB of 78 MB)
    under ``<cache>/emoji/emoji-datasource-<style>-16.0.0/``. A cached copy is reused without any
    network access. Raises InpaintkitError when npm is missing or the registry cannot be reached.

    Returns: the folder ``.../img/<style>/64`` holding the RGBA PNGs.
    """
    _check_style(style)
    target = _package_dir(style, cache_dir)
    images = target / "img" / style / "64"
    if (target / "emoji.json").is_file() and images.is_dir():
        return images
    npm = shutil.which("npm")
    if npm is None:
        raise InpaintkitError(
            "the emoji data comes from the npm registry and needs `npm` (Node.js) on PATH; "
            "install it (e.g. `apt-get install npm`) or unpack "
            f"emoji-datasource-{style}-{EMOJI_VERSION}.tgz so that {images} exists"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    spec = f"emoji-datasource-{style}@{EMOJI_VERSION}"
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".fetch-") as tmp:
        tmp_path = Path(tmp)
        try:
            proc = subprocess.run(
                [npm, "pack", spec, "--silent"],
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=600,
            )
        except (OSError, subprocess.TimeoutExpired) as err:
            raise InpaintkitError(f"`npm pack {spec}` failed: {err}") from err
        tarballs = sorted(tmp_path.glob("*.tgz"))
        if proc.returncode != 0 or not tarballs:
            raise InpaintkitError(
                f"`npm pack {spec}` failed (exit {proc.returncode}); it needs the npm registry "
                f"(network access). npm said: {proc.stderr.strip()[-500:]}"
            )
        unpacked = tmp_path / "unpacked"
        _extract_needed(tarballs[0], unpacked, style)
        if (
            not (unpacked / "emoji.json").is_file()
            or not (unpacked / "img" / style / "64").is_dir()
        ):
            raise InpaintkitError(
                f"{spec} does not have the expected layout (emoji.json, img/{style}/64/)"
            )
        if target.exists():  # a half-written copy from an interrupted run
            shutil.rmtree(target)
        os.replace(unpacked, target)
    return images


def _extract_needed(tarball: Path, dest: Path, style: str) -> None:
    """Extract package/{emoji.json,LICENSE,README.md,img/<style>/64/*} from the npm tarball."""
    keep_files = {"package/emoji.json", "package/LICENSE", "package/README.md"}
    image_prefix = f"package/img/{style}/64/"
    with tarfile.open(tarball, "r:gz") as tar:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            if member.name not in keep_files and not member.name.startswith(image_prefix):
                continue
            relative = Path(member.name).relative_to("package")
            if ".." in relative.parts:
                continue
            out = dest / relative
            out.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            if source is None:
                continue
            with source, open(out, "wb") as f:
                shutil.copyfileobj(source, f)


def emoji_index(images_dir: Path) -> list[EmojiFile]:
    """Every PNG in ``images_dir`` with its base emoji, in sorted file-name order.

    ``images_dir`` is what :func:`fetch_emoji` returns; ``emoji.json`` is read from three levels up
    (the package root). A PNG that ``emoji.json`` does not list raises InpaintkitError.
    """
    images_dir = Path(images_dir)
    meta_file = images_dir.parents[2] / "emoji.json"
    try:
        entries = json.loads(meta_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise InpaintkitError(f"cannot read the emoji metadata {meta_file}: {err}") from err
    by_image: dict[str, EmojiFile] = {}
    for entry in entries:
        base, name = entry["unified"], entry.get("name") or entry.get("short_name", "")
        by_image[entry["image"]] = EmojiFile(entry["image"], base, base, name)
        for variant in (entry.get("skin_variations") or {}).values():
            by_image[variant["image"]] = EmojiFile(variant["image"], variant["unified"], base, name)
    files = sorted(p.name for p in images_dir.glob("*.png"))
    if not files:
        raise InpaintkitError(f"no PNG files in {images_dir}")
    unknown = [f for f in files if f not in by_image]
    if unknown:
        raise InpaintkitError(f"{len(unknown)} PNGs not listed in {meta_file}: {unknown[:3]}")
    return [by_image[f] for f in files]


def _committed_ids(file_name: str) -> frozenset[str]:
    text = resources.files(__package__).joinpath(file_name).read_text(encoding="utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def heldout_base_ids() -> frozenset[str]:
    """The committed test-split base ids (upper-case unified codes, e.g. ``"1F98A"``)."""
    return _committed_ids(TEST_IDS_FILE)


def tune_base_ids() -> frozenset[str]:
    """The committed tune-split base ids (a part of "train", disjoint from the test split)."""
    return _committed_ids(TUNE_IDS_FILE)


def split_index(index: list[EmojiFile], split: str) -> list[EmojiFile]:
    """The entries of ``index`` in ``split``, order kept: "test" (BASE id in
    :func:`heldout_base_ids`), "train" (the others), "tune" (BASE id in :func:`tune_base_ids`),
    "fit" ("train" without "tune") or "all".
    """
    if split not in SPLITS:
        raise InpaintkitError(f"unknown split {split!r}; choose one of {SPLITS}")
    if split == "all":
        return list(index)
    test, tune = heldout_base_ids(), tune_base_ids()
    if split == "test":
        return [e for e in index if e.base in test]
    if split == "tune":
        return [e for e in index if e.base in tune]
    if split == "fit":
        return [e for e in index if e.base not in test and e.base not in tune]
    return [e for e in index if e.base not in test]


def composite_on_white(rgba: np.ndarray) -> np.ndarray:
    """Alpha-composite uint8 [H, W, 4] (straight alpha) over white; returns uint8 [H, W, 3].

    out = rgb * a + 255 * (1 - a), a = alpha / 255, rounded to nearest. Alpha 0 gives exactly 255.
    """
    if rgba.ndim != 3 or rgba.shape[2] != 4 or rgba.dtype != np.uint8:
        raise InpaintkitError(f"expected uint8 [H, W, 4] RGBA, got {rgba.dtype} {rgba.shape}")
    rgb = rgba[..., :3].astype(np.float32)
    alpha = rgba[..., 3:].astype(np.float32) / 255.0
    out = rgb * alpha + 255.0 * (1.0 - alpha)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def read_rgb_on_white(path: Path, size: int | None = None) -> np.ndarray:
    """Read an image file as uint8 [H, W, 3], alpha composited on white; LANCZOS-resized to
    ``size`` x ``size`` when given and different (the image must then be square)."""
    with Image.open(path) as im:
        rgba = np.asarray(im.convert("RGBA"))
    rgb = composite_on_white(rgba)
    if size is not None and rgb.shape[:2] != (size, size):
        if rgb.shape[0] != rgb.shape[1]:
            raise InpaintkitError(f"{path}: expected a square image, got {rgb.shape[:2]}")
        rgb = np.asarray(Image.fromarray(rgb).resize((size, size), Image.Resampling.LANCZOS))
    return rgb


def load_emoji(
    style: str = "google",
    split: str = "train",
    size: int = 64,
    cache_dir: Path | None = None,
) -> np.ndarray:
    """The emoji images of one split as uint8 [N, size, size, 3], composited on white.

    style: "google" (default), "twitter" or "facebook". split: "train" (default), "test",
    "tune", "fit" or "all"; by base id (skin-tone variants follow their base). size: 64
    (native, default) or 32 (PIL LANCZOS).
    Sorted file-name order. Fetches the package with npm on first use (:func:`fetch_emoji`).
    Google and twitter: all 3786, test 380 (190 bases + variants), train 3406 (1721 bases).
    """
    if size not in SIZES:
        raise InpaintkitError(f"unsupported emoji size {size}; choose one of {SIZES}")
    images_dir = fetch_emoji(style, cache_dir)
    entries = split_index(emoji_index(images_dir), split)
    if not entries:
        raise InpaintkitError(f"the {split!r} split of the {style} emoji is empty")
    return np.stack([read_rgb_on_white(images_dir / e.image, size) for e in entries])
