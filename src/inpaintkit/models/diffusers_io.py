"""diffusers model folders (local or from the hub) to :class:`DiffusionModel`."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import InpaintkitError
from ..networks.registry import build_unet
from .model import DiffusionModel
from .spec import DiffusionConfig

# diffusers scheduler beta_schedule names -> ours
_BETA_SCHEDULES = {
    "linear": "linear",
    "scaled_linear": "scaled_linear",
    "squaredcos_cap_v2": "cosine",
}
WEIGHT_FILES = ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin")


def read_json(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise InpaintkitError(f"cannot read JSON {path}: {err}") from err


def diffusion_config_from_scheduler(
    folder: Path, unet_config: dict, *, learned_variance: bool | None = None
) -> DiffusionConfig:
    """The DiffusionConfig of a diffusers model folder.

    Reads ``scheduler_config.json`` in ``folder`` or ``folder/../scheduler`` (a pipeline's layout);
    without one, DDPM's defaults. ``learned_variance``: True/False as given; None (default) =
    inferred here, at the loading edge (diffusers files do not state it): learned when the
    scheduler says ``variance_type: learned*`` or the UNet has twice the input channels
    (Improved DDPM's layout). The returned config states it explicitly.
    """
    candidates = [
        folder / "scheduler_config.json",
        folder.parent / "scheduler" / "scheduler_config.json",
    ]
    scheduler = next((read_json(p) for p in candidates if p.exists()), {})
    schedule = scheduler.get("beta_schedule", "linear")
    if schedule not in _BETA_SCHEDULES:
        raise InpaintkitError(
            f"{folder}: unsupported beta_schedule {schedule!r}; "
            f"supported: {sorted(_BETA_SCHEDULES)}"
        )
    if learned_variance is None:
        learned = unet_config.get("out_channels", 3) == 2 * unet_config.get("in_channels", 3)
        learned = learned or str(scheduler.get("variance_type", "")).startswith("learned")
    else:
        learned = bool(learned_variance)
    explicit_ends = schedule != "squaredcos_cap_v2"
    return DiffusionConfig(
        num_train_timesteps=int(scheduler.get("num_train_timesteps", 1000)),
        beta_schedule=_BETA_SCHEDULES[schedule],
        beta_start=float(scheduler.get("beta_start", 1e-4)) if explicit_ends else None,
        beta_end=float(scheduler.get("beta_end", 0.02)) if explicit_ends else None,
        prediction=scheduler.get("prediction_type", "epsilon"),
        learned_variance=learned,
    )


def unet_folder(folder: Path) -> Path:
    """The folder holding the UNet's config.json: the folder itself or its ``unet/``."""
    if (folder / "unet" / "config.json").exists():
        return folder / "unet"
    if (folder / "config.json").exists():
        return folder
    raise InpaintkitError(
        f"{folder} is not a diffusers model folder: expected config.json (a UNet2DModel) or "
        "unet/config.json (a pipeline)"
    )


def load_diffusers_folder(
    folder: str | Path, *, source: str | None = None, learned_variance: bool | None = None
) -> DiffusionModel:
    """Load a UNet2DModel from a diffusers folder (a UNet's or a whole pipeline's) as a prior.

    learned_variance: None = inferred (see :func:`diffusion_config_from_scheduler`).
    """
    folder = unet_folder(Path(folder))
    config = read_json(folder / "config.json")
    if config.get("_class_name", "UNet2DModel") != "UNet2DModel":
        raise InpaintkitError(
            f"{folder}: inpaintkit samples with unconditional pixel-space UNet2DModel networks; "
            f"this folder holds a {config['_class_name']}"
        )
    weights = next((folder / name for name in WEIGHT_FILES if (folder / name).exists()), None)
    if weights is None:
        raise InpaintkitError(f"{folder}: no weights file (expected one of {WEIGHT_FILES})")
    if weights.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(weights))
    else:
        import torch

        state = torch.load(weights, map_location="cpu", weights_only=True)
    unet = build_unet(config, state, source=str(weights))
    name = source or str(folder)
    diffusion = diffusion_config_from_scheduler(folder, config, learned_variance=learned_variance)
    return DiffusionModel(unet, diffusion, source=name)


def download_hub_model(repo_id: str, revision: str | None = None) -> Path:
    """Fetch a diffusers model from the Hugging Face hub (only when the user named a hub id)."""
    from huggingface_hub import snapshot_download

    patterns = ["*.json", "*.safetensors", "unet/*", "scheduler/*"]
    try:
        return Path(snapshot_download(repo_id, revision=revision, allow_patterns=patterns))
    except Exception as err:  # offline, unknown repo, auth: all end the same way for the user
        raise InpaintkitError(
            f"could not fetch {repo_id!r} from the Hugging Face hub ({type(err).__name__}: {err}). "
            f"On a machine with internet run `huggingface-cli download {repo_id} --local-dir "
            f"DIR` (or `git clone https://huggingface.co/{repo_id} DIR`), copy DIR here and pass "
            "--model DIR."
        ) from err
