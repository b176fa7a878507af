"""The benchmark harness: methods x mask settings x images -> per-item scores, tables shaped
like the RePaint paper's Table 1, comparison grids, plots, and the section 5.6 ablations.

    from inpaintkit.bench import BenchConfig, run_bench
    run_bench(BenchConfig(methods="repaint:steps=50,jump_length=5,resamplings=3,telea",
                          masks="wide,half", data="emoji-test", n=50, out=Path("runs/b")))

Modules, one job each: specs (method specs), presets (ablation method lists), data (benchmark
images), plan (items, seeds, chunks), execute (run one chunk), dispatch (serial / processes /
Ray), store (the output folder), scoring (per-item metrics, KID), report (tables), figures.
"""

from .data import load_bench_images
from .execute import inpaint_batch
from .plan import bench_hole, item_seed, mask_seed
from .presets import PRESETS, parse_methods, preset_specs
from .report import format_cell, summarize, write_report
from .runner import PAPER_MASKS, BenchConfig, BenchRun, parse_masks, run_bench
from .scoring import KID_MIN_IMAGES
from .specs import MethodSpec, parse_method_spec, split_specs

__all__ = [
    "KID_MIN_IMAGES",
    "PAPER_MASKS",
    "PRESETS",
    "BenchConfig",
    "BenchRun",
    "MethodSpec",
    "bench_hole",
    "format_cell",
    "inpaint_batch",
    "item_seed",
    "load_bench_images",
    "mask_seed",
    "parse_masks",
    "parse_method_spec",
    "parse_methods",
    "preset_specs",
    "run_bench",
    "split_specs",
    "summarize",
    "write_report",
]
