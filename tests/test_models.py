"""load_model: every checkpoint kind gives the same network outputs, and bad input is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from diffusers import DDPMScheduler
from safetensors.torch import save_file

from inpaintkit.errors import InpaintkitError
from inpaintkit.models import DiffusionConfig, DiffusionModel, embedded_models, load_model
from inpaintkit.models.store import save_model


def _outputs(model: DiffusionModel) -> torch.Tensor:
    x = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        return model.unet(x, torch.tensor([3, 90])).sample


def test_inpaintkit_safetensors_round_trip(tmp_path: Path, tiny_model: DiffusionModel) -> None:
    tiny_model.card = "# tiny\nfor tests"
    path = save_model(tiny_model, tmp_path / "m.safetensors", dtype=torch.float32)
    loaded = load_model(path)
    assert torch.equal(_outputs(loaded), _outputs(tiny_model))
    assert loaded.config == tiny_model.config and loaded.card == tiny_model.card
    assert not loaded.unet.training
    # fp16 storage (the default) halves the file and stays close
    half = load_model(save_model(tiny_model, tmp_path / "h.safetensors"))
    assert (_outputs(half) - _outputs(tiny_model)).abs().max() < 2e-2
    assert (tmp_path / "h.safetensors").stat().st_size < 0.6 * path.stat().st_size


@pytest.mark.parametrize("layout", ["unet", "pipeline"])
def test_diffusers_folder(tmp_path: Path, tiny_unet, layout: str) -> None:
    unet_dir = tmp_path / "unet" if layout == "pipeline" else tmp_path
    tiny_unet.save_pretrained(unet_dir)
    scheduler = DDPMScheduler(
        num_train_timesteps=500, beta_schedule="squaredcos_cap_v2", prediction_type="v_prediction"
    )
    scheduler.save_pretrained(tmp_path / "scheduler" if layout == "pipeline" else tmp_path)
    model = load_model(tmp_path)
    assert torch.equal(_outputs(model), _outputs(DiffusionModel(tiny_unet)))
    assert model.config == DiffusionConfig(
        num_train_timesteps=500, beta_schedule="cosine", prediction="v_prediction"
    )


def test_bare_diffusers_weights_file_uses_config_beside_it(tmp_path: Path, tiny_unet) -> None:
    tiny_unet.save_pretrained(tmp_path)
    model = load_model(tmp_path / "diffusion_pytorch_model.safetensors")
    assert torch.equal(_outputs(model), _outputs(DiffusionModel(tiny_unet)))
    assert model.config == DiffusionConfig(beta_start=1e-4, beta_end=0.02)
    (tmp_path / "config.json").unlink()
    with pytest.raises(InpaintkitError, match="config.json"):
        load_model(tmp_path / "diffusion_pytorch_model.safetensors")


def test_guided_checkpoint_through_load_model(guided_checkpoint: Path) -> None:
    model = load_model(guided_checkpoint, image_size=16, num_head_channels=16)
    assert model.config.learned_variance and model.image_size == 16


def test_mismatched_weights_and_corrupt_files(tmp_path: Path, tiny_unet) -> None:
    state = {k: v for k, v in tiny_unet.state_dict().items() if "conv_out" not in k}
    tiny_unet.save_pretrained(tmp_path / "m")
    save_file(state, tmp_path / "m" / "diffusion_pytorch_model.safetensors")
    with pytest.raises(InpaintkitError, match="missing 2"):
        load_model(tmp_path / "m")
    (tmp_path / "bad.safetensors").write_bytes(b"\x00garbage")
    with pytest.raises(InpaintkitError, match="not a readable .safetensors"):
        load_model(tmp_path / "bad.safetensors")
    (tmp_path / "weights.onnx").write_bytes(b"x")
    with pytest.raises(InpaintkitError, match="unknown checkpoint type"):
        load_model(tmp_path / "weights.onnx")
    with pytest.raises(InpaintkitError, match="not an embedded model"):
        load_model("no/such/thing.pt")
    with pytest.raises(InpaintkitError, match=r"model 'emoji32': the first prior .*`git show "
                       r"179d3a3:src/inpaintkit/models/weights/emoji32\.safetensors"):  # fmt: skip
        load_model("emoji32")  # retired: says where it went
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "config.json").write_text(json.dumps({"_class_name": "VQModel"}))
    with pytest.raises(InpaintkitError, match="VQModel"):
        load_model(tmp_path / "other")


def test_hub_id_offline_says_what_to_download(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(InpaintkitError, match="huggingface-cli download someone/ddpm-model"):
        load_model("someone/ddpm-model")


def test_default_model_is_embedded() -> None:
    assert embedded_models(), "the package must ship at least one model"
    model = load_model("default")
    assert model.source == f"embedded:{embedded_models()[0]}"
    assert model.image_size == 32 and model.channels == 3 and model.card.strip()


def test_nan_weights_are_refused_at_load_naming_the_tensor(tiny_model: DiffusionModel) -> None:
    from inpaintkit.models.loading import check_finite_weights

    check_finite_weights(tiny_model)  # finite: no error
    weight = next(p for p in tiny_model.unet.parameters() if p.ndim == 4)
    with torch.no_grad():
        weight.view(-1)[:2] = float("inf")
    name = next(n for n, p in tiny_model.unet.named_parameters() if p is weight)
    with pytest.raises(InpaintkitError, match=rf"checkpoint tiny: weight unet\.{name} holds 2 NaN"):
        check_finite_weights(tiny_model)


def test_every_shipped_file_is_an_embedded_model_and_methods_may_name_one(monkeypatch) -> None:
    from inpaintkit.methods.base import Method, Needs
    from inpaintkit.models import loading

    names = embedded_models()
    assert names[0] in loading.DEFAULT_PRIORS  # "default" stays a prior, whatever else ships
    assert sorted(names) == sorted(p.stem for p in loading.WEIGHTS_DIR.glob("*.safetensors"))

    class Named(Method):
        name = "named"
        needs = Needs("feedforward")
        default_model = "some-generator32"

    class Unnamed(Method):
        name = "unnamed"
        needs = Needs("feedforward")

    assert Named.model_spec(None) == "some-generator32"
    assert Named.model_spec("mine.safetensors") == "mine.safetensors"
    with pytest.raises(InpaintkitError, match="needs a feedforward model: --model FILE"):
        Unnamed.model_spec(None)
    with pytest.raises(InpaintkitError, match="no model 'some-generator32'"):
        Named.resolve_model(None)


def test_shipped_weights_are_fp16_and_within_the_64_mb_budget() -> None:
    """The brief's rule: shipped weights are fp16 safetensors, at most 64 MB in the package."""
    from safetensors import safe_open

    from inpaintkit.models import loading

    package = loading.WEIGHTS_DIR.parent.parent
    files = sorted(package.rglob("*.safetensors"))
    assert len(files) >= len(embedded_models())
    assert sum(path.stat().st_size for path in files) <= 64_000_000
    for path in files:
        with safe_open(path, "pt") as weights:
            for key in weights.keys():
                dtype = weights.get_slice(key).get_dtype()
                assert dtype not in ("F32", "F64", "BF16"), f"{path.name}: {key} is {dtype}"
