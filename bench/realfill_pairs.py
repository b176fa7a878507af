"""Paired per-scene differences of RealBench-like folders (``bench/realbench.py`` output):
for each folder, RealFill against the same model without its adapter (the pick against the
base's first sample, the mean of the samples against the base's mean, hole PSNR and SSIM);
then each further folder's mean sample against the first folder's, over their shared scenes.
Mean ± 95% half-width (``inpaintkit.metrics.mean_ci``).

    .venv/bin/python bench/realfill_pairs.py runs/realfill-tune-variants \
        runs/realfill-tune-recoloured
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from inpaintkit.bench.realbench import paired_gains
from inpaintkit.metrics import mean_ci


def scenes(folder: Path) -> dict[str, dict[str, dict]]:
    """scene -> method -> row, from the folder's scenes.jsonl (a line cut off by a kill is
    skipped, as the bench's resume does)."""
    out = {}
    for line in (folder / "scenes.jsonl").read_text().splitlines():
        try:
            rows = json.loads(line)
        except json.JSONDecodeError:
            continue
        out[rows[0]["scene"]] = {r["method"]: r for r in rows}
    return out


def differences(rows: list[dict], a: str, b: str, metric: str = "psnr_hole") -> list[float]:
    """Per scene: method a's metric minus method b's."""
    return [r[a][metric] - r[b][metric] for r in rows]


def text(gains: dict) -> str:
    """A paired_gains entry as "+m ± h (n=N, ahead in k)"."""
    return f"{gains['mean']:+.2f} ± {gains['half']:.2f} (n={gains['n']}, ahead in {gains['ahead']})"


def paired(differences: list[float]) -> str:
    mean, lo, _ = mean_ci(differences)
    ahead = sum(d > 0 for d in differences)
    return text({"mean": mean, "half": mean - lo, "n": len(differences), "ahead": ahead})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folders", nargs="+", type=Path)
    folders = parser.parse_args().folders
    data = {folder: scenes(folder) for folder in folders}
    for folder, by_scene in data.items():
        rows = list(by_scene.values())
        gains = paired_gains([row for methods in rows for row in methods.values()])
        print(f"{folder.name}: pick - base {text(gains['base'])}; mean - mean "
              f"{text(gains['base-avg'])}; SSIM pick - base "
              f"{paired(differences(rows, 'realfill', 'base', 'ssim_hole'))}")  # fmt: skip
    first, *others = folders
    for folder in others:
        shared = [s for s in data[folder] if s in data[first]]
        gains = [data[folder][s]["realfill-avg"]["psnr_hole"]
                 - data[first][s]["realfill-avg"]["psnr_hole"] for s in shared]  # fmt: skip
        print(f"{folder.name} - {first.name} (RealFill's mean sample): {paired(gains)}")


if __name__ == "__main__":
    main()
