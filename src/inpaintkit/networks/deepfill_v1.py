"""DeepFill v1 (Yu et al. 2018, "Generative Image Inpainting with Contextual Attention", CVPR),
scaled down to 32x32 emoji: the coarse-to-fine generator (sec. 3.1, Figure 2) with the
contextual attention layer (sec. 4, :mod:`.contextual_attention`) and the WGAN-GP critics
(sec. 3.2). The losses live in ``inpaintkit.train.objectives.deepfill``.

Generator (:class:`DeepFillV1Generator`): input cat(masked image, ones, hole), as the official
code. Stage 1, the coarse network: an encoder to 1/4 resolution, dilated convolutions (rates 2,
4), a decoder with nearest up-sampling. Its output is pasted into the hole and fed to stage 2,
the refinement network: two encoders to 1/4 resolution, one with dilated convolutions (the
"hallucination" branch), one with contextual attention; their features are concatenated and
decoded. Every layer is a convolution + ELU except the output's (1.1 * tanh). :meth:`stages`
returns both outputs (both are trained); ``forward`` returns the refined one.

Critics (:class:`WGANCritic`): 5x5 stride-2 convolutions + LeakyReLU(0.2), then a linear layer
to one score (no sigmoid: WGAN). The global critic judges the whole image, the local one a
crop around the hole.

Departures from the paper (kept small for a 32x32 model trained on one CPU core):

- widths c/2c/4c with c = 10 in the preset "deepfill-v1-32" instead of the paper's 32/64/128,
  fewer layers (12 coarse and 19 refinement convolutions instead of 17 and 25), dilation rates
  2 and 4 only (8 and 16 exceed an 8x8 feature map); the first layers of the two refinement
  branches are computed as one layer with twice the outputs (the same function);
- contextual attention runs at 1/4 resolution with rate 1 (the paper: 1/4 with rate 2, i.e.
  matching at 1/8; at 32 px that grid would be 4x4), see :mod:`.contextual_attention` for its
  own departures;
- the output is 1.1 * tanh (:mod:`.outputs`) instead of a clip to [-1, 1] (a clip has no
  gradient outside; a plain tanh stalls on white pixels);
- the local critic sees a fixed 16x16 crop centred on the hole's bounding box (the paper's
  local patch is the hole's box itself); critics have 3-4 levels of width 16 instead of 4 of 64.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .contextual_attention import contextual_attention
from .outputs import image_output
from .registry import register_network

Layer = Callable[..., nn.Module]
"""``layer(in, out, kernel=3, stride=1, dilation=1, act="elu") -> module``."""


class _ConvELU(nn.Module):
    """A "same"-padded convolution and an activation (DeepFill v1's ``gen_conv``)."""

    def __init__(
        self, a: int, b: int, kernel: int = 3, stride: int = 1, dilation: int = 1,
        act: str = "elu",
    ) -> None:  # fmt: skip
        super().__init__()
        self.conv = nn.Conv2d(a, b, kernel, stride, dilation * (kernel - 1) // 2, dilation)
        self.act = {"elu": nn.ELU(), "relu": nn.ReLU(), "none": nn.Identity()}[act]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv(x))


class _Up(nn.Module):
    """Nearest x2 up-sampling and a 3x3 layer (DeepFill's ``gen_deconv``)."""

    def __init__(self, layer: Layer, a: int, b: int) -> None:
        super().__init__()
        self.conv = layer(a, b, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class CoarseToFine(nn.Module):
    """The two-stage generator shared by DeepFill v1 and v2 (v2 passes gated layers).

    layer: builds one layer ``layer(in, out, kernel=3, stride=1, dilation=1, act="elu")``.
    channels: image channels C. extra_channels: channels of the extra inputs (a sketch).
    width: c; the levels have c, 2c, 4c channels at 1, 1/2, 1/4 resolution.
    attention: use the contextual attention branch (False: the refinement has only the
    dilated branch, for ablations). fuse: attention propagation kernel (0 = off).

    The first layers of the two refinement branches are one layer with twice the outputs,
    split in halves (the same function, one call). Activations are kept channels-last, which
    the CPU's convolutions run about twice as fast at these small widths.
    """

    def __init__(
        self, layer: Layer, channels: int, extra_channels: int, width: int, attention: bool,
        fuse: int,
    ) -> None:  # fmt: skip
        super().__init__()
        c, n_in = width, channels + 2 + extra_channels
        self.attention, self.fuse, self.width = attention, fuse, width
        self.coarse = nn.Sequential(
            layer(n_in, c, 5),
            layer(c, 2 * c, 3, 2), layer(2 * c, 2 * c),
            layer(2 * c, 4 * c, 3, 2), layer(4 * c, 4 * c),
            layer(4 * c, 4 * c, 3, 1, 2), layer(4 * c, 4 * c, 3, 1, 4), layer(4 * c, 4 * c),
            _Up(layer, 4 * c, 2 * c), layer(2 * c, 2 * c),
            _Up(layer, 2 * c, c),
            nn.Conv2d(c, channels, 3, padding=1),
        )  # fmt: skip
        self.refine_head = layer(n_in, 2 * c if attention else c, 5)
        self.hallucinate = nn.Sequential(
            layer(c, c, 3, 2), layer(c, 2 * c),
            layer(2 * c, 2 * c, 3, 2), layer(2 * c, 4 * c),
            layer(4 * c, 4 * c, 3, 1, 2), layer(4 * c, 4 * c, 3, 1, 4),
        )  # fmt: skip
        if attention:
            self.before_attention = nn.Sequential(
                layer(c, c, 3, 2), layer(c, 2 * c),
                layer(2 * c, 4 * c, 3, 2), layer(4 * c, 4 * c, act="relu"),
            )  # fmt: skip
            self.after_attention = nn.Sequential(layer(4 * c, 4 * c), layer(4 * c, 4 * c))
        merged = 8 * c if attention else 4 * c
        self.decode = nn.Sequential(
            layer(merged, 4 * c), layer(4 * c, 4 * c),
            _Up(layer, 4 * c, 2 * c), layer(2 * c, 2 * c),
            _Up(layer, 2 * c, c),
            nn.Conv2d(c, channels, 3, padding=1),
        )  # fmt: skip

    def stages(
        self, masked: torch.Tensor, hole: torch.Tensor, *extras: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(coarse, refined) images [B,C,H,W] in (-1.1, 1.1); H, W multiples of 4."""
        ones = torch.ones_like(hole)
        x = torch.cat([masked, ones, hole, *extras], 1).contiguous(
            memory_format=torch.channels_last
        )
        coarse = image_output(self.coarse(x))
        comp = coarse * hole + masked * (1.0 - hole)
        x = torch.cat([comp, ones, hole, *extras], 1).contiguous(memory_format=torch.channels_last)
        head = self.refine_head(x)
        features = [self.hallucinate(head[:, : self.width])]
        if self.attention:
            y = self.before_attention(head[:, self.width :])
            y = contextual_attention(y, y, hole, rate=1, fuse=self.fuse)[0]
            features.append(self.after_attention(y.contiguous(memory_format=torch.channels_last)))
        refined = image_output(self.decode(torch.cat(features, 1)))
        return coarse.contiguous(), refined.contiguous()

    def forward(
        self, masked: torch.Tensor, hole: torch.Tensor, *extras: torch.Tensor, stages: bool = False
    ):
        """The refined image, or with ``stages=True`` (coarse, refined) (training calls it so,
        through any wrapper of the module)."""
        both = self.stages(masked, hole, *extras)
        return both if stages else both[1]


@register_network()
class DeepFillV1Generator(CoarseToFine):
    """DeepFill v1's generator (module docstring): ``net(masked [B,C,H,W] hole-zeroed in
    [-1,1], hole [B,1,H,W] 1 = hole) -> image [B,C,H,W]`` (H, W multiples of :attr:`multiple`
    = 4; fully convolutional). :meth:`stages` gives (coarse, refined).

    Config: channels [3], width c [10], attention (the contextual attention branch) [True],
    fuse (attention propagation kernel, 0 = off) [3].
    """

    multiple = 4

    def __init__(
        self, channels: int = 3, width: int = 10, attention: bool = True, fuse: int = 3
    ) -> None:
        if min(channels, width) < 1 or fuse < 0:
            raise ValueError(f"channels >= 1, width >= 1 and fuse >= 0 needed; got "
                             f"{channels}, {width}, {fuse}")  # fmt: skip
        super().__init__(_ConvELU, channels, 0, width, attention, fuse)
        self.config = {"channels": channels, "width": width, "attention": attention, "fuse": fuse}


@register_network()
class WGANCritic(nn.Module):
    """A WGAN critic (DeepFill v1's global and local discriminators):
    ``net(x [B, in_channels, S, S]) -> scores [B, 1]`` (no sigmoid).

    Config: in_channels [3]; image_size S (the linear layer's input is fixed by it) [32];
    width [16], doubled at each of ``depth`` 5x5 stride-2 levels, capped at 8 * width [4].
    """

    def __init__(
        self, in_channels: int = 3, image_size: int = 32, width: int = 16, depth: int = 4
    ) -> None:
        super().__init__()
        if min(in_channels, width, depth) < 1 or image_size % 2**depth:
            raise ValueError(f"image_size {image_size} must be a multiple of 2**depth "
                             f"({2**depth}); in_channels, width, depth >= 1")  # fmt: skip
        self.config = {"in_channels": in_channels, "image_size": image_size, "width": width,
                       "depth": depth}  # fmt: skip
        widths = [in_channels] + [min(width * 2**i, 8 * width) for i in range(depth)]
        layers: list[nn.Module] = []
        for a, b in zip(widths[:-1], widths[1:], strict=True):
            layers += [nn.Conv2d(a, b, 5, 2, 2), nn.LeakyReLU(0.2)]
        self.features = nn.Sequential(*layers)
        side = image_size // 2**depth
        self.score = nn.Linear(widths[-1] * side * side, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, in_channels, S, S] -> [B, 1]."""
        return self.score(self.features(x).flatten(1))
