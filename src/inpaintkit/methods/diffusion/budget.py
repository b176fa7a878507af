"""Choosing a whole time walk (steps, jump length, resamplings) for a budget of network
evaluations: what ``--budget N`` runs.

Grounded in the project's measurements (docs/benchmarks.md):

- "Steps against resamplings" (about 230 evaluations): at a fixed budget, resamplings buy more
  than steps (T=30, j=5, r=9 was best; r=2 with T=120 was 2 dB worse), and longer jumps
  (j=10) did not help. So the method's own walk (its default or the user's j and r) is kept
  whenever it leaves enough steps.
- "The shipped walk" (the r=9 walk at smaller budgets): with too few steps resampling stops
  paying. At 50 evaluations T=10, r=9 lost 2-3 dB of hole PSNR on wide and half, where T=15,
  r=5 at 55 lost under 1; at 95-105, T=15, r=9 and T=25, r=5 were within noise of each other.
  So a walk should keep at least :data:`BUDGET_MIN_STEPS` (15) respaced steps, and resamplings
  are given up before steps below that.

A walk's cost is about ``r * T - (r - 1) * j`` (every step but the top j is resampled), so
lowering j does not make a walk cheaper at the same steps; it only lowers the fewest steps a
jumping walk needs (j + 1).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import fields, replace
from typing import Any

from ...errors import InpaintkitError

BUDGET_MIN_STEPS = 15
"""The fewest respaced steps a resampling walk chosen for a budget should keep (see above)."""


def choose_walk(
    options: Any, budget: int, max_steps: int | None = None, fixed: Collection[str] = ()
) -> Any:
    """The best walk for at most ``budget`` network evaluations per batch.

    options: the method's walk options (e.g. RePaintOptions) with the user's values applied.
    max_steps: the model's training timesteps (None = no cap). fixed: names of the options the
    user gave (kept as given). ``steps`` is always chosen here. The rule, in order:

    1. Resamplings r from the options' value downwards (only that value when r is fixed), at
       the options' jump length j: the most steps that fit the budget
       (:meth:`WalkOptions.for_budget`). The first walk with at least
       min(BUDGET_MIN_STEPS, max_steps) steps is taken.
    2. If none keeps that many steps, the last walk that fits: r=1 (no resampling: every
       evaluation a step) when r is free, the user's r otherwise.
    3. If nothing fits and j is free, j is lowered (j-1 ... 1) at that r until a walk fits.
    4. Otherwise InpaintkitError (the budget is below the cheapest walk).

    Walks without jump_length/resamplings (e.g. SDEdit's) only choose their steps.
    Examples (no model cap): repaint (T=250, j=10, r=10) at 100 -> T=20, j=10, r=9 (100
    evaluations); at 241 -> T=30, r=10 (210); repaint-fast (T=30, j=5, r=9) at 230 -> its
    default walk (230); at 105 -> T=15, r=9 (95); at 55 -> T=15, r=5 (55).
    """
    if budget < 1:
        raise InpaintkitError(f"a budget must be at least 1 network evaluation, got {budget}")
    if "steps" in fixed:
        raise InpaintkitError("--budget chooses the steps itself; drop --steps (or -o steps=)")
    names = {f.name for f in fields(options)}
    if not {"jump_length", "resamplings"} <= names:
        return options.for_budget(budget, max_steps)
    floor = BUDGET_MIN_STEPS if max_steps is None else min(BUDGET_MIN_STEPS, max_steps)
    r0, j0 = options.resamplings, options.jump_length
    ladder = [r0] if "resamplings" in fixed else list(range(r0, 0, -1))
    last = None
    for r in ladder:
        chosen = _fit(replace(options, resamplings=r), budget, max_steps)
        if chosen is not None:
            if chosen.steps >= floor:
                return chosen
            last = chosen
    if last is not None:
        return last
    if "jump_length" not in fixed:
        for j in range(j0 - 1, 0, -1):
            chosen = _fit(
                replace(options, jump_length=j, resamplings=ladder[-1]), budget, max_steps
            )
            if chosen is not None:
                return chosen
    return options.for_budget(budget, max_steps)  # raises, naming the cheapest walk


def _fit(options: Any, budget: int, max_steps: int | None) -> Any | None:
    """The options with the most steps that fit, or None when none does."""
    try:
        return options.for_budget(budget, max_steps)
    except InpaintkitError:
        return None
