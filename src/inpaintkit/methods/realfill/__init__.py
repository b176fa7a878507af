"""RealFill, reference-driven inpainting (Tang et al., SIGGRAPH 2024): fit a LoRA adapter on a
few reference photos and the target, sample, blend with a feathered mask, rank by
correspondences. See :mod:`.method` and docs/realfill.md."""

from .lora import LoraSettings, add_lora, load_adapter, save_adapter
from .method import DEFAULT_MODEL, RealFill, RealFillOptions, RealFillResult, is_pipeline_folder
from .sample import blend, feather_mask
from .select import correspondence_scores, rank_samples

__all__ = [
    "DEFAULT_MODEL",
    "LoraSettings",
    "RealFill",
    "RealFillOptions",
    "RealFillResult",
    "add_lora",
    "blend",
    "correspondence_scores",
    "feather_mask",
    "is_pipeline_folder",
    "load_adapter",
    "rank_samples",
    "save_adapter",
]
