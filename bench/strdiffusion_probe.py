"""Where does a StrDiffusion model's error come from: the sampler or the networks?

1. The sampler driven by the exact noise (the true x_t's noise about the marginal mean of the
   true image, for the structure and the texture): its hole PSNR shows what the walk itself
   loses (nothing, if the walk is right).
2. The texture network's one-step error by t, on the same held-out images and holes as the
   bench (``inpaintkit bench --seed 0``), guided by the true structure state as in training:
   the hole L1 between the reverse-step mean it implies and the optimal x_{t-1}, beside the same
   for a network that predicts zero noise, and its eps-MSE in the hole.

    OMP_NUM_THREADS=1 .venv/bin/python bench/strdiffusion_probe.py --model strdiffusion32 \
        --mask narrow --n 8
"""

from __future__ import annotations

import argparse

import torch

from inpaintkit.bench.data import load_bench_images
from inpaintkit.bench.plan import bench_hole
from inpaintkit.diffusion.samplers.strdiffusion import StrNets, StrWalk, sample_strdiffusion
from inpaintkit.io.edges import gray, known_edges
from inpaintkit.methods import build_method

TIMES = (1, 2, 5, 10, 20, 40, 60, 80, 100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="strdiffusion32", help="a StrDiffusion bundle")
    parser.add_argument("--data", default="emoji-test")
    parser.add_argument("--mask", default="narrow", help="a bench mask kind")
    parser.add_argument("--n", type=int, default=8, help="images")
    args = parser.parse_args()
    torch.set_num_threads(1)
    images = load_bench_images(args.data, 32, args.n).images
    x0 = torch.from_numpy(images.copy()).permute(0, 3, 1, 2).float() / 255
    holes = [torch.from_numpy(bench_hole(args.mask, 32, 0, i)) for i in range(args.n)]
    hole = torch.stack(holes)[:, None].float()
    keep = 1 - hole
    method = build_method("strdiffusion", model=args.model, progress=False)
    process = method.process
    s0 = gray(x0)
    edges = known_edges(s0, keep, method.sigma)
    mu_x, mu_s = x0 * keep, edges * keep
    print(f"{args.n} images of {args.data}, mask {args.mask}: hole {float(hole.mean()):.3f}")

    def exact(truth: torch.Tensor, means: torch.Tensor):
        def eps(x, mu, t, *guide):  # rows are told apart by their mu
            rows = [int((means - m).flatten(1).abs().sum(1).argmin()) for m in mu]
            return (x - process.mean(truth[rows], mu, t)) / process.std(t, x)

        return eps

    generators = [torch.Generator().manual_seed(i) for i in range(args.n)]
    out, _ = sample_strdiffusion(
        StrNets(exact(s0, mu_s), exact(x0, mu_x)), process, known=x0, keep=keep, structure=s0,
        edges=edges, walk=StrWalk(resampling="none"), generator=generators, progress=False,
    )  # fmt: skip
    mse = ((out - x0) ** 2 * hole).sum((1, 2, 3)) / (hole.sum((1, 2, 3)) * 3)
    print(f"the walk under the exact noise: hole PSNR {float((-10 * mse.log10()).mean()):.2f} dB")

    texture = method.model.networks()["texture"]
    draws = torch.Generator().manual_seed(0)
    print("t    net L1   eps=0 L1  eps-MSE (hole)")
    with torch.no_grad():
        for t in TIMES:
            tt = torch.full((args.n,), t)
            s_t = process.q_sample(s0, mu_s, tt, torch.randn(s0.shape, generator=draws))
            s_prev = process.optimal_prev(s_t, s0, mu_s, tt)
            noise = torch.randn(x0.shape, generator=draws)
            x_t = process.q_sample(x0, mu_x, tt, noise)
            target = process.optimal_prev(x_t, x0, mu_x, tt)
            eps = texture(x_t, mu_x, tt, s_prev)
            net = process.reverse_mean(x_t, mu_x, eps, tt)
            zero = process.reverse_mean(x_t, mu_x, torch.zeros_like(eps), tt)
            area = float(hole.sum()) * 3
            l1 = [float(((a - target).abs() * hole).sum()) / area for a in (net, zero)]
            eps_mse = float(((eps - noise) ** 2 * hole).sum()) / area
            print(f"{t:<4d} {l1[0]:.5f}  {l1[1]:.5f}   {eps_mse:.4f}")


if __name__ == "__main__":
    main()
