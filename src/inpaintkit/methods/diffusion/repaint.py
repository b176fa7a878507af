"""RePaint as an inpainting method: a diffusion model, a respaced process and the jump walk."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import ClassVar

import torch

from ...diffusion.noise import randn
from ...diffusion.samplers import sample_repaint
from ...diffusion.schedules import count_steps, repaint_times
from ...errors import InpaintkitError
from ...options import Options, option
from ..base import Callback, Needs
from ..sampling import (
    SamplingMethod,
    channels_last_option,
    check_runtime,
    clip_option,
    compile_option,
    precision_option,
    spacing_option,
    variance_option,
)
from .budget import choose_walk


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
    spacing: str = spacing_option()
    variance: str | None = variance_option()
    eta: float | None = option(None, help="none = DDPM steps; a number = DDIM steps", min=0)
    clip_denoised: bool = clip_option()
    share_noise: bool = option(
        False, help="one noise draw for the known and unknown parts (replace only)"
    )
    precision: str = precision_option()
    channels_last: bool | None = channels_last_option()
    compile: bool = compile_option()

    def check(self) -> None:
        check_runtime(self)
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

    def resampling_off(self) -> str | None:
        """Why the walk would not resample although ``resamplings`` > 1 asks for it (the
        jump length at or above the steps leaves no jump point), or None when it does."""
        if self.resamplings > 1 and self.jump_length >= self.steps:
            return (
                f"jump_length={self.jump_length} is at or above steps={self.steps}: the walk "
                f"has no jump point, so resamplings={self.resamplings} would be off; give "
                f"steps > {self.jump_length} or a jump_length below {self.steps} "
                "(or resamplings=1 for no resampling)"
            )
        return None

    def min_steps(self) -> int:
        """jump_length + 1 when resampling (r > 1): with fewer steps the walk has no jump
        point and r would silently not apply; else 1."""
        return self.jump_length + 1 if self.resamplings > 1 else 1


class RePaint(SamplingMethod):
    """RePaint (Lugmayr et al. 2022) with any unconditional (or class-conditional) DDPM.

    options: the knobs (paper defaults). model: a DiffusionModel or a load_model spec.
    class_label: for class-conditional models (required by them; refused otherwise).
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

    def config(self) -> dict:
        """The resolved configuration (see :meth:`SamplingMethod.config`) with the sampler's
        conditioning rule after the model."""
        config = super().config()
        head = {key: config.pop(key) for key in ("method", "model")}
        return {**head, "condition": self.options.condition, **config}

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
        o = self.options
        return sample_repaint(
            self.denoiser(),
            x,
            self.diffusion,
            keep=keep,
            known=known,
            times=o.times(),
            variance=o.variance,
            eta=o.eta,
            condition=o.condition,
            clip_denoised=o.clip_denoised,
            extra_args=self.extra_args(known, keep),
            share_noise=o.share_noise,
            generator=generators,
            callback=callback,
            progress=self.progress,
        )
