"""Checks every command runs before any model is loaded or any network evaluated.

Each failure is one InpaintkitError (one line: what was expected, what was found, the choices);
each trap that still has a use is a warning on stderr. The README's "Behaviour on awkward
input" table lists which is which.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..errors import InpaintkitError
from .app import warn

#: Method model kinds whose models can take a class label.
_LABELLED_KINDS = ("prior", "conditional-diffusion")


def check_at_least(flag: str, value: int | None, low: int) -> None:
    """Raise unless ``value`` (None = not given) is an integer >= ``low``."""
    if value is not None and value < low:
        raise InpaintkitError(f"{flag} must be an integer >= {low}, got {value}")


def check_run(
    *,
    device: str | None = None,
    batch_size: int | None = None,
    seed: int | None = None,
    samples: int | None = None,
    budget: int | None = None,
    counts: dict[str, tuple[int | None, int]] | None = None,
    method: str | None = None,
    given: dict[str, object] | None = None,
    class_label: int | None = None,
    images: Iterable[Path] = (),
    strategy: str | None = None,
    model: str | None = None,
) -> None:
    """Every check of a run that needs no model, in one call (None = not given / not a flag of
    the command); raises InpaintkitError for the first that fails, warns for the traps:

    - the device (a valid form, and available in this torch build on this machine);
    - --batch-size >= 1, --seed >= 0, --samples >= 1, --budget >= 1, and ``counts``
      ({flag: (value, lowest valid value)}) for a command's other integers;
    - with ``method``: its options (``given``: the user's {name: value}, flags and -o) through
      the one parser, then :func:`check_method`'s traps and, for ``images`` with ``strategy``,
      :func:`check_squash`.
    """
    if device is not None:
        from ..models import check_device  # here: torch loads after the thread policy

        check_device(device)
    check_at_least("--batch-size", batch_size, 1)
    check_at_least("--seed", seed, 0)
    check_at_least("--samples", samples, 1)
    check_at_least("--budget", budget, 1)
    for flag, (value, low) in (counts or {}).items():
        check_at_least(flag, value, low)
    if method is None:
        return
    from ..methods import get_method, parse_options

    cls = get_method(method)
    given = dict(given or {})
    options = parse_options(cls.Options, given, owner=method)
    if budget is None:  # a budget chooses steps that keep the jumps
        check_method(cls, options, given, class_label)
    elif class_label is not None:
        check_method(cls, None, (), class_label)
    if strategy is not None:
        check_squash(images, strategy, model, cls.needs.model_kind is not None)


def check_method(
    cls: type, options: object, given: Iterable[str], class_label: int | None = None
) -> None:
    """Traps of a method's parsed options, before its model is loaded.

    - a RePaint-style walk whose jump length is at or above its steps while resamplings > 1
      asks for resampling: an error when the user gave jump_length or resamplings, a warning
      when only the method's defaults meet a small --steps (the walk runs without resampling);
    - --class-label on a method whose models take none (classical, feed-forward): an error
      (the class label on an unconditional diffusion model is refused when it is loaded).
    """
    why = getattr(options, "resampling_off", lambda: None)()
    if why is not None:
        if {"jump_length", "resamplings"} & set(given):
            raise InpaintkitError(why)
        warn(why.replace("would be off", "is off"))
    if class_label is not None and cls.needs.model_kind not in _LABELLED_KINDS:
        kind = cls.needs.model_kind or "no model"
        raise InpaintkitError(
            f"--class-label {class_label}: method {cls.name} ({kind}) takes no class label; "
            "drop it (it applies to class-conditional diffusion models)"
        )


def check_squash(
    images: Iterable[Path], strategy: str, model: str | None, uses_model: bool
) -> None:
    """Warn when ``--strategy resize`` (``--resize``) will squash an image that is not square
    into the model's square, and when the default model (32x32 emoji) is asked to fill it.
    Image sizes are read from the file headers (nothing decoded)."""
    if strategy != "resize" or not uses_model:
        return
    from PIL import Image

    for path in images:
        try:
            with Image.open(path) as im:
                width, height = im.size
        except OSError:
            continue  # the loader names the file
        if width == height:
            continue
        emoji = (
            "; the default model knows only 32x32 emoji, so a photo gets an emoji-like fill"
            if model in (None, "default")
            else ""
        )
        warn(
            f"--resize squashes {path} ({width}x{height}, aspect {width / height:.2f}) into the "
            f"model's square and back{emoji}; the default --strategy auto crops a square "
            "around each hole instead and never squashes"
        )
