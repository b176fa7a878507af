"""Fast Fourier convolution (Chi, Jiang & Mu 2020, NeurIPS), as LaMa uses it (Suvorov et al.
2022, "Resolution-robust Large Mask Inpainting with Fourier Convolutions", WACV; sec. 2.1,
Figure 2).

An FFC splits its channels into a local part (a fraction 1 - ratio) and a global part
(ratio). Four paths mix them::

    y_local  = conv_l2l(x_local) + conv_g2l(x_global)
    y_global = conv_l2g(x_local) + spectral_transform(x_global)

The spectral transform has an image-wide receptive field from its first layer on: a 1x1
convolution (+BN+ReLU) halves the channels, the Fourier unit takes the real 2-D FFT, stacks real
and imaginary parts as channels, applies a 1x1 convolution + BN + ReLU in the frequency domain
and transforms back (inverse real FFT); a final 1x1 convolution sums the input and the Fourier
unit's output (LaMa's ``SpectralTransform`` / ``FourierUnit``, without the optional local
Fourier unit, which big-LaMa turns off too).

:class:`FFCBlock` is LaMa's residual block: two FFC + BN + ReLU layers on both parts and a
residual connection per part. With ``ratio = 0`` every module here is a plain convolution
stack of the same depth (no global part), which the tests use as the local-only reference.
"""

from __future__ import annotations

import torch
from torch import nn

Pair = tuple[torch.Tensor, torch.Tensor | None]
"""(local part [B, C_l, H, W], global part [B, C_g, H, W] or None when C_g = 0)."""


class FourierUnit(nn.Module):
    """Real FFT2 (orthonormal) -> 1x1 conv + BN + ReLU on cat(real, imag) -> inverse FFT2."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2 * in_channels, 2 * out_channels, 1, bias=False)
        self.bn = nn.BatchNorm2d(2 * out_channels)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, height, width = x.shape
        spectrum = torch.fft.rfft2(x.float(), norm="ortho")  # [B, C, H, W // 2 + 1] complex
        # channels interleaved as (c0 real, c0 imag, c1 real, ...), as LaMa stacks them
        stacked = torch.stack((spectrum.real, spectrum.imag), dim=2).flatten(1, 2)
        stacked = self.relu(self.bn(self.conv(stacked.to(x.dtype))))
        real, imag = stacked.float().unflatten(1, (-1, 2)).unbind(2)
        out = torch.fft.irfft2(torch.complex(real, imag), s=(height, width), norm="ortho")
        return out.to(x.dtype)


class SpectralTransform(nn.Module):
    """LaMa's global-to-global path: 1x1 conv (C_in -> C_out/2) + BN + ReLU, a Fourier unit,
    and a 1x1 conv of (its input + its output) to C_out."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        hidden = max(1, out_channels // 2)
        self.reduce = nn.Sequential(
            nn.Conv2d(in_channels, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU()
        )
        self.fourier = FourierUnit(hidden, hidden)
        self.expand = nn.Conv2d(hidden, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.reduce(x)
        return self.expand(x + self.fourier(x))


def split_channels(channels: int, ratio: float) -> tuple[int, int]:
    """(local, global) channel counts: global = int(channels * ratio), as LaMa."""
    global_ = int(channels * ratio)
    return channels - global_, global_


class FFC(nn.Module):
    """One fast Fourier convolution with BN + activation per part (LaMa's ``FFC_BN_ACT``).

    in_channels / out_channels: total; ratio_in / ratio_out: their global fractions.
    kernel, stride, padding: of the three spatial convolutions (l2l, l2g, g2l; zero padding).
    Call with a :data:`Pair` (or a plain tensor = all local); returns a :data:`Pair`.
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel: int = 3, stride: int = 1,
        padding: int = 1, ratio_in: float = 0.75, ratio_out: float = 0.75,
        act: bool = True,
    ) -> None:  # fmt: skip
        super().__init__()
        in_l, in_g = split_channels(in_channels, ratio_in)
        out_l, out_g = split_channels(out_channels, ratio_out)
        self.out_l, self.out_g = out_l, out_g

        def conv(a: int, b: int) -> nn.Module | None:
            return nn.Conv2d(a, b, kernel, stride, padding, bias=False) if a and b else None

        self.l2l, self.l2g, self.g2l = conv(in_l, out_l), conv(in_l, out_g), conv(in_g, out_l)
        self.g2g = SpectralTransform(in_g, out_g) if in_g and out_g else None
        if stride != 1 and self.g2g is not None:
            raise ValueError("a strided FFC with a global input is not supported")
        self.bn_l = nn.BatchNorm2d(out_l) if out_l else None
        self.bn_g = nn.BatchNorm2d(out_g) if out_g else None
        self.act = nn.ReLU() if act else nn.Identity()

    def forward(self, x: Pair | torch.Tensor) -> Pair:
        x_l, x_g = (x, None) if isinstance(x, torch.Tensor) else x
        out_l = out_g = None
        for path, source, target in (
            (self.l2l, x_l, "l"), (self.g2l, x_g, "l"), (self.l2g, x_l, "g"), (self.g2g, x_g, "g")
        ):  # fmt: skip
            if path is None or source is None:
                continue
            y = path(source)
            if target == "l":
                out_l = y if out_l is None else out_l + y
            else:
                out_g = y if out_g is None else out_g + y
        if out_l is not None:
            out_l = self.act(self.bn_l(out_l))
        if out_g is not None:
            out_g = self.act(self.bn_g(out_g))
        return out_l, out_g


class FFCBlock(nn.Module):
    """LaMa's ``FFCResnetBlock``: two 3x3 :class:`FFC` layers (ratio in and out) and a
    residual connection on the local and on the global part."""

    def __init__(self, channels: int, ratio: float = 0.75) -> None:
        super().__init__()
        self.first = FFC(channels, channels, 3, 1, 1, ratio, ratio)
        self.second = FFC(channels, channels, 3, 1, 1, ratio, ratio)

    def forward(self, x: Pair) -> Pair:
        x_l, x_g = x
        y_l, y_g = self.second(self.first((x_l, x_g)))
        return x_l + y_l, None if x_g is None else x_g + y_g
