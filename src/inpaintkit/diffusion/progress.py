"""Progress of a sampling loop: a tqdm bar on a terminal, a few plain lines in a log, or none.

``progress_bar(items, desc, enabled)`` is what every sampler iterates over:

- stderr is a terminal: tqdm's bar (carriage-return updates, as before);
- stderr is not a terminal (a log file, a pipe, CI): one plain line about every
  :data:`LOG_EVERY_PERCENT` percent, ``RePaint: 45% (1085/2410 steps) 12.3 s elapsed, ETA 15.0 s``,
  and a last line at 100%;
- ``enabled=False`` (``--quiet``, ``--no-progress``): nothing.

In a Jupyter kernel tqdm.auto's widget is kept.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from tqdm.auto import tqdm

LOG_EVERY_PERCENT = 5
"""A non-terminal gets one line each time this many more percent of the steps are done."""


class LogProgress:
    """Iterate ``items`` and write one plain line per :data:`LOG_EVERY_PERCENT` percent (with
    elapsed time and ETA) to ``stream``; no carriage returns."""

    def __init__(
        self,
        items: Iterable[Any],
        desc: str,
        stream: TextIO,
        unit: str = "step",
        every: int = LOG_EVERY_PERCENT,
        clock: Any = time.perf_counter,
    ) -> None:
        self.items = list(items)
        self.desc, self.stream, self.unit, self.every, self.clock = desc, stream, unit, every, clock

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        """Accepted for tqdm's interface; plain lines carry no postfix."""

    def __iter__(self) -> Iterator[Any]:
        total = len(self.items)
        started = self.clock()
        next_percent = self.every
        for done, item in enumerate(self.items, start=1):
            yield item
            percent = 100 * done // total
            if percent >= next_percent or done == total:
                elapsed = self.clock() - started
                eta = elapsed / done * (total - done)
                self.stream.write(
                    f"{self.desc}: {percent}% ({done}/{total} {self.unit}s) "
                    f"{elapsed:.1f} s elapsed, ETA {eta:.1f} s\n"
                )
                self.stream.flush()
                next_percent = (percent // self.every + 1) * self.every


def _is_terminal(stream: TextIO) -> bool:
    """True for a terminal, and in a Jupyter kernel (tqdm.auto draws its widget there)."""
    if "ipykernel" in sys.modules:
        return True
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (OSError, ValueError):  # a closed or detached stream
        return False


def progress_bar(
    items: Iterable[Any],
    desc: str,
    enabled: bool = True,
    *,
    unit: str = "step",
    stream: TextIO | None = None,
) -> Iterable[Any]:
    """``items`` wrapped for progress reports on ``stream`` (default: sys.stderr): a tqdm bar
    on a terminal, :class:`LogProgress` lines otherwise, the plain iteration when not
    ``enabled``. The result has tqdm's ``set_postfix``."""
    stream = sys.stderr if stream is None else stream
    if enabled and not _is_terminal(stream):
        return LogProgress(items, desc, stream, unit=unit)
    return tqdm(items, desc=desc, unit=unit, disable=not enabled, dynamic_ncols=True, file=stream)
