"""A DDPM trainer on accelerate: one CPU, one GPU, or several via ``accelerate launch``.

Training objective: Ho et al. 2020, Algorithm 1 -- draw x_0 from the data, t ~ U{0..T-1},
eps ~ N(0, I), x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps (eq. 4), and minimise
L_simple = ||eps - eps_theta(x_t, t)||^2 (eq. 14). AdamW, linear warm-up then cosine decay,
grad-norm clipping, an EMA of the weights with warm-up, and bf16/fp16 autocast through accelerate.

Run folder layout (``out_dir``)::

    ckpt/ckpt-<step>.pt   model, EMA, optimizer, LR scheduler, step, RNG states, data position
    ckpt/config.json      the resolved configuration (preset included), written at start
    log.csv               step, loss, lr, images_per_s, elapsed_s
    samples/step-<step>.png  unconditional samples of the EMA model (short DDPM sampler)

Exact resume: the data order is a pure function of (seed, epoch) and the position is the step
times the batch; noise and timesteps come from a torch.Generator whose state is checkpointed; the
global torch / numpy / python RNG states (dropout uses torch's) are saved and restored. On a CPU a
resumed run ends bitwise identical to an uninterrupted one (tests/test_train.py proves it).
"""

from __future__ import annotations

import csv
import json
import math
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset, Sampler
from tqdm.auto import tqdm

from ..diffusion.denoiser import Denoiser
from ..diffusion.noise import randn
from ..diffusion.process import GaussianDiffusion
from ..diffusion.samplers import sample_repaint
from ..diffusion.schedules import make_betas
from ..errors import InpaintkitError
from ..models.model import DiffusionModel
from ..models.store import build_unet, save_model
from .checkpoint import (
    CHECKPOINT_FORMAT,
    atomic_torch_save,
    capture_rng_state,
    checkpoint_path,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    restore_rng_state,
)
from .ema import EMA
from .losses import LossFn, epsilon_mse_loss, hybrid_loss
from .presets import Preset, get_preset

MIXED_PRECISION = ("no", "bf16", "fp16")
LR_DECAYS = ("cosine", "constant")
LOG_COLUMNS = ("step", "loss", "lr", "images_per_s", "elapsed_s")

#: TrainConfig fields that may differ between a run and its resumption
RESUMABLE_CHANGES = frozenset(
    {
        "steps",
        "checkpoint_every",
        "keep_checkpoints",
        "sample_every",
        "sample_steps",
        "num_samples",
        "log_every",
        "num_workers",
        "progress",
    }
)


@dataclass
class TrainConfig:
    """Everything that decides a training run besides the data.

    preset: a preset name (see ``inpaintkit.train.presets.PRESETS``) or a Preset.
    steps: total optimizer steps (default 10_000).
    batch_size: GLOBAL batch per step (default 64), split evenly over accelerate processes.
    lr: peak AdamW learning rate (default 2e-4). weight_decay: AdamW weight decay (default 0).
    warmup_steps: linear warm-up from lr / warmup_steps to lr (default 500).
    lr_decay: "cosine" (to ``min_lr_ratio * lr`` at ``steps``, default) or "constant".
    ema_decay: maximum EMA decay (default 0.999), with warm-up (see ``train.ema.ema_decay_at``).
    grad_clip: maximum global gradient norm (default 1.0; 0 disables).
    mixed_precision: "no" (default), "bf16" (autocast; works on CPU too) or "fp16" (CUDA only).
    seed: seeds the initial weights, the data order, the noise and dropout (default 0).
    checkpoint_every / sample_every / log_every: in steps (0 disables samples); the last step
        always writes a checkpoint, a log row and (unless sample_every is 0) samples.
    keep_checkpoints: how many of the newest checkpoints to keep (default 2).
    sample_steps: respaced steps of the sample-grid sampler (<= 50). num_samples: grid images.
    num_workers: DataLoader worker processes (default 0: load in the training process).
    progress: show a tqdm bar with ETA.
    """

    preset: str | Preset = "emoji32-tiny"
    steps: int = 10_000
    batch_size: int = 64
    lr: float = 2e-4
    warmup_steps: int = 500
    lr_decay: str = "cosine"
    min_lr_ratio: float = 0.0
    weight_decay: float = 0.0
    adam_betas: tuple[float, float] = (0.9, 0.999)
    ema_decay: float = 0.999
    grad_clip: float = 1.0
    mixed_precision: str = "no"
    seed: int = 0
    checkpoint_every: int = 1000
    keep_checkpoints: int = 2
    sample_every: int = 1000
    sample_steps: int = 50
    num_samples: int = 16
    log_every: int = 50
    num_workers: int = 0
    progress: bool = True

    def __post_init__(self) -> None:
        positive = ("steps", "batch_size", "checkpoint_every", "keep_checkpoints", "log_every")
        for name in positive:
            if getattr(self, name) < 1:
                raise InpaintkitError(f"TrainConfig.{name} must be >= 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise InpaintkitError(f"TrainConfig.lr must be > 0, got {self.lr}")
        if self.mixed_precision not in MIXED_PRECISION:
            raise InpaintkitError(
                f"unknown mixed_precision {self.mixed_precision!r}; choose one of {MIXED_PRECISION}"
            )
        if self.lr_decay not in LR_DECAYS:
            raise InpaintkitError(f"unknown lr_decay {self.lr_decay!r}; choose one of {LR_DECAYS}")
        if not 1 <= self.sample_steps <= 50:
            raise InpaintkitError(f"sample_steps must be in 1..50, got {self.sample_steps}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise InpaintkitError(f"ema_decay must be in [0, 1), got {self.ema_decay}")
        if self.sample_every < 0 or self.warmup_steps < 0 or self.num_workers < 0:
            raise InpaintkitError("sample_every, warmup_steps and num_workers must be >= 0")
        self.adam_betas = tuple(self.adam_betas)

    def resolved_preset(self) -> Preset:
        """The Preset object (looked up by name if a string)."""
        return self.preset if isinstance(self.preset, Preset) else get_preset(self.preset)

    def to_dict(self) -> dict:
        """JSON-able dict with the preset expanded in full."""
        data = asdict(replace(self, preset="-"))
        data["preset"] = self.resolved_preset().to_dict()
        data["adam_betas"] = list(self.adam_betas)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        data = dict(data)
        preset = data.pop("preset")
        preset = Preset.from_dict(preset) if isinstance(preset, dict) else preset
        return cls(preset=preset, **data)


# --------------------------------------------------------------------------- loss


def select_loss_fn(preset: Preset) -> LossFn:
    """The loss ``loss_fn(model_output, noise, x_start, x_t, t) -> scalar`` for ``preset``: DDPM's
    L_simple, or Improved DDPM's hybrid loss for learned-variance presets (train/losses.py)."""
    if preset.learned_variance:
        betas = make_betas(preset.beta_schedule, preset.num_train_timesteps)
        return hybrid_loss(GaussianDiffusion(betas))
    return epsilon_mse_loss


# --------------------------------------------------------------------------- schedule helpers


def lr_factor(
    step: int, warmup_steps: int, total_steps: int, decay: str, min_ratio: float
) -> float:
    """Multiplier of the peak LR for the optimizer step after ``step`` completed steps.

    Linear warm-up (step + 1) / warmup_steps for step < warmup_steps, then 1 ("constant") or a
    half cosine from 1 down to ``min_ratio`` at ``total_steps`` ("cosine").
    """
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if decay == "constant":
        return 1.0
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def q_sample(
    x_start: torch.Tensor,
    t: torch.Tensor,
    noise: torch.Tensor,
    sqrt_alphas_cumprod: torch.Tensor,
    sqrt_one_minus_alphas_cumprod: torch.Tensor,
) -> torch.Tensor:
    """x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps (DDPM eq. 4). x_start, noise: [B, C, H, W];
    t: [B] long; the two tables: float32 [T] on the same device."""
    shape = (-1,) + (1,) * (x_start.ndim - 1)
    return (
        sqrt_alphas_cumprod[t].view(shape) * x_start
        + sqrt_one_minus_alphas_cumprod[t].view(shape) * noise
    )


# --------------------------------------------------------------------------- sampling


@torch.no_grad()
def ddpm_sample(
    unet: torch.nn.Module,
    betas: np.ndarray,
    shape: tuple[int, int, int, int],
    *,
    num_steps: int = 50,
    learned_variance: bool = False,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Unconditional ancestral DDPM sampling on a respaced process (for training previews).

    unet: an epsilon network called as ``unet(x, t).sample`` with the ORIGINAL training timestep
    index. betas: float64 [T] training betas. shape: (B, C, H, W). num_steps: respaced steps,
    evenly spaced (default 50). learned_variance: the network outputs 2C channels.
    This is the project's RePaint sampler with nothing known and a plain descending walk
    (no jumps): DDPM Algorithm 2 on the respaced process, x0_hat clipped to [-1, 1], "fixed
    small" variance (learned range for learned-variance networks), no noise at the last step.
    Returns float32 [B, C, H, W] in [-1, 1].
    """
    device = torch.device(device) if device is not None else next(unet.parameters()).device
    diffusion = GaussianDiffusion.respaced(np.asarray(betas, dtype=np.float64), num_steps)
    denoiser = Denoiser(lambda x, t: unet(x, t).sample, learned_variance=learned_variance)
    x = randn(shape, generator, device=device)
    walk = list(range(diffusion.num_steps - 1, -1, -1)) + [-1]
    x = sample_repaint(
        denoiser,
        x,
        diffusion,
        keep=None,
        known=None,
        times=walk,
        generator=generator,
        progress=False,
    )
    return x.clamp(-1.0, 1.0)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """float [B, 3, H, W] in [-1, 1] -> uint8 [B, H, W, 3]."""
    scaled = ((images.detach().float().cpu() + 1.0) * 127.5).round().clamp(0, 255)
    return scaled.to(torch.uint8).permute(0, 2, 3, 1).numpy()


def image_grid(images: np.ndarray, nrow: int | None = None, pad: int = 2) -> np.ndarray:
    """Tile uint8 [N, H, W, 3] into a grid with ``nrow`` columns (default ceil(sqrt(N))) and a
    white ``pad``-pixel gap; returns uint8 [rows*(H+pad)+pad, nrow*(W+pad)+pad, 3]."""
    n, h, w, c = images.shape
    nrow = nrow or math.ceil(math.sqrt(n))
    rows = math.ceil(n / nrow)
    grid = np.full((rows * (h + pad) + pad, nrow * (w + pad) + pad, c), 255, dtype=np.uint8)
    for k in range(n):
        r, col = divmod(k, nrow)
        top, left = pad + r * (h + pad), pad + col * (w + pad)
        grid[top : top + h, left : left + w] = images[k]
    return grid


def save_sample_grid(
    unet: torch.nn.Module,
    betas: np.ndarray,
    path: Path,
    *,
    num_samples: int = 16,
    num_steps: int = 50,
    seed: int = 0,
) -> Path:
    """Sample ``num_samples`` images with :func:`ddpm_sample` (seeded CPU generator, so the same
    seed gives the same starting noise at every preview) and save them as one PNG grid."""
    device = next(unet.parameters()).device
    size = unet.config.sample_size
    size = size[0] if isinstance(size, (list, tuple)) else size
    shape = (num_samples, unet.config.in_channels, size, size)
    generator = torch.Generator().manual_seed(seed)
    learned_variance = unet.config.out_channels == 2 * unet.config.in_channels
    images = ddpm_sample(
        unet,
        betas,
        shape,
        num_steps=num_steps,
        learned_variance=learned_variance,
        generator=generator,
        device=device,
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image_grid(to_uint8(images))).save(path)
    return path


# --------------------------------------------------------------------------- data order


class _EpochStream(Dataset):
    """Position p of an endless stream of epochs -> item perm_e[p mod N], e = p // N, where
    perm_e is a permutation drawn from numpy's default_rng((seed, e)): data order depends only on
    (seed, position), so a resumed run sees the same batches."""

    def __init__(self, data: Dataset, seed: int) -> None:
        self.data = data
        self.seed = seed
        self.num_items = len(data)
        self._perms: dict[int, np.ndarray] = {}

    def index_at(self, position: int) -> tuple[int, int]:
        epoch, offset = divmod(position, self.num_items)
        perm = self._perms.get(epoch)
        if perm is None:
            perm = np.random.default_rng((self.seed, epoch)).permutation(self.num_items)
            self._perms = {epoch: perm}  # keep only the current epoch
        return int(perm[offset]), epoch

    def __len__(self) -> int:  # pragma: no cover - only a hint for DataLoader
        return self.num_items

    def __getitem__(self, position: int) -> torch.Tensor:
        index, epoch = self.index_at(position)
        item = getattr(self.data, "item", None)
        return item(index, epoch) if callable(item) else self.data[index]


class _StepBatches(Sampler[list[int]]):
    """Stream positions for this process, one batch per step from ``start_step`` on (endless)."""

    def __init__(self, start_step: int, global_batch: int, rank: int, world: int) -> None:
        self.start_step = start_step
        self.global_batch = global_batch
        self.local = global_batch // world
        self.rank = rank

    def __iter__(self) -> Iterator[list[int]]:
        step = self.start_step
        while True:
            first = step * self.global_batch + self.rank * self.local
            yield list(range(first, first + self.local))
            step += 1


# --------------------------------------------------------------------------- the trainer


def _make_accelerator(mixed_precision: str):
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


def _check_data(data: Dataset, preset: Preset) -> None:
    if len(data) == 0:
        raise InpaintkitError("the training data set is empty")
    first = data[0]
    expected = (preset.in_channels, preset.resolution, preset.resolution)
    if not isinstance(first, torch.Tensor) or tuple(first.shape) != expected:
        got = tuple(first.shape) if isinstance(first, torch.Tensor) else type(first).__name__
        raise InpaintkitError(
            f"preset {preset.name!r} trains on float tensors of shape {expected} in [-1, 1]; "
            f"the data gives {got}"
        )


def _config_changes(saved: dict, current: dict) -> list[str]:
    """Names of the fields that differ and may not change on resume (a preset's notes may)."""

    def comparable(config: dict) -> dict:
        preset = config.get("preset")
        if isinstance(preset, dict):
            config = {**config, "preset": {k: v for k, v in preset.items() if k != "notes"}}
        return config

    saved, current = comparable(saved), comparable(current)
    return sorted(
        k
        for k in set(saved) | set(current)
        if k not in RESUMABLE_CHANGES and saved.get(k) != current.get(k)
    )


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


class _CsvLog:
    """log.csv: one row per log step; on resume rows after the resumed step are dropped."""

    def __init__(self, path: Path, start_step: int) -> None:
        self.path = path
        rows = []
        if start_step > 0 and path.exists():
            with open(path, newline="", encoding="utf-8") as f:
                rows = [r for r in csv.DictReader(f) if int(r["step"]) <= start_step]
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=LOG_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)

    def append(self, row: dict) -> None:
        with open(self.path, "a", newline="", encoding="utf-8") as f:
            csv.DictWriter(f, fieldnames=LOG_COLUMNS).writerow(row)


def train(
    config: TrainConfig,
    data: Dataset,
    out_dir: Path,
    resume: bool = False,
    *,
    data_description: str = "",
) -> Path:
    """Train a DDPM on ``data`` (items: float32 [3, R, R] in [-1, 1], R = preset resolution).

    out_dir: the run folder (layout in the module docstring). resume: continue from the newest
    checkpoint in ``out_dir/ckpt`` (a fresh start when there is none); without it, a folder that
    already holds checkpoints is an error. The configuration must match the checkpoint's except
    for the fields in ``RESUMABLE_CHANGES`` (``steps`` may grow; the cosine decay then stretches).
    data_description: recorded in ``ckpt/config.json`` (e.g. "emoji:google train 32px").
    Returns the path of the last checkpoint written.
    """
    preset = config.resolved_preset()
    loss_fn = select_loss_fn(preset)
    out_dir = Path(out_dir)
    ckpt_dir = out_dir / "ckpt"
    existing = latest_checkpoint(ckpt_dir)
    if existing is not None and not resume:
        raise InpaintkitError(
            f"{out_dir} already holds training checkpoints; pass resume=True to continue "
            "or choose a new output folder"
        )
    _check_data(data, preset)
    accelerator = _make_accelerator(config.mixed_precision)
    world, rank = accelerator.num_processes, accelerator.process_index
    if config.batch_size % world:
        raise InpaintkitError(
            f"batch_size {config.batch_size} must be divisible by the {world} processes"
        )
    resolved = config.to_dict()
    state = load_checkpoint(existing) if existing is not None else None
    if state is not None:
        changed = _config_changes(state["config"], resolved)
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
    unet = preset.build_unet()
    torch.manual_seed(config.seed + 1_000_003 * rank)
    ema = EMA(unet, config.ema_decay)
    optimizer = torch.optim.AdamW(
        unet.parameters(),
        lr=config.lr,
        betas=config.adam_betas,
        weight_decay=config.weight_decay,
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: lr_factor(
            s, config.warmup_steps, config.steps, config.lr_decay, config.min_lr_ratio
        ),
    )
    model, optimizer = accelerator.prepare(unet, optimizer)
    ema.module.to(accelerator.device)
    generator = torch.Generator(device=accelerator.device).manual_seed(
        config.seed * 7919 + 104729 * (rank + 1)
    )
    start_step, elapsed = 0, 0.0
    if state is not None:
        accelerator.unwrap_model(model).load_state_dict(state["model"])
        ema.load_state_dict(state["ema"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["lr_scheduler"])
        if accelerator.scaler is not None and state.get("scaler"):
            accelerator.scaler.load_state_dict(state["scaler"])
        start_step, elapsed = int(state["step"]), float(state.get("elapsed_s", 0.0))
        rng = state["rng"] if rank == 0 else _load_rank_rng(ckpt_dir, rank, start_step)
        if rng is not None:
            restore_rng_state(rng, generator)
    del state

    betas = make_betas(preset.beta_schedule, preset.num_train_timesteps)
    abar = torch.tensor(np.cumprod(1.0 - betas), dtype=torch.float64)
    sqrt_abar = abar.sqrt().float().to(accelerator.device)
    sqrt_one_minus_abar = (1.0 - abar).sqrt().float().to(accelerator.device)

    stream = _EpochStream(data, config.seed)
    loader = DataLoader(
        stream,
        batch_sampler=_StepBatches(start_step, config.batch_size, rank, world),
        num_workers=config.num_workers,
        generator=torch.Generator().manual_seed(config.seed),  # keeps global RNG untouched
        pin_memory=accelerator.device.type == "cuda",
    )
    batches = iter(loader)

    main = accelerator.is_main_process
    if main:
        info = {
            "train": resolved,
            "data": data_description or type(data).__name__,
            "num_images": len(data),
            "num_parameters": sum(p.numel() for p in unet.parameters()),
            "num_processes": world,
            "device": str(accelerator.device),
            "torch": torch.__version__,
            "diffusers": _version("diffusers"),
            "accelerate": _version("accelerate"),
        }
        _write_json(ckpt_dir / "config.json", info)
    log = _CsvLog(out_dir / "log.csv", start_step) if main else None
    model.train()
    bar = tqdm(
        total=config.steps,
        initial=start_step,
        disable=not (main and config.progress),
        desc="train",
        unit="step",
        dynamic_ncols=True,
    )
    window_loss = torch.zeros((), device=accelerator.device)
    window_steps, window_time = 0, 0.0
    last_path = existing if start_step >= config.steps else None
    for step in range(start_step, config.steps):
        tic = time.perf_counter()
        x_start = next(batches).to(accelerator.device, non_blocking=True)
        batch = x_start.shape[0]
        t = torch.randint(
            0, preset.num_train_timesteps, (batch,), generator=generator, device=generator.device
        ).to(accelerator.device)
        noise = torch.randn(x_start.shape, generator=generator, device=generator.device).to(
            accelerator.device
        )
        x_t = q_sample(x_start, t, noise, sqrt_abar, sqrt_one_minus_abar)
        output = model(x_t, t).sample
        loss = loss_fn(output, noise, x_start, x_t, t)
        accelerator.backward(loss)
        if config.grad_clip > 0:
            accelerator.clip_grad_norm_(model.parameters(), config.grad_clip)
        lr = optimizer.param_groups[0]["lr"]
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        ema.update(accelerator.unwrap_model(model))
        window_loss += loss.detach()
        window_steps += 1
        duration = time.perf_counter() - tic
        window_time += duration
        elapsed += duration
        done = step + 1
        bar.update(1)
        last = done == config.steps

        if done % config.log_every == 0 or last:
            mean_loss = accelerator.reduce(window_loss, "mean").item() / window_steps
            if main:
                row = {
                    "step": done,
                    "loss": f"{mean_loss:.6f}",
                    "lr": f"{lr:.6g}",
                    "images_per_s": f"{window_steps * config.batch_size / window_time:.2f}",
                    "elapsed_s": f"{elapsed:.1f}",
                }
                log.append(row)
                bar.set_postfix(loss=f"{mean_loss:.4f}", lr=f"{lr:.2e}")
            window_loss.zero_()
            window_steps, window_time = 0, 0.0
        if done % config.checkpoint_every == 0 or last:
            last_path = _save_checkpoint(
                accelerator,
                ckpt_dir,
                done,
                model=model,
                ema=ema,
                optimizer=optimizer,
                scheduler=scheduler,
                generator=generator,
                config=resolved,
                num_items=len(data),
                global_batch=config.batch_size,
                elapsed=elapsed,
                keep=config.keep_checkpoints,
            )
        if main and config.sample_every and (done % config.sample_every == 0 or last):
            save_sample_grid(
                ema.module,
                betas,
                out_dir / "samples" / f"step-{done:08d}.png",
                num_samples=config.num_samples,
                num_steps=config.sample_steps,
                seed=config.seed,
            )
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


def _rank_rng_path(ckpt_dir: Path, rank: int, step: int) -> Path:
    return Path(ckpt_dir) / f"rng-rank{rank}-{step:08d}.pt"


def _load_rank_rng(ckpt_dir: Path, rank: int, step: int) -> dict | None:
    path = _rank_rng_path(ckpt_dir, rank, step)
    if not path.exists():
        return None
    return load_checkpoint(path, required=("rng",))["rng"]


def _save_checkpoint(
    accelerator,
    ckpt_dir: Path,
    step: int,
    *,
    model,
    ema: EMA,
    optimizer,
    scheduler,
    generator: torch.Generator,
    config: dict,
    num_items: int,
    global_batch: int,
    elapsed: float,
    keep: int,
) -> Path:
    """Write everything an exact resume needs; rank 0 writes the main file, other ranks their
    own RNG states. Older checkpoints beyond ``keep`` are deleted."""
    rank = accelerator.process_index
    rng = capture_rng_state(generator)
    path = checkpoint_path(ckpt_dir, step)
    if rank != 0:
        atomic_torch_save(
            {"format": CHECKPOINT_FORMAT, "rng": rng}, _rank_rng_path(ckpt_dir, rank, step)
        )
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        consumed = step * global_batch
        state = {
            "format": CHECKPOINT_FORMAT,
            "step": step,
            "model": accelerator.unwrap_model(model).state_dict(),
            "ema": ema.state_dict(),
            "optimizer": optimizer.state_dict(),
            "lr_scheduler": scheduler.state_dict(),
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
        atomic_torch_save(state, path)
        for old_step, old in list_checkpoints(ckpt_dir)[:-keep]:
            old.unlink(missing_ok=True)
            for extra in Path(ckpt_dir).glob(f"rng-rank*-{old_step:08d}.pt"):
                extra.unlink(missing_ok=True)
    accelerator.wait_for_everyone()
    return path


# --------------------------------------------------------------------------- export / adapter


def load_run_config(run_dir: Path) -> TrainConfig:
    """The TrainConfig of a run folder, from ``ckpt/config.json``."""
    path = Path(run_dir) / "ckpt" / "config.json"
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise InpaintkitError(f"{run_dir} is not a training run folder ({path}: {err})") from err
    return TrainConfig.from_dict(info["train"])


def export_model(run_dir: Path, path: Path, card: str = "", checkpoint: Path | None = None) -> Path:
    """Write the EMA weights of a run as an inpaintkit .safetensors (fp16, configs + card).

    run_dir: the ``out_dir`` of :func:`train`. checkpoint: which one (default: the newest).
    The DiffusionConfig follows the run's preset. Returns ``path``.
    """
    run_dir = Path(run_dir)
    checkpoint = checkpoint or latest_checkpoint(run_dir / "ckpt")
    if checkpoint is None:
        raise InpaintkitError(f"{run_dir / 'ckpt'} holds no checkpoint to export")
    state = load_checkpoint(checkpoint, required=("format", "ema", "config", "step"))
    preset = TrainConfig.from_dict(state["config"]).resolved_preset()
    unet = build_unet(preset.unet_config(), state["ema"]["module"], source=str(checkpoint))
    model = DiffusionModel(
        unet=unet,
        config=preset.diffusion_config(),
        source=f"train:{run_dir.name}@{state['step']}",
        card=card,
    )
    return save_model(model, path)


def make_dataset(spec: str, resolution: int, cache_dir: Path | None = None) -> Dataset:
    """A training data set from a spec string.

    "emoji" (google, train split), "emoji:<style>" (google|twitter), "emoji:<style>:<split>"
    (train|test|all): :class:`ArrayDataset` of the emoji at ``resolution`` (32 or 64).
    "fashion-mnist[:train|test]": Debian's Fashion-MNIST, grey on three channels.
    Anything else is a folder path: :class:`ImageFolderDataset` at ``resolution``.
    """
    from ..data.emoji import load_emoji
    from ..data.folder import ArrayDataset, ImageFolderDataset

    if spec == "fashion-mnist" or spec.startswith("fashion-mnist:"):
        from ..data.fashion import load_fashion_mnist

        split = spec.partition(":")[2] or "train"
        return ArrayDataset(load_fashion_mnist(split, size=resolution))
    if spec == "emoji" or spec.startswith("emoji:"):
        parts = spec.split(":")
        if len(parts) > 3:
            raise InpaintkitError(f"bad data spec {spec!r}; use emoji[:style[:split]]")
        style = parts[1] if len(parts) > 1 else "google"
        split = parts[2] if len(parts) > 2 else "train"
        return ArrayDataset(load_emoji(style, split, size=resolution, cache_dir=cache_dir))
    return ImageFolderDataset(Path(spec), resolution)


def run_training(
    data: str,
    preset: str = "emoji32-tiny",
    steps: int = 10_000,
    out: Path = Path("runs/ddpm"),
    resume: bool = False,
    batch_size: int | None = None,
    lr: float | None = None,
    *,
    num_threads: int | None = None,
    cache_dir: Path | None = None,
    **overrides,
) -> Path:
    """The CLI's entry point: ``inpaintkit train DATA --preset P --steps N --out DIR [--resume]``.

    data: "emoji", "emoji:twitter", "emoji:<style>:<split>" or an image folder path.
    batch_size / lr: override TrainConfig's defaults when given. num_threads: torch CPU threads.
    overrides: any other TrainConfig field (warmup_steps, mixed_precision, seed...).
    Returns the last checkpoint; export with :func:`export_model`.
    """
    if num_threads:
        torch.set_num_threads(num_threads)
    fields_ = {"preset": preset, "steps": steps, **overrides}
    if batch_size is not None:
        fields_["batch_size"] = batch_size
    if lr is not None:
        fields_["lr"] = lr
    config = TrainConfig(**fields_)
    dataset = make_dataset(data, config.resolved_preset().resolution, cache_dir=cache_dir)
    return train(config, dataset, Path(out), resume=resume, data_description=data)


__all__ = [
    "LossFn",
    "TrainConfig",
    "ddpm_sample",
    "epsilon_mse_loss",
    "export_model",
    "image_grid",
    "load_run_config",
    "lr_factor",
    "make_dataset",
    "q_sample",
    "run_training",
    "save_sample_grid",
    "select_loss_fn",
    "train",
]
