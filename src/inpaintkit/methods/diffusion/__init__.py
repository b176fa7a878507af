"""Methods on an unconditional (or class-conditional) diffusion prior: RePaint, its Table 4
ablation and the fast samplers (DDNM+, RePaint on a short schedule)."""

from __future__ import annotations

from .ablations import RePaintSDEdit, SDEditOptions
from .budget import BUDGET_MIN_STEPS, choose_walk
from .fast import DDNM, DDNMOptions, RePaintFast, RePaintFastOptions
from .repaint import RePaint, RePaintOptions, WalkOptions

__all__ = [
    "BUDGET_MIN_STEPS",
    "DDNM",
    "DDNMOptions",
    "RePaint",
    "RePaintFast",
    "RePaintFastOptions",
    "RePaintOptions",
    "RePaintSDEdit",
    "SDEditOptions",
    "WalkOptions",
    "choose_walk",
]
