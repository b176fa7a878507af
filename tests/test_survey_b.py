"""DeepFill v1, DeepFill v2 (with the sketch) and LaMa: their layers against hand computations,
their discriminators' shapes, their loss terms, a short seeded training per objective (losses go
down, resume is exact), and the three methods (default model missing, optional sketch, CLI)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from typer.testing import CliRunner

from inpaintkit.data.folder import ImageFolderDataset
from inpaintkit.data.holed import HoledDataset
from inpaintkit.data.sketch import canny_edges, canny_sketch
from inpaintkit.errors import InpaintkitError
from inpaintkit.masks import get_holes
from inpaintkit.networks import build_network
from inpaintkit.networks.contextual_attention import contextual_attention
from inpaintkit.networks.ffc import FFCBlock
from inpaintkit.networks.gated_conv import GatedConv2d
from inpaintkit.networks.presets import get_preset
from inpaintkit.train.objectives.gan_terms import (
    chessboard_distance,
    discounted_l1,
    gradient_penalty,
    local_origins,
    r1_penalty,
    spatial_discount,
)

TEST_IMAGES = Path(__file__).parent / "data" / "emoji_test_64"


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: one torch thread


# -- layers ---------------------------------------------------------------------------------


def test_gated_convolution_is_eq_1():
    """O = ELU(W_f * I + b_f) * sigmoid(W_g * I + b_g), computed here by explicit sums over
    3x3 windows (zero padding), not by a convolution call."""
    torch.manual_seed(0)
    layer = GatedConv2d(2, 3, 3)
    x = torch.randn(1, 2, 5, 6)
    padded = F.pad(x, (1, 1, 1, 1))[0]
    wf, wg = layer.feature_weight.detach(), layer.gate_weight.detach()
    bf, bg = layer.conv.bias.detach()[:3], layer.conv.bias.detach()[3:]
    expected = torch.zeros(3, 5, 6)
    for c in range(3):
        for i in range(5):
            for j in range(6):
                window = padded[:, i : i + 3, j : j + 3]
                feature = (wf[c] * window).sum() + bf[c]
                gate = (wg[c] * window).sum() + bg[c]
                expected[c, i, j] = F.elu(feature) * torch.sigmoid(gate)
    assert torch.allclose(layer(x)[0], expected, atol=1e-6)
    with torch.no_grad():  # a closed gate outputs 0, an open one the activated feature
        layer.conv.bias[3:] = -100.0
        assert layer(x).abs().max() < 1e-30
        layer.conv.bias[3:] = 100.0
        features = F.elu(F.conv2d(x, wf, bf, padding=1))
        assert torch.allclose(layer(x), features, atol=1e-6)
    assert GatedConv2d(2, 4, 3, stride=2, dilation=2)(x).shape == (1, 4, 3, 3)


def _copied_scene(side: int, block: int, shift: int, channels: int = 8):
    """Random features whose top-left ``block`` x ``block`` region equals the region
    ``shift`` pixels down and right (the hole's true content exists once in the background)."""
    x = torch.randn(1, channels, side, side, generator=torch.Generator().manual_seed(1))
    x[..., :block, :block] = x[..., shift : shift + block, shift : shift + block]
    return x


@pytest.mark.parametrize("fuse", [0, 3])
def test_contextual_attention_copies_the_matching_patch(fuse):
    """A 3x3 hole whose true content (with a 2-pixel border) also sits 8 pixels further: every
    hole position puts > 0.9 of its attention on that patch and the reconstruction is the true
    content; hole patches get no weight, and a hole without a known patch gives zeros."""
    x = _copied_scene(16, 7, 8)
    hole = torch.zeros(1, 1, 16, 16)
    hole[..., 2:5, 2:5] = 1
    out, attention = contextual_attention(x, x * (1 - hole), hole, fuse=fuse)
    for i in range(2, 5):
        for j in range(2, 5):
            assert attention[0, (i + 8) * 16 + j + 8, i, j] > 0.9
    assert (out - x)[..., 2:5, 2:5].abs().max() < 1e-4
    touching = [q for q in range(256) if abs(q // 16 - 3) <= 2 and abs(q % 16 - 3) <= 2]
    assert attention[0, touching].abs().max() == 0
    assert torch.allclose(attention.sum(1), torch.ones(1, 16, 16))
    full, weights = contextual_attention(x, x, torch.ones(1, 1, 16, 16))
    assert full.abs().max() == 0 and weights.abs().max() == 0


def test_contextual_attention_rate_2_copies_raw_patches():
    """rate 2: matching on 2x-pooled features, reconstruction from 6x6 raw patches at full
    resolution: an 8x8 hole is filled with its true content from 16 pixels further."""
    x = _copied_scene(32, 16, 16)
    hole = torch.zeros(1, 1, 32, 32)
    hole[..., 4:12, 4:12] = 1
    out, attention = contextual_attention(x, x * (1 - hole), hole, rate=2)
    assert attention.shape == (1, 256, 16, 16)
    assert attention[0, (3 + 8) * 16 + 3 + 8, 3, 3] > 0.9
    assert (out - x)[..., 4:12, 4:12].abs().max() < 1e-3


def test_spatial_discount_hand_example():
    """A 5x5 hole in a 7x7 image: rings at distance 1, 2, 3 weigh 0.9, 0.81, 0.729; a hole on
    the image border is discounted from its known side only; no known pixel: no discount."""
    hole = torch.zeros(1, 1, 7, 7)
    hole[..., 1:6, 1:6] = 1
    ring = torch.tensor([[0, 0, 0, 0, 0, 0, 0], [0, 1, 1, 1, 1, 1, 0], [0, 1, 2, 2, 2, 1, 0],
                         [0, 1, 2, 3, 2, 1, 0], [0, 1, 2, 2, 2, 1, 0], [0, 1, 1, 1, 1, 1, 0],
                         [0, 0, 0, 0, 0, 0, 0]], dtype=torch.float32)  # fmt: skip
    assert torch.equal(chessboard_distance(hole)[0, 0], ring)
    weights = spatial_discount(hole, 0.9)[0, 0]
    assert weights[3, 3] == pytest.approx(0.729) and weights[2, 4] == pytest.approx(0.81)
    assert weights[1, 5] == pytest.approx(0.9) and weights[0, 0] == 0
    left = torch.zeros(1, 1, 4, 4)
    left[..., :3] = 1
    assert torch.equal(chessboard_distance(left)[0, 0, 0], torch.tensor([3.0, 2.0, 1.0, 0.0]))
    assert torch.equal(spatial_discount(torch.ones(1, 1, 3, 3)), torch.ones(1, 1, 3, 3))
    # discounted L1: |error| 1 everywhere -> (16 * 0.9 + 8 * 0.81 + 0.729) / 25 per channel
    loss = discounted_l1(torch.ones(1, 3, 7, 7), torch.zeros(1, 3, 7, 7), spatial_discount(hole))
    assert float(loss) == pytest.approx((16 * 0.9 + 8 * 0.81 + 0.729) / 25)


def test_local_crop_is_centred_on_the_hole_and_clamped():
    hole = torch.zeros(3, 1, 32, 32)
    hole[0, :, 10:14, 20:26] = 1  # centre (12, 23)
    hole[1, :, 0:3, 29:32] = 1  # corner: clamped
    assert local_origins(hole, 16) == ([4, 0, 8], [15, 16, 8])


def test_ffc_spectral_branch_sees_the_whole_image():
    """Changing one corner pixel changes an FFC block's output at every pixel (the opposite
    corner too); the same block with ratio 0 (two plain 3x3 convolutions) changes only within
    2 pixels. The same holds for the whole LaMa generator at 64x64 against its ratio-0 twin."""
    torch.manual_seed(0)
    for ratio in (0.75, 0.0):
        block = FFCBlock(16, ratio).eval()
        local, glob = (16, 0) if ratio == 0 else (4, 12)
        x = torch.randn(1, 16, 32, 32)
        y = x.clone()
        y[..., 0, 0] += 1.0
        with torch.no_grad():
            a, b = (
                block((x[:, :local], x[:, local:] if glob else None)),
                block((y[:, :local], y[:, local:] if glob else None)),
            )
        diff = torch.cat([(p - q).abs() for p, q in zip(a, b) if p is not None], 1).amax(1)[0]
        if ratio:
            assert diff.min() > 1e-7 and diff[31, 31] > 1e-5
        else:
            assert diff[3:, :].max() == 0 and diff[:, 3:].max() == 0 and diff[:3, :3].min() > 0
    outputs = {}
    for ratio in (0.75, 0.0):
        torch.manual_seed(0)
        net = build_network("LaMaGenerator", {"width": 8, "blocks": 1, "ratio": ratio}).eval()
        x, hole = torch.zeros(2, 3, 64, 64), torch.zeros(2, 1, 64, 64)
        x[1, :, 0, 0] = 1.0
        with torch.no_grad():
            out = net(x, hole)
        outputs[ratio] = (out[0] - out[1]).abs()
    assert outputs[0.75][:, 63, 63].max() > 1e-6
    assert outputs[0.0][:, 40:, 40:].max() == 0 and outputs[0.0][:, 0, 0].max() > 0


def test_generators_and_discriminators_shapes_and_sizes():
    """Every network of the three presets: output shapes at 32 px, generators at any size that
    is a multiple of 4, fp16 generator files <= 3 MB (parameters <= 1.4M)."""
    torch.manual_seed(0)
    expected = {
        "deepfill-v1-32": {"global": (2, 1), "local": (2, 1)},
        "deepfill-v2-32": {"sn_patch": (2, 64, 4, 4)},
        "lama32": {"patch": (2, 1, 11, 11)},
    }
    for name, shapes in expected.items():
        preset = get_preset(name)
        gen = build_network(preset.generator["class"], preset.generator["config"]).eval()
        assert sum(p.numel() for p in gen.parameters()) <= 1_400_000
        for h, w in ((32, 32), (24, 40)):
            masked, hole = torch.zeros(2, 3, h, w), torch.ones(2, 1, h, w)
            extras = [torch.zeros(2, 1, h, w)] if preset.extra_inputs else []
            with torch.no_grad():
                assert gen(masked, hole, *extras).shape == (2, 3, h, w)
        for role, spec in preset.discriminators.items():
            disc = build_network(spec["class"], spec["config"])
            side = spec["config"].get("image_size", 32)
            x = torch.randn(2, spec["config"]["in_channels"], side, side)
            assert tuple(disc(x).shape) == shapes[role], (name, role)
    logits, features = build_network("LaMaDiscriminator", {}).features(torch.randn(2, 4, 32, 32))
    assert [tuple(f.shape) for f in features] == [(2, 16, 17, 17), (2, 32, 9, 9), (2, 64, 10, 10)]


def test_r1_and_gradient_penalty_on_linear_discriminators():
    """R1 = ||grad_x sum D||^2 = H * W * ||w_image||^2 for a 1x1 convolution D on cat(image,
    hole); WGAN-GP of a linear critic sum(w * x) = (||w * mask|| - 1)^2 whatever the mix."""
    torch.manual_seed(0)
    disc = torch.nn.Conv2d(4, 1, 1)
    real = torch.randn(2, 3, 5, 6, requires_grad=True)
    hole = torch.zeros(2, 1, 5, 6)
    r1 = r1_penalty(disc(torch.cat([real, hole], 1)), real)
    w = disc.weight.detach()[0, :3, 0, 0]
    assert float(r1.detach()) == pytest.approx(30 * float(w.pow(2).sum()), rel=1e-5)
    weight = torch.randn(1, 3, 4, 4)

    def critic(x):
        return (x * weight).flatten(1).sum(1)

    mask = torch.zeros(2, 1, 4, 4)
    mask[..., :2, :] = 1
    gp = gradient_penalty(critic, torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4), mask,
                          torch.Generator().manual_seed(0))  # fmt: skip
    norm = float((weight * mask[:1]).pow(2).sum().sqrt())
    assert float(gp) == pytest.approx((norm - 1) ** 2, rel=1e-5)


def test_canny_sketch_is_edges_in_the_hole_and_seeded():
    data = ImageFolderDataset(TEST_IMAGES, 32)
    holed = HoledDataset(data, get_holes("box"), seed=4, extras={"sketch": canny_sketch()})
    item = holed.item(3, 0)
    edges = canny_edges(item["image"])
    assert edges.sum() > 20 and set(edges.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(item["sketch"], edges * item["hole"]) and item["sketch"].sum() > 0
    assert torch.equal(holed.item(3, 0)["sketch"], item["sketch"])  # deterministic
    dropped = HoledDataset(data, get_holes("box"), seed=4, extras={"sketch": canny_sketch(drop=1)})
    assert dropped.item(3, 0)["sketch"].abs().max() == 0
    assert torch.equal(dropped.item(3, 0)["hole"], item["hole"])  # the holes do not move
    with pytest.raises(InpaintkitError, match="low <= high"):
        canny_sketch(200, 100)


# -- the three methods ------------------------------------------------------------------------


def _tiny_v2_model():
    from inpaintkit.models import FeedForwardModel

    torch.manual_seed(0)
    net = build_network("DeepFillV2Generator", {"width": 4}).eval()
    return FeedForwardModel(net, ("sketch",), multiple=4, image_size=None, source="tiny-v2")


def test_methods_are_listed_and_say_how_to_get_their_model(monkeypatch):
    import inpaintkit.models
    from inpaintkit.methods import build_method, list_methods

    names = [m["name"] for m in list_methods()]
    assert {"deepfill-v1", "deepfill-v2", "lama"} <= set(names)
    assert names.index("deepfill-v1") == names.index("pconv") + 1  # after the survey-a three
    monkeypatch.setattr(inpaintkit.models, "embedded_models", lambda: [])
    for name, preset in (("deepfill-v1", "deepfill-v1-32"), ("deepfill-v2", "deepfill-v2-32"),
                         ("lama", "lama32")):  # fmt: skip
        with pytest.raises(InpaintkitError) as err:
            build_method(name)
        text = str(err.value)
        assert f"{preset!r} is not installed" in text and "--model FILE" in text
        assert f"inpaintkit train emoji --preset {preset} --objective {name}" in text


def test_deepfill_v2_generator_reads_the_sketch_inside_the_hole_only():
    """d output / d sketch is nonzero inside the hole and exactly zero outside it (the sketch
    is multiplied by the hole); an omitted sketch is an all-zero one."""
    torch.manual_seed(0)
    net = build_network("DeepFillV2Generator", {"width": 4})
    masked, hole = torch.randn(1, 3, 16, 16), torch.zeros(1, 1, 16, 16)
    hole[..., 4:12, 4:12] = 1
    sketch = torch.rand(1, 1, 16, 16, requires_grad=True)
    (grad,) = torch.autograd.grad(net(masked, hole, sketch).sum(), sketch)
    assert grad[hole > 0].abs().min() > 0 and grad[hole == 0].abs().max() == 0
    with torch.no_grad():
        assert torch.equal(net(masked, hole), net(masked, hole, torch.zeros(1, 1, 16, 16)))


def test_deepfill_v2_method_sketch_is_optional(tmp_path, monkeypatch):
    """The generator gets zeros without a sketch, the strokes (> mid-grey) inside the hole with
    one; a sketch for some images only is an error; `--sketch FILE` is `--input sketch=FILE`
    (the same tensor reaches the generator), and both at once are refused."""
    from inpaintkit.cli import app
    from inpaintkit.methods import Job, build_method, run_method
    from inpaintkit.models import FeedForwardModel, save_model

    seen: list[torch.Tensor] = []
    fill = FeedForwardModel.fill

    def spy(self, masked, hole, *extras):
        seen.append(extras[0].clone())
        return fill(self, masked, hole, *extras)

    monkeypatch.setattr(FeedForwardModel, "fill", spy)
    method = build_method("deepfill-v2", model=_tiny_v2_model())
    image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (16, 20, 3), np.uint8))
    hole = np.zeros((16, 20), bool)
    hole[4:12, 6:14] = True
    strokes = np.zeros((16, 20), np.uint8)
    strokes[:, 9] = 255
    strokes[:, 1] = 255  # outside the hole: ignored
    strokes[:, 11] = 100  # below mid-grey: not a stroke
    expected = torch.zeros(1, 1, 16, 20)
    expected[0, 0, 4:12, 9] = 1
    [[out]] = run_method(method, [Job(image, hole)])
    assert seen[-1].abs().max() == 0 and seen[-1].shape == (1, 1, 16, 20)
    assert np.array_equal(np.asarray(out)[~hole], np.asarray(image)[~hole])
    run_method(method, [Job(image, hole, {"sketch": strokes})])
    assert torch.equal(seen[-1], expected)
    for same in (strokes[:, :, None].repeat(3, 2), strokes > 127):  # RGB picture, bool mask
        run_method(method, [Job(image, hole, {"sketch": same})])
        assert torch.equal(seen[-1], expected)
    with pytest.raises(InpaintkitError, match="given for 1 of 2 images"):
        run_method(method, [Job(image, hole, {"sketch": strokes}), Job(image, hole)])
    save_model(_tiny_v2_model(), tmp_path / "v2.safetensors")
    image.save(tmp_path / "a.png")
    Image.fromarray(hole).save(tmp_path / "hole.png")
    Image.fromarray(strokes).save(tmp_path / "s.png")
    base = ["inpaint", str(tmp_path / "a.png"), "--mask", str(tmp_path / "hole.png"), "--method",
            "deepfill-v2", "--model", str(tmp_path / "v2.safetensors"), "--quiet"]  # fmt: skip
    runner = CliRunner()
    for flag, out, want in ((["--sketch", str(tmp_path / "s.png")], "o1", expected),
                            (["--input", f"sketch={tmp_path / 's.png'}"], "o2", expected),
                            ([], "o3", torch.zeros_like(expected))):  # fmt: skip
        seen.clear()
        result = runner.invoke(app, [*base, *flag, "--out", str(tmp_path / out)])
        assert result.exit_code == 0, result.output
        assert len(seen) == 1 and torch.equal(seen[0], want), out
    both = ["--sketch", str(tmp_path / "s.png"), "--input", f"sketch={tmp_path / 's.png'}"]
    result = runner.invoke(app, [*base, *both, "--out", str(tmp_path / "o4")])
    assert result.exit_code != 0 and "give the sketch one way" in result.output


def test_deepfill_v1_and_lama_methods_run_a_given_model_at_any_size():
    from inpaintkit.methods import Job, build_method, run_method
    from inpaintkit.models import FeedForwardModel

    rng = np.random.default_rng(1)
    image = Image.fromarray(rng.integers(0, 255, (18, 26, 3), dtype=np.uint8))
    hole = np.zeros((18, 26), bool)
    hole[5:13, 3:9] = True
    for name, cls, config in (("deepfill-v1", "DeepFillV1Generator", {"width": 4}),
                              ("lama", "LaMaGenerator", {"width": 8, "blocks": 1})):  # fmt: skip
        torch.manual_seed(0)
        model = FeedForwardModel(build_network(cls, config).eval(), multiple=4, source=name)
        method = build_method(name, model=model)
        [[out]] = run_method(method, [Job(image, hole)])
        assert out.size == (26, 18)
        assert np.array_equal(np.asarray(out)[~hole], np.asarray(image)[~hole])
