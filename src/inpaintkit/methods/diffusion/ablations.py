"""Sampler variants for the RePaint paper's ablations (section 5.6), as registered methods.

"repaint-sdedit" (Table 4): the same model, conditioning (eq. 8) and sampler as RePaint, but the
SDEdit-style time walk of :func:`~inpaintkit.diffusion.schedules.sdedit_times` instead of
RePaint's jumps: reverse from T to T/2, then repeat the second half ``repeats`` times.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ...diffusion.schedules import sdedit_times
from ...options import option
from .repaint import RePaint, WalkOptions


@dataclass(frozen=True)
class SDEditOptions(WalkOptions):
    """steps: respaced reverse steps T (default 250, the paper's). repeats: how many times the
    second half (T/2 -> 0) is re-noised and run again (default 17: 2392 network evaluations at
    T=250, about RePaint's 2410). The rest as
    :class:`~inpaintkit.methods.diffusion.repaint.WalkOptions`."""

    HEADLINE: ClassVar[tuple[str, ...]] = ("steps", "repeats")

    repeats: int = option(17, help="re-runs of the second half (T/2 -> 0)", min=0)

    def times(self) -> list[int]:
        return sdedit_times(self.steps, self.repeats)


class RePaintSDEdit(RePaint):
    """RePaint's conditioning with SDEdit-style resampling (RePaint paper, Table 4).

    options: :class:`SDEditOptions`; model, device, class_label, progress: as :class:`RePaint`,
    whose constructor and sampler it shares (only the time walk differs).
    """

    name = "repaint-sdedit"
    summary = "RePaint conditioning with SDEdit-style resampling of the second half (ablation)"
    Options = SDEditOptions
