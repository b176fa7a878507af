"""Partial convolutions and the PConv U-Net (Liu et al. 2018, "Image Inpainting for Irregular Holes
Using Partial Convolutions", ECCV; https://arxiv.org/abs/1804.07723).

:class:`PartialConv2d` is the paper's eq. 1-2: with X the features and M the binary mask (1 = a
valid, KNOWN value) under the sliding window,

    x' = W^T (X * M) * sum(1) / sum(M) + b   if sum(M) > 0, else 0        (eq. 1)
    m' = 1                                   if sum(M) > 0, else 0        (eq. 2)

where sum(1) counts the window's entries (kernel area x input channels). Zero padding of the mask
makes the border a hole, as in the paper (section 3.1).

:class:`PartialConvUNet` is the paper's network (section 3.2) scaled down to 32x32 emoji: an
encoder of stride-2 partial convolutions (ReLU, batch norm except on the first layer) and a
decoder of nearest-neighbour upsampling, skip concatenation of BOTH features and masks, and
3x3 partial convolutions (LeakyReLU 0.2, batch norm except on the last layer).

Departures from the paper (all for 32x32 images and one CPU core):

- depth 4 instead of 8 (32 -> 2 pixels; the paper halves 512 to 2 in 8 steps), kernels 7, 5, 5, 3
  (the paper's first four) and widths 32-64-128-128 instead of 64-128-256-512-...;
- the output goes through tanh (the library's generators return [-1, 1]; the paper's last layer
  is linear on ImageNet-normalised images);
- the mask is one channel per feature map (all channels of a map share it, which is what eq. 2
  produces); in the decoder the concatenated mask keeps one channel per concatenated feature
  channel, so sum(1) / sum(M) counts exactly as the paper's multi-channel masks do.

Mask convention: inside this module M = 1 for KNOWN pixels; the generator is called, like every
feed-forward generator, with the HOLE (1 = hole) and flips it once on entry.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .registry import register_network


class PartialConv2d(nn.Module):
    """A partial convolution (Liu et al. 2018, eq. 1-2): ``layer(x, mask) -> (x', mask')``.

    x: [B, C_in, H, W]. mask: [B, 1, H, W] (one mask shared by every input channel) or
    [B, C_in, H, W] (one per channel), 1 = valid (known), 0 = hole. Returns x' [B, C_out, H', W']
    and mask' [B, 1, H', W'] (float 0/1; the same for every output channel). The weights W and
    bias b are an ordinary ``nn.Conv2d``'s (``self.conv``).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        dilation: int = 1,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(
            in_channels, out_channels, kernel_size, stride, padding, dilation, bias=False
        )
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.register_buffer("window", torch.ones(1, 1, kernel_size, kernel_size), persistent=False)
        self.window_size = in_channels * kernel_size * kernel_size  # sum(1) of eq. 1

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(x', mask') of eq. 1-2 for features x and valid mask ``mask`` (see the class doc)."""
        if mask.shape[1] not in (1, x.shape[1]):
            raise ValueError(f"mask must have 1 or {x.shape[1]} channels, got {tuple(mask.shape)}")
        per_map = x.shape[1] if mask.shape[1] == 1 else 1
        conv = self.conv
        with torch.no_grad():  # sum(M) over the window and every input channel
            valid = F.conv2d(
                mask.sum(1, keepdim=True).to(x.dtype), self.window.to(x.dtype), None,
                conv.stride, conv.padding, conv.dilation,
            ) * per_map  # fmt: skip
            new_mask = (valid > 0).to(x.dtype)
            scale = self.window_size / valid.clamp_min(1.0) * new_mask  # 0 where sum(M) = 0
        out = conv(x * mask) * scale
        if self.bias is not None:
            out = out + self.bias.view(1, -1, 1, 1) * new_mask
        return out, new_mask


def _batch_norm(channels: int, use: bool) -> nn.Module:
    return nn.BatchNorm2d(channels) if use else nn.Identity()


@register_network()
class PartialConvUNet(nn.Module):
    """The PConv U-Net generator (Liu et al. 2018, section 3.2; scaled down, see the module doc).

    Call: ``net(masked [B,C,H,W] in [-1,1] hole zeroed, hole [B,1,H,W] 1 = hole) -> image
    [B,C,H,W] in [-1,1]``; H and W must be multiples of ``2 ** len(widths)`` (:attr:`multiple`).

    Config: channels: image channels [3]. widths: channels of each encoder level [32, 64, 128,
    128]. kernels: kernel size of each encoder level [7, 5, 5, 3] (the decoder's are 3).
    """

    def __init__(
        self,
        channels: int = 3,
        widths: list[int] | tuple[int, ...] = (32, 64, 128, 128),
        kernels: list[int] | tuple[int, ...] = (7, 5, 5, 3),
    ) -> None:
        super().__init__()
        widths, kernels = [int(w) for w in widths], [int(k) for k in kernels]
        if len(widths) != len(kernels) or not widths or min(widths + kernels + [channels]) < 1:
            raise ValueError(f"widths {widths} and kernels {kernels} must be non-empty, positive "
                             "and of the same length")  # fmt: skip
        self.config = {"channels": channels, "widths": widths, "kernels": kernels}
        self.multiple = 2 ** len(widths)
        ins = [channels, *widths[:-1]]
        self.encoder = nn.ModuleList(
            PartialConv2d(a, b, k, stride=2, padding=k // 2)
            for a, b, k in zip(ins, widths, kernels, strict=True)
        )
        self.encoder_norms = nn.ModuleList(_batch_norm(b, i > 0) for i, b in enumerate(widths))
        # decoder level i: the upsampled features from below (widths[i] channels) joined with
        # the skip (ins[i]: the encoder's input at that level) -> ins[i] channels (the mirror)
        self.decoder = nn.ModuleList(
            PartialConv2d(w + c, c, 3, padding=1) for w, c in zip(widths, ins, strict=True)
        )
        self.decoder_norms = nn.ModuleList(_batch_norm(c, i > 0) for i, c in enumerate(ins))

    def forward(self, masked: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
        """The generated image [B,C,H,W] in [-1,1] (every pixel; the caller pastes the known
        ones back)."""
        mask = 1.0 - hole  # flip_mask: networks sit below io; M = 1 on known pixels (eq. 1)
        x = masked * mask
        skips = [(x, mask)]
        for conv, norm in zip(self.encoder, self.encoder_norms, strict=True):
            x, mask = conv(x, mask)
            x = F.relu(norm(x))
            skips.append((x, mask))
        skips.pop()
        for level in reversed(range(len(self.decoder))):
            skip, skip_mask = skips.pop()
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
            mask = F.interpolate(mask, scale_factor=2.0, mode="nearest")
            # skip links concatenate features AND masks (section 3.2); one mask channel each
            joined_mask = torch.cat(
                [mask.expand(-1, x.shape[1], -1, -1),
                 skip_mask.expand(-1, skip.shape[1], -1, -1)], 1,
            )  # fmt: skip
            x, mask = self.decoder[level](torch.cat([x, skip], 1), joined_mask)
            x = self.decoder_norms[level](x)
            if level > 0:
                x = F.leaky_relu(x, 0.2)
        return torch.tanh(x)
