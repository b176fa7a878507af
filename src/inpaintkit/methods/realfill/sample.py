"""RealFill's sampling stage: the feathered mask and the alpha blend of the adapted model's K
samples (drawn by ``InpaintDDPM.sample`` with ``paste=False``) onto the target (Tang et al.
2024, section 3.2, "Inference").

The network's output is an image whose known region is its own reconstruction, close to but not
equal to the target; RealFill feathers the mask (a 3x3 dilation, then a 3x3 box blur: PIL's
MaxFilter(3) and BoxBlur(1) in the public inference script) and alpha-composites the sample onto
the target with it. The hole itself gets the sample (alpha 1 on every hole pixel); the known
pixels within two pixels of the hole blend the sample in, so the seam is smooth.
"""

from __future__ import annotations

import numpy as np
from PIL import Image


def _pad_windows(plane: np.ndarray) -> np.ndarray:
    """The 9 shifted copies [9, H, W] of ``plane`` over its 3x3 neighbourhoods (edge pixels
    repeated, as PIL's filters treat the border)."""
    padded = np.pad(plane, 1, mode="edge")
    h, w = plane.shape
    return np.stack([padded[dy : dy + h, dx : dx + w] for dy in range(3) for dx in range(3)])


def feather_mask(hole: np.ndarray) -> np.ndarray:
    """RealFill's blend weight: float32 [H, W] in [0, 1] from a bool hole [H, W] (True = hole):
    the hole dilated by a 3x3 max, then averaged over 3x3 boxes. 1 on (and next to) the hole,
    falling to 0 two pixels away."""
    dilated = _pad_windows(hole.astype(np.float32)).max(axis=0)
    return _pad_windows(dilated).mean(axis=0).astype(np.float32)


def blend(sample: np.ndarray, target: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """alpha * sample + (1 - alpha) * target, rounded to uint8 [H, W, 3] (sample and target
    uint8 [H, W, 3] of one size, alpha float [H, W])."""
    a = alpha.astype(np.float64)[..., None]
    out = a * sample.astype(np.float64) + (1.0 - a) * target.astype(np.float64)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def blend_onto(sample: Image.Image, target: Image.Image, hole: np.ndarray) -> Image.Image:
    """A sample (any size: resized to the target's, bicubic) feathered onto the target with
    :func:`feather_mask` of ``hole`` (bool, the target's size)."""
    if sample.size != target.size:
        sample = sample.resize(target.size, Image.Resampling.BICUBIC)
    out = blend(np.asarray(sample), np.asarray(target), feather_mask(hole))
    return Image.fromarray(out)


__all__ = ["blend", "blend_onto", "feather_mask"]
