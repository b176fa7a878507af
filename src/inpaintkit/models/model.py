"""A loaded diffusion model: the network plus what is needed to interpret its outputs."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np
import torch
from diffusers import UNet2DModel

from ..diffusion.denoiser import Denoiser
from ..diffusion.schedules import make_betas
from .runtime import Runtime, resolve_runtime
from .spec import DiffusionConfig


@dataclass
class DiffusionModel:
    """A diffusers UNet2DModel and the training process it was trained on.

    unet: the network; called with the ORIGINAL training timestep index (DESIGN rule 3).
    config: the diffusion process and output parameterisation.
    source: where it came from (a path, a hub id, "default:<name>"), for logs and saved configs.
    card: the model card text, when the checkpoint carries one.
    """

    unet: UNet2DModel
    config: DiffusionConfig = field(default_factory=DiffusionConfig)
    source: str = ""
    card: str = ""
    _compiled: torch.nn.Module | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def image_size(self) -> int:
        size = self.unet.config.sample_size
        return int(size[0] if isinstance(size, (list, tuple)) else size)

    @property
    def channels(self) -> int:
        return int(self.unet.config.in_channels)

    @property
    def num_classes(self) -> int | None:
        return self.unet.config.num_class_embeds

    @property
    def betas(self) -> np.ndarray:
        """Training betas, float64 [T]."""
        c = self.config
        return make_betas(c.beta_schedule, c.num_train_timesteps, c.beta_start, c.beta_end)

    @property
    def device(self) -> torch.device:
        return next(self.unet.parameters()).device

    def to(self, device: str | torch.device) -> DiffusionModel:
        self.unet.to(device)
        return self

    def runtime(
        self,
        precision: str = "fp32",
        channels_last: bool | None = False,
        compile: bool = False,
    ) -> Runtime:
        """The runtime knobs resolved for this model's device (see :mod:`.runtime`)."""
        return resolve_runtime(self.device, precision, channels_last, compile)

    def denoiser(
        self,
        precision: str = "fp32",
        channels_last: bool | None = False,
        compile: bool = False,
    ) -> Denoiser:
        """The network wrapped for the samplers (eps and variance values from raw outputs).

        precision: "fp32" (default: the network as stored, no autocast, the same bits as
            ever), "bf16", "fp16" or "auto" (the table in :mod:`inpaintkit.models.runtime` for
            this model's device). A low precision runs the network under ``torch.autocast``;
            eps and variance values are returned as float32 either way, so the sampler's
            arithmetic stays in float32/float64.
        channels_last: True runs the network in channels_last (NHWC) memory format; None =
            auto. This MUTATES the model: whenever the denoiser is called, the UNet's 4-D
            weights are converted in place to its format if they are not in it already
            (channels_last, or back to contiguous for False). So denoisers of one shared model
            may be interleaved (each call runs in its own format; a switch costs one copy of
            the weights), and a False undoes an earlier True.
        compile: run ``torch.compile(unet)`` (inductor); the compiled module is cached on this
            model, its first call compiles (about a minute on a CPU), and it is numerically
            close to, not bit-identical with, the eager network.
        Raises InpaintkitError for an unknown precision and for fp16 on a CPU (see
        :func:`~inpaintkit.models.runtime.resolve_runtime`).
        """
        runtime = self.runtime(precision, channels_last, compile)
        unet = self._compiled_unet() if runtime.compile else self.unet
        dtype, device_type = runtime.autocast_dtype, runtime.device_type
        memory_format, use_format = runtime.memory_format, self._use_memory_format
        if dtype is None and not runtime.channels_last:

            def net(x: torch.Tensor, t: torch.Tensor, class_labels=None) -> torch.Tensor:
                use_format(memory_format)
                return unet(x, t, class_labels=class_labels).sample

        else:

            def net(x: torch.Tensor, t: torch.Tensor, class_labels=None) -> torch.Tensor:
                use_format(memory_format)
                x = x.contiguous(memory_format=memory_format)
                cast = nullcontext() if dtype is None else torch.autocast(device_type, dtype)
                with cast:
                    out = unet(x, t, class_labels=class_labels).sample
                return out.float().contiguous()  # the sampler works in float32, NCHW

        return Denoiser(
            net,
            prediction=self.config.prediction,
            learned_variance=self.config.learned_variance,
            alphas_cumprod=np.cumprod(1.0 - self.betas),
            runtime=runtime,
        )

    def _use_memory_format(self, memory_format: torch.memory_format) -> None:
        """Convert the UNet's 4-D weights in place to ``memory_format`` unless they are in it
        (checked on conv_in's weight: about a microsecond per network call)."""
        if not self.unet.conv_in.weight.is_contiguous(memory_format=memory_format):
            self.unet.to(memory_format=memory_format)

    def _compiled_unet(self) -> torch.nn.Module:
        """``torch.compile(self.unet)``, made once per model (torch's guards recompile it when
        the batch size, precision or memory format changes)."""
        if self._compiled is None:
            self._compiled = torch.compile(self.unet)
        return self._compiled

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.unet.parameters())
