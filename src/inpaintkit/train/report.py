"""What a model card says about a training run: time spent, loss, and the loss curve.

Reads the run's ``log.csv`` (one row per log window: step, loss, lr, images_per_s, elapsed_s).
``elapsed_s`` adds up the time of each optimizer step, so a run that was paused (SIGSTOP) or
starved of CPU mid-step counts that time too; :func:`training_time` separates the two.
"""

from __future__ import annotations

import csv
import statistics
from pathlib import Path

import torch

from ..diffusion.process import GaussianDiffusion
from ..diffusion.vlb import vlb_bits
from ..errors import InpaintkitError
from ..models import DiffusionModel


def read_log(run_dir: str | Path) -> list[dict[str, float]]:
    """The rows of ``run_dir/log.csv`` as floats, in step order (later rows of a resumed run
    replace earlier rows of the same step)."""
    path = Path(run_dir) / "log.csv"
    if not path.is_file():
        raise InpaintkitError(f"{path} does not exist: not a training run folder")
    with path.open(newline="") as handle:
        rows = {
            int(row["step"]): {k: float(v) for k, v in row.items()}
            for row in csv.DictReader(handle)
        }
    return [rows[step] for step in sorted(rows)]


def training_time(rows: list[dict[str, float]], batch_size: int, stalled: float = 0.25) -> dict:
    """Split the summed step time into training and stalls.

    A log window whose throughput is below ``stalled`` x the median throughput was paused or
    starved; its time beyond what the median throughput needs for its steps counts as stalled.
    Returns {"steps", "elapsed_s", "stalled_s", "training_s", "median_images_per_s"}.
    """
    if not rows:
        raise InpaintkitError("the training log is empty")
    median = statistics.median(row["images_per_s"] for row in rows)
    stalled_s, previous_step, previous_elapsed = 0.0, 0.0, 0.0
    for row in rows:
        window = row["elapsed_s"] - previous_elapsed
        if row["images_per_s"] < stalled * median:
            stalled_s += window - (row["step"] - previous_step) * batch_size / median
        previous_step, previous_elapsed = row["step"], row["elapsed_s"]
    elapsed = rows[-1]["elapsed_s"]
    return {
        "steps": int(rows[-1]["step"]),
        "elapsed_s": elapsed,
        "stalled_s": stalled_s,
        "training_s": elapsed - stalled_s,
        "median_images_per_s": median,
    }


def plot_loss(rows: list[dict[str, float]], path: str | Path, title: str = "") -> Path:
    """Training loss per log window against step (log scale), saved as a PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 3.2), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    axes.plot([r["step"] for r in rows], [r["loss"] for r in rows], linewidth=1)
    axes.set_yscale("log")
    axes.set_xlabel("optimizer step")
    axes.set_ylabel("training loss (window mean)")
    axes.grid(True, which="both", alpha=0.3)
    if title:
        axes.set_title(title)
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    return path


@torch.no_grad()
def heldout_loss(
    model: DiffusionModel, images: torch.Tensor, *, draws: int = 4, seed: int = 123, batch: int = 64
) -> dict[str, float]:
    """The training objective of ``model`` on ``images`` (float [N,C,H,W] in [-1,1]), each image
    noised ``draws`` times at uniform random t (one seeded CPU generator): {"eps_mse", and for
    learned-variance models "vlb_bits_per_dim" (T * L_t: an unbiased estimate of L_0 + ... +
    L_{T-1}, the variational bound without its prior term, in bits per dimension; Improved DDPM
    eq. 4-6)}. Comparing it on held-out and
    training images shows whether the model overfits."""
    generator = torch.Generator().manual_seed(seed)
    diffusion = GaussianDiffusion(model.betas)
    denoiser = model.denoiser()
    mse, vb = [], []
    for _ in range(draws):
        for start in range(0, len(images), batch):
            x0 = images[start : start + batch].float()
            t = torch.randint(0, diffusion.num_steps, (len(x0),), generator=generator)
            noise = torch.randn(x0.shape, generator=generator)
            x_t = diffusion.q_sample(x0, t, noise)
            eps, var_values = denoiser(x_t.to(model.device), t.to(model.device))
            eps = eps.float().cpu()
            mse.append((eps - noise).pow(2).flatten(1).mean(1))
            if var_values is not None:
                bits = vlb_bits(diffusion, x0, x_t, t, eps, var_values.float().cpu())
                vb.append(bits * diffusion.num_steps)
    result = {"eps_mse": torch.cat(mse).mean().item()}
    if vb:
        result["vlb_bits_per_dim"] = torch.cat(vb).mean().item()
    return result
