"""inpaintkit's natural-photo set: real photographs that exist offline, split by scene.

Sources: the Debian packages mate-backgrounds (usr/share/backgrounds), plasma-workspace-wallpapers
(usr/share/wallpapers) and opencv-doc (OpenCV's examples/data), fetched with ``apt-get
download`` and unpacked with ``dpkg -x`` into the cache (:func:`~inpaintkit.data.debs.fetch_deb`),
and scikit-image's bundled photos (read where scikit-image is installed).

Which files count is the committed list ``photo_files.txt`` (``<package> <path> <scene>``; its
header says what was left out and why): 54 colour photographs of 47 scenes. Photos of one scene
(leuvenA/B, aloeL/R, graf1/3, rubberwhale1/2, aero1/3, OpenCV's left/right, motorcycle
left/right) share a scene id. The test split is the scenes in ``photo_test_scenes.txt``: per
source, round(20%) of its scenes, drawn once by :func:`draw_scenes` (seed :data:`SPLIT_SEED`)
and committed; "train" is every other scene, so no scene is on both sides. The tuning split,
``photo_tune_scenes.txt``, is a part of "train" drawn the same way (round(15%) of each source's
training scenes, seed :data:`TUNE_SEED`): choices between trainings are made on it, so the test
scenes are looked at once. "fit" is "train" without "tune" (the emoji set's splits, same names).
Nothing here draws random numbers at run time.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from ..errors import InpaintkitError
from .debs import fetch_deb
from .photos import OPENCV_DATA, OPENCV_PACKAGE, read_photo

PHOTO_FILES = "photo_files.txt"
TEST_SCENES_FILE = "photo_test_scenes.txt"
TUNE_SCENES_FILE = "photo_tune_scenes.txt"
SPLITS = ("train", "test", "all", "tune", "fit")
SPLIT_SEED = 20261129
TEST_FRACTION = 0.2
TUNE_SEED = SPLIT_SEED + 1
TUNE_FRACTION = 0.15
SKIMAGE = "scikit-image"
PACKAGE_FOLDERS: dict[str, str] = {
    "mate-backgrounds": "usr/share/backgrounds",
    "plasma-workspace-wallpapers": "usr/share/wallpapers",
    OPENCV_PACKAGE: OPENCV_DATA,
}
"""Debian package -> the folder inside it that :func:`fetch_photo_files` keeps."""

Fetcher = Callable[[str, str, Path | None], Path]
"""``fetch(package, folder, cache_dir) -> root of the unpacked tree`` (default: fetch_deb)."""


@dataclass(frozen=True)
class PhotoFile:
    """One listed photo: its package, its path inside it, its scene id ("<source>/<name>") and
    a file-name-safe name (the scene, plus the file's stem when the scene has several)."""

    package: str
    path: str
    scene: str
    name: str


def parse_photo_files(text: str) -> list[PhotoFile]:
    """The entries of a photo list (``<package> <path> <scene>`` per line, ``#`` comments).
    InpaintkitError for a malformed line, a repeated file or an unknown package."""
    rows: list[tuple[str, str, str]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 3 or "/" not in parts[2]:
            raise InpaintkitError(
                f"photo list line {number}: expected '<package> <path> <source>/<scene>', got "
                f"{line.strip()!r}"
            )
        if parts[0] != SKIMAGE and parts[0] not in PACKAGE_FOLDERS:
            valid = sorted([*PACKAGE_FOLDERS, SKIMAGE])
            raise InpaintkitError(
                f"photo list line {number}: unknown package {parts[0]!r}; choose one of {valid}"
            )
        rows.append((parts[0], parts[1], parts[2]))
    keys = [(package, path) for package, path, _ in rows]
    if len(set(keys)) != len(keys):
        twice = sorted({k for k in keys if keys.count(k) > 1})
        raise InpaintkitError(f"the photo list names these files twice: {twice}")
    sizes = {scene: sum(r[2] == scene for r in rows) for _, _, scene in rows}
    return [
        PhotoFile(package, path, scene, _name(scene, path, sizes[scene] > 1))
        for package, path, scene in rows
    ]


def _name(scene: str, path: str, several: bool) -> str:
    base = scene.replace("/", "-")
    return f"{base}-{Path(path).stem}" if several else base


def _committed(file_name: str) -> str:
    return resources.files(__package__).joinpath(file_name).read_text(encoding="utf-8")


def photo_files() -> list[PhotoFile]:
    """The committed list (``photo_files.txt``), in file order."""
    return parse_photo_files(_committed(PHOTO_FILES))


def _committed_scenes(file_name: str) -> frozenset[str]:
    text = _committed(file_name)
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def heldout_scenes() -> frozenset[str]:
    """The committed test scenes (``photo_test_scenes.txt``)."""
    return _committed_scenes(TEST_SCENES_FILE)


def tune_scenes() -> frozenset[str]:
    """The committed tuning scenes (``photo_tune_scenes.txt``; training scenes)."""
    return _committed_scenes(TUNE_SCENES_FILE)


def draw_scenes(
    scenes: Sequence[str], seed: int = SPLIT_SEED, fraction: float = TEST_FRACTION
) -> list[str]:
    """The draw that made ``photo_test_scenes.txt`` from every scene, and
    ``photo_tune_scenes.txt`` from the training scenes with :data:`TUNE_SEED` and
    :data:`TUNE_FRACTION` (kept to re-check them): for each source
    ("mate", "opencv"...: the part of the scene id before "/"), in sorted order, round(fraction
    x its scene count) of its sorted scenes by ``rng.choice(n, k, replace=False)`` with one
    ``numpy.random.default_rng(seed)``. Returns the chosen scenes, sorted."""
    rng = np.random.default_rng(seed)
    by_source: dict[str, list[str]] = {}
    for scene in sorted(set(scenes)):
        by_source.setdefault(scene.split("/")[0], []).append(scene)
    chosen: list[str] = []
    for source in sorted(by_source):
        group = by_source[source]
        k = round(fraction * len(group))
        chosen += [group[i] for i in rng.choice(len(group), k, replace=False)]
    return sorted(chosen)


def split_files(split: str, files: Sequence[PhotoFile] | None = None) -> list[PhotoFile]:
    """The entries of ``files`` (default: the committed list) in ``split``, order kept: "test"
    (scene in :func:`heldout_scenes`), "train" (the others), "tune" (scene in
    :func:`tune_scenes`), "fit" ("train" without "tune") or "all"."""
    if split not in SPLITS:
        raise InpaintkitError(f"unknown photo split {split!r}; choose one of {SPLITS}")
    files = photo_files() if files is None else list(files)
    if split == "all":
        return files
    test, tune = heldout_scenes(), tune_scenes()
    keep = {
        "test": lambda scene: scene in test,
        "train": lambda scene: scene not in test,
        "tune": lambda scene: scene in tune,
        "fit": lambda scene: scene not in test and scene not in tune,
    }[split]
    return [f for f in files if keep(f.scene)]


def _skimage_root() -> Path:
    spec = importlib.util.find_spec("skimage")
    if spec is None or spec.origin is None:
        raise InpaintkitError("the photo set's scikit-image photos need scikit-image installed")
    return Path(spec.origin).parent.parent


def fetch_photo_files(
    files: Sequence[PhotoFile],
    cache_dir: Path | None = None,
    *,
    progress: Callable[[str], None] | None = None,
    fetch: Fetcher | None = None,
) -> list[Path]:
    """The local path of each of ``files``, fetching each Debian package once (apt-get
    download + dpkg -x into the cache; a cached copy is used without apt). ``progress`` gets
    one line per package. InpaintkitError from the fetch (naming the package and the failed
    command), or when a listed file is not in its package."""
    fetch = fetch or fetch_deb
    roots: dict[str, Path] = {}
    for package in dict.fromkeys(f.package for f in files):
        if package == SKIMAGE:
            roots[package] = _skimage_root()
            if progress:
                progress(f"{package}: bundled photos in {roots[package] / 'skimage' / 'data'}")
            continue
        if progress:
            progress(f"{package}: apt-get download + dpkg -x (cached after the first time)")
        roots[package] = fetch(package, PACKAGE_FOLDERS[package], cache_dir)
        if progress:
            count = sum(f.package == package for f in files)
            progress(f"{package}: {count} listed photos in {roots[package]}")
    paths = [roots[f.package] / f.path for f in files]
    missing = [f"{f.package}:{f.path}" for f, p in zip(files, paths) if not p.is_file()]
    if missing:
        raise InpaintkitError(
            f"{len(missing)} listed photos are not in their packages (another package "
            f"version?): {missing[:5]}"
        )
    return paths


def photo_paths(
    split: str = "train", cache_dir: Path | None = None, *, fetch: Fetcher | None = None
) -> list[tuple[PhotoFile, Path]]:
    """[(entry, local file)] of one split (:data:`SPLITS`), fetched on first use."""
    files = split_files(split)
    return list(zip(files, fetch_photo_files(files, cache_dir, fetch=fetch)))


@dataclass(frozen=True)
class PhotoScene:
    """A held-out photo for evaluation: its name, scene id and pixels (uint8 [H, W, 3])."""

    name: str
    scene: str
    image: np.ndarray


def load_photo_scenes(
    split: str = "test",
    max_side: int = 1024,
    cache_dir: Path | None = None,
    *,
    fetch: Fetcher | None = None,
) -> list[PhotoScene]:
    """The photos of ``split`` (default the held-out "test" scenes) at their own resolution
    and aspect ratio, scaled down (never up) so the long side is at most ``max_side``
    (default 1024: the wallpapers' 2560x1600 become 1024x640; OpenCV's and scikit-image's
    photos, 640x480 and smaller, stay as they are). In list order, one per file."""
    if max_side < 1:
        raise InpaintkitError(f"max_side must be >= 1, got {max_side}")
    return [
        PhotoScene(entry.name, entry.scene, read_photo(path, long_max=max_side))
        for entry, path in photo_paths(split, cache_dir, fetch=fetch)
    ]


__all__ = [
    "PACKAGE_FOLDERS",
    "SPLITS",
    "SPLIT_SEED",
    "PhotoFile",
    "PhotoScene",
    "draw_scenes",
    "fetch_photo_files",
    "load_photo_scenes",
    "parse_photo_files",
    "photo_files",
    "photo_paths",
    "heldout_scenes",
    "tune_scenes",
    "split_files",
]
