"""The same clips through `--engine local` and `--engine ray`, in one run.

    python benchmarks/bench_batch.py [PATHS...] [--model full] [--stride 1] [--workers 2]
                                     [--address ADDR] [--repeat 2]

Default clips: sample_videos/ (4 clips, 2350 frames). For each engine: wall time end to end
(worker start-up and model loads included; for ray also starting a local cluster, or joining
--address), clips/s and frames/s, and the same figures for the steady part (ray: wall minus
cluster start and actor creation). Then ray/local ratios, and Ray's per-clip overhead: the time
from submitting a clip to its row being back in the driver, minus the time the actor spent on
the clip (scheduling, argument and result transfer). With --repeat N the engines alternate
(local, ray, local, ray...) so that a busy machine slows both alike, and each engine's best
round is shown. Both tables must agree; a mismatch exits 1.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
COMPARED = ("clip", "reps", "partials", "holds", "hold_spans_s", "passed", "error")


def run(engine: str, paths: list[str], args: argparse.Namespace) -> dict[str, Any]:
    from posecheck.apps.batch import run_batch

    stats: dict[str, Any] = {}
    t0 = time.perf_counter()
    rows, _ = run_batch(
        paths, engine=engine, workers=args.workers, model=args.model, stride=args.stride,
        address=args.address if engine == "ray" else None, stats=stats,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    frames = sum(r.frames or 0 for r in rows)
    steady = wall - stats.get("connect_s", 0.0)
    return {"rows": rows, "wall": wall, "steady": steady, "frames": frames, "stats": stats}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("paths", nargs="*", default=[str(ROOT / "sample_videos")])
    ap.add_argument("--model", default="full")
    ap.add_argument("--stride", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--address", default=None, help="Ray cluster to join [default: start one]")
    ap.add_argument("--repeat", type=int, default=1, help="alternating rounds per engine")
    args = ap.parse_args(argv)

    rounds: dict[str, list[dict[str, Any]]] = {"local": [], "ray": []}
    for _ in range(args.repeat):
        for engine in rounds:
            rounds[engine].append(run(engine, args.paths, args))
    results = {e: min(rs, key=lambda r: r["wall"]) for e, rs in rounds.items()}
    local, ray = results["local"], results["ray"]
    n = len(local["rows"])
    print(f"{n} clips, {local['frames']} frames, model {args.model}, stride {args.stride}, "
          f"{args.workers} workers, best of {args.repeat} alternating rounds")  # fmt: skip
    for engine, rs in rounds.items():
        print(f"  {engine} rounds, wall s: " + " ".join(f"{r['wall']:.1f}" for r in rs))
    print(f"{'engine':8s} {'wall s':>7s} {'clips/s':>8s} {'frames/s':>9s} "
          f"{'steady s':>9s} {'clips/s':>8s} {'frames/s':>9s}")  # fmt: skip
    for name, r in results.items():
        wall, steady, frames = r["wall"], r["steady"], r["frames"]
        print(f"{name:8s} {wall:7.1f} {n / wall:8.3f} {frames / wall:9.1f} "
              f"{steady:9.1f} {n / steady:8.3f} {frames / steady:9.1f}")  # fmt: skip
    print(f"ray/local throughput: {local['wall'] / ray['wall']:.2f}x end to end, "
          f"{local['wall'] / ray['steady']:.2f}x without the cluster start "
          f"({ray['stats'].get('connect_s', 0.0):.1f} s)")  # fmt: skip
    over = [o for r in rounds["ray"] for o in r["stats"].get("overhead_ms", [])] or [0.0]
    print(f"ray per-clip overhead: median {statistics.median(over):.1f} ms, "
          f"max {max(over):.1f} ms over {len(over)} clips")  # fmt: skip
    tables = {
        str([tuple(row.as_dict()[k] for k in COMPARED) for row in r["rows"]])
        for rs in rounds.values()
        for r in rs
    }
    same = len(tables) == 1
    print("tables identical" if same else "TABLES DIFFER")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
