"""Compatibility names of the wave-1 DDPM trainer, now the one loop (``train.loop``) driving
the "ddpm-prior" objective (``train.objectives.ddpm_prior``)."""

from ..data.specs import make_dataset
from .config import LR_DECAYS, MIXED_PRECISION, RESUMABLE_CHANGES, TrainConfig, lr_factor
from .export import export_model, load_run_config, run_training
from .loop import train
from .losses import LossFn, epsilon_mse_loss
from .objectives.ddpm_prior import q_sample, select_loss_fn
from .previews import ddpm_sample, image_grid, save_sample_grid, to_uint8
from .runfolder import LOG_COLUMNS

__all__ = [
    "LOG_COLUMNS",
    "LR_DECAYS",
    "MIXED_PRECISION",
    "RESUMABLE_CHANGES",
    "LossFn",
    "TrainConfig",
    "ddpm_sample",
    "epsilon_mse_loss",
    "export_model",
    "image_grid",
    "load_run_config",
    "lr_factor",
    "make_dataset",
    "q_sample",
    "run_training",
    "save_sample_grid",
    "select_loss_fn",
    "to_uint8",
    "train",
]
