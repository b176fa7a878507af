"""inpaintkit.inpaint and the shared method wrapper: invariants of what users get back."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import inpaintkit
from inpaintkit.errors import InpaintkitError
from inpaintkit.methods import Job, RePaint, RePaintOptions, run_method
from inpaintkit.models import DiffusionModel

FAST = {"steps": 8, "jump_length": 2, "resamplings": 2, "progress": False}


def _image(seed: int = 0, size: int = 16) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8))


def _hole(size: int = 16) -> np.ndarray:
    hole = np.zeros((size, size), bool)
    hole[4:12, 3:9] = True
    return hole


def test_known_pixels_equal_input_and_hole_changes(tiny_model: DiffusionModel) -> None:
    image, hole = _image(), _hole()
    out = inpaintkit.inpaint(image, hole, model=tiny_model, **FAST)
    a, b = np.asarray(out), np.asarray(image)
    assert out.size == image.size and out.mode == "RGB"
    assert np.array_equal(a[~hole], b[~hole])
    assert np.abs(a[hole].astype(int) - b[hole]).mean() > 10


def test_samples_seeds_and_batch_independence(tiny_model: DiffusionModel) -> None:
    image, hole = _image(), _hole()
    three = inpaintkit.inpaint(image, hole, model=tiny_model, samples=3, seed=5, **FAST)
    again = inpaintkit.inpaint(image, hole, model=tiny_model, samples=3, seed=5, **FAST)
    assert [x.tobytes() for x in three] == [x.tobytes() for x in again]
    assert len({x.tobytes() for x in three}) == 3
    one = inpaintkit.inpaint(image, hole, model=tiny_model, samples=1, seed=5, **FAST)
    assert one.tobytes() == three[0].tobytes()  # sample 0 does not depend on K


def test_batch_of_inputs_with_different_holes(tiny_model: DiffusionModel) -> None:
    # a 6-evaluation walk (T=4, j=2, r=2): what is asserted does not depend on the walk's length
    options = RePaintOptions(steps=4, jump_length=2, resamplings=2)
    assert RePaint.cost(options)["network_evaluations"] == 6
    method = RePaint(options, model=tiny_model, progress=False)
    holes = [_hole(), np.fliplr(_hole()).copy(), np.zeros((16, 16), bool)]
    jobs = [Job(_image(n), h) for n, h in enumerate(holes)]
    together = run_method(method, jobs, samples=2, seed=1, batch_size=8)
    one_by_one = run_method(method, jobs, samples=2, seed=1, batch_size=1)
    for job, outs in zip(jobs, together):
        for out in outs:
            assert np.array_equal(np.asarray(out)[~job.hole], np.asarray(job.image)[~job.hole])
    # the empty hole comes back unchanged, without sampling
    assert together[2][0].tobytes() == jobs[2].image.tobytes()
    # the same (input, sample) seed gives the same pixels whatever the batch
    for outs, singles in zip(together, one_by_one):
        for out, single in zip(outs, singles):
            assert np.abs(np.asarray(out, int) - np.asarray(single, int)).max() <= 1


def test_empty_hole_calls_no_network(tiny_model: DiffusionModel) -> None:
    calls = []
    tiny_model.unet.register_forward_hook(lambda *args: calls.append(1))
    image = _image()
    out = inpaintkit.inpaint(image, np.zeros((16, 16), bool), model=tiny_model, **FAST)
    assert out.tobytes() == image.tobytes() and calls == []


def test_full_hole_is_pure_sampling(tiny_model: DiffusionModel) -> None:
    image = _image()
    out = inpaintkit.inpaint(image, np.ones((16, 16), bool), model=tiny_model, **FAST)
    assert np.abs(np.asarray(out, int) - np.asarray(image)).mean() > 10


def test_size_mismatch_refused_by_original_unless_resize_or_crop(
    tiny_model: DiffusionModel,
) -> None:
    image, hole = _image(size=40), _hole(40)
    with pytest.raises(InpaintkitError, match="works at 16x16 but the image is 40x40"):
        inpaintkit.inpaint(image, hole, model=tiny_model, strategy="original", **FAST)
    resized = inpaintkit.inpaint(image, hole, model=tiny_model, resize=True, **FAST)
    same = inpaintkit.inpaint(image, hole, model=tiny_model, strategy="resize", **FAST)
    cropped = inpaintkit.inpaint(image, hole, model=tiny_model, **FAST)  # auto: crop
    assert resized.tobytes() == same.tobytes() != cropped.tobytes()
    for out in (resized, cropped):
        assert out.size == (40, 40)
        assert np.array_equal(np.asarray(out)[~hole], np.asarray(image)[~hole])
    with pytest.raises(InpaintkitError, match="unknown strategy 'tile'"):
        inpaintkit.inpaint(image, hole, model=tiny_model, strategy="tile", **FAST)
    with pytest.raises(InpaintkitError, match="contradicts 'crop'"):
        inpaintkit.inpaint(image, hole, model=tiny_model, resize=True, strategy="crop", **FAST)


def test_bad_options_and_inputs(tiny_model: DiffusionModel) -> None:
    with pytest.raises(InpaintkitError, match="unknown option"):
        inpaintkit.inpaint(_image(), _hole(), model=tiny_model, jump=3)
    with pytest.raises(InpaintkitError, match="unknown method"):
        inpaintkit.inpaint(_image(), _hole(), method="magic", model=tiny_model)
    with pytest.raises(InpaintkitError, match=r"8x8 \(WxH\) but the image is 16x16"):
        inpaintkit.inpaint(_image(), _hole(8), model=tiny_model, **FAST)


def test_class_conditional_needs_a_label() -> None:
    from conftest import make_tiny_unet

    model = DiffusionModel(make_tiny_unet(num_class_embeds=5))
    with pytest.raises(InpaintkitError, match="class label in 0..4"):
        RePaint(model=model)
    out = inpaintkit.inpaint(_image(), _hole(), model=model, class_label=4, **FAST)
    assert out.size == (16, 16)


# ---------------------------------------------------------------------------------------------
# inpaint_batch


def test_inpaint_batch_equals_one_by_one_calls(tiny_model: DiffusionModel) -> None:
    images = [_image(1), _image(2), _image(3, size=24)]  # two working sizes in one batch
    holes = [_hole(), _hole(), np.pad(_hole(), 4)]
    batch = inpaintkit.inpaint_batch(
        images, holes, model=tiny_model, seed=[7, 7, 9], batch_size=2, **FAST
    )
    assert len(batch) == 3 and all(isinstance(r, Image.Image) for r in batch)
    for image, hole, seed, got in zip(images, holes, [7, 7, 9], batch):
        alone = inpaintkit.inpaint(image, hole, model=tiny_model, seed=seed, **FAST)
        assert np.asarray(got).tobytes() == np.asarray(alone).tobytes()
    # one seed for all: the same as one-by-one calls with that seed; samples give lists
    two = inpaintkit.inpaint_batch(images[:2], holes[:2], model=tiny_model, samples=2, **FAST)
    assert [len(r) for r in two] == [2, 2]
    alone = inpaintkit.inpaint(images[1], holes[1], model=tiny_model, samples=2, **FAST)
    assert [np.asarray(a).tobytes() for a in two[1]] == [np.asarray(a).tobytes() for a in alone]


def test_inpaint_batch_classical_and_errors() -> None:
    images, holes = [_image(1), _image(2)], [_hole(), _hole()]
    batch = inpaintkit.inpaint_batch(images, holes, "telea", radius=4)
    alone = [inpaintkit.inpaint(i, h, "telea", radius=4) for i, h in zip(images, holes)]
    assert [np.asarray(r).tobytes() for r in batch] == [np.asarray(r).tobytes() for r in alone]
    with pytest.raises(InpaintkitError, match=r"^give one hole per image: got 2 image\(s\) and 1"):
        inpaintkit.inpaint_batch(images, holes[:1], "telea")
    with pytest.raises(InpaintkitError, match=r"^give one seed, or one per image \(2\): got 3$"):
        inpaintkit.inpaint_batch(images, holes, "telea", seed=[1, 2, 3])
    with pytest.raises(InpaintkitError, match="^holes must be a list .one per image., got one nd"):
        inpaintkit.inpaint_batch(images, _hole(), "telea")
    with pytest.raises(InpaintkitError, match="^hole 1: "):
        inpaintkit.inpaint_batch(images, [_hole(), _hole(8)], "telea")
