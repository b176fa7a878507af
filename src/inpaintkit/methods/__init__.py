"""Inpainting methods behind one protocol, looked up by name."""

from __future__ import annotations

from ..errors import InpaintkitError
from .base import ArrayInpainter, Inpainter, Job, run_inpainter
from .repaint import RePaint, RePaintOptions

METHODS: dict[str, type] = {"repaint": RePaint}


def get_method(name: str) -> type:
    """The method class registered under ``name``."""
    try:
        return METHODS[name]
    except KeyError:
        raise InpaintkitError(f"unknown method {name!r}; choose one of {sorted(METHODS)}") from None


__all__ = [
    "METHODS",
    "ArrayInpainter",
    "Inpainter",
    "Job",
    "RePaint",
    "RePaintOptions",
    "get_method",
    "run_inpainter",
]
