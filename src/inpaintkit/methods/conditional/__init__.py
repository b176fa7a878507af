"""Methods on a conditional inpainting diffusion model (model kind "conditional-diffusion")."""

from __future__ import annotations

from .ddpm import InpaintDDPM, InpaintDDPMOptions

__all__ = ["InpaintDDPM", "InpaintDDPMOptions"]
