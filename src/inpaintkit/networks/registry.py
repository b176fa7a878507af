"""The registry of network classes: a class name and a JSON config build an ``nn.Module``.

Checkpoints (``inpaintkit-2`` files) name each network's class and config; :func:`build_network`
turns them back into a module. Two kinds of classes are known:

- diffusers' ``UNet2DModel``, built with ``UNet2DModel.from_config(config)``;
- our own ``nn.Module`` classes, registered with :func:`register_network`. They take their config
  as keyword arguments and expose it as ``.config`` (a plain JSON-able dict).

:func:`load_weights` fills a built network with a state dict and refuses, by name, a tensor of
the wrong shape, missing or unexpected tensors and non-finite values.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import torch

from ..errors import InpaintkitError

NETWORKS: dict[str, type[torch.nn.Module]] = {}
"""Our own network classes by name (diffusers classes are handled apart)."""
DIFFUSERS_CLASSES = ("UNet2DModel",)


def register_network(name: str | None = None) -> Callable[[type], type]:
    """Class decorator: register an ``nn.Module`` under ``name`` (default: the class name).

    The class must take its config as keyword arguments and expose ``.config`` (a dict).
    """

    def decorate(cls: type) -> type:
        key = name or cls.__name__
        if key in NETWORKS and NETWORKS[key] is not cls:
            raise InpaintkitError(f"network class name {key!r} is registered twice")
        NETWORKS[key] = cls
        return cls

    return decorate


def network_classes() -> list[str]:
    """Every class name :func:`build_network` accepts."""
    return sorted([*DIFFUSERS_CLASSES, *NETWORKS])


def build_network(class_name: str, config: dict) -> torch.nn.Module:
    """A freshly initialised network of ``class_name`` with ``config`` (float32, train mode).

    Raises InpaintkitError for an unknown class name (listing the known ones) or a config the
    class refuses.
    """
    _load_builtin()
    if not isinstance(config, dict):
        raise InpaintkitError(f"the config of a {class_name} must be a dict, not {config!r}")
    if class_name == "UNet2DModel":
        from diffusers import UNet2DModel

        plain = {k: v for k, v in config.items() if not k.startswith("_")}
        try:
            return UNet2DModel.from_config(plain)
        except (TypeError, ValueError) as err:
            raise InpaintkitError(f"invalid UNet2DModel config: {err}") from err
    if class_name not in NETWORKS:
        raise InpaintkitError(
            f"unknown network class {class_name!r}; known: {', '.join(network_classes())}"
        )
    try:
        return NETWORKS[class_name](**config)
    except (TypeError, ValueError) as err:
        raise InpaintkitError(f"invalid {class_name} config {config}: {err}") from err


def network_spec(module: torch.nn.Module) -> dict:
    """{"class": <registered name>, "config": <plain dict>}: what a checkpoint records."""
    _load_builtin()
    cls = type(module)
    if cls.__name__ in DIFFUSERS_CLASSES:
        config = {k: v for k, v in dict(module.config).items() if not k.startswith("_")}
        return {"class": cls.__name__, "config": config}
    names = [name for name, known in NETWORKS.items() if known is cls]
    if not names:
        raise InpaintkitError(
            f"cannot save a {cls.__name__}: not a registered network class "
            f"(register it with inpaintkit.networks.register_network; known: "
            f"{', '.join(network_classes())})"
        )
    return {"class": names[0], "config": dict(module.config)}


def load_weights(
    network: torch.nn.Module, state: dict[str, torch.Tensor], *, source: str, name: str = ""
) -> torch.nn.Module:
    """Load ``state`` into ``network`` (cast to float32) and return it in eval mode, frozen.

    Raises InpaintkitError naming the checkpoint (``source``), the network (``name``) and the
    tensor for: a wrong shape (both shapes given), missing or unexpected tensors, NaN/inf values.
    """
    where = f"{source}: network {name!r}" if name else source
    own = network.state_dict()
    for key, tensor in state.items():
        if key in own and tuple(own[key].shape) != tuple(tensor.shape):
            raise InpaintkitError(
                f"{where}: tensor {key!r} has shape {tuple(tensor.shape)} but the network's "
                f"config needs {tuple(own[key].shape)}"
            )
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            bad = int((~torch.isfinite(tensor)).sum())
            raise InpaintkitError(
                f"{where}: the checkpoint is broken: tensor {key!r} holds {bad} NaN/inf value(s)"
            )
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        raise InpaintkitError(
            f"{where}: weights do not match the network config "
            f"(missing {len(missing)}: {missing[:3]}, "
            f"unexpected {len(unexpected)}: {unexpected[:3]})"
        )
    network.load_state_dict({k: v.float() for k, v in state.items()})
    return network.float().eval().requires_grad_(False)


def build_unet(unet_config: dict, state: dict[str, torch.Tensor], *, source: str):
    """A float32 eval-mode diffusers ``UNet2DModel`` from a config and a state dict (clear
    errors on a bad config or mismatched weights; see :func:`load_weights`)."""
    try:
        unet = build_network("UNet2DModel", unet_config)
    except InpaintkitError as err:
        raise InpaintkitError(f"{source}: {err}") from err
    return load_weights(unet, state, source=source)


BUILTIN_MODULES = (
    "generators",
    "discriminators",
    "context_encoder",  # survey: Context Encoders
    "glcic",  # survey: GLCIC
    "partial_conv",  # survey: partial convolutions
    "contextual_attention",
    "deepfill_v1",
    "deepfill_v2",
    "lama",
    "irsde_unet",  # StrDiffusion
    "time_discriminator",  # StrDiffusion
)
"""Modules of this package whose classes register themselves (imported on first use)."""


def _load_builtin() -> None:
    """Import the modules that register our own classes (lazily: no import cost otherwise)."""
    for module in BUILTIN_MODULES:
        importlib.import_module(f"{__package__}.{module}")
