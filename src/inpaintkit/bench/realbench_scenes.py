"""A RealBench-like set made offline (RealFill, Tang et al. 2024, section 4.1: a target photo
with a hole and a few reference photos of the same scene).

- Emoji: held-out (test split) base emoji that have skin-tone variants. The target is one
  variant with a hole; the references are the other colourings (the base's and the other
  variants'): the same drawing in other colours, at most ``max_refs``.
- Photos: same-scene pairs (:mod:`inpaintkit.data.photos`: OpenCV's leuven, aloe, graf,
  rubberwhale and scikit-image's motorcycle). Both photos are resized to a short side of
  ``scale`` x the model's size; a textured size x size window of the first is the target, the
  windows of the second around the same place and shifted by a quarter size are the
  references. "The same place": the pair is registered by a homography (SIFT, ratio test,
  RANSAC; the identity when too few matches), since leuven and graf are taken from other
  viewpoints.

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


REFERENCES = ("variants", "recoloured", "none", "oracle")


def recolour_to(
    reference: np.ndarray, target: np.ndarray, known: np.ndarray, k: int = 4
) -> np.ndarray:
    """``reference`` (uint8 [S, S, 3], pixel-aligned with ``target``) in the target's colours:
    each pixel takes the mean target colour at the ``k`` known pixels whose reference colour is
    nearest its own (inverse-distance weighted, in RGB). It reads only ``target[known]``; for
    emoji skin-tone variants it maps one tone onto the other and leaves shared colours alone."""
    from scipy.spatial import cKDTree

    if reference.shape != target.shape or known.shape != target.shape[:2]:
        raise InpaintkitError("recolour_to needs a reference, target and mask of one size")
    if not known.any():
        raise InpaintkitError("recolour_to needs known pixels")
    source, goal = reference[known].astype(float), target[known].astype(float)
    k = min(k, len(source))
    distance, index = cKDTree(source).query(reference.reshape(-1, 3).astype(float), k=k)
    distance, index = distance.reshape(-1, k), index.reshape(-1, k)
    weight = 1.0 / (distance + 1.0)
    colours = (goal[index] * weight[..., None]).sum(1) / weight.sum(1, keepdims=True)
    return np.clip(np.rint(colours), 0, 255).astype(np.uint8).reshape(reference.shape)


def emoji_scenes(
    n: int,
    size: int,
    *,
    holes: str = "box",
    seed: int = 0,
    style: str = "google",
    max_refs: int = 4,
    split: str = "test",
    references: str = "variants",
    cache_dir: Path | None = None,
) -> list[Scene]:
    """Up to ``n`` emoji scenes of the ``split`` bases (see the module docstring), in id order."""
    from ..data.emoji import emoji_index, fetch_emoji, read_rgb_on_white, split_index

    if references not in REFERENCES:
        raise InpaintkitError(f"unknown references {references!r}; choose one of {REFERENCES}")
    folder = fetch_emoji(style, cache_dir)
    groups: dict[str, list] = {}
    for entry in split_index(emoji_index(folder), split):
        groups.setdefault(entry.base, []).append(entry)
    bases = sorted(b for b, members in groups.items() if any(e.unified != b for e in members))
    if not bases:
        raise InpaintkitError(f"no {split} {style} emoji with skin-tone variants in {folder}")
    scenes = []
    for index, base in enumerate(bases[:n]):
        members = sorted(groups[base], key=lambda e: (e.unified != base, e.unified))
        variants = [i for i, e in enumerate(members) if e.unified != base]
        rng = _rng(seed, 1, index)
        pick = variants[int(rng.integers(len(variants)))]
        images = [read_rgb_on_white(folder / e.image, size) for e in members]
        others = [images[i] for i in range(len(members)) if i != pick]
        order = rng.permutation(len(others))[:max_refs]
        target, hole = images[pick], _hole(holes, size, seed, index)
        refs = [others[i] for i in order]
        if references == "recoloured":
            refs = [recolour_to(r, target, ~hole) for r in refs]
        elif references in ("none", "oracle"):
            refs = [target.copy()] if references == "oracle" else []
        name = f"emoji-{members[pick].unified.lower()}"
        scenes.append(Scene(name=name, set="emoji", target=target, hole=hole, references=refs))
    return scenes


def _resize_short(image: np.ndarray, short: int) -> np.ndarray:
    h, w = image.shape[:2]
    scale = short / min(h, w)
    size = (max(short, round(w * scale)), max(short, round(h * scale)))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.LANCZOS))


def register(a: np.ndarray, b: np.ndarray, min_inliers: int = 12) -> np.ndarray:
    """The 3x3 homography taking pixel (x, y, 1) of ``a`` to ``b`` (SIFT, 0.75 ratio test,
    RANSAC at 3 px); the identity when fewer than ``min_inliers`` matches agree."""
    import cv2

    cv2.setRNGSeed(0)
    sift = cv2.SIFT_create()
    gray = [cv2.cvtColor(np.ascontiguousarray(x), cv2.COLOR_RGB2GRAY) for x in (a, b)]
    (kp_a, des_a), (kp_b, des_b) = (sift.detectAndCompute(g, None) for g in gray)
    if des_a is None or des_b is None or len(des_a) < 2 or len(des_b) < 2:
        return np.eye(3)
    pairs = cv2.BFMatcher(cv2.NORM_L2).knnMatch(des_a, des_b, k=2)
    good = [m for m, n in (p for p in pairs if len(p) == 2) if m.distance < 0.75 * n.distance]
    if len(good) < min_inliers:
        return np.eye(3)
    src = np.float32([kp_a[m.queryIdx].pt for m in good])
    dst = np.float32([kp_b[m.trainIdx].pt for m in good])
    h, inliers = cv2.findHomography(src, dst, cv2.RANSAC, 3.0)
    if h is None or inliers is None or int(inliers.sum()) < min_inliers:
        return np.eye(3)
    return h


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
        # registered at full resolution (a 128 px leuven pair has too few matches), then scaled
        zoom_a, zoom_b = (
            np.diag([x.shape[1] / y.shape[1]] * 2 + [1.0]) for x, y in ((a, first), (b, second))
        )
        to_b = zoom_b @ register(first, second) @ np.linalg.inv(zoom_a)
        rng = _rng(seed, 2, p)
        found = 0
        for _ in range(400):
            if found == per_pair:
                break
            top = int(rng.integers(0, a.shape[0] - size + 1))
            left = int(rng.integers(0, a.shape[1] - size + 1))
            window = a[top : top + size, left : left + size]
            if window.mean(axis=2).std() < min_std:
                continue
            centre = to_b @ np.array([left + size / 2, top + size / 2, 1.0])
            x, y = centre[0] / centre[2] - size / 2, centre[1] / centre[2] - size / 2
            refs = []
            for dy, dx in ((0, 0), (0, -shift), (0, shift), (-shift, 0), (shift, 0)):
                row, col = round(y) + dy, round(x) + dx
                if 0 <= row <= b.shape[0] - size and 0 <= col <= b.shape[1] - size:
                    refs.append(b[row : row + size, col : col + size].copy())
            if len(refs) < 2:
                continue
            index = 1000 * (p + 1) + found
            scenes.append(
                Scene(
                    name=f"{name}-{found}",
                    set="photo",
                    target=window.copy(),
                    hole=_hole(holes, size, seed, index),
                    references=refs,
                )  # fmt: skip
            )
            found += 1
    return scenes


__all__ = ["REFERENCES", "Scene", "emoji_scenes", "photo_scenes", "recolour_to", "register"]
