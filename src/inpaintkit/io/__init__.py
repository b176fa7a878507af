"""Images and hole masks in and out: the edge where files and user arrays meet the tensor contract.

- :mod:`.images`: load_image / save_image (any PIL mode or array -> 8-bit RGB).
- :mod:`.holes`: load_hole / save_hole (white = hole by default, or white = keep).
- :mod:`.tensors`: the ONLY place where hole <-> keep and array <-> tensor flip.
- :mod:`.grids`: grids, hole overlays and GIFs.

Inside the library images are torch float32 [B, 3, H, W] in [-1, 1] and the mask is `keep`
float32 [B, 1, H, W] with 1 = known pixel. Outside (files, numpy arrays, PIL images) a mask is a
HOLE mask: white / True = hole by default; `white="keep"` reads RePaint's released mask files,
where white = keep (DESIGN rule 4). Bad input raises InpaintkitError; nothing is resized or
binarised silently (DESIGN rule 6).
"""

from __future__ import annotations

from .grids import make_grid, save_gif, show_hole
from .holes import WHITE_CHOICES, load_hole, save_hole
from .images import (
    DEFAULT_QUALITY,
    MAX_PIXELS,
    OUTPUT_FORMATS,
    ImageSource,
    atomic_write,
    format_of,
    load_image,
    load_input,
    save_image,
)
from .tensors import (
    arrays_to_tensor,
    flip_mask,
    hole_to_keep,
    image_to_tensor,
    input_to_tensor,
    keep_to_hole,
    masked_input,
    tensor_to_arrays,
    tensor_to_images,
)

__all__ = [
    "flip_mask",
    "masked_input",
    "DEFAULT_QUALITY",
    "OUTPUT_FORMATS",
    "atomic_write",
    "format_of",
    "load_input",
    "arrays_to_tensor",
    "tensor_to_arrays",
    "MAX_PIXELS",
    "WHITE_CHOICES",
    "ImageSource",
    "hole_to_keep",
    "image_to_tensor",
    "input_to_tensor",
    "keep_to_hole",
    "load_hole",
    "load_image",
    "make_grid",
    "save_gif",
    "save_hole",
    "save_image",
    "show_hole",
    "tensor_to_images",
]
