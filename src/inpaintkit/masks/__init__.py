"""Hole masks: seeded generators (strokes, boxes, rectangles, the paper's fixed settings), a mixer,
named presets, and today's ``make_hole`` / ``make_holes`` over MASK_KINDS.

Every mask is numpy bool [H, W], True = HOLE (pixel to inpaint).
"""

from .generators import (
    Boxes,
    FixedHoles,
    HoleGenerator,
    LamaHoles,
    MixedHoles,
    Rectangles,
    Strokes,
)
from .kinds import (
    DETERMINISTIC_KINDS,
    MASK_KINDS,
    MIN_SIZE,
    hole_fraction,
    make_hole,
    make_holes,
    make_rng,
    parse_size,
)
from .presets import HOLE_PRESETS, PAPER_SIX, get_holes

__all__ = [
    "DETERMINISTIC_KINDS",
    "HOLE_PRESETS",
    "MASK_KINDS",
    "MIN_SIZE",
    "PAPER_SIX",
    "Boxes",
    "FixedHoles",
    "HoleGenerator",
    "LamaHoles",
    "MixedHoles",
    "Rectangles",
    "Strokes",
    "get_holes",
    "hole_fraction",
    "make_hole",
    "make_holes",
    "make_rng",
    "parse_size",
]
