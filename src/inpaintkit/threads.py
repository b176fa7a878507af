"""The CPU thread policy of the command line, applied before torch loads.

torch starts one OpenMP thread per core, and its threads spin while they wait. On a machine
where another process is busy on one of two cores, one network evaluation then took 532 ms
instead of 52 ms with one thread (docs/benchmarks.md, "Threads on a busy machine"). The
command line therefore sets ``OMP_NUM_THREADS`` and ``OMP_WAIT_POLICY`` before torch is
imported; what the user set wins, in this order:

1. ``--threads N`` on the command line;
2. the ``INPAINTKIT_THREADS`` environment variable;
3. the user's own ``OMP_NUM_THREADS`` (and ``OMP_WAIT_POLICY``);
4. the defaults: :func:`default_threads` threads; OMP_WAIT_POLICY :data:`DEFAULT_WAIT_POLICY`
   unless the user set OMP_WAIT_POLICY, whoever chose the thread count.

Only the command line applies it (``inpaintkit.cli`` when run as the program, and
``python -m inpaintkit``); importing the library changes no global state. This module must not
import torch at module level: the environment only counts before torch loads.
"""

from __future__ import annotations

import os
import sys
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import InpaintkitError

ENV_THREADS = "INPAINTKIT_THREADS"
#: OpenMP's wait policy for our default: idle threads sleep instead of spinning, so a thread
#: that waits for a core another process holds does not burn the core its peers need.
DEFAULT_WAIT_POLICY = "PASSIVE"
#: At most this many threads by default (the networks are small; more threads mostly wait).
MAX_DEFAULT_THREADS = 4


@dataclass(frozen=True)
class ThreadPolicy:
    """What the policy chose. threads: the torch intra-op threads; wait_policy: OpenMP's wait
    policy (None: OpenMP's own default); source: who chose the thread count ("--threads",
    "INPAINTKIT_THREADS", "OMP_NUM_THREADS" or "default"); torch_loaded: torch was already
    imported when the policy was applied (then the wait policy could not take effect)."""

    threads: int
    wait_policy: str | None
    source: str
    torch_loaded: bool = False

    def describe(self) -> str:
        """One line, e.g. "2 torch threads (default; OMP_WAIT_POLICY=PASSIVE)"."""
        wait = f"; OMP_WAIT_POLICY={self.wait_policy}" if self.wait_policy else ""
        return f"{self.threads} torch thread(s) ({self.source}{wait})"


def cpu_count() -> int:
    """The cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def default_threads(cores: int | None = None) -> int:
    """The default thread count: one per core, at most :data:`MAX_DEFAULT_THREADS`."""
    return max(1, min(cores or cpu_count(), MAX_DEFAULT_THREADS))


def _positive(value: str, name: str) -> int:
    try:
        threads = int(value.strip())
    except ValueError:
        threads = 0
    if threads < 1:
        raise InpaintkitError(
            f"{name} must be a whole number of threads >= 1, got {value!r} "
            f"(e.g. {name}=1 on a busy machine)"
        )
    return threads


def threads_from_argv(argv: Sequence[str]) -> str | None:
    """The value of the last ``--threads N`` / ``--threads=N`` before a ``--``, or None."""
    found = None
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--threads" and i + 1 < len(argv):
            found = argv[i + 1]
        elif arg.startswith("--threads="):
            found = arg.partition("=")[2]
    return found


def choose_thread_policy(
    argv: Sequence[str] = (), environ: MutableMapping[str, str] | None = None
) -> ThreadPolicy:
    """The policy for these arguments and this environment, without applying it. Raises
    InpaintkitError for an ``INPAINTKIT_THREADS`` or ``OMP_NUM_THREADS`` that is not a whole
    number >= 1; an invalid ``--threads`` value is left to the command's own option check."""
    environ = os.environ if environ is None else environ
    wait = environ.get("OMP_WAIT_POLICY") or DEFAULT_WAIT_POLICY
    given = threads_from_argv(argv)
    if given is not None:
        try:
            return ThreadPolicy(_positive(given, "--threads"), wait, "--threads")
        except InpaintkitError:
            pass  # typer reports the bad value with the option's own message
    if environ.get(ENV_THREADS, "").strip():
        return ThreadPolicy(_positive(environ[ENV_THREADS], ENV_THREADS), wait, ENV_THREADS)
    if environ.get("OMP_NUM_THREADS", "").strip():
        value = environ["OMP_NUM_THREADS"].split(",")[0]  # OpenMP allows a nested list
        return ThreadPolicy(_positive(value, "OMP_NUM_THREADS"), wait, "OMP_NUM_THREADS")
    return ThreadPolicy(default_threads(), wait, "default")


def apply_thread_policy(
    argv: Sequence[str] = (), environ: MutableMapping[str, str] | None = None
) -> ThreadPolicy:
    """Choose the policy and set ``OMP_NUM_THREADS`` / ``OMP_WAIT_POLICY`` in ``environ``
    (default ``os.environ``) for torch to read when it loads; when torch is already loaded, set
    its thread count directly (the wait policy then stays as it was). Returns the policy."""
    environ = os.environ if environ is None else environ
    policy = choose_thread_policy(argv, environ)
    environ["OMP_NUM_THREADS"] = str(policy.threads)
    if policy.wait_policy:
        environ["OMP_WAIT_POLICY"] = policy.wait_policy
    if "torch" in sys.modules:
        import torch

        torch.set_num_threads(policy.threads)
        policy = ThreadPolicy(policy.threads, policy.wait_policy, policy.source, True)
    global _applied
    _applied = policy
    return policy


_applied: ThreadPolicy | None = None


def applied_policy() -> ThreadPolicy | None:
    """The policy :func:`apply_thread_policy` last applied in this process, or None."""
    return _applied


def set_threads(threads: int) -> None:
    """Use ``threads`` torch threads from now on (``--threads`` once torch has loaded)."""
    import torch

    torch.set_num_threads(threads)
    global _applied
    wait = os.environ.get("OMP_WAIT_POLICY") or None
    _applied = ThreadPolicy(threads, wait, "--threads", "torch" in sys.modules)


def thread_report() -> dict:
    """What the running process uses: {"threads": torch's thread count, "wait_policy",
    "source"} (for ``--dry-run`` and inpaintkit.json; loads torch)."""
    import torch

    policy = _applied
    return {
        "threads": torch.get_num_threads(),
        "wait_policy": os.environ.get("OMP_WAIT_POLICY") or None,
        "source": policy.source if policy else "torch default",
    }


def launched_as_program(main_module: object | None = None) -> bool:
    """True when this process is the ``inpaintkit`` command (its console script, or
    ``python -m inpaintkit``), not a program or test that imports the library."""
    main = sys.modules.get("__main__") if main_module is None else main_module
    spec = getattr(main, "__spec__", None)
    if spec is not None and getattr(spec, "name", "") == "inpaintkit.__main__":
        return True
    name = Path(getattr(main, "__file__", None) or "").name
    return name in {"inpaintkit", "inpaintkit.exe", "inpaintkit-script.py"}
