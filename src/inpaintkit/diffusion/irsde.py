"""The image restoration SDE (IR-SDE; Luo et al., "Image Restoration with Mean-Reverting
Stochastic Differential Equations", ICML 2023), the process StrDiffusion runs twice (structure
and texture), in closed form.

The forward SDE is mean-reverting towards a degraded image ``mu``::

    dx = theta_t (mu - x) dt + sigma_t dw,        sigma_t^2 = 2 lambda^2 theta_t   (IR-SDE eq. 3)

Timesteps are t = 0..T (state 0 is the clean image). Schedule (the public code,
Algolzw/image-restoration-sde and htyjers/StrDiffusion ``sde_utils.py``, re-derived here):

- theta_i = 1 - abar_{i+1} / abar_0 (i = 0..T), abar the cosine curve of Improved DDPM (eq. 17,
  s = 0.008) evaluated on the T + 3 points u = 0, 1/(T+2), ..., 1 ("T + 2 intervals, truncated");
- thetabar_t = sum_{i=1..t} theta_i (thetabar_0 = 0);
- dt = -ln(eps) / thetabar_T, so that exp(-thetabar_T dt) = eps (eps = 0.005: x_T keeps 0.5 % of
  x_0 - mu).

Closed forms (each step integrates the SDE exactly over one interval dt with theta_t constant):

- marginal: x_t | x_0 ~ N(mu + (x_0 - mu) exp(-thetabar_t dt),
  lambda^2 (1 - exp(-2 thetabar_t dt))) (IR-SDE eq. 7-9);
- one step: x_t | x_{t-1} ~ N(mu + (x_{t-1} - mu) a_t, lambda^2 (1 - a_t^2)),
  a_t = exp(-theta_t dt);
- reverse step from a predicted noise eps_hat: score = -eps_hat / std_t and, by Euler-Maruyama
  on the reverse-time SDE (IR-SDE eq. 5), x_{t-1} = x - (theta_t (mu - x) - sigma_t^2 score) dt
  - sigma_t sqrt(dt) z;
- the optimal x_{t-1} (IR-SDE eq. 13, the training target of StrDiffusion): the mean of
  x_{t-1} | x_t, x_0, the product of the two Gaussians above.

Values are in the units of the public code: images in [0, 1] and lambda = 30/255.
Tensors ``t`` are LongTensors [B] (or a plain int); coefficients broadcast as [B, 1, 1, 1].
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..errors import InpaintkitError

SCHEDULES = ("cosine",)
DEFAULT_MAX_SIGMA = 30.0 / 255.0
DEFAULT_EPS = 0.005


def cosine_thetas(num_steps: int, s: float = 0.008) -> np.ndarray:
    """theta_0..theta_T (float64 [T + 1]): 1 - abar(i + 1) / abar(0) with Improved DDPM's cosine
    abar(i) = cos(((i / (T + 2)) + s) / (1 + s) * pi / 2)^2 on T + 3 points (IR-SDE's
    ``cosine_theta_schedule``)."""
    n = num_steps + 2
    u = np.arange(n + 1, dtype=np.float64) / n
    abar = np.cos((u + s) / (1 + s) * math.pi / 2) ** 2
    abar = abar / abar[0]
    return 1.0 - abar[1:-1]


class IRSDE:
    """The mean-reverting SDE of the module docstring with T = ``num_steps`` steps.

    num_steps: T (>= 2). max_sigma: lambda, the stationary standard deviation (30/255).
    eps: exp(-thetabar_T dt), how much of x_0 - mu is left at t = T (0.005). schedule: "cosine".
    Arrays (float64 numpy, index t = 0..T): ``thetas``, ``thetas_cumsum``, ``sigmas``,
    ``sigma_bars``; ``dt`` a float.
    """

    def __init__(
        self,
        num_steps: int = 100,
        max_sigma: float = DEFAULT_MAX_SIGMA,
        eps: float = DEFAULT_EPS,
        schedule: str = "cosine",
    ) -> None:
        if schedule not in SCHEDULES:
            raise InpaintkitError(
                f"unknown IR-SDE schedule {schedule!r}; choose one of {SCHEDULES}"
            )
        if int(num_steps) < 2:
            raise InpaintkitError(f"an IR-SDE needs T >= 2 steps, got {num_steps}")
        if not (0.0 < eps < 1.0 and max_sigma > 0.0):
            raise InpaintkitError(f"need 0 < eps < 1 and max_sigma > 0, got {eps}, {max_sigma}")
        self.num_steps, self.max_sigma = int(num_steps), float(max_sigma)
        self.eps, self.schedule = float(eps), schedule
        self.thetas = cosine_thetas(self.num_steps)
        self.thetas_cumsum = np.cumsum(self.thetas) - self.thetas[0]  # thetabar_0 = 0
        self.dt = -math.log(self.eps) / float(self.thetas_cumsum[-1])
        self.sigmas = np.sqrt(2.0 * self.max_sigma**2 * self.thetas)
        self.sigma_bars = np.sqrt(
            self.max_sigma**2 * (1.0 - np.exp(-2.0 * self.thetas_cumsum * self.dt))
        )

    @classmethod
    def from_config(cls, config: dict) -> IRSDE:
        """The process of a model's process config (keys num_steps, max_sigma, eps, schedule;
        missing ones take the defaults)."""
        return cls(
            int(config.get("num_steps", 100)),
            float(config.get("max_sigma", DEFAULT_MAX_SIGMA)),
            float(config.get("eps", DEFAULT_EPS)),
            str(config.get("schedule", "cosine")),
        )

    def config(self) -> dict:
        """The JSON-able keyword arguments that rebuild this process."""
        return {
            "num_steps": self.num_steps,
            "max_sigma": self.max_sigma,
            "eps": self.eps,
            "schedule": self.schedule,
        }

    def with_steps(self, num_steps: int) -> IRSDE:
        """The same lambda, eps and schedule on ``num_steps`` steps."""
        return IRSDE(num_steps, self.max_sigma, self.eps, self.schedule)

    # ---- coefficient lookup -------------------------------------------------------------

    def _at(self, values: np.ndarray, t: torch.Tensor | int, like: torch.Tensor) -> torch.Tensor:
        """values[t] as a [B, 1, 1, 1] (or scalar for an int t) tensor of like's dtype/device."""
        if isinstance(t, int):
            if not 0 <= t <= self.num_steps:
                raise InpaintkitError(f"timestep {t} outside 0..{self.num_steps}")
            return torch.tensor(float(values[t]), dtype=like.dtype, device=like.device)
        index = t.detach().to("cpu", torch.long).reshape(-1)
        if index.numel() and (index.min() < 0 or index.max() > self.num_steps):
            raise InpaintkitError(f"timesteps outside 0..{self.num_steps}: {index.tolist()}")
        picked = torch.from_numpy(values)[index].to(like.device, like.dtype)
        return picked.reshape(-1, *([1] * (like.ndim - 1)))

    def decay(self, t: torch.Tensor | int, like: torch.Tensor) -> torch.Tensor:
        """exp(-thetabar_t dt): how much of x_0 - mu is left at t (1 at t = 0, eps at T)."""
        return self._at(np.exp(-self.thetas_cumsum * self.dt), t, like)

    def std(self, t: torch.Tensor | int, like: torch.Tensor) -> torch.Tensor:
        """The marginal standard deviation lambda sqrt(1 - exp(-2 thetabar_t dt))."""
        return self._at(self.sigma_bars, t, like)

    # ---- forward process ----------------------------------------------------------------

    def mean(self, x0: torch.Tensor, mu: torch.Tensor, t: torch.Tensor | int) -> torch.Tensor:
        """E[x_t | x_0] = mu + (x_0 - mu) exp(-thetabar_t dt) (IR-SDE eq. 8)."""
        return mu + (x0 - mu) * self.decay(t, x0)

    def q_sample(
        self, x0: torch.Tensor, mu: torch.Tensor, t: torch.Tensor | int, noise: torch.Tensor
    ) -> torch.Tensor:
        """x_t = E[x_t | x_0] + std_t * noise (a draw of the marginal for noise ~ N(0, I))."""
        return self.mean(x0, mu, t) + self.std(t, x0) * noise

    def transition(
        self, x: torch.Tensor, mu: torch.Tensor, t: torch.Tensor | int, noise: torch.Tensor
    ) -> torch.Tensor:
        """One exact forward step x_{t-1} -> x_t: mu + (x - mu) a_t + lambda sqrt(1 - a_t^2) z
        with a_t = exp(-theta_t dt) (the SDE integrated over one interval with theta_t fixed)."""
        a = self._at(np.exp(-self.thetas * self.dt), t, x)
        return mu + (x - mu) * a + self.max_sigma * torch.sqrt(1.0 - a * a) * noise

    # ---- reverse process ----------------------------------------------------------------

    def score(self, eps: torch.Tensor, t: torch.Tensor | int) -> torch.Tensor:
        """The score of x_t from the predicted noise: -eps_hat / std_t."""
        return -eps / self.std(t, eps)

    def reverse_mean(
        self, x: torch.Tensor, mu: torch.Tensor, eps: torch.Tensor, t: torch.Tensor | int
    ) -> torch.Tensor:
        """The reverse step without its noise: x - (theta_t (mu - x) - sigma_t^2 score) dt."""
        theta, sigma = self._at(self.thetas, t, x), self._at(self.sigmas, t, x)
        return x - (theta * (mu - x) - sigma * sigma * self.score(eps, t)) * self.dt

    def reverse_step(
        self,
        x: torch.Tensor,
        mu: torch.Tensor,
        eps: torch.Tensor,
        t: torch.Tensor | int,
        noise: torch.Tensor,
    ) -> torch.Tensor:
        """x_{t-1} = reverse_mean - sigma_t sqrt(dt) z (the public code adds noise at t = 1 too)."""
        sigma = self._at(self.sigmas, t, x)
        return self.reverse_mean(x, mu, eps, t) - sigma * math.sqrt(self.dt) * noise

    def optimal_prev(
        self, x_t: torch.Tensor, x0: torch.Tensor, mu: torch.Tensor, t: torch.Tensor | int
    ) -> torch.Tensor:
        """The optimal x_{t-1} (IR-SDE eq. 13): E[x_{t-1} | x_t, x_0] =
        mu + a (1 - c^2) / (1 - b^2) (x_t - mu) + c (1 - a^2) / (1 - b^2) (x_0 - mu) with
        a = exp(-theta_t dt), b = exp(-thetabar_t dt), c = exp(-thetabar_{t-1} dt); t >= 1."""
        a = self._at(np.exp(-self.thetas * self.dt), t, x_t)
        b = self.decay(t, x_t)
        c = self.decay(t - 1, x_t)
        return (
            mu
            + a * (1 - c * c) / (1 - b * b) * (x_t - mu)
            + c * (1 - a * a) / (1 - b * b) * (x0 - mu)
        )

    def posterior_variance(self, t: torch.Tensor | int, like: torch.Tensor) -> torch.Tensor:
        """Var[x_{t-1} | x_t, x_0] = lambda^2 (1 - a^2)(1 - c^2) / (1 - b^2) (t >= 1)."""
        a = self._at(np.exp(-self.thetas * self.dt), t, like)
        b, c = self.decay(t, like), self.decay(t - 1, like)
        return self.max_sigma**2 * (1 - a * a) * (1 - c * c) / (1 - b * b)
