"""The method protocol: name, summary, Options, needs, cost, for_budget, and fit for
reference-driven methods (DESIGN rule 8). The shared wrapper that runs any method on images of
any size is :mod:`.wrapper`."""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Protocol

import numpy as np
import torch
from PIL import Image

from ..errors import InpaintkitError
from ..io import image_to_tensor, keep_to_hole, tensor_to_images
from ..options import Options, describe_defaults

Callback = Callable[[dict], None]

MODEL_KINDS = ("prior", "conditional-diffusion", "feedforward", "bundle")
"""The model kinds a method may need (inpaintkit.models.kinds.KINDS)."""


@dataclass(frozen=True)
class Needs:
    """What a method needs beyond an image and its hole.

    model_kind: the kind of loaded model it runs ("prior", "conditional-diffusion",
    "feedforward", "bundle"), or None for methods without a network (classical ones).
    inputs: names of extra per-image inputs it takes as tensors, e.g. ("sketch",).
    references: True for reference-driven methods (they take reference images; see
    :class:`ReferenceMethod`).
    """

    model_kind: str | None = None
    inputs: tuple[str, ...] = ()
    references: bool = False

    def __post_init__(self) -> None:
        if self.model_kind is not None and self.model_kind not in MODEL_KINDS:
            raise InpaintkitError(
                f"unknown model kind {self.model_kind!r}; choose one of {MODEL_KINDS} or None"
            )

    def describe(self) -> str:
        """Words for listings: "a prior model" or "no model", plus the extra inputs."""
        words = f"a {self.model_kind} model" if self.model_kind else "no model"
        if self.inputs:
            words += " + " + ", ".join(self.inputs)
        if self.references:
            words += " + reference images"
        return words


class Inpainter(Protocol):
    """A method that fills holes in a batch of images.

    ``image_size`` is the only resolution it works at (a diffusion model's), or None for any.
    ``__call__`` takes known [B,3,H,W] in [-1,1] and keep [B,1,H,W] (1 = known) and one
    torch.Generator per row, plus the extra inputs its ``needs.inputs`` names as keyword tensors,
    and returns [B,3,H,W] in [-1,1].
    """

    name: str
    image_size: int | None

    def __call__(
        self,
        known: torch.Tensor,
        keep: torch.Tensor,
        *,
        generators: list[torch.Generator],
        callback: Callback | None = None,
    ) -> torch.Tensor: ...


class Method:
    """Base of every registered method: what it is, what it needs and what it costs.

    A subclass sets ``name`` (the registry key), ``summary`` (one line without default numbers:
    :meth:`describe` adds those from ``Options``), ``Options`` (an :class:`Options` dataclass,
    the one source of its defaults), ``needs`` (:class:`Needs`), and overrides :meth:`cost`
    (and :meth:`for_budget`) when it runs a network. ``default_model``: the embedded model
    (its name in ``models/weights``) it runs without ``--model``; None: the default prior for
    prior methods, none for the others.
    """

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    Options: ClassVar[type] = Options
    needs: ClassVar[Needs] = Needs(None)
    default_model: ClassVar[str | None] = None
    recipe: ClassVar[str] = ""  # the command that trains default_model (named when it is missing)
    image_size: int | None = None

    @classmethod
    def cost(cls, options: Any) -> dict[str, int]:
        """The work of one batch: {"network_evaluations": n, ...} (diffusion walks add
        "undo_steps"; a method whose work varies gives its most as "network_evaluations" and
        its fewest as "network_evaluations_min"); 0 network evaluations for methods without a
        network."""
        return {"network_evaluations": 0}

    @classmethod
    def for_budget(
        cls, options: Any, budget: int, max_steps: int | None = None, fixed: Collection[str] = ()
    ) -> Any:
        """``options`` changed to spend at most ``budget`` network evaluations per batch.
        Only methods with a network have a budget; this one raises InpaintkitError."""
        raise InpaintkitError(
            f"--budget counts network evaluations; {cls.name} uses no network (drop --budget)"
        )

    @classmethod
    def model_spec(cls, model: object | None) -> object:
        """The model this method runs when given ``model`` (a loaded model or a load_model
        spec): ``model`` itself, or for None the method's ``default_model`` (an embedded model's
        name) if it has one, else "default" (the embedded prior) when the method runs a prior.
        Otherwise InpaintkitError "method X needs a K model: --model FILE"."""
        if model is not None:
            return model
        if cls.default_model is not None:
            from .. import models  # looked up per call: tests may swap embedded_models

            if cls.recipe and cls.default_model not in models.embedded_models():
                name = cls.default_model
                raise InpaintkitError(
                    f"method {cls.name}: its model {name!r} is not installed (no "
                    f"models/weights/{name}.safetensors in this inpaintkit). Train it with "
                    f"`{cls.recipe} --out runs/{name}`, export it with `inpaintkit export "
                    f"runs/{name} {name}.safetensors`, then pass --model {name}.safetensors "
                    f"(or any {cls.needs.model_kind} model with --model FILE)"
                )
            return cls.default_model
        if cls.needs.model_kind == "prior":
            return "default"
        raise InpaintkitError(
            f"method {cls.name} needs a {cls.needs.model_kind} model: --model FILE"
        )

    @classmethod
    def resolve_model(cls, model: object | None, device: str | torch.device = "cpu") -> Any:
        """The loaded model this method runs (a spec from :meth:`model_spec` is loaded on
        ``device``; a loaded model is taken as it is), refused with an InpaintkitError that
        names both kinds unless its kind is ``needs.model_kind``."""
        from ..models import load_model

        spec = cls.model_spec(model)
        loaded = load_model(spec, device=device) if isinstance(spec, (str, os.PathLike)) else spec
        kind = getattr(loaded, "kind", None)
        if kind != cls.needs.model_kind:
            raise InpaintkitError(
                f"method {cls.name!r} needs a {cls.needs.model_kind} model; "
                f"{getattr(loaded, 'source', None) or spec} is a {kind} model"
            )
        return loaded

    def config(self) -> dict:
        """The resolved configuration saved next to outputs: the name and every option."""
        return {"method": self.name, **asdict(self.options)}

    def time_network(self, batch: int, height: int, width: int) -> float:
        """Seconds of one network evaluation on a [batch, C, height, width] input, as the
        method runs it (``--dry-run``'s estimate); methods with a network override this."""
        raise InpaintkitError(f"method {self.name} runs no network to time")

    @classmethod
    def describe(cls) -> str:
        """The summary plus the defaults of ``Options.HEADLINE`` and the default cost, e.g.
        "RePaint on a short schedule (steps=30, jump_length=5, resamplings=9; 230 NFE)"."""
        headline = getattr(cls.Options, "HEADLINE", ())
        parts = [describe_defaults(cls.Options, headline)] if headline else []
        cost = cls.cost(cls.Options())
        nfe, low = cost.get("network_evaluations", 0), cost.get("network_evaluations_min")
        if nfe:
            parts.append(f"{low}-{nfe} NFE" if low is not None and low != nfe else f"{nfe} NFE")
        return f"{cls.summary} ({'; '.join(parts)})" if parts else cls.summary


class ReferenceMethod(Method):
    """Base of reference-driven methods (e.g. RealFill): before inpainting, :meth:`fit` adapts
    the method to a few reference photos of the same scene; ``needs.references`` is True.

    A subclass implements :meth:`fit` and the usual ``__call__``; a caller runs ``fit`` once per
    set of references, then inpaints any number of jobs with it (:func:`fit_references` does
    that for the jobs of a run). ``fitted`` is True once it may inpaint without a fit (e.g. a
    saved adapter was given).
    """

    needs: ClassVar[Needs] = Needs(None, references=True)
    fitted: bool = False

    def fit(
        self,
        references: list[Image.Image],
        *,
        steps: int | None = None,
        seed: int = 0,
        progress: bool = True,
        targets: Sequence[tuple[Image.Image, np.ndarray]] = (),
    ) -> dict[str, float]:
        """Adapt to ``references`` (RGB images of the scene) for ``steps`` optimisation steps
        (None: the method's own default), drawing randomness from ``seed`` only (same seed, same
        result); ``progress`` shows a bar. ``targets``: the images to inpaint with their holes
        (bool, True = hole), whose known pixels a method may fit on too (RealFill does).
        Returns final statistics (e.g. {"loss": ...}). Must be called before inpainting."""
        raise NotImplementedError


def fit_references(
    method: object, jobs: Sequence[object], *, seed: int = 0, progress: bool = True
) -> dict[str, float] | None:
    """Run a reference-driven method's fit once for ``jobs`` (``wrapper.Job``): on their
    references (the same for every job) and their images and holes as targets. Nothing for a
    method without references or one already ``fitted``; InpaintkitError for references given
    to a method that takes none, or none given to one that needs them."""
    name = getattr(method, "name", type(method).__name__)
    references = jobs[0].references if jobs else ()
    if not getattr(getattr(method, "needs", None), "references", False):
        if any(job.references for job in jobs):
            raise InpaintkitError(f"method {name} takes no reference images; drop them")
        return None
    if any(tuple(job.references) != tuple(references) for job in jobs):
        raise InpaintkitError(f"method {name}: give the same reference images for every image")
    if getattr(method, "fitted", False):
        return None
    if not references:
        raise InpaintkitError(
            f"method {name} needs reference images of the scene (references=[...], CLI --ref)"
        )
    targets = [(job.image, job.hole) for job in jobs]
    return method.fit(list(references), seed=seed, progress=progress, targets=targets)


class ArrayInpainter(Method):
    """Base of the methods that fill one uint8 image at a time (the classical baselines).

    A subclass sets ``name``, ``summary`` and ``Options`` (an Options dataclass) and implements
    :meth:`fill`; conversion, batching and seeding live here once. Needs no model.
    """

    def __init__(self, options: object | None = None) -> None:
        self.options = options if options is not None else self.Options()

    def fill(self, image: np.ndarray, hole: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """image: uint8 [H,W,3]; hole: bool [H,W] (True = fill); returns uint8 [H,W,3]."""
        raise NotImplementedError

    def __call__(
        self,
        known: torch.Tensor,
        keep: torch.Tensor,
        *,
        generators: list[torch.Generator],
        callback: Callback | None = None,
    ) -> torch.Tensor:
        rows = []
        for image, row_keep, generator in zip(tensor_to_images(known), keep, generators):
            rng = np.random.default_rng(generator.initial_seed())
            filled = self.fill(np.asarray(image), keep_to_hole(row_keep[0]), rng)
            rows.append(image_to_tensor(Image.fromarray(filled)))
        return torch.cat(rows).to(known.device)
