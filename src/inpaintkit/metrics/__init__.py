"""Scores for inpainting results: what can be measured offline, and nothing faked (DESIGN 5).

- :mod:`.pixel`: :func:`image_metrics`, PSNR, SSIM and L1, over the hole and the whole image.
- :mod:`.stats`: :func:`mean_ci`, a mean with its 95% Student-t confidence interval.
- :mod:`.lpips`: :func:`lpips_scorer`, LPIPS only with the user's real backbone weights, else
  :class:`LpipsUnavailable` ("LPIPS skipped: <why>").
- :mod:`.kid`: "KID (project-internal emoji classifier features)", key ``"kid_internal"``:
  :func:`kid_from_features`, :class:`RealismScorer` on the features of :mod:`.classifier`
  (trained by :mod:`.classifier_training`; script ``python -m
  inpaintkit.metrics.train_classifier``).

pixel, stats, lpips and kid import torch only when a scorer needs it (lpips, RealismScorer).
"""

from __future__ import annotations

from .kid import KID_INTERNAL_KEY, KID_INTERNAL_NAME, RealismScorer, kid_from_features
from .lpips import LpipsUnavailable, lpips_scorer
from .pixel import METRIC_KEYS, PSNR_CAP, image_metrics, psnr
from .stats import mean_ci

__all__ = [
    "KID_INTERNAL_KEY",
    "KID_INTERNAL_NAME",
    "METRIC_KEYS",
    "PSNR_CAP",
    "LpipsUnavailable",
    "RealismScorer",
    "image_metrics",
    "kid_from_features",
    "lpips_scorer",
    "mean_ci",
    "psnr",
]
