"""Images and masks at the edge: exact pixel values after every documented conversion."""

import numpy as np
import pytest
import torch
from PIL import Image

from inpaintkit.errors import InpaintkitError
from inpaintkit.io import (
    hole_to_keep,
    image_to_tensor,
    input_to_tensor,
    keep_to_hole,
    load_hole,
    load_image,
    make_grid,
    save_gif,
    save_hole,
    save_image,
    show_hole,
    tensor_to_images,
)
from inpaintkit.masks import make_hole


def rgb_array(h=6, w=5, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


# ---------------------------------------------------------------------------------------------
# load_image


def test_rgba_composited_on_white(tmp_path):
    arr = np.zeros((2, 3, 4), np.uint8)
    arr[0, 0] = (10, 20, 30, 255)  # opaque: keeps its colour
    arr[0, 1] = (200, 0, 0, 0)  # transparent: white
    arr[0, 2] = (0, 0, 0, 128)  # half: 255 * 127 / 255 = 127
    path = tmp_path / "rgba.png"
    Image.fromarray(arr, "RGBA").save(path)
    with Image.open(path) as opened:
        sources = (path, opened.copy(), arr)
    for source in sources:
        out = np.asarray(load_image(source))
        assert out.shape == (2, 3, 3)
        assert out[0, 0].tolist() == [10, 20, 30]
        assert out[0, 1].tolist() == [255, 255, 255]
        assert out[0, 2].tolist() == [127, 127, 127]


def test_la_composited_on_white():
    la = Image.fromarray(np.array([[[40, 255], [40, 0]]], np.uint8), "LA")
    assert np.asarray(load_image(la))[0].tolist() == [[40, 40, 40], [255, 255, 255]]


def test_palette_with_and_without_transparency(tmp_path):
    pal = Image.new("P", (2, 1))
    pal.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    pal.putpixel((0, 0), 0)
    pal.putpixel((1, 0), 1)
    assert np.asarray(load_image(pal))[0].tolist() == [[255, 0, 0], [0, 0, 255]]
    path = tmp_path / "pal.png"
    pal.save(path, transparency=1)  # index 1 (blue) is transparent
    with Image.open(path) as im:
        assert im.mode == "P"
    assert np.asarray(load_image(path))[0].tolist() == [[255, 0, 0], [255, 255, 255]]


def test_grayscale_and_1bit_to_rgb():
    gray = np.array([[0, 77, 255]], np.uint8)
    for source in (gray, gray[:, :, None], Image.fromarray(gray, "L")):
        out = load_image(source)
        assert out.mode == "RGB"
        assert np.asarray(out)[0].tolist() == [[0, 0, 0], [77, 77, 77], [255, 255, 255]]
    one = Image.fromarray(np.array([[True, False]]))
    assert np.asarray(load_image(one))[0].tolist() == [[255, 255, 255], [0, 0, 0]]


def test_16bit_png_divided_by_257(tmp_path):
    values = np.array([[65535, 257 * 100, 0, 128]], np.uint16)
    path = tmp_path / "g16.png"
    Image.fromarray(values).save(path)
    with Image.open(path) as im:
        assert im.mode.startswith("I")
    out = np.asarray(load_image(path))
    assert out[0, :, 0].tolist() == [255, 100, 0, 0]  # 128 / 257 rounds to 0: scaled, not clipped
    assert (out[..., 0] == out[..., 2]).all()


def test_16bit_rgb_png(tmp_path):
    cv2 = pytest.importorskip("cv2")
    path = tmp_path / "c16.png"
    cv2.imwrite(str(path), np.full((2, 2, 3), 257 * 100, np.uint16))
    assert np.asarray(load_image(path))[0, 0].tolist() == [100, 100, 100]


def test_float_arrays():
    arr = np.array([[[0.0, 0.5, 1.0]]])
    assert np.asarray(load_image(arr))[0, 0].tolist() == [0, 128, 255]
    with pytest.raises(InpaintkitError, match=r"\[0, 1\]"):
        load_image(arr * 255)
    with pytest.raises(InpaintkitError, match="NaN"):
        load_image(np.full((2, 2), np.nan))


@pytest.mark.parametrize(
    "arr",
    [
        np.zeros((4, 4, 2), np.uint8),
        np.zeros((4, 4, 3, 1), np.uint8),
        np.zeros((4,), np.uint8),
        np.zeros((4, 4, 3), np.uint16),
        np.zeros((4, 4, 3), np.int64),
        np.zeros((0, 4, 3), np.uint8),
    ],
)
def test_bad_arrays(arr):
    with pytest.raises(InpaintkitError, match="image array"):
        load_image(arr)


def test_bad_source_type():
    with pytest.raises(InpaintkitError, match="path, a PIL"):
        load_image(12)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_exif_orientation_applied(tmp_path, fmt):
    img = Image.new("RGB", (40, 20), (255, 0, 0))
    img.paste((0, 0, 255), (0, 0, 10, 20))  # left quarter blue
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
    path = tmp_path / f"rot.{fmt.lower()}"
    img.save(path, format=fmt, exif=exif)
    out = load_image(path)
    assert out.size == (20, 40)
    top = np.asarray(out)[2, 10]  # the left edge is now at the top
    assert top[2] > 200 and top[0] < 50


def test_missing_file(tmp_path):
    path = tmp_path / "nope.png"
    with pytest.raises(InpaintkitError, match="not found") as err:
        load_image(path)
    assert str(path) in str(err.value)


def test_truncated_png(tmp_path):
    good = tmp_path / "good.png"
    Image.fromarray(rgb_array(64, 64)).save(good)
    bad = tmp_path / "truncated.png"
    bad.write_bytes(good.read_bytes()[:200])
    with pytest.raises(InpaintkitError) as err:
        load_image(bad)
    assert str(bad) in str(err.value)


def test_text_file_named_png(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("hello, not an image\n")
    with pytest.raises(InpaintkitError, match="not an image") as err:
        load_image(path)
    assert str(path) in str(err.value)
    with pytest.raises(InpaintkitError):
        load_hole(path)


def test_directory_refused(tmp_path):
    with pytest.raises(InpaintkitError, match="not a file"):
        load_image(tmp_path)


def test_pixel_limit_from_header(tmp_path):
    path = tmp_path / "big.png"
    Image.new("1", (9000, 8000)).save(path, optimize=True)  # 72 MP, a few kB on disk
    assert path.stat().st_size < 100_000
    with pytest.raises(InpaintkitError, match="max_pixels") as err:
        load_image(path)
    assert "9000x8000" in str(err.value)
    small = tmp_path / "small.png"
    Image.fromarray(rgb_array(10, 10)).save(small)
    with pytest.raises(InpaintkitError, match="max_pixels=99"):
        load_image(small, max_pixels=99)
    with pytest.raises(InpaintkitError, match="max_pixels"):
        load_hole(small, max_pixels=99)
    assert load_image(small, max_pixels=100).size == (10, 10)


@pytest.mark.parametrize("pixels", [1500, 2500])  # PIL warns above its limit, errors above 2x
def test_pil_decompression_bomb(tmp_path, monkeypatch, pixels):
    path = tmp_path / "bomb.png"
    Image.new("L", (pixels // 10, 10)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(InpaintkitError, match="decompression bomb") as err:
        load_image(path, max_pixels=10**12)
    assert str(path) in str(err.value)


# ---------------------------------------------------------------------------------------------
# load_hole


def test_hole_white_is_hole_and_keep_inverts(tmp_path):
    arr = np.zeros((4, 6), np.uint8)
    arr[1:3, 2:5] = 255
    path = tmp_path / "m.png"
    Image.fromarray(arr).save(path)
    hole = load_hole(path)
    assert hole.dtype == bool and hole.shape == (4, 6)
    assert np.array_equal(hole, arr == 255)
    assert np.array_equal(load_hole(path, white="keep"), arr == 0)
    with pytest.raises(InpaintkitError, match="hole"):
        load_hole(path, white="black")


def test_hole_arrays():
    ref = np.array([[True, False, True]])
    assert np.array_equal(load_hole(ref), ref)
    assert np.array_equal(load_hole(ref.astype(np.uint8)), ref)  # {0, 1}
    assert np.array_equal(load_hole(ref.astype(np.uint8) * 255), ref)  # {0, 255}
    assert np.array_equal(load_hole(ref.astype(np.float32)), ref)
    assert np.array_equal(load_hole(ref[:, :, None]), ref)
    assert np.array_equal(load_hole(np.repeat(ref[:, :, None], 3, 2).astype(np.uint8) * 255), ref)
    assert not load_hole(np.zeros((2, 2), np.uint8)).any()
    with pytest.raises(InpaintkitError):
        load_hole(np.array([[0, 300]]))
    with pytest.raises(InpaintkitError):
        load_hole(np.array([[0.0, 2.0]]))
    with pytest.raises(InpaintkitError):
        load_hole(np.zeros((2, 2, 2), np.uint8))


def test_hole_size_mismatch_names_both_sizes():
    hole = np.zeros((30, 40), bool)
    assert load_hole(hole, size=(40, 30)).shape == (30, 40)
    with pytest.raises(InpaintkitError) as err:
        load_hole(hole, size=(30, 40))
    msg = str(err.value)
    assert "40x30" in msg and "30x40" in msg and "resized" in msg


def test_non_binary_mask_needs_threshold(tmp_path):
    arr = np.array([[0, 64, 127, 128, 200, 255]], np.uint8)
    path = tmp_path / "soft.png"
    Image.fromarray(arr).save(path)
    with pytest.raises(InpaintkitError) as err:
        load_hole(path)
    msg = str(err.value)
    assert "6 distinct values" in msg and "threshold" in msg and str(path) in msg
    assert load_hole(path, threshold=0.5)[0].tolist() == [False, False, False, True, True, True]
    assert load_hole(path, threshold=1.0)[0].tolist() == [False] * 5 + [True]
    assert load_hole(path, threshold=0.5, white="keep")[0].tolist() == [True] * 3 + [False] * 3
    for bad in (0, 1.5, -0.1, "0.5", True):
        with pytest.raises(InpaintkitError, match="threshold"):
            load_hole(path, threshold=bad)


def test_rgba_mask_uses_varying_alpha():
    # black strokes painted on a transparent layer: alpha is the mask, colour ignored
    arr = np.zeros((2, 3, 4), np.uint8)
    arr[0, 1, 3] = 255
    arr[1, 2, 3] = 255
    hole = load_hole(Image.fromarray(arr, "RGBA"))
    assert hole.tolist() == [[False, True, False], [False, False, True]]
    # uniform alpha: the colour decides
    arr[..., 3] = 255
    arr[0, 0, :3] = 255
    assert load_hole(Image.fromarray(arr, "RGBA")).tolist() == [[True, False, False]] + [
        [False] * 3
    ]


def test_rgb_mask_luminance():
    red = np.zeros((1, 2, 3), np.uint8)
    red[0, 1, 0] = 255  # pure red: luminance 76, so not binary
    with pytest.raises(InpaintkitError, match="2 distinct values"):
        load_hole(red)
    assert load_hole(red, threshold=0.25).tolist() == [[False, True]]


def test_16bit_mask(tmp_path):
    path = tmp_path / "m16.png"
    Image.fromarray(np.array([[0, 65535]], np.uint16)).save(path)
    assert load_hole(path).tolist() == [[False, True]]


def test_save_and_load_hole_round_trip(tmp_path):
    hole = make_hole("medium", (24, 40), seed=3)
    path = save_hole(hole, tmp_path / "sub" / "hole.png")
    with Image.open(path) as opened:
        im = opened.copy()
    assert im.mode == "L" and im.size == (40, 24)
    assert set(np.unique(np.asarray(im)).tolist()) == {0, 255}
    assert np.array_equal(load_hole(path, size=(40, 24)), hole)
    keep_file = save_hole(hole, tmp_path / "keep.png", white="keep")
    with Image.open(keep_file) as im:
        assert np.array_equal(np.asarray(im) == 255, ~hole)
    assert np.array_equal(load_hole(keep_file, white="keep"), hole)
    with pytest.raises(InpaintkitError, match=".png"):
        save_hole(hole, tmp_path / "hole.jpg")


# ---------------------------------------------------------------------------------------------
# tensors


def test_tensor_round_trip_is_exact():
    arr = rgb_array(7, 9)
    arr[0, 0] = 0
    arr[0, 1] = 255
    x = image_to_tensor(Image.fromarray(arr))
    assert x.shape == (1, 3, 7, 9) and x.dtype == torch.float32
    assert x[0, :, 0, 0].tolist() == [-1.0, -1.0, -1.0]
    assert x[0, :, 0, 1].tolist() == [1.0, 1.0, 1.0]
    assert x.min() == -1.0 and x.max() == 1.0
    (back,) = tensor_to_images(x)
    assert back.mode == "RGB" and np.array_equal(np.asarray(back), arr)
    all_values = np.arange(256, dtype=np.uint8).reshape(16, 16, 1).repeat(3, 2)
    (back,) = tensor_to_images(image_to_tensor(Image.fromarray(all_values)))
    assert np.array_equal(np.asarray(back), all_values)


def test_tensor_to_images_clamps_and_batches():
    x = torch.tensor([-3.0, -1.0, 0.0, 1.0, 5.0]).view(1, 1, 1, 5).expand(2, 3, 1, 5).clone()
    x[1] = -x[1]
    a, b = tensor_to_images(x)
    assert np.asarray(a)[0, :, 0].tolist() == [0, 0, 128, 255, 255]  # 127.5 -> 128 (half to even)
    assert np.asarray(b)[0, :, 0].tolist() == [255, 255, 128, 0, 0]
    assert len(tensor_to_images(x.to(torch.bfloat16))) == 2
    with pytest.raises(InpaintkitError, match=r"\[B, 3, H, W\]"):
        tensor_to_images(x[:, :1])
    with pytest.raises(InpaintkitError, match="NaN"):
        tensor_to_images(torch.full((1, 3, 2, 2), float("nan")))


def test_image_to_tensor_needs_rgb():
    with pytest.raises(InpaintkitError, match="RGB"):
        image_to_tensor(Image.new("L", (2, 2)))


def test_hole_keep_conversion():
    hole = np.array([[True, False], [False, False]])
    keep = hole_to_keep(hole)
    assert keep.shape == (1, 1, 2, 2) and keep.dtype == torch.float32
    assert keep[0, 0].tolist() == [[0.0, 1.0], [1.0, 1.0]]
    assert np.array_equal(keep_to_hole(keep), hole)
    assert np.array_equal(keep_to_hole(keep[0, 0].numpy()), hole)
    assert keep_to_hole(keep.expand(3, 1, 2, 2)).shape == (3, 2, 2)
    with pytest.raises(InpaintkitError):
        hole_to_keep(hole.astype(np.uint8))


# ---------------------------------------------------------------------------------------------
# saving and showing


def test_save_image(tmp_path):
    arr = rgb_array()
    path = save_image(Image.fromarray(arr), tmp_path / "a" / "b" / "out.png")
    assert path.exists() and np.array_equal(np.asarray(load_image(path)), arr)
    with pytest.raises(InpaintkitError, match=r"must end in \.png, \.jpg, \.jpeg or \.webp"):
        save_image(Image.fromarray(arr), tmp_path / "out.gif")


def test_show_hole():
    arr = rgb_array(4, 4)
    hole = np.zeros((4, 4), bool)
    hole[1, 2] = True
    out = np.asarray(show_hole(Image.fromarray(arr), hole, color=(1, 2, 3)))
    assert out[1, 2].tolist() == [1, 2, 3]
    assert np.array_equal(out[~hole], arr[~hole])
    with pytest.raises(InpaintkitError, match="shape"):
        show_hole(Image.fromarray(arr), np.zeros((4, 5), bool))


def test_make_grid():
    a = Image.new("RGB", (5, 4), (255, 0, 0))
    b = Image.new("RGB", (5, 4), (0, 0, 255))
    grid = make_grid([[a, b, a], [b]], pad=2, background=(0, 255, 0))
    assert grid.size == (3 * 5 + 2 * 2, 2 * 4 + 2)
    g = np.asarray(grid)
    assert g[0, 0].tolist() == [255, 0, 0]
    assert g[0, 5].tolist() == [0, 255, 0]  # padding
    assert g[0, 7].tolist() == [0, 0, 255]  # second image
    assert g[6, 0].tolist() == [0, 0, 255]  # second row
    assert g[6, 7].tolist() == [0, 255, 0]  # short row: background
    with pytest.raises(InpaintkitError, match="one size"):
        make_grid([[a, Image.new("RGB", (4, 4))]])
    with pytest.raises(InpaintkitError):
        make_grid([])


def test_input_to_tensor_maps_pictures_like_images_and_masks_to_0_1():
    gray = np.array([[0, 255], [51, 204]], np.uint8)
    for source in (gray, Image.fromarray(gray, "L")):
        x = input_to_tensor(source)
        assert x.shape == (1, 1, 2, 2) and x.dtype == torch.float32
        assert x.flatten().tolist() == pytest.approx([-1.0, 1.0, -0.6, 0.6])
    rgb = rgb_array(3, 4)
    assert torch.equal(input_to_tensor(rgb), image_to_tensor(Image.fromarray(rgb)))
    mask = np.array([[True, False]])
    assert input_to_tensor(mask).flatten().tolist() == [1.0, 0.0]
    for bad in (
        np.zeros((2, 2), np.float32),
        np.zeros((2, 2, 4), np.uint8),
        Image.new("RGBA", (2, 2)),
    ):
        with pytest.raises(InpaintkitError, match="input"):
            input_to_tensor(bad)


def test_save_gif_writes_every_frame(tmp_path):
    frames = [Image.new("RGB", (4, 3), (10 * i, 0, 0)) for i in range(5)]
    path = save_gif(frames, tmp_path / "sub" / "a.gif", duration=40)
    with Image.open(path) as gif:
        assert gif.n_frames == 5 and gif.size == (4, 3) and gif.info["duration"] == 40
    assert save_gif([], tmp_path / "none.gif") is None and not (tmp_path / "none.gif").exists()
    with pytest.raises(InpaintkitError, match=r"\.gif"):
        save_gif(frames, tmp_path / "a.png")


def test_flip_mask_and_masked_input_are_the_one_convention_change() -> None:
    """keep (1 = known) <-> hole channel (1 = hole), and the masked image a network takes."""
    from inpaintkit.io import flip_mask, masked_input

    keep = torch.tensor([[[[1.0, 0.0], [0.0, 1.0]]]])
    image = torch.tensor([[[[0.5, -0.5], [0.25, -1.0]]]]).expand(1, 3, 2, 2)
    assert torch.equal(flip_mask(keep), torch.tensor([[[[0.0, 1.0], [1.0, 0.0]]]]))
    assert torch.equal(flip_mask(flip_mask(keep)), keep)
    masked, hole = masked_input(image, keep.bool())  # a bool keep is cast to the image's dtype
    assert masked.dtype == hole.dtype == torch.float32
    assert masked[0, 0].tolist() == [[0.5, 0.0], [0.0, -1.0]]
    assert torch.equal(hole, flip_mask(keep))


def test_save_image_formats_and_quality(tmp_path):
    picture = Image.fromarray(rgb_array())
    assert Image.open(save_image(picture, tmp_path / "a.jpeg")).format == "JPEG"
    assert Image.open(save_image(picture, tmp_path / "a.webp", quality=80)).format == "WEBP"
    low = save_image(picture, tmp_path / "low.jpg", quality=10).stat().st_size
    assert low < save_image(picture, tmp_path / "high.jpg", quality=100).stat().st_size
    with pytest.raises(InpaintkitError, match="^quality applies to jpg and webp files, not png$"):
        save_image(picture, tmp_path / "a.png", quality=90)
    with pytest.raises(InpaintkitError, match=r"^quality must be an integer 1\.\.100, got 101$"):
        save_image(picture, tmp_path / "b.jpg", quality=101)
    with pytest.raises(InpaintkitError, match=r"^a webp file must end in \.webp, got .*b\.png$"):
        save_image(picture, tmp_path / "b.png", format="webp")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "a.jpeg",
        "a.webp",
        "high.jpg",
        "low.jpg",
    ]  # nothing else: no temporary file left behind


def test_a_failing_save_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = save_image(Image.fromarray(rgb_array()), tmp_path / "out.png")
    old = path.read_bytes()

    def half_written(self, fp, *args, **kwargs):  # noqa: ANN001, ARG001
        open(fp, "wb").write(b"\x89PNG half")  # noqa: SIM115
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", half_written)
    with pytest.raises(InpaintkitError, match=r"^cannot write .*out\.png: \[Errno 28\] No space"):
        save_image(Image.fromarray(255 - rgb_array()), path)
    with pytest.raises(InpaintkitError, match=r"^cannot write .*hole\.png"):
        save_hole(np.ones((4, 4), bool), tmp_path / "hole.png")
    assert path.read_bytes() == old
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]  # no temporary file left


def test_rgba_cutout_as_its_own_mask_is_refused():
    from inpaintkit.io import load_hole

    rgba = np.random.default_rng(0).integers(0, 256, (20, 20, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    rgba[5:9, 5:9, 3] = 0  # the transparent hole: 16 of 400 pixels
    for source in (Image.fromarray(rgba, "RGBA"), rgba):
        with pytest.raises(InpaintkitError, match=r"transparent hole.*\(96% of the pixels\)"):
            load_hole(source)
        hole = load_hole(source, white="keep")  # the transparent pixels are the hole
        assert hole.sum() == 16 and hole[5:9, 5:9].all()


def test_painted_mask_on_a_transparent_layer_still_loads():
    from inpaintkit.io import load_hole

    layer = np.zeros((20, 20, 4), np.uint8)
    layer[..., :3] = (255, 0, 0)  # one brush colour
    layer[:, 2:, 3] = 255  # a large opaque stroke: 90% hole, meant
    hole = load_hole(Image.fromarray(layer, "RGBA"))
    assert hole.sum() == 360
