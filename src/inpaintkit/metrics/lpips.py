"""LPIPS (Zhang et al. 2018), only when the user has the ``lpips`` package AND its backbone's
pretrained weights on disk; otherwise :class:`LpipsUnavailable` says "LPIPS skipped: <why>".
No package we depend on ships AlexNet/VGG weights, and LPIPS is never computed with a random
backbone (DESIGN section 5)."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import InpaintkitError
from ..io.tensors import arrays_to_tensor
from .pixel import check_pair


class LpipsUnavailable(InpaintkitError):
    """LPIPS cannot be computed here; the message starts with "LPIPS skipped: " and says why."""


#: torchvision's file names for the ImageNet weights LPIPS' backbones use (torch hub cache).
_BACKBONE_FILES = {
    "alex": "alexnet-owt-7be5be79.pth",
    "vgg": "vgg16-397923af.pth",
    "squeeze": "squeezenet1_1-b8a75f3a.pth",
}


def _lpips_skip(reason: str) -> LpipsUnavailable:
    return LpipsUnavailable(f"LPIPS skipped: {reason}")


def lpips_scorer(
    weights: str | Path | None = None, net: str = "alex"
) -> Callable[[np.ndarray, np.ndarray], float]:
    """An LPIPS scorer (Zhang et al. 2018), built only from weights already on this machine.

    weights: the backbone's torchvision ImageNet state dict (.pth), e.g.
    ``alexnet-owt-7be5be79.pth``; None (default) looks in torch hub's cache,
    ``<torch.hub.get_dir()>/checkpoints/``. net: "alex" (default), "vgg" or "squeeze".

    The ``lpips`` package (not a dependency of inpaintkit) bundles its linear-layer weights, but
    takes the backbone from torchvision's pretrained models, which download on first use. Here
    nothing is downloaded: the backbone is built random (``pnet_rand=True``) and then EVERY one of
    its parameters is overwritten from the local file, else no scorer is returned.

    Returns scorer(result, truth) -> float: the LPIPS distance (lower = more similar) of two
    uint8 [H, W, 3] images. Raises :class:`LpipsUnavailable` ("LPIPS skipped: <reason>") when
    lpips or torchvision is not installed or the weights are not on disk.
    """
    if net not in _BACKBONE_FILES:
        raise InpaintkitError(f"unknown LPIPS net {net!r}; choose one of {tuple(_BACKBONE_FILES)}")
    spec = importlib.util.find_spec("lpips")
    if spec is None:
        raise _lpips_skip(
            "the `lpips` package is not installed (it is optional: `pip install lpips`, which "
            "also needs torchvision and the backbone weights; see lpips_scorer's docstring)"
        )
    if importlib.util.find_spec("torchvision") is None:
        raise _lpips_skip("the `lpips` package needs torchvision, which is not installed")
    lin_file = None
    for location in spec.submodule_search_locations or []:
        candidate = Path(location) / "weights" / "v0.1" / f"{net}.pth"
        if candidate.is_file():
            lin_file = candidate
    if lin_file is None:
        raise _lpips_skip(f"the lpips package has no bundled linear weights weights/v0.1/{net}.pth")
    import torch

    if weights is None:
        weights = Path(torch.hub.get_dir()) / "checkpoints" / _BACKBONE_FILES[net]
    weights = Path(weights)
    if not weights.is_file():
        raise _lpips_skip(
            f"the {net} backbone's ImageNet weights are not on disk at {weights}; download "
            f"torchvision's {_BACKBONE_FILES[net]} there (or pass weights=<path>). "
            "inpaintkit never downloads them and never scores with a random backbone"
        )
    import lpips  # imports torchvision: only reached when the user has both

    model = lpips.LPIPS(net=net, pretrained=True, pnet_rand=True, verbose=False)
    _load_backbone(model.net, torch.load(weights, map_location="cpu", weights_only=True), weights)
    model.eval().requires_grad_(False)

    def scorer(result: np.ndarray, truth: np.ndarray) -> float:
        check_pair(result, truth, np.zeros(result.shape[:2], dtype=bool))
        a, b = (arrays_to_tensor(im[None]) for im in (result, truth))
        with torch.inference_mode():
            return float(model(a, b).reshape(()))

    return scorer


def _load_backbone(net: object, state: dict, source: Path) -> None:
    """Copy torchvision ``features.<i>.<param path>`` tensors into lpips' sliced backbone, whose
    sub-modules keep torchvision's index <i> as their name; every parameter must be set."""
    import torch

    modules = {
        name: module
        for part in net.children()  # type: ignore[attr-defined]
        if isinstance(part, torch.nn.Sequential)
        for name, module in part.named_children()
    }
    targets = {
        f"features.{name}.{p}": param
        for name, m in modules.items()
        for p, param in m.named_parameters()
    }
    missing = sorted(set(targets) - set(state))
    if not targets or missing:
        raise _lpips_skip(
            f"{source} does not hold the {len(targets)} expected backbone tensors "
            f"(missing e.g. {missing[:3]})"
        )
    with torch.no_grad():
        for key, target in targets.items():
            if target.shape != state[key].shape:
                raise _lpips_skip(
                    f"{source}: {key} has shape {tuple(state[key].shape)}, "
                    f"expected {tuple(target.shape)}"
                )
            target.copy_(state[key])
