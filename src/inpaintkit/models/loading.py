"""``load_model(spec)``: one entry point for every kind of checkpoint inpaintkit reads."""

from __future__ import annotations

import re
from pathlib import Path

import torch

from ..errors import InpaintkitError
from .diffusers_io import download_hub_model, load_diffusers_folder
from .model import DiffusionModel
from .store import load_safetensors

WEIGHTS_DIR = Path(__file__).parent / "weights"
# Shipped models, best first: "default" is the first one present.
EMBEDDED = ("emoji32", "emoji32-placeholder")
_HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")


def embedded_models() -> list[str]:
    """Names of the models shipped inside the package, best first."""
    return [name for name in EMBEDDED if (WEIGHTS_DIR / f"{name}.safetensors").exists()]


def load_model(
    spec: str | Path = "default", *, device: str | torch.device = "cpu", **options: object
) -> DiffusionModel:
    """Load a diffusion model for inpainting.

    spec:
      - "default" (the best embedded model) or an embedded model's name (see embedded_models());
      - a local diffusers folder (a UNet2DModel's, or a pipeline's with unet/ and scheduler/);
      - a .safetensors file (inpaintkit's own, or diffusers weights with config.json beside it);
      - a guided-diffusion .pt/.pth checkpoint (the RePaint paper's and OpenAI's), read with
        ``torch.load(weights_only=True)``; ``options`` go to the converter (image_size,
        num_head_channels, num_heads);
      - a Hugging Face hub id "owner/name" (downloaded; a clear error offline).
    device: where the network runs. Returns the model in eval mode, float32.
    """
    model = _load(str(spec), options)
    return model.to(device)


def _load(spec: str, options: dict) -> DiffusionModel:
    if spec == "default" or spec in EMBEDDED:
        available = embedded_models()
        name = available[0] if spec == "default" and available else spec
        path = WEIGHTS_DIR / f"{name}.safetensors"
        if not path.exists():
            raise InpaintkitError(
                f"embedded model {name!r} is not installed; available: {available or 'none'}"
            )
        model = load_safetensors(path)
        model.source = f"embedded:{name}"
        return model
    path = Path(spec).expanduser()
    if path.is_dir():
        return load_diffusers_folder(path)
    if path.is_file():
        if path.suffix == ".safetensors":
            return load_safetensors(path)
        if path.suffix in (".pt", ".pth", ".ckpt", ".bin"):
            from .guided import load_guided_checkpoint

            return load_guided_checkpoint(path, **options)
        raise InpaintkitError(
            f"{path}: unknown checkpoint type {path.suffix!r}; expected a .safetensors file, a "
            "guided-diffusion .pt file or a diffusers folder"
        )
    if _HUB_ID.match(spec) and not spec.startswith("."):
        return load_diffusers_folder(download_hub_model(spec), source=spec)
    raise InpaintkitError(
        f"no model {spec!r}: not an embedded model ({', '.join(EMBEDDED)}), not an existing file "
        "or folder, and not a hub id (owner/name)"
    )
