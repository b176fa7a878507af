"""The classical baselines (methods/classical.py, pde.py, criminisi.py): the invariants every
method keeps, fill accuracy on images whose truth is known, options and determinism."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from PIL import Image

import inpaintkit
from inpaintkit.api import build_method
from inpaintkit.errors import InpaintkitError
from inpaintkit.methods import METHODS, Job, run_method
from inpaintkit.methods.classical.criminisi import _Sources
from inpaintkit.methods.classical.pde import PDEDiffusion, PDEOptions

BASELINES = [
    "telea", "navier-stokes", "biharmonic", "patchmatch", "pde-diffusion", "pull-push", "exemplar"
]  # fmt: skip
DETERMINISTIC = [name for name in BASELINES if name != "patchmatch"]  # rng unused
MAGENTA = np.array([255, 0, 255], np.uint8)
N = 48


def _square(size: int = N, start: int = 16, stop: int = 32) -> np.ndarray:
    hole = np.zeros((size, size), bool)
    hole[start:stop, start:stop] = True
    return hole


def _texture(size: int = N, seed: int = 0) -> np.ndarray:
    """Smooth blobs plus noise, kept away from pure magenta."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    base = np.stack([np.sin(6 * x + 1), np.cos(5 * y), np.sin(4 * (x + y))], -1) * 60 + 120
    return np.clip(base + rng.normal(0, 12, base.shape), 0, 200).astype(np.uint8)


def _gradient(size: int = N) -> np.ndarray:
    """A linear ramp in every channel (slopes up to 4 grey levels a pixel)."""
    y, x = np.mgrid[0:size, 0:size]
    return np.stack([x * 4 + 20, y * 3 + 30, (x + y) * 2 + 10], -1).astype(np.uint8)


def _stripes(size: int = N, period: int = 6) -> np.ndarray:
    y, x = np.mgrid[0:size, 0:size]
    value = np.where(x % period < period // 2, 210, 40).astype(np.uint8)
    return np.stack([value, 255 - value, value // 2], -1)


def _hole_mae(out: Image.Image, truth: np.ndarray, hole: np.ndarray) -> float:
    return float(np.abs(np.asarray(out).astype(float)[hole] - truth[hole]).mean())


@pytest.mark.parametrize("name", BASELINES)
def test_known_pixels_exact_shape_and_hole_filled(name: str) -> None:
    truth, hole = _texture(), _square()
    image = truth.copy()
    image[hole] = MAGENTA  # the sentinel: none of it may survive
    out = inpaintkit.inpaint(image, hole, method=name)
    a = np.asarray(out)
    assert out.mode == "RGB" and out.size == (N, N) and a.shape == (N, N, 3)
    assert np.array_equal(a[~hole], image[~hole])
    assert not (a[hole] == MAGENTA).all(-1).any()
    assert _hole_mae(out, truth, hole) < 30  # measured 11.6 (pde) to 20.5 (exemplar)


@pytest.mark.parametrize("name", BASELINES)
def test_holes_on_the_border_of_a_wide_image(name: str) -> None:
    truth = _texture(size=52, seed=3)[:36]  # 36 rows, 52 columns
    hole = np.zeros((36, 52), bool)
    hole[10:20, :5] = True  # on the left edge
    hole[30:, 46:] = True  # in the bottom-right corner
    hole[np.arange(4, 30), np.arange(14, 40)] = True  # a thin diagonal scratch
    image = truth.copy()
    image[hole] = MAGENTA
    out = inpaintkit.inpaint(image, hole, method=name)
    a = np.asarray(out)
    assert a.shape == (36, 52, 3) and np.array_equal(a[~hole], image[~hole])
    assert not (a[hole] == MAGENTA).all(-1).any()
    assert _hole_mae(out, truth, hole) < 30  # measured 10.2 (pde) to 16.3 (exemplar)


@pytest.mark.parametrize("name", BASELINES)
def test_constant_image_is_filled_with_its_colour(name: str) -> None:
    truth = np.zeros((32, 32, 3), np.uint8) + np.array([90, 160, 30], np.uint8)
    hole = _square(32, 10, 22)
    # telea leaves an error of about 0.7 grey levels; the others are exact
    assert _hole_mae(inpaintkit.inpaint(truth, hole, method=name), truth, hole) < 1.0


@pytest.mark.parametrize(
    ("name", "options", "bound"),
    [
        ("biharmonic", {}, 0.5),  # measured 0.0: a ramp is biharmonic
        ("pde-diffusion", {}, 0.5),  # measured 0.0: a ramp is harmonic
        ("pde-diffusion", {"kind": "perona-malik"}, 0.5),  # measured 0.0
        ("navier-stokes", {}, 6.0),  # measured 4.8 (slopes of 2-4 grey levels a pixel)
        ("telea", {}, 7.5),  # measured 6.1
        ("patchmatch", {}, 3.0),  # measured 1.3
        ("pull-push", {}, 6.0),  # measured 4.7: the smooth pyramid bends the ramp
    ],
)
def test_gradient_is_continued(name: str, options: dict, bound: float) -> None:
    truth, hole = _gradient(), _square()
    assert _hole_mae(inpaintkit.inpaint(truth, hole, method=name, **options), truth, hole) < bound


@pytest.mark.parametrize(
    ("name", "options", "bound"),
    [
        ("exemplar", {}, 0.5),  # measured 0.0
        ("exemplar", {"patch_size": 5, "search_radius": 6}, 0.5),  # measured 0.0
        ("patchmatch", {}, 2.0),  # measured 0.25
    ],
)
def test_stripes_are_reproduced(name: str, options: dict, bound: float) -> None:
    truth, hole = _stripes(), _square()
    image = truth.copy()
    image[hole] = MAGENTA
    out = inpaintkit.inpaint(image, hole, method=name, **options)
    assert _hole_mae(out, truth, hole) < bound


def test_perona_malik_keeps_a_colour_step_that_diffusion_blurs() -> None:
    truth = np.zeros((N, N, 3), np.uint8)
    truth[:, : N // 2], truth[:, N // 2 :] = (200, 40, 40), (30, 60, 220)
    hole = _square(N, 14, 34)
    blurred = _hole_mae(inpaintkit.inpaint(truth, hole, method="pde-diffusion"), truth, hole)
    sharp = inpaintkit.inpaint(truth, hole, method="pde-diffusion", kind="perona-malik")
    assert blurred > 10 and _hole_mae(sharp, truth, hole) < 1.0


def test_exemplar_continues_structure_through_the_hole() -> None:
    y, x = np.mgrid[0:N, 0:N]
    truth = np.where((x + y < N)[..., None], [40, 120, 200], [230, 200, 60]).astype(np.uint8)
    truth[22:26] = (200, 30, 30)  # a bar across the diagonal edge
    hole = _square(N, 14, 34)
    out = inpaintkit.inpaint(truth, hole, method="exemplar", patch_size=7)
    smooth = inpaintkit.inpaint(truth, hole, method="pde-diffusion")
    # measured 6.8 against 39.7: the edge and the bar are continued, not blurred
    assert _hole_mae(out, truth, hole) < min(12, 0.5 * _hole_mae(smooth, truth, hole))


@pytest.mark.parametrize("name", BASELINES)
def test_same_seed_same_bytes_and_empty_hole_returns_input(name: str) -> None:
    image, hole = _texture(seed=1), _square()
    first = inpaintkit.inpaint(image, hole, method=name, seed=3)
    again = inpaintkit.inpaint(image, hole, method=name, seed=3)
    assert first.tobytes() == again.tobytes()
    if name in DETERMINISTIC:  # these ignore the seed altogether
        other = inpaintkit.inpaint(image, hole, method=name, seed=4)
        assert other.tobytes() == first.tobytes()
    empty = inpaintkit.inpaint(image, np.zeros((N, N), bool), method=name)
    assert empty.tobytes() == Image.fromarray(image).tobytes()


def test_patchmatch_is_seeded_per_sample() -> None:
    image, hole = _texture(seed=2), _square()
    method = build_method("patchmatch")
    jobs = [Job(Image.fromarray(image), hole)]
    together = run_method(method, jobs, samples=3, seed=7)[0]
    alone = run_method(method, jobs, samples=3, seed=7, batch_size=1)[0]
    assert [x.tobytes() for x in together] == [x.tobytes() for x in alone]
    assert len({x.tobytes() for x in together}) > 1  # the seed reaches the random search


@pytest.mark.parametrize("name", BASELINES)
def test_full_hole_is_refused(name: str) -> None:
    with pytest.raises(InpaintkitError, match="whole image"):
        inpaintkit.inpaint(_texture(size=16), np.ones((16, 16), bool), method=name)


def test_batch_of_jobs_through_run_method() -> None:
    method = build_method("exemplar", patch_size=5)
    holes = [_square(32, 8, 20), np.zeros((32, 32), bool), _square(32, 0, 6)]  # corner hole too
    jobs = [Job(Image.fromarray(_texture(32, n)), h) for n, h in enumerate(holes)]
    results = run_method(method, jobs, samples=2, seed=0)
    for job, outs in zip(jobs, results):
        assert len(outs) == 2 and outs[0].tobytes() == outs[1].tobytes()
        a, b = np.asarray(outs[0]), np.asarray(job.image)
        assert np.array_equal(a[~job.hole], b[~job.hole])


@pytest.mark.parametrize(
    ("name", "options", "words"),
    [
        ("exemplar", {"patch_size": 8}, "odd"),
        ("exemplar", {"patch_size": -3}, "odd"),
        ("exemplar", {"patch_size": 0}, "odd"),
        ("exemplar", {"patch_size": 9.0}, "odd"),
        ("exemplar", {"search_radius": -1}, "search_radius"),
        ("telea", {"radius": 0}, "radius"),
        ("navier-stokes", {"radius": -2.5}, "radius"),
        ("patchmatch", {"patch_radius": 0}, "patch_radius"),
        ("pde-diffusion", {"kind": "anisotropic"}, "isotropic"),
        ("pde-diffusion", {"kappa": 0}, "kappa"),
        ("pde-diffusion", {"iterations": 0}, "iterations"),
        ("pde-diffusion", {"relaxation": 2.0}, "relaxation"),
        ("pde-diffusion", {"tolerance": -1}, "tolerance"),
        ("telea", {"patch_size": 3}, "valid"),  # an option of another method
    ],
)
def test_bad_options_are_refused(name: str, options: dict, words: str) -> None:
    with pytest.raises(InpaintkitError, match=words):
        build_method(name, **options)


def test_exemplar_refuses_an_image_without_a_full_patch() -> None:
    with pytest.raises(InpaintkitError, match="smaller patch_size"):
        inpaintkit.inpaint(_texture(size=8), _square(8, 2, 5), method="exemplar", patch_size=9)


@pytest.mark.parametrize("name", BASELINES)
def test_registered_with_summary_and_refuse_a_model(name: str) -> None:
    cls = METHODS[name]
    assert cls.name == name and cls.needs.model_kind is None
    assert cls.cost(cls.Options()) == {"network_evaluations": 0}
    assert cls.summary.strip() and "\n" not in cls.summary
    with pytest.raises(InpaintkitError, match="no diffusion model"):
        build_method(name, model="default")


def test_every_registered_method_has_a_summary() -> None:
    assert set(BASELINES) <= set(METHODS)
    for cls in METHODS.values():
        assert isinstance(cls.summary, str) and cls.summary.strip()


def test_missing_library_names_the_pip_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cv2", None)  # import cv2 now raises ImportError
    with pytest.raises(InpaintkitError, match="pip install opencv-python-headless"):
        inpaintkit.inpaint(_texture(size=16), _square(16, 4, 8), method="telea")


def test_exemplar_search_matches_brute_force_ssd() -> None:
    """The FFT SSD (Criminisi eq. 3 over known target pixels) against a direct loop."""
    rng = np.random.default_rng(5)
    image = rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)
    hole = np.zeros((20, 24), bool)
    hole[6:12, 6:12] = True
    size, half = 5, 2
    sources = _Sources(image, hole, size)
    target = rng.integers(0, 256, (size, size, 3)).astype(np.float64)
    mask = rng.random((size, size)) < 0.6
    best, best_ssd = None, np.inf
    for top in range(20 - size + 1):
        for left in range(24 - size + 1):
            if hole[top : top + size, left : left + size].any():
                continue
            patch = image[top : top + size, left : left + size].astype(np.float64)
            ssd = ((patch - target) ** 2)[mask].sum()
            if ssd < best_ssd:
                best, best_ssd = (top, left), ssd
    assert sources.best(target, mask, (8 - half, 9 - half), None) == best
    ssd = sources._ssd(target, mask, None)
    top, left = best
    assert ssd[top, left] == best_ssd


def test_pde_converges_to_the_harmonic_fill() -> None:
    image, hole = _texture(), _square()
    fast = PDEDiffusion().fill(image, hole, np.random.default_rng(0)).astype(int)
    slow = PDEDiffusion(PDEOptions(relaxation=1.0, tolerance=1e-4, iterations=20000))
    exact = slow.fill(image, hole, np.random.default_rng(0)).astype(int)
    assert np.abs(fast - exact).max() <= 1  # the same fixed point, up to rounding
