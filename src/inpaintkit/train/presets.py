"""Compatibility: the network presets moved to :mod:`inpaintkit.networks.presets`."""

from ..networks.presets import (
    PRESETS,
    ConditionalPreset,
    GeneratorPreset,
    Preset,
    get_preset,
    preset_from_dict,
)

__all__ = [
    "PRESETS",
    "ConditionalPreset",
    "GeneratorPreset",
    "Preset",
    "get_preset",
    "preset_from_dict",
]
