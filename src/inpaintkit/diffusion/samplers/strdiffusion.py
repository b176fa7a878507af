"""StrDiffusion's sampler (Liu et al., "Structure Matters: Tackling the Semantic Discrepancy in
Diffusion Models for Image Inpainting", CVPR 2024): a structure process guides a texture process,
and a discriminator decides, step by step, whether the structure is fit to guide (adaptive
resampling). Read from the public code (htyjers/StrDiffusion, ``test/.../utils/sde_utils.py``,
``reverse_sde``) and re-written; the departures are listed below and in docs/strdiffusion.md.

Both processes are IR-SDEs (:class:`~inpaintkit.diffusion.irsde.IRSDE`, images in [0, 1]):
the texture x (RGB) reverts to mu_x = known * keep, the structure s (gray) to mu_s = edges * keep.
Both start from mu + lambda * noise. For t = T .. 1:

- early stage (t >= int(early * T), early = 0.4): one structure step (the structure network's
  noise, the reverse IR-SDE step), its known region then replaced by the true gray image
  forward-noised to t - 1 (as RePaint's eq. 8); one texture step guided by that structure;
- adaptive resampling, when t is a multiple of ``jump``: the discriminator scores the candidate,
  D_n = D(x_{t-1} * keep, s_{t-1}, t). Then up to ``u_max - 1`` rounds: the candidate structure
  is re-noised ``re`` steps (exact IR-SDE transitions, capped at T) and denoised back, and the
  texture step is redone from x_t with it; its score D_p is compared with D_n. It is accepted
  when D_p < D_n (the public code's comparison; ``accept="higher"`` flips it). A rejected
  candidate is averaged in (x and s) while the round i < ``u_min``; from round ``u_min`` on, a
  rejection stops the rounds. Each row decides alone;
- late stage (t < int(early * T)): the structure is the channel mean of the texture, and only
  the texture steps;
- the end: the known pixels are pasted back.

Ablation switches (:class:`StrWalk`): ``guidance=False`` runs the texture process alone, guided
at every step by its own channel mean (no structure network, no resampling; the paper's
ablation retrains a texture-only network instead); ``resampling="none"`` never resamples;
``resampling="fixed"`` does exactly ``u_min`` rounds at each resampling step, each taken without
asking the discriminator.

Departures from the public code: (1) the known region of the structure is replaced AFTER each
step by the truth noised to the new time (RePaint's order); the public code replaces it before
the step with the truth at t - 1 while the rest is at t; (2) re-noising uses the exact IR-SDE
transition x_{k-1} -> x_k with theta_k; the public code takes Euler-Maruyama steps indexed one
step early (theta_{k-1}); (3) the public code scores every early step with the discriminator;
here only steps that resample do, which changes no result; (4) the public code runs batches of
one image; here rows are independent (their own noise, their own accept/stop decisions) and
rows that stopped leave the remaining rounds, so a row's result does not depend on its batch.

Network evaluations (NFE) count every batch call of any of the three networks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from ...errors import InpaintkitError
from ..irsde import IRSDE
from ..noise import randn
from ..progress import progress_bar
from .common import Callback

RESAMPLING = ("adaptive", "fixed", "none")
ACCEPT = ("lower", "higher")


@dataclass(frozen=True)
class StrWalk:
    """The sampler's knobs (defaults: the public code's T = 100 values jump 2, re 2, u_min 4,
    u_max 25; see the module docstring)."""

    jump: int = 2
    re: int = 2
    u_min: int = 4
    u_max: int = 25
    early: float = 0.4
    guidance: bool = True
    resampling: str = "adaptive"
    accept: str = "lower"

    def __post_init__(self) -> None:
        if self.resampling not in RESAMPLING or self.accept not in ACCEPT:
            raise InpaintkitError(
                f"resampling must be one of {RESAMPLING} and accept one of {ACCEPT}, got "
                f"{self.resampling!r}, {self.accept!r}"
            )
        if min(self.jump, self.re, self.u_min, self.u_max) < 1 or not 0 < self.early <= 1:
            raise InpaintkitError(
                "jump, re, u_min, u_max must be >= 1 and early in (0, 1], got "
                f"{self.jump}, {self.re}, {self.u_min}, {self.u_max}, {self.early}"
            )


@dataclass
class StrNets:
    """The three networks as the sampler calls them (inputs in [0, 1] process units):
    structure(s, mu_s, t) -> eps [b, 1, H, W]; texture(x, mu_x, t, guide) -> eps [b, 3, H, W];
    discriminator(x, s, t) -> logits [b, 1] (may be None when no step asks it)."""

    structure: Callable[..., torch.Tensor] | None
    texture: Callable[..., torch.Tensor]
    discriminator: Callable[..., torch.Tensor] | None = None


@dataclass
class StrStats:
    """What a run did: ``nfe`` (batch calls of any network) and ``events``: timestep -> one
    string per row of what each round did ("A" accepted, "V" averaged in, "S" stopped,
    "F" a fixed round)."""

    nfe: int = 0
    events: dict[int, list[str]] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Totals over all steps and rows: accepted, averaged, stopped, fixed."""
        text = "".join("".join(rows) for rows in self.events.values())
        names = (("accepted", "A"), ("averaged", "V"), ("stopped", "S"), ("fixed", "F"))
        return {name: text.count(code) for name, code in names}


def early_end(num_steps: int, walk: StrWalk) -> int:
    """The last timestep of the early stage, int(early * T) (at least 1); T + 1 without
    guidance (no early stage)."""
    return max(1, int(walk.early * num_steps)) if walk.guidance else num_steps + 1


def renoise_steps(t: int, num_steps: int, walk: StrWalk) -> int:
    """How many steps the structure is re-noised at early step t: ``re`` when t is a multiple
    of ``jump`` (capped so that t - 1 + steps <= T), else 0; 0 without guidance or resampling."""
    if not walk.guidance or walk.resampling == "none" or t % walk.jump:
        return 0
    return min(walk.re, num_steps - t + 1)


def walk_cost(num_steps: int, walk: StrWalk) -> dict[str, int]:
    """{"network_evaluations": the most NFE, "network_evaluations_min": the fewest,
    "undo_steps": the most re-noising transitions} of one batch (see the module docstring)."""
    if not walk.guidance:
        return {"network_evaluations": num_steps, "network_evaluations_min": num_steps,
                "undo_steps": 0}  # fmt: skip
    end = early_end(num_steps, walk)
    low = high = 2 * (num_steps - end + 1) + (end - 1)
    undo = 0
    for t in range(num_steps, end - 1, -1):
        k = renoise_steps(t, num_steps, walk)
        if not k:
            continue
        if walk.resampling == "fixed":
            low, high = low + walk.u_min * (k + 1), high + walk.u_min * (k + 1)
            undo += walk.u_min * k
            continue
        rounds = walk.u_max - 1
        if rounds:
            low += 1 + min(walk.u_min, rounds) * (k + 2)
            high += 1 + rounds * (k + 2)
            undo += rounds * k
    return {"network_evaluations": high, "network_evaluations_min": low, "undo_steps": undo}


class _Run:
    """One sampling run's state and helpers (rows are indices into the batch)."""

    def __init__(self, nets: StrNets, process: IRSDE, known, keep, structure, edges, generator):
        self.nets, self.process, self.keep = nets, process, keep
        self.hole = 1.0 - keep
        self.mu_x, self.mu_s = known * keep, edges * keep
        self.s0 = structure * keep
        self.generator = generator
        self.stats = StrStats()

    def noise(self, like: torch.Tensor, rows: list[int]) -> torch.Tensor:
        gens = None if self.generator is None else [self.generator[r] for r in rows]
        return randn(tuple(like.shape), gens, device=like.device, dtype=like.dtype)

    def times(self, t: int, rows: list[int]) -> torch.Tensor:
        return torch.full((len(rows),), t, dtype=torch.long, device=self.keep.device)

    def known_structure(self, t: int, rows: list[int]) -> torch.Tensor:
        """The true structure forward-noised to t (RePaint's known part), for ``rows``."""
        s0 = self.s0[rows]
        return self.process.q_sample(s0, self.mu_s[rows], t, self.noise(s0, rows))

    def structure_step(self, s: torch.Tensor, t: int, rows: list[int]) -> torch.Tensor:
        eps = self.nets.structure(s, self.mu_s[rows], self.times(t, rows))
        self.stats.nfe += 1
        return self.process.reverse_step(s, self.mu_s[rows], eps, t, self.noise(s, rows))

    def texture_step(self, x: torch.Tensor, t: int, guide: torch.Tensor, rows: list[int]):
        eps = self.nets.texture(x, self.mu_x[rows], self.times(t, rows), guide)
        self.stats.nfe += 1
        return self.process.reverse_step(x, self.mu_x[rows], eps, t, self.noise(x, rows))

    def score(self, x: torch.Tensor, s: torch.Tensor, t: int, rows: list[int]) -> torch.Tensor:
        """D(x * keep, s, t) per row (the public code shows the discriminator the known part)."""
        if self.nets.discriminator is None:
            raise InpaintkitError("adaptive resampling needs the discriminator network")
        self.stats.nfe += 1
        return self.nets.discriminator(x * self.keep[rows], s, self.times(t, rows)).reshape(-1)

    def resample(self, t, k, walk, x_t, x_cand, s_cand, s_known):
        """The rounds of adaptive (or fixed) resampling at step t; updates x_cand, s_cand."""
        batch = x_t.shape[0]
        everyone = list(range(batch))
        adaptive = walk.resampling == "adaptive"
        rounds = walk.u_max - 1 if adaptive else walk.u_min
        events = [""] * batch
        d_n = self.score(x_cand, s_cand, t, everyone) if adaptive and rounds else None
        active = torch.ones(batch, dtype=torch.bool)
        for i in range(1, rounds + 1):
            rows = active.nonzero().flatten().tolist()
            if not rows:
                break
            s1 = s_cand[rows]
            for j in range(k):  # re-noise t-1 -> t-1+k, exact transitions
                s1 = self.process.transition(s1, self.mu_s[rows], t + j, self.noise(s1, rows))
            for tau in range(t + k - 1, t - 1, -1):  # denoise back to t-1
                s1 = self.structure_step(s1, tau, rows)
                truth = s_known[rows] if tau == t else self.known_structure(tau - 1, rows)
                s1 = self.keep[rows] * truth + self.hole[rows] * s1
            x1 = self.texture_step(x_t[rows], t, s1, rows)
            index = torch.tensor(rows, dtype=torch.long, device=x_t.device)
            if not adaptive:
                x_cand[index], s_cand[index] = x1, s1
                for r in rows:
                    events[r] += "F"
                continue
            d_p = self.score(x1, s1, t, rows)
            better = d_p < d_n[index] if walk.accept == "lower" else d_p > d_n[index]
            average = ~better & (i < walk.u_min)
            take, mix = index[better], index[average]
            x_cand[take], s_cand[take] = x1[better], s1[better]
            x_cand[mix] = (x_cand[mix] + x1[average]) / 2
            s_cand[mix] = (s_cand[mix] + s1[average]) / 2
            for row, ok, avg in zip(rows, better.tolist(), average.tolist(), strict=True):
                events[row] += "A" if ok else "V" if avg else "S"
                active[row] = ok or avg
        self.stats.events[t] = events


@torch.no_grad()
def sample_strdiffusion(
    nets: StrNets,
    process: IRSDE,
    *,
    known: torch.Tensor,
    keep: torch.Tensor,
    structure: torch.Tensor,
    edges: torch.Tensor,
    walk: StrWalk | None = None,
    generator: list[torch.Generator] | None = None,
    callback: Callback | None = None,
    progress: bool = True,
) -> tuple[torch.Tensor, StrStats]:
    """Inpaint with StrDiffusion (module docstring); returns (image [B, 3, H, W] in [0, 1] with the
    known pixels pasted, :class:`StrStats`).

    known: [B, 3, H, W] in [0, 1] (only keep = 1 pixels are read); keep: [B, 1, H, W], 1 = known;
    structure: the gray image [B, 1, H, W] in [0, 1] (known pixels read); edges: the known
    region's edge map [B, 1, H, W] in {0, 1}. generator: one torch.Generator per row (None:
    torch's global RNG). callback: after every step {"step", "t" (the new state's time: 0 after
    the last step), "nfe", "x", "x0_hat", "structure"} in [-1, 1] image units; x0_hat is the
    state itself (an IR-SDE state is the image plus mild noise; the x_0 estimate from the noise
    divides by exp(-thetabar_t dt), as small as eps = 0.005, and is useless for display).
    """
    walk = walk or StrWalk()
    batch = known.shape[0]
    if generator is not None and len(generator) != batch:
        raise InpaintkitError(f"got {len(generator)} generators for a batch of {batch}")
    if walk.guidance and nets.structure is None:
        raise InpaintkitError("structure guidance needs the structure network")
    run = _Run(nets, process, known, keep, structure, edges, generator)
    everyone, num_steps, lam = list(range(batch)), process.num_steps, process.max_sigma
    x = run.mu_x + lam * run.noise(known, everyone)
    s = None
    end = early_end(num_steps, walk)
    if walk.guidance:
        s = run.mu_s + lam * run.noise(edges, everyone)
        s = keep * run.known_structure(num_steps, everyone) + run.hole * s
    times = list(range(num_steps, 0, -1))
    for step, t in enumerate(progress_bar(times, "StrDiffusion", progress)):
        if t >= end:  # early stage: structure, then texture guided by it
            s_known = run.known_structure(t - 1, everyone)
            s_cand = keep * s_known + run.hole * run.structure_step(s, t, everyone)
            x_cand = run.texture_step(x, t, s_cand, everyone)
            k = renoise_steps(t, num_steps, walk)
            if k:
                run.resample(t, k, walk, x, x_cand, s_cand, s_known)
            x, s = x_cand, keep * s_known + run.hole * s_cand
        else:  # late stage: the texture's own gray guides it
            s = x.mean(dim=1, keepdim=True)
            x = run.texture_step(x, t, s, everyone)
        if callback is not None:
            image = x * 2 - 1
            callback({"step": step, "t": t - 1, "nfe": run.stats.nfe, "x": image,
                      "x0_hat": image.clamp(-1, 1), "structure": s * 2 - 1})  # fmt: skip
    out = keep * known + (1 - keep) * x
    if not torch.isfinite(out).all():
        raise InpaintkitError(
            "the sampled result holds NaN or infinite values: the networks' output is not "
            "finite; check the checkpoint's weights"
        )
    return out, run.stats
