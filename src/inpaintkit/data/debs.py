"""Files out of Debian packages, without installing them: ``apt-get download NAME`` (no root
needed) and ``dpkg -x`` into the cache.

:func:`fetch_deb` keeps one folder of the package (its images, and the plugin metadata beside
them) and the package's copyright file, at their paths inside the package, under
``<cache>/debs/<package>/``. A finished copy carries a marker file naming the folder it kept, so
an interrupted fetch is redone and a cached one is used without apt.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from ..errors import InpaintkitError
from .emoji import default_cache_dir

KEEP_SUFFIXES = (".jpg", ".jpeg", ".png", ".json")
"""What :func:`fetch_deb` keeps from the chosen folder (images; KDE's metadata.json)."""
_MARKER = ".fetched"
_TIMEOUT_S = 900

Runner = Callable[[list[str], Path], None]
"""``run(argv, cwd)``: runs a command, raising CalledProcessError/OSError/TimeoutExpired."""


def deb_root(package: str, cache_dir: Path | None = None) -> Path:
    """``<cache>/debs/<package>``: where :func:`fetch_deb` unpacks ``package``."""
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return root / "debs" / package


def copyright_path(package: str) -> PurePosixPath:
    """The Debian copyright file's path inside ``package``."""
    return PurePosixPath("usr/share/doc") / package / "copyright"


def _run(argv: list[str], cwd: Path) -> None:
    subprocess.run(argv, cwd=cwd, check=True, capture_output=True, text=True, timeout=_TIMEOUT_S)


def fetch_deb(
    package: str,
    folder: str,
    cache_dir: Path | None = None,
    *,
    run: Runner | None = None,
) -> Path:
    """Download (once) and unpack ``package``; return the root of its kept tree.

    folder: the path inside the package (e.g. ``"usr/share/wallpapers"``) whose files ending in
    :data:`KEEP_SUFFIXES` are kept, at their own paths; the copyright file
    (:func:`copyright_path`) is kept too. Everything else is dropped.
    run: how commands run (tests pass a fake; default :mod:`subprocess`).

    Returns ``<cache>/debs/<package>`` (:func:`deb_root`). Raises InpaintkitError naming the
    package and the failed command when apt-get or dpkg is missing, the download fails (no
    Debian/Ubuntu, no network, unknown package) or the package lacks ``folder``.
    """
    target = deb_root(package, cache_dir)
    marker = target / _MARKER
    if marker.is_file() and marker.read_text(encoding="utf-8").strip() == folder:
        return target
    download = ["apt-get", "download", package]
    for tool in ("apt-get", "dpkg"):
        if run is None and shutil.which(tool) is None:
            raise InpaintkitError(
                f"fetching the Debian package {package} runs `{' '.join(download)}` and "
                f"`dpkg -x`, but {tool} is not on PATH (it exists on Debian and Ubuntu); or "
                f"unpack {package}'s {folder} into {target} yourself"
            )
    run = run or _run
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{package}-") as tmp:
        tmp_path = Path(tmp)
        _call(run, download, tmp_path, package)
        debs = sorted(tmp_path.glob(f"{package}_*.deb"))
        if not debs:
            raise InpaintkitError(f"`{' '.join(download)}` wrote no {package}_*.deb file")
        unpack = ["dpkg", "-x", str(debs[0]), str(tmp_path / "x")]
        _call(run, unpack, tmp_path, package)
        source = tmp_path / "x" / folder
        if not source.is_dir():
            raise InpaintkitError(f"the package {package} holds no folder {folder}")
        kept = tmp_path / "kept"
        for path in sorted(source.rglob("*")):
            if path.is_file() and path.suffix.lower() in KEEP_SUFFIXES:
                _move(path, kept / path.relative_to(tmp_path / "x"))
        notice = tmp_path / "x" / copyright_path(package)
        if notice.is_file():
            _move(notice, kept / copyright_path(package))
        (kept / _MARKER).write_text(folder + "\n", encoding="utf-8")
        if target.exists():  # a half-written copy, or one that kept another folder
            shutil.rmtree(target)
        os.replace(kept, target)
    return target


def _call(run: Runner, argv: list[str], cwd: Path, package: str) -> None:
    try:
        run(argv, cwd)
    except subprocess.CalledProcessError as err:
        said = (err.stderr or "").strip()[-500:]
        raise InpaintkitError(
            f"fetching the Debian package {package} failed: `{' '.join(argv)}` exited with "
            f"status {err.returncode} (it needs Debian/Ubuntu's apt sources and network "
            f"access){'; it said: ' + said if said else ''}"
        ) from err
    except (OSError, subprocess.TimeoutExpired) as err:
        raise InpaintkitError(
            f"fetching the Debian package {package} failed: `{' '.join(argv)}`: {err}"
        ) from err


def _move(path: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(path), dest)


__all__ = ["KEEP_SUFFIXES", "copyright_path", "deb_root", "fetch_deb"]
