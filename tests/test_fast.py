"""Fast samplers: null-space (DDNM) conditioning in the RePaint sampler, the "ddnm" and
"repaint-fast" methods, and choosing steps for a budget of network evaluations."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import make_problem
from PIL import Image
from typer.testing import CliRunner

from inpaintkit.bench import parse_method_spec
from inpaintkit.cli import app
from inpaintkit.diffusion.process import GaussianDiffusion
from inpaintkit.diffusion.samplers import sample_repaint
from inpaintkit.diffusion.schedules import count_steps, space_timesteps
from inpaintkit.errors import InpaintkitError
from inpaintkit.methods import METHODS, RePaint
from inpaintkit.methods.diffusion import (
    DDNM,
    DDNMOptions,
    RePaintFast,
    RePaintFastOptions,
    RePaintOptions,
    SDEditOptions,
)
from inpaintkit.models import DiffusionModel
from inpaintkit.models.store import save_model

runner = CliRunner()
CONDITIONS = ("replace", "null-space")


def _gens(*seeds: int) -> list[torch.Generator]:
    return [torch.Generator().manual_seed(s) for s in seeds]


def _sample(model: DiffusionModel, known, keep, generator, steps: int = 10, **kw) -> torch.Tensor:
    diffusion = GaussianDiffusion.respaced(model.betas, steps)
    shape = known.shape if known is not None else (2, 3, 16, 16)
    x = torch.randn(shape, generator=torch.Generator().manual_seed(1))
    kw = {"jump_length": 3, "resamplings": 2, **kw}
    return sample_repaint(
        model.denoiser(), x, diffusion, keep=keep, known=known, generator=generator,
        progress=False, **kw,
    )  # fmt: skip


# -- the sampler's null-space conditioning ------------------------------------------------------


@pytest.mark.parametrize("eta", [None, 0.5])
@pytest.mark.parametrize("condition", CONDITIONS)
def test_sampler_known_exact_and_seeded(tiny_model, condition: str, eta) -> None:
    known, keep = make_problem()

    def run(seeds: tuple[int, int]) -> torch.Tensor:
        return _sample(tiny_model, known, keep, _gens(*seeds), condition=condition, eta=eta)

    out = run((2, 3))
    kept = keep.expand_as(out) == 1
    assert torch.equal(out[kept], known[kept])
    assert (out[~kept] - known[~kept]).abs().mean() > 0.1  # the holes were regenerated
    assert torch.equal(out, run((2, 3)))  # same seeds, same bytes
    assert not torch.equal(out, run((4, 5)))


@pytest.mark.parametrize("condition", CONDITIONS)
def test_sampler_rows_alone_equal_the_batch(tiny_model, condition: str) -> None:
    """One generator per row: a batch of two masks gives what each row gives alone."""
    known, keep = make_problem()
    diffusion = GaussianDiffusion.respaced(tiny_model.betas, 10)
    x = torch.randn(known.shape, generator=torch.Generator().manual_seed(1))

    def run(rows: slice, seeds: tuple[int, ...]) -> torch.Tensor:
        return sample_repaint(
            tiny_model.denoiser(), x[rows], diffusion, keep=keep[rows], known=known[rows],
            jump_length=3, resamplings=2, condition=condition, eta=0.85,
            generator=_gens(*seeds), progress=False,
        )  # fmt: skip

    both = run(slice(0, 2), (2, 3))
    assert (run(slice(0, 1), (2,)) - both[:1]).abs().max() < 1e-5
    assert (run(slice(1, 2), (3,)) - both[1:]).abs().max() < 1e-5
    assert not torch.equal(both[:1], run(slice(0, 1), (3,)))


@pytest.mark.parametrize("eta", [None, 0.0, 0.85])
def test_null_space_all_known_tracks_the_input(tiny_model, eta) -> None:
    """keep = 1: every projected x0 is the input, and the last reverse step lands on it before
    the final paste (posterior at t=0 and DDIM with abar_{-1} = 1 both return x0)."""
    known, keep = make_problem()
    keep = torch.ones_like(keep)
    seen: list[dict] = []
    out = _sample(
        tiny_model, known, keep, _gens(2, 3), condition="null-space", eta=eta,
        callback=seen.append,
    )  # fmt: skip
    assert torch.equal(out, known)
    assert len(seen) == count_steps(RePaintOptions(10, jump_length=3, resamplings=2).times())[0]
    assert all(torch.equal(s["x0_hat"], known) for s in seen)
    assert (seen[-1]["x"] - known).abs().max() < 1e-5  # reached by the step, not the paste
    assert (seen[0]["x"] - known).abs().mean() > 0.1  # ... and from far away


@pytest.mark.parametrize("eta", [None, 0.5])
def test_null_space_nothing_known_is_plain_sampling(tiny_model, eta) -> None:
    known, keep = make_problem()
    keep = torch.zeros_like(keep)
    plain = _sample(tiny_model, None, None, torch.Generator().manual_seed(2), eta=eta)
    null = _sample(
        tiny_model, known, keep, torch.Generator().manual_seed(2), condition="null-space", eta=eta
    )
    assert torch.equal(null, plain)
    # replacement draws its own noise for the known part, so it follows another stream
    replaced = _sample(tiny_model, known, keep, torch.Generator().manual_seed(2), eta=eta)
    assert not torch.equal(replaced, plain)


@pytest.mark.parametrize("eta", [None, 0.0])
def test_null_space_first_step_by_hand(tiny_model, eta) -> None:
    """x_9 -> x_8 of a 10-step process, built from GaussianDiffusion's formulas by hand: the
    projected x0, then the posterior mean plus fixed-small noise (eta None), or DDIM's
    deterministic step with eps re-derived from the projected x0 (eta 0)."""
    known, keep = make_problem()
    diffusion = GaussianDiffusion.respaced(tiny_model.betas, 10)
    x = torch.randn(known.shape, generator=torch.Generator().manual_seed(1))
    seen: list[dict] = []
    sample_repaint(
        tiny_model.denoiser(), x, diffusion, keep=keep, known=known, resamplings=1,
        variance="fixed_small", eta=eta, condition="null-space",
        generator=torch.Generator().manual_seed(5), callback=seen.append, progress=False,
    )  # fmt: skip
    i = torch.full((2,), 9)
    eps, _ = tiny_model.denoiser()(x, diffusion.train_timesteps(i))
    x0 = diffusion.x0_from_eps(x, i, eps).clamp(-1, 1)
    x0 = keep * known + (1 - keep) * x0
    if eta is None:
        mean, variance, _ = diffusion.q_posterior(x0, x, i)
        noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(5))
        expected = mean + variance.sqrt() * noise
    else:
        abar, abar_prev = (
            diffusion.const(n, i, x) for n in ("alphas_cumprod", "alphas_cumprod_prev")
        )
        eps_projected = (x - abar.sqrt() * x0) / (1 - abar).sqrt()
        expected = abar_prev.sqrt() * x0 + (1 - abar_prev).sqrt() * eps_projected
        # the network's own eps (DDNM's reference code) would give another step
        network = abar_prev.sqrt() * x0 + (1 - abar_prev).sqrt() * eps
        assert (network - expected).abs().max() > 1e-3
    assert seen[0]["t"] == 9 and torch.equal(seen[0]["x0_hat"], x0)
    assert (seen[0]["x"] - expected).abs().max() < 1e-6


def test_condition_is_checked(tiny_model) -> None:
    known, keep = make_problem()
    with pytest.raises(InpaintkitError, match="unknown condition 'ddnm'.*null-space"):
        _sample(tiny_model, known, keep, None, condition="ddnm")
    with pytest.raises(InpaintkitError, match="share_noise applies to condition='replace'"):
        _sample(tiny_model, known, keep, None, condition="null-space", share_noise=True)
    with pytest.raises(InpaintkitError, match="share_noise"):
        DDNMOptions(share_noise=True)


# -- the methods ----------------------------------------------------------------------------------


def test_defaults_cost_at_most_241() -> None:
    walks = {DDNM: (50, 5, 5, 180), RePaintFast: (30, 5, 9, 200)}  # T, j, r, undo steps
    for cls, (steps, jump, resamplings, undo) in walks.items():
        assert METHODS[cls.name] is cls
        options = cls.Options()
        assert (options.jump_length, options.resamplings) == (jump, resamplings)
        assert options.steps == steps
        cost = cls.cost(options)
        assert cost == {"network_evaluations": 230, "undo_steps": undo}
        assert cost["network_evaluations"] <= 241  # a tenth of the paper's 2410
    assert DDNMOptions.condition == "null-space" and DDNMOptions().eta == 0.85
    assert RePaintFastOptions.condition == "replace" and RePaintFastOptions().eta == 1.0
    assert RePaintFastOptions().spacing == "power1.25" and DDNMOptions().spacing == "even"
    assert RePaint.cost(RePaintOptions())["network_evaluations"] == 2410


def test_repaint_fast_walks_a_power_spacing(tiny_model: DiffusionModel) -> None:
    timesteps = list(RePaintFast(model=tiny_model, progress=False).diffusion.timesteps)
    assert timesteps == space_timesteps(len(tiny_model.betas), 30, "power1.25")
    assert timesteps != space_timesteps(len(tiny_model.betas), 30, "even")


SMALL = {"steps": 10, "jump_length": 2, "resamplings": 2}


@pytest.mark.parametrize("cls", [DDNM, RePaintFast])
def test_method_known_exact_seeded_and_batch_free(tiny_model, cls) -> None:
    method = cls(cls.Options(**SMALL), model=tiny_model, progress=False)
    known, keep = make_problem()
    out = method(known, keep, generators=_gens(2, 3))
    kept = keep.expand_as(out) == 1
    assert torch.equal(out[kept], known[kept])
    assert (out[~kept] - known[~kept]).abs().mean() > 0.1
    assert torch.equal(out, method(known, keep, generators=_gens(2, 3)))
    assert not torch.equal(out, method(known, keep, generators=_gens(4, 5)))
    for row, seed in enumerate((2, 3)):  # the method draws x per row too
        alone = method(known[row : row + 1], keep[row : row + 1], generators=_gens(seed))
        assert (alone - out[row : row + 1]).abs().max() < 1e-5


@pytest.mark.parametrize(("cls", "condition"), [(DDNM, "null-space"), (RePaintFast, "replace")])
def test_method_runs_the_sampler_with_its_condition(tiny_model, cls, condition) -> None:
    options = cls.Options(**SMALL)
    method = cls(options, model=tiny_model, progress=False)
    known, keep = make_problem()
    out = method(known, keep, generators=_gens(2, 3))
    gens = _gens(2, 3)
    x = torch.cat([torch.randn((1, 3, 16, 16), generator=g) for g in gens])

    runtime = method.runtime  # auto: bf16 + channels_last on a CPU with native bf16

    def direct(rule: str) -> torch.Tensor:
        return sample_repaint(
            tiny_model.denoiser(runtime.precision, runtime.channels_last), x, method.diffusion,
            keep=keep, known=known, times=options.times(), eta=options.eta, condition=rule,
            generator=gens, progress=False,
        )  # fmt: skip

    state = [g.get_state() for g in gens]
    assert torch.equal(out, direct(condition))
    for g, s in zip(gens, state):
        g.set_state(s)
    other = "replace" if condition == "null-space" else "null-space"
    assert not torch.equal(out, direct(other))
    assert method.config()["condition"] == condition and method.config()["method"] == cls.name


def test_options_through_bench_specs() -> None:
    spec = parse_method_spec("ddnm:steps=20,eta=0.5,jump_length=4")
    assert spec.options == {"steps": 20, "eta": 0.5, "jump_length": 4}
    assert (
        spec.cost()["network_evaluations"]
        == count_steps(DDNMOptions(steps=20, eta=0.5, jump_length=4).times())[0]
    )
    assert parse_method_spec("repaint-fast").cost()["network_evaluations"] == 230
    with pytest.raises(InpaintkitError, match="unknown option 'condition'"):
        parse_method_spec("ddnm:condition=replace")  # fixed by the method, not an option
    with pytest.raises(InpaintkitError, match="share_noise"):
        parse_method_spec("ddnm:share_noise=true")


# -- budgets --------------------------------------------------------------------------------------


def _nfe(options) -> int:
    return count_steps(options.times())[0]


@pytest.mark.parametrize(
    ("options", "budget", "steps"),
    [
        (RePaintOptions(), 2410, 250),  # the paper's setting
        (RePaintOptions(), 241, 30),  # 210 NFE; 31 steps add a third jump point: 301
        (RePaintOptions(), 101, 11),  # the cheapest walk that jumps: 11 + 9 * 10
        (DDNMOptions(), 241, 50),
        (RePaintFastOptions(jump_length=10, resamplings=10), 2410, 250),
        (RePaintOptions(resamplings=1), 77, 77),
        (SDEditOptions(), 2392, 250),
    ],
)
def test_for_budget_takes_the_most_steps_that_fit(options, budget: int, steps: int) -> None:
    chosen = options.for_budget(budget)
    assert chosen.steps == steps
    assert replace(chosen, steps=options.steps) == options  # nothing else changed
    assert type(chosen) is type(options)
    assert _nfe(chosen) <= budget < _nfe(replace(chosen, steps=steps + 1))


def test_for_budget_limits() -> None:
    with pytest.raises(InpaintkitError, match="budget of 100 .*steps=11 costs 101"):
        RePaintOptions().for_budget(100)
    with pytest.raises(InpaintkitError, match="budget of 0"):
        RePaintOptions(resamplings=1).for_budget(0)
    assert RePaintOptions().for_budget(10**6, max_steps=1000).steps == 1000  # the model's T
    with pytest.raises(InpaintkitError, match="only 8 timesteps"):
        RePaintOptions().for_budget(2410, max_steps=8)


@pytest.mark.parametrize(
    "options",
    [RePaintOptions(), DDNMOptions(), RePaintOptions(jump_n_sample=2), SDEditOptions()],
)
def test_cost_grows_with_steps(options) -> None:
    """for_budget's binary search relies on it."""
    costs = [_nfe(replace(options, steps=s)) for s in range(options.min_steps(), 120)]
    assert all(a < b for a, b in zip(costs, costs[1:]))


# -- the command line -----------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path: Path, tiny_model: DiffusionModel) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(tmp_path / "cat.png")
    hole = np.zeros((16, 16), np.uint8)
    hole[2:10, 5:14] = 255
    Image.fromarray(hole).save(tmp_path / "hole.png")
    model = save_model(tiny_model, tmp_path / "tiny.safetensors", dtype=torch.float32)
    return {"dir": tmp_path, "cat": tmp_path / "cat.png", "hole": tmp_path / "hole.png",
            "model": model}  # fmt: skip


def _inpaint(files: dict[str, Path], *args: object):
    base = ["inpaint", files["cat"], "--mask", files["hole"], "--model", files["model"]]
    return runner.invoke(app, [str(a) for a in [*base, "--no-progress", *args]])


@pytest.mark.parametrize(
    ("args", "budget", "walk", "nfe"),
    [
        (["--method", "ddnm"], 241, (50, 5, 5), 230),
        (["--method", "repaint"], 241, (30, 10, 10), 210),  # j = 10, r = 10 fit
        (
            ["--method", "repaint", "-o", "jump_length=5", "--resamplings", "5"],
            241,
            (50, 5, 5),
            230,
        ),
        (["--method", "repaint"], 100, (20, 10, 9), 100),  # r=10 leaves 11 steps: r=9
        (["--method", "repaint-fast"], 230, (30, 5, 9), 230),  # its default walk exactly
        (["--method", "repaint-fast"], 55, (15, 5, 5), 55),  # r=9 leaves 10 steps: r=5
    ],
)
def test_cli_budget_dry_run(
    files: dict[str, Path], args: list[str], budget: int, walk: tuple, nfe: int
) -> None:
    result = _inpaint(files, *args, "--budget", budget, "--dry-run")
    assert result.exit_code == 0, result.output
    steps, jump, resamplings = walk
    expected = (
        f"budget: {budget} network evaluations per batch -> steps={steps}, jump_length={jump}, "
        f"resamplings={resamplings} ({nfe} network evaluations)"
    )
    assert expected in result.output
    assert f"steps={steps}," in result.output and f": {nfe} network evaluations" in result.output


def test_cli_budget_capped_by_the_model(files: dict[str, Path]) -> None:
    result = _inpaint(files, "--budget", "2410", "--dry-run")  # the tiny model has T = 100
    assert result.exit_code == 0, result.output
    assert "steps=100, jump_length=10, resamplings=10 (910 network evaluations)" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--steps", "20"], "drop --steps"),
        (["-o", "steps=20"], "drop --steps"),
        (["--method", "ddnm", "-o", "bogus=1"], "unknown option 'bogus' for ddnm"),
        (["-o", "resamplings=abc"], "option resamplings of repaint: 'abc' is not an integer"),
        (  # j and r given: only the steps are chosen
            ["--budget", "100", "--jump-length", "10", "--resamplings", "10"],
            "below the cheapest walk .*steps=11 costs 101",
        ),
    ],
)
def test_cli_budget_errors(files: dict[str, Path], args: list[str], message: str) -> None:
    result = _inpaint(files, "--budget", "241", *args, "--dry-run")  # a later --budget wins
    assert result.exit_code == 2
    assert re.search(message, result.output), result.output


def test_cli_budget_needs_a_diffusion_method(files: dict[str, Path]) -> None:
    args = ["inpaint", files["cat"], "--mask", files["hole"], "--method", "telea"]
    result = runner.invoke(app, [str(a) for a in [*args, "--budget", "241"]])
    assert result.exit_code == 2
    assert "--budget counts network evaluations; telea uses no network" in result.output
    assert runner.invoke(app, [str(a) for a in args + ["--out", files["dir"] / "t"]]).exit_code == 0


def test_cli_runs_ddnm_with_budget_and_options(files: dict[str, Path]) -> None:
    out = files["dir"] / "o"
    result = _inpaint(
        files, "--method", "ddnm", "--budget", "30", "-o", "jump_length=2",
        "--resamplings", "2", "-o", "eta=0.5", "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    config = json.loads((out / "inpaintkit.json").read_text())
    assert config["method"] == "ddnm" and config["condition"] == "null-space"
    assert config["budget"] == 30 and config["eta"] == 0.5 and config["jump_length"] == 2
    chosen = DDNMOptions(steps=config["steps"], jump_length=2, resamplings=2, eta=0.5)
    assert _nfe(chosen) <= 30 < _nfe(replace(chosen, steps=chosen.steps + 1))
    result = np.asarray(Image.open(out / "cat.png"))
    original = np.asarray(Image.open(files["cat"]))
    hole = np.asarray(Image.open(files["hole"])) > 0
    assert np.array_equal(result[~hole], original[~hole])
