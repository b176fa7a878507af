"""Context Encoders (Pathak et al. 2016, "Context Encoders: Feature Learning by Inpainting", CVPR;
https://arxiv.org/abs/1604.07379): an encoder-decoder joined by a channel-wise fully-connected
layer, and the DCGAN-like discriminator of its adversarial loss.

The paper (section 3.1): the encoder maps the context image to m feature maps of n x n; the
channel-wise fully-connected layer connects each map, fully, to an n x n output map of the same
channel and nothing across channels (m n^4 weights instead of m^2 n^4), and a stride-1
convolution then propagates information across channels; the decoder's up-convolutions produce
the image. Losses (section 3.2, in the training objective ``train.objectives.context_encoder``):
a masked L2 reconstruction (weight 0.999) and an adversarial loss (0.001).

Departures from the paper:

- scaled down to 32x32 emoji: three stride-2 4x4 convolutions (32 -> 4 pixels, widths 32-64-128
  by default; the paper uses AlexNet's pool5, 6x6x256, or the DCGAN-style 128 -> 4 encoder of its
  code), batch norm and LeakyReLU 0.2 as in DCGAN, three 4x4 up-convolutions back to 32;
- holes are free-form here (the paper's are a central square, random blocks or random regions),
  so the generator takes the masked image AND the hole as a fourth channel, like every
  feed-forward generator of this library, and returns the whole image (the paper's centre model
  returns only the centre);
- the size is fixed (the channel-wise layer is n x n = size / 8 squared); larger images go
  through the high-resolution strategies (``methods.strategy``: crop or resize).
"""

from __future__ import annotations

import torch
from torch import nn

from .registry import register_network


class ChannelWiseFC(nn.Module):
    """The channel-wise fully-connected layer (Pathak et al. 2016, section 3.1).

    ``layer(x [B, m, n, n]) -> [B, m, n, n]`` with ``y[b, c] = W[c] @ x[b, c].flatten() + b[c]``:
    a separate (n^2 x n^2) matrix per channel and no connection across channels.
    """

    def __init__(self, channels: int, side: int) -> None:
        super().__init__()
        self.channels, self.side = channels, side
        area = side * side
        self.weight = nn.Parameter(torch.empty(channels, area, area))
        self.bias = nn.Parameter(torch.zeros(channels, area))
        nn.init.normal_(self.weight, 0.0, area**-0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: [B, channels, side, side] -> the same shape."""
        b, c, h, w = x.shape
        if (c, h, w) != (self.channels, self.side, self.side):
            raise ValueError(
                f"the channel-wise FC layer takes [B, {self.channels}, {self.side}, {self.side}], "
                f"got {tuple(x.shape)}"
            )
        flat = x.reshape(b, c, h * w)
        out = torch.einsum("cij,bcj->bci", self.weight, flat) + self.bias
        return out.reshape(b, c, h, w)


def _dcgan_init(module: nn.Module) -> None:
    """DCGAN's initialisation (Radford et al. 2016): conv weights N(0, 0.02), norm scales
    N(1, 0.02), biases 0."""
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(layer.weight, 0.0, 0.02)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, nn.BatchNorm2d):
            nn.init.normal_(layer.weight, 1.0, 0.02)
            nn.init.zeros_(layer.bias)


@register_network()
class ContextEncoderGenerator(nn.Module):
    """The Context Encoder's encoder-decoder (see the module doc for the departures).

    Call: ``net(masked [B,C,size,size] in [-1,1] hole zeroed, hole [B,1,size,size] 1 = hole)
    -> image [B,C,size,size] in [-1,1]`` (tanh). Only ``size`` x ``size`` inputs.

    Config: channels: image channels [3]. size: the fixed image side [32]. width: channels of
    the first level [32]; each of the ``depth`` stride-2 levels doubles it [3 levels:
    32 -> 4 pixels].
    """

    def __init__(self, channels: int = 3, size: int = 32, width: int = 32, depth: int = 3) -> None:
        super().__init__()
        if min(channels, width, depth) < 1 or size % 2**depth or size < 2**depth:
            raise ValueError(f"size {size} must be a positive multiple of 2**depth = {2**depth}; "
                             "channels, width and depth >= 1")  # fmt: skip
        self.config = {"channels": channels, "size": size, "width": width, "depth": depth}
        self.size, self.multiple = size, 2**depth
        widths = [width * 2**i for i in range(depth)]
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip([channels + 1, *widths[:-1]], widths, strict=True)):
            layers.append(nn.Conv2d(a, b, 4, 2, 1, bias=i == 0))
            layers += [nn.BatchNorm2d(b)] if i else []
            layers.append(nn.LeakyReLU(0.2))
        self.encoder = nn.Sequential(*layers)
        bottom = widths[-1]
        self.bottleneck = nn.Sequential(
            ChannelWiseFC(bottom, size // 2**depth),  # within each channel (section 3.1)
            nn.Conv2d(bottom, bottom, 1),  # then the stride-1 conv across channels
            nn.BatchNorm2d(bottom),
            nn.ReLU(),
        )
        layers = []
        for a, b in zip(widths[::-1], [*widths[-2::-1], None], strict=True):
            layers.append(nn.ConvTranspose2d(a, b or channels, 4, 2, 1, bias=b is None))
            layers += [nn.BatchNorm2d(b), nn.ReLU()] if b else [nn.Tanh()]
        self.decoder = nn.Sequential(*layers)
        _dcgan_init(self)

    def forward(self, masked: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
        """The generated image [B,C,size,size] in [-1,1] (every pixel)."""
        if masked.shape[-2:] != (self.size, self.size):
            raise ValueError(
                f"a context encoder works at {self.size}x{self.size} only (its channel-wise FC "
                f"layer), got {tuple(masked.shape[-2:])}; crop or resize larger images"
            )
        return self.decoder(self.bottleneck(self.encoder(torch.cat([masked, hole], 1))))


@register_network()
class DCGANDiscriminator(nn.Module):
    """A DCGAN discriminator (Radford et al. 2016), the Context Encoder's adversary:
    ``net(x [B, in_channels, size, size]) -> logits [B, 1]``.

    Config: in_channels: [3: the image alone, as in the paper]. size: input side [32]. width:
    channels of the first conv [32]; each of the ``depth`` stride-2 4x4 levels doubles it
    [3 levels]; a final conv over the remaining size / 2**depth square gives one logit. Batch
    norm on every level but the first, LeakyReLU 0.2, DCGAN init.
    """

    def __init__(self, in_channels: int = 3, size: int = 32, width: int = 32, depth: int = 3):
        super().__init__()
        if min(in_channels, width, depth) < 1 or size % 2**depth or size < 2**depth:
            raise ValueError(f"size {size} must be a positive multiple of 2**depth = {2**depth}")
        self.config = {"in_channels": in_channels, "size": size, "width": width, "depth": depth}
        widths = [width * 2**i for i in range(depth)]
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip([in_channels, *widths[:-1]], widths, strict=True)):
            layers.append(nn.Conv2d(a, b, 4, 2, 1, bias=i == 0))
            layers += [nn.BatchNorm2d(b)] if i else []
            layers.append(nn.LeakyReLU(0.2))
        layers.append(nn.Conv2d(widths[-1], 1, size // 2**depth))
        self.net = nn.Sequential(*layers)
        _dcgan_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: [B, in_channels, size, size] -> logits [B, 1]."""
        return self.net(x).flatten(1)
