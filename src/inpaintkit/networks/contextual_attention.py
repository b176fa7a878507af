"""The contextual attention layer of DeepFill v1 (Yu et al. 2018, "Generative Image Inpainting
with Contextual Attention", CVPR; section 4.1, Figure 3).

Foreground features (the hole) are filled with a weighted copy of background features (the
known region): patches of the background act as convolution kernels.

1. Match (sec. 4.1, eq. 1): extract 3x3 patches of the background features (downscaled by
   ``rate``), normalise each to unit L2 norm, and convolve them with the foreground: the score
   s[q, p] = <f_p, b_q / ||b_q||> of background patch q at foreground position p.
2. Attention propagation (sec. 4.1, "Attention propagation"; optional): scores are summed
   along the diagonals of the (foreground, background) score matrix with an identity kernel,
   left-right then top-down, so that a shift agreed by neighbours wins.
3. Mask out the background patches that touch the hole, and take the softmax over the
   background with scale 10 (the paper's lambda): attention a[q, p].
4. Reconstruct by a transposed convolution with the RAW background patches (at full feature
   resolution) as kernels, divided by how many patches overlap each output pixel.

Departures from the official code, all small and deliberate:

- the raw patch of a matched 3x3 low-resolution patch is exactly its area at full resolution
  (3*rate pixels, stride rate), and the overlap divisor is counted per pixel (9 inside, fewer at
  the border) instead of the constant 4 of the official 4x4 raw patches;
- hole patches are masked with the lowest float before the softmax (exactly zero weight)
  instead of a zero score (the official code's exp(0) terms still take a share of the
  softmax's mass); with no valid background patch at all the output is zero;
- features are downscaled by average pooling, the hole by max pooling (a patch is "known" only
  if no hole pixel falls in its area).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .registry import register_network


def _diagonal_sum(matrix: torch.Tensor, size: int) -> torch.Tensor:
    """sum_{k=-size//2..size//2} matrix[..., p + k, q + k] (zero outside): a convolution of a
    [..., P, Q] matrix with the identity kernel of ``size``, by shifted slices."""
    pad = size // 2
    padded = F.pad(matrix, (pad, pad, pad, pad))
    rows, cols = matrix.shape[-2:]
    return sum(padded[..., k : k + rows, k : k + cols] for k in range(size))


def _propagate(scores: torch.Tensor, h: int, w: int, size: int) -> torch.Tensor:
    """Attention propagation (sec. 4.1): scores [B, L=h*w (background), h, w (foreground)]
    summed along the diagonals of the (foreground, background) score matrix with an identity
    kernel of ``size``, first with both flattened row-major (neighbours left and right), then
    column-major (neighbours above and below), as the official code."""
    batch = scores.shape[0]
    # [B, bh, bw, fh, fw] -> [B, fh, fw, bh, bw] -> matrix [fg row-major, bg row-major]
    s = scores.reshape(batch, h, w, h, w).permute(0, 3, 4, 1, 2)
    s = _diagonal_sum(s.reshape(batch, h * w, h * w), size).reshape(batch, h, w, h, w)
    s = s.permute(0, 2, 1, 4, 3).reshape(batch, w * h, w * h)  # column-major
    s = _diagonal_sum(s, size).reshape(batch, w, h, w, h).permute(0, 2, 1, 4, 3)
    return s.permute(0, 3, 4, 1, 2).reshape(batch, h * w, h, w)


def contextual_attention(
    foreground: torch.Tensor,
    background: torch.Tensor,
    hole: torch.Tensor,
    *,
    ksize: int = 3,
    rate: int = 1,
    scale: float = 10.0,
    fuse: int = 3,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Fill ``foreground`` [B,C,H,W] from patches of ``background`` [B,C,H,W] (see the module
    docstring); ``hole`` [B,1,H0,W0] (1 = hole, any size: resized to H, W by max pooling or
    nearest upsampling) marks background patches that may not be copied.

    ksize: matching patch side (odd) [3]. rate: matching runs on features downscaled by it
    (H, W must be multiples) [1]. scale: softmax scale lambda [10]. fuse: side of the attention
    propagation kernel; 0 or 1 turns propagation off [3].
    Returns (output [B,C,H,W], attention [B, L, h, w]): attention[b, q, i, j] is the weight of
    background patch q (row-major over the h x w = H/rate x W/rate grid) at foreground
    position (i, j); it sums to 1 over q wherever a valid patch exists, else it is 0.

    The convolutions of the paper are written as batched matrix products: matching is
    (normalised background patches [L, C k k]) @ (foreground patches [C k k, h w]); the
    transposed convolution is (raw patches [C k' k', L]) @ attention, folded back (overlapping
    contributions summed) -- the same numbers, one call for the whole batch.
    """
    batch, channels, height, width = background.shape
    if height % rate or width % rate or ksize % 2 == 0:
        raise ValueError(f"sides {height}x{width} must be multiples of rate {rate}, ksize odd")
    h, w = height // rate, width // rate
    raw_k, raw_pad = ksize * rate, (ksize // 2) * rate
    # 1. matching: unit-norm background patches against every foreground patch
    small_b = F.avg_pool2d(background, rate) if rate > 1 else background
    b_patches = F.unfold(small_b, ksize, padding=ksize // 2)  # [B, C k k, L]
    if foreground is background:  # self-attention (DeepFill's use): one unfold serves both
        f_patches = b_patches
    else:
        small_f = F.avg_pool2d(foreground, rate) if rate > 1 else foreground
        f_patches = F.unfold(small_f, ksize, padding=ksize // 2)  # [B, C k k, h w]
    norms = b_patches.norm(dim=1).clamp_min(1e-4)[:, :, None]  # [B, L, 1]
    # <f_p, b_q / ||b_q||>, dividing the [L, h w] scores rather than the [C k k, L] patches
    scores = (torch.bmm(b_patches.transpose(1, 2), f_patches) / norms).reshape(batch, h * w, h, w)
    # 3. valid background patches: no hole pixel in their area
    small_hole = _resize_hole(hole.to(background.dtype), h, w)
    touched = F.unfold(small_hole, ksize, padding=ksize // 2).sum(1)  # [B, L]
    valid = (touched == 0)[:, :, None, None]
    # 2. attention propagation
    if fuse > 1:
        scores = _propagate(scores, h, w, fuse)
    logits = (scores * scale).masked_fill(~valid, torch.finfo(scores.dtype).min)
    attention = torch.softmax(logits, dim=1) * valid.to(scores.dtype)
    # 4. transposed convolution with the raw patches, divided by the overlap count
    if rate == 1:  # the raw patches are the matching patches
        raw = b_patches
    else:
        raw = F.unfold(background, raw_k, padding=raw_pad, stride=rate)  # [B, C k' k', L]
    columns = torch.bmm(raw, attention.reshape(batch, h * w, h * w))
    out = F.fold(columns, (height, width), raw_k, padding=raw_pad, stride=rate)
    ones = torch.ones(1, raw_k * raw_k, h * w, dtype=out.dtype, device=out.device)
    overlap = F.fold(ones, (height, width), raw_k, padding=raw_pad, stride=rate)
    return out / overlap, attention


def _resize_hole(hole: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """The hole [B,1,h,w]: max pooling when shrinking (any hole pixel marks the cell), nearest
    when the sizes are equal or growing."""
    if hole.shape[-2] > h and hole.shape[-2] % h == 0 and hole.shape[-1] % w == 0:
        return F.max_pool2d(hole, (hole.shape[-2] // h, hole.shape[-1] // w))
    if tuple(hole.shape[-2:]) != (h, w):
        return F.interpolate(hole, size=(h, w), mode="nearest")
    return hole


@register_network()
class ContextualAttention(nn.Module):
    """:func:`contextual_attention` as a module without weights (config: ksize, rate, scale,
    fuse); ``net(foreground, background, hole) -> output`` (call the function for the
    attention map)."""

    def __init__(self, ksize: int = 3, rate: int = 1, scale: float = 10.0, fuse: int = 3) -> None:
        super().__init__()
        if ksize < 1 or ksize % 2 == 0 or rate < 1 or fuse < 0:
            raise ValueError(f"ksize must be odd >= 1, rate >= 1, fuse >= 0; got {ksize}, "
                             f"{rate}, {fuse}")  # fmt: skip
        self.config = {"ksize": ksize, "rate": rate, "scale": scale, "fuse": fuse}

    def forward(
        self, foreground: torch.Tensor, background: torch.Tensor, hole: torch.Tensor
    ) -> torch.Tensor:
        return contextual_attention(foreground, background, hole, **self.config)[0]
