"""Load OpenAI guided-diffusion UNet checkpoints (RePaint's released models) as priors.

The file is read weights-only; the state dict is converted to a diffusers ``UNet2DModel`` by
:mod:`.guided_convert`, which reads the architecture from the weights (channel widths,
channel_mult, num_res_blocks, attention levels, learn_sigma, class count, resblock_updown,
use_scale_shift_norm). What weights cannot tell comes from options (CLI: ``--model-option
KEY=VALUE``): image_size, num_head_channels or num_heads, use_new_attention_order, and the
process's noise_schedule; a missing image size or head width is a clear error, except for the
released RePaint / OpenAI 256x256 layout (num_channels 256, channel_mult (1,1,2,2,4,4),
attention at 32,16,8), which pins image_size 256 and 64-channel heads.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import torch

from ..errors import InpaintkitError
from ..networks.registry import build_unet
from .guided_convert import RELEASED_256, convert_guided_state_dict

__all__ = ["RELEASED_256", "convert_guided_state_dict", "load_guided_checkpoint"]
from .model import DiffusionModel
from .spec import DiffusionConfig

WRAPPER_KEYS = ("state_dict", "model", "ema")


def load_guided_checkpoint(
    path: str | Path,
    *,
    image_size: int | None = None,
    num_head_channels: int | None = None,
    num_heads: int | None = None,
    use_new_attention_order: bool = False,
    noise_schedule: str = "linear",
    learned_variance: bool | None = None,
) -> DiffusionModel:
    """Load a guided-diffusion UNet ``.pt`` checkpoint (weights only) as a prior.

    image_size, num_head_channels / num_heads, use_new_attention_order: the training flags of
    the same names, which weights do not record; image_size and the head width must be given
    unless the weights have the released 256x256 layout (:data:`RELEASED_256`), which pins 256
    and 64-channel heads; otherwise InpaintkitError lists what to give (see
    :func:`~.guided_convert.convert_guided_state_dict`).
    The diffusion config is guided-diffusion's: T=1000, ``noise_schedule`` "linear" [default]
    or "cosine", epsilon prediction; learned_variance: None = inferred here from the weights
    (learn_sigma: the network outputs twice the input channels), True/False overrides it.
    """
    source = str(path)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        # keep torch's one-line reason, drop its advice to load with weights_only=False
        reason = " ".join(str(err).split()).split("WeightsUnpickler error:")[-1]
        reason = reason.split(" Please use")[0].split(" Check the documentation")[0].strip()
        if "Unsupported global" in reason:
            raise InpaintkitError(
                f"{source} needs unsafe unpickling: it stores Python objects, not just tensors "
                f"({reason}). Only weights-only checkpoints are loaded; if you trust the file, "
                "re-save its state dict: torch.save(torch.load(p, weights_only=False)"
                ".state_dict(), 'weights.pt')"
            ) from err
        raise InpaintkitError(
            f"{source} is not a weights-only PyTorch checkpoint ({reason}): the file is corrupt, "
            "not a torch.save file, or a pickle that needs unsafe loading; re-save the model "
            "with torch.save(model.state_dict(), path)"
        ) from err
    except (RuntimeError, OSError, EOFError, ValueError) as err:
        raise InpaintkitError(f"{source} is not a readable PyTorch checkpoint: {err}") from err

    state = obj
    if isinstance(obj, dict) and "input_blocks.0.0.weight" not in obj:
        for key in WRAPPER_KEYS:
            if isinstance(obj.get(key), dict):
                state = obj[key]
                break
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise InpaintkitError(
            f"{source} does not hold a state dict of tensors (got {type(state).__name__}); "
            "expected a guided-diffusion UNet state dict, optionally under "
            f"one of the keys {WRAPPER_KEYS}"
        )
    # checkpoints saved from DistributedDataParallel prefix every key with "module."
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module.") :]: v for k, v in state.items()}

    try:
        config, converted = convert_guided_state_dict(
            state,
            image_size=image_size,
            num_head_channels=num_head_channels,
            num_heads=num_heads,
            use_new_attention_order=use_new_attention_order,
        )
    except InpaintkitError as err:
        raise InpaintkitError(f"{source}: {err}") from err
    unet = build_unet(config, converted, source=source)
    if learned_variance is None:  # inferred here, at the loading edge (learn_sigma)
        learned_variance = config["out_channels"] == 2 * config["in_channels"]
    if noise_schedule not in ("linear", "cosine"):
        raise InpaintkitError(
            f"unknown noise_schedule {noise_schedule!r}; guided-diffusion's are linear, cosine"
        )
    diffusion = DiffusionConfig(
        num_train_timesteps=1000,
        beta_schedule=noise_schedule,
        prediction="epsilon",
        learned_variance=bool(learned_variance),
    )
    return DiffusionModel(unet, diffusion, source=source)
