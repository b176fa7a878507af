"""The results of one server: a folder of per-job subfolders with a size cap and an expiry.

Layout: ``ROOT/<job id>/input.png``, ``hole.png`` (white = hole) and ``result-<k>.png``. Job ids
are 32 hex digits and file names match :data:`NAME_RE`; anything else is refused before a path
is built, and a built path must lie inside ROOT, so no route reaches a file outside it
(``..``, encoded slashes, absolute names, symlinks). Files are written atomically; nothing
the user uploaded is ever written back to where it came from.

:meth:`ResultsStore.sweep` removes jobs older than ``max_age_s``, then the oldest jobs while the
folder holds more than ``max_bytes``. It runs after every save and whenever a result is asked
for, with the store's clock (tests pass a fake one).
"""

from __future__ import annotations

import io
import re
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from ..io import atomic_write
from .errors import WebError

ID_RE = re.compile(r"[0-9a-f]{32}")
NAME_RE = re.compile(r"(input|hole|result-[0-9]{1,3})\.png")
KEEP_EVICTED = 10_000
"""Ids of removed jobs remembered, to say why their files are gone."""


def png_bytes(image: Image.Image) -> bytes:
    """``image`` encoded as PNG (lossless: known pixels stay exact)."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def check_id(job_id: str) -> str:
    """``job_id`` if it is 32 hex digits, else WebError 404 (no such job)."""
    if not ID_RE.fullmatch(job_id or ""):
        raise WebError(404, f"no job {job_id!r} (a job id is 32 hex digits)", field="id")
    return job_id


@dataclass
class Entry:
    """One job's files: when they were made and their total size in bytes."""

    created: float
    size: int


class ResultsStore:
    """Per-job result files under ``root`` with a size cap and an expiry.

    max_bytes: the folder's cap; max_age_s: how long a job's files live; clock: seconds (time.time
    by default). An existing root is adopted: its job folders count, dated by modification time.
    """

    def __init__(
        self,
        root: str | Path,
        *,
        max_bytes: int,
        max_age_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.max_bytes, self.max_age_s, self.clock = max_bytes, max_age_s, clock
        self._lock = threading.Lock()
        self._entries: dict[str, Entry] = {}
        for folder in sorted(self.root.iterdir()):
            if folder.is_dir() and ID_RE.fullmatch(folder.name):
                files = [p for p in folder.iterdir() if p.is_file()]
                size = sum(p.stat().st_size for p in files)
                self._entries[folder.name] = Entry(folder.stat().st_mtime, size)
        self.evicted: dict[str, str] = {}  # job id -> why its files went ("expired", "size cap")

    def save(self, job_id: str, files: dict[str, bytes]) -> list[str]:
        """Write ``files`` (name -> bytes) for ``job_id``; returns the names, then sweeps (the
        job just saved is the newest, so the size cap removes older jobs first; a single job
        larger than the cap is removed too, and its files are reported as gone)."""
        check_id(job_id)
        for name in files:
            if not NAME_RE.fullmatch(name):
                raise ValueError(f"bad result file name {name!r}")
        folder = self.root / job_id
        folder.mkdir(exist_ok=True)
        for name, data in files.items():
            atomic_write(folder / name, lambda tmp, data=data: Path(tmp).write_bytes(data))
        with self._lock:
            self._entries[job_id] = Entry(self.clock(), sum(len(d) for d in files.values()))
        self.sweep()
        return list(files)

    def path(self, job_id: str, name: str) -> Path:
        """The file ``name`` of ``job_id``, or WebError: 404 for an unknown job, a bad or
        missing name, or files removed by the expiry or the size cap (the message says which)."""
        check_id(job_id)
        if not NAME_RE.fullmatch(name or ""):
            raise WebError(404, f"no result file {name!r}", field="name")
        self.sweep()
        with self._lock:
            known = job_id in self._entries
        if not known:
            why = self.evicted.get(job_id)
            detail = f"the results of job {job_id} were removed ({why})" if why else "no results"
            raise WebError(404, detail, field="id")
        path = (self.root / job_id / name).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            raise WebError(404, f"no result file {name!r} for job {job_id}", field="name")
        return path

    def sweep(self) -> list[str]:
        """Remove expired jobs, then the oldest while over the size cap; returns their ids."""
        now = self.clock()
        gone: list[tuple[str, str]] = []
        with self._lock:
            for job_id, entry in sorted(self._entries.items(), key=lambda kv: kv[1].created):
                if now - entry.created >= self.max_age_s:
                    gone.append((job_id, "expired"))
            for job_id, _ in gone:
                del self._entries[job_id]
            total = sum(e.size for e in self._entries.values())
            for job_id, entry in sorted(self._entries.items(), key=lambda kv: kv[1].created):
                if total <= self.max_bytes:
                    break
                gone.append((job_id, "size cap"))
                total -= entry.size
                del self._entries[job_id]
            for job_id, why in gone:
                self.evicted[job_id] = why
            for job_id in list(self.evicted)[: max(0, len(self.evicted) - KEEP_EVICTED)]:
                del self.evicted[job_id]  # oldest first: dicts keep insertion order
        for job_id, _ in gone:
            shutil.rmtree(self.root / job_id, ignore_errors=True)
        return [job_id for job_id, _ in gone]

    def total_bytes(self) -> int:
        """Bytes of every job's files the store holds."""
        with self._lock:
            return sum(e.size for e in self._entries.values())

    def __contains__(self, job_id: str) -> bool:
        with self._lock:
            return job_id in self._entries
