"""Start a run from trained weights (``TrainConfig.init_from``) instead of a random init."""

from __future__ import annotations

import torch

from ..errors import InpaintkitError
from .objectives import TrainedNetwork


def init_from_model(specs: dict[str, TrainedNetwork], spec: str) -> None:
    """Copy the weights of the model ``spec`` (any ``load_model`` spec, e.g. "emoji32") into the
    freshly built networks of the same name (a prior's "unet" into a prior objective's "unet").

    Every tensor must match in name and shape; otherwise InpaintkitError naming the first
    tensor that does not. A run is initialised once: resuming loads its checkpoint instead.
    """
    from ..models import load_model

    source = load_model(spec).networks()
    shared = [name for name in specs if name in source]
    if not shared:
        raise InpaintkitError(
            f"init_from={spec!r} holds the networks {sorted(source)}; this objective trains "
            f"{sorted(specs)}: none in common"
        )
    for name in shared:
        target, weights = specs[name].module.state_dict(), source[name].state_dict()
        missing, extra = sorted(set(target) - set(weights)), sorted(set(weights) - set(target))
        if missing or extra:
            raise InpaintkitError(
                f"init_from={spec!r}: network {name!r} does not match: "
                f"missing {missing[:3]}, unexpected {extra[:3]}"
            )
        for key, value in weights.items():
            if value.shape != target[key].shape:
                raise InpaintkitError(
                    f"init_from={spec!r}: tensor {name}.{key} has shape {tuple(value.shape)}, "
                    f"the network needs {tuple(target[key].shape)}"
                )
        with torch.no_grad():
            specs[name].module.load_state_dict({k: v.float() for k, v in weights.items()})
