"""Preference rates of a two-alternative study with 95% intervals, as RePaint reports them.

RePaint (section 5.2, Table 1): people see the masked input and two anonymised fills and answer
"Which image looks more realistic?". Every question is asked twice, and a participant's answers
count only when at least 75% of the repeated questions got the same answer both times. The
paper gives, per pair of methods, the share of votes for one method with a 95% confidence
interval next to it ("mean +- half-width"). We give that normal-approximation interval
(p +- z sqrt(p (1 - p) / n)) in the paper's form, and the Wilson score interval, which stays
inside [0, 1] and keeps its coverage for small n or p near 0 or 1 (Wilson 1927). Both votes of
a repeated question count, as in the paper (its 1000 votes per comparison are 100 images x 5
people x 2 askings); votes of one person are not independent, so the intervals are optimistic.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from itertools import combinations

Z95 = 1.959963984540054
"""The two-sided 95% quantile of the standard normal distribution."""
CONSISTENCY = 0.75
"""A participant counts when at least this share of repeated questions agree (RePaint 5.2)."""


def normal_interval(k: int, n: int, z: float = Z95) -> tuple[float, float, float]:
    """(p, low, high) of ``k`` successes in ``n``: p = k / n, p -+ z sqrt(p (1 - p) / n),
    clipped to [0, 1]. n = 0 gives (nan, nan, nan)."""
    if n == 0:
        return (math.nan, math.nan, math.nan)
    p = k / n
    half = z * math.sqrt(p * (1 - p) / n)
    return p, max(0.0, p - half), min(1.0, p + half)


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval (low, high) of ``k`` successes in ``n``:
    (p + z^2 / 2n -+ z sqrt(p (1 - p) / n + z^2 / 4n^2)) / (1 + z^2 / n)."""
    if n == 0:
        return (math.nan, math.nan)
    p = k / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    scale = 1 + z * z / n
    return (centre - spread) / scale, (centre + spread) / scale


def consistency(votes: Iterable[dict]) -> dict[str, dict]:
    """Per participant: ``repeated`` (questions answered both times), ``consistent`` (of those,
    the same method chosen both times) and ``rate`` (consistent / repeated, nan when none).
    A vote is a dict with participant, question, repeat (0 or 1) and chosen (a method)."""
    answers: dict[str, dict[int, dict[int, str]]] = {}
    for vote in votes:
        per = answers.setdefault(vote["participant"], {})
        per.setdefault(int(vote["question"]), {})[int(vote["repeat"])] = vote["chosen"]
    out = {}
    for participant, questions in answers.items():
        pairs = [q for q in questions.values() if 0 in q and 1 in q]
        same = sum(q[0] == q[1] for q in pairs)
        out[participant] = {
            "repeated": len(pairs),
            "consistent": same,
            "rate": same / len(pairs) if pairs else math.nan,
        }
    return out


def counts(record: dict, threshold: float = CONSISTENCY) -> bool:
    """Whether a participant's votes count: at least one repeated question, and at least
    ``threshold`` of them answered the same way both times (3 of 4 counts, 2 of 4 does not)."""
    return record["repeated"] > 0 and record["consistent"] >= threshold * record["repeated"]


def preference_table(
    votes: Sequence[dict], methods: Sequence[str], threshold: float = CONSISTENCY
) -> dict:
    """The study's results: for every pair (A, B) of ``methods`` (in their order) the votes of
    counted participants on A-vs-B questions, A's share and its 95% intervals; plus who counted.

    Returns {"pairs": [{method_a, method_b, votes, votes_a, votes_b, rate_a, half_width,
    normal_low, normal_high, wilson_low, wilson_high, paper}], "participants": {id: record with
    "counted"}, "votes_total", "votes_counted", "threshold"}.
    """
    records = consistency(votes)
    for record in records.values():
        record["counted"] = counts(record, threshold)
    counted = [v for v in votes if records[v["participant"]]["counted"]]
    pairs = []
    for a, b in combinations(methods, 2):
        on_pair = [v for v in counted if {v["left"], v["right"]} == {a, b}]
        n = len(on_pair)
        k = sum(v["chosen"] == a for v in on_pair)
        p, low, high = normal_interval(k, n)
        w_low, w_high = wilson_interval(k, n)
        row = {
            "method_a": a,
            "method_b": b,
            "votes": n,
            "votes_a": k,
            "votes_b": n - k,
            "rate_a": p,
            "half_width": Z95 * math.sqrt(p * (1 - p) / n) if n else math.nan,  # unclipped
            "normal_low": low,
            "normal_high": high,
            "wilson_low": w_low,
            "wilson_high": w_high,
        }
        row["paper"] = paper_form(row)
        pairs.append(row)
    return {
        "pairs": pairs,
        "participants": records,
        "votes_total": len(votes),
        "votes_counted": len(counted),
        "threshold": threshold,
    }


def without_nan(value: object) -> object:
    """``value`` with every NaN (a rate of no votes) replaced by None, for JSON."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: without_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_nan(v) for v in value]
    return value


def paper_form(row: dict) -> str:
    """A pair's result as the paper writes it: share of votes for A in percent +- the 95%
    half-width (normal approximation), with the Wilson interval after it."""
    a, b, n = row["method_a"], row["method_b"], row["votes"]
    if not n:
        return f"{a} vs {b}: no counted votes"
    p, half = 100 * row["rate_a"], 100 * row["half_width"]
    return (
        f"{a} vs {b}: {p:.1f}% ± {half:.1f} of {n} votes prefer {a} "
        f"(95% Wilson {100 * row['wilson_low']:.1f}-{100 * row['wilson_high']:.1f}%)"
    )
