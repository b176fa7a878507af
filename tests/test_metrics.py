"""Metrics: PSNR/SSIM/L1 against analytic values, mean_ci, the KID formula, the shipped emoji
classifier behind "KID (project-internal emoji classifier features)", and LPIPS' skip message."""

from __future__ import annotations

import importlib.util
import itertools
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from inpaintkit.errors import InpaintkitError
from inpaintkit.metrics import (
    KID_INTERNAL_KEY,
    KID_INTERNAL_NAME,
    PSNR_CAP,
    LpipsUnavailable,
    RealismScorer,
    image_metrics,
    kid_from_features,
    lpips_scorer,
    mean_ci,
)
from inpaintkit.metrics.classifier import CLASSES, DEFAULT_WEIGHTS, load_classifier, predict

TEST_IMAGES = Path(__file__).parent / "data" / "emoji_test_64"
# emoji.json category (index into CLASSES) of each tests/data/emoji_test_64 PNG, sorted file order.
TEST_LABELS = "8888888887433514211111110006666641000147740133211662210174656457"
# Measured with the shipped weights: 47/64 correct (majority class: 15/64 = 0.234).
MEASURED_ACCURACY = 47 / 64


@pytest.fixture(scope="module")
def emoji64() -> np.ndarray:
    files = sorted(TEST_IMAGES.glob("*.png"))
    assert len(files) == len(TEST_LABELS) == 64
    return np.stack([np.asarray(Image.open(f).convert("RGB")) for f in files])


@pytest.fixture(scope="module")
def scorer() -> RealismScorer:
    return RealismScorer()


def _random_image(seed: int, size: int = 32, high: int = 246) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, high, (size, size, 3), dtype=np.uint8)


# --------------------------------------------------------------------------- image_metrics


def test_identical_images_give_cap_ssim_one_l1_zero() -> None:
    truth = _random_image(0)
    hole = np.zeros((32, 32), bool)
    hole[8:20, 4:30] = True
    m = image_metrics(truth.copy(), truth, hole)
    assert list(m) == ["psnr_hole", "ssim_hole", "l1_hole", "psnr", "ssim", "l1"]
    assert m["psnr"] == m["psnr_hole"] == PSNR_CAP == 100.0
    assert m["ssim"] == pytest.approx(1.0, abs=1e-12)
    assert m["ssim_hole"] == pytest.approx(1.0, abs=1e-12)
    assert m["l1"] == m["l1_hole"] == 0.0


def test_constant_offset_in_hole_gives_analytic_psnr_and_l1() -> None:
    truth = _random_image(1)  # values < 246, so +10 never clips
    hole = np.zeros((32, 32), bool)
    hole[4:20, 8:24] = True  # 256 of 1024 pixels
    result = truth.copy()
    result[hole] += 10
    m = image_metrics(result, truth, hole)
    frac = hole.mean()
    assert frac == 0.25
    assert m["psnr_hole"] == pytest.approx(20 * math.log10(255 / 10), abs=1e-12)  # 28.13 dB
    assert m["psnr"] == pytest.approx(10 * math.log10(255**2 / (100 * frac)), abs=1e-12)
    assert m["psnr"] - m["psnr_hole"] == pytest.approx(10 * math.log10(4), abs=1e-12)
    assert m["l1_hole"] == pytest.approx(10 / 255, abs=1e-15)
    assert m["l1"] == pytest.approx(10 / 255 * frac, abs=1e-15)
    assert m["ssim_hole"] < m["ssim"] < 1.0


def test_whole_image_hole_equals_full_metrics_and_ssim_matches_skimage_map() -> None:
    from skimage.metrics import structural_similarity

    truth, result = _random_image(2), _random_image(3)
    m = image_metrics(result, truth, np.ones((32, 32), bool))
    for key in ("psnr", "ssim", "l1"):
        assert m[f"{key}_hole"] == pytest.approx(m[key], abs=1e-12)
    _, smap = structural_similarity(truth, result, channel_axis=-1, data_range=255, full=True)
    assert m["ssim"] == pytest.approx(smap.mean(), abs=1e-12)


def test_psnr_is_capped_for_tiny_errors_and_empty_hole_gives_nan() -> None:
    truth = np.full((256, 256, 3), 100, np.uint8)
    result = truth.copy()
    result[0, 0, 0] += 1  # 10 log10(255^2 * 196608) = 101.1 dB -> capped
    m = image_metrics(result, truth, np.zeros((256, 256), bool))
    assert m["psnr"] == PSNR_CAP
    assert all(math.isnan(m[k]) for k in ("psnr_hole", "ssim_hole", "l1_hole"))
    assert m["l1"] == pytest.approx(1 / 255 / (256 * 256 * 3))


def test_image_metrics_rejects_bad_input() -> None:
    img, hole = _random_image(4), np.zeros((32, 32), bool)
    with pytest.raises(InpaintkitError, match="uint8"):
        image_metrics(img.astype(np.float32), img, hole)
    with pytest.raises(InpaintkitError, match="differ in shape"):
        image_metrics(img[:16], img, hole)
    with pytest.raises(InpaintkitError, match="bool"):
        image_metrics(img, img, hole.astype(np.uint8))
    with pytest.raises(InpaintkitError, match="does not match"):
        image_metrics(img, img, hole[:16])
    with pytest.raises(InpaintkitError, match="3 channels"):
        image_metrics(img[..., :1], img[..., :1], hole)
    with pytest.raises(InpaintkitError, match="7x7"):
        image_metrics(img[:5, :5], img[:5, :5], hole[:5, :5])


# --------------------------------------------------------------------------- mean_ci


def test_mean_ci_student_t_on_known_data() -> None:
    # s = sqrt(2.5), t_{0.975, 4} = 2.7764451, half width = t * s / sqrt(5) = 1.9632432
    mean, lo, hi = mean_ci([1.0, 2.0, float("nan"), 3.0, 4.0, 5.0])
    assert mean == 3.0
    assert lo == pytest.approx(3 - 1.9632432, abs=1e-6)
    assert hi == pytest.approx(3 + 1.9632432, abs=1e-6)
    assert mean_ci([2.0, 2.0, 2.0]) == (2.0, 2.0, 2.0)
    one = mean_ci([7.0])
    assert one[0] == 7.0 and math.isnan(one[1]) and math.isnan(one[2])
    assert all(math.isnan(v) for v in mean_ci([float("nan")]))
    assert mean_ci([1.0, 3.0], confidence=0.5)[2] == pytest.approx(3.0)  # t_{0.75,1} = 1


# --------------------------------------------------------------------------- KID formula


def _mmd2_by_loops(x: np.ndarray, y: np.ndarray) -> float:
    m, d = x.shape

    def k(a: np.ndarray, b: np.ndarray) -> float:
        return (float(a @ b) / d + 1.0) ** 3

    pairs = [(i, j) for i, j in itertools.product(range(m), repeat=2) if i != j]
    kxx = sum(k(x[i], x[j]) for i, j in pairs) / (m * (m - 1))
    kyy = sum(k(y[i], y[j]) for i, j in pairs) / (m * (m - 1))
    kxy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / m**2
    return kxx + kyy - 2 * kxy


def test_kid_from_features_matches_the_formula_written_out() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(6, 5)), rng.normal(0.3, 1.0, size=(6, 5))
    mean, std = kid_from_features(x, y, subsets=3, subset_size=50, seed=1)  # m -> 6: whole sets
    assert mean == pytest.approx(_mmd2_by_loops(x, y), rel=1e-12)
    assert std == pytest.approx(0.0, abs=1e-12)


def test_kid_from_features_zero_for_same_distribution_and_monotone_in_shift() -> None:
    rng = np.random.default_rng(0)
    d = 32
    real = rng.normal(size=(600, d))
    same = rng.normal(size=(600, d))
    kid0, std0 = kid_from_features(real, same, subsets=20, subset_size=300, seed=0)
    assert abs(kid0) < 0.01 and std0 < 0.02
    kids = [
        kid_from_features(real, same + shift, subsets=20, subset_size=300, seed=0)[0]
        for shift in (0.1, 0.25, 0.5, 1.0)
    ]
    assert kids[0] > 3 * abs(kid0)
    assert all(a < b for a, b in zip(kids, kids[1:])), kids
    assert kids[-1] > 1.0


def test_kid_from_features_is_seeded_and_checks_shapes() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(50, 8)), rng.normal(size=(40, 8))
    assert kid_from_features(a, b, 5, 20, seed=3) == kid_from_features(a, b, 5, 20, seed=3)
    assert kid_from_features(a, b, 5, 20, seed=3) != kid_from_features(a, b, 5, 20, seed=4)
    with pytest.raises(InpaintkitError, match="same d"):
        kid_from_features(a, b[:, :4])
    with pytest.raises(InpaintkitError, match="at least 2"):
        kid_from_features(a[:1], b)


# --------------------------------------------------------------------------- the classifier


def test_shipped_classifier_loads_and_classifies_test_emoji(emoji64: np.ndarray) -> None:
    model, meta = load_classifier()
    assert DEFAULT_WEIGHTS.stat().st_size < 2_000_000
    assert meta["classes"] == list(CLASSES) and len(CLASSES) == 9
    n_params = sum(p.numel() for p in model.parameters())
    assert 100_000 <= n_params <= 300_000 and meta["training"]["parameters"] == n_params
    assert meta["training"]["google_test_base_accuracy"] > 0.5
    labels = np.array([int(c) for c in TEST_LABELS])
    accuracy = float((predict(model, emoji64) == labels).mean())
    majority = np.bincount(labels).max() / len(labels)  # 15 / 64
    assert accuracy >= MEASURED_ACCURACY - 3 / 64
    assert accuracy > majority + 0.3


def test_features_are_deterministic_and_batch_independent(
    scorer: RealismScorer, emoji64: np.ndarray
) -> None:
    f1 = scorer.features(emoji64)
    assert f1.shape == (64, 128) and f1.dtype == np.float64
    assert np.array_equal(f1, scorer.features(emoji64))
    f_small = np.concatenate([scorer.features(emoji64[i : i + 5]) for i in range(0, 64, 5)])
    np.testing.assert_allclose(f_small, f1, rtol=0, atol=2e-4)  # float32 conv order
    # other sizes are resized to 64x64 (PIL bilinear)
    big = np.stack([np.asarray(Image.fromarray(im).resize((128, 128))) for im in emoji64[:4]])
    assert scorer.features(big).shape == (4, 128)
    with pytest.raises(InpaintkitError, match=r"\[N, H, W, 3\]"):
        scorer.features(emoji64[0])


def test_realism_scorer_ranks_degraded_images_worse(
    scorer: RealismScorer, emoji64: np.ndarray
) -> None:
    assert scorer.name == KID_INTERNAL_NAME == "KID (project-internal emoji classifier features)"
    assert scorer.key == KID_INTERNAL_KEY == "kid_internal"
    ref, cand = emoji64[0::2], emoji64[1::2]  # two disjoint halves of 32 real emoji
    rng = np.random.default_rng(0)
    noisy25, noisy50 = (
        np.clip(cand + rng.normal(0, sigma, cand.shape), 0, 255).astype(np.uint8)
        for sigma in (25, 50)
    )
    blurred = np.stack(
        [np.asarray(Image.fromarray(im).filter(ImageFilter.GaussianBlur(2))) for im in cand]
    )
    kid = {
        name: scorer.kid(ref, images, subsets=1, subset_size=32)[0]
        for name, images in [
            ("real", cand),
            ("noise25", noisy25),
            ("noise50", noisy50),
            ("blur2", blurred),
        ]
    }
    # measured: real -0.023, noise25 0.034, noise50 ~0.2, blur2 0.151
    assert abs(kid["real"]) < 0.05
    assert kid["real"] + 0.03 < kid["noise25"] < kid["noise50"]
    assert kid["blur2"] > kid["real"] + 0.1


# --------------------------------------------------------------------------- LPIPS


@pytest.mark.skipif(importlib.util.find_spec("lpips") is not None, reason="lpips is installed")
def test_lpips_skips_with_a_clear_message_when_not_installed() -> None:
    with pytest.raises(LpipsUnavailable, match=r"^LPIPS skipped: the `lpips` package is not"):
        lpips_scorer()
    with pytest.raises(InpaintkitError, match="unknown LPIPS net"):
        lpips_scorer(net="resnet")


def test_lpips_skips_when_backbone_weights_are_not_on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pretend lpips and torchvision are installed: without the AlexNet file nothing is built
    (and nothing is imported or downloaded)."""
    import importlib.machinery

    (tmp_path / "lpips" / "weights" / "v0.1").mkdir(parents=True)
    (tmp_path / "lpips" / "weights" / "v0.1" / "alex.pth").write_bytes(b"")
    real_find_spec = importlib.util.find_spec

    def fake_find_spec(name: str, *args: object) -> object:
        if name == "lpips":
            spec = importlib.machinery.ModuleSpec("lpips", None, is_package=True)
            spec.submodule_search_locations = [str(tmp_path / "lpips")]
            return spec
        if name == "torchvision":
            return importlib.machinery.ModuleSpec("torchvision", None)
        return real_find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", fake_find_spec)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    with pytest.raises(LpipsUnavailable, match=r"^LPIPS skipped: .*alexnet-owt-7be5be79\.pth"):
        lpips_scorer()
    with pytest.raises(LpipsUnavailable, match=r"^LPIPS skipped: .*not on disk"):
        lpips_scorer(weights=tmp_path / "missing.pth")


def test_lpips_backbone_loader_sets_every_parameter_or_refuses(tmp_path: Path) -> None:
    """lpips slices torchvision's ``features`` into slice1.. keeping the indices as names;
    the loader maps ``features.<i>.<path>`` onto them (nested paths too, as in SqueezeNet)."""
    import torch
    from torch import nn

    from inpaintkit.metrics.lpips import _load_backbone

    def features() -> nn.Sequential:
        fire = nn.Module()
        fire.squeeze = nn.Conv2d(8, 4, 1)
        return nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), fire, nn.ReLU())

    torch.manual_seed(0)
    source = features()
    state = {f"features.{k}": v for k, v in source.state_dict().items()}
    torch.manual_seed(1)
    fresh = list(features())
    net = nn.Module()
    net.slice1 = nn.Sequential()
    net.slice1.add_module("0", fresh[0])
    net.slice1.add_module("1", fresh[1])
    net.slice2 = nn.Sequential()
    net.slice2.add_module("2", fresh[2])
    _load_backbone(net, state, tmp_path / "w.pth")
    assert torch.equal(net.slice1[0].weight, source[0].weight)
    assert torch.equal(net.slice2[0].squeeze.bias, source[2].squeeze.bias)
    del state["features.2.squeeze.weight"]
    with pytest.raises(LpipsUnavailable, match="LPIPS skipped: .*missing"):
        _load_backbone(net, state, tmp_path / "w.pth")


def test_metrics_package_keeps_every_name_and_splits_the_classifier() -> None:
    """inpaintkit.metrics re-exports today's names from its modules; the classifier's network,
    trainer and command line are three modules, and the shipped weights path is unchanged."""
    import inpaintkit.metrics as metrics
    from inpaintkit.metrics import classifier, classifier_training, kid, lpips, pixel, stats
    from inpaintkit.metrics import train_classifier as cli

    assert metrics.image_metrics is pixel.image_metrics and metrics.mean_ci is stats.mean_ci
    assert metrics.lpips_scorer is lpips.lpips_scorer and metrics.RealismScorer is kid.RealismScorer
    assert metrics.kid_from_features is kid.kid_from_features
    assert metrics.KID_INTERNAL_NAME == "KID (project-internal emoji classifier features)"
    assert metrics.psnr(0.0) == PSNR_CAP and metrics.psnr(255.0**2) == 0.0
    assert classifier.DEFAULT_WEIGHTS.is_file()
    assert classifier.DEFAULT_WEIGHTS.parent.name == "metrics_weights"
    assert classifier.DEFAULT_WEIGHTS.parent.parent.name == "inpaintkit"
    assert not hasattr(classifier, "train_classifier") and not hasattr(classifier, "main")
    assert classifier_training.train_classifier.__module__ == classifier_training.__name__
    assert cli.train_classifier is classifier_training.train_classifier
    with pytest.raises(InpaintkitError, match="epochs must be >= 1"):
        classifier_training.train_classifier("/nonexistent/x.safetensors", epochs=0)


def test_train_classifier_command_line_help(capsys: pytest.CaptureFixture[str]) -> None:
    from inpaintkit.metrics.train_classifier import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "--out" in out and "--epochs" in out and "emoji_classifier.safetensors" in out
