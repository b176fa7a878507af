"""Hole generators: seeded callables ``gen(rng, shape) -> bool [H, W]`` (True = hole) and a mixer.

Every generator takes an injected ``numpy.random.Generator`` (DESIGN rule 5) and a (height, width)
shape and returns a HOLE mask: numpy bool [H, W], True = pixel to inpaint (DESIGN rule 4).
They are small frozen dataclasses, so a training set can hold one, print it and compare it.

The random kinds re-implement LaMa's generators (Suvorov et al. 2022, advimman/lama:
saicinpainting/training/data/masks.py `make_random_irregular_mask`, `make_random_rectangle_mask`,
`MixedMaskGenerator`; parameters in :mod:`inpaintkit.masks.presets`; the "area <= 0.5" filter from
bin/gen_mask_dataset.py), with three departures:
  - randomness comes from an injected numpy Generator, not the global np.random;
  - lengths, widths, margins and box sizes are scaled by min(H, W) / 256, so masks at 32, 64, 256
    and 512 look alike (at 256 the distribution is LaMa's own);
  - strokes are drawn with PIL (a line of the brush width plus a disc at each vertex, which is what
    cv2.line's round caps give) instead of OpenCV; edge pixels may differ by one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from ..errors import InpaintkitError

HoleGenerator = Callable[[np.random.Generator, tuple[int, int]], np.ndarray]
"""``gen(rng, (H, W)) -> numpy bool [H, W]``, True = hole; all randomness drawn from ``rng``."""

REFERENCE_SIZE = 256  # LaMa's parameters are for 256x256 images
MAX_ATTEMPTS = 1000  # redraws before giving up (never reached in practice)
FIXED_KINDS: tuple[str, ...] = ("sr2x", "altlines", "half", "expand")


@dataclass(frozen=True)
class Strokes:
    """LaMa `make_random_irregular_mask` (draw_method LINE); sizes in pixels at 256x256.

    min_times, max_times: stroke count; LaMa's RandomIrregularMaskGenerator passes max_times + 1
    and then draws randint(min_times, max_times + 2), so thick draws 1-6 strokes, thin 4-51.
    max_width, max_len, max_angle: width 5 + randint(max_width), length 10 + randint(max_len),
    angle 0.01 + randint(max_angle), mirrored on even strokes; 1-5 segments per stroke.
    """

    min_times: int
    max_times: int
    max_width: int
    max_len: int
    max_angle: int = 4

    def draw(self, rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
        """One draw without the area filter: bool [H, W]."""
        h, w = shape
        scale = min(h, w) / REFERENCE_SIZE
        canvas = Image.new("L", (w, h), 0)
        draw = ImageDraw.Draw(canvas)
        times = int(rng.integers(self.min_times, self.max_times + 2))
        for i in range(times):
            x, y = int(rng.integers(w)), int(rng.integers(h))
            for _ in range(1 + int(rng.integers(5))):  # 1-5 segments
                angle = 0.01 + int(rng.integers(self.max_angle))
                if i % 2 == 0:  # LaMa mirrors the angle on even STROKES (its loop index i)
                    angle = 2 * math.pi - angle
                length = (10 + int(rng.integers(self.max_len))) * scale
                brush = max(1, round((5 + int(rng.integers(self.max_width))) * scale))
                # LaMa: int32 truncation, then clip to [0, size] (the end may sit one past the edge)
                end_x = min(max(int(x + length * math.sin(angle)), 0), w)
                end_y = min(max(int(y + length * math.cos(angle)), 0), h)
                draw.line([(x, y), (end_x, end_y)], fill=255, width=brush)
                r = brush / 2  # round caps / joints, as cv2.line draws thick lines
                for cx, cy in ((x, y), (end_x, end_y)):
                    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
                x, y = end_x, end_y
        return np.asarray(canvas) > 0

    def __call__(self, rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
        return redraw_until_valid(self.draw, rng, shape)


@dataclass(frozen=True)
class Boxes:
    """LaMa `make_random_rectangle_mask`: ``min_times..max_times`` boxes with sides in
    [min_size, max_size] at least ``margin`` from the border (pixels at 256x256)."""

    margin: int
    min_size: int
    max_size: int
    min_times: int
    max_times: int

    def draw(self, rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
        """One draw without the area filter: bool [H, W]."""
        h, w = shape
        scale = min(h, w) / REFERENCE_SIZE
        hole = np.zeros((h, w), dtype=bool)
        margin = round(self.margin * scale)
        lo = max(1, round(self.min_size * scale))
        # LaMa: randint(min_size, min(max_size + 1, H - 2 margin, W - 2 margin)), upper exclusive
        hi = min(round((self.max_size + 1) * scale), h - 2 * margin, w - 2 * margin)
        hi = max(hi, lo + 1)
        for _ in range(int(rng.integers(self.min_times, self.max_times + 1))):
            bw, bh = int(rng.integers(lo, hi)), int(rng.integers(lo, hi))
            x0 = int(rng.integers(margin, max(margin, w - margin - bw) + 1))
            y0 = int(rng.integers(margin, max(margin, h - margin - bh) + 1))
            hole[y0 : y0 + bh, x0 : x0 + bw] = True
        return hole

    def __call__(self, rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
        return redraw_until_valid(self.draw, rng, shape)


@dataclass(frozen=True)
class LamaHoles:
    """LaMa's MixedMaskGenerator for one config: strokes with probability ``stroke_proba``
    (irregular_proba / (irregular_proba + box_proba), 1 / 1.3 for thick and medium), boxes
    otherwise; redrawn until the hole is non-empty and covers at most half the image."""

    strokes: Strokes | None
    boxes: Boxes | None
    stroke_proba: float = 1.0

    def __post_init__(self) -> None:
        if self.strokes is None and self.boxes is None:
            raise InpaintkitError("LamaHoles needs strokes, boxes or both")

    def draw(self, rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
        """One draw without the area filter: bool [H, W]."""
        if self.strokes is not None and (self.boxes is None or rng.random() < self.stroke_proba):
            return self.strokes.draw(rng, shape)
        assert self.boxes is not None
        return self.boxes.draw(rng, shape)

    def __call__(self, rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
        return redraw_until_valid(self.draw, rng, shape)


@dataclass(frozen=True)
class Rectangles:
    """Random axis-aligned rectangles, RealFill's training masks (Tang et al. 2024; the public
    training script's ``make_mask``): ``min_count..max_count`` boxes (both inclusive) whose width
    and height are each uniform fractions ``min_side..max_side`` of the image side (at least one
    pixel), placed at least ``margin`` (a fraction of the side) from the border; the hole is their
    union, or with probability ``invert_proba`` its complement. No area filter.

    The class defaults (1-3 boxes of 10-50%, never inverted) are a plain box generator; the
    named preset "rectangles" is RealFill's: 1-29 boxes of 3-25% of the side, margin 1%,
    inverted with p = 0.5. An empty hole (a complement of boxes covering everything) is redrawn.
    """

    min_count: int = 1
    max_count: int = 3
    min_side: float = 0.1
    max_side: float = 0.5
    margin: float = 0.0
    invert_proba: float = 0.0

    def __post_init__(self) -> None:
        if not 1 <= self.min_count <= self.max_count:
            raise InpaintkitError(
                f"Rectangles needs 1 <= min_count <= max_count, got {self.min_count}, "
                f"{self.max_count}"
            )
        if not 0 < self.min_side <= self.max_side <= 1 - 2 * self.margin:
            raise InpaintkitError(
                f"Rectangles needs 0 < min_side <= max_side <= 1 - 2 margin, got "
                f"{self.min_side}, {self.max_side} (margin {self.margin})"
            )
        if not 0 <= self.invert_proba <= 1:
            raise InpaintkitError(f"invert_proba must be in [0, 1], got {self.invert_proba}")

    def boxes(
        self, rng: np.random.Generator, shape: tuple[int, int]
    ) -> tuple[list[tuple[int, int, int, int]], bool]:
        """One draw: the boxes as (top, left, height, width) and whether the hole is inverted."""
        h, w = shape
        mh, mw = int(self.margin * h), int(self.margin * w)
        out = []
        for _ in range(int(rng.integers(self.min_count, self.max_count + 1))):
            bh = min(h - 2 * mh, max(1, round(h * rng.uniform(self.min_side, self.max_side))))
            bw = min(w - 2 * mw, max(1, round(w * rng.uniform(self.min_side, self.max_side))))
            y0 = int(rng.integers(mh, h - mh - bh + 1))
            x0 = int(rng.integers(mw, w - mw - bw + 1))
            out.append((y0, x0, bh, bw))
        return out, bool(rng.random() < self.invert_proba)

    def __call__(self, rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
        for _ in range(MAX_ATTEMPTS):
            boxes, inverted = self.boxes(rng, shape)
            hole = np.zeros(shape, dtype=bool)
            for y0, x0, bh, bw in boxes:
                hole[y0 : y0 + bh, x0 : x0 + bw] = True
            hole = ~hole if inverted else hole
            if hole.any():
                return hole
        raise RuntimeError(f"could not draw a non-empty {shape[0]}x{shape[1]} hole")


@dataclass(frozen=True)
class FixedHoles:
    """The RePaint paper's deterministic settings (rng unused):
    sr2x: keep only pixels at an even row AND an even column; altlines: rows 1, 3, 5... are
    holes; half: columns >= W // 2 are holes; expand: keep only the centre (H//4) x (W//4)."""

    kind: str

    def __post_init__(self) -> None:
        if self.kind not in FIXED_KINDS:
            raise InpaintkitError(f"unknown fixed hole {self.kind!r}; choose one of {FIXED_KINDS}")

    def __call__(self, rng: np.random.Generator | None, shape: tuple[int, int]) -> np.ndarray:
        h, w = shape
        hole = np.zeros((h, w), dtype=bool)
        if self.kind == "sr2x":
            hole[:] = True
            hole[::2, ::2] = False  # keep the stride-2 grid: even row and even column
        elif self.kind == "altlines":
            hole[1::2, :] = True  # remove rows 1, 3, 5, ...
        elif self.kind == "half":
            hole[:, w // 2 :] = True  # keep the left half
        else:  # expand
            ch, cw = h // 4, w // 4  # keep the centre (H/4)x(W/4) crop
            top, left = (h - ch) // 2, (w - cw) // 2
            hole[:] = True
            hole[top : top + ch, left : left + cw] = False
        return hole


class MixedHoles:
    """Pick one of several generators per draw, with probability proportional to its weight.

    parts: [(generator, weight > 0), ...]. One ``rng.random()`` picks the part, then that part
    draws from the same ``rng`` (so the mixture is as seeded as its parts).
    """

    def __init__(self, parts: Sequence[tuple[HoleGenerator, float]]) -> None:
        parts = list(parts)
        if not parts:
            raise InpaintkitError("MixedHoles needs at least one (generator, weight) pair")
        weights = np.array([float(w) for _, w in parts])
        if not np.all(weights > 0):
            raise InpaintkitError(f"MixedHoles weights must be > 0, got {weights.tolist()}")
        self.generators = [g for g, _ in parts]
        self.weights = weights
        self._cdf = np.cumsum(weights / weights.sum())

    def __call__(self, rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
        pick = int(np.searchsorted(self._cdf, rng.random(), side="right"))
        return self.generators[min(pick, len(self.generators) - 1)](rng, shape)

    def __repr__(self) -> str:
        parts = ", ".join(f"({g!r}, {w:g})" for g, w in zip(self.generators, self.weights))
        return f"MixedHoles([{parts}])"


def redraw_until_valid(
    draw: HoleGenerator, rng: np.random.Generator, shape: tuple[int, int]
) -> np.ndarray:
    """Call ``draw`` until its hole is non-empty and covers at most half the image (LaMa's
    gen_mask_dataset.py drops masks with area > 0.5); RuntimeError after MAX_ATTEMPTS."""
    for _ in range(MAX_ATTEMPTS):
        hole = draw(rng, shape)
        if hole.any() and hole.mean() <= 0.5:
            return hole
    raise RuntimeError(f"could not draw a valid {shape[0]}x{shape[1]} hole in {MAX_ATTEMPTS} tries")


__all__ = [
    "FIXED_KINDS",
    "Boxes",
    "FixedHoles",
    "HoleGenerator",
    "LamaHoles",
    "MixedHoles",
    "Rectangles",
    "Strokes",
    "redraw_until_valid",
]
