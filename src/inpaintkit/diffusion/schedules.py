"""Noise schedules and timestep lists: pure functions that return data (DESIGN rule 3).

Conventions follow guided-diffusion (the RePaint paper's code base): betas are float64 numpy arrays
indexed by the training timestep 0..T-1, and a respaced process keeps a subset of those timesteps.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import InpaintkitError

BETA_SCHEDULES = ("linear", "scaled_linear", "cosine")


def linear_betas(
    num_timesteps: int = 1000, beta_start: float | None = None, beta_end: float | None = None
) -> np.ndarray:
    """DDPM's linear schedule (Ho et al. 2020), float64 [T].

    Without explicit ends, guided-diffusion's ``get_named_beta_schedule("linear", T)``: 1e-4 and
    0.02 scaled by 1000 / T, so any T matches the T=1000 process. With explicit ends, a plain
    linspace (diffusers' "linear").
    """
    if beta_start is None and beta_end is None:
        scale = 1000.0 / num_timesteps
        beta_start, beta_end = scale * 1e-4, scale * 0.02
    elif beta_start is None or beta_end is None:
        raise InpaintkitError("give both beta_start and beta_end, or neither")
    return np.linspace(beta_start, beta_end, num_timesteps, dtype=np.float64)


def cosine_betas(
    num_timesteps: int = 1000, s: float = 0.008, max_beta: float = 0.999
) -> np.ndarray:
    """Improved DDPM's cosine schedule (Nichol & Dhariwal 2021, eq. 17), clipped at max_beta."""

    def alpha_bar(u: float) -> float:
        return math.cos((u + s) / (1 + s) * math.pi / 2) ** 2

    betas = [
        min(1 - alpha_bar((i + 1) / num_timesteps) / alpha_bar(i / num_timesteps), max_beta)
        for i in range(num_timesteps)
    ]
    return np.array(betas, dtype=np.float64)


def make_betas(
    schedule: str,
    num_timesteps: int = 1000,
    beta_start: float | None = None,
    beta_end: float | None = None,
) -> np.ndarray:
    """Betas by name, one of ``BETA_SCHEDULES``: "linear" (see :func:`linear_betas`),
    "scaled_linear" (diffusers/Stable Diffusion: linspace of square roots, squared; needs the
    ends) or "cosine" (the ends are ignored)."""
    if schedule == "linear":
        return linear_betas(num_timesteps, beta_start, beta_end)
    if schedule == "scaled_linear":
        if beta_start is None or beta_end is None:
            raise InpaintkitError("the scaled_linear schedule needs beta_start and beta_end")
        return np.linspace(beta_start**0.5, beta_end**0.5, num_timesteps, dtype=np.float64) ** 2
    if schedule == "cosine":
        return cosine_betas(num_timesteps)
    raise InpaintkitError(f"unknown beta schedule {schedule!r}; choose one of {BETA_SCHEDULES}")


SPACINGS = ("even", "leading", "quadratic", "power<p>")


def space_timesteps(num_timesteps: int, count: int, spacing: str = "even") -> list[int]:
    """The training timesteps a respaced process of ``count`` steps keeps, ascending.

    spacing:
      - "even": guided-diffusion's ``space_timesteps(T, str(count))`` with one section:
        t_i = round(i * (T - 1) / (count - 1)); for T=1000, count=250 this keeps 0, 4, 8, ..., 999.
      - "leading": t_i = i * (T // count), diffusers' RePaintScheduler grid (0, 4, ..., 996).
      - "quadratic": t_i = round((T - 1) * (i / (count - 1))^2), raised where needed to stay
        strictly increasing: more steps at low noise, where fine detail is decided. DDIM's
        "quad" selection (Song et al. 2021, appendix D.2), which stops at 0.8 T; this one ends
        at T - 1 like "even", so a walk still starts from (nearly) pure noise.
      - "power<p>", e.g. "power1.5": the same with exponent p >= 1 ("power1" is "even" up to
        rounding, "power2" is "quadratic").
    """
    if not 1 <= count <= num_timesteps:
        raise InpaintkitError(
            f"cannot respace {num_timesteps} training steps to {count}; choose 1..{num_timesteps}"
        )
    if spacing == "even":
        if count == 1:
            return [0]
        stride = (num_timesteps - 1) / (count - 1)
        return [round(i * stride) for i in range(count)]
    if spacing == "leading":
        return [i * (num_timesteps // count) for i in range(count)]
    power = _spacing_power(spacing)
    if power is not None:
        if count == 1:
            return [0]
        kept = [0]
        for i in range(1, count):
            t = round((num_timesteps - 1) * (i / (count - 1)) ** power)
            kept.append(max(t, kept[-1] + 1))
        return kept
    raise InpaintkitError(f"unknown timestep spacing {spacing!r}; choose one of {SPACINGS}")


def _spacing_power(spacing: str) -> float | None:
    """The exponent of a power spacing ("quadratic" = 2, "power1.5" = 1.5), else None."""
    if spacing == "quadratic":
        return 2.0
    if not spacing.startswith("power"):
        return None
    try:
        power = float(spacing.removeprefix("power"))
    except ValueError:
        power = float("nan")
    if not power >= 1:
        raise InpaintkitError(f"spacing {spacing!r}: the exponent must be a number >= 1")
    return power


def respace_betas(betas: np.ndarray, keep_timesteps: list[int]) -> np.ndarray:
    """Betas of the process that visits only ``keep_timesteps`` (ascending training indices).

    guided-diffusion's SpacedDiffusion: beta'_i = 1 - abar[t_i] / abar[t_{i-1}], so the respaced
    process has exactly the cumulative products abar[t_i] of the original one.
    """
    keep = list(keep_timesteps)
    if keep != sorted(set(keep)) or keep[0] < 0 or keep[-1] >= len(betas):
        raise InpaintkitError("timesteps to keep must be strictly increasing indices into betas")
    alphas_cumprod = np.cumprod(1.0 - betas)[keep]
    previous = np.concatenate([[1.0], alphas_cumprod[:-1]])
    return 1.0 - alphas_cumprod / previous


def repaint_times(
    num_steps: int, jump_length: int = 10, resamplings: int = 10, jump_n_sample: int = 1
) -> list[int]:
    """RePaint's time walk over respaced indices (section 4.2; official ``get_schedule_jump``).

    Starts at num_steps - 1 and ends at -1. A pair (a, a - 1) is a reverse step: one network
    evaluation taking x_a to x_{a-1}. A pair (a, a + 1) is an undo step: x_{a+1} ~ q(x_{a+1}|x_a).
    Jump points are 0, j, 2j, ... below num_steps - j; each gets ``resamplings - 1`` jumps of
    ``jump_length`` steps up. ``jump_n_sample`` > 1 adds that many extra single up/down steps
    after each step, as the official code's ``n_sample``.
    T=250, j=10, r=10 gives 2410 network evaluations and 2160 undo steps.
    """
    for name, value in (
        ("steps", num_steps),
        ("jump_length", jump_length),
        ("resamplings", resamplings),
        ("jump_n_sample", jump_n_sample),
    ):
        if value < 1:
            raise InpaintkitError(f"{name} must be >= 1, got {value}")
    jumps = {point: resamplings - 1 for point in range(0, num_steps - jump_length, jump_length)}
    t = num_steps
    times = []
    while t >= 1:
        t -= 1
        times.append(t)
        if t + 1 < num_steps - 1:
            for _ in range(jump_n_sample - 1):
                times += [t + 1, t]
        if jumps.get(t, 0) > 0:
            jumps[t] -= 1
            for _ in range(jump_length):
                t += 1
                times.append(t)
    times.append(-1)
    return times


def count_steps(times: list[int]) -> tuple[int, int]:
    """(network evaluations, undo steps) of a time walk from :func:`repaint_times`."""
    down = sum(1 for a, b in zip(times, times[1:]) if b < a)
    return down, len(times) - 1 - down


def sdedit_times(num_steps: int, repeats: int) -> list[int]:
    """An SDEdit-style time walk (Meng et al. 2022), RePaint's alternative in its Table 4.

    RePaint section 5.6: reverse from t = T to t = T/2 for an initial inpainting, then repeat the
    reverse process from T/2 to 0 several times. Over respaced indices: down from
    ``num_steps - 1`` to ``h = num_steps // 2``; then ``repeats`` times: down to -1 (a finished
    x_0 with the known pixels exact) and back up to ``h`` by undo steps; then down to -1.

    The undo steps up from -1 chain x_i = sqrt(1 - beta_i) x_{i-1} + sqrt(beta_i) eps for
    i = 0..h (the respaced betas), so x_h ~ q(x_h | x_0) exactly: SDEdit's re-noising, done
    with :func:`repaint_times`' undo steps so that ``sample_repaint`` runs it unchanged.

    num_steps: respaced steps T (>= 1). repeats: re-noisings of the second half (>= 0; 0 is plain
    conditioning without resampling). Network evaluations (see :func:`count_steps`):
    ``num_steps + repeats * (h + 1)``; undo steps: ``repeats * (h + 1)``.
    T=250, repeats=17 gives 2392 evaluations (RePaint's 250/10/10: 2410).
    """
    if num_steps < 1:
        raise InpaintkitError(f"steps must be >= 1, got {num_steps}")
    if repeats < 0:
        raise InpaintkitError(f"repeats must be >= 0, got {repeats}")
    half = num_steps // 2
    times = list(range(num_steps - 1, half - 1, -1))  # T-1 .. h: the first half
    second_half = list(range(half - 1, -2, -1))  # h-1 .. -1: reverse steps to x_0
    for _ in range(repeats):
        times += second_half
        times += list(range(0, half + 1))  # 0 .. h: undo steps from x_0 back to x_h
    times += second_half
    return times
