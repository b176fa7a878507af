"""Export a run's trained networks as one model file, and the CLI's training entry point."""

from __future__ import annotations

from pathlib import Path

import torch

from ..errors import InpaintkitError
from .checkpoint import latest_checkpoint, load_checkpoint
from .config import TrainConfig
from .objectives import make_objective
from .runfolder import read_run_info
from .state import exported_weights


def load_run_config(run_dir: Path) -> TrainConfig:
    """The TrainConfig of a run folder, from ``ckpt/config.json``."""
    return TrainConfig.from_dict(read_run_info(run_dir)["train"])


def checkpoint_model(checkpoint: Path, *, source: str = "", card: str = ""):
    """The loaded model (of the objective's kind) of a training checkpoint: its EMA weights
    (raw weights for networks without an EMA) in float32 eval-mode networks. source: default
    ``train:<run folder>@<step>``."""
    checkpoint = Path(checkpoint)
    state = load_checkpoint(checkpoint, required=("format", "ema", "config", "step"))
    objective = make_objective(TrainConfig.from_dict(state["config"]))
    with torch.random.fork_rng(devices=[]):  # initial weights are overwritten; keep RNG as is
        specs = objective.build_networks()
    weights = exported_weights(state, list(specs))
    networks = {}
    for name, spec in specs.items():
        if name not in weights:
            continue  # e.g. a discriminator: trained, never exported
        try:
            spec.module.load_state_dict({k: v.float() for k, v in weights[name].items()})
        except RuntimeError as err:
            raise InpaintkitError(f"{checkpoint}: weights of {name!r} do not fit: {err}") from err
        networks[name] = spec.module.float().eval().requires_grad_(False)
    source = source or f"train:{checkpoint.parent.parent.name}@{state['step']}"
    return objective.to_model(networks, source=source, card=card)


def export_model(run_dir: Path, path: Path, card: str = "", checkpoint: Path | None = None) -> Path:
    """Write the EMA weights of a run as one model file (``inpaintkit.models.save_model``:
    fp16, configs + card), for every objective.

    run_dir: the ``out_dir`` of :func:`inpaintkit.train.loop.train`. checkpoint: which one
    (default: the newest). Returns ``path``.
    """
    from ..models import save_model

    run_dir = Path(run_dir)
    checkpoint = checkpoint or latest_checkpoint(run_dir / "ckpt")
    if checkpoint is None:
        raise InpaintkitError(f"{run_dir / 'ckpt'} holds no checkpoint to export")
    model = checkpoint_model(checkpoint, card=card)
    return save_model(model, path)


def run_training(
    data: str,
    preset: str = "emoji32-tiny",
    steps: int = 10_000,
    out: Path = Path("runs/ddpm"),
    resume: bool = False,
    batch_size: int | None = None,
    lr: float | None = None,
    *,
    objective: str | None = None,
    num_threads: int | None = None,
    cache_dir: Path | None = None,
    objective_options: dict | None = None,
    **overrides,
) -> Path:
    """The CLI's entry point: ``inpaintkit train DATA --preset P --steps N --out DIR [--resume]``.

    data: "emoji", "emoji:twitter", "emoji:<style>:<split>", "fashion-mnist" or an image folder.
    objective: "ddpm-prior" | "conditional-ddpm" | "adversarial"; default: the one for the
    preset's model kind. batch_size / lr: override TrainConfig's defaults when given.
    num_threads: torch CPU threads. objective_options: the objective's own knobs.
    overrides: any other TrainConfig field (warmup_steps, mixed_precision, seed...).
    Returns the last checkpoint; export with :func:`export_model`.
    """
    from ..data.specs import make_dataset
    from .loop import train
    from .objectives import objective_for_preset

    if num_threads:
        torch.set_num_threads(num_threads)
    fields_ = {"preset": preset, "steps": steps, **overrides}
    if batch_size is not None:
        fields_["batch_size"] = batch_size
    if lr is not None:
        fields_["lr"] = lr
    config = TrainConfig(**fields_)
    config.objective = objective or objective_for_preset(config.resolved_preset())
    config.objective_options = dict(objective_options or {})
    make_objective(config)  # option errors before any data is loaded
    dataset = make_dataset(
        data, config.resolved_preset().resolution, cache_dir=cache_dir, seed=config.seed
    )
    return train(config, dataset, Path(out), resume=resume, data_description=data)
