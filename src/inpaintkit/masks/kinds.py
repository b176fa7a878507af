"""Named hole masks: ``make_hole(kind, size, seed=...)`` over MASK_KINDS (the bench's masks).

Every function returns a HOLE mask: numpy bool [H, W], True = pixel to inpaint (DESIGN rule 4;
`io.hole_to_keep` turns it into the library's `keep` tensor). The generators behind the names
are in :mod:`inpaintkit.masks.presets`.
"""

from __future__ import annotations

import numpy as np

from ..errors import InpaintkitError
from .generators import FIXED_KINDS
from .presets import HOLE_PRESETS

MASK_KINDS: tuple[str, ...] = (
    "wide",
    "narrow",
    "sr2x",
    "altlines",
    "half",
    "expand",
    "thin",
    "medium",
    "thick",
    "box",
)
"""All valid `kind` names: the six RePaint paper settings first, then LaMa's and one box."""

DETERMINISTIC_KINDS: tuple[str, ...] = FIXED_KINDS
"""Kinds that do not depend on the seed."""

MIN_SIZE = 8
"""Smallest supported height and width in pixels."""


def _check_kind(kind: object) -> str:
    if kind not in MASK_KINDS:
        raise InpaintkitError(f"unknown mask kind {kind!r}; valid kinds: {', '.join(MASK_KINDS)}")
    return kind  # type: ignore[return-value]


def parse_size(size: int | tuple[int, int]) -> tuple[int, int]:
    """Return (H, W) from an int (square) or a (height, width) pair; each must be >= MIN_SIZE."""
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        hw = (int(size), int(size))
    elif (
        isinstance(size, (tuple, list))
        and len(size) == 2
        and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in size)
    ):
        hw = (int(size[0]), int(size[1]))
    else:
        raise InpaintkitError(
            f"size must be an int or a (height, width) pair of ints, got {size!r}"
        )
    if min(hw) < MIN_SIZE:
        raise InpaintkitError(f"mask height and width must be >= {MIN_SIZE}, got {hw[0]}x{hw[1]}")
    return hw


def make_rng(seed: int | None, rng: np.random.Generator | None) -> np.random.Generator:
    """``rng`` itself, or a fresh ``default_rng(seed)`` (seed None: OS entropy, never the
    global state); give one of them, not both."""
    if rng is not None:
        if seed is not None:
            raise InpaintkitError("pass either seed or rng, not both")
        if not isinstance(rng, np.random.Generator):
            raise InpaintkitError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        return rng
    if seed is not None and (not isinstance(seed, (int, np.integer)) or isinstance(seed, bool)):
        raise InpaintkitError(f"seed must be an int >= 0 or None, got {seed!r}")
    if seed is not None and seed < 0:
        raise InpaintkitError(f"seed must be an int >= 0 or None, got {seed}")
    return np.random.default_rng(seed)


def make_hole(
    kind: str,
    size: int | tuple[int, int],
    *,
    seed: int | None = None,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Make one hole mask.

    Args:
        kind: one of MASK_KINDS.
        size: an int for a square image, or (height, width) in numpy order (NOT PIL's (W, H));
            both >= 8.
        seed: int >= 0 for a fresh numpy Generator; default None (fresh OS entropy).
        rng: a numpy.random.Generator to draw from (advanced by the call); give seed or rng,
            not both. Deterministic kinds (sr2x, altlines, half, expand) ignore both.

    Returns:
        bool array [H, W], True = hole. Random kinds cover more than 0 and at most half of the
        image (redrawn otherwise, as LaMa does).

    Raises:
        InpaintkitError: unknown kind (the message lists MASK_KINDS), bad size, seed or rng.
    """
    kind = _check_kind(kind)
    shape = parse_size(size)
    if kind in DETERMINISTIC_KINDS:
        return HOLE_PRESETS[kind](None, shape)
    return HOLE_PRESETS[kind](make_rng(seed, rng), shape)


def make_holes(
    kind: str,
    size: int | tuple[int, int],
    count: int,
    *,
    seed: int | None = None,
    rng: np.random.Generator | None = None,
) -> list[np.ndarray]:
    """Make `count` hole masks drawn one after another from one generator.

    The same seed gives the same list; mask i is not the same as `make_hole(kind, size, seed=i)`.
    Arguments as in `make_hole`; count is an int >= 0. Returns a list of bool [H, W] arrays.
    """
    kind = _check_kind(kind)
    parse_size(size)
    if not isinstance(count, (int, np.integer)) or isinstance(count, bool) or count < 0:
        raise InpaintkitError(f"count must be an int >= 0, got {count!r}")
    generator = make_rng(seed, rng)
    return [make_hole(kind, size, rng=generator) for _ in range(int(count))]


def hole_fraction(hole: np.ndarray) -> float:
    """Fraction of pixels that are holes, in [0, 1], of a bool hole mask of any shape."""
    hole = np.asarray(hole)
    if hole.dtype != bool or hole.size == 0:
        raise InpaintkitError(
            f"hole must be a non-empty bool array (True = hole), got dtype {hole.dtype} "
            f"shape {hole.shape}"
        )
    return float(hole.mean())
