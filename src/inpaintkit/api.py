"""The Python entry point: ``inpaintkit.inpaint(image, hole, ...)``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .io import load_hole, load_image
from .methods import Job, build_method, list_methods, run_inpainter
from .models import DiffusionModel

ImageLike = str | Path | Image.Image | np.ndarray


def inpaint(
    image: ImageLike,
    hole: ImageLike,
    method: str = "repaint",
    *,
    model: DiffusionModel | str | None = None,
    samples: int = 1,
    seed: int = 0,
    resize: bool = False,
    white: str = "hole",
    threshold: float | None = None,
    device: str | torch.device = "cpu",
    class_label: int | None = None,
    progress: bool = True,
    **options: object,
) -> Image.Image | list[Image.Image]:
    """Fill the hole of ``image``; returns an RGB image, or a list of ``samples`` images.

    image: a path, PIL image or uint8/float array (see io.load_image for accepted modes).
    hole: a path, PIL image or array of the same size; white / True = hole (``white="keep"``
        reads RePaint's mask files, where white = keep); non-binary masks need ``threshold``.
    method: a registered method name (inpaintkit.methods.METHODS).
    model: a DiffusionModel or a load_model spec ("default", a path, a hub id); for methods
        that use one (None = "default").
    options: the method's knobs, e.g. steps=250, jump_length=10, resamplings=10 (RePaintOptions),
        parsed and checked by the one option parser before any model is loaded.
    The same seed gives the same bytes; known pixels of the result equal the input's.
    """
    picture = load_image(image)
    job = Job(picture, load_hole(hole, size=picture.size, white=white, threshold=threshold))
    inpainter = build_method(
        method, model=model, device=device, class_label=class_label, progress=progress, **options
    )
    results = run_inpainter(inpainter, [job], samples=samples, seed=seed, resize=resize)[0]
    return results[0] if samples == 1 else results


__all__ = ["build_method", "inpaint", "list_methods"]
