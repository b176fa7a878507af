"""RePaint as an inpainting method: a diffusion model, a respaced process and the jump walk."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import ClassVar

import torch

from ..diffusion.noise import randn
from ..diffusion.process import GaussianDiffusion
from ..diffusion.samplers import sample_repaint
from ..diffusion.schedules import count_steps, repaint_times
from ..errors import InpaintkitError
from ..models import DiffusionModel, load_model
from ..models.runtime import Runtime, check_knobs
from .base import Callback


@dataclass(frozen=True)
class WalkOptions:
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
    float32). channels_last: True/False, None = auto (on where auto precision is bf16);
    converts the model's weights in place.
    compile: torch.compile the network (first call about a minute on a CPU).
    condition (a class attribute, not an option): the sampler's conditioning rule, "replace"
    (RePaint eq. 8) or "null-space" (DDNM); see diffusion.samplers.repaint.sample_repaint.
    """

    condition: ClassVar[str] = "replace"

    steps: int = 250
    spacing: str = "even"
    variance: str | None = None
    eta: float | None = None
    clip_denoised: bool = True
    share_noise: bool = False
    precision: str = "auto"
    channels_last: bool | None = None
    compile: bool = False

    def __post_init__(self) -> None:
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
        """{"steps", "network_evaluations", "undo_steps"} for one batch."""
        nfe, undo = count_steps(self.times())
        return {"steps": self.steps, "network_evaluations": nfe, "undo_steps": undo}


@dataclass(frozen=True)
class RePaintOptions(WalkOptions):
    """RePaint's knobs; the defaults are the paper's setting (section 5.1): T=250, j=10, r=10.

    jump_length (j), resamplings (r) and jump_n_sample: the time walk
    (diffusion.schedules.repaint_times); the rest as :class:`WalkOptions`.
    """

    jump_length: int = 10
    resamplings: int = 10
    jump_n_sample: int = 1

    def times(self) -> list[int]:
        return repaint_times(self.steps, self.jump_length, self.resamplings, self.jump_n_sample)

    def min_steps(self) -> int:
        """jump_length + 1 when resampling (r > 1): with fewer steps the walk has no jump
        point and r would silently not apply; else 1."""
        return self.jump_length + 1 if self.resamplings > 1 else 1


class RePaint:
    """RePaint (Lugmayr et al. 2022) with any unconditional (or class-conditional) DDPM.

    options: the knobs (paper defaults). model: a DiffusionModel or a load_model spec.
    class_label: for class-conditional models (required by them; ignored otherwise).
    progress: show a progress bar per batch.
    """

    name = "repaint"
    summary = "RePaint (CVPR 2022): an unconditional DDPM conditioned by resampling"
    Options = RePaintOptions
    uses_model = True

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
