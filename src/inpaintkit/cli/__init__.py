"""The ``inpaintkit`` command line (typer), one module per command group. Nothing below this
package imports it.

Run as the program, it applies the thread policy (inpaintkit.threads) before the command
modules import torch; imported by a test or a program, it changes nothing global."""

import sys

from ..threads import applied_policy, apply_thread_policy, launched_as_program

if launched_as_program() and applied_policy() is None:  # python -m inpaintkit: applied already
    try:
        apply_thread_policy(sys.argv[1:])
    except ValueError as _err:  # InpaintkitError: a bad INPAINTKIT_THREADS / OMP_NUM_THREADS
        print(f"error: {_err}", file=sys.stderr)
        raise SystemExit(2) from None

from . import bench, info, inpaint, realfill, serve, study, train  # noqa: E402, F401  (they register)
from .app import app  # noqa: E402

__all__ = ["app"]
