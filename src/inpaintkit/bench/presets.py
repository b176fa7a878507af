"""The RePaint paper's ablations (section 5.6) as named method lists.

Every preset is built around T = round(250 * steps_scale) respaced steps (the paper uses T=250;
``steps_scale`` < 1 makes CPU runs affordable). Jump lengths and resamplings are the paper's and
are NOT scaled. Network evaluations (NFE) count the reverse steps of one batch.

- "table2", resampling vs slowing down at equal compute (paper Table 2, Figure 7):
  RePaint (T, j=10, r) for r = 2, 3, 4 against plain conditioning (r = 1) with as many steps as
  that resampling setting's NFE, so each pair's NFE is EQUAL (T=250: 490 / 730 / 970), plus the
  common baseline (T, r=1). The paper pairs round numbers (500 / 750 / 1000 steps); equal NFE is
  the cleaner comparison and within 3% of them.
- "table3", jump length x resamplings (paper Table 3): j in {1, 5, 10} x r in {1, 5, 10} at T.
  (With r = 1 there are no jumps, so the three r=1 rows are the same walk: a sanity check.)
- "table4", SDEdit-style resampling (paper Table 4): "repaint-sdedit" (reverse T -> T/2, then the
  second half repeated) against RePaint (T, j=10, r) for r = 5 and 10, ``repeats`` chosen so the
  NFE of each pair agree within :data:`NFE_TOLERANCE` (T=250: 1210 vs 1258, 2410 vs 2392).
"""

from __future__ import annotations

from ..diffusion.schedules import count_steps, repaint_times
from ..errors import InpaintkitError
from .specs import MethodSpec, parse_method_spec, split_specs

PAPER_STEPS = 250
"""The paper's T for every ablation."""

NFE_TOLERANCE = 0.05
"""Largest relative NFE difference allowed between the two members of a compared pair."""

PRESETS: dict[str, str] = {
    "table2": "resampling (T, j=10, r=2,3,4) vs slowing down (r=1, as many steps) at equal NFE",
    "table3": "jump length j in {1,5,10} x resamplings r in {1,5,10} at T",
    "table4": "SDEdit-style resampling of the second half vs RePaint (j=10, r=5,10) at ~equal NFE",
}


def scaled_steps(steps_scale: float) -> int:
    """T = round(250 * steps_scale), at least 20 (so that j=10 still jumps)."""
    if not steps_scale > 0:
        raise InpaintkitError(f"steps scale must be > 0, got {steps_scale}")
    return max(20, round(PAPER_STEPS * steps_scale))


def repaint_nfe(steps: int, jump_length: int, resamplings: int) -> int:
    """Network evaluations of RePaint's walk (:func:`repaint_times`)."""
    return count_steps(repaint_times(steps, jump_length, resamplings))[0]


def sdedit_repeats_for(steps: int, target_nfe: int) -> int:
    """The ``repeats`` whose :func:`sdedit_times` NFE is nearest ``target_nfe``."""
    per_repeat = steps // 2 + 1
    return max(0, round((target_nfe - steps) / per_repeat))


def table2_pairs(steps: int) -> list[tuple[str, str]]:
    """(resampling spec, slowing-down spec) pairs of equal NFE, r = 2, 3, 4, j = 10."""
    pairs = []
    for r in (2, 3, 4):
        nfe = repaint_nfe(steps, 10, r)
        pairs.append((f"repaint:steps={steps},jump_length=10,resamplings={r}",
                      f"repaint:steps={nfe},resamplings=1"))  # fmt: skip
    return pairs


def table4_pairs(steps: int) -> list[tuple[str, str]]:
    """(RePaint spec, SDEdit-style spec) pairs of about equal NFE, r = 5, 10, j = 10."""
    pairs = []
    for r in (5, 10):
        repeats = sdedit_repeats_for(steps, repaint_nfe(steps, 10, r))
        pairs.append((f"repaint:steps={steps},jump_length=10,resamplings={r}",
                      f"repaint-sdedit:steps={steps},repeats={repeats}"))  # fmt: skip
    return pairs


def preset_specs(name: str, steps_scale: float = 1.0) -> list[MethodSpec]:
    """The method specs of preset ``name`` at T = :func:`scaled_steps` (steps_scale), each with
    its NFE-plot series. Raises InpaintkitError for an unknown name, or when a pair's NFE differ
    by more than :data:`NFE_TOLERANCE` (never at the paper's or the documented scales)."""
    steps = scaled_steps(steps_scale)
    if name == "table2":
        base = parse_method_spec(f"repaint:steps={steps},resamplings=1", "slowing down (r=1)")
        specs = [base]
        for resampling, slowing in table2_pairs(steps):
            specs.append(parse_method_spec(resampling, f"resampling (T={steps}, j=10)"))
            specs.append(parse_method_spec(slowing, "slowing down (r=1)"))
        _check_pairs(table2_pairs(steps))
        return specs
    if name == "table3":
        return [
            parse_method_spec(f"repaint:steps={steps},jump_length={j},resamplings={r}", f"j={j}")
            for j in (1, 5, 10)
            for r in (1, 5, 10)
        ]
    if name == "table4":
        specs = []
        for repaint, sdedit in table4_pairs(steps):
            specs.append(parse_method_spec(repaint, f"RePaint (T={steps}, j=10)"))
            specs.append(parse_method_spec(sdedit, f"SDEdit-style (T={steps})"))
        _check_pairs(table4_pairs(steps))
        return specs
    raise InpaintkitError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")


def parse_methods(texts: str | list[str], steps_scale: float = 1.0) -> list[MethodSpec]:
    """Parse ``--methods``: one or more comma-separated lists of specs and preset names.

    steps_scale: scales the presets' T (250 in the paper) for cheaper runs; explicit specs are
    taken as written. Returns the specs in order. A spec that two presets share (table3 and
    table4 both hold RePaint j=10, r=5 and r=10) is kept once, with the first one's series; a
    label the user gives twice is an error.
    """
    chunks = [texts] if isinstance(texts, str) else list(texts)
    out: list[MethodSpec] = []
    from_presets: set[str] = set()
    for chunk in chunks:
        for token in split_specs(chunk):
            if token in PRESETS:
                for spec in preset_specs(token, steps_scale):
                    if spec.label not in from_presets:
                        from_presets.add(spec.label)
                        out.append(spec)
            else:
                out.append(parse_method_spec(token))
    if not out:
        raise InpaintkitError("no methods given")
    labels = [spec.label for spec in out]
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:
        raise InpaintkitError(f"method spec(s) given twice: {repeated}")
    return out


def pair_nfe(a: str, b: str) -> tuple[int, int]:
    """The NFE of two specs."""
    return (
        parse_method_spec(a).cost()["network_evaluations"],
        parse_method_spec(b).cost()["network_evaluations"],
    )


def _check_pairs(pairs: list[tuple[str, str]]) -> None:
    for a, b in pairs:
        na, nb = pair_nfe(a, b)
        if abs(na - nb) > NFE_TOLERANCE * max(na, nb):
            raise InpaintkitError(f"preset pair {a} ({na} NFE) vs {b} ({nb} NFE) is unbalanced")


__all__ = [
    "NFE_TOLERANCE",
    "PAPER_STEPS",
    "PRESETS",
    "parse_methods",
    "preset_specs",
    "repaint_nfe",
    "scaled_steps",
    "sdedit_repeats_for",
    "table2_pairs",
    "table4_pairs",
]
