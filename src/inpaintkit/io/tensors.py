"""The ONLY place where hole <-> keep and array <-> tensor flip (DESIGN rule 4).

Inside the library images are torch float32 [B, 3, H, W] in [-1, 1] and the mask is `keep`
float32 [B, 1, H, W] with 1 = known pixel. Outside (files, numpy arrays, PIL images) a mask is a
HOLE mask: bool [H, W], True = hole. Extra method inputs (a sketch, an edge map) travel as
uint8 pictures or bool masks and become [1, C, H, W] tensors here.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from inpaintkit.errors import InpaintkitError


def image_to_tensor(image: Image.Image) -> torch.Tensor:
    """RGB PIL image (W, H) -> float32 tensor [1, 3, H, W] in [-1, 1] (0 -> -1.0, 255 -> 1.0)."""
    if not isinstance(image, Image.Image) or image.mode != "RGB":
        got = image.mode if isinstance(image, Image.Image) else type(image).__name__
        raise InpaintkitError(f"expected a PIL image of mode RGB (use load_image), got {got}")
    arr = torch.from_numpy(np.array(image, dtype=np.float32))  # [H, W, 3] in 0..255
    return (arr / 127.5 - 1.0).permute(2, 0, 1).unsqueeze(0).contiguous()


def arrays_to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 arrays [..., H, W, C] -> float32 tensor [..., C, H, W] in [-1, 1] (x / 127.5 - 1).

    The batch form of :func:`image_to_tensor` for data sets and metrics (no copy of the caller's
    array is kept)."""
    array = np.asarray(images)
    if array.dtype != np.uint8 or array.ndim < 3:
        raise InpaintkitError(
            f"expected uint8 arrays [..., H, W, C], got dtype {array.dtype} shape {array.shape}"
        )
    x = torch.from_numpy(np.array(array, dtype=np.uint8, copy=True))
    return x.movedim(-1, -3).float().div(127.5).sub(1.0)


def tensor_to_arrays(x: torch.Tensor) -> np.ndarray:
    """Float tensor [B, C, H, W] in [-1, 1] -> uint8 array [B, H, W, C]: clamped to [-1, 1],
    mapped to 0..255 and rounded half to even (the inverse of :func:`arrays_to_tensor` on
    uint8 values)."""
    x = x.detach().to("cpu", torch.float32)
    return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def tensor_to_images(x: torch.Tensor) -> list[Image.Image]:
    """Float tensor [B, 3, H, W] in [-1, 1] -> B RGB PIL images.

    Values are clamped to [-1, 1], mapped to 0..255 and rounded half to even. Any float dtype
    and device; non-finite values are refused.
    """
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or x.shape[1] != 3:
        got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise InpaintkitError(f"expected a tensor [B, 3, H, W], got {got}")
    if not x.is_floating_point():
        raise InpaintkitError(f"expected a float tensor in [-1, 1], got dtype {x.dtype}")
    if not torch.isfinite(x).all():
        raise InpaintkitError("image tensor holds NaN or infinite values")
    return [Image.fromarray(a) for a in tensor_to_arrays(x)]


def hole_to_keep(hole: np.ndarray) -> torch.Tensor:
    """Bool hole mask [H, W] (True = hole) -> keep tensor float32 [1, 1, H, W], 1 = known."""
    hole = np.asarray(hole)
    if hole.dtype != bool or hole.ndim != 2:
        raise InpaintkitError(
            f"hole must be a bool array [H, W] (True = hole), got dtype {hole.dtype} "
            f"shape {hole.shape}"
        )
    return torch.from_numpy(~hole).to(torch.float32)[None, None]


def keep_to_hole(keep: torch.Tensor | np.ndarray) -> np.ndarray:
    """Keep mask (1 = known) -> bool hole mask, True where keep < 0.5.

    Shapes: [H, W] or [1, 1, H, W] -> [H, W]; [B, 1, H, W] -> [B, H, W].
    """
    if isinstance(keep, torch.Tensor):
        keep = keep.detach().to("cpu", torch.float32).numpy()
    keep = np.asarray(keep)
    if keep.ndim == 4 and keep.shape[1] == 1:
        keep = keep[:, 0]
        if keep.shape[0] == 1:
            keep = keep[0]
    elif keep.ndim != 2:
        raise InpaintkitError(f"keep must be [H, W] or [B, 1, H, W], got shape {keep.shape}")
    return keep < 0.5


def flip_mask(mask: torch.Tensor) -> torch.Tensor:
    """keep [B,1,H,W] (1 = known) <-> hole channel [B,1,H,W] (1 = hole): ``1 - mask``.

    Inside, ``keep`` is the convention; data sets yield holes, and inpainting networks take the
    hole as an input channel (Stable Diffusion inpainting's and LaMa's convention)."""
    return 1.0 - mask


def masked_input(image: torch.Tensor, keep: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(masked image ``image * keep`` [B,C,H,W], hole channel [B,1,H,W] 1 = hole): what an
    inpainting network takes besides any noisy image, from image [B,C,H,W] in [-1,1] and keep
    [B,1,H,W] (1 = known; cast to the image's dtype)."""
    keep = keep.to(image.dtype)
    return image * keep, flip_mask(keep)


def input_to_tensor(value: Image.Image | np.ndarray) -> torch.Tensor:
    """An extra method input (a sketch, an edge map, a guide image) -> float32 [1, C, H, W].

    Pictures (PIL mode "L" or "RGB", or uint8 arrays [H, W] / [H, W, 3]) map like images:
    0 -> -1.0, 255 -> 1.0, C = 1 or 3. Bool masks [H, W] map to {0.0, 1.0} (True = 1), C = 1.
    Anything else is refused.
    """
    if isinstance(value, Image.Image):
        if value.mode not in ("L", "RGB"):
            raise InpaintkitError(f"an input image must be of mode L or RGB, got {value.mode}")
        value = np.asarray(value)
    arr = np.asarray(value)
    if arr.dtype == bool and arr.ndim == 2:
        return torch.from_numpy(arr.astype(np.float32))[None, None]
    if arr.dtype == np.uint8 and (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] == 3)):
        x = torch.from_numpy(np.array(arr, dtype=np.float32)) / 127.5 - 1.0
        x = x[None] if x.ndim == 2 else x.permute(2, 0, 1)
        return x.unsqueeze(0).contiguous()
    raise InpaintkitError(
        "an input must be a PIL image (L or RGB), a uint8 array [H, W] or [H, W, 3] or a bool "
        f"array [H, W], got dtype {arr.dtype} shape {arr.shape}"
    )
