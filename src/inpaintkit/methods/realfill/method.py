"""Method "realfill": reference-driven inpainting (Tang et al., "RealFill: Reference-Driven
Generation for Authentic Image Completion", SIGGRAPH 2024).

Three stages (docs/realfill.md):

1. fit -- LoRA on a conditional inpainting diffusion model, trained on the references and the
   target's known pixels with RealFill's random rectangle holes (:mod:`.fit`, :mod:`.lora`);
2. sample -- K samples of the adapted model, the mask dilated and blurred, each sample
   alpha-blended onto the target (:mod:`.sample`);
3. select -- the samples ranked by SIFT correspondences with the references (:mod:`.select`;
   the paper's LoFTR has no weights offline).

Two backends: our pixel-space conditional model (kind "conditional-diffusion", default the
shipped "inpaint32" once trained; :mod:`.pixel`) and a diffusers StableDiffusionInpaintPipeline
folder, the paper's own setting (:mod:`.sd`).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from PIL import Image

from ...errors import InpaintkitError
from ...options import option
from ..base import Callback, Needs, ReferenceMethod
from ..conditional.ddpm import InpaintDDPM, InpaintDDPMOptions
from .complete import RealFillResult, run_complete
from .fit import RESIZE_SCALE, FitImage, FitSettings
from .lora import LoraSettings
from .sample import feather_mask

DEFAULT_MODEL = "inpaint32"
PIXEL_SAMPLER_KNOBS = ("eta", "variance")  # None by default; the SD route has neither
# The fit's random resize (RandomResize(R, 1.125 R) in the public script) is kept from this size
# up. At 32 px it costs what the fit should gain: on a tune emoji fitted on its own truth, the
# hole eps-MSE at t = 50 went from 0.044 (base) to 0.082 with it and 0.042 without.
FULL_RESIZE_FROM = 256


@dataclass(frozen=True)
class RealFillOptions(InpaintDDPMOptions):
    """The sampler's knobs (as inpaint-ddpm's; RealFill samples 200 DDPM steps), the fit's and
    the adapter's. Fit defaults are sized for a CPU (400 steps of 4 rows, lr 5e-4); the paper
    fits 2000 steps of 16 rows at lr 2e-4 on a GPU."""

    HEADLINE: ClassVar[tuple[str, ...]] = ("steps", "fit_steps")

    steps: int = 200
    fit_steps: int = option(400, help="LoRA fit steps", min=1)
    fit_batch: int = option(4, help="training rows per fit step", min=1)
    fit_lr: float = option(
        5e-4, help="AdamW learning rate of the UNet's LoRA", min=0, min_exclusive=True
    )
    text_lr: float = option(
        4e-5, help="learning rate of the text encoder's LoRA (Stable Diffusion route)", min=0
    )
    rank: int = option(8, help="LoRA rank", min=1)
    alpha: float = option(16.0, help="LoRA alpha (the update is scaled by alpha / rank)", min=0)
    dropout: float = option(0.1, help="LoRA dropout", min=0, max=1, max_exclusive=True)
    lora_convs: bool = option(False, help="LoRA on the ResNet convolutions too")
    full_mask_proba: float = option(0.1, help="probability of a full training hole", min=0, max=1)
    fit_scale: float | None = option(
        None, help="largest random resize of a fit view (the public script's 1.125); none = "
        f"1.125 from {FULL_RESIZE_FROM} px, else 1.0 (a resize blurs and shifts a small image)",
        min=1,
    )  # fmt: skip
    prompt_drop: float = option(
        0.1, help="probability of an empty prompt in the fit (Stable Diffusion route)", min=0, max=1
    )
    adapter: str | None = option(None, help="a saved adapter file: use it, skip the fit")
    select_size: int = option(256, help="px the images are upscaled to for SIFT", min=32)

    def lora(self) -> LoraSettings:
        return LoraSettings(self.rank, self.alpha, self.dropout, self.lora_convs)

    def resolved_fit_scale(self, size: int) -> float:
        """fit_scale, or its default for images of ``size`` px."""
        return self.fit_scale or (RESIZE_SCALE if size >= FULL_RESIZE_FROM else 1.0)

    def fit_settings(self, steps: int | None = None, size: int = 512) -> FitSettings:
        """The fit's settings for images of ``size`` px."""
        return FitSettings(
            steps=steps or self.fit_steps, batch=self.fit_batch, lr=self.fit_lr,
            full_mask_proba=self.full_mask_proba, max_scale=self.resolved_fit_scale(size),
        )  # fmt: skip


def is_pipeline_folder(spec: object) -> bool:
    """True for a folder holding a diffusers StableDiffusionInpaintPipeline (model_index.json)."""
    if not isinstance(spec, (str, os.PathLike)):
        return False
    index = Path(spec).expanduser() / "model_index.json"
    return index.is_file() and "StableDiffusionInpaintPipeline" in index.read_text()


class RealFill(ReferenceMethod):
    """RealFill (see the module docstring). options: :class:`RealFillOptions`. model: a
    conditional-diffusion model or load_model spec, or a StableDiffusionInpaintPipeline folder
    (None: the shipped "inpaint32"). device: where the model runs ("cuda" when available is
    the user's choice). progress: bars for the fit and the sampler.

    Use: ``fit(references, targets=[(image, hole)])`` once (or ``options.adapter``), then call
    it as any method (the wrapper keeps known pixels exact) or :meth:`complete` for the
    feathered blend and the ranking."""

    name = "realfill"
    summary = (
        "RealFill: LoRA-fit a conditional inpainting model on reference photos, sample, "
        "rank by SIFT matches (default model inpaint32)"
    )
    Options = RealFillOptions
    needs = Needs("conditional-diffusion", references=True)
    default_model: ClassVar[str | None] = DEFAULT_MODEL
    recipe = InpaintDDPM.recipe

    @classmethod
    def cost(cls, options: RealFillOptions) -> dict[str, int]:
        """{"network_evaluations": steps} per sampled batch (the fit is apart)."""
        return {"network_evaluations": options.steps}

    @classmethod
    def for_budget(
        cls,
        options: RealFillOptions,
        budget: int,
        max_steps: int | None = None,
        fixed: Collection[str] = (),
    ) -> RealFillOptions:
        return InpaintDDPM.for_budget(options, budget, max_steps, fixed)

    @classmethod
    def resolve_model(cls, model: object | None, device: str | torch.device = "cpu") -> object:
        """A loaded conditional-diffusion model, or the Stable Diffusion backend for a pipeline
        folder. Without a model: "inpaint32" (Method.model_spec names ``recipe`` when it is missing;
        --model also takes a StableDiffusionInpaintPipeline folder)."""
        if is_pipeline_folder(model):
            from .sd import StableDiffusionBackend

            return StableDiffusionBackend.load(model, device)
        if getattr(model, "kind", None) == "stable-diffusion-inpaint":
            return model
        return super().resolve_model(model, device)

    def __init__(
        self,
        options: RealFillOptions | None = None,
        *,
        model: object | None = None,
        device: str | torch.device = "cpu",
        class_label: int | None = None,
        progress: bool = True,
    ) -> None:
        self.options = options or self.Options()
        loaded = self.resolve_model(model, device)
        if class_label is not None:
            raise InpaintkitError("realfill takes no class label; drop --class-label")
        if getattr(loaded, "kind", None) == "stable-diffusion-inpaint":
            # the pipeline samples plainly (the paper's recipe): project's default, replace, has
            # no effect there, and the other pixel-sampler knobs are refused
            pixel_only = [k for k in PIXEL_SAMPLER_KNOBS if getattr(self.options, k) is not None]
            if self.options.project == "null-space":
                pixel_only.append("project=null-space")
            if pixel_only:
                raise InpaintkitError(
                    f"{', '.join(pixel_only)} apply to pixel-space models only: the Stable "
                    "Diffusion route samples with diffusers' DDPMScheduler (the paper's recipe)"
                )
            self.backend = loaded.bind(self.options, progress)
        else:
            from .pixel import PixelBackend

            self.backend = PixelBackend(loaded, self.options, progress)
            total = len(loaded.betas)
            if self.options.steps > total:
                raise InpaintkitError(
                    f"steps={self.options.steps} exceeds the {total} training timesteps of "
                    f"{loaded.source}; choose steps in 1..{total}"
                )
        self.model = loaded
        self.progress = progress
        self.fit_stats: dict[str, float] | None = None
        if self.options.adapter:
            self.load_adapter(self.options.adapter)

    @property
    def image_size(self) -> int:
        return self.backend.image_size

    @property
    def fitted(self) -> bool:
        """Whether an adapter is in use (fitted or loaded)."""
        return self.backend.fitted

    def config(self) -> dict:
        from dataclasses import asdict

        return {"method": self.name, "model": self.backend.source, **asdict(self.options)}

    def fit(
        self,
        references: list[Image.Image],
        *,
        steps: int | None = None,
        seed: int = 0,
        progress: bool = True,
        targets: Sequence[tuple[Image.Image, np.ndarray]] = (),
    ) -> dict[str, float]:
        """Fit a LoRA adapter on ``references`` (RGB images) and ``targets`` ((RGB image, bool
        hole) pairs: their known pixels train too) for ``steps`` (default options.fit_steps);
        returns {"loss", "first_loss", "seconds", "seconds_per_step", "steps"}. With no
        references, the fit sees the targets' known pixels alone (a diagnostic)."""
        if not references and not targets:
            raise InpaintkitError("realfill needs at least one reference image (--ref FILE)")
        items = [FitImage(np.asarray(r.convert("RGB"))) for r in references]
        items += [
            FitImage(np.asarray(img.convert("RGB")), ~np.asarray(h, bool)) for img, h in targets
        ]
        progress_before = self.backend.progress
        self.backend.progress = progress and self.progress
        try:
            self.fit_stats = self.backend.fit(
                items,
                self.options.fit_settings(steps, self.image_size),
                self.options.lora(),
                seed=seed,
            )
        finally:
            self.backend.progress = progress_before
        return self.fit_stats

    def time_network(self, batch: int, height: int, width: int) -> float:
        """Seconds of one network evaluation as sampling makes it (``--dry-run``): the base
        model's, which the adapter does not change in cost (our conditional model only)."""
        if self.backend.kind != "conditional-diffusion":
            raise InpaintkitError("--dry-run times our conditional models only")
        return self.backend.sampler(base=True).time_network(batch, height, width)

    def save_adapter(self, path: str | Path) -> Path:
        """Write the adapter in use, to reuse with ``adapter=FILE`` without fitting."""
        return self.backend.save_adapter(path)

    def load_adapter(self, path: str | Path) -> dict:
        """Use a saved adapter instead of fitting."""
        return self.backend.load_adapter(path)

    def __call__(
        self,
        known: torch.Tensor,
        keep: torch.Tensor,
        *,
        generators: list[torch.Generator],
        callback: Callback | None = None,
    ) -> torch.Tensor:
        """Samples [B,3,H,W] in [-1,1] blended onto ``known`` with RealFill's feathered mask
        (the wrapper then restores the known pixels exactly)."""
        raw = self.backend.raw(known, keep, generators, callback=callback).to(known)
        holes = (keep[:, 0] < 0.5).cpu().numpy()
        alpha = torch.from_numpy(np.stack([feather_mask(h) for h in holes]))[:, None]
        alpha = alpha.to(known)
        return alpha * raw + (1 - alpha) * known

    def complete(
        self,
        target: Image.Image,
        hole: np.ndarray,
        references: Sequence[Image.Image],
        *,
        samples: int = 16,
        seed: int = 0,
        batch_size: int = 8,
        base: bool = False,
    ) -> RealFillResult:
        """RealFill's sample and select stages on one target: ``samples`` samples of the
        adapted model (``base``: of the model without the adapter), blended onto ``target``
        (any size: the model sees it resized to its square, the fill is resized back) with the
        feathered ``hole`` (bool, True = hole), ranked by SIFT correspondences with
        ``references``. Sample k draws from ``wrapper.sample_seed(seed, 0, k)``."""
        return run_complete(
            self, target, hole, references, samples=samples, seed=seed,
            batch_size=batch_size, base=base,
        )  # fmt: skip


__all__ = ["DEFAULT_MODEL", "RealFill", "RealFillOptions", "RealFillResult", "is_pipeline_folder"]
