"""Gated convolution (Yu et al. 2019, "Free-Form Image Inpainting with Gated Convolution",
ICCV; section 3.1, eq. 1).

A gated convolution learns a soft, per-channel and per-pixel validity mask instead of partial
convolution's hard 0/1 rule::

    Gating  = sum W_g . I          Feature = sum W_f . I
    O       = phi(Feature) * sigmoid(Gating)

with phi an activation (ELU here, as the official code; None = identity for the output layer).
The two convolutions share their geometry (kernel, stride, dilation, "same" padding).
:class:`GatedDeconv2d` is the paper's up-sampling: nearest x2 then a gated convolution.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

ACTIVATIONS = ("elu", "relu", "leaky_relu", "none")


def activation(name: str) -> nn.Module:
    """phi: "elu" (the official code), "relu", "leaky_relu" (slope 0.2) or "none" (identity)."""
    if name == "elu":
        return nn.ELU()
    if name == "relu":
        return nn.ReLU()
    if name == "leaky_relu":
        return nn.LeakyReLU(0.2)
    if name == "none":
        return nn.Identity()
    raise ValueError(f"unknown activation {name!r}; choose one of {ACTIVATIONS}")


class GatedConv2d(nn.Module):
    """O = phi(conv_f(x)) * sigmoid(conv_g(x)) (eq. 1); "same" padding for odd kernels, so the
    output side is ceil(side / stride).

    The two convolutions are one ``nn.Conv2d`` with 2 * out_channels outputs (features first,
    then gates): one call instead of two. ``feature_weight`` / ``gate_weight`` (and biases)
    are views of its halves.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        dilation: int = 1,
        act: str = "elu",
    ) -> None:
        super().__init__()
        self.out_channels = out_channels
        padding = dilation * (kernel_size - 1) // 2
        self.conv = nn.Conv2d(
            in_channels, 2 * out_channels, kernel_size, stride, padding, dilation=dilation
        )
        self.act = activation(act)

    @property
    def feature_weight(self) -> torch.Tensor:
        return self.conv.weight[: self.out_channels]

    @property
    def gate_weight(self) -> torch.Tensor:
        return self.conv.weight[self.out_channels :]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feature, gating = self.conv(x).chunk(2, dim=1)
        return self.act(feature) * torch.sigmoid(gating)


class GatedDeconv2d(nn.Module):
    """Nearest x2 up-sampling then a 3x3 :class:`GatedConv2d` (the paper's gated deconv)."""

    def __init__(self, in_channels: int, out_channels: int, act: str = "elu") -> None:
        super().__init__()
        self.conv = GatedConv2d(in_channels, out_channels, 3, act=act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))
