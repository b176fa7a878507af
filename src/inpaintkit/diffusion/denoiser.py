"""The network, wrapped apart from its parameterisation (DESIGN rule 2, k-diffusion external.py).

Samplers ask a :class:`Denoiser` for the noise prediction eps (and, for learned-variance models,
the variance interpolation values); how the raw network output maps to eps is decided here, once.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from ..errors import InpaintkitError

Network = Callable[[torch.Tensor, torch.Tensor, "torch.Tensor | None"], torch.Tensor]


class Denoiser:
    """eps (and variance values) from a raw network ``net(x_t, t_train, class_labels) -> output``.

    prediction: what the first C output channels are: "epsilon", "v_prediction" or "sample" (x_0).
    learned_variance: the output has 2C channels, the last C in [-1, 1] (Improved DDPM).
    alphas_cumprod: float64 [T] of the TRAINING process, indexed by training timestep; needed
        to turn v or x_0 predictions into eps.
    runtime: how ``net`` runs the network (precision, memory format, compilation; an
        ``inpaintkit.models.runtime.Runtime`` when made by ``DiffusionModel.denoiser``), kept
        for reports only; None = not stated. ``net`` must return float32 whatever it is.
    """

    def __init__(
        self,
        net: Network,
        *,
        prediction: str = "epsilon",
        learned_variance: bool = False,
        alphas_cumprod: np.ndarray | None = None,
        runtime: object = None,
    ) -> None:
        if prediction != "epsilon" and alphas_cumprod is None:
            raise InpaintkitError(f"a {prediction!r} model needs the training alphas_cumprod")
        self.net = net
        self.prediction = prediction
        self.learned_variance = learned_variance
        self.runtime = runtime
        self._abar = None if alphas_cumprod is None else torch.from_numpy(alphas_cumprod)
        self.evaluations = 0  # network evaluations so far (one per batched call)

    def __call__(
        self,
        x_t: torch.Tensor,
        t_train: torch.Tensor,
        class_labels: torch.Tensor | None = None,
        **cond: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(eps [B,C,H,W], variance values [B,C,H,W] or None) at training timesteps ``t_train``.

        cond: keyword conditioning passed on to the network (e.g. a conditional diffusion
        model's ``hole=`` and ``masked=``)."""
        out = self.net(x_t, t_train, class_labels, **cond)
        self.evaluations += 1
        channels = x_t.shape[1]
        expected = 2 * channels if self.learned_variance else channels
        if out.shape[1] != expected:
            raise InpaintkitError(
                f"the network returned {out.shape[1]} channels; expected {expected} for a "
                f"{'learned' if self.learned_variance else 'fixed'}-variance model on "
                f"{channels}-channel images"
            )
        pred, var_values = (
            (out[:, :channels], out[:, channels:]) if self.learned_variance else (out, None)
        )
        if self.prediction == "epsilon":
            return pred, var_values
        abar = self._abar[t_train.cpu()].to(x_t.device, x_t.dtype).view(-1, 1, 1, 1)
        if self.prediction == "v_prediction":  # v = sqrt(abar) eps - sqrt(1 - abar) x_0
            eps = abar.sqrt() * pred + (1 - abar).sqrt() * x_t
        else:  # x_0 prediction
            eps = (x_t - abar.sqrt() * pred) / (1 - abar).sqrt()
        return eps, var_values
