"""guided-diffusion -> diffusers conversion (DESIGN section 3), checked against OpenAI's own UNet.

Small guided-diffusion UNetModels with ALL parameters randomised (guided-diffusion zero-initialises
its output convs, which would make the comparison vacuous) are saved with torch.save, loaded with
load_guided_checkpoint and run side by side on the same input, timesteps and labels.
Measured (torch 2.13 CPU, output std about 0.5): max abs diff 4e-6 .. 8e-6 for every case;
the plain chunk(3) qkv split instead of the per-head one gives 0.28.
"""

from __future__ import annotations

import argparse
import pickle

import pytest
import torch

from inpaintkit.errors import InpaintkitError
from inpaintkit.models import load_model
from inpaintkit.models.guided import convert_guided_state_dict, load_guided_checkpoint
from inpaintkit.networks import build_unet

guided_unet = pytest.importorskip("guided_diffusion.unet")

BASE = dict(
    image_size=32,
    in_channels=3,
    model_channels=32,
    out_channels=6,
    num_res_blocks=2,
    attention_resolutions=(2, 4),  # downsample factors: levels 1 and 2
    dropout=0.0,
    channel_mult=(1, 2, 2),
    num_head_channels=16,
    use_scale_shift_norm=True,
    resblock_updown=True,
)

# (guided-diffusion UNetModel overrides, load_guided_checkpoint keyword arguments)
CASES = {
    "uncond-learn_sigma-updown": ({}, {}),
    "class_cond": ({"num_classes": 10}, {}),
    "no_learn_sigma-conv_resample": (
        {"out_channels": 3, "resblock_updown": False, "channel_mult": (1, 1, 2, 2)},
        {},
    ),
    "no_scale_shift-one_res_block": (
        {"use_scale_shift_norm": False, "resblock_updown": False, "num_res_blocks": 1},
        {},
    ),
    "fixed_num_heads": (
        {"num_head_channels": -1, "num_heads": 2},
        {"num_heads": 2, "num_head_channels": -1},
    ),
    "one_head-attention_everywhere": (
        {"num_head_channels": -1, "num_heads": 1, "attention_resolutions": (1, 2, 4)},
        {"num_heads": 1, "num_head_channels": None},
    ),
    "new_attention_order": (
        {"use_new_attention_order": True},
        {"use_new_attention_order": True},
    ),
}


def make_guided(**overrides) -> torch.nn.Module:
    torch.manual_seed(0)
    model = guided_unet.UNetModel(**{**BASE, **overrides}).eval()
    with torch.no_grad():
        for p in model.parameters():
            torch.nn.init.normal_(p, std=0.05)
        for module in model.modules():  # keep GroupNorm gains near 1 so signals stay O(1)
            if isinstance(module, torch.nn.GroupNorm):
                torch.nn.init.normal_(module.weight, mean=1.0, std=0.1)
    return model


def max_diff(guided: torch.nn.Module, unet: torch.nn.Module, num_classes: int | None) -> float:
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(2, guided.in_channels, 32, 32, generator=gen)
    t = torch.tensor([3, 517])
    y = torch.tensor([1, num_classes - 1]) if num_classes else None
    with torch.no_grad():
        expected = guided(x, t, y)
        got = unet(x, t, class_labels=y).sample
    assert got.shape == expected.shape
    assert expected.std() > 0.1  # a meaningful comparison, not near-zero outputs
    return (got - expected).abs().max().item()


@pytest.mark.parametrize("case", CASES)
def test_matches_guided_diffusion(case, tmp_path):
    overrides, kwargs = CASES[case]
    guided = make_guided(**overrides)
    args = {**BASE, **overrides}
    path = tmp_path / "model.pt"
    torch.save(guided.state_dict(), path)

    model = load_guided_checkpoint(path, **{"image_size": 32, "num_head_channels": 16, **kwargs})

    config = model.unet.config
    assert list(config.block_out_channels) == [32 * m for m in args["channel_mult"]]
    assert config.layers_per_block == args["num_res_blocks"]
    assert config.out_channels == args["out_channels"]
    assert config.num_class_embeds == args.get("num_classes")
    assert config.resnet_time_scale_shift == (
        "scale_shift" if args["use_scale_shift_norm"] else "default"
    )
    attn = [2**level in args["attention_resolutions"] for level in range(len(args["channel_mult"]))]
    assert [b.startswith("Attn") for b in config.down_block_types] == attn
    resnet_resample = [b.startswith("Resnet") for b in config.down_block_types if "Attn" not in b]
    assert all(r == args["resblock_updown"] for r in resnet_resample)
    assert model.config.learned_variance == (args["out_channels"] == 6)
    assert model.config.num_train_timesteps == 1000
    assert model.config.beta_schedule == "linear"
    assert model.config.prediction == "epsilon"
    assert model.image_size == 32
    assert model.source == str(path)

    assert max_diff(guided, model.unet, args.get("num_classes")) < 1e-4


def test_plain_chunk_qkv_split_is_wrong():
    """Legacy checkpoints interleave q, k, v inside each head: a plain chunk(3) breaks them."""
    guided = make_guided()
    diffs = {}
    for new_order in (False, True):
        config, state = convert_guided_state_dict(
            guided.state_dict(),
            image_size=32,
            num_head_channels=16,
            use_new_attention_order=new_order,
        )
        diffs[new_order] = max_diff(guided, build_unet(config, state, source="test"), None)
    assert diffs[False] < 1e-4
    assert diffs[True] > 1e-2  # measured 0.28


@pytest.mark.parametrize("wrapper", ["state_dict", "model", "ema", "module."])
def test_wrapped_state_dicts(wrapper, tmp_path):
    state = make_guided(num_res_blocks=1).state_dict()
    if wrapper == "module.":
        obj = {f"module.{k}": v for k, v in state.items()}
    else:
        obj = {wrapper: state, "step": 5}
    torch.save(obj, tmp_path / "w.pt")
    model = load_guided_checkpoint(tmp_path / "w.pt", image_size=32, num_head_channels=16)
    assert model.unet.config.layers_per_block == 1
    assert model.config.learned_variance


def test_released_architecture_config():
    """The released 256x256 models' block layout (DESIGN section 3), at a tiny width."""
    guided = guided_unet.UNetModel(
        **{**BASE, "channel_mult": (1, 1, 2, 2, 4, 4), "attention_resolutions": (8, 16, 32)},
    )
    config, _ = convert_guided_state_dict(guided.state_dict(), image_size=256, num_head_channels=16)
    assert config["down_block_types"] == ["ResnetDownsampleBlock2D"] * 3 + ["AttnDownBlock2D"] * 3
    assert config["up_block_types"] == ["AttnUpBlock2D"] * 3 + ["ResnetUpsampleBlock2D"] * 3
    assert config["downsample_type"] == config["upsample_type"] == "resnet"
    assert config["attention_head_dim"] == 16
    assert config["sample_size"] == 256


def test_corrupt_files(tmp_path):
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"definitely not a checkpoint" * 20)
    with pytest.raises(InpaintkitError, match="garbage.pt"):
        load_guided_checkpoint(garbage)

    truncated = tmp_path / "truncated.pt"
    torch.save({"a": torch.zeros(100)}, truncated)
    truncated.write_bytes(truncated.read_bytes()[:300])
    with pytest.raises(InpaintkitError, match="truncated.pt"):
        load_guided_checkpoint(truncated)

    with pytest.raises(InpaintkitError, match="missing.pt"):
        load_guided_checkpoint(tmp_path / "missing.pt")


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_pickled_objects_are_refused(tmp_path):
    unsafe = tmp_path / "unsafe.pt"
    torch.save({"args": argparse.Namespace(lr=1e-4), "w": torch.zeros(1)}, unsafe)
    with pytest.raises(InpaintkitError, match="unsafe unpickling.*weights-only"):
        load_guided_checkpoint(unsafe)

    plain = tmp_path / "plain.pkl"
    plain.write_bytes(pickle.dumps(argparse.Namespace(lr=1e-4)))
    with pytest.raises(InpaintkitError, match="plain.pkl"):
        load_guided_checkpoint(plain)


def test_not_a_guided_unet(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"conv.weight": torch.zeros(8, 3, 3, 3)}, path)
    with pytest.raises(InpaintkitError, match="input_blocks.0.0.weight"):
        load_guided_checkpoint(path)

    torch.save([torch.zeros(1)], path)
    with pytest.raises(InpaintkitError, match="state dict"):
        load_guided_checkpoint(path)

    state = make_guided(num_res_blocks=1).state_dict()
    state.pop("middle_block.1.qkv.weight")
    with pytest.raises(InpaintkitError, match="middle_block.1.qkv.weight"):
        convert_guided_state_dict(state, image_size=32, num_head_channels=16)


def test_unsupported_architectures():
    state = make_guided(num_res_blocks=1).state_dict()
    with pytest.raises(InpaintkitError, match="num_head_channels=48"):
        convert_guided_state_dict(state, image_size=32, num_head_channels=48)

    # a fixed head count over attention widths 32 and 64: head sizes differ per level
    state = make_guided(num_res_blocks=1, attention_resolutions=(1, 2)).state_dict()
    with pytest.raises(InpaintkitError, match="cannot express"):
        convert_guided_state_dict(state, image_size=32, num_heads=2)

    # conv_resample=False: parameter-free Downsample/Upsample leave gaps in the block indices
    state = make_guided(num_res_blocks=1, resblock_updown=False, conv_resample=False).state_dict()
    with pytest.raises(InpaintkitError, match="conv_resample=False"):
        convert_guided_state_dict(state, image_size=32, num_head_channels=16)

    state = make_guided(num_res_blocks=1, channel_mult=(2, 2)).state_dict()
    with pytest.raises(InpaintkitError, match="channel_mult"):
        convert_guided_state_dict(state, image_size=32, num_head_channels=16)


def test_64px_model_with_32_channel_heads(tmp_path):
    """What the weights cannot tell is given as options; a wrong head width loads silently
    with a large error, so a missing one is refused, not guessed."""
    guided = make_guided(
        image_size=64, channel_mult=(1, 2, 2), num_res_blocks=1, num_head_channels=32
    )
    path = tmp_path / "gd64.pt"
    torch.save(guided.state_dict(), path)
    gen = torch.Generator().manual_seed(2)
    x, t = torch.randn(2, 3, 64, 64, generator=gen), torch.tensor([5, 700])
    with torch.no_grad():
        expected = guided(x, t)

    # the CLI's --model-option values arrive as strings
    model = load_model(path, image_size="64", num_head_channels="32")
    assert model.image_size == 64 and model.unet.config.attention_head_dim == 32
    with torch.no_grad():
        got = model.unet(x, t).sample
    assert (got - expected).abs().max().item() < 1e-4  # measured 4e-6

    wrong = load_guided_checkpoint(path, image_size=64, num_head_channels=16)
    with torch.no_grad():
        off = (wrong.unet(x, t).sample - expected).abs().max().item()
    assert off > 1e-2  # the silent error a guessed head width would give

    with pytest.raises(InpaintkitError, match=r"num_head_channels \(or num_heads\).*--model-opt"):
        load_model(path, image_size=64)
    with pytest.raises(InpaintkitError, match=r"do not tell image_size.*fit: \[8, 16, 32, 64\]"):
        load_guided_checkpoint(path, num_head_channels=32)
    with pytest.raises(InpaintkitError, match="not both"):
        load_guided_checkpoint(path, image_size=64, num_head_channels=32, num_heads=2)
    with pytest.raises(InpaintkitError, match="unknown option 'head_channels' for the model"):
        load_model(path, head_channels=32)
    fixed = load_model(path, image_size=64, num_head_channels=32, learned_variance="false")
    assert not fixed.config.learned_variance and model.config.learned_variance


def test_released_256_layout_pins_size_and_heads():
    """RePaint's / OpenAI's 256x256 layout needs no options (weights on the meta device: the
    552.8M-parameter network is never allocated)."""
    with torch.device("meta"):
        guided = guided_unet.UNetModel(
            image_size=256,
            in_channels=3,
            model_channels=256,
            out_channels=6,
            num_res_blocks=2,
            attention_resolutions=(8, 16, 32),
            channel_mult=(1, 1, 2, 2, 4, 4),
            num_head_channels=64,
            use_scale_shift_norm=True,
            resblock_updown=True,
        )
    state = guided.state_dict()
    assert sum(v.numel() for v in state.values()) == 552_814_086
    config, _ = convert_guided_state_dict(state)
    assert config["sample_size"] == 256 and config["attention_head_dim"] == 64
    config, _ = convert_guided_state_dict(state, image_size=512, num_head_channels=128)
    assert config["sample_size"] == 512 and config["attention_head_dim"] == 128
