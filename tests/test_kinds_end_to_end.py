"""The proof that the shape works (issue 12): a tiny example of each new model kind goes through
every layer on CPU in seconds.

For a feed-forward generator (preset "encdec32-tiny", adversarial objective) and a conditional
inpainting diffusion network (preset "inpaint32-tiny", conditional-ddpm objective):

- trained for a few steps by the one loop (:func:`inpaintkit.train.loop.train`): the logged loss
  goes down, and a run killed after its checkpoint and resumed ends with the same weights as an
  uninterrupted one (bitwise resume of EMA, optimizer and RNG states is covered in depth by
  tests/test_objectives.py::test_resume_is_bitwise_identical; loss on a fixed evaluation batch by
  ::test_loss_goes_down; kill -9 by tests/test_train.py);
- exported (:func:`inpaintkit.train.export.export_model` -> one .safetensors) and loaded by
  ``load_model`` with its kind;
- run by ``inpaintkit inpaint --method feedforward | inpaint-ddpm --model FILE`` (known pixels
  exact, output size = input size, crops for an image larger than the model), ``--dry-run``
  (the method's network evaluations) and ``inpaintkit bench`` (table written, rows scored).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from inpaintkit.cli import app
from inpaintkit.data.folder import ImageFolderDataset
from inpaintkit.errors import InpaintkitError
from inpaintkit.methods import build_method, get_method
from inpaintkit.models import load_model
from inpaintkit.networks.presets import get_preset
from inpaintkit.train.checkpoint import list_checkpoints, load_checkpoint
from inpaintkit.train.config import TrainConfig
from inpaintkit.train.export import export_model
from inpaintkit.train.loop import train
from inpaintkit.train.objectives import objective_for_preset

TEST_IMAGES = Path(__file__).parent / "data" / "emoji_test_64"
KINDS = {  # preset -> (model kind, method, the loss column that must go down)
    "encdec32-tiny": ("feedforward", "feedforward", "l1_hole"),
    "inpaint32-tiny": ("conditional-diffusion", "inpaint-ddpm", "loss"),
}
runner = CliRunner()


def _config(preset: str) -> TrainConfig:
    return TrainConfig(
        preset=preset, objective=objective_for_preset(get_preset(preset)), steps=6,
        batch_size=4, lr=2e-3, warmup_steps=1, checkpoint_every=3, keep_checkpoints=5,
        sample_every=0, log_every=1, progress=False, seed=0,
        objective_options={"holes": "thick+medium"},
    )  # fmt: skip


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict[str, dict]:
    """Per preset: the run folder (6 steps on 4 emoji at 32x32), its exported model file and a
    second run killed after step 3 and resumed."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("kinds")
    data = torch.utils.data.Subset(ImageFolderDataset(TEST_IMAGES, 32), range(4))
    runs = {}
    try:
        for preset in KINDS:
            config = _config(preset)
            straight = train(config, data, root / preset / "a")
            train(config, data, root / preset / "b")
            for step, path in list_checkpoints(root / preset / "b" / "ckpt"):
                if step > 3:
                    path.unlink()  # as if killed after the checkpoint of step 3
            resumed = train(config, data, root / preset / "b", resume=True)
            model = export_model(root / preset / "a", root / f"{preset}.safetensors")
            runs[preset] = {"run": root / preset / "a", "last": straight, "resumed": resumed,
                            "model": model}  # fmt: skip
    finally:
        torch.set_num_threads(before)
    return runs


@pytest.fixture(scope="module")
def pictures(tmp_path_factory) -> dict[str, Path]:
    """A 48x40 (W x H) photo with two separate holes (larger than the models' 32: two crops),
    a 32x32 one with one hole, their masks (white = hole), and a bench folder of 3 images."""
    root = tmp_path_factory.mktemp("pictures")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(root / "wide.png")
    hole = np.zeros((40, 48), np.uint8)
    hole[4:10, 3:9] = 255
    hole[30:37, 38:45] = 255
    Image.fromarray(hole).save(root / "wide_hole.png")
    Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(root / "small.png")
    small = np.zeros((32, 32), np.uint8)
    small[8:20, 10:24] = 255
    Image.fromarray(small).save(root / "small_hole.png")
    (root / "bench").mkdir()
    for n, path in enumerate(sorted(TEST_IMAGES.glob("*.png"))[:3]):
        Image.open(path).convert("RGB").resize((32, 32)).save(root / "bench" / f"{n}.png")
    return {p.stem: p for p in root.glob("*.png")} | {"bench": root / "bench"}


def _run(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def _flat(tree, prefix: str = ""):
    """(path, tensor) pairs of a nested checkpoint dict."""
    if isinstance(tree, torch.Tensor):
        yield prefix, tree
    elif isinstance(tree, dict):
        for key, value in tree.items():
            yield from _flat(value, f"{prefix}/{key}")


def _log(run: Path, column: str) -> list[float]:
    lines = (run / "log.csv").read_text().splitlines()
    index = lines[0].split(",").index(column)
    return [float(line.split(",")[index]) for line in lines[1:]]


@pytest.mark.parametrize("preset", list(KINDS))
def test_trained_by_the_one_loop_loss_down_resume_exact(trained, preset):
    """Measured: conditional eps-MSE 1.13 -> 0.35, feed-forward hole L1 0.72 -> 0.47."""
    losses = _log(trained[preset]["run"], KINDS[preset][2])
    assert len(losses) == 6 and losses[-1] < 0.8 * losses[0], losses
    a, b = load_checkpoint(trained[preset]["last"]), load_checkpoint(trained[preset]["resumed"])
    assert a["step"] == b["step"] == 6
    for key in ("model", "ema", "optimizer"):
        flat_a, flat_b = dict(_flat(a[key])), dict(_flat(b[key]))
        assert flat_a.keys() == flat_b.keys() and flat_a
        assert all(torch.equal(flat_a[k], flat_b[k]) for k in flat_a), key


@pytest.mark.parametrize("preset", list(KINDS))
def test_exported_file_loads_with_its_kind(trained, preset):
    kind, method, _ = KINDS[preset]
    model = load_model(str(trained[preset]["model"]))
    assert model.kind == kind and model.image_size == (None if kind == "feedforward" else 32)
    assert set(model.networks()) == ({"generator"} if kind == "feedforward" else {"unet"})
    inpainter = build_method(method, model=model, options={"steps": 3} if "ddpm" in method else {})
    assert inpainter.needs.model_kind == kind


@pytest.mark.parametrize("preset", list(KINDS))
def test_inpaint_cli_keeps_known_pixels_and_size(trained, pictures, tmp_path, preset):
    _, method, _ = KINDS[preset]
    fast = ["-o", "steps=4"] if method == "inpaint-ddpm" else []
    for stem in ("wide", "small"):
        out = tmp_path / stem
        result = _run(
            "inpaint", pictures[stem], "--mask", pictures[f"{stem}_hole"], "--method", method,
            "--model", trained[preset]["model"], *fast, "--no-progress", "--out", out,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        given = np.asarray(Image.open(pictures[stem]).convert("RGB"))
        hole = np.asarray(Image.open(pictures[f"{stem}_hole"])) > 127
        got = np.asarray(Image.open(out / f"{stem}.png").convert("RGB"))
        assert got.shape == given.shape
        assert np.array_equal(got[~hole], given[~hole])
        assert not np.array_equal(got[hole], given[hole])  # the hole was filled
        config = json.loads((out / "inpaintkit.json").read_text())
        assert config["method"] == method
        fixed = KINDS[preset][0] != "feedforward"  # a feed-forward network runs at any size
        assert config["strategies"] == ["crop" if stem == "wide" and fixed else "original"]


@pytest.mark.parametrize("preset", list(KINDS))
def test_dry_run_prints_the_methods_cost_and_counts_crops(trained, pictures, preset):
    _, method, _ = KINDS[preset]
    fast = ["-o", "steps=7"] if method == "inpaint-ddpm" else []
    result = _run(
        "inpaint", pictures["wide"], "--mask", pictures["wide_hole"], "--method", method,
        "--model", trained[preset]["model"], *fast, "--samples", "3", "--batch-size", "4",
        "--dry-run",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    nfe = 7 if method == "inpaint-ddpm" else 1
    assert f": {nfe} network evaluations and 0 undo steps per batch" in result.output
    if KINDS[preset][0] == "feedforward":  # any size: the whole 48x40 picture, x 3 samples
        assert "work: 3 output(s) in 1 batch(es) of up to 4" in result.output
        assert "at batch 3, 48x40" in result.output
    else:  # 2 holes -> 2 crops at 32x32, x 3 samples = 6 rows in batches of up to 4 -> 2 batches
        assert "work: 6 output(s) in 2 batch(es) of up to 4" in result.output
        assert "at batch 4, 32x32" in result.output


def test_budget_picks_the_steps_and_feedforward_fits_any_budget(trained, pictures):
    base = ["inpaint", pictures["small"], "--mask", pictures["small_hole"], "--dry-run"]
    result = _run(*base, "--method", "inpaint-ddpm", "--model", trained["inpaint32-tiny"]["model"],
                  "--budget", "9")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "-> steps=9 (9 network evaluations)" in result.output
    result = _run(*base, "--method", "feedforward", "--model", trained["encdec32-tiny"]["model"],
                  "--budget", "5")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "-> as is (1 network evaluations)" in result.output
    cls = get_method("inpaint-ddpm")
    assert cls.for_budget(cls.Options(eta=0.5), 5000, max_steps=1000).steps == 1000
    assert cls.for_budget(cls.Options(eta=0.5), 20, max_steps=1000).eta == 0.5
    with pytest.raises(InpaintkitError, match="option eta of inpaint-ddpm"):
        build_method("inpaint-ddpm", model=trained["inpaint32-tiny"]["model"], eta="2")
    with pytest.raises(InpaintkitError, match="training timesteps"):
        build_method("inpaint-ddpm", model=trained["inpaint32-tiny"]["model"], steps=10**6)


def test_inpaint_ddpm_same_seed_same_bytes_and_ddim(trained, pictures, tmp_path):
    model = trained["inpaint32-tiny"]["model"]
    outputs = []
    for name, seed, extra in (("a", 3, []), ("b", 3, []), ("c", 4, []), ("d", 3, ["-o", "eta=0"])):
        result = _run(
            "inpaint", pictures["small"], "--mask", pictures["small_hole"], "--method",
            "inpaint-ddpm", "--model", model, "-o", "steps=4", *extra, "--seed", seed,
            "--no-progress", "--out", tmp_path / name,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        outputs.append((tmp_path / name / "small.png").read_bytes())
    assert outputs[0] == outputs[1]
    assert outputs[2] != outputs[0] and outputs[3] != outputs[0]


def test_trajectory_with_crops_gets_one_gif_per_crop(trained, pictures, tmp_path):
    result = _run(
        "inpaint", pictures["wide"], "--mask", pictures["wide_hole"], "--method", "inpaint-ddpm",
        "--model", trained["inpaint32-tiny"]["model"], "-o", "steps=3", "--save-trajectory",
        "--no-progress", "--out", tmp_path,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for c in (0, 1):
        with Image.open(tmp_path / f"wide_trajectory_{c}.gif") as gif:
            assert gif.n_frames == 3 and gif.size == (32, 32)  # a frame per step, the crop


def test_wrong_kind_and_missing_model_are_refused_clearly(trained, pictures, monkeypatch):
    feedforward, conditional = (trained[p]["model"] for p in KINDS)
    base = ["inpaint", pictures["small"], "--mask", pictures["small_hole"], "--dry-run"]
    result = _run(*base, "--method", "feedforward", "--model", conditional)
    assert result.exit_code != 0
    assert "needs a feedforward model" in result.output
    assert "is a conditional-diffusion model" in result.output
    result = _run(*base, "--method", "repaint", "--model", feedforward)
    assert result.exit_code != 0 and "needs a prior model" in result.output
    assert "is a feedforward model" in result.output
    result = _run(*base, "--method", "feedforward")
    assert result.exit_code != 0
    assert "method feedforward needs a feedforward model: --model FILE" in result.output
    import inpaintkit.models

    monkeypatch.setattr(inpaintkit.models, "embedded_models", lambda: [])
    for name in ("inpaint-ddpm", "realfill"):  # their default model, when not installed
        with pytest.raises(InpaintkitError, match="'inpaint32' is not installed") as err:
            build_method(name)
        assert "--preset inpaint32 --objective conditional-ddpm" in str(err.value)
    with pytest.raises(InpaintkitError, match="is a prior model"):
        build_method("inpaint-ddpm", model="default")


@pytest.mark.parametrize("preset", list(KINDS))
def test_bench_runs_and_scores_the_new_kinds(trained, pictures, tmp_path, preset):
    _, method, _ = KINDS[preset]
    spec = "inpaint-ddpm:steps=3" if method == "inpaint-ddpm" else method
    result = _run(
        "bench", "--out", tmp_path, "--methods", spec, "--model", trained[preset]["model"],
        "--data", pictures["bench"], "--masks", "wide,half", "--n", "2", "--size", "32",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 4 and {r["method"] for r in rows} == {spec}
    assert all(np.isfinite(r["psnr_hole"]) for r in rows), rows[0]
    table = (tmp_path / "table.md").read_text()
    assert spec in table


def test_bench_refuses_a_model_of_another_kind(trained, pictures, tmp_path):
    result = _run(
        "bench", "--out", tmp_path, "--methods", "feedforward", "--data", pictures["bench"],
        "--masks", "wide", "--n", "1",
    )  # fmt: skip
    assert result.exit_code != 0
    assert "needs a feedforward model" in result.output and "is a prior model" in result.output


def test_feedforward_inputs_come_from_the_model_and_the_wrapper_checks_them():
    """A generator with a "sketch" channel: the method instance's needs.inputs is the model's
    extra_inputs (the class says none), and run_method checks every job against the instance."""
    from inpaintkit.methods import FeedForward, Job, run_method
    from inpaintkit.models import FeedForwardModel

    seen = []

    class SketchNet(torch.nn.Module):
        def forward(self, masked, hole, sketch):
            seen.append(tuple(sketch.shape))
            return sketch.expand_as(masked)  # the sketch itself fills the hole

    model = FeedForwardModel(SketchNet(), extra_inputs=("sketch",), multiple=4, source="sketchy")
    method = build_method("feedforward", model=model)
    assert FeedForward.needs.inputs == () and method.needs.inputs == ("sketch",)
    assert method.image_size is None and method.multiple == 4
    image = Image.fromarray(np.full((10, 14, 3), 200, np.uint8))
    hole = np.zeros((10, 14), bool)
    hole[2:6, 3:9] = True
    sketch = np.full((10, 14), 7, np.uint8)
    [[out]] = run_method(method, [Job(image, hole, {"sketch": sketch})])
    got = np.asarray(out)
    assert seen == [(1, 1, 12, 16)]  # padded to the multiple
    assert (got[hole] == 7).all() and (got[~hole] == 200).all()
    with pytest.raises(InpaintkitError, match=r"takes the inputs \['sketch'\]; missing"):
        run_method(method, [Job(image, hole)])
    [[a, b]] = run_method(method, [Job(image, hole, {"sketch": sketch})], samples=2, seed=1)
    assert np.array_equal(np.asarray(a), np.asarray(b))  # deterministic: K samples identical
