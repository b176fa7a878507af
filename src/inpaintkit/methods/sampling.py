"""What every method that samples a diffusion model shares (RePaint and its variants on a prior,
inpaint-ddpm on a conditional model): the sampler knobs declared once, the model (kind checked),
the class label, the runtime and the network call as the sampler makes it."""

from __future__ import annotations

import time
from dataclasses import asdict

import torch

from ..diffusion.denoiser import Denoiser
from ..diffusion.process import VARIANCES, GaussianDiffusion
from ..diffusion.schedules import space_timesteps
from ..errors import InpaintkitError
from ..models.runtime import PRECISIONS, Runtime, check_knobs
from ..options import option
from .base import Method


def check_spacing(spacing: str) -> str | None:
    """None for a valid spacing name ("even", "leading", "quadratic", "power<p>" with p >= 1)."""
    try:
        space_timesteps(1000, 10, spacing)
    except InpaintkitError:
        return "is not a spacing"
    return None


def spacing_option(default: str = "even"):  # noqa: ANN201 - a dataclass field
    """The ``spacing`` option: which training timesteps a respaced walk visits."""
    return option(
        default,
        help="timestep spacing (power<p>: more steps at low noise)",
        check=check_spacing,
        valid="even, leading, quadratic or power<p> with p >= 1 (e.g. power1.25)",
    )


def variance_option():  # noqa: ANN201 - a dataclass field
    """The ``variance`` option: None = the model's (learned range when it has one)."""
    return option(None, help="reverse variance; none = the model's", choices=VARIANCES)


def clip_option():  # noqa: ANN201 - a dataclass field
    """The ``clip_denoised`` option."""
    return option(True, help="clip the predicted x0 to [-1, 1]")


# The runtime knobs: how the network runs (inpaintkit.models.runtime resolves them for the
# model's device). Their values are checked together by check_runtime, from the Options' check.


def precision_option():  # noqa: ANN201 - a dataclass field
    """``precision``: "auto" (bf16 on CPUs with native bf16, else fp32), fp32, bf16 or fp16."""
    return option(
        "auto",
        help="network precision: auto, fp32, bf16 or fp16",
        valid=", ".join(PRECISIONS),
        external=True,
    )


def channels_last_option():  # noqa: ANN201 - a dataclass field
    """``channels_last``: True/False, None = auto (on where auto precision is bf16)."""
    return option(None, help="channels-last memory; none = auto", external=True)


def compile_option():  # noqa: ANN201 - a dataclass field
    """``compile``: torch.compile the network (first call about a minute on a CPU)."""
    return option(False, help="torch.compile the network", external=True)


def check_runtime(options: object) -> None:
    """The runtime knobs of ``options`` (precision, channels_last, compile) as a whole."""
    check_knobs(options.precision, options.channels_last, options.compile)


class SamplingMethod(Method):
    """Base of the methods that sample a diffusion model of kind ``needs.model_kind``.

    options: the method's Options (with steps, spacing and the runtime knobs). model: a loaded
    model or a load_model spec (None: the method's default, see :meth:`Method.model_spec`),
    refused unless its kind is the method's. device: where a spec is loaded. class_label: for
    class-conditional models (required by them). progress: a progress bar per batch.
    A subclass implements ``__call__`` with :meth:`denoiser` and :meth:`extra_args`.
    """

    def __init__(
        self,
        options: object | None = None,
        *,
        model: object | None = None,
        device: str | torch.device = "cpu",
        class_label: int | None = None,
        progress: bool = True,
    ) -> None:
        self.model = self.resolve_model(model, device)
        self.options = options or self.Options()
        self.class_label = class_label
        self.progress = progress
        classes = self.model.num_classes
        if classes and (class_label is None or not 0 <= class_label < classes):
            raise InpaintkitError(
                f"{self.model.source} is class-conditional: give a class label in 0..{classes - 1}"
                f" (CLI: --class-label N); got {class_label}"
            )
        if not classes and class_label is not None:
            raise InpaintkitError(
                f"{self.model.source} is unconditional: it takes no class label, got "
                f"{class_label}; drop --class-label (class_label=)"
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
            **asdict(self.options),
            **self.runtime.as_dict(),
        }

    def denoiser(self) -> Denoiser:
        """The model's network wrapped for the samplers, run as the runtime knobs say."""
        r = self.runtime
        return self.model.denoiser(r.precision, r.channels_last, r.compile)

    def extra_args(self, known: torch.Tensor, keep: torch.Tensor) -> dict[str, torch.Tensor]:
        """What the network gets besides x_t and t on every call (k-diffusion's extra_args):
        the class labels of a class-conditional model."""
        if not self.model.num_classes:
            return {}
        labels = torch.full((known.shape[0],), int(self.class_label), device=known.device)
        return {"class_labels": labels}

    @torch.no_grad()
    def time_network(self, batch: int, height: int, width: int) -> float:
        """Seconds of one network evaluation as sampling makes it, on a zero batch
        [batch, C, height, width] with nothing known (for ``--dry-run``)."""
        device = self.model.device
        known = torch.zeros(batch, self.model.channels, height, width, device=device)
        keep = torch.zeros(batch, 1, height, width, device=device)
        t = torch.zeros(batch, dtype=torch.long, device=device)
        denoiser, extra = self.denoiser(), self.extra_args(known, keep)
        started = time.perf_counter()
        denoiser(known, t, **extra)
        return time.perf_counter() - started
