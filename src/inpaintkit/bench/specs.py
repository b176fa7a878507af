"""Method specs: "NAME" or "NAME:key=value,key=value", parsed by the one option parser
(:func:`inpaintkit.options.parse_options`) into typed ``build_method`` options.

A spec's label is the string itself (e.g. ``"repaint:steps=50,jump_length=5,resamplings=3"``);
results, file names and tables are keyed by it. A comma-separated list of specs is split so that
a token holding "=" but no ":" continues the options of the spec before it:
``"repaint:steps=50,jump_length=5,telea"`` is two specs. Ablation presets ("table2", ...) are
expanded one layer up, in :mod:`.presets` (which imports this module, never the reverse).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..errors import InpaintkitError
from ..methods import get_method, parse_options
from ..methods.base import Needs

# The options along one NFE-plot curve: specs differing only in these share a curve (one walk
# at several lengths); a different jump length or resampling count is another walk, even where
# ``--budget`` picked it (it lowers resamplings when they would leave too few steps).
BUDGET_OPTIONS = ("steps",)


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
        return get_method(self.name)

    @property
    def needs(self) -> Needs:
        """What the method needs (``needs.model_kind`` None: no model)."""
        return self.method_class().needs

    def parsed(self) -> object:
        """The method's Options instance for this spec (defaults filled in)."""
        return parse_options(self.method_class().Options, self.options, owner=self.name)

    def settings(self) -> dict[str, object]:
        """Every option value this spec stands for, the method's defaults included (JSON-ready):
        what a label meant when its results were recorded."""
        return asdict(self.parsed())

    def cost(self) -> dict[str, int]:
        """{"network_evaluations", "undo_steps"} per batch from the method's ``cost()`` (zeros
        for methods without a network); needs no model."""
        cost = self.method_class().cost(self.parsed())
        return {
            "network_evaluations": int(cost.get("network_evaluations", 0)),
            "undo_steps": int(cost.get("undo_steps", 0)),
        }


def parse_method_spec(text: str, series: str | None = None) -> MethodSpec:
    """Parse one spec "NAME" or "NAME:key=value,..." into a :class:`MethodSpec`.

    Values are converted by the one option parser (the field's type: int, float, bool given as
    true/false/yes/no/1/0/on/off, str; "none" for optional fields) and checked against the
    method's option schema (ranges, choices) now, not mid-benchmark. Unknown methods, unknown or
    repeated options and bad values raise InpaintkitError naming the valid values.
    """
    text = text.strip()
    name, _, rest = text.partition(":")
    name = name.strip()
    if not name:
        raise InpaintkitError(f"empty method name in spec {text!r}")
    cls = get_method(name)
    given: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not eq:
            raise InpaintkitError(f"option {pair!r} in spec {text!r} is not key=value")
        if key in given:
            raise InpaintkitError(f"option {key!r} given twice in spec {text!r}")
        given[key] = value.strip()
    try:
        options = parse_options(cls.Options, given, owner=name)
    except InpaintkitError as error:
        raise InpaintkitError(f"{error} (in spec {text!r})") from None
    typed = {key: getattr(options, key) for key in given}
    return MethodSpec(label=text, name=name, options=typed, series=series or _series(name, rest))


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
