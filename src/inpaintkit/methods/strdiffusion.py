"""Method "strdiffusion": StrDiffusion (Liu et al., CVPR 2024), structure-guided texture
diffusion with adaptive resampling, on a bundle model of three networks (structure and texture
IR-SDE UNets, a time-conditioned discriminator) trained by the "strdiffusion" objective.

The method turns the inputs into the two processes' inputs (images to [0, 1]; the gray image;
the Canny edges of the known region, :func:`inpaintkit.io.edges.known_edges`, with the model's
sigma) and runs :func:`~inpaintkit.diffusion.samplers.strdiffusion.sample_strdiffusion`; see that
module for the algorithm, the ablation switches and the departures from the public code.

Its cost is a range (the adaptive rule decides how many rounds run): ``cost()`` gives the most
network evaluations as "network_evaluations" and the fewest as "network_evaluations_min"; every
call of any of the three networks counts. The default model is the embedded "strdiffusion32"
(its card: ``models/weights/strdiffusion32.md``); another, trained with ``recipe``, is passed as
``--model FILE``.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import asdict, dataclass, replace
from typing import ClassVar

import torch

from ..diffusion.irsde import IRSDE
from ..diffusion.samplers.strdiffusion import (
    ACCEPT,
    RESAMPLING,
    StrNets,
    StrStats,
    StrWalk,
    sample_strdiffusion,
    walk_cost,
)
from ..errors import InpaintkitError
from ..io.edges import canny_sigma, gray, known_edges
from ..options import OptionError, Options, option
from .base import Callback, Method, Needs

NETWORKS = ("structure", "texture", "discriminator")


@dataclass(frozen=True)
class StrDiffusionOptions(Options):
    """The sampler's knobs (defaults: the public code's values for T = 100)."""

    HEADLINE: ClassVar[tuple[str, ...]] = ("T", "jump", "re", "u_min", "u_max")

    T: int = option(100, help="reverse steps (another T than the model's rebuilds the schedule)",
                    min=2)  # fmt: skip
    jump: int = option(2, help="resample the structure at every jump-th early step", min=1)
    re: int = option(2, help="steps the structure is re-noised in each round", min=1)
    u_min: int = option(4, help="from this round on a rejection stops resampling", min=1)
    u_max: int = option(25, help="at most u_max - 1 resampling rounds per step", min=2)
    early: float = option(0.4, help="the structure guides while t >= early * T", min=0, max=1,
                          min_exclusive=True)  # fmt: skip
    guidance: bool = option(True, help="structure guidance (false: the texture process alone)")
    resampling: str = option("adaptive", help="adaptive (discriminator), fixed (u_min rounds) "
                             "or none", choices=RESAMPLING)  # fmt: skip
    accept: str = option("lower", help="accept a round when its discriminator logit is lower "
                         "(the public code) or higher than the first", choices=ACCEPT)  # fmt: skip

    def check(self) -> None:
        if self.u_min > self.u_max - 1:
            raise OptionError("u_min", self.u_min, f"exceeds the {self.u_max - 1} rounds "
                              f"u_max={self.u_max} allows", f"1..{self.u_max - 1}")  # fmt: skip

    def walk(self) -> StrWalk:
        """The sampler's knobs."""
        return StrWalk(self.jump, self.re, self.u_min, self.u_max, self.early, self.guidance,
                       self.resampling, self.accept)  # fmt: skip


class StrDiffusion(Method):
    """StrDiffusion on a bundle model (see the module docstring).

    options: :class:`StrDiffusionOptions`. model: a BundleModel with networks structure,
    texture and discriminator and a process config of method "strdiffusion", or a load_model
    spec; None: the embedded "strdiffusion32". device: where a spec is loaded. class_label:
    refused (the networks are unconditional). progress: a progress bar per batch.
    Same seed, same bytes: all noise comes from the per-row generators.
    """

    name = "strdiffusion"
    summary = "StrDiffusion: a structure-guided texture diffusion with adaptive resampling"
    Options = StrDiffusionOptions
    needs = Needs("bundle")
    default_model = "strdiffusion32"
    recipe = (
        "inpaintkit train emoji --preset strdiffusion32 --objective strdiffusion --steps 6000 "
        "--batch-size 16 --lr 2e-4 --holes lama-mixed:3+half+expand+sr2x+altlines "
        "-o warmup_steps=500 -o mixed_precision=bf16"
    )

    @classmethod
    def cost(cls, options: StrDiffusionOptions) -> dict[str, int]:
        """{"network_evaluations": the most, "network_evaluations_min": the fewest,
        "undo_steps": the most re-noising transitions} per batch."""
        return walk_cost(options.T, options.walk())

    @classmethod
    def for_budget(
        cls,
        options: StrDiffusionOptions,
        budget: int,
        max_steps: int | None = None,
        fixed: Collection[str] = (),
    ) -> StrDiffusionOptions:
        """``options`` with the largest u_max (>= u_min + 1) whose MOST network evaluations fit
        ``budget``; if none, without resampling; else InpaintkitError. Given options are kept."""
        if "u_max" not in fixed and options.resampling == "adaptive":
            for u_max in range(options.u_max, options.u_min, -1):
                trial = replace(options, u_max=u_max)
                if cls.cost(trial)["network_evaluations"] <= budget:
                    return trial
        if cls.cost(options)["network_evaluations"] <= budget:
            return options
        if "resampling" not in fixed:
            trial = replace(options, resampling="none")
            if cls.cost(trial)["network_evaluations"] <= budget:
                return trial
        cheapest = cls.cost(replace(options, resampling="none"))["network_evaluations"]
        raise InpaintkitError(
            f"a budget of {budget} network evaluations is below the cheapest StrDiffusion run "
            f"at T={options.T} ({cheapest} without resampling); lower T"
        )

    @classmethod
    def resolve_model(cls, model: object | None, device: str | torch.device = "cpu"):
        """The bundle model, refused unless it holds the three networks of a StrDiffusion."""
        loaded = super().resolve_model(model, device)
        missing = [n for n in NETWORKS if n not in loaded.networks()]
        if missing or loaded.process_config().get("method") != "strdiffusion":
            raise InpaintkitError(
                f"{loaded.source or model} is not a StrDiffusion model (it needs networks "
                f"{list(NETWORKS)} and process method 'strdiffusion'; missing {missing})"
            )
        return loaded

    def __init__(
        self,
        options: StrDiffusionOptions | None = None,
        *,
        model: object | None = None,
        device: str | torch.device = "cpu",
        class_label: int | None = None,
        progress: bool = True,
    ) -> None:
        if class_label is not None:
            raise InpaintkitError(
                f"StrDiffusion models are unconditional: drop the class label ({class_label})"
            )
        self.model = self.resolve_model(model, device)
        self.options = options or self.Options()
        self.progress = progress
        process = self.model.process_config()
        self.process = IRSDE.from_config(process).with_steps(self.options.T)
        self.sigma = float(process.get("canny_sigma", canny_sigma(self.image_size or 256)))
        self.last_stats: StrStats | None = None

    @property
    def image_size(self) -> int | None:
        return self.model.image_size

    @property
    def multiple(self) -> int:
        """Input sides must be multiples of this (the texture network's downsampling)."""
        return int(getattr(self.model.networks()["texture"], "multiple", 1))

    def config(self) -> dict:
        return {"method": self.name, "model": self.model.source, **asdict(self.options)}

    def networks(self) -> StrNets:
        nets = self.model.networks()
        return StrNets(nets["structure"], nets["texture"], nets["discriminator"])

    @torch.no_grad()
    def time_network(self, batch: int, height: int, width: int) -> float:
        """Seconds of one texture-network call (the largest of the three) on a zero batch."""
        device = self.model.device
        x = torch.zeros(batch, 3, height, width, device=device)
        s = torch.zeros(batch, 1, height, width, device=device)
        t = torch.full((batch,), self.process.num_steps, dtype=torch.long, device=device)
        started = time.perf_counter()
        self.model.networks()["texture"](x, x, t, s)
        return time.perf_counter() - started

    def __call__(
        self,
        known: torch.Tensor,
        keep: torch.Tensor,
        *,
        generators: list[torch.Generator],
        callback: Callback | None = None,
    ) -> torch.Tensor:
        """Inpainted [B, 3, H, W] in [-1, 1] (known pixels pasted) for known [B, 3, H, W] in
        [-1, 1] and keep [B, 1, H, W] (1 = known); row i draws all its noise from generators[i].
        The run's statistics (NFE, accept/average/stop events) are kept in ``last_stats``."""
        device = self.model.device
        image = (known.to(device).float() + 1) / 2
        keep = keep.to(device, torch.float32)
        structure = gray(image)
        edges = known_edges(structure, keep, self.sigma)
        out, self.last_stats = sample_strdiffusion(
            self.networks(), self.process, known=image, keep=keep, structure=structure,
            edges=edges, walk=self.options.walk(), generator=generators, callback=callback,
            progress=self.progress,
        )  # fmt: skip
        filled = (out * 2 - 1).clamp(-1, 1)
        return torch.where(keep > 0.5, known.to(device).float(), filled)  # known pixels exact
