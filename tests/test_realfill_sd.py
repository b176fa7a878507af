"""RealFill's Stable Diffusion route offline: a tiny StableDiffusionInpaintPipeline built from
configs here (UNet2DConditionModel with 9 input channels, AutoencoderKL, CLIPTextModel, a
CLIPTokenizer from a vocabulary written here, no safety checker), saved as a pipeline folder
and given as the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from inpaintkit.errors import InpaintkitError
from inpaintkit.methods import build_method
from inpaintkit.methods.realfill import is_pipeline_folder

OPTIONS = {"steps": 2, "fit_steps": 3, "fit_batch": 2, "fit_lr": 1e-3}


def build_pipeline(folder: Path) -> Path:
    """A 16 px inpainting pipeline (latents 8x8x4) with seeded random weights, saved."""
    from diffusers import (
        AutoencoderKL,
        DDPMScheduler,
        StableDiffusionInpaintPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for c in "abcdefghijklmnopqrstuvwxyz":  # characters and word ends: enough for any prompt
        vocab[c], vocab[c + "</w>"] = len(vocab), len(vocab) + 1
    tokenizer = CLIPTokenizer(vocab=vocab, merges=[], model_max_length=16)
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        sample_size=8, in_channels=9, out_channels=4, block_out_channels=(16, 32),
        layers_per_block=1, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=32,
        attention_head_dim=8, norm_num_groups=8,
    )  # fmt: skip
    vae = AutoencoderKL(
        block_out_channels=(16, 32), in_channels=3, out_channels=3, latent_channels=4,
        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
        norm_num_groups=8, sample_size=16,
    )  # fmt: skip
    text = CLIPTextModel(
        CLIPTextConfig(
            bos_token_id=0, eos_token_id=1, pad_token_id=1, hidden_size=32, intermediate_size=37,
            num_attention_heads=4, num_hidden_layers=2, vocab_size=len(vocab),
            max_position_embeddings=16,
        )
    )  # fmt: skip
    scheduler = DDPMScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012)
    pipe = StableDiffusionInpaintPipeline(
        vae=vae, text_encoder=text, tokenizer=tokenizer, unet=unet, scheduler=scheduler,
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )  # fmt: skip
    pipe.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def pipeline_folder(tmp_path_factory) -> Path:  # noqa: ANN001
    return build_pipeline(tmp_path_factory.mktemp("sd") / "pipe")


def _scene() -> tuple[Image.Image, np.ndarray, list[Image.Image]]:
    rng = np.random.default_rng(0)
    base = np.asarray(Image.fromarray(rng.integers(0, 256, (5, 5, 3), np.uint8)).resize((20, 20)))
    hole = np.zeros((16, 16), bool)
    hole[4:10, 6:12] = True
    return Image.fromarray(base[2:18, 2:18]), hole, [Image.fromarray(base[:16, 4:20])]


def test_sd_route_fits_samples_and_round_trips_its_adapter(pipeline_folder, tmp_path):
    assert is_pipeline_folder(pipeline_folder) and not is_pipeline_folder(tmp_path)
    target, hole, refs = _scene()
    method = build_method("realfill", model=str(pipeline_folder), options=OPTIONS, progress=False)
    assert method.image_size == 16 and method.backend.kind == "stable-diffusion-inpaint"
    unet0 = method.backend.originals["unet"]
    before = {k: v.clone() for k, v in unet0.state_dict().items()}
    stats = method.fit(refs, seed=1, targets=[(target, hole)], progress=False)
    assert stats["steps"] == 3 and np.isfinite(stats["loss"])
    assert all(torch.equal(before[k], v) for k, v in unet0.state_dict().items())  # base intact
    # LoRA rank 8 on the UNet's attention: 4 transformer blocks of width 32 (down 1, up 2, mid
    # 1), each a self- and a cross-attention (to_k/to_v read the 32-d text), 4 projections each
    trainable_unet = sum(p.numel() for n, p in method.backend.pipe.unet.named_parameters()
                         if "lora_" in n)  # fmt: skip
    assert trainable_unet == 4 * 2 * 4 * (8 * 32 + 32 * 8)
    trainable_text = sum(p.numel() for n, p in method.backend.pipe.text_encoder.named_parameters()
                         if "lora_" in n)  # fmt: skip
    assert trainable_text == 2 * 4 * (8 * 32 + 32 * 8)  # 2 layers, q/k/v/out_proj 32 -> 32
    one = method.complete(target, hole, refs, samples=2, seed=3, batch_size=2)
    assert len(one.samples) == 2 and one.samples[0].size == (16, 16)
    path = method.save_adapter(tmp_path / "sd.safetensors")
    again = build_method(
        "realfill", model=str(pipeline_folder), options={**OPTIONS, "adapter": str(path)},
        progress=False,
    )  # fmt: skip
    two = again.complete(target, hole, refs, samples=2, seed=3, batch_size=2)
    for a, b in zip(one.raw, two.raw):
        assert np.array_equal(np.asarray(a), np.asarray(b))
    base = again.complete(target, hole, refs, samples=1, seed=3, base=True)
    assert not np.array_equal(np.asarray(base.raw[0]), np.asarray(one.raw[0]))
    # the VAE changes known pixels; the feathered blend keeps those 2+ px from the hole exact
    from inpaintkit.methods.realfill import feather_mask

    untouched = feather_mask(hole) == 0
    assert untouched.sum() > 100
    assert np.array_equal(np.asarray(one.samples[0])[untouched], np.asarray(target)[untouched])
    assert not np.array_equal(np.asarray(one.raw[0])[untouched], np.asarray(target)[untouched])


def test_sd_adapter_refuses_the_wrong_backend(pipeline_folder, tmp_path):
    from inpaintkit.methods.realfill.lora import LoraSettings, add_lora, save_adapter

    method = build_method("realfill", model=str(pipeline_folder), options=OPTIONS, progress=False)
    pixel = add_lora(method.backend.originals["unet"], LoraSettings())
    path = save_adapter(tmp_path / "p.safetensors", {"unet": pixel}, LoraSettings(), "x")
    with pytest.raises(InpaintkitError, match="belongs to a conditional-diffusion model"):
        method.load_adapter(path)


KNOBS = [{"eta": 0.0}, {"project": "null-space"}, {"variance": "fixed_small"}]


@pytest.mark.parametrize("knob", KNOBS)
def test_sd_route_refuses_the_pixel_samplers_knobs(pipeline_folder, knob):
    with pytest.raises(InpaintkitError, match=f"{next(iter(knob))}.* apply to pixel-space"):
        build_method("realfill", model=str(pipeline_folder), options={**OPTIONS, **knob})
