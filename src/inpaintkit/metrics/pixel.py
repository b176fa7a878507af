"""Pixel scores of an inpainted image against the original: PSNR, SSIM and L1, in the hole and
over the whole image (DESIGN section 5: what can be measured offline)."""

from __future__ import annotations

import math

import numpy as np

from ..errors import InpaintkitError

#: PSNR reported for identical images (MSE 0), and the ceiling for every PSNR value, in dB.
PSNR_CAP = 100.0

METRIC_KEYS = ("psnr_hole", "ssim_hole", "l1_hole", "psnr", "ssim", "l1")


def psnr(mse: float) -> float:
    """10 log10(255^2 / mse) in dB for an MSE in 8-bit units, capped at :data:`PSNR_CAP`
    (mse 0 -> the cap)."""
    if mse <= 0.0:
        return PSNR_CAP
    return min(PSNR_CAP, 10.0 * math.log10(255.0**2 / mse))


def check_pair(result: np.ndarray, truth: np.ndarray, hole: np.ndarray) -> None:
    """Raise InpaintkitError unless result and truth are uint8 [H, W, 3] of one shape and hole is
    bool [H, W]."""
    for name, arr in (("result", result), ("truth", truth)):
        if not isinstance(arr, np.ndarray) or arr.dtype != np.uint8 or arr.ndim != 3:
            raise InpaintkitError(
                f"{name}: expected a uint8 numpy array [H, W, 3], got "
                f"{getattr(arr, 'dtype', type(arr).__name__)} {getattr(arr, 'shape', '')}"
            )
        if arr.shape[2] != 3:
            raise InpaintkitError(f"{name}: expected 3 channels (RGB) last, got shape {arr.shape}")
    if result.shape != truth.shape:
        raise InpaintkitError(f"result {result.shape} and truth {truth.shape} differ in shape")
    if not isinstance(hole, np.ndarray) or hole.dtype != np.bool_:
        raise InpaintkitError(
            f"hole: expected a bool numpy array [H, W] (True = filled region), got "
            f"{getattr(hole, 'dtype', type(hole).__name__)}"
        )
    if hole.shape != result.shape[:2]:
        raise InpaintkitError(f"hole {hole.shape} does not match the images' {result.shape[:2]}")


def image_metrics(result: np.ndarray, truth: np.ndarray, hole: np.ndarray) -> dict[str, float]:
    """PSNR, SSIM and L1 of an inpainted image against the original, in the hole and overall.

    result, truth: uint8 [H, W, 3] (H, W >= 7 for SSIM's window). hole: bool [H, W], True =
    the filled (unknown) region.

    Returns a dict with keys "psnr_hole", "ssim_hole", "l1_hole", "psnr", "ssim", "l1":
    - psnr*: 10 log10(255^2 / MSE) in dB, MSE over the pixels (hole pixels for psnr_hole) and the
      3 channels. Capped at :data:`PSNR_CAP` = 100 dB: identical images give exactly 100, and so
      does any tiny error that would exceed it (e.g. one grey level in one channel of a
      256x256 image is 101 dB), so an average over images never meets infinity.
    - ssim*: :func:`skimage.metrics.structural_similarity` with ``channel_axis=-1,
      data_range=255, full=True`` (7x7 uniform window, Wang et al. 2004 constants). "ssim" is the
      mean of the whole SSIM map [H, W, 3], border included (skimage's own returned mean crops a
      3-px border, so it can differ slightly); "ssim_hole" is the mean of the same map over the
      hole pixels. Each map value looks at a 7x7 window, so near the hole's edge it also sees
      known pixels: ssim_hole is pulled towards 1 for thin holes. With an all-True hole,
      ssim_hole == ssim.
    - l1*: mean absolute error in [0, 1] units (|result - truth| / 255), pixels x channels.

    An empty hole gives NaN for the three *_hole values (never a silent 0 or cap). Raises
    InpaintkitError for wrong dtypes, shapes or images smaller than 7x7.
    """
    check_pair(result, truth, hole)
    from skimage.metrics import structural_similarity

    if min(result.shape[:2]) < 7:
        raise InpaintkitError(f"SSIM needs images of at least 7x7 pixels, got {result.shape[:2]}")
    diff = result.astype(np.float64) - truth.astype(np.float64)
    sq, ab = diff**2, np.abs(diff) / 255.0
    _, ssim_map = structural_similarity(truth, result, channel_axis=-1, data_range=255, full=True)
    out = {
        "psnr": psnr(float(sq.mean())),
        "ssim": float(ssim_map.mean()),
        "l1": float(ab.mean()),
    }
    if hole.any():
        out["psnr_hole"] = psnr(float(sq[hole].mean()))
        out["ssim_hole"] = float(ssim_map[hole].mean())
        out["l1_hole"] = float(ab[hole].mean())
    else:
        out.update(psnr_hole=math.nan, ssim_hole=math.nan, l1_hole=math.nan)
    return {k: out[k] for k in METRIC_KEYS}
