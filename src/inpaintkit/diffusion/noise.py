"""Seeded Gaussian noise, identical bytes on every device (DESIGN rule 5)."""

from __future__ import annotations

import torch

Generator = torch.Generator | list[torch.Generator] | None


def randn(
    shape: tuple[int, ...],
    generator: Generator,
    *,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Standard normal noise of ``shape`` drawn on the generator's device, then moved.

    A list of generators draws row b of the batch from generator b, so a sample does not depend on
    what else is in its batch (as diffusers' ``randn_tensor``).
    """
    if isinstance(generator, list):
        if len(generator) != shape[0]:
            raise ValueError(f"got {len(generator)} generators for a batch of {shape[0]}")
        rows = [randn((1, *shape[1:]), g, device=device, dtype=dtype) for g in generator]
        return torch.cat(rows)
    source = generator.device if generator is not None else torch.device(device)
    return torch.randn(shape, generator=generator, device=source, dtype=dtype).to(device)
