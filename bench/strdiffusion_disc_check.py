"""StrDiffusion's discriminator trained alone (the objective's own loss, Adam with betas (0.5,
0.99)) on `emoji:google:fit` at 32 px with the training recipe's holes: prints the GAN and
triplet terms' means over every 100 steps, to see whether it leaves chance (docs/strdiffusion.md,
"The discriminator learns slowly"):

    OMP_NUM_THREADS=1 .venv/bin/python bench/strdiffusion_disc_check.py --d-lr 1e-4 --steps 1100
"""

from __future__ import annotations

import argparse
import time

import torch
from torch.utils.data import DataLoader

from inpaintkit.data.specs import make_dataset
from inpaintkit.train.config import TrainConfig
from inpaintkit.train.objectives import make_objective

HOLES = "lama-mixed:3+half+expand+sr2x+altlines"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--d-lr", type=float, default=1e-4)
    parser.add_argument("--steps", type=int, default=1100)
    parser.add_argument("--triplet-weight", type=float, default=1.0)
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    options = {"holes": HOLES, "triplet_weight": str(args.triplet_weight)}
    objective = make_objective(TrainConfig(preset="strdiffusion32", objective="strdiffusion",
                                           objective_options=options))  # fmt: skip
    disc = objective.build_networks()["discriminator"].module
    optimizer = torch.optim.Adam(disc.parameters(), lr=args.d_lr, betas=(0.5, 0.99))
    data = objective.wrap_data(make_dataset("emoji:google:fit", 32), 0)
    loader = DataLoader(data, batch_size=args.batch_size, shuffle=True, drop_last=True)
    draws, history, started = torch.Generator().manual_seed(0), [], time.time()
    while len(history) < args.steps:
        for batch in loader:
            t, noise_s, noise_x = objective.draw(batch, draws)
            terms = objective.losses({"discriminator": disc}, batch, t, noise_s, noise_x)
            optimizer.zero_grad()
            objective.discriminator_loss(terms).backward()
            optimizer.step()
            history.append((terms["d_gan"].item(), terms["d_triplet"].item()))
            if len(history) % 100 == 0:
                gan, triplet = (sum(v) / 100 for v in zip(*history[-100:], strict=True))
                print(f"step {len(history)}: gan {gan:.4f} triplet {triplet:.4f} "
                      f"({time.time() - started:.0f} s)", flush=True)  # fmt: skip
            if len(history) >= args.steps:
                break


if __name__ == "__main__":
    main()
