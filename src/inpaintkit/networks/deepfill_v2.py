"""DeepFill v2 (Yu et al. 2019, "Free-Form Image Inpainting with Gated Convolution", ICCV),
scaled down to 32x32 emoji: the coarse-to-fine generator of DeepFill v1 with every convolution
replaced by a gated convolution (sec. 3.1, eq. 1; :mod:`.gated_conv`), contextual attention in
the refinement network (sec. 3.3, reusing :mod:`.contextual_attention`), the optional user
sketch (sec. 3.4), and the SN-PatchGAN discriminator (sec. 3.2). Losses: see
``inpaintkit.train.objectives.deepfill``.

Sketch: one extra input channel, an edge map (1 = edge) multiplied by the hole, so that only
strokes inside the hole guide the fill (the official code's ``edge * mask``). The generator
takes it after the hole; the discriminator sees cat(image, hole, sketch). Training uses Canny
edges of the training image (``inpaintkit.data.sketch``); at inference a user's drawing
(``inpaintkit inpaint --sketch FILE``), or zeros when none is given (the official model also
accepts an empty sketch; our training drops the sketch for a share of the items so that
zeros mean "no guidance").

Departures from the paper: widths 16/32/64 in the preset "deepfill-v2-32" (the paper's cnum is
48, half of each layer's outputs being gates, i.e. 24/48/96 features at 256 px), the layer
counts of :mod:`.deepfill_v1` (12 coarse, 19 refinement instead of 17 and 25), dilation rates 2
and 4 only, attention at 1/4 resolution with rate 1; the output layers are plain convolutions
(1.1 * tanh, :mod:`.outputs`; the official code: tanh); the discriminator has 3 levels of 5x5
stride-2 convolutions of width 16/32/64 (output 4x4 at 32 px; the paper's output grid at 256 px
is also 4x4) instead of 6 of 64-256, and its last layer has no LeakyReLU.
"""

from __future__ import annotations

import torch
from torch import nn

from .deepfill_v1 import CoarseToFine
from .gated_conv import GatedConv2d
from .registry import register_network


def _gated(a: int, b: int, kernel: int = 3, stride: int = 1, dilation: int = 1,
           act: str = "elu") -> GatedConv2d:  # fmt: skip
    return GatedConv2d(a, b, kernel, stride, dilation, act)


@register_network()
class DeepFillV2Generator(CoarseToFine):
    """DeepFill v2's generator: ``net(masked [B,C,H,W] hole-zeroed in [-1,1], hole [B,1,H,W]
    1 = hole, sketch [B,1,H,W] edges inside the hole (optional: zeros if omitted)) -> image``
    (H, W multiples of :attr:`multiple` = 4; fully convolutional). :meth:`stages` gives
    (coarse, refined).

    Config: channels [3], width c [8], sketch (take the sketch channel) [True], attention
    [True], fuse (attention propagation kernel) [3].
    """

    multiple = 4

    def __init__(
        self, channels: int = 3, width: int = 8, sketch: bool = True, attention: bool = True,
        fuse: int = 3,
    ) -> None:  # fmt: skip
        if min(channels, width) < 1 or fuse < 0:
            raise ValueError(f"channels >= 1, width >= 1 and fuse >= 0 needed; got "
                             f"{channels}, {width}, {fuse}")  # fmt: skip
        super().__init__(_gated, channels, int(sketch), width, attention, fuse)
        self.config = {"channels": channels, "width": width, "sketch": sketch,
                       "attention": attention, "fuse": fuse}  # fmt: skip

    def _with_sketch(self, masked: torch.Tensor, hole: torch.Tensor, extras: tuple) -> tuple:
        if not self.config["sketch"]:
            if extras:
                raise ValueError("this generator was built without a sketch channel")
            return ()
        if len(extras) > 1:
            raise ValueError(f"one extra input (the sketch) at most, got {len(extras)}")
        return (extras[0] * hole,) if extras else (torch.zeros_like(hole),)

    def stages(self, masked: torch.Tensor, hole: torch.Tensor, *extras: torch.Tensor):
        """(coarse, refined) [B,C,H,W]; the sketch (if any) is multiplied by the hole here."""
        return super().stages(masked, hole, *self._with_sketch(masked, hole, extras))


@register_network()
class SNPatchDiscriminator(nn.Module):
    """SN-PatchGAN (sec. 3.2): ``net(x [B, in_channels, H, W]) -> map [B, D, H/2**depth,
    W/2**depth]``; every element is one GAN score (the hinge loss is applied to each).

    Layers: ``depth`` 5x5 stride-2 convolutions with spectral normalisation (Miyato et al.
    2018) and LeakyReLU(0.2), the last without activation; no other normalisation.
    Config: in_channels [5: image, hole, sketch], width [32], doubled per level up to 4 * width,
    depth [3].
    """

    def __init__(self, in_channels: int = 5, width: int = 32, depth: int = 3) -> None:
        super().__init__()
        if min(in_channels, width, depth) < 1:
            raise ValueError("in_channels, width and depth must be >= 1")
        self.config = {"in_channels": in_channels, "width": width, "depth": depth}
        widths = [in_channels] + [min(width * 2**i, 4 * width) for i in range(depth)]
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
            layers.append(nn.utils.spectral_norm(nn.Conv2d(a, b, 5, 2, 2)))
            if i < depth - 1:
                layers.append(nn.LeakyReLU(0.2))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, in_channels, H, W] (H, W multiples of 2**depth) -> [B, D, H', W']."""
        return self.net(x)
