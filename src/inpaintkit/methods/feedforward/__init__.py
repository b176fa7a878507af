"""Methods on a feed-forward generator (model kind "feedforward"): one network call per batch."""

from __future__ import annotations

from .generator import FeedForward, FeedForwardOptions
from .survey_a import ContextEncoderMethod, GLCICMethod, PartialConvMethod, SurveyFeedForward

__all__ = [
    "ContextEncoderMethod",
    "FeedForward",
    "FeedForwardOptions",
    "GLCICMethod",
    "PartialConvMethod",
    "SurveyFeedForward",
]
