"""Start a training run from a trained model (``TrainConfig.init_from``).

Stable Diffusion's inpainting model was initialised from Stable Diffusion: the UNet's first
convolution got five more input channels (mask, masked-image latent) with zero weights, and
every other weight was copied (Rombach et al. 2022, the sd-v1-5-inpainting / 2-inpainting model
cards). :func:`init_from_model` does the same for our networks: a conditional UNet (input
``cat(x_t, hole, masked)``) starts as the prior it is initialised from, exactly, since its extra
input channels are multiplied by zero weights.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import InpaintkitError
from .objectives import TrainedNetwork

INPUT_CONV = "conv_in.weight"
"""The one tensor that may grow: the first convolution's weight [out, in, k, k] (diffusers'
UNet2DModel / UNet2DConditionModel name); extra input channels (dim 1) start at zero."""


def copy_weights(
    target: nn.Module, source: nn.Module, *, name: str = "network", dry_run: bool = False
) -> list[str]:
    """Copy every tensor of ``source`` into ``target`` (in place, no autograd), the input conv's
    extra channels set to zero; returns the names of the tensors that grew.

    The two must have the same tensor names and shapes, except :data:`INPUT_CONV`, whose dim 1
    may be larger in ``target`` (its first channels take the source's, in order: x_t comes first
    in Stable Diffusion inpainting's layout). Anything else is an InpaintkitError naming the
    tensor and both shapes (or the missing names), and nothing is copied. ``dry_run``: check
    only.
    """
    want, have = target.state_dict(), source.state_dict()
    missing, unexpected = sorted(set(want) - set(have)), sorted(set(have) - set(want))
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"the source lacks {name}.{missing[0]}" + _more(missing))
        if unexpected:
            extra = f"the source has {name}.{unexpected[0]} the target lacks"
            parts.append(extra + _more(unexpected))
        raise InpaintkitError(
            f"cannot initialise {name} from a model of another layout: {'; '.join(parts)}"
        )
    grown = []
    for key, tensor in want.items():
        theirs = have[key]
        if tuple(theirs.shape) == tuple(tensor.shape):
            continue
        ok = (
            key == INPUT_CONV
            and tensor.ndim == theirs.ndim == 4
            and tensor.shape[0] == theirs.shape[0]
            and tensor.shape[2:] == theirs.shape[2:]
            and tensor.shape[1] > theirs.shape[1]
        )
        if not ok:
            raise InpaintkitError(
                f"cannot initialise {name} from a model of another layout: tensor {name}.{key} "
                f"is {tuple(tensor.shape)} here and {tuple(theirs.shape)} in the source (only "
                f"{INPUT_CONV} may gain input channels)"
            )
        grown.append(key)
    if dry_run:
        return grown
    with torch.no_grad():
        for key, tensor in want.items():
            theirs = have[key].to(tensor.device, tensor.dtype)
            if key in grown:
                tensor.zero_()
                tensor[:, : theirs.shape[1]].copy_(theirs)
            else:
                tensor.copy_(theirs)
    return grown


def init_from_model(specs: dict[str, TrainedNetwork], spec: str) -> list[str]:
    """Copy the weights of the model ``spec`` (any ``load_model`` spec, e.g. "emoji32") into the
    freshly built networks of the same name (a prior's "unet" into a prior objective's or a
    conditional objective's "unet"); returns the tensors that gained input channels, e.g.
    ["unet.conv_in.weight"].

    Every tensor must match in name and shape, except the input conv of a conditional network
    started from a prior, whose extra channels start at zero (:func:`copy_weights`); otherwise
    InpaintkitError naming the first tensor that does not. Networks the model lacks (e.g.
    discriminators) keep their fresh init; no network in common is an error. A run is
    initialised once: resuming loads its checkpoint instead.
    """
    from ..models import load_model

    source = load_model(spec).networks()
    shared = [name for name in specs if name in source]
    if not shared:
        raise InpaintkitError(
            f"init_from={spec!r} holds the networks {sorted(source)}; this objective trains "
            f"{sorted(specs)}: none in common"
        )
    grown = []
    for name in shared:  # check every network before changing any
        copy_weights(specs[name].module, source[name], name=name, dry_run=True)
    for name in shared:
        grown += [f"{name}.{k}" for k in copy_weights(specs[name].module, source[name], name=name)]
    return grown


def _more(names: list[str]) -> str:
    return f" (and {len(names) - 1} more)" if len(names) > 1 else ""
