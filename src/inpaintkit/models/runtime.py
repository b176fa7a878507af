"""How a network is run: numeric precision, memory format and compilation.

This module has one job: turn the runtime knobs a user gives (``precision``, ``channels_last``,
``compile``; "auto" / None included) into concrete choices for a device. The "auto" choices live
in one table, :data:`AUTO`, each entry with the measurement (or the documentation) behind it.
:meth:`inpaintkit.models.DiffusionModel.denoiser` applies the result.

precision: "fp32" runs the network as stored (float32, no autocast); "bf16" and "fp16" run it
    under ``torch.autocast(device_type, dtype)`` (matmuls and convolutions in the low precision,
    reductions such as GroupNorm and softmax kept in float32 by autocast's op lists); "auto"
    picks from :data:`AUTO`. The denoiser returns eps and variance values as float32 in every
    case, so the sampler's arithmetic is the same.
channels_last: run convolutions in NHWC memory format (input and weights). None = auto.
compile: ``torch.compile`` the network (inductor; needs a C++ compiler on a CPU). Never
    automatic: the first call compiles for about a minute (71 s for the emoji32 network on one
    CPU thread with a cold inductor cache, 5 s with a warm one), every new batch size or
    precision recompiles; on this CPU it gained 4% in fp32 and 10% on top of bf16.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import InpaintkitError

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
DTYPES: dict[str, torch.dtype | None] = {
    "fp32": None,
    "bf16": torch.bfloat16,
    "fp16": torch.float16,
}


@dataclass(frozen=True)
class AutoChoice:
    """What "auto" means on one device type, and why."""

    precision: str
    channels_last: bool
    evidence: str


# The "auto" table: device type -> choice. Device types not listed get FALLBACK; a CPU without
# native bf16 arithmetic gets CPU_WITHOUT_BF16, a GPU without bf16 fp16 (see auto_choice).
AUTO: dict[str, AutoChoice] = {
    "cpu": AutoChoice(
        "bf16",
        True,
        "measured here on a 2-core AVX-512-BF16 CPU without AMX, 1 thread (docs/benchmarks.md "
        "'Runtime knobs'; docs/speed/knobs-cpu.json): the emoji32 network's forward takes 24.4 "
        "ms per image in fp32 and 15.8 with channels_last + bf16 autocast (1.54x; bf16 alone "
        "1.53x). Quality-neutral in two paired checks of hole PSNR, bf16 + channels_last minus "
        "fp32: repaint-fast on an early checkpoint, 16 held-out emoji x 2 masks, +0.005 dB "
        "[-0.014, +0.023]; ddnm with the shipped emoji32, 16 held-out emoji x the six paper "
        "masks, +0.007 dB [-0.034, +0.049], 1.47x faster per image. channels_last with bf16 "
        "also keeps an image's eps independent of its batch-mates (a probe over batches of "
        "1-32 found 0 difference; bf16 alone: up to 0.03), which the methods promise.",
    ),
    "cuda": AutoChoice(
        "bf16",
        True,
        "UNMEASURED here (no GPU). Docs: autocast in bf16/fp16 is the standard way to run "
        "diffusers UNets on GPUs (diffusers 'Accelerate inference' guide; bf16 keeps fp32's "
        "exponent range, so no overflow), and channels_last with AMP speeds up convolutional "
        "networks on tensor cores (PyTorch memory-format tutorial: 8-35% across models on a "
        "V100). fp16 replaces bf16 where the GPU lacks bf16 (before Ampere). The CPU quality "
        "check of bf16 (see 'cpu') speaks for the number format only; CUDA kernels were not "
        "checked. Pass precision=fp32, channels_last=false for plain fp32 results.",
    ),
}
FALLBACK = AutoChoice("fp32", False, "no measurement for this device type: run as stored")
CPU_WITHOUT_BF16 = AutoChoice(
    "fp32",
    False,
    "this CPU lists neither avx512_bf16 nor amx_bf16, so torch would emulate bf16 (not "
    "measured; emulated fp16 ran 48x slower than fp32 here); run as stored",
)


@dataclass(frozen=True)
class Runtime:
    """Resolved runtime choices for one device (no "auto" left).

    device_type: "cpu", "cuda", ... precision: "fp32", "bf16" or "fp16".
    channels_last, compile: as in the module docstring.
    """

    device_type: str
    precision: str = "fp32"
    channels_last: bool = False
    compile: bool = False

    @property
    def autocast_dtype(self) -> torch.dtype | None:
        """The autocast dtype, or None for fp32 (no autocast)."""
        return DTYPES[self.precision]

    @property
    def memory_format(self) -> torch.memory_format:
        return torch.channels_last if self.channels_last else torch.contiguous_format

    def as_dict(self) -> dict[str, object]:
        """{"precision", "channels_last", "compile"}: the resolved knobs, for saved configs."""
        return {
            "precision": self.precision,
            "channels_last": self.channels_last,
            "compile": self.compile,
        }


def check_knobs(precision: object, channels_last: object, compile: object) -> None:
    """Device-independent checks of the knobs' values (types and names); InpaintkitError."""
    if precision not in PRECISIONS:
        raise InpaintkitError(f"unknown precision {precision!r}; choose one of {PRECISIONS}")
    if channels_last is not None and not isinstance(channels_last, bool):
        raise InpaintkitError(
            f"channels_last must be true, false or none (= auto), not {channels_last!r}"
        )
    if not isinstance(compile, bool):
        raise InpaintkitError(f"compile must be true or false, not {compile!r}")


def auto_choice(device_type: str) -> AutoChoice:
    """The :data:`AUTO` entry for a device type, adapted to the CPU's or GPU's bf16 support."""
    choice = AUTO.get(device_type, FALLBACK)
    if device_type == "cpu" and choice.precision == "bf16" and not _cpu_bf16():
        return CPU_WITHOUT_BF16
    if device_type == "cuda" and choice.precision == "bf16" and not _cuda_bf16():
        return AutoChoice("fp16", choice.channels_last, choice.evidence)
    return choice


def resolve_runtime(
    device: str | torch.device,
    precision: str = "auto",
    channels_last: bool | None = None,
    compile: bool = False,
) -> Runtime:
    """Concrete runtime choices for ``device``.

    precision: "auto" (from :data:`AUTO`), "fp32", "bf16" or "fp16". channels_last: None = auto.
    compile: taken as given. Raises InpaintkitError for an unknown precision, for fp16 on a CPU
    (measured here: 1274 ms per image against 26.7 in fp32 for the emoji32 preset at batch 16,
    48x slower, since this CPU has no fp16 arithmetic; use bf16) and for a low precision on a
    device type without autocast support.
    """
    check_knobs(precision, channels_last, compile)
    device_type = torch.device(device).type
    choice = auto_choice(device_type)
    resolved = choice.precision if precision == "auto" else precision
    if channels_last is None:
        channels_last = choice.channels_last
    if resolved != "fp32":
        if device_type == "cpu" and resolved == "fp16":
            raise InpaintkitError(
                "precision fp16 on a CPU runs about 48x slower than fp32 here (no fp16 "
                "arithmetic; torch emulates it); use precision=bf16 or fp32"
            )
        if not torch.amp.is_autocast_available(device_type):
            raise InpaintkitError(
                f"precision {resolved} needs torch.autocast, which {device_type!r} devices do "
                "not support; use precision=fp32"
            )
    return Runtime(device_type, resolved, bool(channels_last), compile)


def bf16_in_cpuinfo(cpuinfo: str) -> bool:
    """Whether /proc/cpuinfo text lists a native bf16 flag (avx512_bf16 or amx_bf16) on a
    ``flags`` line (x86 Linux)."""
    lines = re.findall(r"^flags\s*:(.*)$", cpuinfo, re.MULTILINE)
    return bool({"avx512_bf16", "amx_bf16"} & {f for line in lines for f in line.split()})


@functools.cache
def _cpu_bf16() -> bool:
    """Whether this CPU does bf16 arithmetic natively; False where that cannot be read (torch
    has no public query; other systems than x86 Linux are not measured, so they stay fp32)."""
    try:
        return bf16_in_cpuinfo(Path("/proc/cpuinfo").read_text())
    except OSError:
        return False


def _cuda_bf16() -> bool:
    try:
        return bool(torch.cuda.is_bf16_supported(including_emulation=False))
    except (RuntimeError, AssertionError, TypeError):  # no driver, or an older signature
        return False
