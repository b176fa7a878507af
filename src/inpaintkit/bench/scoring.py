"""Per-item scores (:mod:`inpaintkit.metrics`) and the project-internal KID of a set of results."""

from __future__ import annotations

import numpy as np

KID_MIN_IMAGES = 16
"""KID (project-internal) is reported for a method x mask cell only with at least this many
images. It is an unbiased MMD^2 estimate, so small sets are not biased, but below about ten
images its spread is larger than the differences between methods. For tens of images read it as
a coarse realism signal; the paper's FID/KID practice uses thousands."""


class ItemScorer:
    """image_metrics for every item, plus LPIPS when :func:`~inpaintkit.metrics.lpips_scorer`
    can be built on this machine (else ``lpips_note`` says why it is skipped)."""

    def __init__(self) -> None:
        from ..errors import InpaintkitError
        from ..metrics import lpips_scorer

        self.lpips = None
        self.lpips_note = ""
        try:
            result = lpips_scorer()
        except InpaintkitError as err:
            self.lpips_note = str(err)
        else:
            if callable(result):
                self.lpips = result
            else:  # a skip message
                self.lpips_note = str(result)

    def __call__(self, result: np.ndarray, truth: np.ndarray, hole: np.ndarray) -> dict:
        """result, truth: uint8 [H, W, 3]; hole: bool [H, W]. Returns {metric: float}."""
        from ..metrics import image_metrics

        scores = {k: float(v) for k, v in image_metrics(result, truth, hole).items()}
        if self.lpips is not None:
            scores["lpips"] = float(self.lpips(result, truth))
        return scores


def kid_internal(real: np.ndarray, fake: np.ndarray, seed: int = 0) -> tuple[float, float, int]:
    """KID (project-internal emoji classifier features) of ``fake`` against ``real``.

    real, fake: uint8 [N, H, W, 3], N >= 2. Returns (value, spread, m): value is the unbiased
    MMD^2 estimate on all N images (the least noisy estimate these images give); spread is the
    std of the estimate over 100 random subsets of m = max(2, N // 2) images, a conservative
    indicator of its sampling noise (an estimate from N/2 images is noisier than one from N).
    Raises what RealismScorer raises when its classifier weights are missing.
    """
    from ..metrics import RealismScorer, kid_from_features

    scorer = _realism_scorer(RealismScorer)
    f_real, f_fake = scorer.features(real), scorer.features(fake)
    value, _ = kid_from_features(f_real, f_fake, subsets=1, subset_size=len(fake), seed=seed)
    m = max(2, len(fake) // 2)
    _, spread = kid_from_features(f_real, f_fake, subsets=100, subset_size=m, seed=seed)
    return float(value), float(spread), m


_SCORER: list = []


def _realism_scorer(cls: type) -> object:
    if not _SCORER or not isinstance(_SCORER[0], cls):
        _SCORER[:] = [cls()]
    return _SCORER[0]
