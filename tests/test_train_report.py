from pathlib import Path

import pytest
import torch

from inpaintkit.errors import InpaintkitError
from inpaintkit.train.report import heldout_loss, plot_loss, read_log, training_time


def _log(path: Path, rows: list[tuple]) -> Path:
    lines = ["step,loss,lr,images_per_s,elapsed_s"] + [",".join(map(str, r)) for r in rows]
    (path / "log.csv").write_text("\n".join(lines) + "\n")
    return path


def test_read_log_keeps_the_resumed_rows(tmp_path: Path) -> None:
    # a run killed after step 100 and resumed from step 50 logs step 100 twice
    _log(
        tmp_path, [(50, 0.5, 1e-4, 10, 5.0), (100, 0.4, 1e-4, 10, 10.0), (100, 0.3, 1e-4, 10, 11.0)]
    )
    rows = read_log(tmp_path)
    assert [r["step"] for r in rows] == [50, 100]
    assert rows[1]["loss"] == 0.3 and rows[1]["elapsed_s"] == 11.0


def test_training_time_separates_a_stall(tmp_path: Path) -> None:
    # batch 10, 50 steps per window: 10 img/s -> 50 s per window; the third window took 550 s
    rows = [
        (50, 1, 0, 10, 50),
        (100, 1, 0, 10, 100),
        (150, 1, 0, 10 * 50 / 550, 650),
        (200, 1, 0, 10, 700),
    ]
    report = training_time(read_log(_log(tmp_path, rows)), batch_size=10)
    assert report["steps"] == 200
    assert report["elapsed_s"] == 700
    assert report["stalled_s"] == pytest.approx(500)
    assert report["training_s"] == pytest.approx(200)


def test_missing_log_and_plot(tmp_path: Path) -> None:
    with pytest.raises(InpaintkitError, match="not a training run"):
        read_log(tmp_path)
    rows = read_log(_log(tmp_path, [(50, 0.5, 1e-4, 10, 5.0), (100, 0.4, 1e-4, 10, 10.0)]))
    path = plot_loss(rows, tmp_path / "loss.png")
    assert path.stat().st_size > 1000


def test_heldout_loss_of_a_zero_network(tiny_model) -> None:
    # eps_theta = 0 everywhere: the eps MSE is E[noise^2] = 1
    tiny_model.unet.conv_out.weight.zero_()
    tiny_model.unet.conv_out.bias.zero_()
    images = torch.rand(64, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    result = heldout_loss(tiny_model, images, draws=4, batch=32)
    assert result["eps_mse"] == pytest.approx(1.0, abs=0.01)
    assert result["vlb_bits_per_dim"] > 0
    assert heldout_loss(tiny_model, images, draws=4, batch=32) == result  # seeded
    assert heldout_loss(tiny_model, images, draws=4, seed=5)["eps_mse"] != result["eps_mse"]
