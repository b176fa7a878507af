"""StrDiffusion's sampler and method: the adaptive rule on a scripted discriminator (accepts,
averages and stops counted exactly), network evaluations counted exactly and inside cost()'s
range, the ablation switches, the walk back to the image under the exact noise, options,
budget, and the missing default model."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
import torch

from inpaintkit.diffusion.irsde import IRSDE
from inpaintkit.diffusion.samplers.strdiffusion import (
    StrNets,
    StrWalk,
    sample_strdiffusion,
    walk_cost,
)
from inpaintkit.errors import InpaintkitError
from inpaintkit.methods import build_method
from inpaintkit.methods.strdiffusion import StrDiffusion, StrDiffusionOptions
from inpaintkit.models import BundleModel
from inpaintkit.networks import build_network
from inpaintkit.networks.presets import get_preset

H = 8
CORNERS = ((0, 0), (0, H - 1), (H - 1, 0))  # row r's hole is one pixel at CORNERS[r]


class Fakes:
    """Zero-noise structure and texture networks and a discriminator that returns, for each
    row, the next value of that row's script (rows are told apart by which corner of
    x * keep is zero); every call and guide is recorded."""

    def __init__(self, scripts: dict[int, list[float]] | None = None) -> None:
        self.scripts = {r: list(v) for r, v in (scripts or {}).items()}
        self.calls = {"structure": 0, "texture": 0, "discriminator": 0}
        self.guides: list[tuple[torch.Tensor, torch.Tensor]] = []

    def structure(self, s, mu, t):
        self.calls["structure"] += 1
        return torch.zeros_like(s)

    def texture(self, x, mu, t, guide):
        self.calls["texture"] += 1
        self.guides.append((x.clone(), guide.clone()))
        return torch.zeros_like(x)

    def discriminator(self, x, s, t):
        self.calls["discriminator"] += 1
        rows = [next(r for r, (i, j) in enumerate(CORNERS) if x[b, 0, i, j] == 0)
                for b in range(x.shape[0])]  # fmt: skip
        return torch.tensor([[self.scripts[r].pop(0)] for r in rows])

    def nets(self) -> StrNets:
        return StrNets(self.structure, self.texture, self.discriminator)


def inputs(rows: int = 3):
    gen = torch.Generator().manual_seed(0)
    known = torch.rand(rows, 3, H, H, generator=gen) * 0.8 + 0.1
    keep = torch.ones(rows, 1, H, H)
    for r in range(rows):
        keep[r, 0, CORNERS[r][0], CORNERS[r][1]] = 0
    edges = (torch.rand(rows, 1, H, H, generator=gen) > 0.7).float() * keep
    structure = known.mean(1, keepdim=True)
    return {"known": known, "keep": keep, "structure": structure, "edges": edges}


def run(fakes: Fakes, walk: StrWalk, rows: int = 3, T: int = 6):
    generators = [torch.Generator().manual_seed(10 + r) for r in range(rows)]
    return sample_strdiffusion(fakes.nets(), IRSDE(T), walk=walk, generator=generators,
                               progress=False, **inputs(rows))  # fmt: skip


# T = 6, early 0.5: early steps t = 6, 5, 4, 3 and late 2, 1; jump 3 resamples at t = 6 (re-noised
# 1 step: capped at T) and t = 3 (2 steps); u_min 2, u_max 5: at most 4 rounds.
WALK = StrWalk(jump=3, re=2, u_min=2, u_max=5, early=0.5)
SCRIPTS = {  # per row: D_n then D_p per round at t = 6, then the same at t = 3 (lower = better)
    0: [0, 1, -1, 1] + [5, 4, 6],  # t=6: V A S; t=3: A S
    1: [0, -1, -1, -1, -1] + [5, 6, 6],  # t=6: A A A A (all rounds); t=3: V S
    2: [0, 0, 0] + [5, 1, 1, 1, 1],  # t=6: a tie is a rejection: V S; t=3: A A A A
}


def test_adaptive_rule_on_a_scripted_discriminator():
    fakes = Fakes(SCRIPTS)
    out, stats = run(fakes, WALK)
    assert stats.events == {6: ["VAS", "AAAA", "VS"], 3: ["AS", "VS", "AAAA"]}
    assert all(not script for script in fakes.scripts.values())  # every score was asked for
    assert stats.counts() == {"accepted": 10, "averaged": 3, "stopped": 4, "fixed": 0}
    # network evaluations by hand: 4 early steps x 2 + 2 late steps = 10; at t = 6 one D_n and
    # 4 rounds (some row is active in each) of 1 structure + 1 texture + 1 D = 13; at t = 3 one
    # D_n and 4 rounds of 2 + 1 + 1 = 17
    assert stats.nfe == 40 == sum(fakes.calls.values())
    assert fakes.calls == {"structure": 4 + 4 * 1 + 4 * 2, "texture": 6 + 8, "discriminator": 10}
    cost = walk_cost(6, WALK)
    assert cost == {"network_evaluations": 40, "network_evaluations_min": 26, "undo_steps": 12}
    keep = inputs()["keep"]
    assert torch.equal(out * keep, inputs()["known"] * keep)  # known pixels exact
    # the late steps are guided by the texture's own channel mean
    for x, guide in fakes.guides[-2:]:
        assert torch.equal(guide, x.mean(dim=1, keepdim=True))


def test_rule_variants_flip_fix_and_switch_off():
    higher = Fakes({0: [0, 1, -1] + [5, 4, 4], 1: [0, -1, -1] + [5, 6, 4],
                    2: [0, 0, 0] + [5, 1, 1]})  # fmt: skip
    _, stats = run(higher, replace(WALK, accept="higher"))
    assert stats.events == {6: ["AS", "VS", "VS"], 3: ["VS", "AS", "VS"]}
    # fixed: exactly u_min rounds, each taken, the discriminator never asked
    fixed = Fakes()
    _, stats = run(fixed, replace(WALK, resampling="fixed"))
    assert stats.events == {6: ["FF"] * 3, 3: ["FF"] * 3}
    assert stats.nfe == 10 + 2 * 2 + 2 * 3 == walk_cost(6, replace(WALK, resampling="fixed"))[
        "network_evaluations_min"] and fixed.calls["discriminator"] == 0  # fmt: skip
    # no resampling: the base walk; no guidance: the texture alone, one call per step
    none = Fakes()
    _, stats = run(none, replace(WALK, resampling="none"))
    assert stats.nfe == 10 and not stats.events
    alone = Fakes()
    nets = StrNets(None, alone.texture)
    gens = [torch.Generator().manual_seed(r) for r in range(3)]
    _, stats = sample_strdiffusion(nets, IRSDE(6), walk=replace(WALK, guidance=False),
                                   generator=gens, progress=False, **inputs())  # fmt: skip
    assert stats.nfe == 6 == alone.calls["texture"] and alone.calls["structure"] == 0
    assert all(torch.equal(g, x.mean(1, keepdim=True)) for x, g in alone.guides)
    assert walk_cost(6, replace(WALK, guidance=False))["network_evaluations"] == 6


def test_callback_reports_every_step():
    reports = []
    generators = [torch.Generator().manual_seed(r) for r in range(3)]
    sample_strdiffusion(Fakes().nets(), IRSDE(6), walk=replace(WALK, resampling="none"),
                        generator=generators, callback=reports.append, progress=False,
                        **inputs())  # fmt: skip
    assert [r["t"] for r in reports] == [5, 4, 3, 2, 1, 0]
    assert [r["nfe"] for r in reports] == [2, 4, 6, 8, 9, 10]
    assert all(r["x0_hat"].shape == (3, 3, H, H) and r["x0_hat"].abs().max() <= 1 for r in reports)


@pytest.mark.parametrize(
    "walk", [StrWalk(resampling="none"), StrWalk(u_max=6), StrWalk(guidance=False)]
)
def test_the_exact_noise_walks_back_to_the_image(walk):
    """Networks that return the true noise of their state about the marginal mean of the true
    image (the exact score when x_0 is known) must walk from mu + lambda z back to the image: the
    sampler's reverse steps, its structure replacement and its rounds lose nothing the process
    keeps. At T = 100 every pixel comes back to within 0.02 (measured: 0.0067 to 0.0085, the last
    steps' own noise)."""
    process, gen = IRSDE(100), torch.Generator().manual_seed(3)
    known = torch.rand(2, 3, 16, 16, generator=gen)
    keep = torch.ones(2, 1, 16, 16)
    keep[:, :, 4:12, 2:14] = 0
    structure = known.mean(1, keepdim=True)
    edges = (structure > 0.5).float() * keep

    def exact(truth, means):  # rows are told apart by their mu (a row of means)
        def eps(x, mu, t, *guide):
            rows = [int((means - m).flatten(1).abs().sum(1).argmin()) for m in mu]
            return (x - process.mean(truth[rows], mu, t)) / process.std(t, x)

        return eps

    def disc(x, s, t):  # any per-row score: rounds accept, average and stop
        return x.flatten(1).std(1, keepdim=True)

    nets = StrNets(exact(structure, edges * keep), exact(known, known * keep), disc)
    generators = [torch.Generator().manual_seed(r) for r in range(2)]
    out, stats = sample_strdiffusion(nets, process, known=known, keep=keep, structure=structure,
                                     edges=edges, walk=walk, generator=generators,
                                     progress=False)  # fmt: skip
    assert (out - known).abs().max() < 0.02
    assert stats.nfe >= 100
    if walk.resampling == "adaptive" and walk.guidance:
        assert stats.counts()["accepted"] and stats.counts()["averaged"]
    assert (known * (1 - keep)).abs().max() > 0.5  # the hole starts at mu = 0, far from it


def test_default_cost_range_by_hand():
    """T = 100: early t = 100..40 (61 steps x 2 NFE) and 39 late steps (1 NFE): 161. Resampling
    at the 31 even t: t = 100 re-noises 1 step (capped), the others 2. Most: 24 rounds:
    (1 + 24 * 3) + 30 * (1 + 24 * 4) = 2983; fewest: u_min = 4 rounds: 13 + 30 * 17 = 523."""
    options = StrDiffusionOptions()
    assert StrDiffusion.cost(options) == {
        "network_evaluations": 161 + 2983,
        "network_evaluations_min": 161 + 523,
        "undo_steps": 24 + 30 * 24 * 2,
    }
    assert "(T=100, jump=2, re=2, u_min=4, u_max=25; 684-3144 NFE)" in StrDiffusion.describe()
    # budget: most NFE = 192 + 123 (u_max - 1) fits 1000 at u_max = 7; 300 only without rounds
    assert StrDiffusion.for_budget(options, 1000).u_max == 7
    assert StrDiffusion.for_budget(options, 300).resampling == "none"
    with pytest.raises(InpaintkitError, match="below the cheapest StrDiffusion run at T=100 "
                       r"\(161 without resampling\)"):  # fmt: skip
        StrDiffusion.for_budget(options, 100)
    with pytest.raises(InpaintkitError, match="option u_min of strdiffusion: 25 exceeds"):
        build_method("strdiffusion", model="unused", u_min=25)


def micro_model() -> BundleModel:
    torch.manual_seed(0)
    specs = {
        "structure": ("IRSDEUNet", {"channels": 1, "width": 8, "depth": 2, "blocks": 1}),
        "texture": (
            "IRSDEUNet",
            {"channels": 3, "width": 8, "depth": 2, "blocks": 1, "guide_channels": 1},
        ),  # fmt: skip
        "discriminator": ("TimeDiscriminator", {"in_channels": 4, "width": 4, "time_dim": 16}),
    }
    nets = {n: build_network(c, cfg).eval() for n, (c, cfg) in specs.items()}
    process = {**get_preset("strdiffusion32").process, "image_size": 16, "num_steps": 10}
    return BundleModel(nets, process, source="micro")


def test_method_known_pixels_and_rows_independent_of_the_batch():
    method = StrDiffusion(StrDiffusionOptions(T=10, u_max=4, u_min=2), model=micro_model(),
                          progress=False)  # fmt: skip
    gen = torch.Generator().manual_seed(1)
    known = torch.rand(2, 3, 16, 16, generator=gen) * 2 - 1
    keep = torch.ones(2, 1, 16, 16)
    keep[0, :, 4:12, 4:12] = 0
    keep[1, :, :, 8:] = 0
    out = method(known, keep, generators=[torch.Generator().manual_seed(s) for s in (5, 6)])
    assert torch.equal(out * keep, known * keep) and out.abs().max() <= 1
    # the untrained discriminator scores every state alike: every round is a rejection
    assert method.last_stats.events == {10: ["VS", "VS"], 8: ["VS", "VS"], 6: ["VS", "VS"],
                                        4: ["VS", "VS"]}  # fmt: skip
    alone = method(known[1:], keep[1:], generators=[torch.Generator().manual_seed(6)])
    assert torch.allclose(alone, out[1:], atol=1e-5)
    with pytest.raises(InpaintkitError, match="unconditional"):
        StrDiffusion(model=micro_model(), class_label=3)
    not_ours = BundleModel({"texture": micro_model().nets["texture"]}, {}, source="other")
    with pytest.raises(InpaintkitError, match="other is not a StrDiffusion model"):
        StrDiffusion(model=not_ours)


def test_without_its_weights_the_default_model_says_how_to_train_it(monkeypatch):
    import inpaintkit.models as models

    monkeypatch.setattr(models, "embedded_models", lambda: ["emoji32"])
    with pytest.raises(InpaintkitError) as error:
        build_method("strdiffusion")
    text = str(error.value)
    assert "its model 'strdiffusion32' is not installed" in text
    assert re.search(r"inpaintkit train emoji --preset strdiffusion32 --objective strdiffusion",
                     text) and "--model" in text  # fmt: skip


def test_the_bench_records_the_evaluations_an_adaptive_run_spent(tmp_path):
    import numpy as np

    from inpaintkit.bench.execute import Task, build_inpainter, run_task
    from inpaintkit.models import save_model

    path = str(save_model(micro_model(), tmp_path / "micro.safetensors"))
    images = np.random.default_rng(0).integers(0, 256, (2, 16, 16, 3), np.uint8)
    holes = np.zeros((2, 16, 16), bool)
    holes[0, 4:12, 4:12] = holes[1, :, 8:] = True
    options = {"T": 10, "u_max": 4, "u_min": 2}
    task = Task("strdiffusion", "strdiffusion", options, path, "cpu", 1, "box", (0, 1), (5, 6),
                images, holes)  # fmt: skip
    result = run_task(task)
    cost = StrDiffusion.cost(StrDiffusionOptions(**options))
    # the untrained discriminator rejects every round: the fewest evaluations, not the most
    assert result.nfe == cost["network_evaluations_min"] < cost["network_evaluations"]
    assert build_inpainter("strdiffusion", options, path, "cpu").last_stats.nfe == result.nfe
    empty = run_task(replace(task, holes=np.zeros_like(holes)))  # nothing run: nothing spent
    assert empty.nfe is None
    fixed = run_task(replace(task, label="telea", name="telea", options={}, model=None))
    assert fixed.nfe is None  # a fixed cost: the bench records the method's cost()
