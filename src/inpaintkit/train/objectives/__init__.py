"""Training objectives the one loop (``train.loop``) drives, by name.

- "ddpm-prior": an unconditional DDPM prior (:mod:`.ddpm_prior`), today's objective;
- "conditional-ddpm": a conditional inpainting diffusion model (:mod:`.conditional_ddpm`);
- "adversarial": a feed-forward generator and one or more discriminators (:mod:`.adversarial`).
- "context-encoder", "glcic", "pconv": the survey's Context Encoders, GLCIC (three phases) and
  partial-convolution U-Net, each with its paper's losses (:mod:`.context_encoder`,
  :mod:`.glcic`, :mod:`.partial_conv`; shared parts in :mod:`.feedforward_base`).
- "strdiffusion": StrDiffusion's structure and texture networks and discriminator
  (:mod:`.strdiffusion`).

Each takes a preset of the matching kind (``inpaintkit.networks.presets``) and a dict of its own
options (``TrainConfig.objective_options``).
"""

from __future__ import annotations

import importlib

from ...errors import InpaintkitError
from .base import Objective, ObjectiveBase, TrainedNetwork, Updater, parse_objective_options

OBJECTIVES: dict[str, str] = {
    "ddpm-prior": "ddpm_prior:DDPMPrior",
    "conditional-ddpm": "conditional_ddpm:ConditionalDDPM",
    "adversarial": "adversarial:Adversarial",
    "context-encoder": "context_encoder:ContextEncoder",
    "glcic": "glcic:GLCIC",
    "pconv": "partial_conv:PartialConv",
    "deepfill-v1": "deepfill:DeepFillV1",
    "deepfill-v2": "deepfill:DeepFillV2",
    "lama": "lama:LaMa",
    "strdiffusion": "strdiffusion:StrDiffusion",
}
"""Objective name -> "module:class" in this package (imported on use)."""

OBJECTIVE_FOR_KIND = {
    "prior": "ddpm-prior",
    "conditional-diffusion": "conditional-ddpm",
    "feedforward": "adversarial",
    "bundle": "strdiffusion",
}
"""The default objective for a preset of each model kind."""

OBJECTIVE_FOR_PRESET = {
    "context-encoder32": "context-encoder",
    "glcic32": "glcic",
    "pconv32": "pconv",
    "deepfill-v1-32": "deepfill-v1",
    "deepfill-v2-32": "deepfill-v2",
    "lama32": "lama",
}
"""Presets whose networks only one objective trains (their default, before the kind's)."""


def objective_class(name: str) -> type:
    """The class of objective ``name``; InpaintkitError listing the choices otherwise."""
    if name not in OBJECTIVES:
        raise InpaintkitError(f"unknown objective {name!r}; choose one of {tuple(OBJECTIVES)}")
    module, _, cls = OBJECTIVES[name].partition(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)


def objective_for_preset(preset) -> str:
    """The default objective name for ``preset``: its own (OBJECTIVE_FOR_PRESET), else its
    model kind's."""
    return OBJECTIVE_FOR_PRESET.get(preset.name) or OBJECTIVE_FOR_KIND[preset.kind]


def make_objective(config) -> Objective:
    """A fresh objective for a ``TrainConfig``: ``config.objective`` with its preset and
    ``config.objective_options``."""
    return objective_class(config.objective)(config.resolved_preset(), config.objective_options)


__all__ = [
    "OBJECTIVES",
    "OBJECTIVE_FOR_KIND",
    "Objective",
    "ObjectiveBase",
    "TrainedNetwork",
    "Updater",
    "make_objective",
    "objective_class",
    "objective_for_preset",
    "parse_objective_options",
]
