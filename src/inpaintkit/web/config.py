"""The settings of one server: where it listens, which model it runs, and its limits."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InpaintkitError

LOOPBACK = "127.0.0.1"
MIB = 1024 * 1024


@dataclass
class ServerConfig:
    """Everything :func:`inpaintkit.web.create_app` needs.

    host/port: where ``inpaintkit serve`` listens (127.0.0.1 by default: only this machine).
    model: what methods that need a model run: a load_model spec or a loaded model; None gives
        each method its own default (the embedded prior for prior methods). A method that needs
        another kind than this model's falls back to its own default.
    device: torch device of the methods. workers: jobs that run at once (threads).
    max_queue: jobs that may wait for a worker; one more is refused with 429 and Retry-After.
    max_upload_bytes: largest uploaded file (image or mask); larger is 413.
    max_megapixels: largest image (width * height / 1e6), read from the file's header before
        anything is decoded; larger is 413 (decompression bombs included).
    max_samples: largest K per job.
    results_dir: the folder of this server's results (None: a fresh temporary folder, removed
        when the app shuts down). results_max_bytes: size cap of that folder (oldest jobs go
        first); results_max_age_s: a job's results are removed this long after they were made.
    studies: study folders (``inpaintkit study create``) served under /study/{id}.
    preview_interval_s: at most one x0 preview per job per this many seconds.
    clock: seconds since the epoch (tests pass a fake one).
    """

    host: str = LOOPBACK
    port: int = 8000
    model: object | None = None
    device: str = "cpu"
    workers: int = 1
    max_queue: int = 16
    max_upload_bytes: int = 32 * MIB
    max_megapixels: float = 16.0
    max_samples: int = 8
    results_dir: Path | None = None
    results_max_bytes: int = 512 * MIB
    results_max_age_s: float = 3600.0
    studies: tuple[Path, ...] = ()
    preview_interval_s: float = 0.5
    clock: Callable[[], float] = field(default=time.time, repr=False)

    def __post_init__(self) -> None:
        for name in ("workers", "max_queue", "max_upload_bytes", "max_samples"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InpaintkitError(f"{name} must be a whole number >= 1, got {value!r}")
        for name in ("max_megapixels", "results_max_age_s", "results_max_bytes"):
            if not getattr(self, name) > 0:
                raise InpaintkitError(f"{name} must be > 0, got {getattr(self, name)!r}")
        if not 0 <= self.port <= 65535:
            raise InpaintkitError(f"port must be in 0..65535, got {self.port}")
        self.studies = tuple(Path(p) for p in self.studies)

    @property
    def max_pixels(self) -> int:
        """The megapixel cap in pixels."""
        return int(self.max_megapixels * 1e6)


def is_loopback(host: str) -> bool:
    """True when ``host`` only accepts connections from this machine (127.0.0.0/8, ::1,
    localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str) -> str | None:
    """The warning for a server bound to ``host``, or None when only this machine can reach it."""
    if is_loopback(host):
        return None
    return (
        f"listening on {host}: anyone who can reach this machine can upload images and run "
        "methods on it (there is no authentication); bind 127.0.0.1 to keep it local"
    )
