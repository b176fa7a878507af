"""The RealBench-like evaluation's mechanics on two fake held-out emoji scenes with tiny random
models (no numbers from random weights are reported anywhere), and the photo scenes' crops."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from inpaintkit.bench.realbench import main, summarize
from inpaintkit.bench.realbench_scenes import emoji_scenes, photo_scenes, recolour_to
from inpaintkit.data.emoji import EMOJI_VERSION
from inpaintkit.errors import InpaintkitError
from inpaintkit.models import DiffusionModel, save_model
from inpaintkit.models.spec import DiffusionConfig

BASES = ("1F44B", "1F44C")  # held-out (test split) base emoji with skin-tone variants
TONES = ("1F3FB", "1F3FD", "1F3FF")


def fake_emoji_cache(root: Path) -> Path:
    """A cache holding a fake emoji-datasource-google: two bases, three tones each; every tone
    the same random drawing in another colour."""
    folder = root / "emoji" / f"emoji-datasource-google-{EMOJI_VERSION}"
    images = folder / "img" / "google" / "64"
    images.mkdir(parents=True)
    entries = []
    for b, base in enumerate(BASES):
        shape = np.random.default_rng(b).random((8, 8)) > 0.5
        shape = np.kron(shape, np.ones((8, 8), bool))
        variants = {}
        for k, code in enumerate((None, *TONES)):
            name = base.lower() + (f"-{code.lower()}" if code else "") + ".png"
            rgba = np.zeros((64, 64, 4), np.uint8)
            rgba[shape] = (60 * k, 100, 200 - 50 * k, 255)
            Image.fromarray(rgba, "RGBA").save(images / name)
            if code:
                variants[code] = {"unified": f"{base}-{code}", "image": name}
        entries.append({"unified": base, "image": base.lower() + ".png", "name": base,
                        "skin_variations": variants})  # fmt: skip
    (folder / "emoji.json").write_text(json.dumps(entries))
    return root


def test_emoji_scenes_take_one_variant_as_target_and_the_others_as_references(tmp_path):
    cache = fake_emoji_cache(tmp_path / "cache")
    scenes = emoji_scenes(5, 16, cache_dir=cache, seed=1)
    assert [s.name.split("-")[1] for s in scenes] == [b.lower() for b in BASES]
    for scene in scenes:
        assert scene.target.shape == (16, 16, 3) and scene.hole.any() and scene.set == "emoji"
        assert len(scene.references) == 3  # the base and the two other tones
        assert all(not np.array_equal(r, scene.target) for r in scene.references)
    again = emoji_scenes(5, 16, cache_dir=cache, seed=1)
    assert all(np.array_equal(a.hole, b.hole) for a, b in zip(scenes, again))


def test_reference_modes_recolour_drop_or_leak_the_target(tmp_path):
    cache = fake_emoji_cache(tmp_path / "cache")
    variants = emoji_scenes(2, 16, cache_dir=cache, seed=1)
    recoloured = emoji_scenes(2, 16, cache_dir=cache, seed=1, references="recoloured")
    for plain, scene in zip(variants, recoloured):
        assert np.array_equal(plain.hole, scene.hole) and len(scene.references) == 3
        # the fake tones are one drawing in flat colours: the known pixels map one tone onto the
        # other, hole included, to within a level (resizing blurs the edges into many colours)
        for before, after in zip(plain.references, scene.references):
            error = np.abs(after.astype(int) - scene.target)
            assert error.max() <= 1 and np.abs(before.astype(int) - scene.target).max() >= 50
    assert all(s.references == [] for s in emoji_scenes(2, 16, cache_dir=cache, references="none"))
    oracle = emoji_scenes(2, 16, cache_dir=cache, references="oracle")
    assert all(len(s.references) == 1 and np.array_equal(s.references[0], s.target) for s in oracle)
    with pytest.raises(InpaintkitError, match="unknown references"):
        emoji_scenes(2, 16, cache_dir=cache, references="truth")


def test_recolour_to_reads_only_the_known_pixels():
    reference = np.zeros((4, 4, 3), np.uint8)
    reference[:, 2:] = (200, 150, 100)  # "skin" in the reference's tone
    target = reference.copy()
    target[:, 2:] = (90, 60, 40)  # the target's tone
    known = np.ones((4, 4), bool)
    known[1:3, 2:] = False  # half of the skin is in the hole
    target[~known] = (255, 0, 255)  # what the hole holds must not matter
    out = recolour_to(reference, target, known, k=2)
    expected = np.zeros((4, 4, 3), np.uint8)
    expected[:, 2:] = (90, 60, 40)
    assert np.array_equal(out, expected)
    with pytest.raises(InpaintkitError, match="known pixels"):
        recolour_to(reference, target, np.zeros((4, 4), bool))


def test_photo_scenes_crop_textured_windows_and_shifted_references():
    rng = np.random.default_rng(0)
    first = rng.integers(0, 256, (90, 120, 3), np.uint8)
    flat = np.full((90, 120, 3), 128, np.uint8)
    scenes = photo_scenes(2, 16, pairs=[("noise", first, first), ("flat", flat, flat)], scale=4)
    assert [s.name for s in scenes] == ["noise-0", "noise-1"]  # no textured window in "flat"
    for scene in scenes:
        assert scene.target.shape == (16, 16, 3) and 2 <= len(scene.references) <= 5
        assert any(np.array_equal(r, scene.target) for r in scene.references)  # same place


def _tiny_models(folder: Path) -> tuple[Path, Path]:
    from diffusers import UNet2DModel

    from inpaintkit.models import ConditionalDiffusionModel

    def unet(channels: int) -> UNet2DModel:
        torch.manual_seed(channels)
        return UNet2DModel(
            sample_size=16, in_channels=channels, out_channels=6, block_out_channels=(16, 32),
            layers_per_block=1, down_block_types=("DownBlock2D", "AttnDownBlock2D"),
            up_block_types=("AttnUpBlock2D", "UpBlock2D"), norm_num_groups=8,
            attention_head_dim=8,
        )  # fmt: skip

    config = DiffusionConfig(num_train_timesteps=100, learned_variance=True)
    conditional = ConditionalDiffusionModel(unet(7), config, "cond", channels=3)
    prior = DiffusionModel(unet(3), config, "prior")
    return (
        save_model(conditional, folder / "cond.safetensors"),
        save_model(prior, folder / "prior.safetensors"),
    )


def test_realbench_runs_two_emoji_scenes_end_to_end(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("INPAINTKIT_CACHE", str(fake_emoji_cache(tmp_path / "cache")))
    conditional, prior = _tiny_models(tmp_path)
    out = tmp_path / "out"
    args = [
        "--model", str(conditional), "--out", str(out), "--emoji", "2", "--photos", "0",
        "--samples", "2", "--prior", str(prior),
        "--baselines", "telea,repaint:steps=2,jump_length=1,resamplings=1",
        "-o", "steps=2", "-o", "fit_steps=2", "-o", "fit_batch=2", "-o", "precision=fp32",
    ]  # fmt: skip
    main(args)
    rows = list(csv.DictReader(open(out / "results.csv")))
    methods = ["realfill", "realfill-avg", "base", "base-avg", "telea",
               "repaint:steps=2,jump_length=1,resamplings=1"]  # fmt: skip
    assert [r["method"] for r in rows] == methods * 2
    assert all(np.isfinite(float(r["psnr_hole"])) for r in rows)
    picks = [r for r in rows if r["method"] == "realfill"]
    assert all(r["pick_beats_avg"] in ("0", "1") and float(r["fit_seconds"]) > 0 for r in picks)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["scenes"] == 2 and list(summary["methods"]) == ["emoji"]
    assert summary["methods"]["emoji"]["telea"]["n"] == 2
    report = (out / "report.md").read_text()
    assert "| realfill |" in report and "| telea | " in report and "RealFill minus it" in report
    grids = sorted(p.name for p in (out / "scenes").iterdir())
    assert len(grids) == 2 and all(g.startswith(("emoji-1f44b-", "emoji-1f44c-")) for g in grids)
    assert "[2/2]" in capsys.readouterr().out
    # a kill while writing the second scene: a rerun redoes that scene only, to the same bytes
    first, second = (out / "scenes.jsonl").read_text().splitlines()
    (out / "scenes.jsonl").write_text(first + "\n" + second[: len(second) // 2])
    table = (out / "results.csv").read_text()
    main(args)
    printed = capsys.readouterr().out
    assert "[1/2]" not in printed and "[2/2]" in printed
    strip = [{k: v for k, v in r.items() if k not in ("seconds", "fit_seconds")}
             for r in csv.DictReader(io.StringIO(table))]  # fmt: skip
    again = [{k: v for k, v in r.items() if k not in ("seconds", "fit_seconds")}
             for r in csv.DictReader(open(out / "results.csv"))]  # fmt: skip
    assert again == strip
    with pytest.raises(InpaintkitError, match="other settings"):
        main([*args[:-2], "-o", "precision=auto"])
    # fewer scenes: the first one's rows, reused; more would extend the run the same way
    main([*args[:5], "1", *args[6:]])
    assert "[1/1]" not in capsys.readouterr().out
    one = [{k: v for k, v in r.items() if k not in ("seconds", "fit_seconds")}
           for r in csv.DictReader(open(out / "results.csv"))]  # fmt: skip
    assert one == strip[: len(methods)]
    # other references are other settings; "none" fits on the target's known pixels alone
    with pytest.raises(InpaintkitError, match="other settings"):
        main([*args, "--references", "none"])
    alone = tmp_path / "alone"
    main([*args[:3], str(alone), "--emoji", "1", *args[6:10], "--baselines", "",
          *args[14:], "--references", "none"])  # fmt: skip
    rows = list(csv.DictReader(open(alone / "results.csv")))
    assert [r["method"] for r in rows] == methods[:4]
    assert json.loads((alone / "config.json").read_text())["references"] == "none"
    assert json.loads((out / "summary.json").read_text())["config"]["scenes"] == 1


def test_summarize_rates_means_and_paired_gains_by_hand():
    rows = [
        {"scene": "a", "set": "emoji", "method": "realfill", "psnr_hole": 20.0, "ssim_hole": 0.5,
         "pick_beats_avg": 1, "fit_seconds": 10.0},
        {"scene": "a", "set": "emoji", "method": "realfill-avg", "psnr_hole": 19.0,
         "ssim_hole": 0.5},
        {"scene": "a", "set": "emoji", "method": "base-avg", "psnr_hole": 15.0, "ssim_hole": 0.4},
        {"scene": "a", "set": "emoji", "method": "telea", "psnr_hole": 12.0, "ssim_hole": 0.4},
        {"scene": "b", "set": "emoji", "method": "realfill", "psnr_hole": 10.0, "ssim_hole": 0.3,
         "pick_beats_avg": 0, "fit_seconds": 30.0},
        {"scene": "b", "set": "emoji", "method": "realfill-avg", "psnr_hole": 12.0,
         "ssim_hole": 0.3},
        {"scene": "b", "set": "emoji", "method": "base-avg", "psnr_hole": 11.0, "ssim_hole": 0.3},
        {"scene": "b", "set": "emoji", "method": "telea", "psnr_hole": 11.0, "ssim_hole": 0.3},
    ]  # fmt: skip
    summary = summarize(rows)
    assert summary["methods"]["emoji"]["realfill"] == {"psnr_hole": 15.0, "ssim_hole": 0.4, "n": 2}
    assert summary["pick_beats_avg"]["emoji"] == 0.5 and summary["fit_seconds"]["emoji"] == 20.0
    # telea: the pick's 20 - 12 and 10 - 11, mean 3.5, s / sqrt(2) = 4.5, t(0.975, 1) = 12.7062
    telea = summary["paired"]["emoji"]["telea"]
    assert telea["mean"] == 3.5 and (telea["ahead"], telea["n"]) == (1, 2)
    assert telea["half"] == pytest.approx(12.7062 * 4.5, rel=1e-5)
    # base-avg is paired with the mean sample: 19 - 15 and 12 - 11
    assert summary["paired"]["emoji"]["base-avg"]["mean"] == 2.5
    assert list(summary["paired"]["emoji"]) == ["base-avg", "telea"]
