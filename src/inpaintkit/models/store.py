"""inpaintkit's own checkpoint file: one .safetensors, no pickle anywhere.

Format "inpaintkit-2" (written by :func:`save_model`, for every model kind). Header metadata:

- ``format``: "inpaintkit-2"; ``kind``: one of :data:`~.kinds.KINDS`;
- ``networks``: JSON, network name -> {"class": <registered class name>, "config": {...}}
  (see :mod:`inpaintkit.networks.registry`);
- ``process``: JSON, the kind's process config (a diffusion config, channels, extra inputs ...);
- ``card``: the model card text.

Tensor keys are ``<network name>.<state key>``.

Format "inpaintkit-1" (the first writer's, e.g. the first emoji32; read only, unchanged): metadata
``unet_config`` (diffusers UNet2DModel config), ``diffusion`` (a DiffusionConfig) and ``card``;
tensor keys are the UNet's state keys. It loads as kind "prior".
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from ..errors import InpaintkitError
from ..networks.registry import build_network, build_unet, load_weights, network_spec
from .conditional import ConditionalDiffusionModel
from .diffusers_io import diffusion_config_from_scheduler, read_json
from .feedforward import BundleModel, FeedForwardModel
from .kinds import KINDS
from .model import DiffusionModel
from .spec import DiffusionConfig

FORMAT = "inpaintkit-2"
FORMAT_V1 = "inpaintkit-1"
KIND_CLASSES = {
    "prior": DiffusionModel,
    "conditional-diffusion": ConditionalDiffusionModel,
    "feedforward": FeedForwardModel,
    "bundle": BundleModel,
}
assert tuple(KIND_CLASSES) == KINDS

__all__ = ["FORMAT", "build_unet", "load_safetensors", "save_model"]


def save_model(model: object, path: str | Path, *, dtype: torch.dtype = torch.float16) -> Path:
    """Write ``model`` (any kind) to ``path`` (.safetensors, format "inpaintkit-2")
    atomically; floating-point weights stored as ``dtype`` (fp16 halves the file;
    loading casts back to float32). Returns the path.
    """
    path = Path(path)
    kind = getattr(model, "kind", None)
    if kind not in KIND_CLASSES:
        raise InpaintkitError(f"cannot save {type(model).__name__}: unknown model kind {kind!r}")
    tensors, networks = {}, {}
    for name, net in model.networks().items():
        if "." in name:
            raise InpaintkitError(f"network names may not contain '.': {name!r}")
        networks[name] = network_spec(net)
        for key, value in net.state_dict().items():
            value = value.detach().to("cpu")
            if value.is_floating_point():
                value = value.to(dtype)
            tensors[f"{name}.{key}"] = value.contiguous()
    metadata = {
        "format": FORMAT,
        "kind": kind,
        "networks": json.dumps(networks, sort_keys=True),
        "process": json.dumps(model.process_config(), sort_keys=True),
        "card": model.card,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=metadata)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files; weights are shipped and shared
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def load_safetensors(path: str | Path, *, unet_config: dict | None = None, **options: object):
    """Load a .safetensors checkpoint: an inpaintkit file (format 2, any kind; format 1, a
    prior) or a bare diffusers weights file.

    A bare diffusers weights file (``diffusion_pytorch_model.safetensors``) needs the UNet
    config: ``unet_config`` or a ``config.json`` beside the file; its diffusion config is then
    read from a ``scheduler_config.json`` beside it, else DDPM's defaults (linear, T=1000,
    epsilon); ``learned_variance`` (option) overrides the inference from the channel counts.
    inpaintkit files take no options. Raises InpaintkitError for unreadable files, unknown
    kinds, broken metadata, and weights that do not fit (named).
    """
    path = Path(path)
    source = str(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            state = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as err:
        raise InpaintkitError(f"{path} is not a readable .safetensors file: {err}") from err
    fmt = metadata.get("format")
    if fmt in (FORMAT, FORMAT_V1) and options:
        raise InpaintkitError(
            f"{source}: an inpaintkit file states its own configuration; it takes no model "
            f"options (got {sorted(options)})"
        )
    if fmt == FORMAT:
        return _load_v2(metadata, state, source)
    if fmt == FORMAT_V1:
        unet_config = _json(metadata, "unet_config", source)
        config = DiffusionConfig.from_dict(_json(metadata, "diffusion", source))
        unet = build_unet(unet_config, state, source=source)
        return DiffusionModel(unet, config, source, metadata.get("card", ""))
    if fmt is not None and fmt.startswith("inpaintkit-"):
        raise InpaintkitError(
            f"{source}: unknown inpaintkit file format {fmt!r}; this version reads "
            f"{FORMAT} and {FORMAT_V1} (a newer inpaintkit wrote it?)"
        )
    unknown = sorted(set(options) - {"learned_variance"})
    if unknown:
        raise InpaintkitError(
            f"{source}: unknown model option(s) {unknown} for diffusers weights; valid: "
            "['learned_variance']"
        )
    if unet_config is None:
        config_file = path.parent / "config.json"
        if not config_file.exists():
            raise InpaintkitError(
                f"{path} has no inpaintkit metadata and no config.json beside it; "
                "pass the whole diffusers model folder instead of the weights file"
            )
        unet_config = read_json(config_file)
    config = diffusion_config_from_scheduler(path.parent, unet_config, **options)
    return DiffusionModel(build_unet(unet_config, state, source=source), config, source)


def _load_v2(metadata: dict, state: dict[str, torch.Tensor], source: str):
    kind = metadata.get("kind")
    if kind not in KIND_CLASSES:
        raise InpaintkitError(f"{source}: unknown model kind {kind!r}; known kinds: {KINDS}")
    specs = _json(metadata, "networks", source)
    process = _json(metadata, "process", source)
    if not isinstance(specs, dict) or not isinstance(process, dict):
        raise InpaintkitError(f"{source}: metadata 'networks' and 'process' must be JSON objects")
    networks = {}
    for name, spec in specs.items():
        if not isinstance(spec, dict) or "class" not in spec or "config" not in spec:
            raise InpaintkitError(
                f"{source}: metadata 'networks' entry {name!r} must be "
                f'{{"class": ..., "config": {{...}}}}, not {spec!r}'
            )
        prefix = f"{name}."
        own = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
        try:
            net = build_network(spec["class"], spec["config"])
        except InpaintkitError as err:
            raise InpaintkitError(f"{source}: network {name!r}: {err}") from err
        networks[name] = load_weights(net, own, source=source, name=name)
    stray = sorted(k for k in state if k.split(".", 1)[0] not in specs)
    if stray:
        raise InpaintkitError(
            f"{source}: {len(stray)} tensor(s) belong to no network in the metadata: {stray[:3]}"
        )
    card = metadata.get("card", "")
    try:
        return KIND_CLASSES[kind].from_networks(networks, process, source=source, card=card)
    except KeyError as err:
        raise InpaintkitError(
            f"{source}: a {kind!r} file lacks the network or process entry {err}"
        ) from err


def _json(metadata: dict, key: str, source: str) -> object:
    if key not in metadata:
        raise InpaintkitError(f"{source}: metadata entry {key!r} is missing")
    try:
        return json.loads(metadata[key])
    except ValueError as err:
        raise InpaintkitError(f"{source}: metadata entry {key!r} is not valid JSON: {err}") from err
