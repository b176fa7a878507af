"""Loaded models of every kind, checkpoint formats and conversion, the embedded weights."""

from .conditional import ConditionalDiffusionModel
from .devices import check_device
from .feedforward import BundleModel, FeedForwardModel
from .kinds import KINDS, LoadedModel
from .loading import MODEL_OPTIONS, ModelOptions, embedded_models, load_model, parse_model_options
from .manager import ModelManager, shared_models
from .model import DiffusionModel
from .spec import DiffusionConfig
from .store import save_model

__all__ = [
    "KINDS",
    "MODEL_OPTIONS",
    "ModelOptions",
    "check_device",
    "BundleModel",
    "ConditionalDiffusionModel",
    "DiffusionConfig",
    "DiffusionModel",
    "FeedForwardModel",
    "LoadedModel",
    "ModelManager",
    "embedded_models",
    "load_model",
    "parse_model_options",
    "save_model",
    "shared_models",
]
