"""Seconds per image: RePaint's paper setting against the fast samplers and diffusers, one run.

Contenders, all on the same network and the same batch of images with a centre hole:
  diffusers-paper   diffusers' RePaintPipeline, T=250, j=10, r=10 (2410 NFE), eta=1
  repaint-paper     our `repaint` method, paper setting (2410 NFE)
  repaint-fast      our `repaint-fast` method, its defaults (230 NFE)
  ddnm              our `ddnm` method, its defaults (230 NFE)
  ddnm-bf16         `ddnm` with precision=bf16, channels_last=true
Ours run in fp32 with contiguous tensors except ddnm-bf16 (pinned: the CPU default is bf16 +
channels_last where bf16 is native, so ddnm-bf16 is what such a CPU runs by default).
diffusers cannot use learned variance, so it runs the network's eps channels only (the same
convolutions); ours run the model as users do. Each contender runs once after a short warm-up
(the paper setting is minutes per batch; its 10x gap to the fast samplers dwarfs run-to-run
noise); the order is fixed, fast ones between the two slow ones.

    .venv/bin/python bench/speed_fast.py --model default --batch 4 --threads 1 \
        --json docs/speed/fast-cpu.json
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch
from diffusers import RePaintPipeline, RePaintScheduler

from inpaintkit.bench.speed import eps_only, load_speed_model
from inpaintkit.methods import get_method


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default", help='load_model spec or "preset:NAME"')
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    model = load_speed_model(args.model)
    size = model.image_size
    g = torch.Generator().manual_seed(0)
    known = torch.rand(args.batch, 3, size, size, generator=g) * 2 - 1
    keep = torch.ones(args.batch, 1, size, size)
    keep[..., size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = 0

    eps_model = eps_only(model)
    pipe = RePaintPipeline(
        unet=eps_model.unet,
        scheduler=RePaintScheduler(num_train_timesteps=model.config.num_train_timesteps),
    )
    pipe.set_progress_bar_config(disable=True)

    def diffusers_run(steps: int = 250, j: int = 10, r: int = 10) -> None:
        pipe(
            image=known,
            mask_image=keep,
            num_inference_steps=steps,
            jump_length=j,
            jump_n_sample=r,
            eta=1.0,
            generator=torch.Generator().manual_seed(2),
            output_type="np",
        )

    def method(name: str, **options: object) -> tuple:
        cls = get_method(name)
        knobs = {"precision": "fp32", "channels_last": False, **options}
        inpainter = cls(cls.Options(**knobs), model=model, progress=False)

        def run() -> None:
            generators = [torch.Generator().manual_seed(3 + k) for k in range(args.batch)]
            inpainter(known, keep, generators=generators)

        return run, inpainter.cost(inpainter.options)["network_evaluations"]

    contenders = {
        "diffusers-paper": (diffusers_run, 2410),
        "repaint-fast": method("repaint-fast"),
        "ddnm": method("ddnm"),
        "ddnm-bf16": method("ddnm", precision="bf16", channels_last=True),
        "repaint-paper": method("repaint"),
    }
    # warm-up (allocator, first calls, oneDNN's bf16 kernels); the fp32 network is shared
    diffusers_run(steps=10, j=1, r=1)
    contenders["ddnm-bf16"][0]()
    seconds = {}
    for name, (run, _) in contenders.items():
        started = time.perf_counter()
        run()
        seconds[name] = time.perf_counter() - started
        print(f"{name}: {seconds[name]:.1f} s", flush=True)
    per_image = {k: v / args.batch for k, v in seconds.items()}
    result = {
        "model": model.source,
        "parameters_m": round(model.num_parameters() / 1e6, 2),
        "image_size": size,
        "batch": args.batch,
        "nfe": {k: nfe for k, (_, nfe) in contenders.items()},
        "seconds_per_image": {k: round(v, 2) for k, v in per_image.items()},
        "ms_per_image_nfe": {
            k: round(1000 * per_image[k] / contenders[k][1], 2) for k in contenders
        },
        "speedup_over_diffusers_paper": {
            k: round(per_image["diffusers-paper"] / v, 2) for k, v in per_image.items()
        },
        "torch": torch.__version__,
        "threads": args.threads,
        "machine": platform.machine(),
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
