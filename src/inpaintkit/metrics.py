"""Scores for inpainting results: what can be measured offline, and nothing faked (DESIGN 5).

- :func:`image_metrics`: PSNR, SSIM and L1, over the hole and over the whole image.
- :func:`mean_ci`: a mean with its 95% Student-t confidence interval, for tables over images.
- :func:`lpips_scorer`: LPIPS, only when the user has the ``lpips`` package AND its backbone's
  pretrained weights on disk; otherwise :class:`LpipsUnavailable` says "LPIPS skipped: <why>".
  No package we depend on ships AlexNet/VGG weights, and LPIPS is never computed with a random
  backbone.
- "KID (project-internal emoji classifier features)", key ``"kid_internal"``: the kernel
  inception distance formula (Binkowski et al. 2018, "Demystifying MMD GANs") on the features of a
  small classifier trained by this project on the emoji TRAIN split
  (:mod:`inpaintkit.metrics_classifier`), NOT on Inception features. Its values are comparable
  only with other values from the same weights file; never report it as "KID" or "FID".
  :class:`RealismScorer`, :func:`kid_from_features`.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from .errors import InpaintkitError

#: PSNR reported for identical images (MSE 0), and the ceiling for every PSNR value, in dB.
PSNR_CAP = 100.0
#: The name to print next to ``kid_internal`` values, everywhere.
KID_INTERNAL_NAME = "KID (project-internal emoji classifier features)"
KID_INTERNAL_KEY = "kid_internal"

METRIC_KEYS = ("psnr_hole", "ssim_hole", "l1_hole", "psnr", "ssim", "l1")


# ---------------------------------------------------------------------------------------------
# PSNR / SSIM / L1


def _psnr(mse: float) -> float:
    """10 log10(255^2 / mse) in dB, capped at :data:`PSNR_CAP` (mse 0 -> the cap)."""
    if mse <= 0.0:
        return PSNR_CAP
    return min(PSNR_CAP, 10.0 * math.log10(255.0**2 / mse))


def _check_pair(result: np.ndarray, truth: np.ndarray, hole: np.ndarray) -> None:
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
    _check_pair(result, truth, hole)
    from skimage.metrics import structural_similarity

    if min(result.shape[:2]) < 7:
        raise InpaintkitError(f"SSIM needs images of at least 7x7 pixels, got {result.shape[:2]}")
    diff = result.astype(np.float64) - truth.astype(np.float64)
    sq, ab = diff**2, np.abs(diff) / 255.0
    _, ssim_map = structural_similarity(truth, result, channel_axis=-1, data_range=255, full=True)
    out = {
        "psnr": _psnr(float(sq.mean())),
        "ssim": float(ssim_map.mean()),
        "l1": float(ab.mean()),
    }
    if hole.any():
        out["psnr_hole"] = _psnr(float(sq[hole].mean()))
        out["ssim_hole"] = float(ssim_map[hole].mean())
        out["l1_hole"] = float(ab[hole].mean())
    else:
        out.update(psnr_hole=math.nan, ssim_hole=math.nan, l1_hole=math.nan)
    return {k: out[k] for k in METRIC_KEYS}


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


# ---------------------------------------------------------------------------------------------
# LPIPS, only with real weights


class LpipsUnavailable(InpaintkitError):
    """LPIPS cannot be computed here; the message starts with "LPIPS skipped: " and says why."""


#: torchvision's file names for the ImageNet weights LPIPS' backbones use (torch hub cache).
_BACKBONE_FILES = {
    "alex": "alexnet-owt-7be5be79.pth",
    "vgg": "vgg16-397923af.pth",
    "squeeze": "squeezenet1_1-b8a75f3a.pth",
}


def _lpips_skip(reason: str) -> LpipsUnavailable:
    return LpipsUnavailable(f"LPIPS skipped: {reason}")


def lpips_scorer(
    weights: str | Path | None = None, net: str = "alex"
) -> Callable[[np.ndarray, np.ndarray], float]:
    """An LPIPS scorer (Zhang et al. 2018), built only from weights already on this machine.

    weights: the backbone's torchvision ImageNet state dict (.pth), e.g.
    ``alexnet-owt-7be5be79.pth``; None (default) looks in torch hub's cache,
    ``<torch.hub.get_dir()>/checkpoints/``. net: "alex" (default), "vgg" or "squeeze".

    The ``lpips`` package (not a dependency of inpaintkit) bundles its linear-layer weights, but
    takes the backbone from torchvision's pretrained models, which download on first use. Here
    nothing is downloaded: the backbone is built random (``pnet_rand=True``) and then EVERY one of
    its parameters is overwritten from the local file, else no scorer is returned.

    Returns scorer(result, truth) -> float: the LPIPS distance (lower = more similar) of two
    uint8 [H, W, 3] images. Raises :class:`LpipsUnavailable` ("LPIPS skipped: <reason>") when
    lpips or torchvision is not installed or the weights are not on disk.
    """
    if net not in _BACKBONE_FILES:
        raise InpaintkitError(f"unknown LPIPS net {net!r}; choose one of {tuple(_BACKBONE_FILES)}")
    spec = importlib.util.find_spec("lpips")
    if spec is None:
        raise _lpips_skip(
            "the `lpips` package is not installed (it is optional: `pip install lpips`, which "
            "also needs torchvision and the backbone weights; see lpips_scorer's docstring)"
        )
    if importlib.util.find_spec("torchvision") is None:
        raise _lpips_skip("the `lpips` package needs torchvision, which is not installed")
    lin_file = None
    for location in spec.submodule_search_locations or []:
        candidate = Path(location) / "weights" / "v0.1" / f"{net}.pth"
        if candidate.is_file():
            lin_file = candidate
    if lin_file is None:
        raise _lpips_skip(f"the lpips package has no bundled linear weights weights/v0.1/{net}.pth")
    import torch

    if weights is None:
        weights = Path(torch.hub.get_dir()) / "checkpoints" / _BACKBONE_FILES[net]
    weights = Path(weights)
    if not weights.is_file():
        raise _lpips_skip(
            f"the {net} backbone's ImageNet weights are not on disk at {weights}; download "
            f"torchvision's {_BACKBONE_FILES[net]} there (or pass weights=<path>). "
            "inpaintkit never downloads them and never scores with a random backbone"
        )
    import lpips  # imports torchvision: only reached when the user has both

    model = lpips.LPIPS(net=net, pretrained=True, pnet_rand=True, verbose=False)
    _load_backbone(model.net, torch.load(weights, map_location="cpu", weights_only=True), weights)
    model.eval().requires_grad_(False)

    def scorer(result: np.ndarray, truth: np.ndarray) -> float:
        _check_pair(result, truth, np.zeros(result.shape[:2], dtype=bool))
        a, b = (
            torch.from_numpy(np.ascontiguousarray(im)).permute(2, 0, 1)[None].float() / 127.5 - 1
            for im in (result, truth)
        )
        with torch.inference_mode():
            return float(model(a, b).reshape(()))

    return scorer


def _load_backbone(net: object, state: dict, source: Path) -> None:
    """Copy torchvision ``features.<i>.<param path>`` tensors into lpips' sliced backbone, whose
    sub-modules keep torchvision's index <i> as their name; every parameter must be set."""
    import torch

    modules = {
        name: module
        for part in net.children()  # type: ignore[attr-defined]
        if isinstance(part, torch.nn.Sequential)
        for name, module in part.named_children()
    }
    targets = {
        f"features.{name}.{p}": param
        for name, m in modules.items()
        for p, param in m.named_parameters()
    }
    missing = sorted(set(targets) - set(state))
    if not targets or missing:
        raise _lpips_skip(
            f"{source} does not hold the {len(targets)} expected backbone tensors "
            f"(missing e.g. {missing[:3]})"
        )
    with torch.no_grad():
        for key, target in targets.items():
            if target.shape != state[key].shape:
                raise _lpips_skip(
                    f"{source}: {key} has shape {tuple(state[key].shape)}, "
                    f"expected {tuple(target.shape)}"
                )
            target.copy_(state[key])


# ---------------------------------------------------------------------------------------------
# KID (project-internal emoji classifier features)


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

    weights_path: a classifier .safetensors from :mod:`inpaintkit.metrics_classifier`; None
    (default) takes the shipped ``metrics_weights/emoji_classifier.safetensors``. The model runs
    on the CPU in float32; features are deterministic.

    Meaningful for emoji-like images on white (what the classifier saw); on photos it measures
    something, but nobody checked what. Report it as :data:`KID_INTERNAL_NAME`.
    """

    name = KID_INTERNAL_NAME
    key = KID_INTERNAL_KEY

    def __init__(self, weights_path: str | Path | None = None, batch_size: int = 128) -> None:
        from .metrics_classifier import load_classifier

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

        from .metrics_classifier import to_input

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
