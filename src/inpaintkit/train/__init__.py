"""DDPM training on accelerate: presets, the trainer, checkpoints, export (needs ``[train]``)."""

from .ddpm import TrainConfig, ddpm_sample, export_model, make_dataset, run_training, train
from .presets import PRESETS, Preset, get_preset

__all__ = [
    "PRESETS",
    "Preset",
    "TrainConfig",
    "ddpm_sample",
    "export_model",
    "get_preset",
    "make_dataset",
    "run_training",
    "train",
]
