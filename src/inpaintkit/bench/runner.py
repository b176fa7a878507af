"""``run_bench``: methods x mask settings x images -> DIR/results.jsonl, then the report.

The parent process plans the work, makes the holes, dispatches chunks (serially, to worker
processes or to Ray), and scores and records each item as its chunk comes back; workers only
inpaint. A rerun of the same command skips every recorded item, so a killed run loses at most the
chunks in flight.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..errors import InpaintkitError
from ..masks import MASK_KINDS
from .data import BenchImages, data_source, load_bench_images
from .execute import Task
from .plan import Chunk, bench_hole, item_seed, plan_chunks
from .presets import parse_methods
from .specs import MethodSpec
from .store import RunDir, row_key, safe_label

PAPER_MASKS = ("wide", "narrow", "sr2x", "altlines", "half", "expand")
"""The RePaint paper's six mask settings (Table 1 columns)."""

Log = Callable[[str], None]


@dataclass
class BenchConfig:
    """One benchmark run (defaults in brackets).

    methods: specs and preset names, a comma-separated string or a list (see :mod:`.specs`).
    masks: mask kinds, comma-separated or a list [the paper's six]. data: "emoji-test",
    "emoji-test-64" or a folder ["emoji-test"]. n: first n images [all]. seed: masks and
    sampling [0]. out: the output folder. model: load_model spec for diffusion methods
    ["default"]. size: image size [the model's resolution]. workers: local processes [1].
    ray_address: run on Ray ("local" or a cluster address) [None]. batch_size: images per
    method call [8]. device: torch device for diffusion methods ["cpu"]. steps_scale: scales the
    ablation presets' T=250 [1.0]. threads: torch threads per chunk [1]; kept fixed so that
    results do not depend on --workers (float results of a network change with the thread
    count in their last bits). runtime: "fp32" runs every diffusion method whose spec sets no
    precision / channels_last in fp32 with contiguous tensors, the same bits on every machine;
    "auto" leaves them to the device's defaults (:mod:`inpaintkit.models.runtime`, bf16 on a
    CPU with native bf16) ["fp32"]. model_options: load_model options for ``model`` (what its
    checkpoint cannot tell, e.g. {"image_size": 64, "num_head_channels": 32}) [{}].
    """

    methods: str | list[str]
    out: Path
    masks: str | list[str] = field(default_factory=lambda: list(PAPER_MASKS))
    data: str = "emoji-test"
    n: int | None = None
    seed: int = 0
    model: str = "default"
    size: int | None = None
    workers: int = 1
    ray_address: str | None = None
    batch_size: int = 8
    device: str = "cpu"
    steps_scale: float = 1.0
    threads: int = 1
    runtime: str = "fp32"
    model_options: dict = field(default_factory=dict)


RUNTIMES = ("fp32", "auto")
"""BenchConfig.runtime's choices."""


@dataclass
class BenchRun:
    """What a run did: items planned, already recorded (skipped) and computed now."""

    planned: int
    skipped: int
    computed: int
    seconds: float
    out: Path


def parse_masks(masks: str | list[str]) -> list[str]:
    """Mask kinds from "wide,narrow" or a list; each must be in MASK_KINDS, none twice."""
    items = masks.split(",") if isinstance(masks, str) else list(masks)
    kinds = [m.strip() for item in items for m in item.split(",") if m.strip()]
    unknown = [m for m in kinds if m not in MASK_KINDS]
    if unknown or not kinds:
        raise InpaintkitError(f"unknown mask kind(s) {unknown}; choose from {MASK_KINDS}")
    if len(set(kinds)) != len(kinds):
        raise InpaintkitError(f"a mask kind is given twice in {kinds}")
    return kinds


def model_identity(model: object, spec: str, options: dict | None = None) -> dict:
    """{"spec", "source", "digest"} (and "options" when load options were given): the digest
    is sha256 over the networks' tensors, so a retrained model under the same name is told
    apart. Tensor names are the state keys of a single-network model (a prior's: the digest
    of folders written before model kinds existed) and ``<network>.<key>`` otherwise."""
    networks = model.networks()  # type: ignore[attr-defined]
    state = {
        (key if len(networks) == 1 else f"{name}.{key}"): tensor
        for name, net in networks.items()
        for key, tensor in net.state_dict().items()
    }
    digest = hashlib.sha256()
    for name, tensor in sorted(state.items()):
        digest.update(name.encode())
        digest.update(tensor.detach().float().cpu().contiguous().numpy().tobytes())
    identity = {"spec": spec, "source": model.source, "digest": digest.hexdigest()}  # type: ignore[attr-defined]
    if options:
        identity["options"] = dict(sorted(options.items()))
    return identity


def run_bench(
    config: BenchConfig,
    *,
    log: Log | None = None,
    on_item: Callable[[dict], None] | None = None,
    report: bool = True,
) -> BenchRun:
    """Run every (method, mask, image) item of ``config`` not yet in ``config.out``, then write
    the report (:func:`~.report.write_report`) unless ``report`` is False.

    log: gets progress lines. on_item: called with each row right after it is recorded.
    Raises InpaintkitError for bad specs, a size the model cannot take, or a folder holding a
    benchmark with another data/size/seed/model.
    """
    say = log or (lambda _line: None)
    started = time.perf_counter()
    specs = parse_methods(config.methods, config.steps_scale)
    masks = parse_masks(config.masks)
    _check_labels(specs)
    if config.batch_size < 1 or config.threads < 1:
        raise InpaintkitError("batch size and threads must be >= 1")
    if config.runtime not in RUNTIMES:
        raise InpaintkitError(f"unknown runtime {config.runtime!r}; choose one of {RUNTIMES}")
    models = _resolve_models(config, specs)
    size = _bench_size(config, models)
    data = load_bench_images(config.data, size, config.n)
    rundir = RunDir(config.out)
    source = data_source(config.data)
    fixed = {"data": source, "size": size, "seed": config.seed, "runtime": config.runtime}
    main = next((m.identity for m in models.values() if m and m.spec == config.model), None)
    settings = {s.label: s.settings() for s in specs}
    for label, used in models.items():  # a method's own model: retrained weights are a change
        if used is not None and used.spec != config.model:
            settings[label] = {**settings[label], "model": used.tag}
    rundir.check_config(fixed, main, {s.label: s.series for s in specs}, settings)
    tags = {label: (used.tag if used else None) for label, used in models.items()}
    sources = {label: (used.identity["source"] if used else None) for label, used in models.items()}
    recorded = {row_key(r) for r in rundir.read_rows()}
    done = {
        (s.label, mask, i)
        for s in specs
        for mask in masks
        for i in range(len(data.images))
        if (s.label, mask, i, config.seed, tags[s.label]) in recorded
    }
    holes = _write_inputs(rundir, data, masks, config.seed)
    chunks = plan_chunks([s.label for s in specs], masks, len(data.images), config.batch_size, done)
    planned = len(specs) * len(masks) * len(data.images)
    todo = sum(len(c.indices) for c in chunks)
    _log_plan(say, specs, masks, data, size, planned, todo, config)
    by_label = {s.label: s for s in specs}
    costs = {s.label: s.cost() for s in specs}
    from .dispatch import execute
    from .scoring import ItemScorer

    scorer = ItemScorer()
    finished = 0
    tasks = _tasks(chunks, by_label, data, holes, config, models)
    for result in execute(tasks, workers=config.workers, ray_address=config.ray_address):
        spec = by_label[result.label]
        per_image = result.seconds / len(result.indices)
        errors = result.errors or (None,) * len(result.indices)
        for index, filled, error in zip(result.indices, result.images, errors):
            name = data.names[index]
            truth, hole = data.images[index], holes[result.mask, index]
            if error is None:
                rundir.save_png(rundir.result_path(result.mask, spec.label, name), filled)
                scores = scorer(filled, truth, hole)
            else:
                scores = {"error": error}  # the method refused this input; recorded as such
            row = {
                "method": spec.label,
                "method_name": spec.name,
                "options": spec.options,
                "mask": result.mask,
                "image": index,
                "name": name,
                "seed": config.seed,
                "item_seed": item_seed(config.seed, result.mask, index),
                "model": tags[spec.label],
                "model_source": sources[spec.label],
                "size": size,
                "data": source,
                **scores,
                "hole_fraction": float(hole.mean()),
                "wall_s": per_image,
                "batch": len(result.indices),
                "nfe": result.nfe or costs[spec.label]["network_evaluations"],  # adaptive: spent
                "undo_steps": costs[spec.label]["undo_steps"],
                "worker": result.worker,
                "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            }
            rundir.append_row(row)
            finished += 1
            if on_item is not None:
                on_item(row)
        say(
            f"[{finished}/{todo}] {spec.label} {result.mask} images "
            f"{result.indices[0]}-{result.indices[-1]}: {result.seconds:.2f} s"
        )
    run = BenchRun(planned, planned - todo, finished, time.perf_counter() - started, rundir.root)
    if report:
        from .report import write_report

        write_report(rundir.root, log=say)
        say(f"report: {rundir.root / 'table.md'}")
    return run


def _check_labels(specs: list[MethodSpec]) -> None:
    folders: dict[str, str] = {}
    for spec in specs:
        other = folders.setdefault(safe_label(spec.label), spec.label)
        if other != spec.label:
            raise InpaintkitError(f"specs {other!r} and {spec.label!r} map to one folder name")


@dataclass(frozen=True)
class UsedModel:
    """The model one method of a benchmark runs: its load_model spec and identity."""

    spec: str
    kind: str
    identity: dict
    image_size: int | None

    @property
    def tag(self) -> str:
        """What each result row records: the weights' digest."""
        return f"sha256:{self.identity['digest'][:16]}"


def _resolve_models(config: BenchConfig, specs: list[MethodSpec]) -> dict[str, UsedModel | None]:
    """label -> the model the method runs (None for methods without one).

    ``--model`` (default "default", the embedded prior) goes to every method of its kind. A
    method with its own ``default_model`` (the survey CNNs' shipped weights) runs that when
    ``--model`` is not given or is of another kind; any other method of another kind is
    refused, naming both kinds."""
    from ..models import parse_model_options, shared_models

    options = parse_model_options(config.model_options)  # typed: the same key as the workers'
    loaded: dict[str, UsedModel] = {}

    def use(spec: str, load_options: dict) -> UsedModel:
        if spec not in loaded:
            model = shared_models().get(spec, "cpu", **load_options)  # the serial path reuses it
            identity = model_identity(model, spec, load_options)
            loaded[spec] = UsedModel(spec, model.kind, identity, model.image_size)
        return loaded[spec]

    models: dict[str, UsedModel | None] = {}
    for spec in specs:
        kind = spec.needs.model_kind
        if kind is None:
            models[spec.label] = None
            continue
        own = spec.method_class().default_model
        given = use(config.model, options) if own is None or config.model != "default" else None
        if given is not None and given.kind == kind:
            models[spec.label] = given
        elif own is not None:
            models[spec.label] = use(own, {})  # --model is for another kind: its own weights
        else:
            raise InpaintkitError(
                f"method {spec.label!r} needs a {kind} model; --model {config.model} "
                f"({given.identity['source']}) is a {given.kind} model"
                + ("" if kind == "prior" else f"; give a {kind} model with --model FILE")
            )
    return models


def _bench_size(config: BenchConfig, models: dict[str, UsedModel | None]) -> int:
    """The image size: --size, or the one size of the models that have one."""
    sizes = {m.image_size for m in models.values() if m is not None and m.image_size}
    if len(sizes) > 1:
        raise InpaintkitError(f"the methods' models work at different sizes {sorted(sizes)}")
    if config.size is None:
        if not sizes:
            reason = (
                "no method uses a model to take it from"
                if not any(models.values())
                else "the methods' models take any size"
            )
            raise InpaintkitError(f"give --size: {reason}")
        return sizes.pop()
    if sizes and config.size not in sizes:
        size = sizes.pop()
        raise InpaintkitError(
            f"the model works at {size}x{size}, not at --size {config.size}; drop --size or "
            "choose a model trained at that size"
        )
    return config.size


def _write_inputs(
    rundir: RunDir, data: BenchImages, masks: list[str], seed: int
) -> dict[tuple[str, int], np.ndarray]:
    """Make every hole; save the ground truths and holes the report needs (when missing)."""
    holes = {}
    size = data.images.shape[1]
    for index, name in enumerate(data.names):
        if not rundir.truth_path(name).exists():
            rundir.save_png(rundir.truth_path(name), data.images[index])
        for mask in masks:
            holes[mask, index] = bench_hole(mask, size, seed, index)
            if not rundir.hole_path(mask, name).exists():
                rundir.save_png(rundir.hole_path(mask, name), holes[mask, index])
    return holes


def _tasks(
    chunks: list[Chunk],
    specs: dict[str, MethodSpec],
    data: BenchImages,
    holes: dict[tuple[str, int], np.ndarray],
    config: BenchConfig,
    models: dict[str, UsedModel | None],
) -> Iterator[Task]:
    for chunk in chunks:
        spec = specs[chunk.label]
        idx = list(chunk.indices)
        yield Task(
            label=spec.label,
            name=spec.name,
            options=_with_runtime(spec, config.runtime),
            model=models[spec.label].spec if models[spec.label] is not None else None,
            device=config.device,
            threads=config.threads,
            mask=chunk.mask,
            indices=chunk.indices,
            seeds=tuple(item_seed(config.seed, chunk.mask, i) for i in idx),
            images=data.images[idx],
            holes=np.stack([holes[chunk.mask, i] for i in idx]),
            model_options=(
                tuple(sorted(config.model_options.items()))
                if models[spec.label] is not None and models[spec.label].spec == config.model
                else ()
            ),
        )


def _with_runtime(spec: MethodSpec, runtime: str) -> dict:
    """The spec's options, with fp32 and contiguous tensors filled in when ``runtime`` is
    "fp32" and the method runs a network (what the spec sets explicitly wins)."""
    if runtime == "auto" or spec.needs.model_kind is None:
        return spec.options
    fields = {f.name for f in dataclasses.fields(spec.method_class().Options)}
    pinned = {"precision": "fp32", "channels_last": False}  # only where the method has them
    return {**{k: v for k, v in pinned.items() if k in fields}, **spec.options}


def _log_plan(say: Log, specs, masks, data, size, planned, todo, config) -> None:
    say(
        f"benchmark: {len(specs)} method(s) x {len(masks)} mask(s) x {len(data.images)} "
        f"image(s) of {config.data} at {size}x{size} = {planned} items; {planned - todo} "
        f"already recorded, {todo} to run"
    )
    for spec in specs:
        cost = spec.cost()
        high = cost["network_evaluations"]  # an adaptive method's fewest, when it varies:
        low = spec.method_class().cost(spec.parsed()).get("network_evaluations_min", high)
        extra = (
            f"{f'{low} to ' if low != high else ''}{high} NFE, {cost['undo_steps']} undo steps "
            "per batch"
            if high
            else "no network"
        )
        fields = {f.name for f in dataclasses.fields(spec.method_class().Options)}
        if spec.needs.model_kind is not None and "precision" in fields:
            knobs = _with_runtime(spec, config.runtime)
            extra += (
                f"; network in {knobs.get('precision', 'auto')}, channels_last "
                f"{str(knobs.get('channels_last', 'auto')).lower()} (--runtime {config.runtime})"
            )
        say(f"  {spec.label}: {extra}")


__all__ = ["PAPER_MASKS", "BenchConfig", "BenchRun", "parse_masks", "run_bench"]
