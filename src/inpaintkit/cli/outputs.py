"""What `inpaintkit inpaint` writes: results, hole masks, grids and trajectory GIFs, each
atomically, into a folder checked before any model is loaded; never over an input."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InpaintkitError


class Trajectory:
    """Collects x0_hat of every method row about 60 times during sampling, for GIFs.

    Frames are keyed by piece, (input, sample, piece) from the callback's "pieces": an image cut
    into several crops (strategy "crop") gets one GIF per crop, never interleaved frames."""

    def __init__(self, inpainter, frames: int = 60) -> None:  # noqa: ANN001
        nfe = inpainter.cost(inpainter.options)["network_evaluations"]
        self.every = max(1, nfe // frames)
        self.frames: dict[tuple[int, int, int], list] = {}

    def __call__(self, info: dict) -> None:
        from ..io import tensor_to_images

        if info["nfe"] % self.every and info["t"] != 0:
            return
        keys = info.get("pieces") or [(n, k, 0) for n, k in info["rows"]]
        for key, image in zip(keys, tensor_to_images(info["x0_hat"])):
            self.frames.setdefault(tuple(key), []).append(image)

    def pieces(self, n: int) -> list[int]:
        """The piece indices of input ``n`` that have frames, in order."""
        return sorted({c for (m, _, c) in self.frames if m == n})


RECORD = "inpaintkit.json"
"""The file in the output folder that holds the run's configuration and the files it wrote."""


@dataclass
class OutputPlan:
    """Where and how `inpaintkit inpaint` writes, checked before any model is loaded.

    formats: the result format of each image; remove: the files an earlier run's
    inpaintkit.json lists, removed before writing (--overwrite); written: the names written."""

    out: Path
    formats: list[str]
    quality: int | None
    remove: list[Path] = field(default_factory=list)
    written: list[str] = field(default_factory=list)

    def path(self, name: str) -> Path:
        """``out/name``, recorded as written (the record is written last, after every file)."""
        self.written.append(name)
        return self.out / name

    def record(self, config: dict) -> None:
        """Write inpaintkit.json atomically: ``config`` plus "files", the names written."""
        from ..io import atomic_write

        text = json.dumps({**config, "files": self.written}, indent=2) + "\n"
        atomic_write(self.out / RECORD, lambda tmp: tmp.write_text(text))


def plan_outputs(
    out: Path,
    images: list[Path],
    inputs: list[Path],
    *,
    samples: int,
    format: str | None = None,  # noqa: A002
    quality: int | None = None,
    overwrite: bool = False,
    create: bool = True,
    names: list[str] | None = None,
) -> OutputPlan:
    """Check (and create, unless ``create`` is False: a dry run) the output folder.

    Refuses, each in one line: an --out that is a file, under a file or not writable; a --format
    or --quality out of range; an output that would be one of ``inputs`` (images, masks, extra
    inputs) or any earlier run's file it would remove; a folder holding an earlier run's
    inpaintkit.json, or files of the names this run writes, unless ``overwrite``. ``names``:
    the file names a command writes when they are not `inpaintkit inpaint`'s
    (:func:`planned_names`), e.g. `inpaintkit realfill`'s."""
    from ..io import OUTPUT_FORMATS, format_of

    if format is not None and format not in OUTPUT_FORMATS:
        raise InpaintkitError(f"--format must be one of {', '.join(OUTPUT_FORMATS)}, got {format}")
    formats = [format or format_of(p) or "png" for p in images]
    if quality is not None:
        if not 1 <= quality <= 100:
            raise InpaintkitError(f"--quality must be 1..100, got {quality}")
        if all(f == "png" for f in formats):
            raise InpaintkitError(
                "--quality applies to jpg and webp results, and these results are png; "
                "give --format jpg or --format webp"
            )
    _check_folder(out, create)
    names = planned_names(images, formats, samples) if names is None else [*names, RECORD]
    protected = {p.resolve(): p for p in inputs}
    here = out.resolve()
    for name in names:
        if here / name in protected:
            raise InpaintkitError(
                f"--out {out} would replace the input {protected[here / name]} with a result; "
                "outputs never replace an input: choose another --out"
            )
    plan = OutputPlan(out, formats, quality)
    if (out / RECORD).exists():
        if not overwrite:
            raise InpaintkitError(
                f"{out} holds the outputs of an earlier run ({out / RECORD}); give --overwrite "
                "to remove the files it lists and write the new ones, or choose another --out"
            )
        plan.remove = _previous_files(out)
        for path in plan.remove:
            if path.resolve() in protected:
                raise InpaintkitError(
                    f"--overwrite would remove {path}, an earlier output that is an input of "
                    "this run: choose another --out"
                )
    elif not overwrite:
        taken = [n for n in names if (out / n).exists()]
        if taken:
            raise InpaintkitError(
                f"{out} already holds {', '.join(taken)}; give --overwrite to replace them, "
                "or choose another --out"
            )
    return plan


def planned_names(images: list[Path], formats: list[str], samples: int) -> list[str]:
    """The names a run writes (trajectory GIFs aside), in the order it writes them."""
    names = []
    for path, fmt in zip(images, formats):
        stem = path.stem
        if samples == 1:
            names.append(f"{stem}.{fmt}")
        else:
            names += [f"{stem}_{k}.{fmt}" for k in range(samples)]
        names += [f"{stem}_hole.png", f"{stem}_grid.png"]
    return names + (["grid.png"] if len(images) > 1 else []) + [RECORD]


def _check_folder(out: Path, create: bool) -> None:
    if out.exists() and not out.is_dir():
        raise InpaintkitError(f"--out must be a folder, but {out} is a file")
    if not create:  # a dry run writes nothing: the nearest existing folder must be writable
        parent = next(p for p in [out, *out.absolute().parents] if p.exists())
        if not parent.is_dir() or not os.access(parent, os.W_OK):
            raise InpaintkitError(
                f"cannot create the output folder {out}: {parent} is not a writable folder"
            )
        return
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".inpaintkit-probe-", dir=out)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise InpaintkitError(
            f"cannot write to the output folder {out}: {err.strerror or err}"
        ) from err


def _previous_files(out: Path) -> list[Path]:
    """The files an earlier run's inpaintkit.json lists (plain names inside ``out`` only)."""
    try:
        listed = json.loads((out / RECORD).read_text()).get("files", [])
    except (OSError, ValueError, AttributeError) as err:
        raise InpaintkitError(
            f"--overwrite: cannot read the file list of {out / RECORD} ({err}); remove the "
            "earlier outputs yourself"
        ) from err
    if not isinstance(listed, list) or not all(isinstance(n, str) for n in listed):
        raise InpaintkitError(f"--overwrite: {out / RECORD} 'files' is not a list of names")
    bad = [n for n in listed if Path(n).name != n or n in ("", ".", "..")]
    if bad:
        raise InpaintkitError(
            f"--overwrite: {out / RECORD} lists files outside {out}: {', '.join(bad)}"
        )
    return [out / n for n in listed if n != RECORD]


def write_outputs(plan: OutputPlan, paths, jobs, results, recorder) -> None:  # noqa: ANN001
    """Remove the earlier run's files (--overwrite), then write results (in ``plan.formats``),
    hole masks and grids (PNG) and trajectory GIFs, each atomically."""
    from ..io import make_grid, save_hole, save_image, show_hole

    for old in plan.remove:
        old.unlink(missing_ok=True)
    (plan.out / RECORD).unlink(missing_ok=True)
    quality = plan.quality
    grid_rows = []
    for n, (path, job, outputs) in enumerate(zip(paths, jobs, results)):
        stem, fmt = path.stem, plan.formats[n]
        q = quality if fmt != "png" else None
        for k, image in enumerate(outputs):
            name = f"{stem}.{fmt}" if len(outputs) == 1 else f"{stem}_{k}.{fmt}"
            save_image(image, plan.path(name), format=fmt, quality=q)
        save_hole(job.hole, plan.path(f"{stem}_hole.png"))
        row = [job.image, show_hole(job.image, job.hole), *outputs]
        save_image(make_grid([row]), plan.path(f"{stem}_grid.png"))
        grid_rows.append(row)
        if recorder is not None:
            pieces = recorder.pieces(n)
            for c in pieces:  # one GIF per crop when the image was cut into several
                name = (
                    f"{stem}_trajectory.gif" if len(pieces) == 1 else f"{stem}_trajectory_{c}.gif"
                )
                frames = [recorder.frames.get((n, k, c), []) for k in range(len(outputs))]
                if min((len(f) for f in frames), default=0):
                    _write_gif(plan.path(name), frames)
    if len(grid_rows) > 1:
        save_image(make_grid(grid_rows), plan.path("grid.png"))


def _write_gif(path: Path, per_sample: list[list]) -> None:
    from ..io import make_grid, save_gif

    count = min((len(f) for f in per_sample), default=0)
    save_gif([make_grid([[frames[i] for frames in per_sample]]) for i in range(count)], path)
