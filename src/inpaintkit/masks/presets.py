"""Named hole generators as data: LaMa thin/medium/thick, one box, and the RePaint paper's six.

LaMa's configs/data_gen/random_{thin,medium,thick}_256.yaml (irregular_proba 1, box_proba 0.3 or
0; sizes in pixels at 256x256, scaled with the image by the generators):
  thick:  1-5 strokes, max width 100, max length 200, max angle 4; boxes margin 10, size 30-150,
          1-3 boxes; strokes with probability 1 / 1.3
  thin:   4-50 strokes, max width 10, max length 40; no boxes
  medium: 4-5 strokes, max width 50, max length 100; boxes margin 0, size 10-50, 1-5 boxes
  box:    ours: exactly one thick-style box
RealFill's rectangles (Tang et al. 2024): 1-29 boxes of 3-25% of the side, union or (p = 0.5) its
complement (:class:`inpaintkit.masks.generators.Rectangles`).
The six settings of the RePaint paper (Lugmayr et al. 2022, section 5): wide (= thick), narrow
(= thin), sr2x, altlines, half, expand (see :class:`inpaintkit.masks.generators.FixedHoles`).
"""

from __future__ import annotations

from ..errors import InpaintkitError
from .generators import Boxes, FixedHoles, HoleGenerator, LamaHoles, MixedHoles, Rectangles, Strokes

LAMA_THICK = LamaHoles(Strokes(1, 5, 100, 200), Boxes(10, 30, 150, 1, 3), 1 / 1.3)
LAMA_THIN = LamaHoles(Strokes(4, 50, 10, 40), None, 1.0)
LAMA_MEDIUM = LamaHoles(Strokes(4, 5, 50, 100), Boxes(0, 10, 50, 1, 5), 1 / 1.3)
ONE_BOX = LamaHoles(None, Boxes(10, 30, 150, 1, 1), 0.0)
# RealFill's training masks (its public script's make_mask: randint(1, 30) boxes, sides
# randint(0.03 R, 0.25 R), margin 0.01 R, the union inverted with p = 0.5)
REALFILL_RECTANGLES = Rectangles(1, 29, 0.03, 0.25, margin=0.01, invert_proba=0.5)

PAPER_SIX: dict[str, HoleGenerator] = {
    "wide": LAMA_THICK,
    "narrow": LAMA_THIN,
    "sr2x": FixedHoles("sr2x"),
    "altlines": FixedHoles("altlines"),
    "half": FixedHoles("half"),
    "expand": FixedHoles("expand"),
}
"""The RePaint paper's six test settings, in the paper's order."""

HOLE_PRESETS: dict[str, HoleGenerator] = {
    **PAPER_SIX,
    "thin": LAMA_THIN,
    "medium": LAMA_MEDIUM,
    "thick": LAMA_THICK,
    "box": ONE_BOX,
    "rectangles": REALFILL_RECTANGLES,
    # LaMa's training mixture (thin, medium, thick in equal parts), a common training choice
    "lama-mixed": MixedHoles([(LAMA_THIN, 1.0), (LAMA_MEDIUM, 1.0), (LAMA_THICK, 1.0)]),
}
"""Every named hole generator: the paper's six, LaMa's three, one box, RealFill's
rectangles and an equal LaMa thin/medium/thick mixture."""


def get_holes(name: str) -> HoleGenerator:
    """The hole generator called ``name`` (a key of HOLE_PRESETS), or a weighted mixture
    "name:weight+name:weight" (weight defaults to 1), e.g. "thin:2+thick"."""
    parts = []
    for token in str(name).split("+"):
        key, _, weight = token.strip().partition(":")
        if key not in HOLE_PRESETS:
            raise InpaintkitError(
                f"unknown hole generator {key!r}; choose one of {', '.join(HOLE_PRESETS)} "
                "(mix them as name:weight+name:weight)"
            )
        try:
            parts.append((HOLE_PRESETS[key], float(weight) if weight else 1.0))
        except ValueError:
            raise InpaintkitError(f"bad weight {weight!r} in hole spec {name!r}") from None
    return parts[0][0] if len(parts) == 1 else MixedHoles(parts)


__all__ = [
    "HOLE_PRESETS",
    "LAMA_MEDIUM",
    "LAMA_THICK",
    "LAMA_THIN",
    "ONE_BOX",
    "PAPER_SIX",
    "REALFILL_RECTANGLES",
    "get_holes",
]
