"""RealFill on Stable Diffusion's inpainting pipeline, the paper's own setting (Tang et al.
2024, section 4: Stable Diffusion 2 inpainting; the public training script's recipe).

With ``--model`` a diffusers StableDiffusionInpaintPipeline folder (e.g. a local copy of
stable-diffusion-2-inpainting), the fit puts LoRA (rank 8, alpha 16, dropout 0.1) on the UNet's
attention projections (to_q/to_k/to_v/to_out.0) and on the CLIP text encoder's
(q_proj/k_proj/v_proj/out_proj), with learning rates 2e-4 and 4e-5 (ours: the options fit_lr and
text_lr), and trains on the prompt "a photo of sks", emptied with probability 0.1. The UNet sees
nine channels: the noisy latent (4), the hole downsampled to the latent grid (1) and the masked
image's latent (4); the loss is the eps-MSE on the latent grid weighted by the (downsampled)
known pixels. Sampling: the pipeline with a DDPM scheduler, 200 steps (option steps) and
guidance scale 1 (no classifier-free guidance), the prompt "a photo of sks".

The adapter file holds both LoRAs (peft's own save and load, :mod:`.lora`'s format with the
networks "unet" and "text_encoder"): diffusers' ``save_lora_weights`` / ``load_lora_weights``
would place the text encoder's part through transformers' adapter API, which in transformers
5.24 needs peft >= 0.22 (0.21.2 is installed here). Runs on "cuda" when asked (``--device``).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ...errors import InpaintkitError
from ...io import keep_to_hole, tensor_to_images
from .fit import FitImage, FitSettings, fit_lora, realfill_loss
from .lora import LoraSettings, add_lora, load_adapter, lora_parameters, save_adapter

PROMPT = "a photo of sks"
UNET_TARGETS = ("to_q", "to_k", "to_v", "to_out.0")
TEXT_TARGETS = ("q_proj", "k_proj", "v_proj", "out_proj")


class StableDiffusionLoss:
    """The fit's loss for the pipeline's UNet (see the module docstring). Randomness (VAE
    posterior samples, t, eps, the prompt drop) comes from the fit's generator."""

    def __init__(self, pipe: object, prompt_drop: float) -> None:
        from diffusers import DDPMScheduler

        self.pipe, self.prompt_drop = pipe, prompt_drop
        self.scheduler = DDPMScheduler.from_config(pipe.scheduler.config)

    def __call__(
        self, unet: torch.nn.Module, batch: dict, generator: torch.Generator
    ) -> torch.Tensor:
        pipe = self.pipe
        device, dtype = unet.device, unet.dtype
        images = batch["image"].to(device, dtype)
        hole, weight = batch["hole"].to(device, dtype), batch["weight"].to(device, dtype)
        scale = pipe.vae.config.scaling_factor
        with torch.no_grad():
            latents = pipe.vae.encode(images).latent_dist.sample(generator) * scale
            masked = pipe.vae.encode(images * (1 - hole)).latent_dist.sample(generator) * scale
        grid = latents.shape[2:]
        mask, weight = F.interpolate(hole, size=grid), F.interpolate(weight, size=grid)
        b = latents.shape[0]
        noise = torch.randn(latents.shape, generator=generator).to(device, dtype)
        t = torch.randint(0, self.scheduler.config.num_train_timesteps, (b,), generator=generator)
        noisy = self.scheduler.add_noise(latents, noise, t.to(device))
        drop = torch.rand(b, generator=generator) < self.prompt_drop
        ids = pipe.tokenizer(
            ["" if d else PROMPT for d in drop.tolist()], padding="max_length",
            max_length=pipe.tokenizer.model_max_length, truncation=True, return_tensors="pt",
        ).input_ids.to(device)  # fmt: skip
        pipe.text_encoder.train()
        hidden = pipe.text_encoder(ids)[0]
        pred = unet(torch.cat([noisy, mask, masked], dim=1), t.to(device), hidden).sample
        return realfill_loss(pred, noise, weight)


class StableDiffusionBackend:
    """RealFill's fit and sampling for a StableDiffusionInpaintPipeline (kind
    "stable-diffusion-inpaint"). :meth:`load` reads a pipeline folder (no safety checker);
    :meth:`bind` gives a method its own backend. The pipeline's UNet and text encoder stay as
    loaded; a fit or a loaded adapter puts adapted copies in the pipeline (peft's
    ``inject_adapter_in_model``), and ``base=True`` sampling swaps the originals back in."""

    kind = "stable-diffusion-inpaint"

    def __init__(self, pipe: object, source: str) -> None:
        self.pipe, self.source = pipe, source
        self.originals = {"unet": pipe.unet, "text_encoder": pipe.text_encoder}
        self.options: object = None
        self.progress = True
        self.lora: LoraSettings | None = None

    @classmethod
    def load(cls, folder: str | Path, device: str | torch.device = "cpu") -> StableDiffusionBackend:
        """The pipeline of ``folder`` (local files only) on ``device``."""
        from diffusers import StableDiffusionInpaintPipeline

        try:
            pipe = StableDiffusionInpaintPipeline.from_pretrained(
                str(folder), safety_checker=None, requires_safety_checker=False,
                local_files_only=True,
            )  # fmt: skip
        except (OSError, ValueError) as err:
            raise InpaintkitError(f"cannot load the inpainting pipeline {folder}: {err}") from err
        for part in (pipe.unet, pipe.vae, pipe.text_encoder):
            part.requires_grad_(False).eval()
        pipe.set_progress_bar_config(disable=True)
        return cls(pipe.to(device), str(folder))

    def bind(self, options: object, progress: bool) -> StableDiffusionBackend:
        """A backend of its own for one method (sharing the loaded networks, which no fit
        changes)."""
        bound = StableDiffusionBackend(copy.copy(self.pipe), self.source)
        bound.options, bound.progress = options, progress
        return bound

    @property
    def image_size(self) -> int:
        size = self.pipe.unet.config.sample_size
        size = size[0] if isinstance(size, (list, tuple)) else size
        return int(size) * int(self.pipe.vae_scale_factor)

    @property
    def device(self) -> torch.device:
        return self.pipe.unet.device

    @property
    def fitted(self) -> bool:
        return self.lora is not None

    def _use(self, parts: dict[str, torch.nn.Module], lora: LoraSettings) -> None:
        self.pipe.register_modules(**{k: v.eval() for k, v in parts.items()})
        self.lora = lora

    def fit(
        self, items: Sequence[FitImage], settings: FitSettings, lora: LoraSettings, *, seed: int
    ) -> dict[str, float]:
        """Fit fresh adapters on ``items`` (see the module docstring); returns the stats."""
        unet = add_lora(self.originals["unet"], lora, UNET_TARGETS, seed=seed)
        text = add_lora(self.originals["text_encoder"], lora, TEXT_TARGETS, seed=seed + 1)
        self.pipe.register_modules(unet=unet, text_encoder=text)
        loss = StableDiffusionLoss(self.pipe, self.options.prompt_drop)
        stats = fit_lora(
            unet, items, loss, self.image_size, settings, seed=seed, progress=self.progress,
            extra_params=[(lora_parameters(text), self.options.text_lr)],
        )  # fmt: skip
        self._use({"unet": unet, "text_encoder": text}, lora)
        return stats

    @torch.no_grad()
    def raw(
        self,
        known: torch.Tensor,
        keep: torch.Tensor,
        generators: list[torch.Generator],
        *,
        base: bool = False,
        callback: object = None,
    ) -> torch.Tensor:
        """The pipeline's samples [B,3,S,S] in [-1,1] (DDPM, options.steps, guidance 1), known
        pixels as the VAE returns them; ``base``: without the adapters."""
        from diffusers import DDPMScheduler

        if not (self.fitted or base):
            raise InpaintkitError(
                "RealFill has no adapter yet: call fit(references, targets=...) first, or "
                "give a saved one (option adapter=FILE, CLI --adapter FILE)"
            )
        pipe, size = copy.copy(self.pipe), self.image_size
        if base:
            pipe.register_modules(**self.originals)
        pipe.scheduler = DDPMScheduler.from_config(pipe.scheduler.config)
        pipe.set_progress_bar_config(disable=not self.progress)
        images = tensor_to_images(known.cpu())
        masks = [Image.fromarray(keep_to_hole(k[0]).astype(np.uint8) * 255) for k in keep.cpu()]
        out = pipe(
            prompt=[PROMPT] * len(images), image=images, mask_image=masks, height=size,
            width=size, num_inference_steps=self.options.steps, guidance_scale=1.0,
            strength=1.0, generator=list(generators), output_type="np",
        ).images  # fmt: skip
        return torch.from_numpy(np.asarray(out, np.float32)).permute(0, 3, 1, 2) * 2 - 1

    def save_adapter(self, path: str | Path) -> Path:
        """Write both adapters as one file (:func:`.lora.save_adapter`)."""
        if self.lora is None:
            raise InpaintkitError("RealFill has no fitted adapter to save: fit first")
        parts = {"unet": self.pipe.unet, "text_encoder": self.pipe.text_encoder}
        targets = {"unet": UNET_TARGETS, "text_encoder": TEXT_TARGETS}
        return save_adapter(path, parts, self.lora, self.source, backend=self.kind, targets=targets)

    def load_adapter(self, path: str | Path) -> dict:
        """Use a saved adapter of this pipeline; returns its metadata."""
        parts, metadata = load_adapter(path, self.originals, backend=self.kind)
        self._use({k: v.to(self.device) for k, v in parts.items()}, metadata["lora"])
        return metadata


__all__ = [
    "PROMPT",
    "StableDiffusionBackend",
    "StableDiffusionLoss",
    "TEXT_TARGETS",
    "UNET_TARGETS",
]
