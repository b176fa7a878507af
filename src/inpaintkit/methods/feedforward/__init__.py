"""Methods on a feed-forward generator (model kind "feedforward"): one network call per batch."""

from __future__ import annotations

from .generator import FeedForward, FeedForwardOptions

__all__ = ["FeedForward", "FeedForwardOptions"]
