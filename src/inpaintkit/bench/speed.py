"""Helpers the speed scripts under the top-level ``bench/`` folder share (speed_repaint.py,
speed_fast.py, speed_knobs.py): a model from a spec or a preset, the same network without its
variance channels, a wall-clock timer and facts about the machine."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import torch

from ..models import DiffusionConfig, DiffusionModel, load_model

PRESET_PREFIX = "preset:"
#: CPU flags worth reporting next to a speed figure (bf16 / fp16 / AMX support).
CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "avx512_fp16", "amx_bf16", "amx_tile")


def load_speed_model(spec: str, seed: int = 0) -> DiffusionModel:
    """A :func:`~inpaintkit.models.load_model` spec, or "preset:NAME": that training preset's
    network with seeded random weights (``seed``, default 0; speed does not depend on the
    weights), on the CPU, in eval mode without gradients. The global torch RNG is left as it was.
    Raises InpaintkitError for an unknown preset (listing the choices) or an unloadable spec."""
    if not spec.startswith(PRESET_PREFIX):
        return load_model(spec)
    from ..networks.presets import get_preset

    preset = get_preset(spec.removeprefix(PRESET_PREFIX))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        unet = preset.build_unet().eval().requires_grad_(False)
    return DiffusionModel(unet, DiffusionConfig(**preset.process_config()), source=spec)


def eps_only(model: DiffusionModel) -> DiffusionModel:
    """The same network without its variance channels (diffusers' RePaintPipeline takes C output
    channels), so ours and diffusers' samplers run one identical network with fixed-small
    variance. A fixed-variance model is returned as it is; otherwise a NEW model whose conv_out
    keeps the first C output channels (eps) of ``model``'s weights (``model`` is not changed)."""
    if not model.config.learned_variance:
        return model
    from diffusers import UNet2DModel

    config = {**model.unet.config, "out_channels": model.channels}
    unet = UNet2DModel.from_config(config)
    state = dict(model.unet.state_dict())
    state["conv_out.weight"] = state["conv_out.weight"][: model.channels]
    state["conv_out.bias"] = state["conv_out.bias"][: model.channels]
    unet.load_state_dict(state)
    unet = unet.to(model.device).eval().requires_grad_(False)
    return DiffusionModel(unet, replace(model.config, learned_variance=False), model.source)


def time_call(fn: Callable[[], object]) -> float:
    """Wall-clock seconds of one call ``fn()`` (time.perf_counter)."""
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def cpu_flags(cpuinfo: str = "/proc/cpuinfo") -> list[str]:
    """The :data:`CPU_FLAGS` this machine's CPU has, in that order; [] when ``cpuinfo`` cannot be
    read (not Linux) or has no "flags" line."""
    try:
        with open(cpuinfo) as f:
            flags = next(line for line in f if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return []
    return [flag for flag in CPU_FLAGS if flag in flags]


def set_compile_threads(threads: int) -> None:
    """Inductor's parallel compile workers: as many as the torch threads (not one per core).
    Does nothing on a torch without inductor (compile variants then fail loudly)."""
    try:
        import torch._inductor.config as inductor_config

        inductor_config.compile_threads = threads
    except ImportError:
        pass
