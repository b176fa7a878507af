"""The hybrid training loss equals guided-diffusion's (RESCALED_MSE, learned range)."""

from __future__ import annotations

import torch
from guided_diffusion import gaussian_diffusion as gd

from inpaintkit.diffusion.process import GaussianDiffusion
from inpaintkit.diffusion.schedules import cosine_betas
from inpaintkit.train.losses import hybrid_loss


def test_hybrid_loss_matches_guided_diffusion_and_freezes_the_mean() -> None:
    betas = cosine_betas(1000)
    theirs = gd.GaussianDiffusion(
        betas=betas,
        model_mean_type=gd.ModelMeanType.EPSILON,
        model_var_type=gd.ModelVarType.LEARNED_RANGE,
        loss_type=gd.LossType.RESCALED_MSE,
    )
    g = torch.Generator().manual_seed(0)
    x0 = torch.randint(0, 256, (6, 3, 8, 8), generator=g).float() / 127.5 - 1
    noise = torch.randn(x0.shape, generator=g)
    t = torch.tensor([0, 1, 10, 300, 700, 999])
    out = torch.cat(
        [torch.randn(x0.shape, generator=g), torch.rand(x0.shape, generator=g) * 2 - 1], 1
    )
    reference = theirs.training_losses(lambda x, t_: out, x0, t, noise=noise)["loss"].mean()
    ours_diffusion = GaussianDiffusion(betas)
    x_t = ours_diffusion.q_sample(x0, t, noise)
    output = out.clone().requires_grad_(True)
    loss = hybrid_loss(ours_diffusion)(output, noise, x0, x_t, t)
    torch.testing.assert_close(loss, reference, rtol=1e-5, atol=1e-6)
    loss.backward()
    # the eps channels get exactly the gradient of the MSE term: the bound is stop-gradient there
    mse_grad = 2 * (out[:, :3] - noise) / noise[0].numel() / len(t)
    torch.testing.assert_close(output.grad[:, :3], mse_grad, rtol=1e-4, atol=1e-7)
    assert output.grad[:, 3:].abs().sum() > 0
