"""Does a conditional inpainting model use its condition? Its eps-MSE over known and hole pixels
with the condition (hole, masked image) against the condition blanked (all hole, no known
pixel), beside the unconditional prior's, at a few timesteps. A model that uses the condition
drives the known-pixel error toward 0: there eps = (x_t - sqrt(abar) x_0) / sqrt(1 - abar) is
computable from the input. Also prints the mean |weight| of conv_in's image and condition
channels.

    .venv/bin/python bench/conditioning_check.py --model inpaint32 --prior emoji32-v2 \
        [--data emoji-tune:google] [--n 32] [--mask narrow] [--t 100,500,900]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from inpaintkit.bench.data import load_bench_images
from inpaintkit.bench.plan import bench_hole
from inpaintkit.models import load_model


def masked_mse(output: torch.Tensor, target: torch.Tensor, where: torch.Tensor) -> float:
    """Mean squared error over the pixels where ``where`` [B,1,H,W] is 1."""
    return float(((output - target) ** 2 * where).sum() / where.expand_as(output).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="a conditional-diffusion model")
    parser.add_argument("--prior", default="default", help="the unconditional prior to compare")
    parser.add_argument("--data", default="emoji-tune:google")
    parser.add_argument("--n", type=int, default=32)
    parser.add_argument("--mask", default="narrow")
    parser.add_argument("--t", default="100,500,900")
    args = parser.parse_args()
    torch.set_num_threads(1)

    model, prior = load_model(args.model), load_model(args.prior)
    images = load_bench_images(args.data, model.image_size, args.n).images
    x0 = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1
    holes = [bench_hole(args.mask, model.image_size, 0, i) for i in range(len(images))]
    hole = torch.from_numpy(np.stack(holes)).float()[:, None]
    weight = model.unet.conv_in.weight.float().abs()
    print(f"conv_in mean |w|: image channels {weight[:, :3].mean():.4f}, "
          f"condition channels {weight[:, 3:].mean():.4f}")  # fmt: skip
    alpha_bar = torch.cumprod(1 - torch.as_tensor(model.betas, dtype=torch.float64), 0)
    generator = torch.Generator().manual_seed(0)
    print("| t | input | known-pixel eps-MSE | hole eps-MSE |\n| --- | --- | --- | --- |")
    for step in map(int, args.t.split(",")):
        a = alpha_bar[step].float()
        eps = torch.randn(x0.shape, generator=generator)
        x_t = a.sqrt() * x0 + (1 - a).sqrt() * eps
        t = torch.full((len(x0),), step)
        inputs = {
            "condition": torch.cat([x_t, hole, x0 * (1 - hole)], 1),
            "blanked": torch.cat([x_t, torch.ones_like(hole), torch.zeros_like(x0)], 1),
        }
        with torch.no_grad():
            outputs = {name: model.unet(x, t).sample[:, :3] for name, x in inputs.items()}
            outputs["prior"] = prior.unet(x_t, t).sample[:, :3]
        for name, out in outputs.items():
            known_mse, hole_mse = masked_mse(out, eps, 1 - hole), masked_mse(out, eps, hole)
            print(f"| {step} | {name} | {known_mse:.4f} | {hole_mse:.4f} |")


if __name__ == "__main__":
    main()
