"""Gray images and Canny edge maps of the known region: StrDiffusion's structure inputs.

StrDiffusion's structure process (htyjers/StrDiffusion, ``data/GT_dataset.py``) diffuses the
gray image (scikit-image's ``rgb2gray``: 0.2125 R + 0.7154 G + 0.0721 B) towards its Canny edge
map times the known mask, with Canny's sigma 3 at 256 px. Here:

- images are in [0, 1] (the IR-SDE's units) and tensors [B, C, H, W];
- sigma scales with the resolution (:func:`canny_sigma`: 3 * size / 256, 0.375 at 32 px);
- OpenCV's ``cv2.Canny`` on the 8-bit gray image (Gaussian blur of that sigma first), with
  scikit-image's default hysteresis thresholds, 10 % and 20 % of the range (25.5 and 51 on
  0..255), and the L2 gradient norm as scikit-image uses;
- the edges are taken from the KNOWN pixels only: the hole is first filled by OpenCV's Telea
  inpainting, so that its border makes no edge and no hole pixel leaks in; the map is then
  multiplied by the keep mask. The public code runs Canny on the complete ground-truth image,
  also at test time, which a user of an inpainting tool does not have; training and sampling
  here use the same function, so they agree.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from ..errors import InpaintkitError

GRAY_WEIGHTS = (0.2125, 0.7154, 0.0721)
"""scikit-image's rgb2gray weights (ITU-R 709 luma), as the public code uses."""
CANNY_SIGMA_AT_256 = 3.0
CANNY_THRESHOLDS = (0.1 * 255, 0.2 * 255)


def gray(image: torch.Tensor) -> torch.Tensor:
    """The gray image [B, 1, H, W] of an RGB image [B, 3, H, W] (any range; weights
    :data:`GRAY_WEIGHTS`, summing to 1, so [0, 1] stays [0, 1])."""
    if image.ndim != 4 or image.shape[1] != 3:
        raise InpaintkitError(f"gray() needs RGB images [B, 3, H, W], got {tuple(image.shape)}")
    weights = torch.tensor(GRAY_WEIGHTS, dtype=image.dtype, device=image.device)
    return (image * weights.view(1, 3, 1, 1)).sum(1, keepdim=True)


def canny_sigma(size: int) -> float:
    """Canny's Gaussian sigma for images of side ``size``: 3 at 256 px, scaled linearly."""
    return CANNY_SIGMA_AT_256 * float(size) / 256.0


def _edges_of(plane: np.ndarray, hole: np.ndarray, sigma: float) -> np.ndarray:
    """Canny edges (bool [H, W]) of one gray plane in [0, 1] whose ``hole`` pixels are unknown."""
    if hole.all():
        return np.zeros(plane.shape, dtype=bool)
    image = np.clip(np.rint(plane * 255.0), 0, 255).astype(np.uint8)
    if hole.any():
        image = cv2.inpaint(image, hole.astype(np.uint8), 3, cv2.INPAINT_TELEA)
    if sigma > 0:
        blurred = cv2.GaussianBlur(image.astype(np.float32), (0, 0), sigma)
        image = np.clip(np.rint(blurred), 0, 255).astype(np.uint8)
    low, high = CANNY_THRESHOLDS
    return (cv2.Canny(image, low, high, L2gradient=True) > 0) & ~hole


def known_edges(gray_image: torch.Tensor, keep: torch.Tensor, sigma: float) -> torch.Tensor:
    """The edge map of the known region: float32 [B, 1, H, W] in {0, 1}, 0 in the hole.

    gray_image: [B, 1, H, W] in [0, 1] (only its known pixels are read). keep: [B, 1, H, W],
    1 = known. sigma: Canny's Gaussian sigma in pixels (:func:`canny_sigma`). See the module
    docstring for the recipe."""
    if gray_image.ndim != 4 or gray_image.shape[1] != 1 or keep.shape != gray_image.shape:
        raise InpaintkitError(
            f"known_edges needs gray [B, 1, H, W] and keep of the same shape, got "
            f"{tuple(gray_image.shape)} and {tuple(keep.shape)}"
        )
    planes = gray_image.detach().float().cpu().numpy()[:, 0]
    holes = keep.detach().cpu().numpy()[:, 0] < 0.5
    edges = np.stack([_edges_of(p, h, sigma) for p, h in zip(planes, holes, strict=True)])
    return torch.from_numpy(edges[:, None].astype(np.float32)).to(gray_image.device)
