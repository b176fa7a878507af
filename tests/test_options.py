"""The one option schema and parser (inpaintkit.options), the method protocol (needs, cost,
for_budget, fit), the registry, and the walk chosen for a budget."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, replace

import pytest
from typer.testing import CliRunner

from inpaintkit.bench import parse_method_spec
from inpaintkit.cli import app
from inpaintkit.diffusion.schedules import count_steps
from inpaintkit.errors import InpaintkitError
from inpaintkit.methods import (
    METHODS,
    Method,
    Needs,
    OptionError,
    Options,
    ReferenceMethod,
    build_method,
    get_method,
    list_methods,
    option,
    option_schema,
    parse_options,
)
from inpaintkit.methods.diffusion import (
    BUDGET_MIN_STEPS,
    DDNMOptions,
    RePaint,
    RePaintFastOptions,
    RePaintOptions,
    SDEditOptions,
    choose_walk,
)
from inpaintkit.options import as_strings, describe_defaults

runner = CliRunner()

# The defaults as they were before the schema: results must stay bit-identical.
DEFAULTS = {
    "repaint": {"steps": 250, "jump_length": 10, "resamplings": 10, "jump_n_sample": 1,
                "spacing": "even", "eta": None, "variance": None, "clip_denoised": True,
                "share_noise": False, "precision": "auto", "channels_last": None,
                "compile": False},
    "repaint-fast": {"steps": 30, "jump_length": 5, "resamplings": 9, "spacing": "power1.25",
                     "eta": 1.0},
    "ddnm": {"steps": 50, "jump_length": 5, "resamplings": 5, "eta": 0.85, "spacing": "even"},
    "repaint-sdedit": {"steps": 250, "repeats": 17},
    "telea": {"radius": 3.0},
    "navier-stokes": {"radius": 3.0},
    "biharmonic": {"split_into_regions": False},
    "patchmatch": {"patch_radius": 3},
    "pde-diffusion": {"kind": "isotropic", "iterations": 5000, "tolerance": 0.01,
                      "kappa": 20.0, "relaxation": None},
    "exemplar": {"patch_size": 9, "search_radius": None},
    "pull-push": {},
    "inpaint-ddpm": {"steps": 50, "spacing": "even", "eta": None, "variance": None,
                     "clip_denoised": True, "precision": "auto", "channels_last": None,
                     "compile": False},
    "feedforward": {},
    "context-encoder": {},
    "glcic": {},
    "pconv": {},
    "deepfill-v1": {},
    "deepfill-v2": {},
    "lama": {},
    "realfill": {"steps": 200, "eta": None, "fit_steps": 400, "fit_batch": 4, "rank": 8,
                 "alpha": 16.0, "dropout": 0.1, "full_mask_proba": 0.1, "adapter": None},
    "strdiffusion": {"T": 100, "jump": 2, "re": 2, "u_min": 4, "u_max": 25, "early": 0.4,
                     "guidance": True, "resampling": "adaptive", "accept": "lower"},
}  # fmt: skip


def test_defaults_are_unchanged() -> None:
    assert set(DEFAULTS) == set(METHODS)
    for name, expected in DEFAULTS.items():
        defaults = asdict(METHODS[name].Options())
        assert {k: defaults[k] for k in expected} == expected, name
        for key, value in expected.items():  # same types too (3.0 stays a float)
            assert type(defaults[key]) is type(value), (name, key)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_defaults_round_trip_through_strings_and_json(name: str) -> None:
    cls = METHODS[name].Options
    defaults = cls()
    strings = as_strings(defaults)
    assert all(isinstance(v, str) for v in strings.values())
    assert parse_options(cls, strings, owner=name) == defaults
    assert parse_options(cls, json.loads(json.dumps(asdict(defaults)))) == defaults
    assert parse_options(cls, {}) == defaults
    spec = ",".join(f"{k}={v}" for k, v in strings.items())
    assert parse_method_spec(f"{name}:{spec}").parsed() == defaults


def test_strings_are_converted_by_the_declared_type() -> None:
    parsed = parse_options(
        RePaintOptions,
        {"steps": "50", "eta": "0.5", "clip-denoised": "no", "variance": "none",
         "channels_last": "on", "spacing": "power1.5", "jump_length": 5},
    )  # fmt: skip
    assert parsed == RePaintOptions(
        steps=50, eta=0.5, clip_denoised=False, channels_last=True, spacing="power1.5",
        jump_length=5,
    )  # fmt: skip
    assert parse_options(RePaintOptions, {"eta": "1"}).eta == 1.0
    assert type(parse_options(RePaintOptions, {"eta": 1}).eta) is float  # JSON 1 -> 1.0
    assert RePaintOptions(eta=1).eta == 1.0 and type(RePaintOptions(eta=1).eta) is float
    for word, value in [("true", True), ("Yes", True), ("1", True), ("off", False), ("0", False)]:
        assert parse_options(RePaintOptions, {"compile": word}).compile is value


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"resamplings": "abc"}, "option resamplings of repaint: 'abc' is not an integer; "
                                 "valid: integer >= 1"),
        ({"resamplings": "0"}, "option resamplings of repaint: 0 is out of range; "
                               "valid: integer >= 1"),
        ({"steps": 2.5}, "option steps of repaint: 2.5 is not an integer; valid: integer >= 1"),
        ({"steps": True}, "option steps of repaint: True is not an integer"),
        ({"steps": None}, "option steps of repaint: None is not allowed; valid: integer >= 1"),
        ({"eta": "-0.5"}, "option eta of repaint: -0.5 is out of range; "
                          "valid: number >= 0 or none"),
        ({"eta": "nan"}, "option eta of repaint: nan is not a finite number"),
        ({"compile": "maybe"}, "option compile of repaint: 'maybe' is not a boolean; "
                               "valid: boolean"),
        ({"variance": "wide"}, "option variance of repaint: 'wide' is not one of the choices; "
                               "valid: 'fixed_small', 'fixed_large', 'learned_range' or none"),
        ({"precision": "fp8"}, "unknown precision 'fp8'; choose one of"),  # runtime's check
        ({"spacing": "power0.5"}, "option spacing of repaint: 'power0.5' is not a spacing; "
                                  "valid: even, leading, quadratic or power<p>"),
        ({"stepz": "5"}, "unknown option 'stepz' for repaint; valid: steps, spacing, variance"),
        ({"a": 1, "b": 2}, "unknown options 'a', 'b' for repaint"),
        ({"steps": "5", "steps ": "6"}, "unknown option 'steps '"),
    ],
)  # fmt: skip
def test_errors_name_the_option_the_value_and_the_valid_values(values, message) -> None:
    with pytest.raises(InpaintkitError) as error:
        parse_options(RePaintOptions, values, owner="repaint")
    assert str(error.value).startswith(message), str(error.value)


def test_ranges_choices_and_checks_of_the_classical_methods() -> None:
    cases = [
        ("exemplar", {"patch_size": "8"}, "option patch_size of exemplar: 8 is even; "
                                          "valid: an odd integer >= 1 (3, 5, 9...)"),
        ("telea", {"radius": "0"}, "option radius of telea: 0.0 is out of range; "
                                   "valid: number > 0"),
        ("pde-diffusion", {"relaxation": "2"}, "option relaxation of pde-diffusion: 2.0 is out "
                                               "of range; valid: number > 0 and < 2 or none"),
        ("pde-diffusion", {"kind": "heat"}, "option kind of pde-diffusion: 'heat' is not one "
                                            "of the choices; valid: 'isotropic', 'perona-malik'"),
        ("patchmatch", {"patch_radius": "2000000000"}, "option patch_radius of patchmatch: "
                                                       "2000000000 is out of range; valid: "
                                                       "integer >= 1 and <= 1073741823"),
    ]  # fmt: skip
    for name, values, message in cases:
        with pytest.raises(OptionError) as error:
            parse_options(get_method(name).Options, values, owner=name)
        assert str(error.value) == message
    with pytest.raises(OptionError, match="^option patch_size: 4 is even"):
        get_method("exemplar").Options(patch_size=4)  # direct construction is validated too


def test_schema_lists_defaults_ranges_and_help() -> None:
    schema = {o["name"]: o for o in option_schema(RePaintFastOptions)}
    assert [schema[k]["default"] for k in ("steps", "jump_length", "resamplings")] == [30, 5, 9]
    assert schema["steps"]["help"] == "respaced reverse steps (the paper's T)"  # inherited
    assert (schema["steps"]["type"], schema["steps"]["min"], schema["steps"]["max"]) == (
        "integer",
        1,
        None,
    )
    assert schema["eta"]["type"] == "number or none" and schema["eta"]["default"] == 1.0
    assert schema["variance"]["choices"] == ["fixed_small", "fixed_large", "learned_range"]
    assert schema["precision"]["valid"] == "auto, fp32, bf16, fp16"
    assert all(o["help"] for name in METHODS for o in option_schema(METHODS[name].Options))
    assert describe_defaults(RePaintFastOptions, RePaintFastOptions.HEADLINE) == (
        "steps=30, jump_length=5, resamplings=9, spacing=power1.25, eta=1.0"
    )


def test_a_plain_dataclass_is_parsed_by_its_types() -> None:
    @dataclass(frozen=True)
    class Plain:
        level: int = 0
        ratio: float | None = None

    assert parse_options(Plain, {"level": "3", "ratio": "none"}) == Plain(3, None)
    with pytest.raises(OptionError, match="option level of fake: 'x' is not an integer"):
        parse_options(Plain, {"level": "x"}, owner="fake")


def test_needs_and_cost_of_every_method() -> None:
    costs = {name: cls.cost(cls.Options()) for name, cls in METHODS.items()}
    assert costs["repaint"] == {"network_evaluations": 2410, "undo_steps": 2160}
    assert costs["repaint-fast"] == {"network_evaluations": 230, "undo_steps": 200}
    assert costs["ddnm"] == {"network_evaluations": 230, "undo_steps": 180}
    assert costs["repaint-sdedit"]["network_evaluations"] == 2392
    assert costs["inpaint-ddpm"] == {"network_evaluations": 50}
    assert costs["feedforward"] == {"network_evaluations": 1}
    assert costs["realfill"] == {"network_evaluations": 200}
    kinds = {"inpaint-ddpm": "conditional-diffusion", "feedforward": "feedforward",
             "realfill": "conditional-diffusion", "strdiffusion": "bundle"}  # fmt: skip
    kinds.update(dict.fromkeys(("context-encoder", "glcic", "pconv"), "feedforward"))
    kinds.update({name: "feedforward" for name in ("deepfill-v1", "deepfill-v2", "lama")})
    for name, cls in METHODS.items():
        diffusion = name.startswith(("repaint", "ddnm"))
        kind = "prior" if diffusion else kinds.get(name)
        assert cls.needs == Needs(kind, references=name == "realfill")
        assert (costs[name]["network_evaluations"] > 0) is (kind is not None)
        assert not re.search(r"\b[Tjr]=\d|NFE|steps=", cls.summary), cls.summary  # no defaults
    listed = {m["name"]: m for m in list_methods()}
    assert listed["repaint-fast"]["cost"]["network_evaluations"] == 230
    assert listed["telea"]["model_kind"] is None and listed["ddnm"]["model_kind"] == "prior"
    with pytest.raises(InpaintkitError, match="unknown model kind 'gan'"):
        Needs("gan")


def test_methods_command_is_generated_from_the_schema() -> None:
    result = runner.invoke(app, ["methods"])
    assert result.exit_code == 0, result.output
    line = next(ln for ln in result.output.splitlines() if ln.startswith("repaint-fast "))
    assert "steps=30, jump_length=5, resamplings=9" in line and "230 NFE" in line
    assert "prior" in line and "T=50" not in result.output
    assert len(result.output.splitlines()) == len(METHODS) + 2  # a header, auto, one line each
    assert result.output.splitlines()[1].startswith("auto ") and "64 px" in result.output
    verbose = runner.invoke(app, ["methods", "--verbose"]).output
    assert "resamplings   = 9  [integer >= 1]" in verbose
    assert "patch_size    = 9  [an odd integer >= 1 (3, 5, 9...)]" in verbose


def test_a_bad_option_fails_before_the_model_is_loaded(tmp_path) -> None:
    missing = str(tmp_path / "no-such-model.safetensors")
    with pytest.raises(InpaintkitError, match="option resamplings of repaint: 'abc'"):
        build_method("repaint", model=missing, options={"resamplings": "abc"})
    with pytest.raises(InpaintkitError, match="unknown option 'jump' for ddnm"):
        build_method("ddnm", model=missing, jump=3)
    with pytest.raises(InpaintkitError, match="no-such-model"):  # the options were fine
        build_method("repaint", model=missing, options={"resamplings": "3"})
    image = tmp_path / "x.png"
    from PIL import Image

    Image.new("RGB", (16, 16)).save(image)
    for extra in ([], ["--budget", "100"], ["--dry-run"]):
        args = ["inpaint", str(image), "--mask-kind", "half", "--model", missing]
        result = runner.invoke(app, [*args, "-o", "resamplings=abc", *extra])
        assert result.exit_code == 2
        assert "option resamplings of repaint: 'abc' is not an integer; valid: integer >= 1" in (
            result.output
        )


def test_build_method_takes_an_options_instance_or_values() -> None:
    options = get_method("telea").Options(radius=5)
    assert build_method("telea", options=options).options is options
    assert build_method("telea", options={"radius": "5"}).options == options
    assert build_method("telea", radius=5).options == options
    with pytest.raises(InpaintkitError, match="either"):
        build_method("telea", options=options, radius=4)


# -- budgets ----------------------------------------------------------------------------------


def _walk(options) -> tuple[int, int, int, int]:
    return (options.steps, options.jump_length, options.resamplings, _nfe(options))


def _nfe(options) -> int:
    return count_steps(options.times())[0]


@pytest.mark.parametrize(
    ("options", "budget", "fixed", "walk"),
    [
        # (steps, j, r, NFE); r is lowered until the walk keeps 15 steps
        (RePaintOptions(), 2410, (), (250, 10, 10, 2410)),
        (RePaintOptions(), 241, (), (30, 10, 10, 210)),
        (RePaintOptions(), 100, (), (20, 10, 9, 100)),  # r=10 leaves 11 steps
        (RePaintOptions(), 30, (), (20, 10, 2, 30)),
        (RePaintOptions(), 12, (), (12, 10, 1, 12)),  # below 15 steps: no resampling
        (RePaintFastOptions(), 230, (), (30, 5, 9, 230)),  # the default walk exactly
        (RePaintFastOptions(), 105, (), (15, 5, 9, 95)),  # docs/benchmarks.md's T=15
        (RePaintFastOptions(), 55, (), (15, 5, 5, 55)),  # not T=10, r=9 (2-3 dB worse)
        (DDNMOptions(), 241, (), (50, 5, 5, 230)),
        # what the user gave is kept
        (RePaintOptions(), 100, ("resamplings",), (18, 9, 10, 99)),  # j lowered to fit
        (RePaintFastOptions(resamplings=9), 55, ("resamplings",), (10, 5, 9, 50)),
        (RePaintOptions(jump_length=5), 241, ("jump_length",), (25, 5, 10, 205)),
    ],
)
def test_budget_chooses_the_walk(options, budget: int, fixed: tuple, walk: tuple) -> None:
    chosen = RePaint.for_budget(options, budget, fixed=fixed)
    assert _walk(chosen) == walk
    assert walk[3] <= budget
    assert chosen.steps >= min(BUDGET_MIN_STEPS, budget) or "resamplings" in fixed
    keep = {"steps", "jump_length", "resamplings"}
    assert {k: v for k, v in asdict(chosen).items() if k not in keep} == {
        k: v for k, v in asdict(options).items() if k not in keep
    }


def test_budget_limits() -> None:
    with pytest.raises(InpaintkitError, match="budget of 100 .*steps=11 costs 101"):
        choose_walk(RePaintOptions(), 100, fixed=("jump_length", "resamplings"))
    with pytest.raises(InpaintkitError, match="drop --steps"):
        choose_walk(RePaintOptions(), 100, fixed=("steps",))
    with pytest.raises(InpaintkitError, match="at least 1"):
        choose_walk(RePaintOptions(), 0)
    assert _walk(choose_walk(RePaintOptions(), 10**6, max_steps=1000)) == (1000, 10, 10, 9910)
    assert _walk(choose_walk(RePaintOptions(), 2410, max_steps=8)) == (8, 10, 1, 8)
    sdedit = choose_walk(SDEditOptions(), 2392)  # no j or r: only the steps are chosen
    assert sdedit == replace(SDEditOptions(), steps=250)
    with pytest.raises(InpaintkitError, match="telea uses no network"):
        get_method("telea").for_budget(get_method("telea").Options(), 100)


# -- the protocol -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _MeanOptions(Options):
    strength: float = option(1.0, help="how much of the reference mean to use", min=0, max=1)


class _ReferenceMean(ReferenceMethod):
    """A fake reference-driven method: fit() learns the mean colour of the references."""

    name = "reference-mean"
    summary = "fills the hole with the references' mean colour"
    Options = _MeanOptions

    def __init__(self, options: _MeanOptions | None = None) -> None:
        self.options = options or self.Options()
        self.mean: tuple[float, ...] | None = None

    def fit(self, references, *, steps, seed=0, progress=True):
        import numpy as np

        pixels = np.concatenate([np.asarray(r, np.float64).reshape(-1, 3) for r in references])
        self.mean = tuple(pixels.mean(0) * self.options.strength)
        return {"loss": 0.0, "steps": float(steps)}


def test_a_reference_method_fits_before_inpainting() -> None:
    from PIL import Image

    assert issubclass(_ReferenceMean, Method) and _ReferenceMean.needs.references
    assert _ReferenceMean.needs.model_kind is None
    assert _ReferenceMean.cost(_MeanOptions()) == {"network_evaluations": 0}
    method = _ReferenceMean(parse_options(_MeanOptions, {"strength": "0.5"}))
    stats = method.fit([Image.new("RGB", (4, 4), (200, 100, 0))], steps=3, seed=0)
    assert stats == {"loss": 0.0, "steps": 3.0} and method.mean == (100.0, 50.0, 0.0)
    assert "reference images" in _ReferenceMean.needs.describe()
    with pytest.raises(NotImplementedError):
        ReferenceMethod().fit([], steps=1)
    with pytest.raises(OptionError, match="strength"):
        _MeanOptions(strength=2.0)


def test_train_and_model_options_use_the_one_parser(tmp_path) -> None:
    """`inpaintkit train -o` and `--model-option` are typed by inpaintkit.options, before any
    data or model is touched: the error names the option and what is valid."""
    from typer.testing import CliRunner

    from inpaintkit.cli import app

    runner = CliRunner()
    result = runner.invoke(
        app, ["train", "no-such-data", "--out", str(tmp_path / "r"), "-o", "warmup_steps=abc"]
    )
    assert result.exit_code == 2
    assert "option warmup_steps of inpaintkit train: 'abc' is not an integer" in result.output
    result = runner.invoke(
        app, ["train", "no-such-data", "--out", str(tmp_path / "r"), "-o", "lrr=1"]
    )
    assert result.exit_code == 2 and "unknown option 'lrr' for inpaintkit train" in result.output
    image = tmp_path / "a.png"
    from PIL import Image

    Image.new("RGB", (32, 32), "white").save(image)
    result = runner.invoke(
        app,
        ["inpaint", str(image), "--mask-kind", "half", "--model", "nowhere.pt",
         "--model-option", "image_size=big", "--out", str(tmp_path / "o")],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "option image_size of the model: 'big' is not an integer" in result.output
    assert not (tmp_path / "r").exists() and not (tmp_path / "o").exists()
