"""Networks, checkpoint loading and conversion, the embedded default weights."""

from .loading import embedded_models, load_model
from .model import DiffusionModel
from .spec import DiffusionConfig
from .store import save_model

__all__ = ["DiffusionConfig", "DiffusionModel", "embedded_models", "load_model", "save_model"]
