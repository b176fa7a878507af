"""Globally and Locally Consistent Image Completion (Iizuka, Simo-Serra and Ishikawa 2017, ACM
TOG / SIGGRAPH; http://iizuka.cs.tsukuba.ac.jp/projects/completion/): a completion network of
dilated convolutions, and a context discriminator made of a global and a local branch.

Completion network (paper Table 1): conv5x5, stride-2 down to a quarter of the size, plain 3x3
convolutions, four dilated 3x3 convolutions with rates doubling (the paper's 2, 4, 8, 16 at 64x64)
to widen the receptive field without losing resolution, two 3x3 convolutions, two 4x4
deconvolutions back to full size, and an output convolution; batch norm and ReLU everywhere but on
the output. Context discriminator (Table 2): a global branch on the whole completed image and a
local branch on a patch around the completed region, each stride-2 5x5 convolutions and a fully
connected layer; their outputs are concatenated and a last fully connected layer gives one logit.
The three training phases and the crop live in ``train.objectives.glcic``.

Departures from the paper (32x32 emoji, one CPU core):

- widths 16-32-64 in the ``glcic32`` preset (the class's default 32-64-128) instead of
  64-128-256, so that one training step at batch 32 costs about 0.15 s on one CPU core; the
  output layer goes through tanh (the paper's is sigmoid on [0, 1] images; the library's
  generators return [-1, 1]);
- the dilation rates of the ``glcic32`` preset are 1, 2, 4, 4: at 32x32 the bottleneck is 8x8,
  where every tap of a rate-8 or rate-16 kernel but its centre falls in the zero padding (the
  layer would be a 1x1 convolution whose other weights never get a gradient, and would add
  untrained noise on larger images). Rates 1, 2, 4 already let every bottleneck cell see every
  other one, as rates up to 16 do on the paper's 64x64 bottleneck. The class's default config is
  the paper's (2, 4, 8, 16) for inputs of 256 px;
- the discriminator branches end at 4x4 like the paper's (global: 3 convolutions on 32x32, local:
  2 on its 16x16 crop; the paper: 6 on 256, 5 on 128), width 16-32-64 and 128 features per branch
  instead of 1024; it returns a logit (the paper's sigmoid is in the loss);
- the input's hole is zeroed (0 in [-1, 1], mid grey) instead of filled with the data set's mean
  pixel, and the hole is the fourth input channel as in the paper.
"""

from __future__ import annotations

import torch
from torch import nn

from .registry import register_network


def _conv(a: int, b: int, k: int, stride: int = 1, dilation: int = 1) -> list[nn.Module]:
    pad = dilation * (k - 1) // 2
    return [nn.Conv2d(a, b, k, stride, pad, dilation), nn.BatchNorm2d(b), nn.ReLU()]


@register_network()
class GLCICGenerator(nn.Module):
    """The GLCIC completion network (scaled down; see the module doc).

    Call: ``net(masked [B,C,H,W] in [-1,1] hole zeroed, hole [B,1,H,W] 1 = hole) -> image
    [B,C,H,W] in [-1,1]``; H and W multiples of 4 (:attr:`multiple`); fully convolutional.

    Config: channels: image channels [3]. width: channels at full resolution [32]; the two
    stride-2 levels double it. dilations: rates of the dilated 3x3 convolutions at the
    bottleneck [the paper's 2, 4, 8, 16].
    """

    def __init__(
        self,
        channels: int = 3,
        width: int = 32,
        dilations: list[int] | tuple[int, ...] = (2, 4, 8, 16),
    ) -> None:
        super().__init__()
        dilations = [int(d) for d in dilations]
        if min(channels, width) < 1 or any(d < 1 for d in dilations):
            raise ValueError(f"channels, width and every dilation must be >= 1, got {channels}, "
                             f"{width}, {dilations}")  # fmt: skip
        self.config = {"channels": channels, "width": width, "dilations": dilations}
        self.multiple = 4
        w1, w2, w3 = width, 2 * width, 4 * width
        self.net = nn.Sequential(
            *_conv(channels + 1, w1, 5),
            *_conv(w1, w2, 3, 2),
            *_conv(w2, w2, 3),
            *_conv(w2, w3, 3, 2),
            *_conv(w3, w3, 3),
            *_conv(w3, w3, 3),
            *(m for d in dilations for m in _conv(w3, w3, 3, dilation=d)),
            *_conv(w3, w3, 3),
            *_conv(w3, w3, 3),
            nn.ConvTranspose2d(w3, w2, 4, 2, 1), nn.BatchNorm2d(w2), nn.ReLU(),
            *_conv(w2, w2, 3),
            nn.ConvTranspose2d(w2, w1, 4, 2, 1), nn.BatchNorm2d(w1), nn.ReLU(),
            *_conv(w1, w1 // 2, 3),
            nn.Conv2d(w1 // 2, channels, 3, 1, 1),
            nn.Tanh(),
        )  # fmt: skip

    def dilation_rates(self) -> list[int]:
        """The dilation of every convolution with one > 1, in order."""
        return [m.dilation[0] for m in self.net if isinstance(m, nn.Conv2d) and m.dilation[0] > 1]

    def forward(self, masked: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
        """The generated image [B,C,H,W] in [-1,1] (every pixel)."""
        return self.net(torch.cat([masked, hole], 1))


def _branch(in_channels: int, width: int, levels: int, side: int, features: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    widths = [width * 2**i for i in range(levels)]
    for a, b in zip([in_channels, *widths[:-1]], widths, strict=True):
        layers += [nn.Conv2d(a, b, 5, 2, 2), nn.BatchNorm2d(b), nn.ReLU()]
    end = side // 2**levels
    layers += [nn.Flatten(), nn.Linear(widths[-1] * end * end, features), nn.ReLU()]
    return nn.Sequential(*layers)


@register_network()
class GLCICDiscriminator(nn.Module):
    """The GLCIC context discriminator: ``net(image [B,C,size,size], patch [B,C,local_size,
    local_size]) -> logits [B, 1]`` (global branch on the image, local branch on the patch
    around the completed region, concatenated, one fully connected layer).

    Config: channels: image channels [3]. size: the global input side [32]. local_size: the
    patch side [16]. width: channels of the first conv of each branch [16]; each stride-2 5x5
    level doubles it; the branches stop at 4x4 (log2(size / 4) and log2(local_size / 4)
    levels, as the paper's). features: outputs of each branch's fully connected layer [128].
    """

    def __init__(
        self,
        channels: int = 3,
        size: int = 32,
        local_size: int = 16,
        width: int = 16,
        features: int = 128,
    ) -> None:
        super().__init__()
        levels = []
        for side in (size, local_size):
            n = side.bit_length() - 3  # side / 4 = 2**n
            if side < 8 or side != 4 * 2**n:
                raise ValueError(f"size and local_size must be 4 * a power of two >= 8, got {side}")
            levels.append(n)
        if local_size > size or min(channels, width, features) < 1:
            raise ValueError(f"local_size {local_size} must be <= size {size}; channels, width "
                             "and features >= 1")  # fmt: skip
        self.config = {"channels": channels, "size": size, "local_size": local_size,
                       "width": width, "features": features}  # fmt: skip
        self.size, self.local_size = size, local_size
        self.global_branch = _branch(channels, width, levels[0], size, features)
        self.local_branch = _branch(channels, width, levels[1], local_size, features)
        self.head = nn.Linear(2 * features, 1)

    def forward(self, image: torch.Tensor, patch: torch.Tensor) -> torch.Tensor:
        """image [B,C,size,size], patch [B,C,local_size,local_size] -> logits [B, 1]."""
        both = torch.cat([self.global_branch(image), self.local_branch(patch)], 1)
        return self.head(both)


def local_boxes(hole: torch.Tensor, size: int) -> torch.Tensor:
    """The local discriminator's patch per image: (top, left) of a ``size`` x ``size`` square
    centred on the bounding box of the hole (hole [B,1,H,W], 1 = hole), shifted inside the image.

    Centre: ((top + bottom) // 2, (left + right) // 2) with bottom and right exclusive; an image
    without hole gets the image's centre. Returns a long tensor [B, 2]."""
    b, _, height, width = hole.shape
    if size > min(height, width):
        raise ValueError(f"patch side {size} exceeds the image {height}x{width}")
    any_row = hole.amax(dim=(1, 3)) > 0  # [B, H]
    any_col = hole.amax(dim=(1, 2)) > 0  # [B, W]
    boxes = []
    for rows, cols in zip(any_row, any_col, strict=True):
        centre = []
        for used, extent in ((rows, height), (cols, width)):
            idx = used.nonzero().flatten()
            mid = (int(idx[0]) + int(idx[-1]) + 1) // 2 if len(idx) else extent // 2
            centre.append(min(max(mid - size // 2, 0), extent - size))
        boxes.append(centre)
    return torch.tensor(boxes, dtype=torch.long).reshape(b, 2)


def crop_patches(images: torch.Tensor, boxes: torch.Tensor, size: int) -> torch.Tensor:
    """images [B,C,H,W] cut at ``boxes`` [B, 2] (top, left) to [B, C, size, size]."""
    return torch.stack(
        [img[:, y : y + size, x : x + size] for img, (y, x) in zip(images, boxes.tolist())]
    )
