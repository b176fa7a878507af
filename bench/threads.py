"""Per-evaluation time of the network under several CPU thread settings, idle and busy.

Each setting runs in a fresh subprocess, so its environment is read when torch loads:
  torch default     no OMP_* variables: one thread per core, spinning waits
  OMP_NUM_THREADS=1 one thread
  PASSIVE, 2        OMP_NUM_THREADS=2, OMP_WAIT_POLICY=PASSIVE
  inpaintkit        inpaintkit.threads.apply_thread_policy() before torch loads (the CLI's)
"busy" runs a second process spinning on one core (pinned to core 0 where the OS allows) for
the whole measurement. Settings run --rounds times in rotating order (other processes on a
shared machine come and go); each cell is the median over rounds of each round's median of one
network call at --batch, with its ratio to the best setting of its row. The load average is
printed before and after: "idle" means no spinner of ours, not an empty machine.

    .venv/bin/python bench/threads.py --models default preset:emoji64 --batch 2 --repeats 8 \\
        --rounds 2 --json docs/speed/threads-cpu.json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import statistics
import subprocess
import sys
import time

SETTINGS: dict[str, dict[str, str]] = {
    "torch default": {},
    "OMP_NUM_THREADS=1": {"OMP_NUM_THREADS": "1"},
    "PASSIVE, 2 threads": {"OMP_NUM_THREADS": "2", "OMP_WAIT_POLICY": "PASSIVE"},
    "inpaintkit": {"_POLICY": "1"},
}
CLEARED = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "INPAINTKIT_THREADS", "MKL_NUM_THREADS")


def worker(model_spec: str, batch: int, repeats: int, policy: bool, cap: float = 3.0) -> dict:
    """Time ``repeats`` network calls (after two warm-ups) in this fresh process; stop early
    once the timed calls passed ``cap`` seconds (at least 3 calls)."""
    if policy:
        from inpaintkit.threads import apply_thread_policy

        applied = apply_thread_policy([])
        assert not applied.torch_loaded
    import torch

    from inpaintkit.bench.speed import load_speed_model

    model = load_speed_model(model_spec)
    size = model.image_size
    x = torch.randn(batch, model.channels, size, size, generator=torch.Generator().manual_seed(0))
    t = torch.full((batch,), 500, dtype=torch.long)
    times = []
    with torch.inference_mode():
        for i in range(repeats + 2):
            started = time.perf_counter()
            model.unet(x, t)
            if i >= 2:
                times.append(time.perf_counter() - started)
                if len(times) >= 3 and sum(times) > cap:
                    break
    return {
        "median_ms": statistics.median(times) * 1000,
        "threads": torch.get_num_threads(),
        "wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "size": size,
        "calls": len(times),
    }


def _loadavg() -> str:
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def _spin() -> None:
    try:
        os.sched_setaffinity(0, {0})
    except (AttributeError, OSError):
        pass
    while True:
        pass


def run_setting(name: str, model: str, batch: int, repeats: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    extra = dict(SETTINGS[name])
    policy = extra.pop("_POLICY", None) is not None
    env.update(extra)
    args = [sys.executable, __file__, "--worker", model, str(batch), str(repeats), str(policy)]
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        model, batch, repeats, policy = sys.argv[2:6]
        print(json.dumps(worker(model, int(batch), int(repeats), policy == "True")))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["default", "preset:emoji64"])
    parser.add_argument("--batch", type=int, default=2, help="rows per network call")
    parser.add_argument("--repeats", type=int, default=8, help="timed calls (3 s at most)")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each setting")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    started = time.time()
    load_before = _loadavg()
    rows = []
    for load in ("idle", "busy"):
        spinner = None
        if load == "busy":
            spinner = multiprocessing.Process(target=_spin, daemon=True)
            spinner.start()
        try:
            for model in args.models:
                runs: dict[str, list[dict]] = {name: [] for name in SETTINGS}
                names = list(SETTINGS)
                for r in range(args.rounds):
                    for name in names[r % len(names) :] + names[: r % len(names)]:
                        runs[name].append(run_setting(name, model, args.batch, args.repeats))
                        print(json.dumps({"load": load, "model": model, "setting": name,
                                          **runs[name][-1]}), file=sys.stderr)  # fmt: skip
                for name, results in runs.items():
                    median = statistics.median(r["median_ms"] for r in results)
                    rows.append(
                        {"load": load, "model": model, "setting": name, **results[0],
                         "median_ms": median, "rounds": [r["median_ms"] for r in results]}
                    )  # fmt: skip
        finally:
            if spinner is not None:
                spinner.terminate()
                spinner.join()
    cores = os.cpu_count()
    print(
        f"{cores} cores, {platform.processor() or platform.machine()}, python "
        f"{platform.python_version()}, batch {args.batch}, up to {args.repeats} calls x "
        f"{args.rounds} rounds, {time.time() - started:.0f} s in all; load average "
        f"{load_before} before, {_loadavg()} after\n"
    )
    print("| load | model | setting | threads | wait policy | median ms | x best |")
    print("| --- | --- | --- | ---: | --- | ---: | ---: |")
    for row in rows:
        best = min(
            r["median_ms"] for r in rows if (r["load"], r["model"]) == (row["load"], row["model"])
        )
        print(
            f"| {row['load']} | {row['model']} ({row['size']}x{row['size']}) | {row['setting']} "
            f"| {row['threads']} | {row['wait_policy'] or '-'} | {row['median_ms']:.1f} "
            f"| {row['median_ms'] / best:.2f} |"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
