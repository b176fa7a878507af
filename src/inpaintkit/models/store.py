"""inpaintkit's own checkpoint file: one .safetensors holding the UNet weights, its diffusers
config, the diffusion config and the model card in the header metadata. No pickle anywhere."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import torch
from diffusers import UNet2DModel
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from ..errors import InpaintkitError
from .model import DiffusionModel
from .spec import DiffusionConfig

FORMAT = "inpaintkit-1"


def save_model(
    model: DiffusionModel, path: str | Path, *, dtype: torch.dtype = torch.float16
) -> Path:
    """Write ``model`` to ``path`` (.safetensors) atomically; weights stored as ``dtype``.

    fp16 halves the file; :func:`load_safetensors` casts back to float32.
    """
    path = Path(path)
    tensors = {
        k: v.detach().to("cpu", dtype).contiguous() for k, v in model.unet.state_dict().items()
    }
    metadata = {
        "format": FORMAT,
        "unet_config": json.dumps(_plain_config(model.unet)),
        "diffusion": model.config.to_json(),
        "card": model.card,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=metadata)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files; weights are shipped and shared
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _plain_config(unet: UNet2DModel) -> dict:
    return {k: v for k, v in dict(unet.config).items() if not k.startswith("_")}


def load_safetensors(path: str | Path, *, unet_config: dict | None = None) -> DiffusionModel:
    """Load a .safetensors checkpoint.

    An inpaintkit file carries its configs in its metadata. A bare diffusers weights file
    (``diffusion_pytorch_model.safetensors``) needs the UNet config: ``unet_config`` or a
    ``config.json`` beside the file; its diffusion config is then read from a
    ``scheduler_config.json`` beside it, else DDPM's defaults (linear, T=1000, epsilon).
    """
    path = Path(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            state = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as err:
        raise InpaintkitError(f"{path} is not a readable .safetensors file: {err}") from err
    if metadata.get("format") == FORMAT:
        unet_config = json.loads(metadata["unet_config"])
        config = DiffusionConfig.from_json(metadata["diffusion"])
        card = metadata.get("card", "")
    else:
        from .diffusers_io import diffusion_config_from_scheduler, read_json

        if unet_config is None:
            config_file = path.parent / "config.json"
            if not config_file.exists():
                raise InpaintkitError(
                    f"{path} has no inpaintkit metadata and no config.json beside it; "
                    "pass the whole diffusers model folder instead of the weights file"
                )
            unet_config = read_json(config_file)
        config = diffusion_config_from_scheduler(path.parent, unet_config)
        card = ""
    unet = build_unet(unet_config, state, source=str(path))
    return DiffusionModel(unet=unet, config=config, source=str(path), card=card)


def build_unet(unet_config: dict, state: dict[str, torch.Tensor], *, source: str) -> UNet2DModel:
    """A float32 eval-mode UNet2DModel from a config and a state dict; clear error on mismatch."""
    config = {k: v for k, v in unet_config.items() if not k.startswith("_")}
    try:
        unet = UNet2DModel.from_config(config)
    except (TypeError, ValueError) as err:
        raise InpaintkitError(f"{source}: invalid UNet2DModel config: {err}") from err
    state = {k: v.float() for k, v in state.items()}
    missing, unexpected = unet.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise InpaintkitError(
            f"{source}: weights do not match the UNet config "
            f"(missing {len(missing)}: {missing[:3]}, "
            f"unexpected {len(unexpected)}: {unexpected[:3]})"
        )
    return unet.eval().requires_grad_(False)
