"""The survey's feed-forward inpainting networks DeepFill v1, DeepFill v2 and LaMa as methods.

Each is :class:`~.generator.FeedForward` with a default model: an embedded model of the same
name's preset (``inpaintkit/models/weights/<preset>.safetensors``), trained by the objective of
its paper (``inpaintkit train emoji --preset <preset> --objective <name>``). Until such a file
is installed, running the method without ``--model`` fails with an error that says so and
gives the training and export commands; ``--model FILE`` runs any compatible export.

- ``deepfill-v1`` (Yu et al. 2018, "Generative Image Inpainting with Contextual Attention"):
  coarse-to-fine generator with contextual attention.
- ``deepfill-v2`` (Yu et al. 2019, "Free-Form Image Inpainting with Gated Convolution"): gated
  convolutions, with the optional user sketch. The sketch is OPTIONAL here: without one the
  generator gets an all-zero sketch ("no guidance"; the official model accepts an empty sketch
  too, and our training empties it for a share of the items so the model has seen that case).
  A sketch is a picture of the image's size whose white (or True) pixels are edge strokes on
  black: any value above mid-grey counts as a stroke (pictures map 0..255 to [-1, 1], bool
  masks to {0, 1}, so "> 0" is the one threshold for both); only strokes inside the hole are
  used (the paper multiplies the edge map by the mask). Give it with ``--sketch FILE`` (=
  ``--input sketch=FILE``) or ``inputs={"sketch": ...}``; for every image of a run or none.
- ``lama`` (Suvorov et al. 2022, "Resolution-robust Large Mask Inpainting with Fourier
  Convolutions"): fast Fourier convolution residual blocks; fully convolutional, any size.
"""

from __future__ import annotations

from typing import ClassVar

import torch

from ..base import Callback
from .generator import FeedForward

HOLES = "--holes thin+medium+thick+box+sr2x+altlines+half+expand"
COMMON = "--threads 1 -o warmup_steps=100 -o ema_decay=0.995"
"""The training recipe's shared flags: about 12 minutes on one CPU core (0.18-0.22 s/step)."""


class _SurveyNetwork(FeedForward):
    """A FeedForward method whose default model is an embedded model (``default_model``) that
    may not be installed yet; ``recipe`` is the command that trains it (Method.model_spec names
    it when the model is missing)."""

    objective: ClassVar[str] = ""
    recipe: ClassVar[str] = ""


class DeepFillV1(_SurveyNetwork):
    """DeepFill v1 (Yu et al. 2018): one call of its coarse-to-fine generator with contextual
    attention (``networks.deepfill_v1``); default model "deepfill-v1-32"."""

    name = "deepfill-v1"
    summary = (
        "DeepFill v1 (Yu et al. 2018): coarse-to-fine CNN with contextual attention, "
        "WGAN-GP trained (default model deepfill-v1-32)"
    )
    default_model = "deepfill-v1-32"
    recipe = (
        "inpaintkit train emoji --preset deepfill-v1-32 --objective deepfill-v1 "
        f"{HOLES} --steps 3200 --batch-size 32 --lr 5e-4 {COMMON}"
    )


class LaMa(_SurveyNetwork):
    """LaMa (Suvorov et al. 2022): one call of its FFC ResNet (``networks.lama``); default
    model "lama32"."""

    name = "lama"
    summary = (
        "LaMa (Suvorov et al. 2022): fast Fourier convolution ResNet, image-wide receptive "
        "field (default model lama32)"
    )
    default_model = "lama32"
    recipe = (
        "inpaintkit train emoji --preset lama32 --objective lama "
        f"{HOLES} --steps 3900 --batch-size 32 --lr 1e-3 -O d_lr=1e-4 {COMMON}"
    )


class DeepFillV2(_SurveyNetwork):
    """DeepFill v2 (Yu et al. 2019): gated convolutions and the optional user sketch (module
    docstring); default model "deepfill-v2-32". Its ``needs.inputs`` come from the model (as
    FeedForward's): ("sketch",) for the preset's. ``optional_inputs``: the inputs the wrapper
    does not require (the sketch; zeros when absent)."""

    name = "deepfill-v2"
    summary = (
        "DeepFill v2 (Yu et al. 2019): gated convolutions, SN-PatchGAN, optional user sketch "
        "(--sketch FILE: white strokes = edges in the hole) (default model deepfill-v2-32)"
    )
    optional_inputs: ClassVar[tuple[str, ...]] = ("sketch",)
    default_model = "deepfill-v2-32"
    recipe = (
        "inpaintkit train emoji --preset deepfill-v2-32 --objective deepfill-v2 "
        f"{HOLES} --steps 3600 --batch-size 32 --lr 5e-4 -O adv_weight=0.1 {COMMON}"
    )

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


SURVEY_B_METHODS = (DeepFillV1, DeepFillV2, LaMa)
"""The three methods of this module, in registry order."""
