"""Inpainting methods behind one protocol, looked up by name."""

from __future__ import annotations

from ..errors import InpaintkitError
from .ablations import RePaintSDEdit
from .base import ArrayInpainter, Inpainter
from .classical import Biharmonic, NavierStokes, PatchMatch, Telea
from .criminisi import Exemplar
from .fast import DDNM, RePaintFast
from .pde import PDEDiffusion
from .repaint import RePaint, RePaintOptions
from .strategy import STRATEGIES
from .wrapper import Job, fill_batch, plan_jobs, run_inpainter, run_method, sample_seed

# RePaint and its Table 4 ablation, the fast samplers (about 230 NFE), then the survey's
# classical baselines (sections 2.1-2.2)
_ALL = (
    RePaint,
    RePaintSDEdit,
    RePaintFast,
    DDNM,
    Telea,
    NavierStokes,
    Biharmonic,
    PatchMatch,
    PDEDiffusion,
    Exemplar,
)
METHODS: dict[str, type] = {cls.name: cls for cls in _ALL}


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
    "STRATEGIES",
    "fill_batch",
    "get_method",
    "plan_jobs",
    "run_inpainter",
    "run_method",
    "sample_seed",
]
