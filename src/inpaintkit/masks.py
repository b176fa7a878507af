"""Seeded hole-mask generators: the six RePaint settings, LaMa's thin/medium/thick, one box.

Every generator returns a HOLE mask: numpy bool [H, W], True = pixel to inpaint (DESIGN rule 4;
`io.hole_to_keep` turns it into the library's `keep` tensor).

The six settings of the RePaint paper (Lugmayr et al. 2022, section 5):
  wide      LaMa "random_thick_256" (same generator as "thick")
  narrow    LaMa "random_thin_256"  (same generator as "thin")
  sr2x      super-resolve 2x: keep only pixels at an even row AND an even column
  altlines  alternating lines: rows 1, 3, 5, ... are holes
  half      keep the left half: columns >= W // 2 are holes
  expand    keep only the centre (H//4) x (W//4) crop (64x64 of 256x256)
then LaMa's "thin", "medium", "thick" and "box" (one random rectangle).

The random kinds re-implement LaMa's generators (Suvorov et al. 2022, advimman/lama:
saicinpainting/training/data/masks.py `make_random_irregular_mask`, `make_random_rectangle_mask`,
`MixedMaskGenerator`; parameters from configs/data_gen/random_{thin,medium,thick}_256.yaml;
the "area <= 0.5" filter from bin/gen_mask_dataset.py), with three departures:
  - randomness comes from an injected numpy Generator, not the global np.random (DESIGN rule 5);
  - lengths, widths, margins and box sizes are scaled by min(H, W) / 256, so masks at 32, 64, 256
    and 512 look alike (at 256 the distribution is LaMa's own);
  - strokes are drawn with PIL (a line of the brush width plus a disc at each vertex, which is what
    cv2.line's round caps give) instead of OpenCV; edge pixels may differ by one.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageDraw

from inpaintkit.errors import InpaintkitError

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

DETERMINISTIC_KINDS: tuple[str, ...] = ("sr2x", "altlines", "half", "expand")
"""Kinds that do not depend on the seed."""

MIN_SIZE = 8
"""Smallest supported height and width in pixels."""

_REFERENCE_SIZE = 256  # LaMa's parameters are for 256x256 images
_MAX_ATTEMPTS = 1000  # redraws before giving up (never reached in practice)


class _Strokes(NamedTuple):
    """LaMa `make_random_irregular_mask` arguments (in pixels at 256x256)."""

    min_times: int
    max_times: int
    max_width: int
    max_len: int
    max_angle: int = 4


class _Boxes(NamedTuple):
    """LaMa `make_random_rectangle_mask` arguments (in pixels at 256x256)."""

    margin: int
    min_size: int
    max_size: int
    min_times: int
    max_times: int


class _Preset(NamedTuple):
    strokes: _Strokes | None
    boxes: _Boxes | None
    stroke_proba: float  # LaMa: irregular_proba / (irregular_proba + box_proba)


# configs/data_gen/random_{thin,medium,thick}_256.yaml: irregular_proba 1, box_proba 0.3 (or 0).
_THICK = _Preset(_Strokes(1, 5, 100, 200), _Boxes(10, 30, 150, 1, 3), 1 / 1.3)
_THIN = _Preset(_Strokes(4, 50, 10, 40), None, 1.0)
_MEDIUM = _Preset(_Strokes(4, 5, 50, 100), _Boxes(0, 10, 50, 1, 5), 1 / 1.3)
_BOX = _Preset(None, _Boxes(10, 30, 150, 1, 1), 0.0)  # ours: exactly one thick-style box
_PRESETS = {
    "wide": _THICK,
    "thick": _THICK,
    "narrow": _THIN,
    "thin": _THIN,
    "medium": _MEDIUM,
    "box": _BOX,
}


def _check_kind(kind: object) -> str:
    if kind not in MASK_KINDS:
        raise InpaintkitError(f"unknown mask kind {kind!r}; valid kinds: {', '.join(MASK_KINDS)}")
    return kind  # type: ignore[return-value]


def _parse_size(size: int | tuple[int, int]) -> tuple[int, int]:
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


def _make_rng(seed: int | None, rng: np.random.Generator | None) -> np.random.Generator:
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
    return np.random.default_rng(seed)  # None: fresh OS entropy, still never the global state


def _deterministic_hole(kind: str, h: int, w: int) -> np.ndarray:
    hole = np.zeros((h, w), dtype=bool)
    if kind == "sr2x":
        hole[:] = True
        hole[::2, ::2] = False  # keep the stride-2 grid: even row and even column
    elif kind == "altlines":
        hole[1::2, :] = True  # remove rows 1, 3, 5, ...
    elif kind == "half":
        hole[:, w // 2 :] = True  # keep the left half
    elif kind == "expand":
        ch, cw = h // 4, w // 4  # keep the centre (H/4)x(W/4) crop
        top, left = (h - ch) // 2, (w - cw) // 2
        hole[:] = True
        hole[top : top + ch, left : left + cw] = False
    return hole


def _draw_strokes(
    p: _Strokes, h: int, w: int, scale: float, rng: np.random.Generator
) -> np.ndarray:
    """LaMa `make_random_irregular_mask` (draw_method LINE), lengths/widths times `scale`."""
    canvas = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(canvas)
    # LaMa's RandomIrregularMaskGenerator passes max_times + 1 to the function, which then draws
    # randint(min_times, max_times + 1 + 1): so thick draws 1-6 strokes, thin 4-51, medium 4-6.
    times = int(rng.integers(p.min_times, p.max_times + 2))
    for i in range(times):
        x, y = int(rng.integers(w)), int(rng.integers(h))
        for _ in range(1 + int(rng.integers(5))):  # 1-5 segments
            angle = 0.01 + int(rng.integers(p.max_angle))
            if i % 2 == 0:  # LaMa mirrors the angle on even STROKES (its loop index i)
                angle = 2 * math.pi - angle
            length = (10 + int(rng.integers(p.max_len))) * scale
            brush = max(1, round((5 + int(rng.integers(p.max_width))) * scale))
            # LaMa: int32 truncation, then clip to [0, size] (the end may sit one past the edge)
            end_x = min(max(int(x + length * math.sin(angle)), 0), w)
            end_y = min(max(int(y + length * math.cos(angle)), 0), h)
            draw.line([(x, y), (end_x, end_y)], fill=255, width=brush)
            r = brush / 2  # round caps / joints, as cv2.line draws thick lines
            for cx, cy in ((x, y), (end_x, end_y)):
                draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
            x, y = end_x, end_y
    return np.asarray(canvas) > 0


def _draw_boxes(p: _Boxes, h: int, w: int, scale: float, rng: np.random.Generator) -> np.ndarray:
    """LaMa `make_random_rectangle_mask`, margin and sizes times `scale`; sides in [min, max]."""
    hole = np.zeros((h, w), dtype=bool)
    margin = round(p.margin * scale)
    lo = max(1, round(p.min_size * scale))
    # LaMa: randint(min_size, min(max_size + 1, H - 2 margin, W - 2 margin)), upper bound exclusive
    hi = min(round((p.max_size + 1) * scale), h - 2 * margin, w - 2 * margin)
    hi = max(hi, lo + 1)
    for _ in range(int(rng.integers(p.min_times, p.max_times + 1))):
        bw, bh = int(rng.integers(lo, hi)), int(rng.integers(lo, hi))
        x0 = int(rng.integers(margin, max(margin, w - margin - bw) + 1))
        y0 = int(rng.integers(margin, max(margin, h - margin - bh) + 1))
        hole[y0 : y0 + bh, x0 : x0 + bw] = True
    return hole


def _random_hole(kind: str, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    preset = _PRESETS[kind]
    scale = min(h, w) / _REFERENCE_SIZE
    for _ in range(_MAX_ATTEMPTS):
        # LaMa MixedMaskGenerator: strokes with probability 1/1.3, boxes otherwise
        if preset.strokes is not None and (
            preset.boxes is None or rng.random() < preset.stroke_proba
        ):
            hole = _draw_strokes(preset.strokes, h, w, scale, rng)
        else:
            assert preset.boxes is not None
            hole = _draw_boxes(preset.boxes, h, w, scale, rng)
        # gen_mask_dataset.py drops masks with area > max_tamper_area = 0.5; we also never
        # return an empty hole
        if hole.any() and hole.mean() <= 0.5:
            return hole
    raise RuntimeError(f"could not draw a {kind!r} hole of {h}x{w} in {_MAX_ATTEMPTS} attempts")


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
    h, w = _parse_size(size)
    if kind in DETERMINISTIC_KINDS:
        return _deterministic_hole(kind, h, w)
    return _random_hole(kind, h, w, _make_rng(seed, rng))


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
    _parse_size(size)
    if not isinstance(count, (int, np.integer)) or isinstance(count, bool) or count < 0:
        raise InpaintkitError(f"count must be an int >= 0, got {count!r}")
    generator = _make_rng(seed, rng)
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
