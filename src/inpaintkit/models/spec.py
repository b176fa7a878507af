"""What a checkpoint must say about its diffusion process besides the network weights."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields

from ..errors import InpaintkitError

PREDICTIONS = ("epsilon", "v_prediction", "sample")


@dataclass(frozen=True)
class DiffusionConfig:
    """The training process of a DDPM, saved next to its weights.

    num_train_timesteps: T of the training process (1000 for every released RePaint model).
    beta_schedule: "linear" (DDPM), "scaled_linear" or "cosine" (Improved DDPM); see
        ``diffusion.schedules.make_betas``.
    beta_start, beta_end: the linear schedules' ends; None = guided-diffusion's (1e-4 and 0.02,
        scaled by 1000 / T).
    prediction: what the network's first C output channels are: "epsilon", "v_prediction", "sample".
    learned_variance: the network outputs 2C channels, the last C being Improved DDPM's
        learned-range interpolation value v in [-1, 1] (guided-diffusion ``learn_sigma``).
    """

    num_train_timesteps: int = 1000
    beta_schedule: str = "linear"
    beta_start: float | None = None
    beta_end: float | None = None
    prediction: str = "epsilon"
    learned_variance: bool = False

    def __post_init__(self) -> None:
        if self.prediction not in PREDICTIONS:
            raise InpaintkitError(
                f"unknown prediction type {self.prediction!r}; choose one of {PREDICTIONS}"
            )

    def as_dict(self) -> dict:
        """Every field, JSON-able."""
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict) -> DiffusionConfig:
        """From :meth:`as_dict`'s output; unknown keys are ignored (newer files)."""
        if not isinstance(data, dict):
            raise InpaintkitError(f"a diffusion config must be a JSON object, not {data!r}")
        known = {f.name for f in fields(cls)}
        try:
            return cls(**{k: v for k, v in data.items() if k in known})
        except TypeError as err:
            raise InpaintkitError(f"invalid diffusion config {data}: {err}") from err

    @classmethod
    def from_json(cls, text: str) -> DiffusionConfig:
        return cls.from_dict(json.loads(text))
