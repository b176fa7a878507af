"""Statistics for tables over images: a mean with its confidence interval."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from ..errors import InpaintkitError


def mean_ci(values: Iterable[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t confidence interval: (mean, low, high).

    values: numbers (NaNs are ignored, so an empty-hole NaN drops out). confidence: the
    interval's coverage, default 0.95. The interval is mean -/+ t_{(1+c)/2, n-1} * s / sqrt(n)
    with s the sample standard deviation (ddof=1): it assumes roughly independent values and,
    for small n, roughly normal ones. n = 1 gives (value, nan, nan): one value says nothing
    about spread, so no interval is claimed. n = 0 gives (nan, nan, nan). Identical values give
    a zero-width interval.
    """
    if not 0.0 < confidence < 1.0:
        raise InpaintkitError(f"confidence must be in (0, 1), got {confidence}")
    arr = np.asarray(list(values), dtype=np.float64).ravel()
    arr = arr[~np.isnan(arr)]
    n = arr.size
    if n == 0:
        return math.nan, math.nan, math.nan
    mean = float(arr.mean())
    if n == 1:
        return mean, math.nan, math.nan
    from scipy.stats import t

    half = float(t.ppf(0.5 + confidence / 2.0, n - 1)) * float(arr.std(ddof=1)) / math.sqrt(n)
    return mean, mean - half, mean + half
