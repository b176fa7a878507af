"""Method "inpaint-ddpm": sample a conditional inpainting diffusion model.

The model (kind "conditional-diffusion", :class:`~inpaintkit.models.ConditionalDiffusionModel`)
is trained to denoise x_t GIVEN the hole mask and the masked image, stacked as input channels in
Stable Diffusion inpainting's layout (Rombach et al., "High-Resolution Image Synthesis with
Latent Diffusion Models", CVPR 2022; the inpainting checkpoint's UNet takes
``cat([x_t, mask, masked_image])``), here in pixel space. No resampling or projection is needed
inside the loop (unlike RePaint on a prior): the sampler descends the process plainly,
:func:`~inpaintkit.diffusion.samplers.sample_ddim`, with the conditioning passed to every
network call as ``extra_args = model.conditioning(known, keep)`` ({"hole", "masked"}).

Steps: DDPM's ancestral step (Ho et al. 2020, Algorithm 2) when ``eta`` is None (default), or
DDIM's step (Song, Meng, Ermon, "Denoising Diffusion Implicit Models", ICLR 2021, eq. 12) with
that eta (0 = deterministic) on a respaced schedule of ``steps`` of the training timesteps.
One network evaluation per step and batch. Known pixels are pasted back once, by the wrapper.
There is no default model; give one with ``--model FILE`` (e.g. ``inpaintkit train`` on the
"inpaint32-tiny" preset, then export).
"""

from __future__ import annotations

import os
import time
from collections.abc import Collection
from dataclasses import asdict, dataclass, replace
from typing import ClassVar

import torch

from ...diffusion.noise import randn
from ...diffusion.process import VARIANCES, GaussianDiffusion
from ...diffusion.samplers import sample_ddim
from ...errors import InpaintkitError
from ...models import ConditionalDiffusionModel, load_model
from ...models.runtime import PRECISIONS, Runtime, check_knobs
from ...options import Options, option
from ..base import Callback, Method, Needs
from ..diffusion.repaint import _check_spacing


@dataclass(frozen=True)
class InpaintDDPMOptions(Options):
    """The sampler's knobs; defaults: 50 evenly spaced DDPM steps, x0 clipped, fp32-or-auto
    runtime as RePaint's.

    steps: respaced reverse steps (at most the model's training timesteps). spacing: "even",
    "leading", "quadratic" or "power<p>". variance: None = the model's (learned range when it
    has one, else fixed small; DDPM steps only). eta: None = DDPM steps; a number in [0, 1] =
    DDIM steps with that eta. clip_denoised: clip x0_hat to [-1, 1]. precision, channels_last,
    compile: how the network runs (as :class:`~inpaintkit.methods.diffusion.WalkOptions`).
    """

    HEADLINE: ClassVar[tuple[str, ...]] = ("steps", "eta")

    steps: int = option(50, help="respaced reverse steps (one network evaluation each)", min=1)
    spacing: str = option(
        "even",
        help="timestep spacing (power<p>: more steps at low noise)",
        check=_check_spacing,
        valid="even, leading, quadratic or power<p> with p >= 1 (e.g. power1.25)",
    )
    variance: str | None = option(
        None, help="reverse variance; none = the model's", choices=VARIANCES
    )
    eta: float | None = option(
        None, help="none = DDPM steps; a number = DDIM steps with that eta", min=0, max=1
    )
    clip_denoised: bool = option(True, help="clip the predicted x0 to [-1, 1]")
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


class InpaintDDPM(Method):
    """DDPM/DDIM sampling of a conditional inpainting diffusion model (see the module docstring).

    options: :class:`InpaintDDPMOptions`. model: a ConditionalDiffusionModel or a load_model
    spec (required: no default model). device: where a spec is loaded. class_label: for
    class-conditional networks. progress: a progress bar per batch.
    Same seed, same bytes: all noise comes from the per-row generators.
    """

    name = "inpaint-ddpm"
    summary = "a conditional inpainting diffusion model, DDPM or DDIM steps (needs --model)"
    Options = InpaintDDPMOptions
    needs = Needs("conditional-diffusion")

    @classmethod
    def cost(cls, options: InpaintDDPMOptions) -> dict[str, int]:
        """{"network_evaluations": steps}: one call per respaced step and batch."""
        return {"network_evaluations": options.steps}

    @classmethod
    def for_budget(
        cls,
        options: InpaintDDPMOptions,
        budget: int,
        max_steps: int | None = None,
        fixed: Collection[str] = (),
    ) -> InpaintDDPMOptions:
        """``options`` with steps = min(budget, max_steps) (max_steps: the model's training
        timesteps; None = no cap); every other knob kept."""
        if budget < 1:
            raise InpaintkitError(f"a budget of {budget} network evaluations is below 1 step")
        steps = budget if max_steps is None else min(budget, max_steps)
        return replace(options, steps=steps)

    def __init__(
        self,
        options: InpaintDDPMOptions | None = None,
        *,
        model: ConditionalDiffusionModel | str | None = None,
        device: str | torch.device = "cpu",
        class_label: int | None = None,
        progress: bool = True,
    ) -> None:
        if model is None:
            raise InpaintkitError(
                f"method {self.name} needs a conditional-diffusion model: --model FILE"
            )
        self.model = (
            load_model(model, device=device) if isinstance(model, (str, os.PathLike)) else model
        )
        kind = getattr(self.model, "kind", None)
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
        total = len(self.model.betas)
        if self.options.steps > total:
            raise InpaintkitError(
                f"steps={self.options.steps} exceeds the {total} training timesteps of "
                f"{self.model.source}; choose steps in 1..{total}"
            )
        self.diffusion = GaussianDiffusion.respaced(
            self.model.betas, self.options.steps, self.options.spacing
        )
        _ = self.runtime  # a bad runtime (fp16 on a CPU) fails here, not mid-run

    @property
    def runtime(self) -> Runtime:
        """The runtime knobs resolved for the model's current device (no "auto" left)."""
        o = self.options
        return self.model.runtime(o.precision, o.channels_last, o.compile)

    @property
    def image_size(self) -> int:
        return self.model.image_size

    def config(self) -> dict:
        """The resolved configuration (runtime knobs as resolved for the model's device)."""
        return {
            "method": self.name,
            "model": self.model.source,
            **asdict(self.options),
            **self.runtime.as_dict(),
        }

    def _extra_args(self, known: torch.Tensor, keep: torch.Tensor) -> dict[str, torch.Tensor]:
        extra: dict[str, torch.Tensor] = dict(self.model.conditioning(known, keep))
        if self.model.num_classes:
            extra["class_labels"] = torch.full(
                (known.shape[0],), int(self.class_label), device=known.device
            )
        return extra

    def _denoiser(self):
        r = self.runtime
        return self.model.denoiser(r.precision, r.channels_last, r.compile)

    @torch.no_grad()
    def time_network(self, batch: int, height: int, width: int) -> float:
        """Seconds of one network evaluation on a zero batch (for ``--dry-run``)."""
        device = self.model.device
        c = self.model.channels
        known = torch.zeros(batch, c, height, width, device=device)
        keep = torch.ones(batch, 1, height, width, device=device)
        t = torch.zeros(batch, dtype=torch.long, device=device)
        denoiser, extra = self._denoiser(), self._extra_args(known, keep)
        started = time.perf_counter()
        denoiser(known, t, **extra)
        return time.perf_counter() - started

    def __call__(
        self,
        known: torch.Tensor,
        keep: torch.Tensor,
        *,
        generators: list[torch.Generator],
        callback: Callback | None = None,
    ) -> torch.Tensor:
        """Inpainted [B,C,H,W] in [-1,1] (x_0, known pixels pasted) for known [B,C,H,W] in
        [-1,1] and keep [B,1,H,W] (1 = known); row i draws all its noise from generators[i]."""
        device = self.model.device
        known, keep = known.to(device), keep.to(device, known.dtype)
        x = randn(tuple(known.shape), generators, device=device)
        o = self.options
        out = sample_ddim(
            self._denoiser(),
            x,
            self.diffusion,
            keep=keep,
            known=known,
            variance=o.variance if o.eta is None else None,
            eta=o.eta,
            clip_denoised=o.clip_denoised,
            extra_args=self._extra_args(known, keep),
            generator=generators,
            callback=callback,
            progress=self.progress,
        )
        return out.clamp(-1, 1)
