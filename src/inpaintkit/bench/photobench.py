"""The photo benchmark (issue 18): photo inpainting methods against the classical fills on the
held-out photo scenes at their own resolution.

    python bench/photobench.py --out runs/photobench \
        --methods "lama:model=NET.safetensors,telea,navier-stokes,patchmatch,biharmonic,pull-push"

Items (:mod:`.photobench_items`): each held-out photo (``load_photo_scenes``, long side at most
``--max-side``) at its own size with LaMa thin/medium/thick holes drawn at that size (photos of
at least 640x480 only), and the RePaint paper's six holes on a seeded 256x256 crop of each photo
(all photos); ``--masks-per-photo`` seeded holes per photo and kind. Seeds depend on (seed,
photo, kind, index) only, so every method sees the same holes and the comparison is paired.

Methods: specs as ``inpaintkit bench``'s (``NAME[:key=value,...]``), plus ``model=NAME_OR_PATH``
for a method that runs a model (``lama:model=lama-photo128``, or any exported network file).
Every method goes through ``run_method`` with strategy "auto" (a feed-forward network crops
around the holes above 1024 px) and feather 0: the scores are those of the raw fill, with the
known pixels pasted back exactly. Each method gets the photo with its hole pixels set to grey
127 (the truth never reaches a method) and the item's seed.

Slow methods: Criminisi's exemplar fill took more than 280 s on ONE thin-hole item of a
1024x768 photo (a quarter of it hole; 2 busy cores, one thread; the probe was stopped there),
against 0.3 s for Telea and 11 s for PatchMatch. Scaling the photo down for that method alone
would break the pairing, so the methods named in ``--crop-only`` (default "exemplar") run on
the 256x256 crop kinds only (1 to 8 s per item there); their full-photo cells stay empty, and
the report says so. On sr2x and altlines it refuses every crop (no fully known 9x9 patch):
those rows hold the refusal and NaN scores, counted as "refused" in the table.

Output folder: ``config.json`` (what decides the items, and each method's settings and model
digest), ``results.jsonl`` (one row per method, hole kind, photo and index: psnr_hole,
ssim_hole, hole_pixels, seconds of that method call alone, error), ``results/`` (the fills of
the grid items), ``table.md``, ``summary.json`` and ``grids/`` (:mod:`.photobench_report`).
A rerun computes only the missing rows. A folder whose items (split, max side, masks, seed,
holes, photos) or whose methods' settings or model weights differ is refused; adding a method
to a folder is allowed (only its rows are computed).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ..data.photo_set import load_photo_scenes
from ..errors import InpaintkitError
from ..metrics.pixel import image_metrics
from .photobench_items import ALL_KINDS, CROP_KINDS, Item, make_items, parse_kinds
from .photobench_report import result_path, write_report
from .specs import MethodSpec, parse_method_spec, split_specs

DEFAULT_METHODS = "telea,navier-stokes,patchmatch,exemplar,biharmonic,pull-push"
"""What runs without --methods: every classical fill (no photo network is shipped yet)."""
ROWS = "results.jsonl"
CONFIG = "config.json"
FEATHER = 0  # the raw fill is scored (known pixels are pasted back exactly either way)
Log = Callable[[str], None]


@dataclass(frozen=True)
class PhotoMethod:
    """One method of the photo benchmark. label: the spec as given (rows and tables are keyed
    by it); spec: the method spec without ``model=``; model: the model spec, or None (the
    method's default model, or none for classical fills)."""

    label: str
    spec: MethodSpec
    model: str | None = None

    @property
    def classical(self) -> bool:
        """True for methods without a model (the classical fills)."""
        return self.spec.needs.model_kind is None


def parse_photo_method(text: str) -> PhotoMethod:
    """``NAME[:key=value,...]`` with an optional ``model=NAME_OR_PATH`` among the options.
    InpaintkitError for a model given to a method that runs none, or for bad options."""
    text = text.strip()
    name, _, rest = text.partition(":")
    pairs = [p.strip() for p in rest.split(",") if p.strip()]
    models = [p.partition("=")[2].strip() for p in pairs if p.partition("=")[0].strip() == "model"]
    others = [p for p in pairs if p.partition("=")[0].strip() != "model"]
    if len(models) > 1 or (models and not models[0]):
        raise InpaintkitError(f"give model= once, with a value, in spec {text!r}")
    spec = parse_method_spec(f"{name}:{','.join(others)}" if others else name)
    if models and spec.needs.model_kind is None:
        raise InpaintkitError(f"method {name!r} runs no model; drop model= from {text!r}")
    return PhotoMethod(text, spec, models[0] if models else None)


def parse_photo_methods(text: str) -> list[PhotoMethod]:
    """The comma-separated specs of ``--methods`` (split as ``inpaintkit bench`` splits them:
    ``"lama:model=x,telea"`` is two specs). InpaintkitError for a label given twice."""
    methods = [parse_photo_method(s) for s in split_specs(text)]
    labels = [m.label for m in methods]
    if not methods or len(set(labels)) != len(labels):
        raise InpaintkitError(f"--methods needs distinct specs, got {labels}")
    return methods


@dataclass
class PhotoBenchConfig:
    """The settings of one run (the command line's options, same names)."""

    out: Path
    methods: str = DEFAULT_METHODS
    split: str = "test"
    max_side: int = 1024
    masks_per_photo: int = 3
    seed: int = 0
    holes: str = ",".join(ALL_KINDS)
    photos: str = ""  # comma-separated photo names; empty: every photo of the split
    crop_only: str = "exemplar"  # method names run on the 256x256 crop kinds only
    grid_photos: int = 3
    device: str = "cpu"
    cache_dir: Path | None = None


def select_photos(scenes: Sequence[object], names: str) -> list[tuple[str, np.ndarray]]:
    """[(name, image)] of the scenes, only those named in ``names`` (comma-separated; empty:
    all), in the split's order. InpaintkitError for an unknown name, listing the valid ones."""
    photos = [(s.name, s.image) for s in scenes]  # type: ignore[attr-defined]
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in {p[0] for p in photos}]
    if unknown:
        raise InpaintkitError(
            f"unknown photo(s) {unknown}; choose from {', '.join(p[0] for p in photos)}"
        )
    return [p for p in photos if not wanted or p[0] in wanted]


def _build(method: PhotoMethod, device: str) -> tuple[object, dict]:
    """(the ready method, its identity for config.json: settings and model digest)."""
    from ..methods import build_method
    from .runner import model_identity

    spec = method.spec
    identity: dict = {"method": spec.name, "settings": spec.settings()}
    if method.classical:
        return build_method(spec.name, options=spec.options), identity
    try:
        built = build_method(
            spec.name, model=method.model, device=device, options=spec.options, progress=False
        )
    except InpaintkitError as err:
        raise InpaintkitError(
            f"method {method.label!r}: {err} (give model=PATH to an exported network file)"
        ) from None
    model = built.model  # type: ignore[attr-defined]
    identity["model"] = model_identity(model, method.model or "default")
    return built, identity


def check_config(out: Path, config: dict) -> dict:
    """Check ``config`` ({"items": ..., "methods": {label: identity}}) against the folder's
    config.json and write the merged one. InpaintkitError when the items differ, or a method
    already in the folder now has other settings or other model weights."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / CONFIG
    config = json.loads(json.dumps(config))
    if not path.exists():
        path.write_text(json.dumps(config, indent=1))
        return config
    saved = json.loads(path.read_text())
    changed = sorted(
        k for k in {*saved["items"], *config["items"]}
        if saved["items"].get(k) != config["items"].get(k)
    )  # fmt: skip
    if changed:
        raise InpaintkitError(
            f"{out} holds a photo benchmark with other items (changed: {', '.join(changed)}; "
            f"see {path}); use a new --out, or the same settings to resume"
        )
    for label, identity in config["methods"].items():
        if label in saved["methods"] and saved["methods"][label] != identity:
            raise InpaintkitError(
                f"{out} holds rows of method {label!r} with other settings or model weights "
                f"(see {path}); use a new --out, or another label for the new setting"
            )
    merged = {"items": saved["items"], "methods": {**saved["methods"], **config["methods"]}}
    path.write_text(json.dumps(merged, indent=1))
    return merged


def read_rows(out: Path) -> list[dict]:
    """The rows recorded in ``out/results.jsonl`` (a line cut off by a kill is skipped, so its
    item runs again); the last row of a key wins."""
    path = Path(out) / ROWS
    rows: dict[tuple, dict] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            rows[row_key(row)] = row
    return list(rows.values())


def row_key(row: dict) -> tuple[str, str, str, int]:
    """(method, kind, photo, index): one row per key."""
    return row["method"], row["kind"], row["photo"], int(row["index"])


def score_item(method: object, item: Item, label: str) -> tuple[dict, Image.Image | None]:
    """(row, fill) of one method on one item; an InpaintkitError from the method (e.g. no fully
    known patch for exemplar) becomes a row with NaN scores and the message in "error"."""
    from ..methods import Job, run_method

    given = Image.fromarray(np.where(item.hole[..., None], 127, item.truth).astype(np.uint8))
    started = time.perf_counter()
    error, result = None, None
    try:
        result = run_method(
            method, [Job(given, item.hole)], seed=item.seed, strategy="auto", feather=FEATHER
        )[0][0]  # type: ignore[arg-type]
    except InpaintkitError as err:
        error = str(err)
    seconds = time.perf_counter() - started
    scores = {"psnr_hole": float("nan"), "ssim_hole": float("nan")}
    if result is not None:
        metrics = image_metrics(np.asarray(result.convert("RGB")), item.truth, item.hole)
        scores = {k: metrics[k] for k in scores}
    h, w = item.hole.shape
    row = {"method": label, "kind": item.kind, "photo": item.photo, "index": item.index,
           "width": w, "height": h, "crop": item.box, "hole_pixels": int(item.hole.sum()),
           **scores, "seconds": round(seconds, 4), "error": error}  # fmt: skip
    return row, result


def grid_names(items: Sequence[Item], count: int) -> list[str]:
    """The photos shown in grids: the first ``count`` photos that have full-photo items (the
    issue asks for full photos), then, if fewer, the first others."""
    order = list(dict.fromkeys(i.photo for i in items))
    full = [p for p in order if any(i.photo == p and i.kind not in CROP_KINDS for i in items)]
    return (full + [p for p in order if p not in full])[: max(0, count)]


def run_photobench(config: PhotoBenchConfig, *, log: Log | None = print) -> dict:
    """Run (or resume) the benchmark of ``config`` and write the report; returns the summary
    (:func:`~inpaintkit.bench.photobench_report.summarize`)."""
    say = log or (lambda _line: None)
    out = Path(config.out)
    methods = parse_photo_methods(config.methods)
    kinds = parse_kinds(config.holes)
    crop_only = {n.strip() for n in config.crop_only.split(",") if n.strip()}
    scenes = load_photo_scenes(config.split, config.max_side, config.cache_dir)
    photos = select_photos(scenes, config.photos)
    items = make_items(photos, kinds, config.masks_per_photo, config.seed)
    if not items:
        raise InpaintkitError(f"no items: no photo of {config.split!r} fits holes {kinds}")
    built = {m.label: _build(m, config.device) for m in methods}
    settings = {
        "split": config.split, "max_side": config.max_side,
        "masks_per_photo": config.masks_per_photo, "seed": config.seed, "holes": list(kinds),
        "photos": {name: list(image.shape[:2]) for name, image in photos},
        "crop_only": sorted(crop_only), "feather": FEATHER,
    }  # fmt: skip
    check_config(out, {"items": settings, "methods": {k: v[1] for k, v in built.items()}})
    done = {row_key(r) for r in read_rows(out)}
    shown = grid_names(items, config.grid_photos)
    todo = [
        (m, item)
        for item in items
        for m in methods
        if not (m.spec.name in crop_only and item.kind not in CROP_KINDS)
        and (m.label, *item.key) not in done
    ]
    say(f"photo benchmark: {len(items)} items x {len(methods)} methods, {len(todo)} rows to go")
    rows_file = out / ROWS
    if rows_file.exists() and not rows_file.read_bytes().endswith(b"\n"):
        with open(rows_file, "a") as f:  # a line cut off by a kill: the next row starts anew
            f.write("\n")
    for n, (method, item) in enumerate(todo, 1):
        row, result = score_item(built[method.label][0], item, method.label)
        if result is not None and item.index == 0 and item.photo in shown:
            path = result_path(out, method.label, item)  # before the row: a resume redoes both
            path.parent.mkdir(parents=True, exist_ok=True)
            result.save(path)
        with open(rows_file, "a") as f:
            f.write(json.dumps(row) + "\n")
        say(f"[{n}/{len(todo)}] {method.label} {item.kind} {item.photo}#{item.index}: "
            f"{row['psnr_hole']:.2f} dB, {row['seconds']:.2f} s")  # fmt: skip
    labels = [m.label for m in methods]
    rows = [r for r in read_rows(out) if r["method"] in labels]
    keys = {i.key for i in items}
    rows = [r for r in rows if (r["kind"], r["photo"], int(r["index"])) in keys]
    used = crop_only & {m.spec.name for m in methods}
    return write_report(out, rows, methods, items, shown, crop_only=used)


def main(argv: list[str] | None = None) -> None:
    """The command line (see the module docstring)."""
    from ..threads import apply_thread_policy

    parser = argparse.ArgumentParser(
        prog="python bench/photobench.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--methods", default=DEFAULT_METHODS, help="method specs, model=...")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument(
        "--split", default="test", help="photo split: test, tune (to choose between trainings), "
        "train, fit, all"
    )  # fmt: skip
    parser.add_argument("--max-side", type=int, default=1024, help="photos' long side at most")
    parser.add_argument("--masks-per-photo", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--holes", default=",".join(ALL_KINDS), help="hole kinds")
    parser.add_argument("--photos", default="", help="only these photo names (comma-separated)")
    parser.add_argument("--crop-only", default="exemplar",
                        help="method names run on the 256x256 crop kinds only")  # fmt: skip
    parser.add_argument("--grid-photos", type=int, default=3, help="photos shown in grids")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    args = parser.parse_args(argv)
    apply_thread_policy(["--threads", str(args.threads)] if args.threads else [])
    config = PhotoBenchConfig(
        out=args.out, methods=args.methods, split=args.split, max_side=args.max_side,
        masks_per_photo=args.masks_per_photo, seed=args.seed, holes=args.holes,
        photos=args.photos, crop_only=args.crop_only, grid_photos=args.grid_photos,
        device=args.device,
    )  # fmt: skip
    started = time.perf_counter()
    try:
        run_photobench(config)
    except InpaintkitError as err:
        parser.exit(2, f"error: {err}\n")
    print(f"wrote {args.out / 'table.md'} in {time.perf_counter() - started:.1f} s")


__all__ = [
    "DEFAULT_METHODS",
    "PhotoBenchConfig",
    "PhotoMethod",
    "check_config",
    "main",
    "parse_photo_method",
    "parse_photo_methods",
    "read_rows",
    "run_photobench",
    "score_item",
    "select_photos",
]
