"""The ONE typed option schema and parser (DESIGN rule 9): method options, model options
(``--model-option``) and training options (``inpaintkit train -o``) all go through it.

A method's options are a frozen dataclass derived from :class:`Options`; each field is declared
with :func:`option`, which stores its help text, range and choices in the field's metadata::

    @dataclass(frozen=True)
    class WalkOptions(Options):
        steps: int = option(250, help="respaced reverse steps T", min=1)

Constructing an instance validates every field (type, range, choices, a custom ``check``) and
then runs the class's own :meth:`Options.check` for rules that span fields. A subclass may
change a default with a plain annotation (``steps: int = 50``): the metadata is inherited from
the nearest base that declares it.

:func:`parse_options` is the one parser: strings (CLI ``-o key=value``, bench specs
``name:key=value,...``) are converted by the field's type, typed values (JSON from a server,
Python keywords) are checked as they are. :func:`option_schema` lists the fields for help
texts, ``inpaintkit methods`` and a server's schema. Errors are :class:`OptionError` (an
:class:`~inpaintkit.errors.InpaintkitError`) naming the option, the value and the valid values,
e.g. ``option resamplings of repaint: 'abc' is not an integer; valid: integer >= 1``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .errors import InpaintkitError

TRUE = ("true", "yes", "1", "on")
FALSE = ("false", "no", "0", "off")
_TYPE_WORDS = {bool: "boolean", int: "integer", float: "number", str: "string"}
_MISSING = dataclasses.MISSING


class OptionError(InpaintkitError):
    """A bad option: ``option`` (its name), ``value`` (as given), ``problem`` and ``valid``
    (words for the valid values); ``owner`` (the method's name) once known."""

    def __init__(
        self, option: str, value: object, problem: str, valid: str, owner: str | None = None
    ) -> None:
        self.option, self.value, self.problem, self.valid, self.owner = (
            option,
            value,
            problem,
            valid,
            owner,
        )
        where = f"option {option}" + (f" of {owner}" if owner else "")
        text = f"{where}: {value!r} {problem}" if value is not _MISSING else f"{where}: {problem}"
        super().__init__(f"{text}; valid: {valid}" if valid else text)

    def of(self, owner: str) -> OptionError:
        """The same error, naming the method it belongs to."""
        return OptionError(self.option, self.value, self.problem, self.valid, owner)


def option(
    default: object,
    *,
    help: str,
    min: float | None = None,
    max: float | None = None,
    min_exclusive: bool = False,
    max_exclusive: bool = False,
    choices: tuple | None = None,
    check: Callable[[Any], str | None] | None = None,
    valid: str | None = None,
    external: bool = False,
) -> Any:
    """A dataclass field of an :class:`Options` class with its schema.

    default: the one default value (immutable). help: one line for help texts. min/max: the
    range of a number, inclusive unless min_exclusive/max_exclusive. choices: the allowed values.
    check: a callable returning None for a good value or words saying what is wrong (for
    patterns such as "power<p>"); valid: words describing the valid values for messages (default
    generated from type, range and choices). external: the value is checked by the class's own
    :meth:`Options.check` (e.g. the runtime knobs, whose checks and messages live in
    models.runtime), not on construction; strings are still converted by the field's type.
    """
    meta = {
        "help": help,
        "min": min,
        "max": max,
        "min_exclusive": min_exclusive,
        "max_exclusive": max_exclusive,
        "choices": choices,
        "check": check,
        "valid": valid,
        "external": external,
    }
    return dataclasses.field(default=default, metadata={"inpaintkit": meta})


@dataclasses.dataclass(frozen=True)
class Options:
    """Base of every method's options: validates all fields on construction.

    Subclasses are ``@dataclass(frozen=True)`` with fields made by :func:`option`; they may
    override :meth:`check` for rules that span fields (raise :class:`OptionError`).
    ``HEADLINE`` names the options shown in one-line method listings.
    """

    HEADLINE: typing.ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        cls = type(self)
        for f in dataclasses.fields(self):
            if field_meta(cls, f.name)["external"]:
                continue  # checked by self.check()
            value = getattr(self, f.name)
            checked = check_value(cls, f.name, value)
            if checked is not value:  # an int given for a float field becomes a float
                object.__setattr__(self, f.name, checked)
        self.check()

    def check(self) -> None:
        """Rules between fields; the fields themselves are valid when this runs."""


# -- schema ---------------------------------------------------------------------------------


def _type_word(kind: type) -> str:
    return _TYPE_WORDS.get(kind, "none" if kind is type(None) else getattr(kind, "__name__", "?"))


def field_meta(cls: type, name: str) -> dict:
    """The schema metadata of field ``name``, inherited from the nearest base declaring it."""
    for base in cls.__mro__:
        f = getattr(base, "__dataclass_fields__", {}).get(name)
        if f is not None and "inpaintkit" in f.metadata:
            return dict(f.metadata["inpaintkit"])
    return {
        "help": "",
        "min": None,
        "max": None,
        "min_exclusive": False,
        "max_exclusive": False,
        "choices": None,
        "check": None,
        "valid": None,
        "external": False,
    }


@functools.cache
def field_types(cls: type, name: str) -> tuple[type, ...]:
    """The types a field accepts, e.g. (float, NoneType) for ``float | None``."""
    hint = typing.get_type_hints(cls)[name]
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return typing.get_args(hint)
    return (hint,)


def describe_valid(cls: type, name: str) -> str:
    """Words for the valid values of a field: "integer >= 1", "'even', 'leading'", ..."""
    meta = field_meta(cls, name)
    if meta["valid"]:
        return meta["valid"]
    kinds = field_types(cls, name)
    if meta["choices"]:
        words = ", ".join(repr(c) for c in meta["choices"])
    else:
        words = " or ".join(_type_word(k) for k in kinds if k is not type(None))
        bounds = []
        if meta["min"] is not None:
            bounds.append(f"{'>' if meta['min_exclusive'] else '>='} {meta['min']}")
        if meta["max"] is not None:
            bounds.append(f"{'<' if meta['max_exclusive'] else '<='} {meta['max']}")
        if bounds:
            words += " " + " and ".join(bounds)
    if type(None) in kinds:
        words += " or none"
    return words


def option_schema(cls: type) -> list[dict]:
    """One dict per option of ``cls`` (an Options dataclass), in declaration order:
    name, type (e.g. "integer", "number or none"), default, help, min, max, choices, valid."""
    out = []
    for f in dataclasses.fields(cls):
        meta = field_meta(cls, f.name)
        kinds = field_types(cls, f.name)
        type_words = " or ".join(_type_word(k) for k in kinds)
        out.append(
            {
                "name": f.name,
                "type": type_words,
                "default": f.default,
                "help": meta["help"],
                "min": meta["min"],
                "max": meta["max"],
                "choices": list(meta["choices"]) if meta["choices"] else None,
                "valid": describe_valid(cls, f.name),
            }
        )
    return out


def format_value(value: object) -> str:
    """A value in the string form :func:`parse_options` reads back ("true", "none", "0.85")."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def as_strings(options: object) -> dict[str, str]:
    """Every option of an Options instance in string form (parses back to an equal instance)."""
    return {f.name: format_value(getattr(options, f.name)) for f in dataclasses.fields(options)}


def describe_defaults(cls: type, names: tuple[str, ...] | None = None) -> str:
    """The defaults of ``names`` (default: every option) as "steps=30, jump_length=5, ..."."""
    instance = cls()
    chosen = names if names is not None else tuple(f.name for f in dataclasses.fields(cls))
    return ", ".join(f"{n}={format_value(getattr(instance, n))}" for n in chosen)


# -- checking and parsing -------------------------------------------------------------------


def check_value(cls: type, name: str, value: object) -> object:
    """``value`` checked against field ``name`` of ``cls`` (type, range, choices, check);
    returns it (an int as a float for float fields) or raises :class:`OptionError`."""
    kinds = field_types(cls, name)
    valid = describe_valid(cls, name)  # cheap: words only, built from cached hints
    if value is None:
        if type(None) in kinds:
            return None
        raise OptionError(name, value, "is not allowed", valid)
    if isinstance(value, bool):
        ok = bool in kinds
    elif isinstance(value, int):
        ok = int in kinds or float in kinds
        if ok and int not in kinds:
            value = float(value)
    elif isinstance(value, float):
        ok = float in kinds
    elif isinstance(value, str):
        ok = str in kinds
    else:
        ok = False
    if not ok:
        raise OptionError(name, value, _not_a(kinds), valid)
    meta = field_meta(cls, name)
    if isinstance(value, float) and not math.isfinite(value):
        raise OptionError(name, value, "is not a finite number", valid)
    if meta["choices"] and value not in meta["choices"]:
        raise OptionError(name, value, "is not one of the choices", valid)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        low, high = meta["min"], meta["max"]
        if low is not None and (value <= low if meta["min_exclusive"] else value < low):
            raise OptionError(name, value, "is out of range", valid)
        if high is not None and (value >= high if meta["max_exclusive"] else value > high):
            raise OptionError(name, value, "is out of range", valid)
    if meta["check"] is not None:
        problem = meta["check"](value)
        if problem:
            raise OptionError(name, value, problem, valid)
    return value


def convert(cls: type, name: str, text: str) -> object:
    """A string as the type of field ``name``: "none" for optional fields, true/false/yes/no/
    1/0/on/off for booleans, int/float literals, else the string itself for str fields."""
    kinds = field_types(cls, name)
    word = text.strip()
    lowered = word.lower()
    if type(None) in kinds and lowered == "none":
        return None
    if bool in kinds:
        if lowered in TRUE:
            return True
        if lowered in FALSE:
            return False
    if int in kinds:
        try:
            return int(word)
        except ValueError:
            pass
    if float in kinds:
        try:
            return float(word)
        except ValueError:
            pass
    if str in kinds:
        return word
    raise OptionError(name, text, _not_a(kinds), describe_valid(cls, name))


def _not_a(kinds: tuple[type, ...]) -> str:
    """Words for a value of the wrong type: "is not an integer", "is not a number", ..."""
    kind = " or ".join(_type_word(k) for k in kinds if k is not type(None))
    return f"is not {'an' if kind[0] in 'aeiou' else 'a'} {kind}"


def split_key_values(pairs: Iterable[str], flag: str = "--option") -> dict[str, str]:
    """KEY=VALUE strings (repeatable CLI flags) to {key: "value"}, "-" in keys read as "_".
    The values stay strings for :func:`parse_options`, which converts them by each option's
    declared type; the last of a repeated key wins. ``flag`` names the flag in errors."""
    parsed: dict[str, str] = {}
    for pair in pairs:
        key, sep, text = str(pair).partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise InpaintkitError(f"{flag} takes KEY=VALUE, got {pair!r}")
        parsed[key] = text.strip()
    return parsed


def parse_values(
    cls: type, values: Mapping[str, object], owner: str | None = None
) -> dict[str, object]:
    """The given ``values`` only, typed and checked against the fields of dataclass ``cls``
    (strings converted, typed values checked; see :func:`parse_options`), e.g. for overrides
    handed on as keywords. Raises :class:`OptionError` / InpaintkitError as parse_options."""
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = [k for k in values if k.replace("-", "_") not in names]
    if unknown:
        listed = ", ".join(repr(k) for k in unknown)
        raise InpaintkitError(
            f"unknown option{'s' if len(unknown) > 1 else ''} {listed}"
            + (f" for {owner}" if owner else "")
            + f"; valid: {', '.join(names)}"
        )
    typed: dict[str, object] = {}
    try:
        for key, value in values.items():
            name = key.replace("-", "_")
            if name in typed:
                raise OptionError(name, _MISSING, "is given twice", "")
            typed[name] = convert(cls, name, value) if isinstance(value, str) else value
            typed[name] = check_value(cls, name, typed[name])
    except OptionError as error:
        raise (error.of(owner) if owner else error) from None
    return typed


def parse_options(cls: type, values: Mapping[str, object], owner: str | None = None) -> Any:
    """An instance of ``cls`` (an Options dataclass) from ``values``, validated.

    values: option name -> a string (converted by the field's type; see :func:`convert`) or a
    typed value (JSON or Python; checked as it is). Names may use "-" for "_". Options not
    given keep their defaults. owner: the method's name, used in error messages.
    Raises :class:`OptionError` for an unknown name (listing the valid ones), a value of the
    wrong type, out of range or not among the choices.
    """
    typed = parse_values(cls, values, owner)
    try:
        return cls(**typed)
    except OptionError as error:
        raise (error.of(owner) if owner else error) from None


__all__ = [
    "Options",
    "OptionError",
    "as_strings",
    "describe_defaults",
    "describe_valid",
    "format_value",
    "option",
    "option_schema",
    "parse_options",
    "parse_values",
    "split_key_values",
]
