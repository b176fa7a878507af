"""A RealBench-like set made offline (RealFill, Tang et al. 2024, section 4.1: a target photo
with a hole and a few reference photos of the same scene).

- Emoji: held-out (test split) base emoji that have skin-tone variants. The target is one
  variant with a hole; the references are the other colourings (the base's and the other
  variants'): the same drawing in other colours, at most ``max_refs``.
- Photos: same-scene pairs (:mod:`inpaintkit.data.photos`: OpenCV's leuven, aloe, graf,
  rubberwhale and scikit-image's motorcycle). Both photos are resized to a short side of
  ``scale`` x the model's size; a textured size x size window of the first is the target, the
  windows of the second at the same place and shifted by a quarter size are the references.

Every draw (which variant, which window, the hole) comes from ``SeedSequence([seed, ...])``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import InpaintkitError
from ..masks.presets import get_holes


@dataclass
class Scene:
    """name, set ("emoji" | "photo"), target uint8 [S, S, 3] (the truth), hole bool [S, S],
    references: uint8 [S, S, 3] each."""

    name: str
    set: str
    target: np.ndarray
    hole: np.ndarray
    references: list[np.ndarray] = field(default_factory=list)


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, *key]))


def _hole(spec: str, size: int, seed: int, index: int) -> np.ndarray:
    return np.asarray(get_holes(spec)(_rng(seed, 7, index), (size, size)), bool)


def emoji_scenes(
    n: int,
    size: int,
    *,
    holes: str = "box",
    seed: int = 0,
    style: str = "google",
    max_refs: int = 4,
    cache_dir: Path | None = None,
) -> list[Scene]:
    """Up to ``n`` emoji scenes (see the module docstring), the bases in id order."""
    from ..data.emoji import emoji_index, fetch_emoji, read_rgb_on_white, split_index

    folder = fetch_emoji(style, cache_dir)
    groups: dict[str, list] = {}
    for entry in split_index(emoji_index(folder), "test"):
        groups.setdefault(entry.base, []).append(entry)
    bases = sorted(b for b, members in groups.items() if any(e.unified != b for e in members))
    if not bases:
        raise InpaintkitError(f"no held-out {style} emoji with skin-tone variants in {folder}")
    scenes = []
    for index, base in enumerate(bases[:n]):
        members = sorted(groups[base], key=lambda e: (e.unified != base, e.unified))
        variants = [i for i, e in enumerate(members) if e.unified != base]
        rng = _rng(seed, 1, index)
        pick = variants[int(rng.integers(len(variants)))]
        images = [read_rgb_on_white(folder / e.image, size) for e in members]
        others = [images[i] for i in range(len(members)) if i != pick]
        order = rng.permutation(len(others))[:max_refs]
        scenes.append(
            Scene(
                name=f"emoji-{members[pick].unified.lower()}",
                set="emoji",
                target=images[pick],
                hole=_hole(holes, size, seed, index),
                references=[others[i] for i in order],
            )  # fmt: skip
        )
    return scenes


def _resize_short(image: np.ndarray, short: int) -> np.ndarray:
    h, w = image.shape[:2]
    scale = short / min(h, w)
    size = (max(short, round(w * scale)), max(short, round(h * scale)))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.LANCZOS))


def photo_scenes(
    per_pair: int,
    size: int,
    *,
    holes: str = "box",
    seed: int = 0,
    scale: int = 4,
    min_std: float = 20.0,
    cache_dir: Path | None = None,
    pairs: list[tuple[str, np.ndarray, np.ndarray]] | None = None,
) -> list[Scene]:
    """``per_pair`` scenes from each same-scene pair (default OpenCV's four and the motorcycle;
    see the module docstring); windows whose grey level varies less than ``min_std`` are
    skipped (a third of plain crops are near-flat)."""
    if pairs is None:
        from ..data.photos import motorcycle_pair, opencv_pairs

        pairs = [*opencv_pairs(cache_dir), motorcycle_pair()]
    scenes: list[Scene] = []
    shift = max(1, size // 4)
    for p, (name, first, second) in enumerate(pairs):
        a, b = _resize_short(first, scale * size), _resize_short(second, scale * size)
        h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
        rng = _rng(seed, 2, p)
        found = 0
        for _ in range(200):
            if found == per_pair:
                break
            top = int(rng.integers(shift, h - size - shift + 1))
            left = int(rng.integers(shift, w - size - shift + 1))
            window = a[top : top + size, left : left + size]
            if window.mean(axis=2).std() < min_std:
                continue
            refs = [
                b[top + dy : top + dy + size, left + dx : left + dx + size]
                for dy, dx in ((0, 0), (0, -shift), (0, shift), (-shift, 0), (shift, 0))
            ]
            index = 1000 * (p + 1) + found
            scenes.append(
                Scene(
                    name=f"{name}-{found}",
                    set="photo",
                    target=window.copy(),
                    hole=_hole(holes, size, seed, index),
                    references=[r.copy() for r in refs],
                )  # fmt: skip
            )
            found += 1
    return scenes


__all__ = ["Scene", "emoji_scenes", "photo_scenes"]
