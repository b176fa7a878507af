"""KID (project-internal emoji classifier features), key ``"kid_internal"``: the kernel inception
distance formula (Binkowski et al. 2018, "Demystifying MMD GANs") on the features of a small
classifier trained by this project on the emoji TRAIN split (:mod:`inpaintkit.metrics.classifier`),
NOT on Inception features. Its values are comparable only with other values from the same weights
file; never report it as "KID" or "FID"."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InpaintkitError

#: The name to print next to ``kid_internal`` values, everywhere.
KID_INTERNAL_NAME = "KID (project-internal emoji classifier features)"
KID_INTERNAL_KEY = "kid_internal"


def _mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 with k(a, b) = (a.b / d + 1)^3 for x, y float64 [m, d] (m >= 2)."""
    m, d = x.shape
    k_xx = (x @ x.T / d + 1.0) ** 3
    k_yy = (y @ y.T / d + 1.0) ** 3
    k_xy = (x @ y.T / d + 1.0) ** 3
    sum_xx = k_xx.sum() - np.trace(k_xx)
    sum_yy = k_yy.sum() - np.trace(k_yy)
    return float((sum_xx + sum_yy) / (m * (m - 1)) - 2.0 * k_xy.sum() / (m * m))


def kid_from_features(
    f_real: np.ndarray,
    f_fake: np.ndarray,
    subsets: int = 100,
    subset_size: int = 1000,
    seed: int | np.random.Generator = 0,
) -> tuple[float, float]:
    """Kernel inception distance formula on given features: (mean, std) over subsets.

    f_real: float [N_r, d]; f_fake: float [N_f, d] (same d). subsets: how many random subsets
    (default 100). subset_size: m, default 1000, lowered to min(N_r, N_f) when the sets are
    smaller (must end >= 2). seed: an int or a numpy Generator; each subset draws m rows of each
    set without replacement.

    Per subset: the unbiased MMD^2 estimate with the cubic polynomial kernel
    k(a, b) = (a.b / d + 1)^3 (Binkowski et al. 2018, as in their code and torch-fidelity):
    sum_{i!=j} k(x_i, x_j) / (m(m-1)) + sum_{i!=j} k(y_i, y_j) / (m(m-1))
    - 2 sum_{i,j} k(x_i, y_j) / m^2. Unbiased, so it can be slightly negative for samples of one
    distribution. With m = N_r = N_f every subset is the whole set and the std is 0.
    """
    f_real = np.asarray(f_real, dtype=np.float64)
    f_fake = np.asarray(f_fake, dtype=np.float64)
    if f_real.ndim != 2 or f_fake.ndim != 2 or f_real.shape[1] != f_fake.shape[1]:
        raise InpaintkitError(
            f"expected features [N_r, d] and [N_f, d] with the same d, got {f_real.shape} "
            f"and {f_fake.shape}"
        )
    if subsets < 1:
        raise InpaintkitError(f"subsets must be >= 1, got {subsets}")
    m = min(subset_size, len(f_real), len(f_fake))
    if m < 2:
        raise InpaintkitError(
            f"KID needs at least 2 samples per set and subset_size >= 2; got N_r={len(f_real)}, "
            f"N_f={len(f_fake)}, subset_size={subset_size}"
        )
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    values = np.empty(subsets)
    for s in range(subsets):
        x = f_real[rng.choice(len(f_real), m, replace=False)]
        y = f_fake[rng.choice(len(f_fake), m, replace=False)]
        values[s] = _mmd2_unbiased(x, y)
    return float(values.mean()), float(values.std())


class RealismScorer:
    """KID (project-internal emoji classifier features): how far a set of images is from a
    reference set, seen through the shipped emoji classifier.

    weights_path: a classifier .safetensors from :mod:`inpaintkit.metrics.classifier`; None
    (default) takes the shipped ``metrics_weights/emoji_classifier.safetensors``. The model runs
    on the CPU in float32; features are deterministic.

    Meaningful for emoji-like images on white (what the classifier saw); on photos it measures
    something, but nobody checked what. Report it as :data:`KID_INTERNAL_NAME`.
    """

    name = KID_INTERNAL_NAME
    key = KID_INTERNAL_KEY

    def __init__(self, weights_path: str | Path | None = None, batch_size: int = 128) -> None:
        from .classifier import load_classifier

        self.model, self.meta = load_classifier(weights_path)
        self.input_size: int = int(self.meta["config"]["input_size"])
        self.batch_size = batch_size

    def _resize(self, images: np.ndarray) -> np.ndarray:
        from PIL import Image

        s = self.input_size
        if images.shape[1:3] == (s, s):
            return images
        return np.stack(
            [
                np.asarray(Image.fromarray(im).resize((s, s), Image.Resampling.BILINEAR))
                for im in images
            ]
        )

    def features(self, images: np.ndarray) -> np.ndarray:
        """uint8 [N, H, W, 3] -> float64 [N, d] (d = 128) penultimate classifier features.

        Images of another size are resized to the classifier's input size (64x64) with PIL
        bilinear (which low-pass filters when shrinking); non-square images are squashed.
        """
        if (
            not isinstance(images, np.ndarray)
            or images.dtype != np.uint8
            or images.ndim != 4
            or images.shape[3] != 3
        ):
            raise InpaintkitError(
                f"expected uint8 images [N, H, W, 3], got "
                f"{getattr(images, 'dtype', type(images).__name__)} {getattr(images, 'shape', '')}"
            )
        import torch

        from .classifier import to_input

        out = []
        with torch.inference_mode():
            for i in range(0, len(images), self.batch_size):
                batch = to_input(self._resize(images[i : i + self.batch_size]))
                out.append(self.model.features(batch).double().numpy())
        if not out:
            return np.zeros((0, self.model.config.feature_dim))
        return np.concatenate(out)

    def kid(
        self,
        real: np.ndarray,
        fake: np.ndarray,
        subsets: int = 100,
        subset_size: int = 1000,
        seed: int | np.random.Generator = 0,
    ) -> tuple[float, float]:
        """KID (project-internal emoji classifier features) of two image sets: (mean, std).

        real, fake: uint8 [N, H, W, 3] (sizes may differ between sets; at least 2 each).
        subsets, subset_size, seed: as in :func:`kid_from_features`. Lower is closer to real.
        """
        return kid_from_features(
            self.features(real), self.features(fake), subsets, subset_size, seed
        )
