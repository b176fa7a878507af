"""Which model each method runs on a server, loaded once, with one run lock per model.

Models come from the process-wide cache (``models.manager.shared_models()``, which loads each
spec once however many threads ask). On top of it a server holds one ``threading.Lock`` per
model: jobs on the same model run one after the other (a network is not run by two jobs at once,
so memory stays that of one batch), jobs on different models, or classical methods that use no
model, run side by side.
"""

from __future__ import annotations

import threading
from contextlib import nullcontext
from typing import Any

from ..errors import InpaintkitError
from ..models.manager import ModelManager, shared_models


class ModelPool:
    """The models of one server. model: the server's ``--model`` (a spec or a loaded model, or
    None); device: where models load; manager: the model cache (the shared one by default)."""

    def __init__(
        self, model: object | None, device: str = "cpu", manager: ModelManager | None = None
    ) -> None:
        self.model, self.device = model, device
        self.manager = manager or shared_models()
        self._lock = threading.Lock()
        self._run_locks: dict[int, threading.Lock] = {}

    def check(self, cls: type) -> None:
        """Raise InpaintkitError, before anything is queued, when method ``cls`` needs a model
        that this server cannot give it (no ``--model`` and no default of its own)."""
        kind = cls.needs.model_kind
        if kind is None or self.model is not None:
            return
        cls.model_spec(None)  # raises "method X needs a K model" when it has no default

    def load(self, spec: object) -> Any:
        """The loaded model of a spec (from the shared cache), or ``spec`` when already loaded."""
        if isinstance(spec, str):
            return self.manager.get(spec, self.device)
        return spec

    def model_for(self, cls: type) -> Any:
        """The loaded model method ``cls`` runs (None for methods without one): the server's
        model when it is of the kind the method needs, else the method's own default."""
        kind = cls.needs.model_kind
        if kind is None:
            return None
        if self.model is not None:
            loaded = self.load(self.model)
            if getattr(loaded, "kind", None) == kind:
                return loaded
            if cls.default_model is None and kind != "prior":
                raise InpaintkitError(
                    f"method {cls.name} needs a {kind} model; the server's model is a "
                    f"{getattr(loaded, 'kind', None)} model"
                )
        return self.load(cls.model_spec(None))

    def run_lock(self, model: object | None) -> threading.Lock | nullcontext:
        """The lock a job on ``model`` holds while it runs (one per model; none without one)."""
        if model is None:
            return nullcontext()
        with self._lock:
            return self._run_locks.setdefault(id(model), threading.Lock())
