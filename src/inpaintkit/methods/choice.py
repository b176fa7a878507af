"""The method a user gets without naming one (``--method auto``, the default): chosen by the
input's size, since inpaintkit's embedded models know two worlds.

- Every image at most :data:`SMALL_SIDE` (64) px on both sides: ``repaint`` on the default prior
  (the 32x32 emoji model; an image between 33 and 64 px goes through the crop strategy).
- Any image larger: a photo. ``lama`` on the embedded photo network :data:`PHOTO_MODEL`, at the
  photo's own size and aspect ratio (crops around the holes above 1024 px, see
  :mod:`.strategy`), with the fill feathered over :data:`PHOTO_FEATHER` px inside the hole
  border; known pixels stay exact. Without that network (none ships: no photo network trained
  here beat it): ``pull-push``, the best fill on the held-out photos (docs/photos.md), and the
  reason says so.
- A ``--model`` given with ``auto``: ``repaint`` on it (a prior, as before auto existed; another
  kind is refused by the method, naming the kind it needs).

Images of both worlds in one run get the photo choice (the largest image decides).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..models.loading import embedded_models

AUTO = "auto"
SMALL_SIDE = 64
PHOTO_MODEL = "lama-photo128"
PHOTO_FEATHER = 3
PHOTO_MODELS = frozenset({PHOTO_MODEL, "photo64"})
"""The embedded models trained on photos; every other embedded model learned 32x32 emoji."""


@dataclass(frozen=True)
class Choice:
    """What ``auto`` resolved to: method, model spec (None: the method's default), the feather
    (px; None: the caller's) and why, in words for the log and inpaintkit.json."""

    method: str
    model: str | None
    feather: int | None
    reason: str


def choose_method(
    sizes: Sequence[tuple[int, int]], model: object | None, installed: Sequence[str]
) -> Choice:
    """The choice for images of these (width, height) ``sizes``; ``model``: the user's model
    (spec or loaded) or None; ``installed``: the embedded models' names."""
    if model is not None:
        return Choice("repaint", None, None, "a model was given: repaint on it")
    width, height = max(sizes, key=lambda size: max(size), default=(0, 0))
    if max(width, height) <= SMALL_SIDE:
        return Choice(
            "repaint", None, None, f"{width}x{height} px: small, repaint on the default prior"
        )
    if PHOTO_MODEL in installed:
        return Choice(
            "lama", PHOTO_MODEL, PHOTO_FEATHER,
            f"{width}x{height} px: a photo, lama on {PHOTO_MODEL}",
        )  # fmt: skip
    return Choice(
        "pull-push", None, None,
        f"{width}x{height} px: a photo: pull-push, the best fill on held-out photos (no "
        "learned photo network here beats it: docs/photos.md)",
    )  # fmt: skip


def emoji_model_note(
    method: str, default_spec: object, sizes: Sequence[tuple[int, int]]
) -> str | None:
    """A warning for a method named by the user, without ``--model``, on a photo-sized image
    (a side above :data:`SMALL_SIDE`), when the method's default model (``default_spec``:
    ``cls.model_spec(None)``; "default" is the default prior) is an embedded emoji model, not
    one of :data:`PHOTO_MODELS`. None when there is nothing to say."""
    width, height = max(sizes, key=lambda size: max(size), default=(0, 0))
    if max(width, height) <= SMALL_SIDE or not isinstance(default_spec, str):
        return None
    name = embedded_models()[0] if default_spec == "default" else default_spec
    if name in PHOTO_MODELS:
        return None
    return (
        f"note: {method} runs on {name}, a model trained on 32x32 emoji: on this {width}x"
        f"{height} image it fills emoji-like content. For a photo, --method auto (the default) "
        "picks the photo fill (docs/photos.md)"
    )
