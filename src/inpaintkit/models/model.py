"""A loaded diffusion prior: the network plus what is needed to interpret its outputs."""

from __future__ import annotations

import copy
import threading
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np
import torch
from diffusers import UNet2DModel

from ..diffusion.denoiser import Denoiser
from ..diffusion.schedules import make_betas
from .kinds import ModelBase
from .runtime import Runtime, resolve_runtime
from .spec import DiffusionConfig


@dataclass(eq=False)
class DiffusionModel(ModelBase):
    """Kind "prior": a diffusers UNet2DModel and the training process it was trained on.

    unet: the network; called with the ORIGINAL training timestep index (DESIGN rule 3).
    config: the diffusion process and output parameterisation (learned variance is stated
        there, never inferred from the channel counts).
    source: where it came from (a path, a hub id, "embedded:<name>"), for logs and saved configs.
    card: the model card text, when the checkpoint carries one.
    Nothing here changes ``unet``'s weights: runtime variants (channels_last, compiled) are
    copies cached on the model (see :meth:`denoiser`).
    """

    kind = "prior"

    unet: UNet2DModel
    config: DiffusionConfig = field(default_factory=DiffusionConfig)
    source: str = ""
    card: str = ""
    _variants: dict = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def image_size(self) -> int:
        size = self.unet.config.sample_size
        return int(size[0] if isinstance(size, (list, tuple)) else size)

    @property
    def channels(self) -> int:
        """Image channels C (the network's input channels for a prior)."""
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

    def networks(self) -> dict[str, torch.nn.Module]:
        return {"unet": self.unet}

    def process_config(self) -> dict:
        return {"diffusion": self.config.as_dict()}

    @classmethod
    def from_networks(
        cls, networks: dict, process: dict, *, source: str = "", card: str = ""
    ) -> DiffusionModel:
        return cls(networks["unet"], DiffusionConfig.from_dict(process["diffusion"]), source, card)

    def to(self, device: str | torch.device) -> DiffusionModel:
        with self._lock:
            self._variants.clear()
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
            auto. The model's own ``unet`` is never changed: a copy with channels_last weights
            is made on first use and cached on the model (remade when ``unet`` is replaced or
            its weights change in place), so denoisers of one shared model may be used in any
            order, from several threads, and ``unet`` stays as loaded.
        compile: run ``torch.compile`` of the network (inductor; of the channels_last copy when
            that is asked for); the compiled module is cached on this model, its first call
            compiles (about a minute on a CPU), and it is numerically close to, not
            bit-identical with, the eager network.
        Raises InpaintkitError for an unknown precision and for fp16 on a CPU (see
        :func:`~inpaintkit.models.runtime.resolve_runtime`).
        """
        runtime = self.runtime(precision, channels_last, compile)
        return Denoiser(
            self._net(runtime),
            prediction=self.config.prediction,
            learned_variance=self.config.learned_variance,
            alphas_cumprod=np.cumprod(1.0 - self.betas),
            runtime=runtime,
        )

    def _net(self, runtime: Runtime):
        """``net(x, t, class_labels=None) -> raw output [B, C or 2C, H, W]`` float32 NCHW."""
        unet = self.runtime_network(runtime)
        dtype, device_type = runtime.autocast_dtype, runtime.device_type
        memory_format = runtime.memory_format
        if dtype is None and not runtime.channels_last:

            def net(
                x: torch.Tensor, t: torch.Tensor, class_labels: torch.Tensor | None = None
            ) -> torch.Tensor:
                return unet(x, t, class_labels=class_labels).sample

        else:

            def net(
                x: torch.Tensor, t: torch.Tensor, class_labels: torch.Tensor | None = None
            ) -> torch.Tensor:
                x = x.contiguous(memory_format=memory_format)
                cast = nullcontext() if dtype is None else torch.autocast(device_type, dtype)
                with cast:
                    out = unet(x, t, class_labels=class_labels).sample
                return out.float().contiguous()  # the sampler works in float32, NCHW

        return net

    def runtime_network(self, runtime: Runtime) -> torch.nn.Module:
        """The module that runs ``unet`` under ``runtime``: ``unet`` itself, or a cached copy
        in channels_last, or a cached ``torch.compile`` of either. ``unet`` is never changed."""
        key = (runtime.channels_last, runtime.compile)
        if key == (False, False):
            return self.unet
        stamp = (id(self.unet), _weights_version(self.unet))
        with self._lock:
            cached = self._variants.get(key)
            if cached is None or cached[0] != stamp:
                module = self.unet
                if runtime.channels_last:
                    module = copy.deepcopy(module).to(memory_format=torch.channels_last)
                if runtime.compile:
                    module = torch.compile(module)
                cached = self._variants[key] = (stamp, module)
            return cached[1]

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.unet.parameters())

    def __getstate__(self) -> dict:
        """Pickle / deepcopy without the lock and the runtime variants (remade on use)."""
        return {**self.__dict__, "_variants": {}, "_lock": None}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()


def _weights_version(module: torch.nn.Module) -> int:
    """Sum of the tensors' in-place version counters: changes when any weight is modified."""
    return sum(t._version for t in (*module.parameters(), *module.buffers()))
