"""Pictures for people: grids of results, hole overlays and animated GIFs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from inpaintkit.errors import InpaintkitError

from .images import atomic_write


def show_hole(
    image: Image.Image, hole: np.ndarray, color: tuple[int, int, int] = (128, 128, 128)
) -> Image.Image:
    """The image (as RGB) with its hole pixels painted `color` (default mid gray), for grids."""
    hole = np.asarray(hole)
    if hole.dtype != bool or hole.shape != (image.height, image.width):
        raise InpaintkitError(
            f"hole must be a bool array of shape (H, W) = {(image.height, image.width)}, "
            f"got dtype {hole.dtype} shape {hole.shape}"
        )
    arr = np.array(image.convert("RGB"))
    arr[hole] = color
    return Image.fromarray(arr)


def make_grid(
    rows: list[list[Image.Image]],
    *,
    pad: int = 2,
    background: tuple[int, int, int] = (255, 255, 255),
) -> Image.Image:
    """Tile equally sized images into an RGB grid, row by row, `pad` pixels between them.

    Rows may differ in length (short rows leave background on the right). The grid is
    (n_cols * W + (n_cols - 1) * pad) x (n_rows * H + (n_rows - 1) * pad), no outer border.
    """
    images = [im for row in rows for im in row]
    if not images:
        raise InpaintkitError("make_grid needs at least one image")
    if pad < 0:
        raise InpaintkitError(f"pad must be >= 0, got {pad}")
    sizes = {im.size for im in images}
    if len(sizes) != 1:
        raise InpaintkitError(f"grid images must share one size, got sizes {sorted(sizes)}")
    (w, h) = sizes.pop()
    n_cols = max(len(row) for row in rows)
    grid = Image.new(
        "RGB", (n_cols * w + (n_cols - 1) * pad, len(rows) * h + (len(rows) - 1) * pad), background
    )
    for r, row in enumerate(rows):
        for c, im in enumerate(row):
            grid.paste(im.convert("RGB"), (c * (w + pad), r * (h + pad)))
    return grid


def save_gif(frames: list[Image.Image], path: str | Path, *, duration: int = 80) -> Path | None:
    """Write ``frames`` as a looping GIF, ``duration`` ms per frame (default 80).

    Returns the path, or None when there are no frames (nothing is written).
    """
    if not frames:
        return None
    path = Path(path)
    if path.suffix.lower() != ".gif":
        raise InpaintkitError(f"animations are GIF: the path must end in .gif, got {path}")
    return atomic_write(
        path,
        lambda tmp: frames[0].save(
            tmp, format="GIF", save_all=True, append_images=frames[1:], duration=duration, loop=0
        ),
    )
