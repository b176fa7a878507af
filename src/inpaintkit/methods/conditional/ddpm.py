"""Method "inpaint-ddpm": sample a conditional inpainting diffusion model.

The model (kind "conditional-diffusion", :class:`~inpaintkit.models.ConditionalDiffusionModel`)
is trained to denoise x_t GIVEN the hole mask and the masked image, stacked as input channels in
Stable Diffusion inpainting's layout (Rombach et al., "High-Resolution Image Synthesis with
Latent Diffusion Models", CVPR 2022; the inpainting checkpoint's UNet takes
``cat([x_t, mask, masked_image])``), here in pixel space. No resampling is needed inside the
loop (unlike RePaint on a prior): the sampler descends the process once, with the conditioning
passed to every network call as ``extra_args = model.conditioning(known, keep)`` ({"hole",
"masked"}).

Steps: DDPM's ancestral step (Ho et al. 2020, Algorithm 2) when ``eta`` is None (default), or
DDIM's step (Song, Meng, Ermon, "Denoising Diffusion Implicit Models", ICLR 2021, eq. 12) with
that eta (0 = deterministic) on a respaced schedule of ``steps`` of the training timesteps.
One network evaluation per step and batch. Known pixels are pasted back once, by the wrapper.

``project`` also applies a prior method's conditioning at every step, on top of the network's
own: "replace" (the default) swaps the known pixels of x_{t-1} for a forward-noised copy of the
input (RePaint eq. 8, no resampling; :func:`~inpaintkit.diffusion.samplers.sample_repaint` on
a straight walk), "null-space" swaps them in the predicted x_0 before the step (DDNM eq. 13),
None descends plainly (:func:`~inpaintkit.diffusion.samplers.sample_ddim`), as Stable
Diffusion inpainting does. Neither projection costs a network evaluation. They pin the known
region where a network reads its condition channels loosely: ``inpaint32``'s known-pixel
error at low noise stays far from zero (``docs/realfill.md``), and on 50 tune emoji "replace"
raised hole PSNR by 2.0-2.9 dB on the four wide and thin masks over None (null-space 1.6-2.7;
``docs/benchmarks.md``), so it was chosen as the default there.
The default model is the embedded ``inpaint32`` (32x32 emoji); ``--model FILE`` runs another
(e.g. ``inpaintkit train`` on the "inpaint32-tiny" preset, then export).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import ClassVar

import torch

from ...diffusion.noise import randn
from ...diffusion.samplers import CONDITIONS, sample_ddim, sample_repaint
from ...diffusion.schedules import repaint_times
from ...errors import InpaintkitError
from ...models import ConditionalDiffusionModel
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


@dataclass(frozen=True)
class InpaintDDPMOptions(Options):
    """The sampler's knobs; defaults: 50 evenly spaced DDPM steps with RePaint's replacement of
    the known pixels at every step, x0 clipped, fp32-or-auto runtime as RePaint's.

    steps: respaced reverse steps (at most the model's training timesteps). spacing: "even",
    "leading", "quadratic" or "power<p>". variance: None = the model's (learned range when it
    has one, else fixed small; DDPM steps only). eta: None = DDPM steps; a number in [0, 1] =
    DDIM steps with that eta. project: "replace" / "null-space" also conditions every step on
    the known pixels as RePaint / DDNM do (module docstring; the known pixels are then pasted
    even where ``sample(paste=False)``); None = the network's conditioning only.
    clip_denoised: clip x0_hat to [-1, 1]. precision, channels_last, compile: how the network
    runs (as :class:`~inpaintkit.methods.diffusion.WalkOptions`).
    """

    HEADLINE: ClassVar[tuple[str, ...]] = ("steps", "eta")

    steps: int = option(50, help="respaced reverse steps (one network evaluation each)", min=1)
    spacing: str = spacing_option()
    variance: str | None = variance_option()
    eta: float | None = option(
        None, help="none = DDPM steps; a number = DDIM steps with that eta", min=0, max=1
    )
    project: str | None = option(
        "replace",
        help="replace / null-space = RePaint's / DDNM's conditioning at every step too; none = "
        "the network's only",
        choices=CONDITIONS,
    )
    clip_denoised: bool = clip_option()
    precision: str = precision_option()
    channels_last: bool | None = channels_last_option()
    compile: bool = compile_option()

    def check(self) -> None:
        check_runtime(self)


class InpaintDDPM(SamplingMethod):
    """DDPM/DDIM sampling of a conditional inpainting diffusion model (see the module docstring).

    options: :class:`InpaintDDPMOptions`. model: a ConditionalDiffusionModel or a load_model
    spec; None runs the embedded "inpaint32". device: where a spec is loaded. class_label: for
    class-conditional networks. progress: a progress bar per batch.
    Same seed, same bytes: all noise comes from the per-row generators.
    """

    name = "inpaint-ddpm"
    summary = (
        "a conditional inpainting diffusion model, DDPM or DDIM steps (default model inpaint32)"
    )
    Options = InpaintDDPMOptions
    needs = Needs("conditional-diffusion")
    default_model: ClassVar[str | None] = "inpaint32"
    recipe = (
        "inpaintkit train emoji:google+twitter:fit --preset inpaint32 --objective "
        "conditional-ddpm --holes rectangles+thin+medium+thick+wide+narrow+sr2x+altlines+half+"
        "expand --steps 6000 --batch-size 32 --lr 2e-4 -o init_from=emoji32-v2 "
        "-o augment=hflip=0.5,hue=0.5,saturation=0.15,colour_p=0.25 -o warmup_steps=100 "
        "-o mixed_precision=bf16 -o ema_decay=0.999"
    )

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
        model = self.resolve_model(model, device)
        options = options or self.Options()
        total = len(model.betas)
        if options.steps > total:
            raise InpaintkitError(
                f"steps={options.steps} exceeds the {total} training timesteps of "
                f"{model.source}; choose steps in 1..{total}"
            )
        super().__init__(options, model=model, class_label=class_label, progress=progress)

    def extra_args(self, known: torch.Tensor, keep: torch.Tensor) -> dict[str, torch.Tensor]:
        """The model's conditioning channels ({"hole", "masked"}) and, for a class-conditional
        model, the class labels: what every network call gets besides x_t and t."""
        return {**self.model.conditioning(known, keep), **super().extra_args(known, keep)}

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
        return self.sample(known, keep, generators=generators, callback=callback, paste=True)

    def sample(
        self,
        known: torch.Tensor,
        keep: torch.Tensor,
        *,
        generators: list[torch.Generator],
        callback: Callback | None = None,
        paste: bool = True,
    ) -> torch.Tensor:
        """As ``__call__``; ``paste=False`` leaves the known pixels as the network made them
        (RealFill blends its samples itself)."""
        device = self.model.device
        known, keep = known.to(device), keep.to(device, known.dtype)
        x = randn(tuple(known.shape), generators, device=device)
        o = self.options
        common = dict(
            variance=o.variance if o.eta is None else None,
            eta=o.eta,
            clip_denoised=o.clip_denoised,
            extra_args=self.extra_args(known, keep),
            generator=generators,
            callback=callback,
            progress=self.progress,
        )
        if o.project is None:
            keep_, known_ = (keep, known) if paste else (None, None)
            out = sample_ddim(
                self.denoiser(), x, self.diffusion, keep=keep_, known=known_, **common
            )
        else:  # RePaint's sampler on its walk without resampling: straight down
            times = repaint_times(self.diffusion.num_steps, resamplings=1)
            out = sample_repaint(
                self.denoiser(), x, self.diffusion, keep=keep, known=known, times=times,
                condition=o.project, **common,
            )  # fmt: skip
        return out.clamp(-1, 1)
