"""Per-item scores (:mod:`inpaintkit.metrics`) and the project-internal KID of a set of results."""

from __future__ import annotations

import numpy as np

KID_MIN_IMAGES = 16
"""KID (project-internal) is reported for a method x mask cell only with at least this many
images ("enough"). The estimate (:func:`kid_internal`) is unbiased at any n, but its noise grows
as n shrinks: on the 32x32 emoji test images, 16 images give subset spreads of about 0.001-0.01
while RePaint and the SDEdit-style sampler differ by about 0.01-0.02 on sr2x; below 16 the
spread swamps such differences. The paper's FID/KID practice uses thousands of images; read
tens as a coarse realism signal next to PSNR/SSIM."""


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


def paired_mmd2(f_real: np.ndarray, f_fake: np.ndarray) -> float:
    """Unbiased MMD^2 of PAIRED samples (f_real[i] and f_fake[i] come from the same image).

    f_real, f_fake: float [N, d], N >= 2. KID's kernel k(a, b) = (a.b / d + 1)^3, and the
    U-statistic over pairs i != j in ALL three terms (Gretton et al. 2012, MMD^2_u):
    sum_{i!=j} [k(x_i,x_j) + k(y_i,y_j) - k(x_i,y_j) - k(x_j,y_i)] / (N (N-1)).
    The usual KID estimate keeps i = j in the cross term, which is unbiased only for
    independent sets: for paired sets k(x_i, y_i) is large and drags it below zero (identical
    sets then score about -0.1 with the project's classifier instead of 0).
    """
    x, y = np.asarray(f_real, np.float64), np.asarray(f_fake, np.float64)
    n, d = x.shape
    k_xx, k_yy, k_xy = ((a @ b.T / d + 1.0) ** 3 for a, b in ((x, x), (y, y), (x, y)))
    off = ~np.eye(n, dtype=bool)
    return float((k_xx[off].sum() + k_yy[off].sum() - 2.0 * k_xy[off].sum()) / (n * (n - 1)))


def kid_internal(real: np.ndarray, fake: np.ndarray, seed: int = 0) -> tuple[float, float, int]:
    """KID (project-internal emoji classifier features) of results ``fake`` against the ground
    truth ``real`` of the SAME images, in the same order.

    real, fake: uint8 [N, H, W, 3], N >= 2. Features: :class:`~inpaintkit.metrics.
    RealismScorer` (the project's emoji classifier). Estimate: :func:`paired_mmd2` on all N
    pairs (0 for identical sets; noise around 0 when the results are as realistic as the truth).
    Returns (value, spread, m): spread is the std of the estimate over 100 random subsets of
    m = max(2, N // 2) pairs, a conservative indicator of its sampling noise. Raises what
    RealismScorer raises when its classifier weights are missing.
    """
    from ..errors import InpaintkitError
    from ..metrics import RealismScorer

    if len(real) != len(fake) or len(real) < 2:
        raise InpaintkitError(f"need >= 2 paired images, got {len(real)} and {len(fake)}")
    scorer = _realism_scorer(RealismScorer)
    f_real, f_fake = scorer.features(real), scorer.features(fake)
    m = max(2, len(fake) // 2)
    rng = np.random.default_rng(seed)
    subsets = [rng.choice(len(fake), m, replace=False) for _ in range(100)]
    spread = np.std([paired_mmd2(f_real[i], f_fake[i]) for i in subsets])
    return paired_mmd2(f_real, f_fake), float(spread), m


_SCORER: list = []


def _realism_scorer(cls: type) -> object:
    if not _SCORER or not isinstance(_SCORER[0], cls):
        _SCORER[:] = [cls()]
    return _SCORER[0]
