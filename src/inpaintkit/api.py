"""The Python entry points: ``inpaintkit.inpaint(image, hole, ...)`` and
``inpaintkit.inpaint_batch(images, holes, ...)``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .errors import InpaintkitError
from .io import load_hole, load_image, load_input
from .methods import Job, build_method, fit_references, list_methods, run_method
from .methods.choice import AUTO, choose_method
from .methods.strategy import check_strategy
from .models import DiffusionModel, embedded_models

ImageLike = str | Path | Image.Image | np.ndarray


def inpaint(
    image: ImageLike,
    hole: ImageLike,
    method: str = "auto",
    *,
    model: DiffusionModel | str | None = None,
    samples: int = 1,
    seed: int = 0,
    strategy: str = "auto",
    resize: bool = False,
    crop_margin: int | None = None,
    feather: int | None = None,
    white: str = "hole",
    threshold: float | None = None,
    inputs: Mapping[str, ImageLike] | None = None,
    references: Sequence[ImageLike] | None = None,
    device: str | torch.device = "cpu",
    class_label: int | None = None,
    progress: bool = True,
    **options: object,
) -> Image.Image | list[Image.Image]:
    """Fill the hole of ``image``; returns an RGB image, or a list of ``samples`` images.

    image: a path, PIL image or uint8/float array (see io.load_image for accepted modes).
    hole: a path, PIL image or array of the same size; white / True = hole (``white="keep"``
        reads RePaint's mask files, where white = keep); non-binary masks need ``threshold``.
    method: a registered method name (inpaintkit.methods.METHODS), or "auto" (the default):
        repaint on the emoji prior for images up to 64 px, lama on the photo network (feathered
        3 px) for larger ones (see inpaintkit.methods.choice).
    model: a loaded model or a load_model spec ("default", a path, a hub id); for methods
        that use one (None = "default", the embedded prior, for methods on a prior; methods on
        the other kinds, e.g. "feedforward" and "inpaint-ddpm", need one).
    strategy: how an image that is not the model's size is inpainted: "auto" (default: "crop"
        when the image is larger than the model, else "original"), "original" (pad to the
        method's multiple), "resize" (to the model's size and back) or "crop" (a crop around
        each hole region at the model's size); see inpaintkit.methods.strategy.
        ``resize=True`` is a synonym of strategy="resize".
    crop_margin: context around each hole for "crop", in pixels (default model size // 4, or 128
        px for methods of any size). feather: px band inside the hole border over which the fill
        is blended into the input (default 0: none, or auto's choice); known pixels stay exact
        either way.
    inputs: the extra per-image inputs the method takes (its ``needs.inputs``), by name, e.g.
        ``{"sketch": "edges.png"}``: a path, PIL image or array of the image's size; pictures
        are read as grayscale ("L") or RGB (see inpaintkit.io.input_to_tensor).
    references: photos of the same scene for reference-driven methods (``method="realfill"``):
        paths, PIL images or arrays; the method is fitted on them (and on the image's known
        pixels) once before inpainting.
    options: the method's knobs, e.g. steps=250, jump_length=10, resamplings=10 (RePaintOptions),
        parsed and checked by the one option parser before any model is loaded.
    The same seed gives the same bytes; known pixels of the result equal the input's.
    """
    return inpaint_batch(
        [image],
        [hole],
        method,
        model=model,
        samples=samples,
        seed=seed,
        strategy=strategy,
        resize=resize,
        crop_margin=crop_margin,
        feather=feather,
        white=white,
        threshold=threshold,
        inputs=inputs,
        references=references,
        device=device,
        class_label=class_label,
        progress=progress,
        **options,
    )[0]


def inpaint_batch(
    images: Sequence[ImageLike],
    holes: Sequence[ImageLike],
    method: str = "auto",
    *,
    model: DiffusionModel | str | None = None,
    samples: int = 1,
    seed: int | Sequence[int] = 0,
    strategy: str = "auto",
    resize: bool = False,
    crop_margin: int | None = None,
    feather: int | None = None,
    white: str = "hole",
    threshold: float | None = None,
    inputs: Mapping[str, ImageLike] | Sequence[Mapping[str, ImageLike]] | None = None,
    references: Sequence[ImageLike] | None = None,
    batch_size: int = 8,
    device: str | torch.device = "cpu",
    class_label: int | None = None,
    progress: bool = True,
    **options: object,
) -> list[Image.Image] | list[list[Image.Image]]:
    """Fill the holes of several images with one method (loaded once, images batched together).

    images, holes: two lists of the same length; holes[n] is the hole of images[n] (each as in
        :func:`inpaint`; images may differ in size).
    seed: one seed for every image, or one per image. Result n has the bytes of
        ``inpaint(images[n], holes[n], method, seed=seed[n], ...)`` with the same options,
        whatever the batch holds (on CPU; batched GPU kernels may differ in the last bits).
    inputs: the method's extra inputs, one mapping for all images or one per image.
    references: reference photos for every image (reference-driven methods; fitted once, on
        them and on every image's known pixels, with the first image's seed).
    batch_size: pieces per network call. Every other argument is :func:`inpaint`'s.
    Returns one result per image: an RGB image, or a list of ``samples`` images.
    Raises InpaintkitError before any model is loaded when the lists do not match.
    """
    check_strategy(strategy)  # before any model is loaded
    for name, value in (("images", images), ("holes", holes)):
        if isinstance(value, (str, Path, Image.Image, np.ndarray)):
            raise InpaintkitError(
                f"{name} must be a list (one per image), got one {type(value).__name__}; "
                "for a single image use inpaintkit.inpaint"
            )
    images, holes = list(images), list(holes)
    if len(images) != len(holes) or not images:
        raise InpaintkitError(
            f"give one hole per image: got {len(images)} image(s) and {len(holes)} hole(s)"
        )
    seeds = [seed] * len(images) if isinstance(seed, int) else list(seed)
    if len(seeds) != len(images):
        raise InpaintkitError(f"give one seed, or one per image ({len(images)}): got {len(seeds)}")
    per_image = [inputs or {}] * len(images) if isinstance(inputs, Mapping | None) else inputs
    if len(per_image) != len(images):
        raise InpaintkitError(
            f"give inputs once for all images or once per image ({len(images)}): "
            f"got {len(per_image)}"
        )
    if isinstance(references, (str, Path, Image.Image, np.ndarray)):
        raise InpaintkitError("references must be a list of images, got one image")
    refs = tuple(load_image(r) for r in references or ())
    jobs = []
    for n, (image, hole, extra) in enumerate(zip(images, holes, per_image)):
        picture = load_image(image)
        extras = {name: load_input(value, picture.size, name) for name, value in extra.items()}
        try:
            mask = load_hole(hole, size=picture.size, white=white, threshold=threshold)
        except InpaintkitError as err:
            if len(images) == 1:  # inpaint(): one image, nothing to number
                raise
            raise InpaintkitError(f"hole {n}: {err}") from err
        jobs.append(Job(picture, mask, inputs=extras, references=refs))
    if method == AUTO:  # chosen by the images' size
        choice = choose_method([job.image.size for job in jobs], model, embedded_models())
        method, model = choice.method, model if model is not None else choice.model
        feather = choice.feather if feather is None else feather
    inpainter = build_method(
        method, model=model, device=device, class_label=class_label, progress=progress, **options
    )
    fit_references(inpainter, jobs, seed=seeds[0], progress=progress)
    results = run_method(
        inpainter,
        jobs,
        samples=samples,
        seeds=seeds,
        strategy=strategy,
        resize=resize,
        crop_margin=crop_margin,
        feather=feather or 0,
        batch_size=batch_size,
    )
    return [r[0] for r in results] if samples == 1 else results


__all__ = ["build_method", "inpaint", "inpaint_batch", "list_methods"]
