"""Feed-forward inpainting generators: masked image and hole in, image out.

:class:`EncoderDecoderGenerator` is a simple baseline network for the "feedforward" model kind,
in the spirit of Context Encoders / GLCIC without their adversarial training (that lives in
``train``): a strided-conv encoder, dilated residual blocks in the bottleneck (GLCIC's dilation
rates widen the receptive field without more downsampling), and a nearest-upsample + conv
decoder. It is not a state-of-the-art model; it is small, fast and exercises every layer.
"""

from __future__ import annotations

import torch
from torch import nn

from .registry import register_network


def _group_norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(min(8, channels), channels)


class _DilatedBlock(nn.Module):
    def __init__(self, channels: int, dilation: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _group_norm(channels),
            nn.SiLU(),
            nn.Conv2d(channels, channels, 3, padding=dilation, dilation=dilation),
            _group_norm(channels),
            nn.SiLU(),
            nn.Conv2d(channels, channels, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


@register_network()
class EncoderDecoderGenerator(nn.Module):
    """A small encoder-decoder inpainting generator (a baseline network).

    Call: ``net(masked [B,C,H,W] in [-1,1] with the hole zeroed, hole [B,1,H,W] 1 = hole,
    *extras [B,e_i,H,W]) -> image [B,C,H,W] in [-1,1]`` (tanh output). H and W must be
    multiples of ``2 ** depth`` (:attr:`multiple`).

    Config (keyword arguments, all JSON-able, exposed as ``.config``):
    channels: image channels C [3]. extra_channels: total channels of the extra inputs
    (e.g. 1 for a sketch) [0]. width: channels of the first level [32]; each of the ``depth``
    downsamplings doubles it [2]. blocks: dilated residual blocks in the bottleneck, dilation
    rates cycling through 1, 2, 4, 8 [2].
    """

    def __init__(
        self,
        channels: int = 3,
        extra_channels: int = 0,
        width: int = 32,
        depth: int = 2,
        blocks: int = 2,
    ) -> None:
        super().__init__()
        if min(channels, width, depth) < 1 or min(extra_channels, blocks) < 0:
            raise ValueError(
                "channels, width and depth must be >= 1, extra_channels and blocks >= 0"
            )
        self.config = {
            "channels": channels,
            "extra_channels": extra_channels,
            "width": width,
            "depth": depth,
            "blocks": blocks,
        }
        self.multiple = 2**depth
        self.head = nn.Conv2d(channels + 1 + extra_channels, width, 5, padding=2)
        widths = [width * 2**i for i in range(depth + 1)]
        self.down = nn.ModuleList(
            nn.Sequential(nn.Conv2d(a, b, 4, stride=2, padding=1), _group_norm(b), nn.SiLU())
            for a, b in zip(widths[:-1], widths[1:], strict=True)
        )
        self.middle = nn.Sequential(
            *(_DilatedBlock(widths[-1], 2 ** (i % 4)) for i in range(blocks))
        )
        self.up = nn.ModuleList(
            nn.Sequential(
                nn.Upsample(scale_factor=2, mode="nearest"),
                nn.Conv2d(2 * b, a, 3, padding=1),
                _group_norm(a),
                nn.SiLU(),
            )
            for a, b in zip(reversed(widths[:-1]), reversed(widths[1:]), strict=True)
        )
        self.tail = nn.Conv2d(2 * width, channels, 3, padding=1)

    def forward(
        self, masked: torch.Tensor, hole: torch.Tensor, *extras: torch.Tensor
    ) -> torch.Tensor:
        """The generated image [B,C,H,W] in [-1,1] (every pixel; the caller pastes the known
        ones back)."""
        x = torch.cat([masked, hole, *extras], dim=1)
        h = self.head(x)
        skips = [h]
        for down in self.down:
            h = down(h)
            skips.append(h)
        h = self.middle(h)
        for up in self.up:
            h = up(torch.cat([h, skips.pop()], dim=1))
        return torch.tanh(self.tail(torch.cat([h, skips.pop()], dim=1)))
