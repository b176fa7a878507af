"""Classical baselines without a network (the survey's sections 2.1-2.2): library fills
(Telea, Navier-Stokes, biharmonic, PatchMatch), PDE diffusion, pull-push and exemplar-based
filling."""

from __future__ import annotations

from .criminisi import Exemplar, ExemplarOptions
from .libraries import (
    Biharmonic,
    BiharmonicOptions,
    NavierStokes,
    OpenCVOptions,
    PatchMatch,
    PatchMatchOptions,
    Telea,
)
from .pde import PDEDiffusion, PDEOptions
from .pullpush import PullPush, PullPushOptions

__all__ = [
    "Biharmonic",
    "BiharmonicOptions",
    "Exemplar",
    "ExemplarOptions",
    "NavierStokes",
    "OpenCVOptions",
    "PDEDiffusion",
    "PDEOptions",
    "PatchMatch",
    "PatchMatchOptions",
    "PullPush",
    "PullPushOptions",
    "Telea",
]
