"""Speed of our RePaint sampler against diffusers' RePaintPipeline and the bare network.

Same UNet, same schedule (T, j, r), same batch, repeats interleaved in rotating order in one
process after one warm-up each; reports medians and the two ratios the foundation issue asks for:
  ours / diffusers            (target <= 1.0)
  ours per NFE / bare forward (target within 5%)

    .venv/bin/python bench/speed_repaint.py --steps 100 --jump-length 10 --resamplings 5 \
        --batch 4 --repeats 6
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics

import torch
from diffusers import RePaintPipeline, RePaintScheduler

from inpaintkit.bench.speed import eps_only, load_speed_model, time_call
from inpaintkit.diffusion.denoiser import Denoiser
from inpaintkit.diffusion.process import GaussianDiffusion
from inpaintkit.diffusion.samplers import sample_repaint
from inpaintkit.diffusion.schedules import count_steps, repaint_times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default", help='load_model spec or "preset:NAME"')
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--jump-length", type=int, default=10)
    parser.add_argument("--resamplings", type=int, default=5)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    model = eps_only(load_speed_model(args.model))
    unet, size = model.unet, model.image_size
    times = repaint_times(args.steps, args.jump_length, args.resamplings)
    nfe, undo = count_steps(times)
    g = torch.Generator().manual_seed(0)
    known = torch.rand(args.batch, 3, size, size, generator=g) * 2 - 1
    keep = torch.ones(args.batch, 1, size, size)
    keep[..., size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = 0
    diffusion = GaussianDiffusion.respaced(model.betas, args.steps, "leading")
    denoiser = model.denoiser()
    scheduler = RePaintScheduler(num_train_timesteps=model.config.num_train_timesteps)
    pipe = RePaintPipeline(unet=unet, scheduler=scheduler)
    pipe.set_progress_bar_config(disable=True)

    def ours() -> None:
        x = torch.randn(known.shape, generator=torch.Generator().manual_seed(1))
        sample_repaint(
            denoiser,
            x,
            diffusion,
            keep=keep,
            known=known,
            times=times,
            generator=torch.Generator().manual_seed(2),
            progress=False,
        )

    def theirs() -> None:
        pipe(
            image=known,
            mask_image=keep,
            num_inference_steps=args.steps,
            jump_length=args.jump_length,
            jump_n_sample=args.resamplings,
            eta=1.0,
            generator=torch.Generator().manual_seed(2),
            output_type="np",
        )

    t_train = torch.zeros(args.batch, dtype=torch.long)

    @torch.no_grad()
    def bare() -> None:
        for t in range(nfe):
            unet(known, t_train + t % 1000)

    runs: dict[str, list[float]] = {"ours": [], "diffusers": [], "bare_forward": []}
    for fn in (ours, theirs, bare):  # warm-up: allocator, first-call overheads, CPU clocks
        fn()
    order = [("ours", ours), ("diffusers", theirs), ("bare_forward", bare)]
    for repeat in range(args.repeats):  # rotate the order so drift favours no one
        for name, fn in order[repeat % 3 :] + order[: repeat % 3]:
            runs[name].append(time_call(fn))
    med = {k: statistics.median(v) for k, v in runs.items()}
    overhead = _sampler_overhead(diffusion, times, scheduler, args, known, keep)
    result = {
        "model": model.source,
        "parameters_m": round(model.num_parameters() / 1e6, 2),
        "image_size": size,
        "batch": args.batch,
        "schedule": {"steps": args.steps, "j": args.jump_length, "r": args.resamplings},
        "nfe": nfe,
        "undo_steps": undo,
        "seconds_median": {k: round(v, 3) for k, v in med.items()},
        "seconds_all": {k: [round(x, 3) for x in v] for k, v in runs.items()},
        "ratio_ours_over_diffusers": round(med["ours"] / med["diffusers"], 3),
        "ratio_ours_per_nfe_over_bare_forward": round(med["ours"] / med["bare_forward"], 3),
        "ms_per_nfe": {k: round(1000 * v / nfe, 2) for k, v in med.items()},
        "sampler_overhead_ms_per_nfe": {k: round(1000 * v / nfe, 3) for k, v in overhead.items()},
        "torch": torch.__version__,
        "threads": args.threads,
        "machine": platform.machine(),
    }
    print(json.dumps(result, indent=2))


def _sampler_overhead(diffusion, times, scheduler, args, known, keep) -> dict[str, float]:  # noqa: ANN001
    """Seconds per run of each sampler's own work: the same loops with a zero-cost network
    (diffusers' pipeline loop is its scheduler's step/undo_step; the network call is the rest)."""
    zero = Denoiser(lambda x, t, **cond: torch.zeros_like(x))
    x = torch.randn(known.shape, generator=torch.Generator().manual_seed(1))

    def ours() -> None:
        sample_repaint(zero, x, diffusion, keep=keep, known=known, times=times, progress=False)

    def theirs() -> None:
        scheduler.set_timesteps(args.steps, args.jump_length, args.resamplings)
        g, image, t_last = torch.Generator().manual_seed(2), x, scheduler.timesteps[0] + 1
        for t in scheduler.timesteps:
            if t < t_last:
                image = scheduler.step(torch.zeros_like(image), t, image, known, keep, g)
                image = image.prev_sample
            else:
                image = scheduler.undo_step(image, t_last, g)
            t_last = t

    return {
        name: min(time_call(fn) for _ in range(3))
        for name, fn in (("ours", ours), ("diffusers", theirs))
    }


if __name__ == "__main__":
    main()
