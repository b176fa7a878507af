"""Inpainting methods behind one protocol (:mod:`.base`), with one option schema and parser
(:mod:`inpaintkit.options`), looked up by name (:mod:`.registry`)."""

from __future__ import annotations

from ..options import OptionError, Options, option, option_schema, parse_options
from .base import ArrayInpainter, Inpainter, Method, Needs, ReferenceMethod, fit_references
from .classical import (
    Biharmonic,
    Exemplar,
    NavierStokes,
    PatchMatch,
    PDEDiffusion,
    Telea,
)
from .conditional import InpaintDDPM
from .diffusion import DDNM, RePaint, RePaintFast, RePaintOptions, RePaintSDEdit
from .feedforward import FeedForward
from .registry import METHODS, build_method, get_method, list_methods
from .strategy import STRATEGIES
from .wrapper import Job, fill_batch, plan_jobs, run_method, sample_seed

__all__ = [
    "DDNM",
    "METHODS",
    "ArrayInpainter",
    "Biharmonic",
    "Exemplar",
    "FeedForward",
    "InpaintDDPM",
    "Inpainter",
    "Job",
    "Method",
    "NavierStokes",
    "Needs",
    "OptionError",
    "Options",
    "PDEDiffusion",
    "PatchMatch",
    "RePaint",
    "RePaintFast",
    "RePaintOptions",
    "RePaintSDEdit",
    "STRATEGIES",
    "ReferenceMethod",
    "Telea",
    "build_method",
    "fill_batch",
    "fit_references",
    "get_method",
    "list_methods",
    "option",
    "option_schema",
    "parse_options",
    "plan_jobs",
    "run_method",
    "sample_seed",
]
