"""The survey's first feed-forward CNNs as methods: Context Encoders, GLCIC and partial
convolutions (networks in ``inpaintkit.networks``: context_encoder, glcic, partial_conv; training
objectives in ``inpaintkit.train.objectives`` of the same names).

Each is :class:`~.generator.FeedForward` with a name, a default model (an embedded model,
``models/weights/<name>.safetensors``, trained by ``inpaintkit train``) and the network class its
model must hold: ``--method pconv --model FILE`` refuses a file whose generator is another
network (``--method feedforward`` runs any generator). Until the embedded weights are shipped,
running one without ``--model`` fails with the command that trains a model.
"""

from __future__ import annotations

from typing import ClassVar

from ...errors import InpaintkitError
from ...networks import network_spec
from .generator import FeedForward


class SurveyFeedForward(FeedForward):
    """A FeedForward method bound to one network class and one default embedded model.

    network_class: the generator's registered class name. preset / objective: what trains its
    default model (named in the error when the model is not installed).
    """

    network_class: ClassVar[str] = ""
    preset: ClassVar[str] = ""
    objective: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls.recipe = f"inpaintkit train emoji --preset {cls.preset} --objective {cls.objective}"

    def __init__(self, options=None, *, model=None, device="cpu", class_label=None,
                 progress=True) -> None:  # fmt: skip
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


class ContextEncoderMethod(SurveyFeedForward):
    """Context Encoders (Pathak et al. 2016): fixed 32x32; larger images are cropped around
    each hole or resized (the wrapper's high-resolution strategies)."""

    name = "context-encoder"
    summary = (
        "Context Encoders (Pathak et al. 2016): encoder-decoder with a channel-wise FC "
        "bottleneck, L2 + adversarial; fixed size"
    )
    default_model = "context-encoder32"
    network_class = "ContextEncoderGenerator"
    preset, objective = "context-encoder32", "context-encoder"


class GLCICMethod(SurveyFeedForward):
    """GLCIC (Iizuka et al. 2017): fully convolutional, any size (multiple of 4)."""

    name = "glcic"
    summary = (
        "GLCIC (Iizuka et al. 2017): dilated completion network trained against global and "
        "local discriminators; any size"
    )
    default_model = "glcic32"
    network_class = "GLCICGenerator"
    preset, objective = "glcic32", "glcic"


class PartialConvMethod(SurveyFeedForward):
    """Partial convolutions (Liu et al. 2018): fully convolutional, any size (multiple of 16)."""

    name = "pconv"
    summary = (
        "Partial convolutions (Liu et al. 2018): U-Net of mask-renormalised convolutions, "
        "L1 + total variation; any size"
    )
    default_model = "pconv32"
    network_class = "PartialConvUNet"
    preset, objective = "pconv32", "pconv"


SURVEY_A_METHODS = (ContextEncoderMethod, GLCICMethod, PartialConvMethod)
