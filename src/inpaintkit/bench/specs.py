"""Method specs: "NAME" or "NAME:key=value,key=value", parsed into typed ``build_method`` calls.

A spec's label is the string itself (e.g. ``"repaint:steps=50,jump_length=5,resamplings=3"``);
results, file names and tables are keyed by it. A comma-separated list of specs is split so that
a token holding "=" but no ":" continues the options of the spec before it:
``"repaint:steps=50,jump_length=5,telea"`` is two specs. A token naming an ablation preset
("table2", "table3", "table4"; see :mod:`.presets`) expands into its specs.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field, fields

from ..errors import InpaintkitError

# What ``--budget`` changes: specs differing only in these share an NFE-plot curve (one walk
# at several lengths); a different jump length or resampling count is another walk.
BUDGET_OPTIONS = ("steps",)

_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


@dataclass(frozen=True)
class MethodSpec:
    """One method setting of a benchmark.

    label: the spec string as given (unique within a run). name: the registered method name.
    options: typed option values for the method's Options dataclass (only those given).
    series: a group name for the NFE plots (an ablation's curve); default the spec without its
    budget options (:data:`BUDGET_OPTIONS`), so "ddnm:steps=25" joins "ddnm" on one curve and
    "ddnm:resamplings=9" or "repaint-fast:spacing=even" get curves of their own.
    """

    label: str
    name: str
    options: dict[str, object] = field(default_factory=dict)
    series: str = ""

    def method_class(self) -> type:
        from ..methods import get_method

        return get_method(self.name)

    @property
    def uses_model(self) -> bool:
        return bool(getattr(self.method_class(), "uses_model", False))

    def settings(self) -> dict[str, object]:
        """Every option value this spec stands for, the method's defaults included (JSON-ready):
        what a label meant when its results were recorded."""
        options = self.method_class().Options(**self.options)
        return {f.name: getattr(options, f.name) for f in fields(options)}

    def cost(self) -> dict[str, int]:
        """{"network_evaluations", "undo_steps"} per batch (zeros for methods without a
        network), from the Options' ``summary()``; needs no model."""
        options = self.method_class().Options(**self.options)
        if hasattr(options, "summary"):
            summary = options.summary()
            return {
                "network_evaluations": int(summary["network_evaluations"]),
                "undo_steps": int(summary.get("undo_steps", 0)),
            }
        return {"network_evaluations": 0, "undo_steps": 0}


def parse_method_spec(text: str, series: str | None = None) -> MethodSpec:
    """Parse one spec "NAME" or "NAME:key=value,..." into a :class:`MethodSpec`.

    Values are converted to the type of the method's Options field (int, float, bool given as
    true/false/yes/no/1/0, str; "none" for optional fields). Unknown methods, unknown or repeated
    options and values of the wrong type raise InpaintkitError naming the valid choices.
    """
    text = text.strip()
    name, _, rest = text.partition(":")
    name = name.strip()
    if not name:
        raise InpaintkitError(f"empty method name in spec {text!r}")
    from ..methods import get_method

    cls = get_method(name)
    hints = typing.get_type_hints(cls.Options)
    valid = [f.name for f in fields(cls.Options)]
    options: dict[str, object] = {}
    for pair in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = pair.partition("=")
        key = key.strip()
        if not eq:
            raise InpaintkitError(f"option {pair!r} in spec {text!r} is not key=value")
        if key not in valid:
            raise InpaintkitError(f"unknown option {key!r} for {name} in {text!r}; valid: {valid}")
        if key in options:
            raise InpaintkitError(f"option {key!r} given twice in spec {text!r}")
        options[key] = _coerce(value.strip(), hints[key], f"{name} option {key}")
    cls.Options(**options)  # the Options' own checks (ranges) run now, not mid-benchmark
    return MethodSpec(label=text, name=name, options=options, series=series or _series(name, rest))


def _series(name: str, rest: str) -> str:
    """The spec "NAME:options" without its budget options (see :data:`BUDGET_OPTIONS`)."""
    kept = [
        pair.strip()
        for pair in rest.split(",")
        if pair.strip() and pair.partition("=")[0].strip() not in BUDGET_OPTIONS
    ]
    return f"{name}:{','.join(kept)}" if kept else name


def split_specs(text: str) -> list[str]:
    """Split a comma-separated list of specs; a token with "=" but no ":" continues the options
    of the spec before it. ``"a:x=1,y=2,b"`` -> ``["a:x=1,y=2", "b"]``."""
    specs: list[str] = []
    for token in (t.strip() for t in text.split(",")):
        if not token:
            continue
        if "=" in token and ":" not in token:
            if not specs:
                raise InpaintkitError(f"option {token!r} comes before any method name in {text!r}")
            specs[-1] += "," + token
        else:
            specs.append(token)
    return specs


def parse_methods(texts: str | list[str], steps_scale: float = 1.0) -> list[MethodSpec]:
    """Parse ``--methods``: one or more comma-separated lists of specs and preset names.

    steps_scale: scales the presets' T (250 in the paper) for cheaper runs; explicit specs are
    taken as written. Returns the specs in order. A spec that two presets share (table3 and
    table4 both hold RePaint j=10, r=5 and r=10) is kept once, with the first one's series; a
    label the user gives twice is an error.
    """
    from .presets import PRESETS, preset_specs

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


def _coerce(value: str, hint: object, what: str) -> object:
    """``value`` as the type ``hint`` (int, float, bool, str, or an Optional of one)."""
    choices = _union_members(hint)
    if type(None) in choices and value.lower() == "none":
        return None
    for kind in (bool, int, float, str):  # bool before int: bool is a subclass of int
        if kind not in choices:
            continue
        if kind is bool:
            if value.lower() in _TRUE:
                return True
            if value.lower() in _FALSE:
                return False
            continue
        try:
            return kind(value)
        except ValueError:
            continue
    names = " or ".join(getattr(c, "__name__", str(c)) for c in choices)
    raise InpaintkitError(f"{what}: cannot read {value!r} as {names}")


def _union_members(hint: object) -> tuple:
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return typing.get_args(hint)
    return (hint,)
