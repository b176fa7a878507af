"""The registry of methods by name, and :func:`build_method`, the one way to make a method
from a name and options (CLI, bench, Python API, later a server)."""

from __future__ import annotations

from collections.abc import Mapping

import torch

from ..errors import InpaintkitError
from ..options import parse_options
from .base import Inpainter, Method
from .classical import (
    Biharmonic,
    Exemplar,
    NavierStokes,
    PatchMatch,
    PDEDiffusion,
    PullPush,
    Telea,
)
from .conditional import InpaintDDPM
from .diffusion import DDNM, RePaint, RePaintFast, RePaintSDEdit
from .feedforward import (
    ContextEncoderMethod,
    DeepFillV1,
    DeepFillV2,
    FeedForward,
    GLCICMethod,
    LaMa,
    PartialConvMethod,
)
from .realfill import RealFill
from .strdiffusion import StrDiffusion

# RePaint and its Table 4 ablation, the fast samplers (about 230 NFE), the generic methods of
# the other model kinds (a conditional diffusion model, a feed-forward generator), then the survey's
# classical baselines (sections 2.1-2.2)
_ALL: tuple[type[Method], ...] = (
    RePaint,
    RePaintSDEdit,
    RePaintFast,
    DDNM,
    InpaintDDPM,
    FeedForward,
    ContextEncoderMethod,
    GLCICMethod,
    PartialConvMethod,
    DeepFillV1,
    DeepFillV2,
    LaMa,
    Telea,
    NavierStokes,
    Biharmonic,
    PatchMatch,
    PDEDiffusion,
    PullPush,
    Exemplar,
    RealFill,  # reference-driven (a fit step; wave 2)
    StrDiffusion,
)
METHODS: dict[str, type] = {cls.name: cls for cls in _ALL}
"""Method name -> class (tests may register fakes here)."""


def get_method(name: str) -> type:
    """The method class registered under ``name``."""
    try:
        return METHODS[name]
    except KeyError:
        raise InpaintkitError(f"unknown method {name!r}; choose one of {sorted(METHODS)}") from None


def build_method(
    name: str,
    *,
    model: object | None = None,
    device: str | torch.device = "cpu",
    options: Mapping[str, object] | object | None = None,
    class_label: int | None = None,
    progress: bool = True,
    **option_values: object,
) -> Inpainter:
    """The method ``name`` ready to inpaint.

    options: a mapping of option values (strings as from ``-o key=value``, or typed values),
    or an instance of the method's Options; ``option_values`` (Python keywords, e.g.
    ``steps=50``) are merged over a mapping. They are parsed and validated by the one parser
    (:func:`~inpaintkit.methods.options.parse_options`) BEFORE any model is loaded, so a bad
    value fails fast. Methods that need a model get ``model`` (a loaded model or a load_model
    spec; None = "default" for methods on a prior, an error for the other kinds, which have no
    default model), device, class_label and progress; a model whose kind is not the method's
    ``needs.model_kind`` is refused here, naming both kinds (:meth:`Method.resolve_model`). The
    others refuse a model, since they would silently ignore it.
    """
    cls = get_method(name)
    if isinstance(options, cls.Options):
        if option_values:
            raise InpaintkitError("give options either as an Options instance or as values")
        parsed = options
    else:
        parsed = parse_options(cls.Options, {**dict(options or {}), **option_values}, owner=name)
    if cls.needs.model_kind is None:
        if model is not None:
            raise InpaintkitError(f"method {name!r} uses no diffusion model; drop --model")
        return cls(parsed)
    loaded = cls.resolve_model(model, device)
    return cls(
        parsed,
        model=loaded,
        device=device,
        class_label=class_label,
        progress=progress,
    )


def list_methods() -> list[dict]:
    """One dict per registered method: name, summary, needs, default cost and option schema."""
    from ..options import option_schema

    return [
        {
            "name": name,
            "summary": cls.summary,
            "model_kind": cls.needs.model_kind,
            "inputs": list(cls.needs.inputs),
            "references": cls.needs.references,
            "cost": cls.cost(cls.Options()),
            "options": option_schema(cls.Options),
        }
        for name, cls in METHODS.items()
    ]


__all__ = [
    "METHODS",
    "build_method",
    "get_method",
    "list_methods",
]
