"""Fast samplers on RePaint's machinery: a short respaced schedule, DDIM-style steps and the same
jump walk, at about a tenth of the paper's 2410 network evaluations.

"ddnm": DDNM+ for inpainting (Wang, Yu, Zhang, "Zero-Shot Image Restoration Using Denoising
Diffusion Null-Space Model", ICLR 2023): null-space projection of x0_hat (eq. 13 with
A = A^+ = diag(keep)) plus the time-travel trick (section 3.3), which is RePaint's jump walk.
"repaint-fast": RePaint's own replacement rule (eq. 8) on the same kind of short schedule.

Both run :func:`~inpaintkit.diffusion.samplers.sample_repaint` unchanged; only the options differ.
Their defaults cost 230 network evaluations per batch ("ddnm": steps=50, j=5, r=5;
"repaint-fast": steps=30, j=5, r=9; the paper's setting costs 2410). Against the paper's setting
on 50 held-out emoji (docs/benchmarks.md, "Quality at a budget"), "repaint-fast" is within
0.3 dB of hole PSNR or above it on all six masks (in mean; sr2x -0.10); "ddnm" is 0.3-0.8 dB
below on four.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .repaint import RePaint, RePaintOptions


@dataclass(frozen=True)
class DDNMOptions(RePaintOptions):
    """DDNM+'s knobs; conditioning fixed to "null-space". Defaults: T=50 respaced steps, time
    travel of j=5 steps repeated r=5 times (230 network evaluations, 180 undo steps), and
    eta=0.85, the value of DDNM's ``--eta`` default.

    Note that DDNM's eta is not DDIM's: its reference code (wyhuai/DDNM, functions/svd_ddnm.py)
    draws x_{t-1} = sqrt(abar_{t-1}) x0 + sqrt(1 - abar_{t-1}) (eta z + sqrt(1 - eta^2) eps),
    i.e. a noise std of eta * sqrt(1 - abar_{t-1}), while ``eta`` here is DDIM's
    (std = eta * sqrt(beta-tilde), smaller); see sample_repaint for the direction term.
    DDNM's released configs use T=100 with travel length 1 and 1 repeat (no travel).
    The rest as :class:`~inpaintkit.methods.diffusion.repaint.RePaintOptions`.
    """

    condition: ClassVar[str] = "null-space"
    HEADLINE: ClassVar[tuple[str, ...]] = ("steps", "jump_length", "resamplings", "eta")

    steps: int = 50
    eta: float | None = 0.85
    jump_length: int = 5
    resamplings: int = 5


class DDNM(RePaint):
    """DDNM+ for inpainting (Wang, Yu, Zhang, ICLR 2023): at every reverse step the predicted
    x0 is projected onto the known pixels (keep * known + (1 - keep) * x0_hat) and x_{t-1} is
    drawn from the projected x0 (DDIM step, eta 0.85 by default); time travel is RePaint's jump
    walk. options: :class:`DDNMOptions`; the rest as :class:`RePaint`.
    """

    name = "ddnm"
    summary = "DDNM+ (ICLR 2023): null-space projection of x0 with time travel"
    Options = DDNMOptions


@dataclass(frozen=True)
class RePaintFastOptions(RePaintOptions):
    """RePaint on a short schedule: T=30 respaced steps spaced "power1.25", j=5, r=9 (230
    network evaluations, 200 undo steps) and DDIM steps with eta=1 for the unknown part (equal
    in law to DDPM's fixed-small step). All three were chosen on a tuning set of held-out emoji
    kept apart from the evaluation images (docs/benchmarks.md):

    - eta ("Choosing the fast samplers' defaults"): hole PSNR rose with eta, by 0.5-2 dB from
      eta=0 (deterministic, DDIM's best at 50 steps without conditioning, Song et al. 2021,
      Table 1) to eta=1.
    - spacing ("Timestep spacing"): "power1.25" puts more steps at low noise than "even" and
      raised hole PSNR on the thin masks at no significant cost on wide and half.
    - the walk ("Steps against resamplings"): at a fixed budget, resamplings buy more than
      steps (as RePaint found against slowing down, Table 2, here at a tenth of its cost);
      T=30, r=9 was the best on sr2x and altlines of eleven splits of about 230 evaluations.

    On the 50 evaluation emoji this default is within 0.3 dB of full RePaint's hole PSNR or
    above it on all six masks ("Quality at a budget"). The rest as
    :class:`~inpaintkit.methods.diffusion.repaint.RePaintOptions`.
    """

    HEADLINE: ClassVar[tuple[str, ...]] = ("steps", "jump_length", "resamplings", "spacing", "eta")

    steps: int = 30
    spacing: str = "power1.25"
    eta: float | None = 1.0
    jump_length: int = 5
    resamplings: int = 9


class RePaintFast(RePaint):
    """RePaint's replacement rule (Lugmayr et al. 2022, eq. 8) and jump walk on a short
    DDIM-respaced schedule (Song et al. 2021) at a tenth of the paper's cost.
    options: :class:`RePaintFastOptions`; the rest as :class:`RePaint`.
    """

    name = "repaint-fast"
    summary = "RePaint on a short DDIM-respaced schedule"
    Options = RePaintFastOptions
