"""Property-based fuzzing (hypothesis, seeded and bounded): the option parser and the image/mask
loaders either work or raise InpaintkitError, never another exception."""

from __future__ import annotations

import dataclasses
import io
import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from inpaintkit.errors import InpaintkitError
from inpaintkit.io import input_to_tensor, load_hole, load_image, load_input
from inpaintkit.methods import METHODS
from inpaintkit.models import ModelOptions
from inpaintkit.options import parse_options, parse_values, split_key_values

FUZZ = settings(
    derandomize=True,  # seeded: the same examples on every run
    database=None,
    max_examples=120,
    deadline=5000,  # ms per example; generous for a shared 2-core machine
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
OPTION_CLASSES = [cls.Options for cls in METHODS.values()] + [ModelOptions]


def _works_or_ours(call, *args, **kwargs) -> object:
    """call(*args, **kwargs), with InpaintkitError taken as a clean refusal (returns None)."""
    try:
        return call(*args, **kwargs)
    except InpaintkitError as err:
        assert str(err), "an InpaintkitError must say what was wrong"
        return None


# ---------------------------------------------------------------------------------------------
# the option parser

TEXT = st.text(max_size=12) | st.sampled_from(
    ["", " ", "1", "-1", "0", "1e999", "-1e999", "nan", "inf", "-inf", "true", "False", "none",
     "None", "null", "1.5", "0x10", "1_000", "1,2", "[1]", "{}", "\x00", "٣", "linear", "cosine"]
)  # fmt: skip
VALUES = (
    TEXT
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.booleans()
    | st.none()
    | st.lists(st.integers(), max_size=3)
    | st.tuples(st.integers())
    | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)
)


@st.composite
def option_values(draw: st.DrawFn) -> tuple[type, dict]:
    cls = draw(st.sampled_from(OPTION_CLASSES))
    names = [f.name for f in dataclasses.fields(cls)]
    keys = TEXT  # a method without options still gets (unknown) keys
    if names:
        keys = st.sampled_from(names) | st.sampled_from([n.replace("_", "-") for n in names]) | TEXT
    return cls, draw(st.dictionaries(keys, VALUES, max_size=4))


@FUZZ
@given(option_values(), st.sampled_from([None, "fuzz-method"]))
def test_option_parser_fuzz_works_or_raises_our_error(case, owner) -> None:
    cls, values = case
    parsed = _works_or_ours(parse_options, cls, values, owner)
    assert parsed is None or isinstance(parsed, cls)
    typed = _works_or_ours(parse_values, cls, values, owner)
    assert typed is None or set(typed) <= {f.name for f in dataclasses.fields(cls)}


@FUZZ
@given(st.sampled_from(OPTION_CLASSES), st.lists(TEXT | st.builds("{}={}".format, TEXT, TEXT)))
def test_split_key_values_fuzz_then_parse(cls, pairs) -> None:
    values = _works_or_ours(split_key_values, pairs, "--option")
    if values is not None:
        assert all(isinstance(v, str) for v in values.values())
        _works_or_ours(parse_options, cls, values, "fuzz")


def test_option_fuzz_covers_every_method_and_the_model_options() -> None:
    assert len(OPTION_CLASSES) == len(METHODS) + 1 >= 5
    assert ModelOptions in OPTION_CLASSES


# ---------------------------------------------------------------------------------------------
# files


def _png_with_size(width: int, height: int, body: bytes) -> bytes:
    """A PNG signature and an IHDR chunk claiming width x height, then ``body``."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
        + body
    )


def _encoded(fmt: str, mode: str, size: tuple[int, int], seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    image = Image.new(mode, size)
    image.frombytes(rng.integers(0, 256, len(image.tobytes()), dtype=np.uint8).tobytes())
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


HEADERS = [b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"GIF89a", b"BM", b"II*\x00",
           b"MM\x00*", b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"P6\n", b"\x00\x00\x01\x00"]  # fmt: skip


@st.composite
def file_bytes(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["random", "header", "truncated", "flipped", "big"]))
    if kind == "random":
        return draw(st.binary(max_size=300))
    if kind == "header":
        return draw(st.sampled_from(HEADERS)) + draw(st.binary(max_size=200))
    if kind == "big":  # a header claiming a huge or empty image
        side = st.integers(0, 2**31 - 1)
        return _png_with_size(draw(side), draw(side), draw(st.binary(max_size=40)))
    fmt, mode = draw(
        st.sampled_from(
            [
                ("PNG", "RGB"),
                ("PNG", "RGBA"),
                ("PNG", "L"),
                ("PNG", "I;16"),
                ("PNG", "P"),
                ("PNG", "1"),
                ("JPEG", "RGB"),
                ("JPEG", "L"),
                ("JPEG", "CMYK"),
                ("GIF", "P"),
                ("BMP", "RGB"),
                ("TIFF", "F"),
                ("WEBP", "RGBA"),
            ]
        )  # fmt: skip
    )
    size = (draw(st.integers(1, 12)), draw(st.integers(1, 12)))
    data = _encoded(fmt, mode, size, draw(st.integers(0, 2**16)))
    if kind == "truncated":
        return data[: draw(st.integers(0, len(data) - 1))]
    data = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data) - 1))
        data[at] = draw(st.integers(0, 255))
    return bytes(data)


@FUZZ
@given(file_bytes(), st.sampled_from([".png", ".jpg", ".gif", ".tif", ".webp", ""]))
def test_image_and_mask_files_fuzz_work_or_raise_our_error(tmp_path, data, suffix) -> None:
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    image = _works_or_ours(load_image, path, max_pixels=1 << 20)
    assert image is None or image.mode == "RGB"
    hole = _works_or_ours(load_hole, path, threshold=0.5, max_pixels=1 << 20)
    assert hole is None or (hole.dtype == bool and hole.ndim == 2)
    _works_or_ours(load_hole, str(path), max_pixels=1 << 20)
    _works_or_ours(load_input, path, (4, 4), "sketch")


# ---------------------------------------------------------------------------------------------
# arrays and PIL images

DTYPES = ["bool", "uint8", "int8", "uint16", "int16", "int32", "int64", "uint64", "float16",
          "float32", "float64", "complex64", "object", "U1", "datetime64[s]"]  # fmt: skip


@st.composite
def arrays(draw: st.DrawFn) -> np.ndarray:
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    shape = tuple(draw(st.lists(st.integers(0, 5), max_size=4)))
    count = int(np.prod(shape)) if shape else 1
    kind = draw(st.sampled_from(["binary", "small", "wide", "special"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if kind == "binary":
        raw = rng.integers(0, 2, count) * draw(st.sampled_from([1, 255, 65535]))
    elif kind == "small":
        raw = rng.random(count)
    elif kind == "wide":
        raw = rng.normal(0, 1e6, count)
    else:
        raw = rng.choice([np.nan, np.inf, -np.inf, -1.0, 0.0, 1.0, 256.0], count)
    with np.errstate(all="ignore"):
        if dtype.kind in "OU":
            values = raw.astype(object).astype(dtype)
        elif dtype.kind == "M":
            values = np.zeros(count, dtype)
        else:
            values = raw.astype(dtype)
    return values.reshape(shape)


@FUZZ
@given(arrays())
def test_arrays_fuzz_work_or_raise_our_error(arr) -> None:
    image = _works_or_ours(load_image, arr)
    assert image is None or image.mode == "RGB"
    hole = _works_or_ours(load_hole, arr)
    assert hole is None or (hole.dtype == bool and hole.shape == arr.shape[:2])
    _works_or_ours(load_hole, arr, threshold=0.5, white="keep")
    _works_or_ours(input_to_tensor, arr)


PIL_MODES = ["1", "L", "P", "RGB", "RGBA", "RGBX", "RGBa", "CMYK", "YCbCr", "LAB", "HSV", "I",
             "F", "LA", "La", "PA", "I;16", "I;16L", "I;16B", "I;16N"]  # fmt: skip


@FUZZ
@given(
    st.sampled_from(PIL_MODES),
    st.integers(1, 6),
    st.integers(1, 6),
    st.integers(0, 2**16),
    st.booleans(),
)
def test_pil_modes_fuzz_work_or_raise_our_error(mode, width, height, seed, transparency) -> None:
    image = Image.new(mode, (width, height))
    rng = np.random.default_rng(seed)
    image.frombytes(rng.integers(0, 256, len(image.tobytes()), dtype=np.uint8).tobytes())
    if transparency:
        image.info["transparency"] = 0
    out = _works_or_ours(load_image, image)
    assert out is None or (out.mode == "RGB" and out.size == (width, height))
    hole = _works_or_ours(load_hole, image, threshold=0.5)
    assert hole is None or hole.shape == (height, width)
    _works_or_ours(load_hole, image)
    _works_or_ours(input_to_tensor, image)


def test_fuzz_helper_lets_other_exceptions_through() -> None:
    """The property's check itself: an exception that is not ours fails the test."""
    assert _works_or_ours(int, "7") == 7
    assert _works_or_ours(load_image, np.zeros((2, 2), np.int32)) is None
    with pytest.raises(TypeError):
        _works_or_ours(len, 5)
