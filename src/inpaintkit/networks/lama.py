"""LaMa (Suvorov et al. 2022, "Resolution-robust Large Mask Inpainting with Fourier
Convolutions", WACV), scaled down to 32x32 emoji: the FFC ResNet generator (sec. 2.1) and the
PatchGAN discriminator that returns its intermediate features for the feature matching loss
(sec. 2.2). Losses: ``inpaintkit.train.objectives.lama``.

Generator (:class:`LaMaGenerator`): input cat(masked image, hole) (4 channels). A reflection-
padded 5x5 convolution, ``depth`` stride-2 3x3 convolutions (the last one splits its output into
local and global parts, ratio 0.75), ``blocks`` FFC residual blocks (:mod:`.ffc`, ratio_gin =
ratio_gout = 0.75), local and global parts concatenated, ``depth`` transposed 3x3 stride-2
convolutions (BN + ReLU), a reflection-padded 3x3 convolution to the image; 1.1 * tanh output
(LaMa: sigmoid on [0, 1] images; ours live in [-1, 1]; see :mod:`.outputs` for the 1.1). Fully
convolutional: any H, W that are multiples of 2**depth (the spectral transform works at any
size).

Departures from big-LaMa: ngf 16 instead of 64, 2 down-samplings instead of 3, 5 residual
blocks instead of 18 (0.26M parameters instead of 51M), a 5x5 first and a 3x3 last
convolution instead of 7x7 (scaled with the 32 px images; full-resolution layers with few
channels are what a CPU runs slowest); zero padding inside the FFC blocks (LaMa reflects;
reflection needs feature maps larger than the pad, which tiny inputs do not give).
Discriminator: LaMa's NLayerDiscriminator (4x4 convolutions, BN, LeakyReLU 0.2) with 2
stride-2 levels and width 16 instead of 4 levels at 64, fed cat(image, hole) instead of the
image alone.
"""

from __future__ import annotations

import torch
from torch import nn

from .ffc import FFC, FFCBlock
from .outputs import image_output
from .pullpush import pull_push
from .registry import register_network


@register_network()
class LaMaGenerator(nn.Module):
    """LaMa's FFC ResNet generator (module docstring): ``net(masked [B,C,H,W] hole-zeroed in
    [-1,1], hole [B,1,H,W] 1 = hole) -> image [B,C,H,W] in (-1.1, 1.1)``.

    Config: channels [3], width (ngf) [16], depth (down-samplings) [2], blocks [5], ratio (the
    global fraction in the residual blocks; 0 = a plain convolution ResNet of the same depth)
    [0.75], prefill [False], residual_init [0.0]. :attr:`multiple` = 2**depth.

    prefill (ours, not the paper's): the hole is first filled by pull-push (:mod:`.pullpush`),
    the network sees that image instead of the hole-zeroed one, and its output is a residual
    added to it, with the last layer initialised to zero. An untrained network then returns the
    smooth pull-push fill, and training only has to learn what a smooth fill misses: texture and
    edges. Without a GPU there are a few thousand steps to spend, not LaMa's days.
    residual_init > 0 (with prefill) draws that last layer as PyTorch does and scales it by this
    factor instead of zeroing it: with a zero last layer no gradient reaches the layers before
    it until the last layer has grown, and under a noisy pixel loss it may never grow.
    """

    def __init__(
        self, channels: int = 3, width: int = 16, depth: int = 2, blocks: int = 5,
        ratio: float = 0.75, prefill: bool = False, residual_init: float = 0.0,
    ) -> None:  # fmt: skip
        super().__init__()
        if min(channels, width, depth) < 1 or blocks < 0 or not 0.0 <= ratio < 1.0:
            raise ValueError(f"channels, width, depth >= 1, blocks >= 0, 0 <= ratio < 1; got "
                             f"{channels}, {width}, {depth}, {blocks}, {ratio}")  # fmt: skip
        self.config = {"channels": channels, "width": width, "depth": depth, "blocks": blocks,
                       "ratio": ratio}  # fmt: skip
        if residual_init < 0 or (residual_init and not prefill):
            raise ValueError(f"residual_init >= 0, and only with prefill; got {residual_init}")
        if prefill:  # only when set: files saved before the option load as they were
            self.config["prefill"] = True
        if residual_init:
            self.config["residual_init"] = residual_init
        self.multiple = 2**depth
        self.head = nn.Sequential(
            nn.ReflectionPad2d(2), FFC(channels + 1, width, 5, 1, 0, 0.0, 0.0)
        )
        widths = [width * 2**i for i in range(depth + 1)]
        self.down = nn.Sequential(
            *(
                FFC(a, b, 3, 2, 1, 0.0, ratio if i == depth - 1 else 0.0)
                for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True))
            )
        )
        self.blocks = nn.Sequential(*(FFCBlock(widths[-1], ratio) for _ in range(blocks)))
        up: list[nn.Module] = []
        for a, b in zip(reversed(widths[1:]), reversed(widths[:-1]), strict=True):
            up += [
                nn.ConvTranspose2d(a, b, 3, stride=2, padding=1, output_padding=1),
                nn.BatchNorm2d(b),
                nn.ReLU(),
            ]
        self.up = nn.Sequential(*up)
        self.tail = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(width, channels, 3))
        if prefill:  # the residual starts at (or near) zero: the untrained net is pull-push
            with torch.no_grad():
                self.tail[1].weight.mul_(residual_init)
                self.tail[1].bias.mul_(residual_init)

    def forward(self, masked: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
        """The generated image [B,C,H,W] (every pixel; the caller composites)."""
        start = pull_push(masked, hole) if self.config.get("prefill") else masked
        x = torch.cat([start, hole], 1).contiguous(memory_format=torch.channels_last)
        x = self.blocks(self.down(self.head(x)))
        x = torch.cat([part for part in x if part is not None], 1)
        x = self.tail(self.up(x)).contiguous()
        return start + x if self.config.get("prefill") else image_output(x)


@register_network()
class LaMaDiscriminator(nn.Module):
    """LaMa's PatchGAN (``NLayerDiscriminator``): ``net(x [B, in_channels, H, W]) -> logits
    [B, 1, H', W']``; :meth:`features` (or ``net(x, features=True)``) also returns every
    layer's activations (for feature matching).

    Layers: 4x4 conv stride 2 (padding 2) + LeakyReLU(0.2); ``depth - 1`` x (4x4 conv stride 2
    + BN + LeakyReLU); 4x4 conv stride 1 + BN + LeakyReLU; 4x4 conv stride 1 to one channel.
    Widths double from ``width``, capped at 8 * width. Config: in_channels [4: image, hole],
    width [16], depth [2]. At 32 px: H' = 11.
    """

    def __init__(self, in_channels: int = 4, width: int = 16, depth: int = 2) -> None:
        super().__init__()
        if min(in_channels, width, depth) < 1:
            raise ValueError("in_channels, width and depth must be >= 1")
        self.config = {"in_channels": in_channels, "width": width, "depth": depth}
        widths = [min(width * 2**i, 8 * width) for i in range(depth + 1)]
        stages = [nn.Sequential(nn.Conv2d(in_channels, widths[0], 4, 2, 2), nn.LeakyReLU(0.2))]
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
            stride = 2 if i < depth - 1 else 1
            stages.append(
                nn.Sequential(nn.Conv2d(a, b, 4, stride, 2), nn.BatchNorm2d(b), nn.LeakyReLU(0.2))
            )
        stages.append(nn.Conv2d(widths[-1], 1, 4, 1, 2))
        self.stages = nn.ModuleList(stages)

    def features(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """(logits [B,1,H',W'], [activations of every stage but the last])."""
        activations = []
        for stage in self.stages:
            x = stage(x)
            activations.append(x)
        return activations[-1], activations[:-1]

    def forward(self, x: torch.Tensor, features: bool = False):
        """Logits, or with ``features=True`` (logits, activations) as :meth:`features`."""
        return self.features(x) if features else self.features(x)[0]
