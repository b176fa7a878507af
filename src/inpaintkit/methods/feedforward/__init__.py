"""Methods on a feed-forward generator (model kind "feedforward"): one network call per batch."""

from __future__ import annotations

from .generator import FeedForward, FeedForwardOptions
from .survey_a import ContextEncoderMethod, GLCICMethod, PartialConvMethod, SurveyFeedForward
from .survey_b import DeepFillV1, DeepFillV2, LaMa

__all__ = [
    "ContextEncoderMethod",
    "DeepFillV1",
    "DeepFillV2",
    "FeedForward",
    "FeedForwardOptions",
    "GLCICMethod",
    "LaMa",
    "PartialConvMethod",
    "SurveyFeedForward",
]
