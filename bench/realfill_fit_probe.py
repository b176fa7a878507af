"""Does RealFill's fit learn what it is shown? Fit one TUNE-split emoji scene on its own truth
(the "oracle" reference, a leak by design), then compare the base and the adapted network's
eps-MSE inside the target's hole, on that truth, at a few timesteps (16 noise draws each).

    .venv/bin/python bench/realfill_fit_probe.py -o fit_steps=300 -o fit_scale=1.125
    .venv/bin/python bench/realfill_fit_probe.py -o fit_steps=300 -o fit_scale=1.0
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from PIL import Image

from inpaintkit.bench.realbench_scenes import emoji_scenes
from inpaintkit.methods import build_method
from inpaintkit.methods.realfill.fit import ConditionalLoss
from inpaintkit.options import split_key_values


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scene", type=int, default=0, help="index among the tune scenes")
    parser.add_argument("-o", "--option", action="append", default=[], help="realfill KEY=VALUE")
    args = parser.parse_args()
    scene = emoji_scenes(args.scene + 1, 32, split="tune", references="oracle")[args.scene]
    method = build_method("realfill", model="inpaint32", options=split_key_values(args.option),
                          progress=False)  # fmt: skip
    given = Image.fromarray(np.where(scene.hole[..., None], 127, scene.target).astype(np.uint8))
    stats = method.fit([Image.fromarray(scene.target)], seed=0, targets=[(given, scene.hole)])
    print(scene.name, {k: round(v, 4) for k, v in stats.items()})
    backend = method.backend
    x0 = torch.from_numpy(scene.target.copy()).permute(2, 0, 1)[None].float() / 127.5 - 1
    hole = torch.from_numpy(scene.hole)[None, None].float()
    schedule = ConditionalLoss(backend.base.betas)  # the fit's own sqrt(abar_t) tables
    generator = torch.Generator().manual_seed(0)
    for t in (50, 200, 500, 800):
        noise = torch.randn(16, 3, 32, 32, generator=generator)
        x_t = schedule.sqrt_abar[t] * x0 + schedule.sqrt_one_minus[t] * noise
        inputs = torch.cat(
            [x_t, hole.expand(16, -1, -1, -1), (x0 * (1 - hole)).expand(16, -1, -1, -1)], 1
        )
        errors = {}
        for name, model in (("base", backend.base), ("adapted", backend.adapted)):
            with torch.no_grad():
                eps = model.unet(inputs, torch.full((16,), t)).sample[:, :3]
            errors[name] = round(float(((eps - noise) ** 2 * hole).sum() / (hole.sum() * 48)), 4)
        print(f"t={t}", errors)


if __name__ == "__main__":
    main()
