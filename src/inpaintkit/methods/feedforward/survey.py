"""The survey's feed-forward inpainting CNNs as methods (networks in ``inpaintkit.networks``,
training objectives of the same names in ``inpaintkit.train.objectives``):

- ``context-encoder`` (Pathak et al. 2016): encoder-decoder with a channel-wise fully-connected
  bottleneck; fixed 32x32, larger images are cropped around each hole or resized (the wrapper's
  high-resolution strategies);
- ``glcic`` (Iizuka et al. 2017): dilated completion network; any size (multiple of 4);
- ``pconv`` (Liu et al. 2018): U-Net of partial convolutions; any size (multiple of 16);
- ``deepfill-v1`` (Yu et al. 2018, "Generative Image Inpainting with Contextual Attention"):
  coarse-to-fine generator with contextual attention;
- ``deepfill-v2`` (Yu et al. 2019, "Free-Form Image Inpainting with Gated Convolution"): gated
  convolutions, with the optional user sketch. Without one the generator gets an all-zero
  sketch ("no guidance"; the official model accepts an empty sketch too, and our training
  empties it for a share of the items). A sketch is a picture of the image's size whose white
  (or True) pixels are edge strokes on black: any value above mid-grey counts as a stroke
  (pictures map 0..255 to [-1, 1], bool masks to {0, 1}, so "> 0" is the one threshold for
  both); only strokes inside the hole are used (the paper multiplies the edge map by the mask).
  Give it with ``--sketch FILE`` (= ``--input sketch=FILE``) or ``inputs={"sketch": ...}``;
- ``lama`` (Suvorov et al. 2022, "Resolution-robust Large Mask Inpainting with Fourier
  Convolutions"): fast Fourier convolution residual blocks; any size.

Each is :class:`~.generator.FeedForward` bound to one network class, with a default model (an
embedded model, ``models/weights/<name>.safetensors``) and the ``recipe`` that trains it:
without the embedded file, running the method with no ``--model`` fails with that command
(Method.model_spec); ``--model FILE`` runs any export holding the same network class
(``--method feedforward`` runs any generator).
"""

from __future__ import annotations

from typing import ClassVar

import torch

from ...errors import InpaintkitError
from ...models import FeedForwardModel
from ...networks import network_spec
from ..base import Callback
from .generator import FeedForward, FeedForwardOptions

HOLES = "--holes thin+medium+thick+box+sr2x+altlines+half+expand"
"""The hole mix every survey model was trained on."""


def _recipe(preset: str, objective: str, flags: str) -> str:
    """The command that trains ``preset``'s shipped model (its card has the same flags)."""
    return f"inpaintkit train emoji --preset {preset} --objective {objective} {HOLES} {flags}"


class SurveyNetwork(FeedForward):
    """A FeedForward method bound to one generator class (``network_class``) whose default
    model is an embedded model trained by ``recipe``."""

    network_class: ClassVar[str] = ""

    def __init__(
        self,
        options: FeedForwardOptions | None = None,
        *,
        model: FeedForwardModel | str | None = None,
        device: str | torch.device = "cpu",
        class_label: int | None = None,
        progress: bool = True,
    ) -> None:
        super().__init__(
            options, model=model, device=device, class_label=class_label, progress=progress
        )
        found = network_spec(self.model.generator)["class"]
        if found != self.network_class:
            raise InpaintkitError(
                f"method {self.name} runs a {self.network_class} generator; "
                f"{self.model.source or 'the model'} holds a {found} (use --method feedforward "
                "to run any feed-forward generator)"
            )


class ContextEncoderMethod(SurveyNetwork):
    """Context Encoders (Pathak et al. 2016); default model "context-encoder32"."""

    name = "context-encoder"
    summary = (
        "Context Encoders (Pathak et al. 2016): encoder-decoder with a channel-wise FC "
        "bottleneck, L2 + adversarial; fixed size"
    )
    default_model = "context-encoder32"
    network_class = "ContextEncoderGenerator"
    recipe = _recipe(
        "context-encoder32", "context-encoder",
        "--steps 8000 --batch-size 32 --lr 1e-3 -O d_lr=1e-4 -o warmup_steps=200",
    )  # fmt: skip


class GLCICMethod(SurveyNetwork):
    """GLCIC (Iizuka et al. 2017); default model "glcic32"."""

    name = "glcic"
    summary = (
        "GLCIC (Iizuka et al. 2017): dilated completion network trained against global and "
        "local discriminators; any size"
    )
    default_model = "glcic32"
    network_class = "GLCICGenerator"
    recipe = _recipe(
        "glcic32", "glcic",
        "--steps 4500 --batch-size 32 --lr 1e-3 -O phase1=0.18 -O phase2=0.02 -O alpha=0.0004 "
        "-o warmup_steps=200",
    )  # fmt: skip


class PartialConvMethod(SurveyNetwork):
    """Partial convolutions (Liu et al. 2018); default model "pconv32"."""

    name = "pconv"
    summary = (
        "Partial convolutions (Liu et al. 2018): U-Net of mask-renormalised convolutions, "
        "L1 + total variation; any size"
    )
    default_model = "pconv32"
    network_class = "PartialConvUNet"
    recipe = _recipe(
        "pconv32", "pconv", "--steps 5500 --batch-size 32 --lr 1e-3 -o warmup_steps=200"
    )


class DeepFillV1(SurveyNetwork):
    """DeepFill v1 (Yu et al. 2018); default model "deepfill-v1-32"."""

    name = "deepfill-v1"
    summary = (
        "DeepFill v1 (Yu et al. 2018): coarse-to-fine CNN with contextual attention, "
        "WGAN-GP trained (default model deepfill-v1-32)"
    )
    default_model = "deepfill-v1-32"
    network_class = "DeepFillV1Generator"
    recipe = _recipe(
        "deepfill-v1-32", "deepfill-v1",
        "--steps 3200 --batch-size 32 --lr 5e-4 -o warmup_steps=100 -o ema_decay=0.995",
    )  # fmt: skip


class LaMa(SurveyNetwork):
    """LaMa (Suvorov et al. 2022); default model "lama32"."""

    name = "lama"
    summary = (
        "LaMa (Suvorov et al. 2022): fast Fourier convolution ResNet, image-wide receptive "
        "field (default model lama32)"
    )
    default_model = "lama32"
    network_class = "LaMaGenerator"
    recipe = _recipe(
        "lama32", "lama",
        "--steps 3900 --batch-size 32 --lr 1e-3 -O d_lr=1e-4 -o warmup_steps=100 "
        "-o ema_decay=0.995",
    )  # fmt: skip


class DeepFillV2(SurveyNetwork):
    """DeepFill v2 (Yu et al. 2019) with the optional user sketch (module docstring); default
    model "deepfill-v2-32". Its ``needs.inputs`` come from the model (as FeedForward's):
    ("sketch",) for the preset's. ``optional_inputs``: the inputs the wrapper does not require
    (the sketch; zeros when absent)."""

    name = "deepfill-v2"
    summary = (
        "DeepFill v2 (Yu et al. 2019): gated convolutions, SN-PatchGAN, optional user sketch "
        "(--sketch FILE: white strokes = edges in the hole) (default model deepfill-v2-32)"
    )
    optional_inputs: ClassVar[tuple[str, ...]] = ("sketch",)
    default_model = "deepfill-v2-32"
    network_class = "DeepFillV2Generator"
    recipe = _recipe(
        "deepfill-v2-32", "deepfill-v2",
        "--steps 3600 --batch-size 32 --lr 5e-4 -O adv_weight=0.1 -o warmup_steps=100 "
        "-o ema_decay=0.995",
    )  # fmt: skip

    @torch.no_grad()
    def __call__(
        self,
        known: torch.Tensor,
        keep: torch.Tensor,
        *,
        generators: list[torch.Generator],
        callback: Callback | None = None,
        **inputs: torch.Tensor,
    ) -> torch.Tensor:
        """As FeedForward, with the sketch optional: a given sketch [B,1 or 3,H,W] (pictures in
        [-1,1], masks in {0,1}) becomes 1 where its channel mean is > 0, else 0, times the hole;
        an absent one is all zeros."""
        if "sketch" in self.inputs:
            inputs = dict(inputs)
            sketch = inputs.get("sketch")
            if sketch is None:
                inputs["sketch"] = torch.zeros_like(keep, dtype=known.dtype)
            else:
                strokes = (sketch.float().mean(1, keepdim=True) > 0).to(known.dtype)
                inputs["sketch"] = strokes * (1.0 - keep.to(known.dtype))
        return super().__call__(known, keep, generators=generators, callback=callback, **inputs)


SURVEY_METHODS = (
    ContextEncoderMethod,
    GLCICMethod,
    PartialConvMethod,
    DeepFillV1,
    DeepFillV2,
    LaMa,
)
"""The survey's six methods, in registry order."""
