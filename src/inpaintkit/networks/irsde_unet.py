"""The noise networks of StrDiffusion's two IR-SDE processes, and its SPADE guidance block.

:class:`IRSDEUNet` follows the layout of the public IR-SDE / StrDiffusion UNet
(``DenoisingUNet_arch.py``: ``ConditionalUNets`` for the structure, ``ConditionalUNet`` for the
texture), written anew and smaller:

- input cat(x_t - mu, mu) [2C channels] (IR-SDE's conditioning on the degraded image mu), a 7x7
  head, a sinusoidal time embedding of the integer timestep and a 2-layer MLP (GELU);
- ``depth`` levels down: two residual blocks (3x3 convolutions without normalisation, the time
  embedding as scale and shift after the first, SiLU), a linear attention (PreNorm: a channel
  LayerNorm), then a 4x4 stride-2 convolution (a 3x3 one at the last level) doubling the width;
- with ``guide_channels`` > 0 (the texture network): a :class:`SpadeBlock` after every
  downsampling, taking the structure state (StrDiffusion section 3.3: the structure guides the
  texture's denoising);
- a middle (block, attention, block) and the mirrored way up with skip concatenations, a final
  residual block on cat(features, head features) and a 3x3 convolution to the noise [C].

:class:`SpadeBlock` (SPADE: Park et al., CVPR 2019) is the public code's ``SPADEBlock`` with
``spectralspadeposition3x3``: positional normalisation (each pixel's channels to zero mean and
unit variance, no parameters), then out = norm(x) * (1 + gamma(s)) + beta(s), gamma and beta 3x3
convolutions of a shared 3x3 convolution + ReLU of the structure s resized (nearest) to x;
two such norms, leaky ReLU (0.2) and spectral-normalised 3x3 convolutions in a residual block.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .registry import register_network


def sinusoidal_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """[B, dim]: sin and cos of t * 10000^(-i / (dim/2 - 1)), i = 0..dim/2 - 1 (DDPM's)."""
    half = dim // 2
    scale = math.log(10000.0) / max(half - 1, 1)
    freqs = torch.exp(torch.arange(half, device=t.device, dtype=torch.float32) * -scale)
    angles = t.float().reshape(-1, 1) * freqs.reshape(1, -1)
    return torch.cat([angles.sin(), angles.cos()], dim=1)


def _centered(x: torch.Tensor, unbiased: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(x - channel mean, channel variance) per pixel; the sum of squares is several times
    faster than ``Tensor.var(dim=1)`` on a CPU for [B, C, H, W] tensors."""
    centered = x - x.mean(dim=1, keepdim=True)
    count = x.shape[1] - 1 if unbiased else x.shape[1]
    return centered, (centered * centered).sum(dim=1, keepdim=True) / max(count, 1)


def positional_norm(x: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Each pixel's channel vector to zero mean and unit (unbiased) variance (PONO)."""
    centered, var = _centered(x, unbiased=True)
    return centered / (var + eps).sqrt()


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channels of each pixel with a learned gain (no bias)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.gain = nn.Parameter(torch.ones(1, channels, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        centered, var = _centered(x, unbiased=False)
        return centered * (var + 1e-5).rsqrt() * self.gain


class LinearAttention(nn.Module):
    """Linear attention over positions (Shen et al. 2021), residual and pre-normalised: the
    keys are softmaxed over positions, the queries over channels; cost linear in H * W."""

    def __init__(self, channels: int, heads: int = 4, head_dim: int = 32) -> None:
        super().__init__()
        self.heads, self.scale = heads, head_dim**-0.5
        hidden = heads * head_dim
        self.norm = ChannelLayerNorm(channels)
        self.qkv = nn.Conv2d(channels, 3 * hidden, 1, bias=False)
        self.out = nn.Sequential(nn.Conv2d(hidden, channels, 1), ChannelLayerNorm(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, self.heads, -1, h * w).unbind(1)
        q = q.softmax(dim=-2) * self.scale
        k = k.softmax(dim=-1)
        context = torch.einsum("bhdn,bhen->bhde", k, v / (h * w))
        out = torch.einsum("bhde,bhdn->bhen", context, q).reshape(b, -1, h, w)
        return x + self.out(out)


class ResidualBlock(nn.Module):
    """conv3 -> scale/shift by the time embedding -> SiLU -> conv3 -> SiLU, plus a 1x1 skip."""

    def __init__(self, c_in: int, c_out: int, time_dim: int) -> None:
        super().__init__()
        self.time = nn.Sequential(nn.SiLU(), nn.Linear(time_dim, 2 * c_out))
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.skip = nn.Conv2d(c_in, c_out, 1, bias=False) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        scale, shift = self.time(emb)[..., None, None].chunk(2, dim=1)
        h = F.silu(self.conv1(x) * (1 + scale) + shift)
        return F.silu(self.conv2(h)) + self.skip(x)


class Spade(nn.Module):
    """SPADE with positional normalisation: norm(x) * (1 + gamma(s)) + beta(s)."""

    def __init__(self, channels: int, guide_channels: int, hidden: int = 16) -> None:
        super().__init__()
        self.shared = nn.Sequential(nn.Conv2d(guide_channels, hidden, 3, padding=1), nn.ReLU())
        self.gamma = nn.Conv2d(hidden, channels, 3, padding=1)
        self.beta = nn.Conv2d(hidden, channels, 3, padding=1)

    def forward(self, x: torch.Tensor, guide: torch.Tensor) -> torch.Tensor:
        guide = F.interpolate(guide, size=x.shape[-2:], mode="nearest")
        actv = self.shared(guide)
        return positional_norm(x) * (1 + self.gamma(actv)) + self.beta(actv)


class SpadeBlock(nn.Module):
    """x + conv(lrelu(spade(conv(lrelu(spade(x, s))), s))), spectral-normalised convolutions;
    weights N(0, 0.02), biases 0 (the public code's init)."""

    def __init__(self, channels: int, guide_channels: int, hidden: int = 16) -> None:
        super().__init__()
        self.norm0 = Spade(channels, guide_channels, hidden)
        self.norm1 = Spade(channels, guide_channels, hidden)
        convs = [nn.Conv2d(channels, channels, 3, padding=1) for _ in range(2)]
        for module in [*convs, *self.norm0.modules(), *self.norm1.modules()]:
            if isinstance(module, nn.Conv2d):
                nn.init.normal_(module.weight, 0.0, 0.02)
                nn.init.zeros_(module.bias)
        sn = nn.utils.parametrizations.spectral_norm
        self.conv0, self.conv1 = sn(convs[0]), sn(convs[1])

    def forward(self, x: torch.Tensor, guide: torch.Tensor) -> torch.Tensor:
        dx = self.conv0(F.leaky_relu(self.norm0(x, guide), 0.2))
        dx = self.conv1(F.leaky_relu(self.norm1(dx, guide), 0.2))
        return x + dx


@register_network()
class IRSDEUNet(nn.Module):
    """The IR-SDE noise network (module docstring): ``net(x_t, mu, t, guide=None) -> eps``.

    x_t, mu: [B, channels, H, W] (any H, W: reflect-padded to a multiple of 2**(depth - 1) and
    cropped back); t: LongTensor [B] of integer timesteps; guide: [B, guide_channels, H', W'],
    required when guide_channels > 0 (resized to each level).

    Config (keyword arguments, JSON-able, ``.config``): channels [3]; width: channels of the first
    level [16]; depth: levels [3], level i has width * 2**i channels, the middle width * 2**depth;
    blocks: residual blocks per level on the way down and up [2, the public code's];
    attention: linear attentions [True]: in the middle and at every level from
    ``attention_from`` on (0 = every level, the public code's; 1 = all but the full resolution,
    the costliest) [0]; guide_channels: channels of the SPADE guide, 0 = none [0];
    spade_hidden: SPADE's hidden channels [16].
    """

    def __init__(
        self,
        channels: int = 3,
        width: int = 16,
        depth: int = 3,
        blocks: int = 2,
        attention: bool = True,
        attention_from: int = 0,
        guide_channels: int = 0,
        spade_hidden: int = 16,
    ) -> None:
        super().__init__()
        if (
            min(channels, width, depth, blocks, spade_hidden) < 1
            or min(guide_channels, attention_from) < 0
        ):
            raise ValueError(
                "channels, width, depth, blocks, spade_hidden >= 1 and guide_channels, "
                "attention_from >= 0 are needed"
            )
        self.config = {
            "channels": channels,
            "width": width,
            "depth": depth,
            "blocks": blocks,
            "attention": attention,
            "attention_from": attention_from,
            "guide_channels": guide_channels,
            "spade_hidden": spade_hidden,
        }
        self.multiple = 2 ** (depth - 1)
        time_dim = 4 * width
        self.time = nn.Sequential(
            nn.Linear(width, time_dim), nn.GELU(), nn.Linear(time_dim, time_dim)
        )
        self.head = nn.Conv2d(2 * channels, width, 7, padding=3, bias=False)

        def attend(c: int, level: int) -> nn.Module:
            return LinearAttention(c) if attention and level >= attention_from else nn.Identity()

        self.down, self.up = nn.ModuleList(), nn.ModuleList()
        self.guides = nn.ModuleList()
        for i in range(depth):
            c_in, c_out = width * 2**i, width * 2 ** (i + 1)
            last = i == depth - 1
            level = nn.ModuleDict(
                {
                    "blocks": nn.ModuleList(
                        ResidualBlock(c_in, c_in, time_dim) for _ in range(blocks)
                    ),
                    "attn": attend(c_in, i),
                    "resize": nn.Conv2d(c_in, c_out, 3 if last else 4, 1 if last else 2, 1),
                }
            )
            self.down.append(level)
            if guide_channels:
                self.guides.append(SpadeBlock(c_out, guide_channels, spade_hidden))
            resize = nn.Conv2d(c_out, c_in, 3, padding=1)
            if i > 0:
                resize = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), resize)
            self.up.insert(
                0,
                nn.ModuleDict(
                    {
                        "blocks": nn.ModuleList(
                            ResidualBlock(c_out + c_in, c_out, time_dim) for _ in range(blocks)
                        ),
                        "attn": attend(c_out, i),
                        "resize": resize,
                    }
                ),
            )
        middle = width * 2**depth
        self.mid1 = ResidualBlock(middle, middle, time_dim)
        self.mid_attn = attend(middle, depth)
        self.mid2 = ResidualBlock(middle, middle, time_dim)
        self.final = ResidualBlock(2 * width, width, time_dim)
        self.out = nn.Conv2d(width, channels, 3, padding=1)

    def forward(
        self,
        x_t: torch.Tensor,
        mu: torch.Tensor,
        t: torch.Tensor,
        guide: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The predicted noise eps [B, channels, H, W]."""
        if self.config["guide_channels"] and guide is None:
            raise ValueError("this network is guided: pass guide=[B, guide_channels, H, W]")
        height, width = x_t.shape[-2:]
        x = torch.cat([x_t - mu, mu], dim=1)
        pad_h, pad_w = -height % self.multiple, -width % self.multiple
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="reflect")
        t = t.reshape(-1).expand(x.shape[0]) if t.numel() == 1 else t.reshape(-1)
        emb = self.time(sinusoidal_embedding(t, self.config["width"]).to(x.dtype))
        h = self.head(x)
        first, skips = h, []
        for i, level in enumerate(self.down):
            for j, block in enumerate(level["blocks"]):
                h = block(h, emb)
                if j == len(level["blocks"]) - 1:
                    h = level["attn"](h)  # after the last block, as the public code
                skips.append(h)
            h = level["resize"](h)
            if self.config["guide_channels"]:
                h = self.guides[i](h, guide.to(h.dtype))
        h = self.mid2(self.mid_attn(self.mid1(h, emb)), emb)
        for level in self.up:
            for block in level["blocks"]:
                h = block(torch.cat([h, skips.pop()], dim=1), emb)
            h = level["resize"](level["attn"](h))
        h = self.final(torch.cat([h, first], dim=1), emb)
        return self.out(h)[..., :height, :width]
