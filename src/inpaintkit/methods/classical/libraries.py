"""Classical inpainting baselines that wrap library code: OpenCV's Telea and Navier-Stokes,
scikit-image's biharmonic fill and pypatchmatch's PatchMatch.

Each imports its library inside :meth:`fill`, so ``import inpaintkit`` stays light; a missing one
is an :class:`InpaintkitError` naming the pip package. All of them fill uint8 RGB [H,W,3] images
with a bool [H,W] hole (True = fill); the shared wrapper pastes the known pixels back exactly.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import ClassVar

import numpy as np

from ...errors import InpaintkitError
from ...options import Options, option
from ..base import ArrayInpainter


def require(module: str, package: str, method: str) -> ModuleType:
    """Import ``module`` for ``method``, or say which pip package to install."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise InpaintkitError(
            f"method {method!r} needs the {package} package: pip install {package}"
        ) from error


def check_has_known(hole: np.ndarray, method: str) -> None:
    """Refuse a hole that covers the whole image: these methods only propagate known pixels."""
    if hole.all():
        raise InpaintkitError(
            f"method {method!r} fills the hole from the known pixels around it, but the hole "
            "covers the whole image; leave some pixels known or use a generative method (repaint)"
        )


@dataclass(frozen=True)
class OpenCVOptions(Options):
    """radius: neighbourhood radius in pixels (> 0) that OpenCV uses around each pixel it fills
    (cv2.inpaint's inpaintRadius)."""

    HEADLINE: ClassVar[tuple[str, ...]] = ("radius",)

    radius: float = option(
        3.0, help="neighbourhood radius in pixels (cv2 inpaintRadius)", min=0, min_exclusive=True
    )


class _OpenCVInpainter(ArrayInpainter):
    """cv2.inpaint with one of its two algorithms; deterministic (rng unused)."""

    Options = OpenCVOptions
    flag = ""  # the cv2 constant's name

    def fill(self, image: np.ndarray, hole: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        cv2 = require("cv2", "opencv-python-headless", self.name)
        check_has_known(hole, self.name)
        # OpenCV's mask: uint8, non-zero = hole; channels are filled independently, so RGB is fine
        mask = hole.astype(np.uint8) * 255
        return cv2.inpaint(image, mask, float(self.options.radius), getattr(cv2, self.flag))


class Telea(_OpenCVInpainter):
    """Telea (2004), "An image inpainting technique based on the fast marching method":
    fills the hole from its border inwards in fast-marching order, each pixel a weighted average
    of the known pixels within ``radius`` (weights favour the direction of the normal, near
    pixels and the same level set). OpenCV's INPAINT_TELEA. Fast: milliseconds at 256x256."""

    name = "telea"
    summary = "Telea 2004 fast-marching fill (OpenCV INPAINT_TELEA)"
    flag = "INPAINT_TELEA"


class NavierStokes(_OpenCVInpainter):
    """Bertalmio, Bertozzi & Sapiro (2001), "Navier-Stokes, fluid dynamics, and image and video
    inpainting": continues the isophotes (lines of equal intensity) into the hole by treating the
    image intensity as the stream function of an incompressible fluid. OpenCV's INPAINT_NS."""

    name = "navier-stokes"
    summary = "Bertalmio et al. 2001 Navier-Stokes isophote continuation (OpenCV INPAINT_NS)"
    flag = "INPAINT_NS"


@dataclass(frozen=True)
class BiharmonicOptions(Options):
    """split_into_regions: solve each connected part of the hole on its own; scikit-image says
    it is likely slower but needs less memory."""

    split_into_regions: bool = option(False, help="solve each connected part of the hole alone")


class Biharmonic(ArrayInpainter):
    """Biharmonic fill (Damelin & Hoang 2018, "On surface completion and image inpainting by
    biharmonic functions"): the hole solves the biharmonic equation (Laplacian of the Laplacian
    = 0) with the known pixels as boundary values, per channel (scikit-image's
    inpaint_biharmonic). Smoother than a harmonic (heat-equation) fill: it also continues the
    gradient at the border. Deterministic (rng unused).

    Cost: one sparse linear system with one unknown per hole pixel and channel, solved directly;
    time and memory grow faster than the hole's area. Measured on 2 CPU cores: a 64x64 hole
    0.05 s, 128x128 0.5 s, 320x320 (100k pixels, in a 512x512 image) 3.4 s and about 450 MiB.
    """

    name = "biharmonic"
    summary = "biharmonic smooth fill (scikit-image inpaint_biharmonic)"
    Options = BiharmonicOptions

    def fill(self, image: np.ndarray, hole: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        restoration = require("skimage.restoration", "scikit-image", self.name)
        check_has_known(hole, self.name)
        out = restoration.inpaint_biharmonic(
            image, hole, split_into_regions=self.options.split_into_regions, channel_axis=-1
        )  # float in [0, 1] (img_as_float of the uint8 input)
        return np.clip(np.rint(out * 255.0), 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class PatchMatchOptions(Options):
    """patch_radius: radius of the compared patches, which span (2r+1)^2 pixels (pypatchmatch's
    ``patch_size``, 1..1073741823; default 3, as in pypatchmatch's examples: 7x7 patches).
    pypatchmatch's own default 15 (31x31 patches) measured 5x slower (1.5 s against 0.3 s for a
    64x64 hole in a 256x256 photo, 2 CPU cores) and further from the truth there."""

    HEADLINE: ClassVar[tuple[str, ...]] = ("patch_radius",)

    patch_radius: int = option(
        3, help="radius r of the compared (2r+1)^2 patches", min=1, max=1073741823
    )


class PatchMatch(ArrayInpainter):
    """PatchMatch inpainting (Barnes, Shechtman, Finkelstein & Goldman 2009, "PatchMatch: a
    randomized correspondence algorithm for structural image editing"): coarse to fine, each
    hole patch gets a nearest-neighbour patch from the known region found by random
    initialisation, propagation from neighbours and random search, and the hole is voted from
    the matched patches. pypatchmatch (a C++ library) does the work.

    Seeding: pypatchmatch's random search restarts from a library-wide seed on every call, so
    the same input gives the same bytes; we set that seed from ``rng`` before each call (same
    seed, same bytes; another seed, usually another fill). The seed is global state of the
    native library: do not run two PatchMatch fills at once in threads of one process.
    """

    name = "patchmatch"
    summary = "Barnes et al. 2009 PatchMatch nearest-patch fill (pypatchmatch)"
    Options = PatchMatchOptions

    def fill(self, image: np.ndarray, hole: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        patch_match = require("patchmatch.patch_match", "pypatchmatch", self.name)
        if not getattr(patch_match, "patchmatch_available", True):
            raise InpaintkitError(
                "method 'patchmatch': pypatchmatch is installed but its native library did not "
                "load; reinstall it (pip install --force-reinstall pypatchmatch)"
            )
        check_has_known(hole, self.name)
        patch_match.set_random_seed(int(rng.integers(2**32)))
        mask = hole.astype(np.uint8) * 255  # pypatchmatch: non-zero = hole
        return patch_match.inpaint(image, mask, patch_size=self.options.patch_radius)
