"""The CLI's thread policy (inpaintkit.threads): chosen before torch loads, overridable, applied
only by the command line, and the same for --dry-run's estimate as for the run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from inpaintkit.errors import InpaintkitError
from inpaintkit.threads import (
    DEFAULT_WAIT_POLICY,
    MAX_DEFAULT_THREADS,
    ThreadPolicy,
    apply_thread_policy,
    choose_thread_policy,
    default_threads,
    launched_as_program,
    threads_from_argv,
)

SRC = Path(__file__).resolve().parents[1] / "src"
CLEAN = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "INPAINTKIT_THREADS", "MKL_NUM_THREADS")


def test_default_is_passive_one_thread_per_core_up_to_four() -> None:
    assert DEFAULT_WAIT_POLICY == "PASSIVE" and MAX_DEFAULT_THREADS == 4
    assert [default_threads(c) for c in (1, 2, 3, 4, 16)] == [1, 2, 3, 4, 4]
    policy = choose_thread_policy([], {})
    assert policy == ThreadPolicy(default_threads(), "PASSIVE", "default")
    assert (
        policy.describe()
        == f"{default_threads()} torch thread(s) (default; OMP_WAIT_POLICY=PASSIVE)"
    )


@pytest.mark.parametrize(
    ("argv", "environ", "expected"),
    [
        (["inpaint", "--threads", "3"], {"OMP_NUM_THREADS": "2"}, (3, "PASSIVE", "--threads")),
        (["--threads=5", "inpaint"], {"INPAINTKIT_THREADS": "2"}, (5, "PASSIVE", "--threads")),
        ([], {"INPAINTKIT_THREADS": "2", "OMP_NUM_THREADS": "1"},
         (2, "PASSIVE", "INPAINTKIT_THREADS")),
        ([], {"OMP_NUM_THREADS": "1"}, (1, "PASSIVE", "OMP_NUM_THREADS")),
        ([], {"OMP_NUM_THREADS": "3,1"}, (3, "PASSIVE", "OMP_NUM_THREADS")),
        ([], {"OMP_WAIT_POLICY": "ACTIVE"}, (default_threads(), "ACTIVE", "default")),
        (["--", "--threads", "7"], {"OMP_NUM_THREADS": "1"}, (1, "PASSIVE", "OMP_NUM_THREADS")),
        # a bad --threads is left to typer's own option check (min=1)
        (["--threads", "0"], {"OMP_NUM_THREADS": "2"}, (2, "PASSIVE", "OMP_NUM_THREADS")),
    ],
)  # fmt: skip
def test_what_the_user_set_wins(argv, environ, expected) -> None:
    policy = choose_thread_policy(argv, environ)
    assert (policy.threads, policy.wait_policy, policy.source) == expected


def test_user_wait_policy_kept_when_threads_given() -> None:
    policy = choose_thread_policy([], {"OMP_NUM_THREADS": "2", "OMP_WAIT_POLICY": "active"})
    assert (policy.threads, policy.wait_policy) == (2, "active")
    # the default wait policy stays whoever chose the thread count
    assert choose_thread_policy(["--threads", "2"], {}).wait_policy == "PASSIVE"


@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5"])
def test_bad_thread_variables_are_clear_errors(value) -> None:
    with pytest.raises(InpaintkitError, match=r"INPAINTKIT_THREADS must be a whole number .* got"):
        choose_thread_policy([], {"INPAINTKIT_THREADS": value})
    with pytest.raises(InpaintkitError, match=r"OMP_NUM_THREADS must be a whole number"):
        choose_thread_policy([], {"OMP_NUM_THREADS": value})


def test_threads_from_argv() -> None:
    assert threads_from_argv(["a", "--threads", "2", "--threads=3"]) == "3"
    assert threads_from_argv(["--threads"]) is None
    assert threads_from_argv(["--", "--threads", "2"]) is None


def test_apply_sets_the_environment_for_torch() -> None:
    environ: dict[str, str] = {}
    policy = apply_thread_policy([], environ)
    assert environ == {"OMP_NUM_THREADS": str(default_threads()), "OMP_WAIT_POLICY": "PASSIVE"}
    assert policy.source == "default"
    environ = {"OMP_WAIT_POLICY": "ACTIVE"}
    apply_thread_policy(["--threads", "1"], environ)
    assert environ == {"OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "ACTIVE"}


def test_only_the_program_applies_it() -> None:
    assert launched_as_program(
        SimpleNamespace(__spec__=SimpleNamespace(name="inpaintkit.__main__"))
    )
    assert launched_as_program(SimpleNamespace(__spec__=None, __file__="/venv/bin/inpaintkit"))
    assert not launched_as_program(SimpleNamespace(__spec__=None, __file__="/venv/bin/pytest"))
    assert not launched_as_program(SimpleNamespace(__spec__=None))


def _python(code: str, env_extra: dict, script: Path | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in CLEAN}
    env.update(env_extra, PYTHONPATH=str(SRC))
    args = [sys.executable, str(script)] if script else [sys.executable, "-c", code]
    if script:
        script.write_text(code)
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


PROBE = """
import json, os, sys
import inpaintkit.cli
from inpaintkit.threads import applied_policy
loaded_by_cli = "torch" in sys.modules
import torch
policy = applied_policy()
print(json.dumps({"threads": torch.get_num_threads(), "wait": os.environ.get("OMP_WAIT_POLICY"),
                  "policy": policy and [policy.source, policy.torch_loaded],
                  "loaded_by_cli": loaded_by_cli}))
"""


def test_importing_the_library_or_cli_changes_nothing_global() -> None:
    got = _python("import sys\nsys.argv = ['x']\n" + PROBE, {"OMP_NUM_THREADS": "1"})
    assert got == {"threads": 1, "wait": None, "policy": None, "loaded_by_cli": False}
    got = _python("import json, os, sys, inpaintkit\nprint(json.dumps('torch' in sys.modules))", {})
    assert got is False  # inpaint / load_model load torch on first use


def test_the_console_script_applies_it_before_torch_loads(tmp_path) -> None:
    # a file named like the console script ("from inpaintkit.cli import app; app()")
    script = tmp_path / "inpaintkit"
    got = _python(PROBE, {}, script)
    assert got == {
        "threads": default_threads(),
        "wait": "PASSIVE",
        "policy": ["default", False],  # torch was not loaded when the policy was applied
        "loaded_by_cli": False,
    }
    got = _python(PROBE, {"INPAINTKIT_THREADS": "1", "OMP_WAIT_POLICY": "ACTIVE"}, script)
    assert got["threads"] == 1 and got["wait"] == "ACTIVE"
    assert got["policy"] == ["INPAINTKIT_THREADS", False]


def _cli(args: list[str], env_extra: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in CLEAN}
    env.update(env_extra, PYTHONPATH=str(SRC))
    return subprocess.run(
        [sys.executable, "-m", "inpaintkit", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_bad_inpaintkit_threads_is_one_line_error() -> None:
    done = _cli(["methods"], {"INPAINTKIT_THREADS": "lots"})
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: INPAINTKIT_THREADS must be a whole number of threads >= 1, got 'lots' "
        "(e.g. INPAINTKIT_THREADS=1 on a busy machine)"
    )


@pytest.mark.parametrize(
    ("args", "env", "threads", "source"),
    [
        ([], {}, default_threads(), "default"),
        (["--threads", "1"], {}, 1, "--threads"),
        ([], {"INPAINTKIT_THREADS": "1"}, 1, "INPAINTKIT_THREADS"),
    ],
)
def test_dry_run_and_run_use_the_same_threads(tmp_path, args, env, threads, source) -> None:
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(tmp_path / "a.png")
    hole = np.zeros((32, 32), np.uint8)
    hole[8:20, 8:20] = 255
    Image.fromarray(hole).save(tmp_path / "m.png")
    common = [*args, "inpaint", str(tmp_path / "a.png"), "--mask", str(tmp_path / "m.png")]
    fast = ["--steps", "2", "--jump-length", "1", "--resamplings", "1"]
    dry = _cli([*common, *fast, "--out", str(tmp_path / "dry"), "--dry-run"], env)
    assert dry.returncode == 0, dry.stderr
    assert f"threads: {threads} ({source}; OMP_WAIT_POLICY=PASSIVE)" in dry.stdout
    run = _cli([*common, *fast, "--out", str(tmp_path / "run")], env)
    assert run.returncode == 0, run.stderr
    config = json.loads((tmp_path / "run" / "inpaintkit.json").read_text())
    assert config["threads"] == {
        "threads": threads,
        "wait_policy": "PASSIVE",
        "source": source,
    }
