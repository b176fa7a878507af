"""inpaintkit: free-form image inpainting with diffusion models (RePaint) and baselines.

``inpaint``, ``inpaint_batch`` and ``load_model`` load on first use, so that
``import inpaintkit.cli`` can set the thread policy (inpaintkit.threads) before torch loads."""

from .errors import InpaintkitError

__version__ = "0.1.0"
__all__ = ["InpaintkitError", "__version__", "inpaint", "inpaint_batch", "load_model"]


def __getattr__(name: str):  # noqa: ANN202  (PEP 562: the torch-backed names, on first use)
    if name in ("inpaint", "inpaint_batch"):
        from . import api

        return getattr(api, name)
    if name == "load_model":
        from .models import load_model

        return load_model
    import importlib

    if name.startswith("__"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:  # a subpackage, as ``import inpaintkit`` used to load them: inpaintkit.io, .masks, ...
        return importlib.import_module(f".{name}", __name__)
    except ModuleNotFoundError as err:
        if err.name != f"{__name__}.{name}":
            raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
