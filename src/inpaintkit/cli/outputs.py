"""What `inpaintkit inpaint` writes: results, hole masks, grids and trajectory GIFs."""

from __future__ import annotations

from pathlib import Path


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


def write_outputs(out: Path, paths, jobs, results, recorder) -> None:
    from ..io import make_grid, save_hole, save_image, show_hole

    out.mkdir(parents=True, exist_ok=True)
    grid_rows = []
    for n, (path, job, outputs) in enumerate(zip(paths, jobs, results)):
        stem = path.stem
        for k, image in enumerate(outputs):
            save_image(image, out / (f"{stem}.png" if len(outputs) == 1 else f"{stem}_{k}.png"))
        save_hole(job.hole, out / f"{stem}_hole.png")
        row = [job.image, show_hole(job.image, job.hole), *outputs]
        save_image(make_grid([row]), out / f"{stem}_grid.png")
        grid_rows.append(row)
        if recorder is not None:
            pieces = recorder.pieces(n)
            for c in pieces:  # one GIF per crop when the image was cut into several
                name = (
                    f"{stem}_trajectory.gif" if len(pieces) == 1 else f"{stem}_trajectory_{c}.gif"
                )
                _write_gif(
                    out / name,
                    [recorder.frames.get((n, k, c), []) for k in range(len(outputs))],
                )
    if len(grid_rows) > 1:
        save_image(make_grid(grid_rows), out / "grid.png")


def _write_gif(path: Path, per_sample: list[list]) -> None:
    from ..io import make_grid, save_gif

    count = min((len(f) for f in per_sample), default=0)
    save_gif([make_grid([[frames[i] for frames in per_sample]]) for i in range(count)], path)
