"""RealFill on a RealBench-like set (:mod:`.realbench_scenes`): RealFill against the same
conditional model without its adapter and against baselines (RePaint, Telea, PatchMatch by
default), hole PSNR and SSIM, how often seed selection's pick beats the average sample, and the
fit time per scene.

Run: ``python -m inpaintkit.bench.realbench --model MODEL --out DIR [--emoji 12] [--photos 2]
[--samples 16] [--split test|tune] [--references variants|recoloured|none|oracle]
[-o fit_steps=N] [-o steps=N]``. Writes DIR/results.csv (one row per scene and
method), DIR/summary.json, DIR/report.md and DIR/scenes/<scene>.png (target, references, truth,
then each method's result). It resumes: each finished scene's rows are appended to
DIR/scenes.jsonl, and a rerun with the same settings skips those scenes (a rerun with more
scenes extends the run: scenes come in a fixed order). Rows per method:

- ``realfill``: seed selection's pick (the paper's output); ``realfill-avg``: the mean over the K
  blended samples; ``pick_beats_avg`` = the pick's hole PSNR is above that mean;
- ``base``: the same model without the adapter, its first sample (no references at all);
  ``base-avg``: the mean over its K samples;
- each baseline spec (``NAME[:key=value,...]``, as ``inpaintkit bench``'s), with the prior
  ``--prior`` (default "default") for methods on a prior.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import InpaintkitError
from ..metrics.pixel import image_metrics
from ..metrics.stats import mean_ci
from .realbench_scenes import REFERENCES, Scene, emoji_scenes, photo_scenes

BASELINES = ("repaint", "telea", "patchmatch")
ROWS = "scenes.jsonl"  # one line per finished scene: its rows (the resume point)
COLUMNS = ("scene", "set", "method", "psnr_hole", "ssim_hole", "seconds", "fit_seconds",
           "pick_beats_avg", "score")  # fmt: skip


def _emoji_setting(split: str, references: str) -> dict:
    """The emoji scenes' setting for config.json; the defaults are left out, so folders of
    earlier runs (made before these settings existed) still resume."""
    setting = {"split": split, "references": references}
    return {k: v for k, v in setting.items() if v != {"split": "test", "references": "variants"}[k]}


def _scores(result: Image.Image, scene: Scene) -> dict[str, float]:
    metrics = image_metrics(np.asarray(result.convert("RGB")), scene.target, scene.hole)
    return {"psnr_hole": metrics["psnr_hole"], "ssim_hole": metrics["ssim_hole"]}


def _baselines(specs: list[str], prior: object, device: str) -> list[tuple[str, object]]:
    from ..methods import build_method
    from .specs import parse_method_spec

    built = []
    for text in specs:
        spec = parse_method_spec(text)
        model = prior if spec.needs.model_kind else None
        built.append(
            (spec.label, build_method(spec.name, model=model, device=device, options=spec.options,
                                      progress=False))
        )  # fmt: skip
    return built


def evaluate_scene(
    scene: Scene,
    realfill: object,
    baselines: list[tuple[str, object]],
    *,
    samples: int,
    seed: int,
) -> tuple[list[dict], list[Image.Image]]:
    """(rows, result images for the scene grid) of one scene: RealFill fitted afresh on its
    references and target, the base model, every baseline."""
    from ..methods import Job, run_method

    refs = [Image.fromarray(r) for r in scene.references]
    known = np.where(scene.hole[..., None], 127, scene.target).astype(np.uint8)
    given = Image.fromarray(known)  # the hole's truth never reaches a method
    rows, images = [], []

    def row(method: str, scores: dict, seconds: float, **extra: object) -> dict:
        return {"scene": scene.name, "set": scene.set, "method": method, **scores,
                "seconds": round(seconds, 2), **extra}  # fmt: skip

    started = time.perf_counter()
    stats = realfill.fit(refs, seed=seed, targets=[(given, scene.hole)])
    fit_s = time.perf_counter() - started
    started = time.perf_counter()
    result = realfill.complete(given, scene.hole, refs, samples=samples, seed=seed)
    sample_s = time.perf_counter() - started
    per = [_scores(s, scene) for s in result.samples]
    pick = result.order[0]
    mean = {k: float(np.mean([p[k] for p in per])) for k in ("psnr_hole", "ssim_hole")}
    rows.append(row("realfill", per[pick], fit_s + sample_s, fit_seconds=round(fit_s, 1),
                    pick_beats_avg=int(per[pick]["psnr_hole"] > mean["psnr_hole"]),
                    score=result.scores[pick], fit_loss=stats.get("loss")))  # fmt: skip
    rows.append(row("realfill-avg", mean, sample_s))
    images.append(result.samples[pick])
    started = time.perf_counter()
    base = realfill.complete(given, scene.hole, refs, samples=samples, seed=seed, base=True)
    base_s = time.perf_counter() - started
    per_base = [_scores(s, scene) for s in base.samples]
    rows.append(row("base", per_base[0], base_s / samples))
    base_mean = {k: float(np.mean([p[k] for p in per_base])) for k in ("psnr_hole", "ssim_hole")}
    rows.append(row("base-avg", base_mean, base_s))
    images.append(base.samples[0])
    for label, method in baselines:
        started = time.perf_counter()
        out = run_method(method, [Job(given, scene.hole)], seed=seed, strategy="resize")[0][0]
        rows.append(row(label, _scores(out, scene), time.perf_counter() - started))
        images.append(out)
    return rows, images


def paired_gains(rows: list[dict]) -> dict[str, dict]:
    """method -> {"mean", "half", "ahead", "n"}: scene by scene, RealFill's hole PSNR minus the
    method's (the pick against each method; the mean sample, ``realfill-avg``, against
    ``base-avg``), with the 95% half-width (nan for one scene) and in how many scenes RealFill
    is ahead."""
    by_scene: dict[str, dict[str, float]] = {}
    for r in rows:
        by_scene.setdefault(r["scene"], {})[r["method"]] = float(r["psnr_hole"])
    gains = {}
    for method in dict.fromkeys(r["method"] for r in rows):
        if method.startswith("realfill"):
            continue
        mine = "realfill-avg" if method == "base-avg" else "realfill"
        diffs = [v[mine] - v[method] for v in by_scene.values() if mine in v and method in v]
        mean, low, _ = mean_ci(diffs)
        gains[method] = {"mean": mean, "half": mean - low, "n": len(diffs),
                         "ahead": sum(d > 0 for d in diffs)}  # fmt: skip
    return gains


def summarize(rows: list[dict]) -> dict:
    """{"methods": {set: {method: {"psnr_hole", "ssim_hole", "n"}}}, "paired": {set:
    :func:`paired_gains`}, "pick_beats_avg": {set: rate}, "fit_seconds": {set: mean}} over the
    result rows."""
    summary: dict = {"methods": {}, "paired": {}, "pick_beats_avg": {}, "fit_seconds": {}}
    for name in sorted({r["set"] for r in rows}):
        mine = [r for r in rows if r["set"] == name]
        table = {}
        for method in dict.fromkeys(r["method"] for r in mine):
            values = [r for r in mine if r["method"] == method]
            table[method] = {
                "psnr_hole": float(np.mean([r["psnr_hole"] for r in values])),
                "ssim_hole": float(np.mean([r["ssim_hole"] for r in values])),
                "n": len(values),
            }
        summary["methods"][name] = table
        summary["paired"][name] = paired_gains(mine)
        picks = [r for r in mine if r["method"] == "realfill"]
        summary["pick_beats_avg"][name] = float(np.mean([r["pick_beats_avg"] for r in picks]))
        summary["fit_seconds"][name] = float(np.mean([r["fit_seconds"] for r in picks]))
    return summary


def render_report(summary: dict, config: dict) -> str:
    """report.md: per set, a table of hole PSNR / SSIM per method, the paired gains
    (:func:`paired_gains`), the pick rate and the fit time."""
    lines = ["# RealFill on a RealBench-like set", "", "```", json.dumps(config, indent=1), "```"]
    for name, table in summary["methods"].items():
        lines += ["", f"## {name}", "", "| method | hole PSNR (dB) | hole SSIM | n |",
                  "| --- | --- | --- | --- |"]  # fmt: skip
        for method, v in table.items():
            lines.append(f"| {method} | {v['psnr_hole']:.2f} | {v['ssim_hole']:.3f} | {v['n']} |")
        lines += [
            "",
            "Paired, scene by scene: RealFill's hole PSNR minus each method's (dB, mean ± 95% "
            "half-width; its mean sample against base-avg):",
            "",
            "| method | RealFill minus it | RealFill ahead in |",
            "| --- | --- | --- |",
        ]
        for method, g in summary["paired"][name].items():
            lines.append(f"| {method} | {g['mean']:+.2f} ± {g['half']:.2f} | "
                         f"{g['ahead']} of {g['n']} |")  # fmt: skip
        lines += [
            "",
            f"Seed selection's pick beats the average sample in "
            f"{100 * summary['pick_beats_avg'][name]:.0f}% of the scenes; fit "
            f"{summary['fit_seconds'][name]:.0f} s per scene.",
        ]
    return "\n".join(lines) + "\n"


def _resume(out: Path, config: dict) -> list[dict]:
    """The rows of the scenes already evaluated in ``out`` (none for a new folder); writes
    ``out/config.json``. InpaintkitError when ``out`` was run with other settings; the number
    of scenes may differ (scenes come in a fixed order, so a longer run extends a shorter one)."""
    out.mkdir(parents=True, exist_ok=True)
    saved = out / "config.json"

    def settings(config: dict) -> dict:
        return {k: v for k, v in json.loads(json.dumps(config)).items() if k != "scenes"}

    if saved.exists() and settings(json.loads(saved.read_text())) != settings(config):
        raise InpaintkitError(
            f"{out} holds a realbench run with other settings ({saved}); use a new --out"
        )
    saved.write_text(json.dumps(config, indent=1))
    if not (out / ROWS).exists():
        return []
    rows = []
    for line in (out / ROWS).read_text().splitlines():
        try:
            rows += json.loads(line)
        except json.JSONDecodeError:  # a scene cut off by a kill: it runs again
            continue
    return rows


def run_realbench(
    out: Path,
    *,
    model: object = None,
    emoji: int = 12,
    photos: int = 2,
    samples: int = 16,
    seed: int = 0,
    holes: str = "box",
    split: str = "test",
    references: str = "variants",
    baselines: tuple[str, ...] = BASELINES,
    prior: object = "default",
    device: str = "cpu",
    options: dict | None = None,
    cache_dir: Path | None = None,
    progress: bool = True,
) -> dict:
    """Run the evaluation (see the module docstring); returns the summary. ``options``: realfill
    options (e.g. {"fit_steps": 400}); emoji / photos: emoji scenes, scenes per photo pair;
    split / references: the emoji scenes' bases and references
    (:func:`.realbench_scenes.emoji_scenes`)."""
    from ..io import make_grid, save_image, show_hole
    from ..methods import build_method

    out = Path(out)
    realfill = build_method("realfill", model=model, device=device, options=options or {},
                            progress=progress)  # fmt: skip
    size = realfill.image_size
    scenes = emoji_scenes(emoji, size, holes=holes, seed=seed, split=split, references=references,
                          cache_dir=cache_dir) if emoji else []  # fmt: skip
    if photos:
        scenes += photo_scenes(photos, size, holes=holes, seed=seed, cache_dir=cache_dir)
    if not scenes:
        raise InpaintkitError("no scenes: give --emoji and/or --photos above 0")
    methods = _baselines(list(baselines), prior, device)
    config = {"model": realfill.config().get("model"), "samples": samples, "seed": seed,
              "holes": holes, "size": size, "scenes": len(scenes), "baselines": list(baselines),
              "options": options or {}, **_emoji_setting(split, references),
              "fit_scale": realfill.options.resolved_fit_scale(size)}  # fmt: skip
    names = {scene.name for scene in scenes}
    rows = [r for r in _resume(out, config) if r["scene"] in names]
    done = {r["scene"] for r in rows}
    (out / "scenes").mkdir(parents=True, exist_ok=True)
    for i, scene in enumerate(scenes):
        if scene.name in done:
            continue
        if progress:
            print(f"[{i + 1}/{len(scenes)}] {scene.name}", flush=True)
        scene_rows, images = evaluate_scene(scene, realfill, methods, samples=samples, seed=seed)
        target = Image.fromarray(scene.target)
        tiles = [show_hole(target, scene.hole), *map(Image.fromarray, scene.references), target]
        save_image(make_grid([tiles, images]), out / "scenes" / f"{scene.name}.png")
        with open(out / ROWS, "a") as f:  # one line per scene: a rerun resumes after it
            f.write(json.dumps(scene_rows) + "\n")
        rows += scene_rows
    with open(out / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=[*COLUMNS, "fit_loss"], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    summary = summarize(rows)
    (out / "summary.json").write_text(json.dumps({"config": config, **summary}, indent=2))
    (out / "report.md").write_text(render_report(summary, config))
    return summary


def main(argv: list[str] | None = None) -> None:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m inpaintkit.bench.realbench")
    parser.add_argument("--model", default=None, help="conditional model or SD pipeline folder")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--emoji", type=int, default=12, help="emoji scenes")
    parser.add_argument("--photos", type=int, default=2, help="scenes per photo pair")
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--holes", default="box", help="hole generator spec (masks presets)")
    parser.add_argument("--split", default="test", help="emoji bases: test (held out) or tune")
    parser.add_argument(
        "--references",
        default="variants",
        choices=REFERENCES,
        help="emoji references (a diagnostic; see realbench_scenes)",
    )
    parser.add_argument("--baselines", default=",".join(BASELINES), help="method specs")
    parser.add_argument("--prior", default="default", help="the prior of prior methods")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("-o", "--option", action="append", default=[], help="realfill KEY=VALUE")
    args = parser.parse_args(argv)
    from ..options import split_key_values
    from .specs import split_specs

    summary = run_realbench(
        args.out, model=args.model, emoji=args.emoji, photos=args.photos, samples=args.samples,
        seed=args.seed, holes=args.holes, split=args.split, references=args.references,
        baselines=tuple(split_specs(args.baselines)),
        prior=args.prior, device=args.device, options=split_key_values(args.option),
    )  # fmt: skip
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
