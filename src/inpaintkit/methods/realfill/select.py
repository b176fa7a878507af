"""RealFill's correspondence-based seed selection (Tang et al. 2024, section 3.3): rank the
samples by how many keypoints they share with the references and keep the best.

Departure: the paper counts LoFTR matches (Sun et al. 2021). LoFTR's weights are a download that
does not exist offline (no package ships them), so this uses OpenCV's SIFT (Lowe 2004), Lowe's
ratio test at 0.75 and a RANSAC fundamental-matrix check: a sample's score is the number of
inlier matches summed over the references. SIFT finds almost nothing at 32 px, so every image is
first upscaled (bicubic) to about ``size`` px on its long side (default 256).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

RATIO = 0.75  # Lowe's ratio test
MIN_RANSAC = 8  # the fundamental matrix needs 8 points


def _gray(image: Image.Image | np.ndarray, size: int) -> np.ndarray:
    """uint8 grayscale, resized (bicubic) so the long side is ``size`` px."""
    picture = image if isinstance(image, Image.Image) else Image.fromarray(np.asarray(image))
    w, h = picture.size
    scale = size / max(w, h)
    picture = picture.convert("L")
    if scale != 1:
        target = (max(1, round(w * scale)), max(1, round(h * scale)))
        picture = picture.resize(target, Image.Resampling.BICUBIC)
    return np.asarray(picture)


def _features(image: Image.Image | np.ndarray, size: int, sift: object):  # noqa: ANN202
    keypoints, descriptors = sift.detectAndCompute(_gray(image, size), None)
    return keypoints, descriptors


def match_count(features_a: tuple, features_b: tuple, *, ransac: bool = True) -> int:
    """Matches between two (keypoints, descriptors) pairs that pass the ratio test and, when
    there are at least 8 and ``ransac``, a RANSAC fundamental-matrix fit (its inliers)."""
    import cv2

    (kp_a, des_a), (kp_b, des_b) = features_a, features_b
    if des_a is None or des_b is None or len(des_a) < 2 or len(des_b) < 2:
        return 0
    pairs = cv2.BFMatcher(cv2.NORM_L2).knnMatch(des_a, des_b, k=2)
    good = [m for m, n in (p for p in pairs if len(p) == 2) if m.distance < RATIO * n.distance]
    if not ransac or len(good) < MIN_RANSAC:
        return len(good)
    src = np.float32([kp_a[m.queryIdx].pt for m in good])
    dst = np.float32([kp_b[m.trainIdx].pt for m in good])
    _, inliers = cv2.findFundamentalMat(src, dst, cv2.FM_RANSAC, 3.0, 0.99)
    return int(inliers.sum()) if inliers is not None else 0


def correspondence_scores(
    samples: Sequence[Image.Image | np.ndarray],
    references: Sequence[Image.Image | np.ndarray],
    *,
    size: int = 256,
    seed: int = 0,
) -> list[int]:
    """One score per sample: SIFT matches with every reference (ratio test, RANSAC inliers),
    summed over the references. ``seed`` seeds OpenCV's RNG (RANSAC), so scores repeat."""
    import cv2

    cv2.setRNGSeed(int(seed))
    sift = cv2.SIFT_create()
    refs = [_features(r, size, sift) for r in references]
    scores = []
    for sample in samples:
        mine = _features(sample, size, sift)
        scores.append(sum(match_count(mine, ref) for ref in refs))
    return scores


def rank_samples(scores: Sequence[float]) -> list[int]:
    """Sample indices best first (highest score; ties keep the sample order)."""
    return sorted(range(len(scores)), key=lambda k: (-scores[k], k))


__all__ = ["correspondence_scores", "match_count", "rank_samples"]
