"""Fashion-MNIST (Xiao et al. 2017) from Debian's ``dataset-fashion-mnist`` package, offline."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import InpaintkitError

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
FILES = {"train": "train-images-idx3-ubyte.gz", "test": "t10k-images-idx3-ubyte.gz"}


def read_idx_images(path: Path) -> np.ndarray:
    """uint8 [N, rows, cols] from a (gzipped) IDX3 file: magic 0x00000803, then N, rows, cols
    as big-endian int32, then the pixels."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, count, rows, cols = np.frombuffer(data[:16], dtype=">i4")
    if magic != 0x803 or len(data) != 16 + count * rows * cols:
        raise InpaintkitError(f"{path} is not an IDX3 image file (or it is truncated)")
    return np.frombuffer(data[16:], dtype=np.uint8).reshape(count, rows, cols)


def load_fashion_mnist(split: str = "train", size: int = 32, root: Path = DEBIAN_DIR) -> np.ndarray:
    """Fashion-MNIST as uint8 [N, size, size, 3]: the 28x28 grey images (60,000 train, 10,000
    test) resized with PIL Lanczos when size != 28 and repeated on three channels, so RGB models
    train on them unchanged. ``root`` holds the four .gz files (Debian:
    ``apt-get install dataset-fashion-mnist``)."""
    if split not in FILES:
        raise InpaintkitError(f"unknown Fashion-MNIST split {split!r}; choose train or test")
    path = Path(root) / FILES[split]
    if not path.exists():
        raise InpaintkitError(
            f"Fashion-MNIST not found at {path}: install Debian's package "
            "(apt-get install dataset-fashion-mnist) or pass the folder of its .gz files"
        )
    images = read_idx_images(path)
    if size != images.shape[1]:
        resample = Image.Resampling.LANCZOS
        images = np.stack(
            [np.asarray(Image.fromarray(im).resize((size, size), resample)) for im in images]
        )
    return np.repeat(images[..., None], 3, axis=-1)
