"""A cache of loaded models, shared by bench workers and (later) a server.

``ModelManager.get(spec, device, **options)`` loads a model once per (spec, device, options) and
returns the same object afterwards, from any thread. Models are shared, so nothing may change
their weights in place (runtime variants such as channels_last are copies; see
:meth:`~inpaintkit.models.model.DiffusionModel.denoiser`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

import torch

from .loading import load_model, parse_model_options

Loader = Callable[..., object]


class ModelManager:
    """Loaded models keyed by (spec, device, options), behind a ``threading.Lock``.

    loader: ``loader(spec, device=..., **options)`` [``load_model``]. One lock per key: two
    threads asking for the same model wait for one load; different models load in parallel.
    """

    def __init__(self, loader: Loader = load_model) -> None:
        self._loader = loader
        self._lock = threading.Lock()
        self._models: dict[tuple, object] = {}
        self._key_locks: dict[tuple, threading.Lock] = {}

    @staticmethod
    def key(spec: str, device: str | torch.device = "cpu", **options: object) -> tuple:
        """The cache key: (spec, canonical device, options as sorted JSON, file stamp). The
        stamp (sizes and modification times of a local file or folder's files) makes a
        checkpoint rewritten under the same path load afresh."""
        typed = parse_model_options(options)
        return (
            str(spec),
            str(torch.device(device)),
            json.dumps(typed, sort_keys=True),
            _stamp(str(spec)),
        )

    def get(self, spec: str = "default", device: str | torch.device = "cpu", **options: object):
        """The model for ``spec`` on ``device`` with load ``options``, loaded on first use."""
        key = self.key(spec, device, **options)
        with self._lock:
            if key in self._models:
                return self._models[key]
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._models:
                    return self._models[key]
            model = self._loader(str(spec), device=device, **options)
            with self._lock:
                self._models[key] = model
                self._key_locks.pop(key, None)
            return model

    def put(self, model: object, spec: str, device: str | torch.device = "cpu", **options) -> None:
        """Register an already loaded model under its key (saves loading it again)."""
        with self._lock:
            self._models[self.key(spec, device, **options)] = model

    def clear(self) -> None:
        """Forget every model (they are freed when nothing else holds them)."""
        with self._lock:
            self._models.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._models)


def _stamp(spec: str) -> tuple:
    path = Path(spec).expanduser()
    try:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        return tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files)
    except OSError:  # not a local path (an embedded name, a hub id)
        return ()


_SHARED = ModelManager()


def shared_models() -> ModelManager:
    """The process-wide :class:`ModelManager`."""
    return _SHARED
