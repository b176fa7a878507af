"""Methods on a feed-forward generator (model kind "feedforward"): one network call per batch."""

from __future__ import annotations

from .generator import FeedForward, FeedForwardOptions
from .survey import (
    ContextEncoderMethod,
    DeepFillV1,
    DeepFillV2,
    GLCICMethod,
    LaMa,
    PartialConvMethod,
    SurveyNetwork,
)

__all__ = [
    "ContextEncoderMethod",
    "DeepFillV1",
    "DeepFillV2",
    "FeedForward",
    "FeedForwardOptions",
    "GLCICMethod",
    "LaMa",
    "PartialConvMethod",
    "SurveyNetwork",
]
