"""Samplers: one function per algorithm, one shared signature (see :mod:`.common`).

- :func:`sample_repaint`: RePaint (replacement conditioning, jump walk) and DDNM (null-space).
- :func:`sample_ddim`: plain DDPM ancestral / DDIM descent, known pixels pasted at the end only
  (for conditional diffusion models, which see the hole through ``extra_args``).
"""

from __future__ import annotations

from collections.abc import Callable

from .common import SHARED_PARAMETERS, Callback
from .ddim import sample_ddim
from .repaint import CONDITIONS, sample_repaint

#: Every sampler by name; each takes the shared signature of :mod:`.common`.
SAMPLERS: dict[str, Callable[..., object]] = {"repaint": sample_repaint, "ddim": sample_ddim}

__all__ = [
    "CONDITIONS",
    "SAMPLERS",
    "SHARED_PARAMETERS",
    "Callback",
    "sample_ddim",
    "sample_repaint",
]
