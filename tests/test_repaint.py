"""The RePaint sampler: schedule counts, invariants, determinism, and diffusers cross-checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import make_problem, make_tiny_unet
from diffusers import RePaintPipeline, RePaintScheduler

from inpaintkit.diffusion.denoiser import Denoiser
from inpaintkit.diffusion.process import GaussianDiffusion
from inpaintkit.diffusion.samplers import sample_repaint
from inpaintkit.diffusion.schedules import count_steps, linear_betas, repaint_times
from inpaintkit.errors import InpaintkitError

# (T, j, r) -> (network evaluations, undo steps), checked against the official get_schedule_jump.
PAPER_COUNTS = {
    (250, 10, 10): (2410, 2160),
    (250, 10, 1): (250, 0),
    (250, 10, 2): (490, 240),
    (250, 10, 5): (1210, 960),
    (100, 10, 5): (460, 360),
    (100, 10, 10): (910, 810),
    (50, 5, 4): (185, 135),
    (1000, 10, 10): (9910, 8910),
}


@pytest.mark.parametrize(("setting", "counts"), PAPER_COUNTS.items())
def test_jump_schedule_counts(setting: tuple[int, int, int], counts: tuple[int, int]) -> None:
    times = repaint_times(*setting)
    assert count_steps(times) == counts
    assert times[0] == setting[0] - 1 and times[-1] == -1
    assert all(abs(b - a) == 1 for a, b in zip(times, times[1:]))


def test_jump_schedule_shape() -> None:
    times = repaint_times(20, jump_length=5, resamplings=2)
    # jump points 0, 5, 10 (below 20 - 5), one jump each of 5 steps up
    assert times[:12] == [19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 11, 12]
    assert count_steps(times) == (20 + 3 * 5, 3 * 5)
    assert count_steps(repaint_times(250, 10, 10, jump_n_sample=2))[0] == 2410 + 2408


@pytest.mark.parametrize(("steps", "j", "r"), [(250, 10, 10), (100, 5, 3), (50, 10, 1)])
def test_timesteps_match_diffusers(steps: int, j: int, r: int) -> None:
    scheduler = RePaintScheduler(num_train_timesteps=1000)
    scheduler.set_timesteps(steps, jump_length=j, jump_n_sample=r)
    ours = np.array(repaint_times(steps, j, r)[:-1]) * (1000 // steps)
    np.testing.assert_array_equal(ours, scheduler.timesteps.numpy())


def _denoiser(unet, learned: bool = False) -> Denoiser:
    return Denoiser(
        lambda x, t, class_labels=None: unet(x, t, class_labels=class_labels).sample,
        learned_variance=learned,
    )


def test_known_pixels_exact_and_batch_of_masks(tiny_model) -> None:
    known, keep = make_problem()
    diffusion = GaussianDiffusion.respaced(tiny_model.betas, 20)
    x = torch.randn(known.shape, generator=torch.Generator().manual_seed(1))
    denoiser = tiny_model.denoiser()
    out = sample_repaint(
        denoiser,
        x,
        diffusion,
        keep=keep,
        known=known,
        jump_length=5,
        resamplings=3,
        generator=torch.Generator().manual_seed(2),
        progress=False,
    )
    assert torch.equal(out[keep.expand_as(out) == 1], known[keep.expand_as(known) == 1])
    holes = keep.expand_as(out) == 0
    assert (out[holes] - known[holes]).abs().mean() > 0.1  # the hole was regenerated
    assert denoiser.evaluations == count_steps(repaint_times(20, 5, 3))[0] == 20 + 3 * 2 * 5


def test_same_seed_same_bytes(tiny_model) -> None:
    known, keep = make_problem()
    diffusion = GaussianDiffusion.respaced(tiny_model.betas, 10)

    def run(seed: int) -> torch.Tensor:
        x = torch.randn(known.shape, generator=torch.Generator().manual_seed(seed))
        return sample_repaint(
            tiny_model.denoiser(),
            x,
            diffusion,
            keep=keep,
            known=known,
            jump_length=3,
            resamplings=2,
            generator=torch.Generator().manual_seed(seed),
            progress=False,
        )

    assert torch.equal(run(3), run(3))
    assert not torch.equal(run(3), run(4))


def test_callback_sees_every_reverse_step(tiny_model) -> None:
    known, keep = make_problem()
    diffusion = GaussianDiffusion.respaced(tiny_model.betas, 10)
    seen: list[dict] = []
    sample_repaint(
        tiny_model.denoiser(),
        torch.randn(known.shape),
        diffusion,
        keep=keep,
        known=known,
        jump_length=2,
        resamplings=2,
        callback=seen.append,
        progress=False,
    )
    assert [s["nfe"] for s in seen] == list(range(1, 10 + 4 * 2 + 1))  # jumps at 0, 2, 4, 6
    assert seen[-1]["t"] == 0 and seen[0]["t"] == 9
    assert seen[-1]["x0_hat"].shape == known.shape
    assert float(seen[-1]["x0_hat"].abs().max()) <= 1.0


def test_class_labels_reach_the_network() -> None:
    unet = make_tiny_unet(num_class_embeds=4)
    known, keep = make_problem()
    diffusion = GaussianDiffusion.respaced(linear_betas(100), 5)

    def run(labels: list[int]) -> torch.Tensor:
        return sample_repaint(
            _denoiser(unet),
            torch.zeros_like(known),
            diffusion,
            keep=keep,
            known=known,
            resamplings=1,
            extra_args={"class_labels": torch.tensor(labels)},
            generator=torch.Generator().manual_seed(0),
            progress=False,
        )

    assert not torch.equal(run([0, 0]), run([3, 3]))


def test_bad_condition_is_refused(tiny_model) -> None:
    known, keep = make_problem()
    diffusion = GaussianDiffusion.respaced(tiny_model.betas, 5)
    with pytest.raises(InpaintkitError, match="keep must have shape"):
        sample_repaint(tiny_model.denoiser(), known, diffusion, keep=keep[:1], known=known)
    with pytest.raises(InpaintkitError, match="only 0"):
        sample_repaint(tiny_model.denoiser(), known, diffusion, keep=keep * 0.5, known=known)


def _diffusers_repaint(unet, known, keep, betas, j, r, seed):
    scheduler = RePaintScheduler(
        num_train_timesteps=len(betas), trained_betas=betas, eta=1.0, clip_sample=False
    )
    pipe = RePaintPipeline(unet=unet, scheduler=scheduler)
    pipe.set_progress_bar_config(disable=True)
    out = pipe(
        image=known,
        mask_image=keep,
        num_inference_steps=len(betas),
        jump_length=j,
        jump_n_sample=r,
        eta=1.0,
        generator=torch.Generator().manual_seed(seed),
        output_type="np",
    )
    scheduler.set_timesteps(len(betas), j, r)
    return torch.from_numpy(out.images).permute(0, 3, 1, 2), scheduler.timesteps.tolist()


def test_matches_diffusers_without_jumps(tiny_unet) -> None:
    """With r = 1 both walk straight down. Made deterministic-comparable: diffusers' eta = 1 DDIM
    step is DDPM's fixed-small step; clipping off on both sides (DDIM keeps the unclipped eps in
    its direction term, so clipping would differ); share_noise reproduces diffusers' reuse of one
    noise tensor for the known and unknown parts; one stride (T = N) so that diffusers' undo draws
    one noise tensor per step. Same seed -> the same noise stream in both."""
    known, keep = make_problem()
    betas = linear_betas(40)
    theirs, _ = _diffusers_repaint(tiny_unet, known, keep, betas, j=5, r=1, seed=7)
    g = torch.Generator().manual_seed(7)
    x = torch.randn(known.shape, generator=g)
    ours = sample_repaint(
        _denoiser(tiny_unet),
        x,
        GaussianDiffusion(betas),
        keep=keep,
        known=known,
        resamplings=1,
        clip_denoised=False,
        share_noise=True,
        generator=g,
        progress=False,
    )
    ours = ((ours + 1) / 2).clamp(0, 1)
    assert (ours - theirs).abs().max() < 1e-4  # measured 4.9e-5: float32 vs float64 constants


def test_matches_diffusers_with_jumps_on_its_walk(tiny_unet) -> None:
    """diffusers reads its timestep list differently from the official code at the turning
    points: it takes one more reverse step before each jump (its jumps start one level lower)
    and none after it. Fed diffusers' walk of image levels ([L0] + [t - 1 for t in L]), our
    sampler reproduces it, undo steps included; with our own walk the counts agree but the
    levels differ, as expected."""
    known, keep = make_problem()
    betas = linear_betas(40)
    theirs, timesteps = _diffusers_repaint(tiny_unet, known, keep, betas, j=5, r=3, seed=11)
    walk = [timesteps[0]] + [t - 1 for t in timesteps]
    assert count_steps(walk) == count_steps(repaint_times(40, 5, 3)) == (40 + 14 * 5, 14 * 5)
    assert walk != repaint_times(40, 5, 3)
    g = torch.Generator().manual_seed(11)
    x = torch.randn(known.shape, generator=g)
    ours = sample_repaint(
        _denoiser(tiny_unet),
        x,
        GaussianDiffusion(betas),
        keep=keep,
        known=known,
        times=walk,
        clip_denoised=False,
        share_noise=True,
        generator=g,
        progress=False,
    )
    ours = ((ours + 1) / 2).clamp(0, 1)
    assert (ours - theirs).abs().max() < 1e-4  # measured 4.9e-5: float32 vs float64 constants


def test_ddim_eta_inside_repaint(tiny_model) -> None:
    known, keep = make_problem()
    diffusion = GaussianDiffusion.respaced(tiny_model.betas, 10)
    x = torch.randn(known.shape, generator=torch.Generator().manual_seed(0))

    def run(eta: float | None, seed: int, condition: bool = True) -> torch.Tensor:
        return sample_repaint(
            tiny_model.denoiser(), x, diffusion, keep=keep if condition else None,
            known=known if condition else None, resamplings=1, variance="fixed_small", eta=eta,
            generator=torch.Generator().manual_seed(seed), progress=False,
        )  # fmt: skip

    # eta = 0 without a condition is deterministic DDIM: the generator no longer matters
    assert torch.equal(run(0.0, 1, condition=False), run(0.0, 2, condition=False))
    assert not torch.equal(run(0.5, 1, condition=False), run(0.5, 2, condition=False))
    # eta = 1 is DDPM's fixed-small step: the same samples up to float error
    assert (run(1.0, 3) - run(None, 3)).abs().max() < 1e-4


def test_resampling_off_names_jump_length_and_steps():
    from inpaintkit.methods.diffusion.repaint import RePaintOptions

    why = RePaintOptions(steps=6, jump_length=6, resamplings=3).resampling_off()
    assert why is not None
    assert why.startswith("jump_length=6 is at or above steps=6: the walk has no jump point")
    assert "resamplings=3 would be off" in why
    # the walk really has no undo step then
    assert count_steps(repaint_times(6, 6, 3)) == (6, 0)
    assert RePaintOptions(steps=7, jump_length=6, resamplings=3).resampling_off() is None
    assert RePaintOptions(steps=6, jump_length=6, resamplings=1).resampling_off() is None
