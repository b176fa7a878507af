"""RePaint as an inpainting method: a diffusion model, a respaced process and the jump walk."""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import asdict, dataclass, replace
from typing import ClassVar

import torch

from ...diffusion.noise import randn
from ...diffusion.process import VARIANCES, GaussianDiffusion
from ...diffusion.samplers import sample_repaint
from ...diffusion.schedules import count_steps, repaint_times, space_timesteps
from ...errors import InpaintkitError
from ...models import DiffusionModel, load_model
from ...models.runtime import PRECISIONS, Runtime, check_knobs
from ...options import Options, option
from ..base import Callback, Method, Needs
from .budget import choose_walk


def _check_spacing(spacing: str) -> str | None:
    """None for a valid spacing name ("even", "leading", "quadratic", "power<p>" with p >= 1)."""
    try:
        space_timesteps(1000, 10, spacing)
    except InpaintkitError:
        return "is not a spacing"
    return None


@dataclass(frozen=True)
class WalkOptions(Options):
    """Knobs every time walk on a diffusion model shares; subclasses define :meth:`times`.

    steps: respaced reverse steps (the paper's T). spacing: "even" (guided-diffusion),
    "leading" (diffusers), "quadratic" or "power<p>" (more steps at low noise; see
    :func:`~inpaintkit.diffusion.schedules.space_timesteps`). variance: None = the model's
    (learned range when it has one, else fixed small). eta: None = DDPM steps; a number = DDIM
    steps with that eta. clip_denoised: clip x0_hat to [-1, 1]. share_noise: diffusers' reuse of
    one noise tensor for the known and unknown parts ("replace" conditioning only).
    Runtime knobs (how the network is run; :mod:`inpaintkit.models.runtime` resolves them for
    the model's device, and the method's ``config()`` shows the resolved values):
    precision: "auto" (default; bf16 on CPUs with native bf16, else fp32; ``runtime.AUTO`` says
    why), "fp32", "bf16" or "fp16" (torch.autocast around the network; the sampler stays
    float32). channels_last: True/False, None = auto (on where auto precision is bf16).
    compile: torch.compile the network (first call about a minute on a CPU).
    condition (a class attribute, not an option): the sampler's conditioning rule, "replace"
    (RePaint eq. 8) or "null-space" (DDNM); see diffusion.samplers.repaint.sample_repaint.
    """

    condition: ClassVar[str] = "replace"
    HEADLINE: ClassVar[tuple[str, ...]] = ("steps",)

    steps: int = option(250, help="respaced reverse steps (the paper's T)", min=1)
    spacing: str = option(
        "even",
        help="timestep spacing (power<p>: more steps at low noise)",
        check=_check_spacing,
        valid="even, leading, quadratic or power<p> with p >= 1 (e.g. power1.25)",
    )
    variance: str | None = option(
        None, help="reverse variance; none = the model's", choices=VARIANCES
    )
    eta: float | None = option(None, help="none = DDPM steps; a number = DDIM steps", min=0)
    clip_denoised: bool = option(True, help="clip the predicted x0 to [-1, 1]")
    share_noise: bool = option(
        False, help="one noise draw for the known and unknown parts (replace only)"
    )
    # the runtime knobs keep their own check (models.runtime.check_knobs, in check())
    precision: str = option(
        "auto",
        help="network precision: auto, fp32, bf16 or fp16",
        valid=", ".join(PRECISIONS),
        external=True,
    )
    channels_last: bool | None = option(
        None, help="channels-last memory; none = auto", external=True
    )
    compile: bool = option(False, help="torch.compile the network", external=True)

    def check(self) -> None:
        check_knobs(self.precision, self.channels_last, self.compile)
        if self.share_noise and self.condition != "replace":
            raise InpaintkitError(
                f"share_noise applies to replace conditioning only, not {self.condition}"
            )

    def times(self) -> list[int]:
        raise NotImplementedError

    def min_steps(self) -> int:
        """The fewest steps for which the walk is the one these options describe."""
        return 1

    def for_budget(self, budget: int, max_steps: int | None = None) -> WalkOptions:
        """These options with ``steps`` chosen so that one batch costs as many network
        evaluations as possible but at most ``budget``; every other knob is kept.

        The network evaluations of a walk grow strictly with ``steps`` (each level adds at least
        one reverse step), so a binary search over steps in [min_steps(), min(budget,
        max_steps)] finds the largest that fits, counted with count_steps(times()).
        max_steps: the model's training timesteps (respacing cannot exceed them); None = no cap.
        Raises InpaintkitError when even min_steps() costs more than ``budget``.
        (The method's ``for_budget`` chooses the whole walk; see :mod:`.budget`.)
        """
        low = self.min_steps()
        high = budget if max_steps is None else min(budget, max_steps)

        def cost(steps: int) -> int:
            return count_steps(replace(self, steps=steps).times())[0]

        if high < low or cost(low) > budget:
            cheapest = f"steps={low} costs {cost(low)} network evaluations"
            if max_steps is not None and max_steps < low:
                cheapest = f"the model has only {max_steps} timesteps, fewer than {low}"
            raise InpaintkitError(
                f"a budget of {budget} network evaluations is below the cheapest walk with "
                f"these options ({cheapest}); raise the budget or lower jump_length/resamplings"
            )
        while low < high:  # invariant: cost(low) <= budget
            mid = (low + high + 1) // 2
            if cost(mid) <= budget:
                low = mid
            else:
                high = mid - 1
        return replace(self, steps=low)

    def summary(self) -> dict[str, int]:
        """{"steps", "network_evaluations", "undo_steps"} for one batch (kept for scripts;
        methods report their cost with ``Method.cost``)."""
        nfe, undo = count_steps(self.times())
        return {"steps": self.steps, "network_evaluations": nfe, "undo_steps": undo}


@dataclass(frozen=True)
class RePaintOptions(WalkOptions):
    """RePaint's knobs; the defaults are the paper's setting (section 5.1): T=250, j=10, r=10.

    jump_length (j), resamplings (r) and jump_n_sample: the time walk
    (diffusion.schedules.repaint_times); the rest as :class:`WalkOptions`.
    """

    HEADLINE: ClassVar[tuple[str, ...]] = ("steps", "jump_length", "resamplings")

    jump_length: int = option(10, help="jump length j: steps undone per jump", min=1)
    resamplings: int = option(10, help="resamplings r: passes over each jump", min=1)
    jump_n_sample: int = option(1, help="extra single up/down steps after each step", min=1)

    def times(self) -> list[int]:
        return repaint_times(self.steps, self.jump_length, self.resamplings, self.jump_n_sample)

    def min_steps(self) -> int:
        """jump_length + 1 when resampling (r > 1): with fewer steps the walk has no jump
        point and r would silently not apply; else 1."""
        return self.jump_length + 1 if self.resamplings > 1 else 1


class RePaint(Method):
    """RePaint (Lugmayr et al. 2022) with any unconditional (or class-conditional) DDPM.

    options: the knobs (paper defaults). model: a DiffusionModel or a load_model spec.
    class_label: for class-conditional models (required by them; ignored otherwise).
    progress: show a progress bar per batch.
    """

    name = "repaint"
    summary = "RePaint (CVPR 2022): an unconditional DDPM conditioned by resampling"
    Options = RePaintOptions
    needs = Needs("prior")

    @classmethod
    def cost(cls, options: WalkOptions) -> dict[str, int]:
        """{"network_evaluations", "undo_steps"} of one batch's time walk (needs no model)."""
        nfe, undo = count_steps(options.times())
        return {"network_evaluations": nfe, "undo_steps": undo}

    @classmethod
    def for_budget(
        cls,
        options: WalkOptions,
        budget: int,
        max_steps: int | None = None,
        fixed: Collection[str] = (),
    ) -> WalkOptions:
        """The best walk for ``budget`` network evaluations per batch: see
        :func:`~inpaintkit.methods.diffusion.budget.choose_walk` (options named in ``fixed``,
        the ones the user gave, are kept)."""
        return choose_walk(options, budget, max_steps, fixed)

    def __init__(
        self,
        options: RePaintOptions | None = None,
        *,
        model: DiffusionModel | str = "default",
        device: str | torch.device = "cpu",
        class_label: int | None = None,
        progress: bool = True,
    ) -> None:
        self.model = load_model(model, device=device) if isinstance(model, str) else model
        kind = getattr(self.model, "kind", "prior")
        if kind != self.needs.model_kind:
            raise InpaintkitError(
                f"method {self.name!r} needs a {self.needs.model_kind} model; "
                f"{getattr(self.model, 'source', 'the model')} is a {kind} model"
            )
        self.options = options or self.Options()
        self.class_label = class_label
        self.progress = progress
        classes = self.model.num_classes
        if classes and (class_label is None or not 0 <= class_label < classes):
            raise InpaintkitError(
                f"{self.model.source} is class-conditional: give a class label in 0..{classes - 1}"
                f" (CLI: --class-label N); got {class_label}"
            )
        self.diffusion = GaussianDiffusion.respaced(
            self.model.betas, self.options.steps, self.options.spacing
        )
        _ = self.runtime  # resolved now: a bad value (fp16 on a CPU) fails here, not mid-run

    @property
    def runtime(self) -> Runtime:
        """The runtime knobs resolved for the model's current device (no "auto" left)."""
        o = self.options
        return self.model.runtime(o.precision, o.channels_last, o.compile)

    @property
    def image_size(self) -> int:
        return self.model.image_size

    def config(self) -> dict:
        """The resolved configuration, saved next to outputs; precision, channels_last and
        compile are the values resolved for the model's device (no "auto")."""
        return {
            "method": self.name,
            "model": self.model.source,
            "condition": self.options.condition,
            **asdict(self.options),
            **self.runtime.as_dict(),
        }

    @torch.no_grad()
    def time_network(self, batch: int, height: int, width: int) -> float:
        """Seconds of one network evaluation (the denoiser as sampling runs it) on a zero batch
        [batch, C, height, width] (for ``--dry-run``)."""
        device = self.model.device
        x = torch.zeros(batch, self.model.channels, height, width, device=device)
        t = torch.zeros(batch, dtype=torch.long, device=device)
        extra = {"class_labels": t} if self.model.num_classes else {}
        r = self.runtime
        denoiser = self.model.denoiser(r.precision, r.channels_last, r.compile)
        started = time.perf_counter()
        denoiser(x, t, **extra)
        return time.perf_counter() - started

    def __call__(
        self,
        known: torch.Tensor,
        keep: torch.Tensor,
        *,
        generators: list[torch.Generator],
        callback: Callback | None = None,
    ) -> torch.Tensor:
        device = self.model.device
        known, keep = known.to(device), keep.to(device)
        x = randn(tuple(known.shape), generators, device=device)
        extra_args: dict[str, torch.Tensor] = {}  # passed to every network call
        if self.model.num_classes:
            labels = torch.full((known.shape[0],), int(self.class_label), device=device)
            extra_args["class_labels"] = labels
        o = self.options
        r = self.runtime
        return sample_repaint(
            self.model.denoiser(r.precision, r.channels_last, r.compile),
            x,
            self.diffusion,
            keep=keep,
            known=known,
            times=o.times(),
            variance=o.variance,
            eta=o.eta,
            condition=o.condition,
            clip_denoised=o.clip_denoised,
            extra_args=extra_args,
            share_noise=o.share_noise,
            generator=generators,
            callback=callback,
            progress=self.progress,
        )
