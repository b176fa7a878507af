"""``python -m inpaintkit``: the thread policy first (before torch loads), then the CLI."""

import sys

from inpaintkit.threads import apply_thread_policy

if __name__ == "__main__":
    try:
        apply_thread_policy(sys.argv[1:])
    except ValueError as err:  # InpaintkitError: a bad INPAINTKIT_THREADS / OMP_NUM_THREADS
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    from inpaintkit.cli import app

    app(prog_name="inpaintkit")
