"""Training on accelerate: one loop, pluggable objectives, checkpoints, export (needs ``[train]``).

The network presets live in :mod:`inpaintkit.networks.presets` (re-exported here for old code).
"""

from ..data.specs import make_dataset
from ..networks.presets import PRESETS, Preset, get_preset
from .config import TrainConfig
from .export import checkpoint_model, export_model, load_run_config, run_training
from .loop import train
from .objectives import OBJECTIVES, make_objective
from .previews import ddpm_sample

__all__ = [
    "OBJECTIVES",
    "PRESETS",
    "Preset",
    "TrainConfig",
    "checkpoint_model",
    "ddpm_sample",
    "export_model",
    "get_preset",
    "load_run_config",
    "make_dataset",
    "make_objective",
    "run_training",
    "train",
]
