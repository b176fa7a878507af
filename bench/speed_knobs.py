"""Speed and quality of the runtime knobs (precision, channels_last, compile), side by side.

Speed: the network's forward time per image at one batch size for each knob combination (the
denoiser that the methods use, so autocast and the float32 cast of the output are included),
timed in rounds whose order rotates, after one warm-up call each (the compile variants compile
there; that first call is reported apart); medians over rounds.

Quality: the ``repaint-fast`` method on N held-out images x the mask settings, with the holes and
sampling seeds of ``inpaintkit bench`` (same seed, same noise), run once in fp32 and once under
each other combination; per image the hole PSNR difference (knob minus fp32; mean and 95%
Student-t interval over images x masks) and the largest absolute pixel difference between the
two results (0-255). A knob is quality-neutral here when that interval includes 0 and the mean
is small; the pixel differences say how far single images move.

    .venv/bin/python bench/speed_knobs.py --model /tmp/e32-2000.safetensors --threads 1 \
        --json docs/speed/knobs-cpu.json
    .venv/bin/python bench/speed_knobs.py --model preset:emoji32 --variants fp32,bf16 --n 4
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from datetime import datetime, timezone

import numpy as np
import torch

from inpaintkit.api import build_method
from inpaintkit.bench.data import load_bench_images
from inpaintkit.bench.execute import inpaint_batch
from inpaintkit.bench.plan import bench_hole, item_seed
from inpaintkit.bench.speed import cpu_flags, load_speed_model, set_compile_threads
from inpaintkit.metrics import image_metrics, mean_ci
from inpaintkit.models import DiffusionModel

KNOBS = ("precision", "channels_last", "compile")
VARIANTS: dict[str, tuple[str, bool, bool]] = {
    "fp32": ("fp32", False, False),
    "bf16": ("bf16", False, False),
    "channels_last": ("fp32", True, False),
    "channels_last+bf16": ("bf16", True, False),
    "compile": ("fp32", False, True),
    "compile+bf16": ("bf16", False, True),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default", help='load_model spec or "preset:NAME"')
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated")
    parser.add_argument("--batch", type=int, default=16, help="forward and sampling batch")
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds (speed)")
    parser.add_argument("--calls", type=int, default=4, help="forward calls per timed block")
    parser.add_argument("--n", type=int, default=16, help="held-out images (quality)")
    parser.add_argument("--masks", default="wide,half")
    parser.add_argument("--data", default="emoji-test-64", help="a bench data spec or folder")
    parser.add_argument("--steps", type=int, default=25, help="repaint-fast steps (its own: 30)")
    parser.add_argument("--jump-length", type=int, default=5)
    parser.add_argument("--resamplings", type=int, default=5)
    parser.add_argument(
        "--spacing", default="even", help="timestep spacing (the committed results: even)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-quality", action="store_true", help="speed only")
    parser.add_argument("--json", default=None, help="write the result here too")
    args = parser.parse_args()
    names = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = sorted(set(names) - set(VARIANTS))
    if unknown or "fp32" not in names:
        parser.error(f"--variants: fp32 plus any of {list(VARIANTS)}; unknown: {unknown}")
    names = ["fp32"] + [n for n in names if n != "fp32"]
    torch.set_num_threads(args.threads)
    set_compile_threads(args.threads)
    load_before = os.getloadavg()

    model = load_speed_model(args.model)
    with torch.no_grad():  # as the samplers run (grad mode is part of a compiled graph's guards)
        speed = measure_speed(model, names, args)
        print(json.dumps({"speed": speed}, indent=2), flush=True)
        quality = None if args.no_quality else measure_quality(model, names, args)
    result = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "model": model.source,
        "parameters_m": round(model.num_parameters() / 1e6, 2),
        "learned_variance": model.config.learned_variance,
        "image_size": model.image_size,
        "batch": args.batch,
        "variants": {
            n: dict(zip(("precision", "channels_last", "compile"), VARIANTS[n])) for n in names
        },
        "speed": speed,
        "quality": quality,
        "torch": torch.__version__,
        "threads": args.threads,
        "machine": platform.machine(),
        "cpu_flags": cpu_flags(),
        "loadavg_before_after": [round(x, 2) for x in (*load_before[:1], os.getloadavg()[0])],
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")
    print(_summary(result))


def measure_speed(model: DiffusionModel, names: list[str], args: argparse.Namespace) -> dict:
    """Forward ms per image of each variant (median over rounds, rotating order)."""
    size, batch = model.image_size, args.batch
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, model.channels, size, size, generator=g)
    ts = [torch.randint(0, len(model.betas), (batch,), generator=g) for _ in range(args.calls)]
    denoisers = {n: model.denoiser(*VARIANTS[n]) for n in names}
    first_call, eps_diff = {}, {}
    reference = None
    for n in names:  # warm-up (and compilation) per variant
        started = time.perf_counter()
        eps, _ = denoisers[n](x, ts[0])
        first_call[n] = time.perf_counter() - started
        reference = eps if n == "fp32" else reference
        eps_diff[n] = float((eps - reference).abs().max())

    def block(n: str) -> float:
        started = time.perf_counter()
        for t in ts:
            denoisers[n](x, t)
        return (time.perf_counter() - started) / (len(ts) * batch)

    runs: dict[str, list[float]] = {n: [] for n in names}
    for r in range(args.rounds):
        for n in names[r % len(names) :] + names[: r % len(names)]:
            runs[n].append(block(n))
    med = {n: statistics.median(v) for n, v in runs.items()}
    return {
        n: {
            "ms_per_image": round(1000 * med[n], 2),
            "speedup_vs_fp32": round(med["fp32"] / med[n], 3),
            "ms_per_image_all": [round(1000 * v, 2) for v in runs[n]],
            "first_call_s": round(first_call[n], 2),
            "eps_max_abs_diff_vs_fp32": round(eps_diff[n], 5),
        }
        for n in names
    }


def measure_quality(model: DiffusionModel, names: list[str], args: argparse.Namespace) -> dict:
    """repaint-fast under each variant against fp32 on the same images, holes and seeds."""
    data = load_bench_images(args.data, model.image_size, args.n)
    masks = [m.strip() for m in args.masks.split(",") if m.strip()]
    walk = {
        "steps": args.steps,
        "jump_length": args.jump_length,
        "resamplings": args.resamplings,
        "spacing": args.spacing,
    }
    outputs: dict[str, dict[str, np.ndarray]] = {}
    seconds: dict[str, float] = {}
    nfe = 0
    for n in names:
        precision, channels_last, compile = VARIANTS[n]
        method = build_method(
            "repaint-fast", model=model, progress=False, precision=precision,
            channels_last=channels_last, compile=compile, **walk,
        )  # fmt: skip
        nfe = method.cost(method.options)["network_evaluations"]
        started = time.perf_counter()
        outputs[n] = {}
        for mask in masks:
            chunks = []
            for lo in range(0, len(data.images), args.batch):
                idx = range(lo, min(lo + args.batch, len(data.images)))
                holes = np.stack([bench_hole(mask, model.image_size, args.seed, i) for i in idx])
                seeds = tuple(item_seed(args.seed, mask, i) for i in idx)
                chunks.append(inpaint_batch(method, data.images[lo : idx[-1] + 1], holes, seeds))
            outputs[n][mask] = np.concatenate(chunks)
        seconds[n] = time.perf_counter() - started
        print(f"quality {n}: {seconds[n]:.1f} s", flush=True)

    holes = {
        m: np.stack(
            [bench_hole(m, model.image_size, args.seed, i) for i in range(len(data.images))]
        )
        for m in masks
    }
    psnr = {
        n: {
            m: np.array(
                [
                    image_metrics(outputs[n][m][i], data.images[i], holes[m][i])["psnr_hole"]
                    for i in range(len(data.images))
                ]
            )
            for m in masks
        }
        for n in names
    }
    result = {
        "method": "repaint-fast",
        "walk": walk,
        "network_evaluations": nfe,
        "images": len(data.images),
        "data": args.data,
        "masks": masks,
        "seed": args.seed,
        "fp32_psnr_hole_mean": round(float(np.mean([psnr["fp32"][m] for m in masks])), 3),
        "variants": {},
    }
    for n in names[1:]:
        diffs = np.concatenate([psnr[n][m] - psnr["fp32"][m] for m in masks])
        pixel = np.concatenate(
            [np.abs(outputs[n][m].astype(int) - outputs["fp32"][m].astype(int)) for m in masks]
        )
        per_image_max = pixel.reshape(len(pixel), -1).max(axis=1)
        result["variants"][n] = {
            "paired_psnr_hole_diff": _ci(diffs),
            "paired_psnr_hole_diff_by_mask": {m: _ci(psnr[n][m] - psnr["fp32"][m]) for m in masks},
            "max_abs_pixel_diff": int(pixel.max()),
            "median_per_image_max_abs_pixel_diff": float(np.median(per_image_max)),
            "mean_abs_pixel_diff": round(float(pixel.mean()), 4),
            "identical_images": int((per_image_max == 0).sum()),
            "seconds": round(seconds[n], 1),
        }
    result["fp32_seconds"] = round(seconds["fp32"], 1)
    return result


def _ci(values: np.ndarray) -> dict[str, float]:
    mean, lo, hi = mean_ci(values)
    return {"mean": round(mean, 4), "low": round(lo, 4), "high": round(hi, 4), "n": len(values)}


def _summary(result: dict) -> str:
    lines = [
        "",
        "| variant | ms / image | speedup | paired hole PSNR diff (dB, 95% CI) | max px diff |",
    ]
    lines.append("| --- | --- | --- | --- | --- |")
    quality = (result["quality"] or {}).get("variants", {})
    for n, s in result["speed"].items():
        q = quality.get(n)
        ci = q and q["paired_psnr_hole_diff"]
        cell = f"{ci['mean']:+.3f} [{ci['low']:+.3f}, {ci['high']:+.3f}]" if ci else "-"
        px = q["max_abs_pixel_diff"] if q else "-"
        lines.append(f"| {n} | {s['ms_per_image']} | {s['speedup_vs_fp32']} | {cell} | {px} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
