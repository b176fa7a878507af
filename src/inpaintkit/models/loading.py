"""``load_model(spec)``: one entry point for every kind of checkpoint inpaintkit reads."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import torch

from ..errors import InpaintkitError
from .diffusers_io import download_hub_model, load_diffusers_folder
from .store import load_safetensors

WEIGHTS_DIR = Path(__file__).parent / "weights"
# Shipped models, best first: "default" is the first one present.
EMBEDDED = ("emoji32", "emoji32-placeholder")
_HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")

# name -> (type, help): what a checkpoint format may not record; see load_model.
MODEL_OPTIONS: dict[str, tuple[type, str]] = {
    "image_size": (int, "guided .pt: the training image size"),
    "num_head_channels": (int, "guided .pt: channels per attention head"),
    "num_heads": (int, "guided .pt: a fixed number of attention heads (instead of the above)"),
    "use_new_attention_order": (bool, "guided .pt: QKVAttention layout [false]"),
    "noise_schedule": (str, "guided .pt: linear or cosine [linear]"),
    "learned_variance": (
        bool,
        "guided .pt and diffusers: the network outputs 2C channels (default: inferred)",
    ),
}
_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


def embedded_models() -> list[str]:
    """Names of the models shipped inside the package, best first."""
    return [name for name in EMBEDDED if (WEIGHTS_DIR / f"{name}.safetensors").exists()]


def parse_model_options(values: Mapping[str, object] | Iterable[str]) -> dict[str, object]:
    """Typed model options from {"name": value} (strings as a CLI gives them, or typed values)
    or from "KEY=VALUE" strings (``--model-option``). Raises InpaintkitError naming a bad
    option and the valid names, or a bad value and the expected type."""
    if not isinstance(values, Mapping):
        pairs = {}
        for item in values:
            key, sep, value = str(item).partition("=")
            if not sep or not key.strip():
                raise InpaintkitError(f"model option {item!r} must look like KEY=VALUE")
            pairs[key.strip()] = value.strip()
        values = pairs
    out: dict[str, object] = {}
    for key, value in values.items():
        if key not in MODEL_OPTIONS:
            valid = ", ".join(f"{k} ({t.__name__})" for k, (t, _) in MODEL_OPTIONS.items())
            raise InpaintkitError(f"unknown model option {key!r}; valid: {valid}")
        kind = MODEL_OPTIONS[key][0]
        out[key] = _coerce(key, value, kind)
    return out


def _coerce(key: str, value: object, kind: type) -> object:
    if value is None:
        return None
    if kind is bool:
        if isinstance(value, bool):
            return value
        if str(value).lower() in _TRUE + _FALSE:
            return str(value).lower() in _TRUE
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
            return int(value)
    elif isinstance(value, str):
        return value
    raise InpaintkitError(f"model option {key}={value!r} must be a {kind.__name__}")


def load_model(spec: str | Path = "default", *, device: str | torch.device = "cpu", **options):
    """Load a model of any kind (see :mod:`inpaintkit.models.kinds`) for inpainting.

    spec:
      - "default" (the best embedded model) or an embedded model's name (see embedded_models());
      - an inpaintkit .safetensors file (format "inpaintkit-2": any kind; "inpaintkit-1": a
        prior), or diffusers weights with config.json beside it;
      - a local diffusers folder (a UNet2DModel's, or a pipeline's with unet/ and scheduler/);
      - a guided-diffusion .pt/.pth checkpoint (the RePaint paper's and OpenAI's), read with
        ``torch.load(weights_only=True)`` (see :mod:`.guided` for what must be given);
      - a Hugging Face hub id "owner/name" (downloaded; a clear error offline).
    device: where the networks run. options: what the checkpoint cannot tell (see
    :data:`MODEL_OPTIONS`; strings are parsed, e.g. from ``--model-option image_size=64``); an
    option a format does not take is an error. Returns the model in eval mode, float32.
    """
    model = _load(str(spec), parse_model_options(options))
    return model.to(device)


def _load(spec: str, options: dict):
    if spec == "default" or spec in EMBEDDED:
        available = embedded_models()
        name = available[0] if spec == "default" and available else spec
        path = WEIGHTS_DIR / f"{name}.safetensors"
        if not path.exists():
            raise InpaintkitError(
                f"embedded model {name!r} is not installed; available: {available or 'none'}"
            )
        model = load_safetensors(path, **options)
        model.source = f"embedded:{name}"
        return model
    path = Path(spec).expanduser()
    if path.is_dir():
        return load_diffusers_folder(path, **_only(options, ("learned_variance",), "diffusers"))
    if path.is_file():
        if path.suffix == ".safetensors":
            return load_safetensors(path, **options)
        if path.suffix in (".pt", ".pth", ".ckpt", ".bin"):
            from .guided import load_guided_checkpoint

            return load_guided_checkpoint(path, **options)
        raise InpaintkitError(
            f"{path}: unknown checkpoint type {path.suffix!r}; expected a .safetensors file, a "
            "guided-diffusion .pt file or a diffusers folder"
        )
    if _HUB_ID.match(spec) and not spec.startswith("."):
        folder = download_hub_model(spec)
        valid = _only(options, ("learned_variance",), "diffusers")
        return load_diffusers_folder(folder, source=spec, **valid)
    raise InpaintkitError(
        f"no model {spec!r}: not an embedded model ({', '.join(EMBEDDED)}), not an existing file "
        "or folder, and not a hub id (owner/name)"
    )


def _only(options: dict, valid: tuple[str, ...], what: str) -> dict:
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise InpaintkitError(
            f"model option(s) {unknown} do not apply to {what} models; valid: {list(valid)}"
        )
    return options
