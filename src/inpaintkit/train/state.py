"""What a training checkpoint holds for the networks of a run, and how resume restores it.

An objective with ONE network (the DDPM priors) keeps today's flat layout: "model" (weights),
"ema" (``EMA.state_dict()``), "optimizer", "lr_scheduler". With several networks (a generator and
its discriminators) each of these is a dict keyed by network name and "networks" lists the names;
"ema" holds only the networks that keep one. "objective" holds the objective's own state when it
has any. See :mod:`inpaintkit.train.checkpoint` for the file itself.
"""

from __future__ import annotations

from pathlib import Path

from .checkpoint import (
    CHECKPOINT_FORMAT,
    atomic_torch_save,
    capture_rng_state,
    checkpoint_path,
    list_checkpoints,
    load_checkpoint,
)


def rank_rng_path(ckpt_dir: Path, rank: int, step: int) -> Path:
    """Where process ``rank`` (> 0) writes its RNG states at ``step``."""
    return Path(ckpt_dir) / f"rng-rank{rank}-{step:08d}.pt"


def load_rank_rng(ckpt_dir: Path, rank: int, step: int) -> dict | None:
    """The RNG states of process ``rank`` at ``step``, or None when it wrote none."""
    path = rank_rng_path(ckpt_dir, rank, step)
    if not path.exists():
        return None
    return load_checkpoint(path, required=("rng",))["rng"]


def network_states(nets) -> dict:
    """The "model", "ema", "optimizer", "lr_scheduler" (and "networks") entries of ``nets``
    (a ``train.loop.Networks``) in the layout of the module docstring."""
    names = nets.names
    per = {
        "model": {n: nets.unwrapped(n).state_dict() for n in names},
        "ema": {n: nets.emas[n].state_dict() for n in names if n in nets.emas},
        "optimizer": {n: nets.optimizers[n].state_dict() for n in names},
        "lr_scheduler": {n: nets.schedulers[n].state_dict() for n in names},
    }
    if len(names) == 1:
        (name,) = names
        return {key: value.get(name, {}) for key, value in per.items()}
    return {"networks": list(names), **per}


def split_states(state: dict, key: str, names: list[str]) -> dict:
    """``state[key]`` as name -> entry for either layout (flat for one network)."""
    if "networks" in state:
        return dict(state[key])
    return {names[0]: state[key]} if state[key] else {}


def restore_networks(nets, state: dict) -> None:
    """Load weights, EMAs, optimizers, LR schedulers and the grad scaler from ``state``."""
    names = nets.names
    for name, weights in split_states(state, "model", names).items():
        nets.unwrapped(name).load_state_dict(weights)
    for name, ema in split_states(state, "ema", names).items():
        nets.emas[name].load_state_dict(ema)
    for name, opt in split_states(state, "optimizer", names).items():
        nets.optimizers[name].load_state_dict(opt)
    for name, sched in split_states(state, "lr_scheduler", names).items():
        nets.schedulers[name].load_state_dict(sched)
    scaler = nets.accelerator.scaler
    if scaler is not None and state.get("scaler"):
        scaler.load_state_dict(state["scaler"])


def exported_weights(state: dict, names: list[str]) -> dict:
    """name -> the weights an export uses: the EMA's where the network keeps one, else the raw
    weights."""
    emas = split_states(state, "ema", names)
    raw = split_states(state, "model", names) if "model" in state else {}
    return {n: emas[n]["module"] if n in emas else raw[n] for n in names if n in emas or n in raw}


def save_checkpoint(
    nets,
    ckpt_dir: Path,
    step: int,
    *,
    generator,
    config: dict,
    objective_state: dict,
    num_items: int,
    global_batch: int,
    elapsed: float,
    keep: int,
) -> Path:
    """Write everything an exact resume needs; rank 0 writes the main file, other ranks their
    own RNG states. Older checkpoints beyond ``keep`` are deleted."""
    accelerator = nets.accelerator
    rank = accelerator.process_index
    rng = capture_rng_state(generator)
    path = checkpoint_path(ckpt_dir, step)
    if rank != 0:
        atomic_torch_save(
            {"format": CHECKPOINT_FORMAT, "rng": rng}, rank_rng_path(ckpt_dir, rank, step)
        )
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        consumed = step * global_batch
        state = {
            "format": CHECKPOINT_FORMAT,
            "step": step,
            **network_states(nets),
            "scaler": accelerator.scaler.state_dict() if accelerator.scaler is not None else {},
            "rng": rng,
            "sampler": {
                "consumed": consumed,
                "epoch": consumed // num_items,
                "offset": consumed % num_items,
                "num_items": num_items,
                "global_batch": global_batch,
            },
            "config": config,
            "elapsed_s": elapsed,
        }
        if objective_state:
            state["objective"] = objective_state
        atomic_torch_save(state, path)
        for old_step, old in list_checkpoints(ckpt_dir)[:-keep]:
            old.unlink(missing_ok=True)
            for extra in Path(ckpt_dir).glob(f"rng-rank*-{old_step:08d}.pt"):
                extra.unlink(missing_ok=True)
    accelerator.wait_for_everyone()
    return path
