"""Model kinds: the inpaintkit-2 file for every kind, the network registry, the model cache."""

from __future__ import annotations

import json
import pickle
import threading
import time
from pathlib import Path

import pytest
import torch
from conftest import make_tiny_unet
from diffusers import UNet2DModel
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from inpaintkit.errors import InpaintkitError
from inpaintkit.models import (
    KINDS,
    BundleModel,
    ConditionalDiffusionModel,
    DiffusionConfig,
    FeedForwardModel,
    LoadedModel,
    ModelManager,
    load_model,
    parse_model_options,
    save_model,
    shared_models,
)
from inpaintkit.networks import build_network, network_classes, network_spec, register_network

GEN_CONFIG = {"channels": 3, "extra_channels": 1, "width": 8, "depth": 2, "blocks": 2}


def _conditional(channels: int = 3) -> ConditionalDiffusionModel:
    torch.manual_seed(1)
    unet = UNet2DModel(
        sample_size=16,
        in_channels=2 * channels + 1,
        out_channels=2 * channels,
        block_out_channels=(16, 32),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "AttnDownBlock2D"),
        up_block_types=("AttnUpBlock2D", "UpBlock2D"),
        norm_num_groups=8,
        attention_head_dim=8,
    ).eval()
    config = DiffusionConfig(num_train_timesteps=100, learned_variance=True)
    return ConditionalDiffusionModel(unet, config, "cond", "# cond", channels=channels)


def _feedforward() -> FeedForwardModel:
    torch.manual_seed(2)
    generator = build_network("EncoderDecoderGenerator", GEN_CONFIG).eval()
    return FeedForwardModel(generator, ("sketch",), 4, 32, "ff", "# ff")


def _bundle() -> BundleModel:
    torch.manual_seed(3)
    nets = {
        "structure": make_tiny_unet(seed=3),
        "texture": build_network("EncoderDecoderGenerator", {"width": 8, "depth": 1}).eval(),
    }
    return BundleModel(nets, {"image_size": 16, "lambda": 0.1176, "steps": [100, 5]}, "b", "#")


def _inputs(channels: int = 3, size: int = 16) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(0)
    known = torch.rand(2, channels, size, size, generator=g) * 2 - 1
    keep = torch.ones(2, 1, size, size)
    keep[:, :, 4:11, 3:12] = 0
    return known, keep


def _all_outputs(model: object) -> list[torch.Tensor]:
    """Every network's output on fixed inputs."""
    known, keep = _inputs()
    outs = []
    with torch.no_grad():
        for net in model.networks().values():
            if isinstance(net, UNet2DModel):
                x = torch.randn(2, net.config.in_channels, 16, 16, generator=torch.Generator())
                outs.append(net(x, torch.tensor([3, 90])).sample)
            else:
                extra = [keep] * net.config["extra_channels"]
                outs.append(net(known * keep, 1 - keep, *extra))
    return outs


@pytest.mark.parametrize("make", [_conditional, _feedforward, _bundle, None])
def test_every_kind_round_trips_through_one_file(tmp_path: Path, make, tiny_model) -> None:
    model = make() if make else tiny_model
    assert model.kind in KINDS and isinstance(model, LoadedModel)
    path = save_model(model, tmp_path / "m.safetensors", dtype=torch.float32)
    with safe_open(str(path), framework="pt") as f:
        meta, keys = f.metadata(), list(f.keys())
    assert meta["format"] == "inpaintkit-2" and meta["kind"] == model.kind
    networks = json.loads(meta["networks"])
    assert sorted(networks) == sorted(model.networks())
    assert all(k.split(".", 1)[0] in networks for k in keys)
    assert json.loads(meta["process"]) == json.loads(json.dumps(model.process_config()))
    loaded = load_model(path)
    assert type(loaded) is type(model) and loaded.kind == model.kind
    assert loaded.card == model.card and loaded.image_size == model.image_size
    assert loaded.process_config() == model.process_config()
    assert loaded.num_parameters() == model.num_parameters() > 0
    for got, want in zip(_all_outputs(loaded), _all_outputs(model), strict=True):
        assert torch.equal(got, want)
    assert not any(n.training for n in loaded.networks().values())


def test_inpaintkit_1_files_load_as_the_first_reader_read_them() -> None:
    """A file of the first format (inpaintkit-1), written by the first writer (the tree before
    commit e331bbf, random weights), gives the outputs that tree's reader gave."""
    path = Path(__file__).parent / "data" / "inpaintkit1-tiny.safetensors"
    with safe_open(str(path), framework="pt") as f:
        assert f.metadata()["format"] == "inpaintkit-1"
    model = load_model(str(path))
    assert model.kind == "prior" and model.config.learned_variance
    assert model.config.beta_schedule == "cosine" and "first checkpoint writer" in model.card
    stored = load_file(str(path))
    assert all(
        torch.equal(v.float(), stored[k].float()) for k, v in model.unet.state_dict().items()
    )
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        out = model.unet(x, torch.tensor([10, 50])).sample
    # measured with the first tree's load_safetensors on this file
    assert out.double().sum().item() == pytest.approx(0.40541263669729233, abs=1e-5)
    assert out.double().abs().sum().item() == pytest.approx(188.36184828728437, abs=1e-4)
    first = [0.07900141179561615, 0.30151936411857605, -0.08682253956794739, 0.035720303654670715]
    assert out[0, 0, 0, :4].tolist() == pytest.approx(first, abs=1e-6)


def test_conditional_denoiser_concatenates_image_hole_masked() -> None:
    model = _conditional()
    known, keep = _inputs()
    x = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(4))
    t = torch.tensor([7, 60])
    cond = model.conditioning(known, keep)
    assert torch.equal(cond["hole"], 1 - keep) and torch.equal(cond["masked"], known * keep)
    eps, var = model.denoiser()(x, t, **cond)
    with torch.no_grad():
        raw = model.unet(torch.cat([x, 1 - keep, known * keep], 1), t).sample
    assert torch.equal(eps, raw[:, :3]) and torch.equal(var, raw[:, 3:])
    eps_cl, _ = model.denoiser(channels_last=True)(x, t, **cond)
    assert (eps_cl - eps).abs().max() < 1e-5
    twin = pickle.loads(pickle.dumps(model))  # the lock and cached variants are not pickled
    assert twin.channels == 3 and torch.equal(twin.denoiser()(x, t, **cond)[0], eps)
    one = _conditional(channels=1)  # channels is stored, not read from in_channels (3 here)
    assert one.channels == 1 and one.unet.config.in_channels == 3
    with pytest.raises(InpaintkitError, match="needs 7 input channels.*has 3"):
        ConditionalDiffusionModel(one.unet, channels=3)


def test_feedforward_fill_pads_to_its_multiple_in_one_network_call() -> None:
    model = _feedforward()
    assert model.multiple == 4 == model.generator.multiple
    known, keep = _inputs(size=18)  # not a multiple of 4: padded to 20, cropped back
    sketch = torch.zeros(2, 1, 18, 18)
    shapes = []
    hook = model.generator.register_forward_hook(lambda m, args, out: shapes.append(out.shape))
    out = model(known * keep, 1 - keep, sketch)
    hook.remove()
    assert shapes == [(2, 3, 20, 20)]  # one batched call at the padded size (speed: benchmarks)
    assert out.shape == (2, 3, 18, 18) and out.abs().max() <= 1
    known16, keep16 = _inputs(size=16)
    with torch.no_grad():
        direct = model.generator(known16 * keep16, 1 - keep16, torch.zeros(2, 1, 16, 16))
    assert torch.equal(model(known16 * keep16, 1 - keep16, torch.zeros(2, 1, 16, 16)), direct)
    with pytest.raises(InpaintkitError, match=r"1 extra input\(s\) \['sketch'\]; got 0"):
        model(known * keep, 1 - keep)


def test_registry_builds_and_names_classes() -> None:
    assert {"UNet2DModel", "EncoderDecoderGenerator"} <= set(network_classes())
    net = build_network("EncoderDecoderGenerator", GEN_CONFIG)
    assert network_spec(net) == {"class": "EncoderDecoderGenerator", "config": GEN_CONFIG}
    unet = build_network("UNet2DModel", network_spec(make_tiny_unet())["config"])
    assert isinstance(unet, UNet2DModel) and unet.config.block_out_channels == (16, 32)
    with pytest.raises(InpaintkitError, match="unknown network class 'Nope'.*UNet2DModel"):
        build_network("Nope", {})
    with pytest.raises(InpaintkitError, match="invalid EncoderDecoderGenerator config"):
        build_network("EncoderDecoderGenerator", {"widht": 8})

    @register_network("TestIdentityNet")
    class Identity(torch.nn.Module):
        def __init__(self, scale: float = 1.0) -> None:
            super().__init__()
            self.config = {"scale": scale}

    assert network_spec(Identity(2.0)) == {"class": "TestIdentityNet", "config": {"scale": 2.0}}
    with pytest.raises(InpaintkitError, match="not a registered network class"):
        network_spec(torch.nn.Linear(2, 2))


def _rewrite(path: Path, tensors=None, **meta: str) -> Path:
    with safe_open(str(path), framework="pt") as f:
        metadata = {**f.metadata(), **meta}
        state = {k: f.get_tensor(k) for k in f.keys()}
    save_file(tensors(state) if tensors else state, str(path), metadata=metadata)
    return path


def test_broken_files_are_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "ff.safetensors"

    def fresh() -> Path:
        return save_model(_feedforward(), path, dtype=torch.float32)

    with pytest.raises(InpaintkitError, match="unknown model kind 'gan'.*'prior'"):
        load_model(_rewrite(fresh(), kind="gan"))
    with pytest.raises(InpaintkitError, match="metadata entry 'networks' is not valid JSON"):
        load_model(_rewrite(fresh(), networks="{not json"))
    with pytest.raises(InpaintkitError, match="unknown inpaintkit file format 'inpaintkit-9'"):
        load_model(_rewrite(fresh(), format="inpaintkit-9"))

    def reshape(state: dict) -> dict:
        state["generator.head.weight"] = torch.zeros(8, 5, 3, 3)
        return state

    with pytest.raises(
        InpaintkitError,
        match=r"'generator'.*tensor 'head.weight' has shape \(8, 5, 3, 3\).*needs \(8, 5, 5, 5\)",
    ):
        load_model(_rewrite(fresh(), reshape))

    def drop(state: dict) -> dict:
        return {k: v for k, v in state.items() if not k.startswith("generator.tail")}

    with pytest.raises(InpaintkitError, match=r"missing 2: \['tail.bias', 'tail.weight'\]"):
        load_model(_rewrite(fresh(), drop))

    def poison(state: dict) -> dict:
        state["generator.tail.weight"][0, 0, 0, :2] = torch.tensor([float("nan"), float("inf")])
        return state

    with pytest.raises(InpaintkitError, match="broken: tensor 'tail.weight' holds 2 NaN/inf"):
        load_model(_rewrite(fresh(), poison))

    def stray(state: dict) -> dict:
        return {**state, "critic.weight": torch.zeros(1)}

    with pytest.raises(InpaintkitError, match=r"belong to no network.*critic.weight"):
        load_model(_rewrite(fresh(), stray))
    with pytest.raises(InpaintkitError, match="takes no model options"):
        load_model(fresh(), image_size=32)


def test_model_options_are_typed_and_checked() -> None:
    assert parse_model_options(["image_size=64", "learned_variance=no"]) == {
        "image_size": 64,
        "learned_variance": False,
    }
    # the one option parser (inpaintkit.options): the option, the value and what is valid
    with pytest.raises(InpaintkitError, match="image_size of the model: 'big' is not an integer"):
        parse_model_options({"image_size": "big"})
    with pytest.raises(InpaintkitError, match="image_size of the model: 0 is out of range"):
        parse_model_options(["image_size=0"])
    with pytest.raises(InpaintkitError, match="'cosin' is not one of the choices"):
        parse_model_options(["noise_schedule=cosin"])
    with pytest.raises(InpaintkitError, match="unknown option 'size' for the model; valid: image"):
        parse_model_options(["size=3"])
    with pytest.raises(InpaintkitError, match="--model-option takes KEY=VALUE"):
        parse_model_options(["image_size"])


def test_manager_loads_each_model_once_across_threads(tmp_path: Path, tiny_model) -> None:
    path = str(save_model(tiny_model, tmp_path / "m.safetensors"))
    loads: list[str] = []

    def counting_loader(spec: str, device: object = "cpu", **options: object) -> object:
        loads.append(spec)
        time.sleep(0.05)  # hold the load open so the threads really overlap
        return load_model(spec, device=device, **options)

    manager = ModelManager(counting_loader)
    got: list[object] = []
    threads = [
        threading.Thread(target=lambda: got.append(manager.get(path, "cpu"))) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(loads) == 1 and len(got) == 8 and all(m is got[0] for m in got)
    assert manager.get(path, torch.device("cpu")) is got[0] and len(loads) == 1
    manager.put(tiny_model, "tiny")
    assert manager.get("tiny") is tiny_model and len(manager) == 2
    assert isinstance(shared_models(), ModelManager) and shared_models() is shared_models()


def test_model_option_flags_reach_load_model(tmp_path: Path, guided_checkpoint: Path) -> None:
    """`inpaintkit inpaint --model-option` and `inpaintkit bench --model-option`."""
    import numpy as np
    from PIL import Image
    from typer.testing import CliRunner

    from inpaintkit.bench import BenchConfig, run_bench
    from inpaintkit.bench.store import RunDir
    from inpaintkit.cli import app

    path = guided_checkpoint
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    Image.fromarray(image).save(tmp_path / "cat.png")
    hole = np.zeros((16, 16), np.uint8)
    hole[3:9, 4:13] = 255
    Image.fromarray(hole).save(tmp_path / "hole.png")
    args = ["inpaint", tmp_path / "cat.png", "--mask", tmp_path / "hole.png", "--model", path]
    args += ["--steps", "4", "--jump-length", "2", "--resamplings", "1", "--no-progress"]
    args += ["--out", tmp_path / "out"]
    runner = CliRunner()
    refused = runner.invoke(app, [str(a) for a in args])
    assert refused.exit_code != 0 and "num_head_channels" in refused.output
    options = ["--model-option", "image_size=16", "--model-option", "num_head_channels=16"]
    result = runner.invoke(app, [str(a) for a in args + options])
    assert result.exit_code == 0, result.output
    filled = np.asarray(Image.open(tmp_path / "out" / "cat.png"))
    assert np.array_equal(filled[hole == 0], image[hole == 0])
    assert not np.array_equal(filled[hole > 0], image[hole > 0])

    bench = BenchConfig(
        methods="repaint:steps=3,jump_length=1,resamplings=1",
        out=tmp_path / "bench",
        masks="half",
        data="emoji-test",
        n=1,
        model=str(path),
        model_options={"image_size": "16", "num_head_channels": "16"},
    )
    run = run_bench(bench, report=False)
    assert (run.planned, run.computed) == (1, 1)
    assert len(RunDir(tmp_path / "bench").read_rows()) == 1


def test_manager_reloads_a_checkpoint_rewritten_in_place(tmp_path: Path, tiny_model) -> None:
    path = save_model(tiny_model, tmp_path / "m.safetensors")
    manager = ModelManager()
    first = manager.get(str(path))
    assert manager.get(str(path)) is first
    time.sleep(0.01)
    save_model(tiny_model, path, dtype=torch.float32)  # another size, another mtime
    second = manager.get(str(path))
    assert second is not first and manager.get(str(path)) is second


def test_class_label_on_an_unconditional_model_is_refused(tiny_model: object) -> None:
    from inpaintkit.methods import build_method
    from inpaintkit.methods.diffusion.repaint import RePaintOptions

    options = RePaintOptions(steps=10, jump_length=2, resamplings=2)
    with pytest.raises(InpaintkitError, match="tiny is unconditional: it takes no class label"):
        build_method("repaint", model=tiny_model, options=options, class_label=2, progress=False)
    built = build_method("repaint", model=tiny_model, options=options, progress=False)
    assert built.class_label is None
