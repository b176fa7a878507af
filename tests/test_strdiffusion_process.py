"""The IR-SDE of StrDiffusion (inpaintkit.diffusion.irsde): the schedule and closed forms against
hand values, independently computed formulas, the moment ODEs integrated numerically and
Euler-Maruyama paths of the SDE itself."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from inpaintkit.diffusion.irsde import IRSDE
from inpaintkit.errors import InpaintkitError

LAM = 30 / 255


def f64(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def reference_thetas(T: int, s: float = 0.008) -> list[float]:
    """The cosine theta schedule written out point by point: abar on T + 3 points of [0, 1]."""
    n = T + 2
    abar = [math.cos((i / n + s) / (1 + s) * math.pi / 2) ** 2 for i in range(n + 1)]
    return [1 - abar[i + 1] / abar[0] for i in range(T + 1)]


def test_schedule_and_hand_values_at_0_and_T():
    p = IRSDE(100)
    assert np.allclose(p.thetas, reference_thetas(100), rtol=0, atol=1e-15)
    assert len(p.thetas) == 101 and p.thetas_cumsum[0] == 0.0
    assert p.thetas_cumsum[5] == pytest.approx(sum(reference_thetas(100)[1:6]), abs=1e-14)
    assert p.dt == pytest.approx(-math.log(0.005) / sum(reference_thetas(100)[1:]), rel=1e-13)
    assert np.allclose(p.sigmas**2, 2 * LAM**2 * p.thetas, atol=1e-16)
    x0, mu = (
        torch.full((1, 1, 2, 2), 0.9, dtype=torch.float64),
        torch.zeros(1, 1, 2, 2, dtype=torch.float64),
    )
    # t = 0: x_0 itself, no noise; t = T: 0.5 % of x_0 - mu left, variance lambda^2 (1 - eps^2)
    assert torch.equal(p.mean(x0, mu, 0), x0) and float(p.std(0, x0)) == 0.0
    assert float(p.decay(100, x0)) == pytest.approx(0.005, rel=1e-12)
    assert float(p.mean(x0, mu, 100)[0, 0, 0, 0]) == pytest.approx(0.9 * 0.005, rel=1e-12)
    assert float(p.std(100, x0)) ** 2 == pytest.approx(LAM**2 * (1 - 0.005**2), rel=1e-12)
    # T = 2 by hand: abar(i) on u = 0, 1/4, 2/4, 3/4, 1
    q = IRSDE(2)
    a = [math.cos((u + 0.008) / 1.008 * math.pi / 2) ** 2 for u in (0, 0.25, 0.5, 0.75)]
    thetas = [1 - a[1] / a[0], 1 - a[2] / a[0], 1 - a[3] / a[0]]
    assert np.allclose(q.thetas, thetas, atol=1e-15)
    assert q.dt == pytest.approx(-math.log(0.005) / (thetas[1] + thetas[2]), rel=1e-13)
    assert float(q.decay(1, x0)) == pytest.approx(math.exp(-thetas[1] * q.dt), rel=1e-12)


def test_moments_match_the_integrated_moment_odes():
    """d m/ds = -theta_t m and d v/ds = -2 theta_t v + sigma_t^2 over each interval dt (RK4,
    400 sub-steps) give the closed-form mean and variance at every t."""
    p = IRSDE(20)
    m, v = 1.0, 0.0  # m = E[x] - mu for x0 - mu = 1
    x0, mu = torch.ones(1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)
    for t in range(1, 21):
        theta, sig2, h = p.thetas[t], p.sigmas[t] ** 2, p.dt / 400
        for _ in range(400):
            fm = lambda y, th=theta: -th * y  # noqa: E731
            fv = lambda y, th=theta, s2=sig2: -2 * th * y + s2  # noqa: E731
            k1, l1 = fm(m), fv(v)
            k2, l2 = fm(m + h / 2 * k1), fv(v + h / 2 * l1)
            k3, l3 = fm(m + h / 2 * k2), fv(v + h / 2 * l2)
            k4, l4 = fm(m + h * k3), fv(v + h * l3)
            m += h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            v += h / 6 * (l1 + 2 * l2 + 2 * l3 + l4)
        assert float(p.mean(x0, mu, t)) == pytest.approx(m, rel=1e-9)
        assert float(p.std(t, x0)) ** 2 == pytest.approx(v, rel=1e-9)


def test_euler_maruyama_paths_of_the_sde_match_the_marginal():
    """10000 paths of dx = theta_t (mu - x) ds + sigma_t dw, 100 Euler-Maruyama sub-steps per
    step: mean and variance at t = 5 and t = T = 10 within 4 standard errors (+ the 1e-3 bias
    of the scheme)."""
    p = IRSDE(10)
    gen = torch.Generator().manual_seed(0)
    x0, mu, n = 0.8, 0.2, 10000
    x = torch.full((n,), x0, dtype=torch.float64)
    for t in range(1, 11):
        h = p.dt / 100
        for _ in range(100):
            z = torch.randn(n, generator=gen, dtype=torch.float64)
            x = x + p.thetas[t] * (mu - x) * h + p.sigmas[t] * math.sqrt(h) * z
        if t in (5, 10):
            like = torch.zeros(1, dtype=torch.float64)
            mean = mu + (x0 - mu) * float(p.decay(t, like))
            var = float(p.std(t, like)) ** 2
            assert abs(float(x.mean()) - mean) < 4 * math.sqrt(var / n) + 1e-3
            assert abs(float(x.var()) - var) < 4 * var * math.sqrt(2 / n) + 1e-3 * var


def test_transitions_compose_to_the_marginal():
    """Exact one-step transitions: the mean and variance recursions equal the closed form."""
    p = IRSDE(100)
    like = torch.zeros(1, dtype=torch.float64)
    mean, var = 1.0, 0.0
    for t in range(1, 101):
        a = math.exp(-p.thetas[t] * p.dt)
        mean, var = a * mean, a * a * var + LAM**2 * (1 - a * a)
        assert mean == pytest.approx(float(p.decay(t, like)), rel=1e-10)
        assert var == pytest.approx(float(p.std(t, like)) ** 2, rel=1e-10)
    x = f64(0.3)
    z = f64(1.5)
    a = math.exp(-p.thetas[7] * p.dt)
    expected = 0.1 + (0.3 - 0.1) * a + LAM * math.sqrt(1 - a * a) * 1.5
    assert float(p.transition(x, f64(0.1), 7, z)) == pytest.approx(expected)


@pytest.mark.parametrize("t", [2, 30, 100])
def test_optimal_prev_is_the_posterior_mean(t):
    """(1) The Gaussian product p(x_t | x_{t-1}) q(x_{t-1} | x_0) in precision form; (2) Monte
    Carlo: the least-squares regression of x_{t-1} on x_t over 200000 pairs drawn forward."""
    p = IRSDE(100)
    d = torch.zeros(1, dtype=torch.float64)
    a = math.exp(-p.thetas[t] * p.dt)
    c = float(p.decay(t - 1, d))
    x0, mu = 0.7, 0.25
    xt = mu + (x0 - mu) * float(p.decay(t, d)) + 0.5 * float(p.std(t, d))  # a typical x_t
    prior_var, step_var = LAM**2 * (1 - c * c), LAM**2 * (1 - a * a)
    precision = 1 / prior_var + a * a / step_var
    expected = mu + ((c * (x0 - mu)) / prior_var + a * (xt - mu) / step_var) / precision
    got = p.optimal_prev(f64(xt), f64(x0), d + mu, t)
    assert float(got) == pytest.approx(expected, rel=1e-10, abs=1e-12)
    assert float(p.posterior_variance(t, d)) == pytest.approx(1 / precision, rel=1e-9)
    gen = torch.Generator().manual_seed(t)
    n = 200_000
    x0s, mus = torch.full((n,), x0, dtype=torch.float64), torch.full((n,), mu, dtype=torch.float64)
    prev = p.q_sample(x0s, mus, t - 1, torch.randn(n, generator=gen, dtype=torch.float64))
    nxt = p.transition(prev, mus, t, torch.randn(n, generator=gen, dtype=torch.float64))
    cov = torch.cov(torch.stack([nxt, prev]))
    slope = float(cov[0, 1] / cov[0, 0])
    intercept = float(prev.mean() - slope * nxt.mean())
    assert intercept + slope * xt == pytest.approx(expected, abs=6 * math.sqrt(1 / precision / n))
    theory_slope = a * (1 - c * c) / (1 - float(p.decay(t, d)) ** 2)
    assert slope == pytest.approx(theory_slope, abs=0.01)


def test_reverse_step_from_predicted_noise():
    p = IRSDE(100)
    x, mu = f64(0.6), f64(0.1)
    eps, z, t = f64(0.5), f64(-1.0), 40
    std = float(p.std(t, x))
    assert float(p.score(eps, t)) == pytest.approx(-0.5 / std)
    drift = p.thetas[t] * (0.1 - 0.6) - p.sigmas[t] ** 2 * (-0.5 / std)
    assert float(p.reverse_mean(x, mu, eps, t)) == pytest.approx(0.6 - drift * p.dt, rel=1e-12)
    step = 0.6 - drift * p.dt + p.sigmas[t] * math.sqrt(p.dt)
    assert float(p.reverse_step(x, mu, eps, t, z)) == pytest.approx(step, rel=1e-12)
    # per-row timesteps broadcast as [B, 1, 1, 1]
    rows = torch.zeros(2, 3, 2, 2)
    assert p.std(torch.tensor([1, 100]), rows).shape == (2, 1, 1, 1)
    assert IRSDE.from_config(p.config()).dt == p.dt and p.with_steps(50).num_steps == 50


def test_process_errors():
    with pytest.raises(InpaintkitError, match="unknown IR-SDE schedule 'linear'"):
        IRSDE(10, schedule="linear")
    with pytest.raises(InpaintkitError, match="T >= 2"):
        IRSDE(1)
    with pytest.raises(InpaintkitError, match="outside 0..10"):
        IRSDE(10).std(torch.tensor([11]), torch.zeros(1, 1, 1, 1))
