"""Inpainting methods behind one protocol, looked up by name."""

from __future__ import annotations

from ..errors import InpaintkitError
from .ablations import RePaintSDEdit
from .base import ArrayInpainter, Inpainter, Job, run_inpainter
from .classical import Biharmonic, NavierStokes, PatchMatch, Telea
from .criminisi import Exemplar
from .pde import PDEDiffusion
from .repaint import RePaint, RePaintOptions

METHODS: dict[str, type] = {"repaint": RePaint}
METHODS["repaint-sdedit"] = RePaintSDEdit  # RePaint paper Table 4 ablation (methods/ablations.py)
for _baseline in (Telea, NavierStokes, Biharmonic, PatchMatch, PDEDiffusion, Exemplar):
    METHODS[_baseline.name] = _baseline  # classical baselines (classical.py, pde.py, criminisi.py)


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
