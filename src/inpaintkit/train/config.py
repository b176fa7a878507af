"""The training configuration: every knob of a run besides the data, and the LR schedule."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace

from ..data.augment import parse_augmentation
from ..errors import InpaintkitError
from ..networks.presets import AnyPreset, get_preset, preset_from_dict

MIXED_PRECISION = ("no", "bf16", "fp16")
LR_DECAYS = ("cosine", "constant")
DEFAULT_OBJECTIVE = "ddpm-prior"

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

    preset: a preset name (see ``inpaintkit.networks.presets.PRESETS``) or a preset object.
    objective: what is trained (``inpaintkit.train.objectives.OBJECTIVES``): "ddpm-prior"
        (default), "conditional-ddpm" or "adversarial".
    objective_options: the objective's own knobs (e.g. {"holes": "thin+thick"}; see each
        objective's ``Options``); strings are converted to the option's type.
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
    sample_steps: respaced steps of the preview sampler (<= 50). num_samples: grid images.
    num_workers: DataLoader worker processes (default 0: load in the training process).
    progress: show a tqdm bar with ETA.
    augment: per-item augmentation as "hflip=0.5,hue=0.1,saturation=0.2,colour_p=0.5" (see
        ``inpaintkit.data.augment.Augmentation``; "" = none, the default).
    init_from: a load_model spec (e.g. "emoji32") whose weights start the run instead of a
        random init (``train.init``; "" = random, the default). Used at the first step only. A
        conditional network initialised from a prior gets zero weights on its extra input
        channels (hole, masked image), as Stable Diffusion inpainting started from Stable
        Diffusion.

    ``to_dict`` leaves out ``objective``, ``objective_options``, ``augment`` and ``init_from``
    while they are the defaults, so a DDPM prior run's config.json is the same as before
    objectives existed.
    """

    preset: str | AnyPreset = "emoji32-tiny"
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
    objective: str = DEFAULT_OBJECTIVE
    objective_options: dict = field(default_factory=dict)
    augment: str = ""
    init_from: str = ""

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
        if not isinstance(self.objective_options, dict):
            raise InpaintkitError(
                f"objective_options must be a dict, got {type(self.objective_options).__name__}"
            )
        self.adam_betas = tuple(self.adam_betas)
        parse_augmentation(self.augment)  # a bad spec fails before any data is loaded

    def resolved_preset(self) -> AnyPreset:
        """The preset object (looked up by name if a string)."""
        return get_preset(self.preset) if isinstance(self.preset, str) else self.preset

    def to_dict(self) -> dict:
        """JSON-able dict with the preset expanded in full."""
        data = asdict(replace(self, preset="-", objective_options={}))
        data["preset"] = self.resolved_preset().to_dict()
        data["adam_betas"] = list(self.adam_betas)
        data["objective_options"] = dict(self.objective_options)
        if self.objective == DEFAULT_OBJECTIVE and not self.objective_options:
            del data["objective"], data["objective_options"]
        for name in ("augment", "init_from"):  # older run configs stay the same without them
            if not data[name]:
                del data[name]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        data = dict(data)
        preset = data.pop("preset")
        preset = preset_from_dict(preset) if isinstance(preset, dict) else preset
        return cls(preset=preset, **data)


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


def config_changes(saved: dict, current: dict) -> list[str]:
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
