"""The one training loop: accelerate, EMA, exact resume after kill -9, a progress bar, preview
grids, a CSV log; it drives an :class:`~inpaintkit.train.objectives.base.Objective`.

One CPU, one GPU, or several via ``accelerate launch``. Every network of the objective gets its
own AdamW (linear warm-up then cosine decay, grad-norm clipping) and, if it asks, an EMA of its
weights with warm-up; bf16/fp16 autocast through accelerate. Run folder layout: see
:mod:`inpaintkit.train.runfolder`.

Exact resume: the data order is a pure function of (seed, epoch) and the position is the step
times the batch (``train.stream``); noise and timesteps come from a torch.Generator whose state
is checkpointed; the global torch / numpy / python RNG states (dropout uses torch's) are saved and
restored. On a CPU a resumed run ends bitwise identical to an uninterrupted one.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from ..errors import InpaintkitError
from .checkpoint import latest_checkpoint, load_checkpoint, restore_rng_state
from .config import TrainConfig, config_changes, lr_factor
from .ema import EMA
from .init import init_from_model
from .objectives import Objective, make_objective
from .previews import save_grid
from .runfolder import CsvLog, log_columns, write_json
from .state import load_rank_rng, restore_networks, save_checkpoint
from .stream import EpochStream, StepBatches, fixed_batch


def make_accelerator(mixed_precision: str):
    """An accelerate.Accelerator; in a plain (non-launched) process a previous Accelerator's
    state is reset so that tests can switch precision."""
    try:
        from accelerate import Accelerator
        from accelerate.state import AcceleratorState
    except ImportError as err:
        raise InpaintkitError("training needs accelerate: pip install 'inpaintkit[train]'") from err
    if mixed_precision == "fp16" and not torch.cuda.is_available():
        raise InpaintkitError("mixed_precision 'fp16' needs a CUDA GPU; use 'bf16' on a CPU")
    if "WORLD_SIZE" not in os.environ and AcceleratorState._shared_state:
        AcceleratorState._reset_state(reset_partial_state=True)
    return Accelerator(mixed_precision=mixed_precision)


class Networks:
    """The trained networks of a run and their optimizers, LR schedulers and EMAs; it is the
    :class:`~inpaintkit.train.objectives.base.Updater` the objective steps through."""

    def __init__(self, accelerator, specs: dict, config: TrainConfig) -> None:
        self.accelerator = accelerator
        self.device = accelerator.device
        self.grad_clip = config.grad_clip
        self.names = list(specs)
        self.emas = {n: EMA(s.module, config.ema_decay) for n, s in specs.items() if s.ema}
        optimizers = {
            name: torch.optim.AdamW(
                spec.module.parameters(),
                lr=spec.lr if spec.lr is not None else config.lr,
                betas=tuple(spec.betas) if spec.betas is not None else config.adam_betas,
                weight_decay=(
                    spec.weight_decay if spec.weight_decay is not None else config.weight_decay
                ),
            )
            for name, spec in specs.items()
        }
        self.schedulers = {
            name: torch.optim.lr_scheduler.LambdaLR(
                optimizer,
                lambda s: lr_factor(
                    s, config.warmup_steps, config.steps, config.lr_decay, config.min_lr_ratio
                ),
            )
            for name, optimizer in optimizers.items()
        }
        pairs = [x for name in self.names for x in (specs[name].module, optimizers[name])]
        prepared = accelerator.prepare(*pairs)
        prepared = prepared if isinstance(prepared, (list, tuple)) else [prepared]
        self.modules = dict(zip(self.names, prepared[0::2], strict=True))
        self.optimizers = dict(zip(self.names, prepared[1::2], strict=True))
        for ema in self.emas.values():
            ema.module.to(accelerator.device)
        self.last_lr = {name: opt.param_groups[0]["lr"] for name, opt in self.optimizers.items()}

    def module(self, name: str) -> nn.Module:
        return self.modules[name]

    def unwrapped(self, name: str) -> nn.Module:
        return self.accelerator.unwrap_model(self.modules[name])

    def backward(self, loss: torch.Tensor) -> None:
        self.accelerator.backward(loss)

    def update(self, name: str, loss: torch.Tensor | None = None) -> None:
        """Backward ``loss`` (if given; gradients left on ``name`` by earlier backward passes,
        e.g. a discriminator's from the generator's loss, are dropped first), clip, step the
        optimizer and LR schedule of ``name``, zero its gradients, update its EMA."""
        if loss is not None:
            self.optimizers[name].zero_grad(set_to_none=True)
            self.accelerator.backward(loss)
        if self.grad_clip > 0:
            self.accelerator.clip_grad_norm_(self.modules[name].parameters(), self.grad_clip)
        optimizer = self.optimizers[name]
        self.last_lr[name] = optimizer.param_groups[0]["lr"]
        optimizer.step()
        self.schedulers[name].step()
        optimizer.zero_grad(set_to_none=True)
        if name in self.emas:
            self.emas[name].update(self.unwrapped(name))

    def averaged(self) -> dict[str, nn.Module]:
        """name -> EMA copy (the raw unwrapped network where no EMA is kept)."""
        return {n: self.emas[n].module if n in self.emas else self.unwrapped(n) for n in self.names}

    def train(self) -> None:
        for module in self.modules.values():
            module.train()


def train(
    config: TrainConfig,
    data: Dataset,
    out_dir: Path,
    resume: bool = False,
    *,
    objective: Objective | None = None,
    data_description: str = "",
) -> Path:
    """Train ``config.objective`` (or ``objective``) on ``data``; returns the last checkpoint.

    data: items are float32 [C, R, R] tensors in [-1, 1] (R = the preset's resolution) or dicts
    {"image": ..., "hole": [1, R, R] 1 = hole, <extra inputs>}; objectives that need holes add
    them when missing (``objective_options["holes"]``). out_dir: the run folder
    (:mod:`inpaintkit.train.runfolder`). resume: continue from the newest checkpoint in
    ``out_dir/ckpt`` (a fresh start when there is none); without it, a folder that already holds
    checkpoints is an error. The configuration must match the checkpoint's except for the fields
    in ``RESUMABLE_CHANGES`` (``steps`` may grow; the cosine decay then stretches).
    objective: an objective instance (default: ``make_objective(config)``); pass a fresh one per
    call. data_description: recorded in ``ckpt/config.json`` (e.g. "emoji:google train 32px").
    """
    objective = objective if objective is not None else make_objective(config)
    out_dir = Path(out_dir)
    ckpt_dir = out_dir / "ckpt"
    existing = latest_checkpoint(ckpt_dir)
    if existing is not None and not resume:
        raise InpaintkitError(
            f"{out_dir} already holds training checkpoints; pass resume=True to continue "
            "or choose a new output folder"
        )
    data = objective.wrap_data(data, config.seed)
    accelerator = make_accelerator(config.mixed_precision)
    world, rank = accelerator.num_processes, accelerator.process_index
    if config.batch_size % world:
        raise InpaintkitError(
            f"batch_size {config.batch_size} must be divisible by the {world} processes"
        )
    resolved = config.to_dict()
    state = load_checkpoint(existing) if existing is not None else None
    if state is not None:
        changed = config_changes(state["config"], resolved)
        if changed:
            raise InpaintkitError(
                f"cannot resume {existing}: the configuration differs in {changed}; "
                "use the original settings or a new output folder"
            )
        if state["sampler"]["num_items"] != len(data):
            raise InpaintkitError(
                f"cannot resume {existing}: it was trained on {state['sampler']['num_items']} "
                f"images, the data now has {len(data)}"
            )

    # Deliberate global seeding: diffusers initialises weights from torch's global RNG (same
    # seed on every process), and dropout draws from it (one stream per process); the global
    # states are checkpointed and restored for exact resume.
    torch.manual_seed(config.seed)
    specs = objective.build_networks()
    if config.init_from and state is None:
        init_from_model(specs, config.init_from)
    torch.manual_seed(config.seed + 1_000_003 * rank)
    nets = Networks(accelerator, specs, config)
    objective.bind(nets)
    generator = torch.Generator(device=accelerator.device).manual_seed(
        config.seed * 7919 + 104729 * (rank + 1)
    )
    start_step, elapsed = 0, 0.0
    if state is not None:
        restore_networks(nets, state)
        objective.load_state_dict(state.get("objective", {}))
        start_step, elapsed = int(state["step"]), float(state.get("elapsed_s", 0.0))
        rng = state["rng"] if rank == 0 else load_rank_rng(ckpt_dir, rank, start_step)
        if rng is not None:
            restore_rng_state(rng, generator)
    del state

    loader = DataLoader(
        EpochStream(data, config.seed),
        batch_sampler=StepBatches(start_step, config.batch_size, rank, world),
        num_workers=config.num_workers,
        generator=torch.Generator().manual_seed(config.seed),  # keeps global RNG untouched
        pin_memory=accelerator.device.type == "cuda",
    )
    batches = iter(loader)

    main = accelerator.is_main_process
    preview_batch = None
    if main and config.sample_every and getattr(objective, "preview_needs_data", True):
        preview_batch = {
            k: v.to(accelerator.device) for k, v in fixed_batch(data, config.num_samples).items()
        }
    if main:
        info = {
            "train": resolved,
            "data": data_description or type(data).__name__,
            "num_images": len(data),
            "num_parameters": sum(
                p.numel() for spec in specs.values() for p in spec.module.parameters()
            ),
            "num_processes": world,
            "device": str(accelerator.device),
            "torch": torch.__version__,
            "diffusers": _version("diffusers"),
            "accelerate": _version("accelerate"),
        }
        write_json(ckpt_dir / "config.json", info)
    loss_names = tuple(objective.loss_names)
    log = CsvLog(out_dir / "log.csv", start_step, log_columns(loss_names)) if main else None
    nets.train()
    bar = tqdm(
        total=config.steps,
        initial=start_step,
        disable=not (main and config.progress),
        desc="train",
        unit="step",
        dynamic_ncols=True,
        mininterval=0.1 if sys.stderr.isatty() else 60.0,  # a log file gets a line a minute
    )
    window = {name: torch.zeros((), device=accelerator.device) for name in loss_names}
    window_steps, window_time = 0, 0.0
    last_path = existing if start_step >= config.steps else None
    main_net = nets.names[0]
    for step in range(start_step, config.steps):
        tic = time.perf_counter()
        batch = {k: v.to(accelerator.device, non_blocking=True) for k, v in next(batches).items()}
        losses = objective.step(batch, generator)
        for name in loss_names:
            window[name] += losses[name]
        window_steps += 1
        duration = time.perf_counter() - tic
        window_time += duration
        elapsed += duration
        done = step + 1
        bar.update(1)
        last = done == config.steps

        if done % config.log_every == 0 or last:
            means = {
                name: accelerator.reduce(total, "mean").item() / window_steps
                for name, total in window.items()
            }
            lr = nets.last_lr[main_net]
            if main:
                row = {
                    "step": done,
                    **{name: f"{value:.6f}" for name, value in means.items()},
                    "lr": f"{lr:.6g}",
                    "images_per_s": f"{window_steps * config.batch_size / window_time:.2f}",
                    "elapsed_s": f"{elapsed:.1f}",
                }
                log.append(row)
                bar.set_postfix({**{k: f"{v:.4f}" for k, v in means.items()}, "lr": f"{lr:.2e}"})
            for total in window.values():
                total.zero_()
            window_steps, window_time = 0, 0.0
        if done % config.checkpoint_every == 0 or last:
            last_path = save_checkpoint(
                nets,
                ckpt_dir,
                done,
                generator=generator,
                config=resolved,
                objective_state=objective.state_dict(),
                num_items=len(data),
                global_batch=config.batch_size,
                elapsed=elapsed,
                keep=config.keep_checkpoints,
            )
        if main and config.sample_every and (done % config.sample_every == 0 or last):
            images = objective.preview(
                nets.averaged(),
                preview_batch,
                num_samples=config.num_samples,
                num_steps=config.sample_steps,
                seed=config.seed,
            )
            save_grid(images, out_dir / "samples" / f"step-{done:08d}.png")
            nets.train()
    bar.close()
    accelerator.wait_for_everyone()
    if last_path is None:
        last_path = latest_checkpoint(ckpt_dir)
    return Path(last_path)


def _version(name: str) -> str:
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:  # pragma: no cover
        return "unknown"
