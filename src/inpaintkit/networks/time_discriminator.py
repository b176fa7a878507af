"""A time-conditioned discriminator in the style of Denoising Diffusion GANs (Xiao et al.,
ICLR 2022, the small-image discriminator of NVlabs/denoising-diffusion-gan), as StrDiffusion
uses it for adaptive resampling on cat(texture state, structure state).

Layout (written anew; smaller than the public code's ngf 32 / 64): a sinusoidal embedding of the
integer timestep and a 2-layer MLP (LeakyReLU 0.2); a 1x1 convolution to 2 * width channels;
four :class:`DownBlock` s (width * (2, 2, 4, 8, 8), the last three halving the resolution with a
[1, 3, 3, 1] blur); a 3x3 convolution (zero init), LeakyReLU, a sum over positions and a linear
layer to one logit per image. Weights: DDGAN's fan-average uniform (Xavier) init, zero biases,
and zeros for the layers DDGAN initialises at scale 0 (each block's second convolution and the
final one); PyTorch's default init shrinks the signal about threefold per layer, and the
discriminator then barely learns. Departure: DDGAN's minibatch standard-deviation feature is left
out: it makes an image's score depend on the other images of its batch, and the sampler
compares scores row by row.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .irsde_unet import sinusoidal_embedding
from .registry import register_network

_BLUR = torch.tensor([1.0, 3.0, 3.0, 1.0])


def blur_downsample(x: torch.Tensor) -> torch.Tensor:
    """Halve H and W with the separable FIR [1, 3, 3, 1] / 8 (StyleGAN2's / DDGAN's
    ``downsample_2d`` with factor 2): pad 1 on each side, stride 2."""
    kernel = torch.outer(_BLUR, _BLUR).to(x.device, x.dtype)
    kernel = (kernel / kernel.sum()).expand(x.shape[1], 1, 4, 4)
    return F.conv2d(F.pad(x, (1, 1, 1, 1)), kernel, stride=2, groups=x.shape[1])


class DownBlock(nn.Module):
    """act -> conv3 (+ time projection) -> act -> [blur-down] -> conv3 (zero init), plus a 1x1
    skip of the (downsampled) input; (out + skip) / sqrt(2)."""

    def __init__(self, c_in: int, c_out: int, time_dim: int, downsample: bool) -> None:
        super().__init__()
        self.downsample = downsample
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)
        self.time = nn.Linear(time_dim, c_out)
        self.skip = nn.Conv2d(c_in, c_out, 1, bias=False)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        out = self.conv1(F.leaky_relu(x, 0.2)) + self.time(emb)[..., None, None]
        out = F.leaky_relu(out, 0.2)
        if self.downsample:
            out, x = blur_downsample(out), blur_downsample(x)
        return (self.conv2(out) + self.skip(x)) / math.sqrt(2.0)


@register_network()
class TimeDiscriminator(nn.Module):
    """``net(x, structure, t) -> logits [B, 1]`` on cat(x [B, C, H, W], structure [B, S, H, W]).

    Config (keyword arguments, JSON-able, ``.config``): in_channels: C + S [4: RGB texture and
    the 1-channel structure]; width: base width [16] (the public code: 32 in training, 64 at
    test); time_dim: the time embedding's size [128]. H and W must be multiples of 8.
    """

    def __init__(self, in_channels: int = 4, width: int = 16, time_dim: int = 128) -> None:
        super().__init__()
        if min(in_channels, width, time_dim) < 1 or time_dim % 2:
            raise ValueError("in_channels, width >= 1 and an even time_dim >= 2 are needed")
        self.config = {"in_channels": in_channels, "width": width, "time_dim": time_dim}
        self.time = nn.Sequential(
            nn.Linear(time_dim, time_dim), nn.LeakyReLU(0.2), nn.Linear(time_dim, time_dim)
        )
        self.start = nn.Conv2d(in_channels, 2 * width, 1)
        widths = [2 * width, 2 * width, 4 * width, 8 * width, 8 * width]
        self.blocks = nn.ModuleList(
            DownBlock(a, b, time_dim, downsample=i > 0)
            for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True))
        )
        self.final = nn.Conv2d(8 * width, 8 * width, 3, padding=1)
        nn.init.zeros_(self.final.weight)
        nn.init.zeros_(self.final.bias)
        self.linear = nn.Linear(8 * width, 1)
        for module in self.modules():  # DDGAN's default_init: fan-average uniform, zero biases
            if isinstance(module, (nn.Conv2d, nn.Linear)) and module.weight.abs().sum() > 0:
                nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor, structure: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """One logit per image [B, 1]; t: LongTensor [B] (or one value for all)."""
        t = t.reshape(-1).expand(x.shape[0]) if t.numel() == 1 else t.reshape(-1)
        emb = self.time(sinusoidal_embedding(t, self.config["time_dim"]).to(x.dtype))
        emb = F.leaky_relu(emb, 0.2)
        h = self.start(torch.cat([x, structure.to(x.dtype)], dim=1))
        for block in self.blocks:
            h = block(h, emb)
        h = F.leaky_relu(self.final(h), 0.2)
        return self.linear(h.sum(dim=(2, 3)))
