"""``load_model(spec)``: one entry point for every kind of checkpoint inpaintkit reads."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path

import torch

from ..errors import InpaintkitError
from ..options import Options, option, parse_values, split_key_values
from .diffusers_io import download_hub_model, load_diffusers_folder
from .store import load_safetensors

WEIGHTS_DIR = Path(__file__).parent / "weights"
# The shipped priors, best first: "default" is the first one present.
DEFAULT_PRIORS = ("emoji32-v2", "emoji32-placeholder")
# Models that shipped once and left the package (weights budget: 64 MB): name -> what to do.
RETIRED = {
    "emoji32": (
        "the first prior (Google style only) no longer ships: emoji32-v2, the default, replaced "
        "it and started from it, and the 64 MB weights budget needed its 14.6 MB. Its card is "
        "docs/models/emoji32.md; its file is in the repository's history: `git show "
        "179d3a3:src/inpaintkit/models/weights/emoji32.safetensors > emoji32.safetensors`, "
        "then --model emoji32.safetensors"
    ),
}
_HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")


@dataclass(frozen=True)
class ModelOptions(Options):
    """What a checkpoint format may not record (``--model-option KEY=VALUE``; see load_model).
    None = not given: the loader reads it from the checkpoint or refuses clearly."""

    image_size: int | None = option(None, help="guided .pt: the training image size", min=1)
    num_head_channels: int | None = option(
        None, help="guided .pt: channels per attention head (-1: use num_heads)", min=-1
    )
    num_heads: int | None = option(
        None, help="guided .pt: a fixed number of attention heads (instead of the above)", min=1
    )
    use_new_attention_order: bool | None = option(
        None, help="guided .pt: QKVAttention layout [false]"
    )
    noise_schedule: str | None = option(
        None, help="guided .pt: linear or cosine [linear]", choices=("linear", "cosine")
    )
    learned_variance: bool | None = option(
        None, help="guided .pt and diffusers: the network outputs 2C channels [inferred]"
    )


MODEL_OPTIONS: tuple[str, ...] = tuple(f.name for f in fields(ModelOptions))


def embedded_models() -> list[str]:
    """Names of the models shipped inside the package (every ``weights/*.safetensors``): the
    shipped priors first, best first (the first is "default"), then the others by name."""
    present = sorted(path.stem for path in WEIGHTS_DIR.glob("*.safetensors"))
    priors = [name for name in DEFAULT_PRIORS if name in present]
    return priors + [name for name in present if name not in priors]


def parse_model_options(values: Mapping[str, object] | Iterable[str]) -> dict[str, object]:
    """The model options given, typed by the one option parser (:mod:`inpaintkit.options`):
    from {"name": value} (strings as a CLI gives them, or typed values) or from "KEY=VALUE"
    strings (``--model-option``). Raises InpaintkitError naming a bad option and the valid
    names, or a bad value and what is valid."""
    if not isinstance(values, Mapping):
        values = split_key_values(values, "--model-option")
    return parse_values(ModelOptions, values, owner="the model")


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
    :class:`ModelOptions`; strings are parsed, e.g. from ``--model-option image_size=64``); an
    option a format does not take is an error. Returns the model in eval mode, float32.
    """
    model = _load(str(spec), parse_model_options(options))
    check_finite_weights(model)
    return model.to(device)


def check_finite_weights(model: object) -> None:
    """Raise InpaintkitError naming the checkpoint and the first tensor that holds NaN or
    infinite values (such weights would turn every result into NaN, blamed on the image)."""
    for name, network in model.networks().items():
        for key, tensor in (*network.named_parameters(), *network.named_buffers()):
            if tensor.is_floating_point() and not torch.isfinite(tensor).all():
                bad = int((~torch.isfinite(tensor)).sum())
                raise InpaintkitError(
                    f"checkpoint {model.source}: weight {name}.{key} holds {bad} NaN or infinite "
                    f"value(s) of {tensor.numel()}; the checkpoint is broken (re-export or "
                    "re-download it)"
                )


def _load(spec: str, options: dict):
    available = embedded_models()
    if spec == "default" or spec in available:
        priors = [name for name in available if name in DEFAULT_PRIORS]
        name = priors[0] if spec == "default" and priors else spec
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
    if spec in RETIRED:
        raise InpaintkitError(f"model {spec!r}: {RETIRED[spec]}")
    if _HUB_ID.match(spec) and not spec.startswith("."):
        folder = download_hub_model(spec)
        valid = _only(options, ("learned_variance",), "diffusers")
        return load_diffusers_folder(folder, source=spec, **valid)
    raise InpaintkitError(
        f"no model {spec!r}: not an embedded model ({', '.join(available)}), not an existing file "
        "or folder, and not a hub id (owner/name)"
    )


def _only(options: dict, valid: tuple[str, ...], what: str) -> dict:
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise InpaintkitError(
            f"model option(s) {unknown} do not apply to {what} models; valid: {list(valid)}"
        )
    return options
