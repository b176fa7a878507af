"""Discriminators for adversarial training of feed-forward inpainting generators.

:class:`PatchDiscriminator` is a PatchGAN (Isola et al. 2017, pix2pix; the discriminator of LaMa
and of most inpainting GANs): strided 4x4 convolutions whose output is a map of logits, one per
overlapping receptive-field patch, so it judges local texture at any image size.
"""

from __future__ import annotations

import torch
from torch import nn

from .registry import register_network


@register_network()
class PatchDiscriminator(nn.Module):
    """A PatchGAN discriminator: ``net(x [B, in_channels, H, W]) -> logits [B, 1, H', W']``.

    Config (keyword arguments, JSON-able, exposed as ``.config``):
    in_channels: input channels [4: an RGB image and its hole mask, as LaMa feeds them].
    width: channels after the first convolution [64]; each of the ``depth`` stride-2 levels
        doubles it, capped at 8 * width [3 levels].
    spectral_norm: wrap every convolution in spectral normalisation (SN-PatchGAN) [False].
    Layers: conv4x4/2 + LeakyReLU(0.2), then ``depth - 1`` x (conv4x4/2 + GroupNorm + LeakyReLU),
    one conv4x4/1 + GroupNorm + LeakyReLU, and a conv4x4/1 to one logit channel (pix2pix's
    padding 1: H' = H / 2**depth - 2). Weights: N(0, 0.02) (pix2pix).
    """

    def __init__(
        self, in_channels: int = 4, width: int = 64, depth: int = 3, spectral_norm: bool = False
    ) -> None:
        super().__init__()
        if min(in_channels, width, depth) < 1:
            raise ValueError(f"in_channels, width and depth must be >= 1, got {in_channels}, "
                             f"{width}, {depth}")  # fmt: skip
        self.config = {
            "in_channels": in_channels,
            "width": width,
            "depth": depth,
            "spectral_norm": spectral_norm,
        }

        def conv(a: int, b: int, stride: int) -> nn.Module:
            layer = nn.Conv2d(a, b, 4, stride=stride, padding=1)
            nn.init.normal_(layer.weight, 0.0, 0.02)
            nn.init.zeros_(layer.bias)
            return nn.utils.spectral_norm(layer) if spectral_norm else layer

        def norm(c: int) -> nn.Module:
            return nn.GroupNorm(min(8, c), c)

        widths = [min(width * 2**i, 8 * width) for i in range(depth + 1)]
        layers: list[nn.Module] = [conv(in_channels, widths[0], 2), nn.LeakyReLU(0.2)]
        for a, b in zip(widths[:-2], widths[1:-1], strict=True):
            layers += [conv(a, b, 2), norm(b), nn.LeakyReLU(0.2)]
        layers += [conv(widths[-2], widths[-1], 1), norm(widths[-1]), nn.LeakyReLU(0.2)]
        layers += [conv(widths[-1], 1, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: [B, in_channels, H, W] (H, W >= 2**depth) -> logits [B, 1, H', W']."""
        return self.net(x)
