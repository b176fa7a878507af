"""Check a device name before anything is loaded onto it: one clear error, not a traceback."""

from __future__ import annotations

import re

import torch

from ..errors import InpaintkitError

VALID_FORMS = "cpu, cuda, cuda:N (e.g. cuda:1), mps"
_DEVICE = re.compile(r"^(cpu|mps|cuda)(:(\d+))?$")


def check_device(device: str) -> str:
    """Return ``device`` when torch can use it here, else raise InpaintkitError saying why.

    Valid forms: ``cpu``, ``cuda``, ``cuda:N``, ``mps``. A CUDA device on a CPU-only torch
    build, a CUDA index past the GPUs present, or an unavailable MPS are refused with the way
    out (``--device cpu``)."""
    name = str(device).strip()
    match = _DEVICE.match(name)
    if match is None:
        raise InpaintkitError(f"unknown device {device!r}; valid: {VALID_FORMS}")
    kind, index = match.group(1), match.group(3)
    if kind == "cpu":
        if index not in (None, "0"):
            raise InpaintkitError(f"device {device!r}: the CPU has only index 0; use --device cpu")
        return name
    if kind == "mps":
        backend = getattr(torch.backends, "mps", None)
        if backend is None or not backend.is_available():
            raise InpaintkitError(
                "MPS is not available here (it needs Apple silicon and a torch built with MPS); "
                "use --device cpu"
            )
        return name
    if not torch.cuda.is_available():
        if torch.version.cuda is None:
            raise InpaintkitError(
                "CUDA is not available in this torch build (CPU only); use --device cpu"
            )
        raise InpaintkitError(
            f"CUDA is not available: torch {torch.__version__} was built for CUDA "
            f"{torch.version.cuda} but finds no GPU (driver?); use --device cpu"
        )
    count = torch.cuda.device_count()
    if index is not None and int(index) >= count:
        raise InpaintkitError(
            f"device {device!r}: this machine has {count} CUDA device(s) (cuda:0..cuda:{count - 1})"
        )
    return name
