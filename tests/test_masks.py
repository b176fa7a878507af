"""Hole-mask generators: exact counts for the fixed RePaint settings, statistics for LaMa's."""

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from inpaintkit.errors import InpaintkitError
from inpaintkit.masks import MASK_KINDS, hole_fraction, make_hole, make_holes

RANDOM_KINDS = ("wide", "narrow", "thin", "medium", "thick", "box")


def test_kinds_order():
    assert MASK_KINDS[:6] == ("wide", "narrow", "sr2x", "altlines", "half", "expand")
    assert set(MASK_KINDS) == {"sr2x", "altlines", "half", "expand", *RANDOM_KINDS}


def test_sr2x_keeps_stride_2_grid():
    hole = make_hole("sr2x", 256)
    assert hole.shape == (256, 256) and hole.dtype == bool
    assert (~hole).sum() == 128 * 128  # a quarter of the pixels: the 128x128 low-res image
    assert not hole[0, 0] and not hole[2, 4]
    assert hole[1, 0] and hole[0, 1] and hole[1, 1]


def test_altlines_removes_odd_rows():
    hole = make_hole("altlines", 256)
    assert hole[1::2].all() and not hole[0::2].any()
    assert hole.all(axis=1).sum() == 128  # exactly half the rows are gone
    assert hole_fraction(hole) == 0.5


def test_half_keeps_left_half():
    hole = make_hole("half", 256)
    assert hole_fraction(hole) == 0.5
    assert not hole[:, :128].any() and hole[:, 128:].all()


def test_expand_keeps_centre_crop():
    hole = make_hole("expand", 256)
    assert (~hole).sum() == 64 * 64
    assert not hole[96:160, 96:160].any()
    hole[96:160, 96:160] = True
    assert hole.all()
    hole = make_hole("expand", (64, 128))  # non-square: (H/4) x (W/4) = 16 x 32 in the centre
    assert (~hole).sum() == 16 * 32 and not hole[24:40, 48:80].any()


@pytest.mark.parametrize("kind", ["sr2x", "altlines", "half", "expand"])
def test_deterministic_kinds_ignore_seed(kind):
    assert np.array_equal(make_hole(kind, 64, seed=1), make_hole(kind, 64, seed=2))


@pytest.mark.parametrize("kind", RANDOM_KINDS)
def test_random_kinds_are_seeded(kind):
    a, b = make_hole(kind, 128, seed=7), make_hole(kind, 128, seed=7)
    assert a.dtype == bool and a.shape == (128, 128)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, make_hole(kind, 128, seed=8))
    rng1, rng2 = np.random.default_rng(3), np.random.default_rng(3)
    assert np.array_equal(make_hole(kind, 64, rng=rng1), make_hole(kind, 64, rng=rng2))


@pytest.mark.parametrize("size", [256, 64])
@pytest.mark.parametrize("kind", RANDOM_KINDS)
def test_random_fraction_in_range(kind, size):
    fractions = [hole_fraction(h) for h in make_holes(kind, size, 50, seed=0)]
    assert min(fractions) > 0 and max(fractions) <= 0.5
    assert len({round(f, 6) for f in fractions}) > 10  # they really vary


def test_fraction_alike_across_resolutions():
    # lengths and widths scale with min(H, W) / 256, so the mean area barely moves
    for kind in ("wide", "narrow", "medium", "box"):
        means = [
            np.mean([hole_fraction(h) for h in make_holes(kind, s, 40, seed=1)]) for s in (32, 256)
        ]
        assert abs(means[0] - means[1]) < 0.06, (kind, means)


def _interior_share(hole, k):
    """Share of hole pixels that are the top-left of a k x k all-hole square (a thickness proxy)."""
    return sliding_window_view(hole, (k, k)).all(axis=(2, 3)).sum() / hole.sum()


def test_narrow_strokes_are_thin_wide_ones_thick():
    # LaMa's thin preset (many strokes of width 5..14) covers about as much area as its thick
    # preset (0.28 vs 0.26 mean at 256), so compare thickness, not area: a 16x16 square almost
    # never fits inside a narrow hole, but mostly does inside a wide one.
    narrow = np.mean([_interior_share(h, 16) for h in make_holes("narrow", 256, 20, seed=2)])
    wide = np.mean([_interior_share(h, 16) for h in make_holes("wide", 256, 20, seed=2)])
    assert narrow < 0.1 < 0.4 < wide


def test_box_is_one_rectangle():
    for hole in make_holes("box", (96, 200), 20, seed=4):
        rows, cols = np.flatnonzero(hole.any(axis=1)), np.flatnonzero(hole.any(axis=0))
        assert hole.sum() == len(rows) * len(cols)  # filled bounding box == hole
        assert hole[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].all()


@pytest.mark.parametrize("kind", MASK_KINDS)
@pytest.mark.parametrize("size", [8, (8, 40), (40, 9), (100, 257)])
def test_small_and_non_square(kind, size):
    hole = make_hole(kind, size, seed=5)
    h, w = (size, size) if isinstance(size, int) else size
    assert hole.shape == (h, w) and hole.dtype == bool
    assert 0 < hole_fraction(hole) < 1


def test_make_holes_same_seed_same_list():
    a = make_holes("medium", 64, 5, seed=11)
    b = make_holes("medium", 64, 5, seed=11)
    assert len(a) == 5 and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not all(np.array_equal(x, a[0]) for x in a[1:])
    assert make_holes("wide", 64, 0, seed=1) == []


def test_unknown_kind_lists_kinds():
    with pytest.raises(InpaintkitError) as err:
        make_hole("circle", 64)
    assert "circle" in str(err.value)
    assert all(kind in str(err.value) for kind in MASK_KINDS)


@pytest.mark.parametrize("size", [7, (64, 4), 0, -5, "64", (64,), 64.0, True])
def test_bad_size(size):
    with pytest.raises(InpaintkitError):
        make_hole("wide", size, seed=0)


def test_bad_seed_and_rng():
    with pytest.raises(InpaintkitError):
        make_hole("wide", 64, seed=1, rng=np.random.default_rng(1))
    with pytest.raises(InpaintkitError):
        make_hole("wide", 64, seed=-1)
    with pytest.raises(InpaintkitError):
        make_hole("wide", 64, rng=np.random.RandomState(0))
    with pytest.raises(InpaintkitError):
        make_holes("wide", 64, -1, seed=0)


def test_hole_fraction():
    hole = np.zeros((4, 5), bool)
    hole[0, :2] = True
    assert hole_fraction(hole) == 0.1
    with pytest.raises(InpaintkitError):
        hole_fraction(hole.astype(np.uint8))


# ---------------------------------------------------------------------------------------------
# generators as seeded callables, the mixer and the presets


def test_make_hole_is_the_preset_generator():
    from inpaintkit.masks import HOLE_PRESETS

    for kind in MASK_KINDS:
        rng = np.random.default_rng(5)
        assert np.array_equal(make_hole(kind, (40, 64), seed=5), HOLE_PRESETS[kind](rng, (40, 64)))


def test_make_hole_regression_digest():
    """Every kind at four sizes and six seeds, plus make_holes lists: the digest of the wave-1
    masks.py (the generators moved into a package without changing one pixel)."""
    import hashlib

    digest = hashlib.sha256()
    for kind in MASK_KINDS:
        for size in (16, 32, (40, 64), 256):
            for seed in range(6):
                digest.update(np.packbits(make_hole(kind, size, seed=seed)).tobytes())
            for hole in make_holes(kind, size, 4, seed=11):
                digest.update(np.packbits(hole).tobytes())
    assert digest.hexdigest() == "1466585e15994234fe976caf7f3ae30d63e65ae62782ced091bb398cae7df0d3"


def test_mixed_holes_follow_their_weights_and_seed():
    from inpaintkit.masks import FixedHoles, MixedHoles

    mixed = MixedHoles([(FixedHoles("half"), 3.0), (FixedHoles("altlines"), 1.0)])
    rng = np.random.default_rng(0)
    draws = [mixed(rng, (16, 16)) for _ in range(400)]
    halves = sum(bool(d[:, 8:].all()) for d in draws)
    assert 270 <= halves <= 330  # expected 300 (3 : 1)
    a = [mixed(np.random.default_rng(9), (16, 16)) for _ in range(3)]
    b = [mixed(np.random.default_rng(9), (16, 16)) for _ in range(3)]
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    with pytest.raises(InpaintkitError, match="weights"):
        MixedHoles([(FixedHoles("half"), 0.0)])
    with pytest.raises(InpaintkitError, match="at least one"):
        MixedHoles([])


def test_get_holes_specs_and_errors():
    from inpaintkit.masks import PAPER_SIX, FixedHoles, MixedHoles, get_holes

    assert tuple(PAPER_SIX) == MASK_KINDS[:6]
    assert get_holes("half") == FixedHoles("half")
    mixed = get_holes("thin:2+thick")
    assert isinstance(mixed, MixedHoles) and mixed.weights.tolist() == [2.0, 1.0]
    hole = mixed(np.random.default_rng(1), (32, 32))
    assert hole.dtype == bool and 0 < hole.mean() <= 0.5
    with pytest.raises(InpaintkitError, match="lama-mixed"):
        get_holes("stripes")
    with pytest.raises(InpaintkitError, match="weight"):
        get_holes("thin:x")


def test_rectangles_stay_inside_and_are_seeded():
    from inpaintkit.masks import Rectangles

    gen = Rectangles(min_count=2, max_count=2, min_side=0.25, max_side=0.25)
    hole = gen(np.random.default_rng(3), (40, 80))
    assert hole.shape == (40, 80) and hole.any()
    rows, cols = np.nonzero(hole)
    assert rows.max() - rows.min() < 40 and hole.sum() <= 2 * 10 * 20
    assert np.array_equal(hole, gen(np.random.default_rng(3), (40, 80)))
