"""Emoji data, the fixed split, and the training datasets: exact values, offline.

The emoji tests build a small fake ``emoji-datasource-google`` package in a temporary cache, so
nothing touches the network; the one test that runs ``npm pack`` is marked ``benchmark``.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from inpaintkit.data import emoji
from inpaintkit.data.emoji import (
    EMOJI_VERSION,
    composite_on_white,
    default_cache_dir,
    emoji_index,
    fetch_emoji,
    heldout_base_ids,
    load_emoji,
    split_index,
)
from inpaintkit.data.folder import ArrayDataset, ImageFolderDataset, to_model_range
from inpaintkit.errors import InpaintkitError

TEST_IMAGES = Path(__file__).parent / "data" / "emoji_test_64"

# Real ids: 1F44B (waving hand) and 1F60D are in the committed test split, 1F385 (Santa) and
# 1F600 are not. Both hands/Santa have skin-tone variants in the real package.
FAKE_ENTRIES = [
    {"unified": "1F600", "image": "1f600.png", "name": "GRINNING FACE"},
    {"unified": "1F60D", "image": "1f60d.png", "name": "SMILING FACE WITH HEART-SHAPED EYES"},
    {
        "unified": "1F385",
        "image": "1f385.png",
        "name": "FATHER CHRISTMAS",
        "skin_variations": {
            "1F3FB": {"unified": "1F385-1F3FB", "image": "1f385-1f3fb.png"},
            "1F3FF": {"unified": "1F385-1F3FF", "image": "1f385-1f3ff.png"},
        },
    },
    {
        "unified": "1F44B",
        "image": "1f44b.png",
        "name": "WAVING HAND SIGN",
        "skin_variations": {
            "1F3FB": {"unified": "1F44B-1F3FB", "image": "1f44b-1f3fb.png"},
            "1F3FD": {"unified": "1F44B-1F3FD", "image": "1f44b-1f3fd.png"},
        },
    },
]


def _fake_png(path: Path, value: int) -> None:
    """64x64 RGBA: left half transparent black, right half opaque (value, 0, 255 - value)."""
    rgba = np.zeros((64, 64, 4), np.uint8)
    rgba[:, 32:] = (value, 0, 255 - value, 255)
    Image.fromarray(rgba, "RGBA").save(path)


@pytest.fixture
def fake_cache(tmp_path: Path) -> Path:
    """A cache folder holding an unpacked fake emoji-datasource-google package."""
    root = tmp_path / "cache" / "emoji" / f"emoji-datasource-google-{EMOJI_VERSION}"
    images = root / "img" / "google" / "64"
    images.mkdir(parents=True)
    (root / "emoji.json").write_text(json.dumps(FAKE_ENTRIES))
    names = [e["image"] for e in FAKE_ENTRIES]
    for e in FAKE_ENTRIES:
        names += [v["image"] for v in e.get("skin_variations", {}).values()]
    for k, name in enumerate(sorted(names)):
        _fake_png(images / name, 20 * k)
    return tmp_path / "cache"


# ---------------------------------------------------------------------------------------------
# the committed split


def test_committed_test_ids_are_190_unique_unified_codes():
    ids = heldout_base_ids()
    assert len(ids) == 190
    assert all(re.fullmatch(r"[0-9A-F]{4,5}(-[0-9A-F]{4,5})*", i) for i in ids)
    assert {"1F44B", "1F60D", "1F1E7-1F1F7"} <= ids
    assert "1F385" not in ids and "1F600" not in ids


def test_cached_copy_is_used_without_npm(fake_cache, monkeypatch):
    monkeypatch.setattr(emoji.shutil, "which", lambda name: None)  # npm "missing"
    images = fetch_emoji("google", fake_cache)
    assert images == fake_cache / "emoji" / "emoji-datasource-google-16.0.0" / "img/google/64"


def test_variants_follow_their_base_and_splits_are_disjoint(fake_cache):
    index = emoji_index(fetch_emoji("google", fake_cache))
    assert len(index) == 8
    by_image = {e.image: e for e in index}
    assert by_image["1f44b-1f3fd.png"].base == "1F44B"
    assert by_image["1f44b-1f3fd.png"].unified == "1F44B-1F3FD"
    assert by_image["1f385-1f3ff.png"].base == "1F385"
    train = split_index(index, "train")
    test = split_index(index, "test")
    assert [e.image for e in test] == [
        "1f44b-1f3fb.png",
        "1f44b-1f3fd.png",
        "1f44b.png",
        "1f60d.png",
    ]
    assert {e.base for e in train} == {"1F385", "1F600"}
    assert not {e.base for e in train} & {e.base for e in test}
    assert len(split_index(index, "all")) == len(train) + len(test) == 8
    with pytest.raises(InpaintkitError, match="unknown split"):
        split_index(index, "val")


def test_load_emoji_composites_on_white_in_sorted_order(fake_cache):
    test = load_emoji("google", "test", size=64, cache_dir=fake_cache)
    assert test.shape == (4, 64, 64, 3) and test.dtype == np.uint8
    assert (test[:, :, :32] == 255).all()  # alpha 0 -> exactly white
    # sorted file names: 1f385 1f385-1f3fb 1f385-1f3ff 1f44b 1f44b-1f3fb 1f44b-1f3fd 1f600 1f60d
    # (sorted as strings: '1f385-...' < '1f385.png'), fake value = 20 * rank
    names = sorted(p.name for p in (fake_cache / "emoji").rglob("*.png"))
    ranks = [names.index(n) for n in ("1f44b-1f3fb.png", "1f44b-1f3fd.png", "1f44b.png")]
    assert [int(img[0, 40, 0]) for img in test[:3]] == [20 * r for r in ranks]
    small = load_emoji("google", "train", size=32, cache_dir=fake_cache)
    assert small.shape == (4, 32, 32, 3)
    assert (small[:, :, :12] == 255).all()  # LANCZOS rings only near the edge at column 16


def test_load_emoji_rejects_bad_arguments(fake_cache):
    with pytest.raises(InpaintkitError, match="style"):
        load_emoji("apple", cache_dir=fake_cache)
    with pytest.raises(InpaintkitError, match="size"):
        load_emoji("google", size=48, cache_dir=fake_cache)


def test_unlisted_png_is_an_error(fake_cache):
    images = fetch_emoji("google", fake_cache)
    _fake_png(images / "abcd.png", 0)
    with pytest.raises(InpaintkitError, match="not listed"):
        emoji_index(images)


def test_missing_npm_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(emoji.shutil, "which", lambda name: None)
    with pytest.raises(InpaintkitError, match="npm"):
        fetch_emoji("google", tmp_path)


def test_failing_npm_pack_says_the_registry_is_needed(tmp_path, monkeypatch):
    fake_npm = tmp_path / "bin" / "npm"
    fake_npm.parent.mkdir()
    fake_npm.write_text("#!/bin/sh\necho 'npm ERR! network unreachable' >&2\nexit 1\n")
    fake_npm.chmod(0o755)
    monkeypatch.setattr(emoji.shutil, "which", lambda name: str(fake_npm))
    with pytest.raises(InpaintkitError, match="registry"):
        fetch_emoji("google", tmp_path / "cache")
    assert not list((tmp_path / "cache" / "emoji").glob("emoji-datasource-*"))


def test_default_cache_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("INPAINTKIT_CACHE", str(tmp_path))
    assert default_cache_dir() == tmp_path


def _real_images_dir() -> Path | None:
    images = default_cache_dir() / "emoji" / "emoji-datasource-google-16.0.0" / "img/google/64"
    return images if images.is_dir() else None


@pytest.mark.skipif(_real_images_dir() is None, reason="no cached emoji-datasource-google")
def test_real_package_split_counts():
    """On the real package: 3786 PNGs = 3406 train + 380 test, disjoint by base id."""
    index = emoji_index(_real_images_dir())
    train, test = split_index(index, "train"), split_index(index, "test")
    assert (len(index), len(train), len(test)) == (3786, 3406, 380)
    assert len({e.base for e in index}) == 1911
    assert len({e.base for e in test}) == 190
    assert not {e.base for e in train} & {e.base for e in test}
    assert {e.base for e in test} == heldout_base_ids()


@pytest.mark.benchmark
@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")
def test_npm_fetch_real_package(tmp_path):
    """Runs `npm pack` against the registry (network); deselected by default."""
    images = fetch_emoji("google", tmp_path)
    assert len(list(images.glob("*.png"))) == 3786
    assert (images.parents[2] / "emoji.json").is_file()
    assert not [p for p in (tmp_path / "emoji").iterdir() if p.name.startswith(".fetch")]


# ---------------------------------------------------------------------------------------------
# the committed offline test images


def test_emoji_test_64_are_test_split_rgb_images():
    files = sorted(TEST_IMAGES.glob("*.png"))
    assert len(files) == 64
    test_ids = heldout_base_ids()
    for path in files:
        assert path.stem.upper() in test_ids
        with Image.open(path) as im:
            assert (im.mode, im.size) == ("RGB", (64, 64))
    assert (TEST_IMAGES / "ATTRIBUTION.md").is_file()


# ---------------------------------------------------------------------------------------------
# compositing and datasets


def test_composite_on_white_values():
    rgba = np.array([[[10, 20, 30, 255], [200, 0, 0, 0], [0, 0, 0, 128]]], np.uint8)
    out = composite_on_white(rgba)
    assert out.tolist() == [[[10, 20, 30], [255, 255, 255], [127, 127, 127]]]
    with pytest.raises(InpaintkitError):
        composite_on_white(rgba[..., :3])


def test_image_folder_dataset_shapes_ranges_and_crop(tmp_path):
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    wide = np.zeros((32, 64, 3), np.uint8)
    wide[:, :32] = (255, 0, 0)
    wide[:, 32:] = (0, 0, 255)
    Image.fromarray(wide).save(tmp_path / "a_wide.png")
    rgba = np.zeros((20, 20, 4), np.uint8)  # fully transparent -> white
    Image.fromarray(rgba, "RGBA").save(tmp_path / "sub" / "b_clear.png")
    Image.fromarray(np.full((50, 40, 3), 128, np.uint8)).save(tmp_path / "sub" / "c.jpg")
    Image.fromarray(np.full((16, 16, 3), 0, np.uint8)).save(tmp_path / "sub/deeper/d.webp")
    (tmp_path / "notes.txt").write_text("not an image")

    data = ImageFolderDataset(tmp_path, 16)
    assert len(data) == 4
    items = [data[i] for i in range(4)]
    for item in items:
        assert item.shape == (3, 16, 16) and item.dtype == torch.float32
        assert item.min() >= -1.0 and item.max() <= 1.0
    # 64x32 -> 32x16 -> centre 16x16 crop: columns 0..7 red, 8..15 blue (LANCZOS rings at the seam)
    red, blue = items[0][:, :, :4], items[0][:, :, 12:]
    assert torch.allclose(red[0], torch.tensor(1.0)) and torch.allclose(red[2], torch.tensor(-1.0))
    assert torch.allclose(blue[2], torch.tensor(1.0)) and torch.allclose(
        blue[0], torch.tensor(-1.0)
    )
    assert torch.equal(items[1], torch.ones(3, 16, 16))  # transparent -> white -> +1
    assert torch.equal(items[3], -torch.ones(3, 16, 16))  # black webp, already 16x16


def test_image_folder_dataset_errors(tmp_path):
    with pytest.raises(InpaintkitError, match="no images"):
        ImageFolderDataset(tmp_path, 32)
    with pytest.raises(InpaintkitError, match="does not exist"):
        ImageFolderDataset(tmp_path / "missing", 32)


def test_array_dataset_values_and_flip():
    images = np.zeros((10, 4, 4, 3), np.uint8)
    images[:, :, 0] = 255  # left column white
    data = ArrayDataset(images)
    assert len(data) == 10 and data.size == 4
    item = data[3]
    assert item.shape == (3, 4, 4) and item.dtype == torch.float32
    assert item[:, :, 0].eq(1.0).all() and item[:, :, 1:].eq(-1.0).all()
    assert torch.equal(
        to_model_range(np.array([[[0, 255, 51]]], np.uint8))[:, 0, 0],
        torch.tensor([-1.0, 1.0, -0.6]),
    )
    assert not any(data.is_flipped(i, e) for i in range(10) for e in range(5))  # off by default

    flipping = ArrayDataset(images, hflip=True, seed=1)
    flags = [flipping.is_flipped(i, e) for i in range(10) for e in range(20)]
    assert 60 <= sum(flags) <= 140  # about half of 200
    assert flags == [flipping.is_flipped(i, e) for i in range(10) for e in range(20)]
    i, e = next((i, e) for i in range(10) for e in range(20) if flipping.is_flipped(i, e))
    assert flipping.item(i, e)[:, :, -1].eq(1.0).all()  # white column now on the right


def test_array_dataset_rejects_bad_arrays():
    with pytest.raises(InpaintkitError):
        ArrayDataset(np.zeros((2, 4, 4, 3), np.float32))
    with pytest.raises(InpaintkitError):
        ArrayDataset(np.zeros((0, 4, 4, 3), np.uint8))


def test_fashion_mnist_reads_idx_and_explains_a_missing_package(tmp_path):
    import gzip

    from inpaintkit.data.fashion import load_fashion_mnist
    from inpaintkit.data.specs import make_dataset

    pixels = np.arange(3 * 28 * 28, dtype=np.uint32).astype(np.uint8).reshape(3, 28, 28)
    header = np.array([0x803, 3, 28, 28], dtype=">i4").tobytes()
    with gzip.open(tmp_path / "t10k-images-idx3-ubyte.gz", "wb") as f:
        f.write(header + pixels.tobytes())
    raw = load_fashion_mnist("test", size=28, root=tmp_path)
    assert raw.shape == (3, 28, 28, 3) and np.array_equal(raw[..., 1], pixels)
    assert load_fashion_mnist("test", size=32, root=tmp_path).shape == (3, 32, 32, 3)
    with pytest.raises(InpaintkitError, match="apt-get install dataset-fashion-mnist"):
        load_fashion_mnist("train", root=tmp_path)
    with gzip.open(tmp_path / "train-images-idx3-ubyte.gz", "wb") as f:
        f.write(header + pixels.tobytes()[:100])
    with pytest.raises(InpaintkitError, match="truncated"):
        load_fashion_mnist("train", root=tmp_path)
    with pytest.raises(InpaintkitError, match="train or test"):
        make_dataset("fashion-mnist:valid", 32)


# ---------------------------------------------------------------------------------------------
# datasets that yield (image, hole, extra inputs)


def test_holed_dataset_items_are_seeded_by_seed_epoch_index():
    from inpaintkit.data.holed import HoledDataset
    from inpaintkit.masks import get_holes

    images = ArrayDataset(np.random.default_rng(0).integers(0, 256, (4, 16, 16, 3), np.uint8))
    data = HoledDataset(images, get_holes("thick"), seed=7)
    item = data[2]
    assert set(item) == {"image", "hole"}
    assert item["image"].shape == (3, 16, 16) and item["hole"].shape == (1, 16, 16)
    assert item["hole"].dtype == torch.float32 and set(item["hole"].unique().tolist()) <= {0, 1}
    assert torch.equal(item["image"], images[2])
    expected = get_holes("thick")(np.random.default_rng((7, 0, 2, 0x401E)), (16, 16))
    assert torch.equal(item["hole"][0], torch.from_numpy(expected).float())
    assert torch.equal(data.item(2, 3)["hole"], data.item(2, 3)["hole"])  # pure function
    assert not torch.equal(data.item(2, 0)["hole"], data.item(2, 1)["hole"])  # new epoch
    assert not torch.equal(
        data.item(2, 0)["hole"], HoledDataset(images, get_holes("thick"), 8)[2]["hole"]
    )


def test_holed_dataset_extra_inputs_and_errors():
    from inpaintkit.data.holed import HoledDataset
    from inpaintkit.masks import get_holes

    images = ArrayDataset(np.zeros((2, 8, 8, 3), np.uint8))

    def border(item, rng):
        return item["hole"] * 0.5 + float(rng.integers(2))

    data = HoledDataset(images, get_holes("half"), extras={"sketch": border})
    item = data[0]
    assert item["sketch"].shape == (1, 8, 8)
    assert torch.equal(item["sketch"] - item["sketch"].min(), item["hole"] * 0.5)
    with pytest.raises(InpaintkitError, match="hole"):
        HoledDataset(images, get_holes("half"), extras={"hole": border})
    with pytest.raises(InpaintkitError, match="hole generator"):
        HoledDataset(images, "half")
    bad = HoledDataset(images, lambda rng, shape: np.zeros((4, 4), bool))
    with pytest.raises(InpaintkitError, match="gave"):
        bad[0]
