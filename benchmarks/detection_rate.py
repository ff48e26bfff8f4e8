#!/usr/bin/env python3
"""Detection rate (frames with a pose / frames) per shared clip: as filmed vs orientation auto.

    python benchmarks/detection_rate.py                 # the lying clips (labels.json)
    python benchmarks/detection_rate.py --all           # every clip
    python benchmarks/detection_rate.py --model lite --json rates.json

Each clip is decoded once and fed to two estimators (orientation=0 and orientation=auto, both
VIDEO mode). The montage clip is mostly close-ups and an outro with nobody in frame, so the rate
is also given over its full-body shots (listed in its labels' notes); `evaluated` says which
frames the rate columns cover. fps is the auto estimator's own throughput (inference only).

Results and their history: docs/measurements.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from posecheck.inputs.sources import open_source  # noqa: E402
from posecheck.pose import PoseEstimator  # noqa: E402

CLIPS = REPO.parent / "shared" / "clips"
FULL_BODY_SEGMENTS_S = {
    "glute_bridge_tutorial_montage_douyin.mp4": [(0.0, 2.3), (20.1, 26.6), (29.6, 34.9),
                                                 (35.0, 40.7)],
}


def measure(
    path: Path, model: str = "full", *, filmed_everywhere: bool = True, **options: Any
) -> dict[str, Any]:
    """Rates for one clip; `filmed_everywhere=False` runs the as-filmed estimator only on the
    evaluated frames (what the acceptance test needs, and cheaper). `options` go to both
    PoseEstimators (running_mode, confidences)."""
    segments = FULL_BODY_SEGMENTS_S.get(path.name)
    hits = {"auto": 0, "filmed": 0, "auto_all": 0, "filmed_all": 0}
    evaluated = 0
    auto_seconds = 0.0
    with open_source(path) as src, PoseEstimator(model, **options) as auto, \
            PoseEstimator(model, orientation=0, **options) as filmed:
        for frame in src:
            start = time.perf_counter()
            a = auto.detect(frame.image, frame.timestamp_ms, frame.index).present
            auto_seconds += time.perf_counter() - start
            t = frame.timestamp_ms / 1000.0
            counted = segments is None or any(lo <= t <= hi for lo, hi in segments)
            b = False
            if counted or filmed_everywhere:
                b = filmed.detect(frame.image, frame.timestamp_ms, frame.index).present
            hits["auto_all"] += a
            hits["filmed_all"] += b
            if counted:
                evaluated += 1
                hits["auto"] += a
                hits["filmed"] += b
        stats = auto.stats
    frames = stats.frames
    return {
        "clip": path.name,
        "frames": frames,
        "evaluated": evaluated,
        "rate_as_filmed": hits["filmed"] / evaluated if evaluated else 0.0,
        "rate_auto": hits["auto"] / evaluated if evaluated else 0.0,
        "rate_as_filmed_all_frames": (hits["filmed_all"] / frames
                                      if frames and filmed_everywhere else None),
        "rate_auto_all_frames": hits["auto_all"] / frames if frames else 0.0,
        "rotations": {k: v for k, v in stats.per_rotation.items() if v},
        "searches": stats.searches,
        "inferences": stats.inferences,
        "fps_auto": frames / auto_seconds if auto_seconds else 0.0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", action="store_true", help="every clip, not only lying ones")
    parser.add_argument("--model", default="full")
    parser.add_argument("--clips", type=Path, default=CLIPS)
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--mode", choices=("video", "image"), default="video",
                        help="image: no tracking, so every frame needs the detector")
    parser.add_argument("--confidence", type=float, default=0.5,
                        help="min pose detection/presence/tracking confidence")
    args = parser.parse_args()
    options = {"running_mode": args.mode, "min_pose_detection_confidence": args.confidence,
               "min_pose_presence_confidence": args.confidence,
               "min_tracking_confidence": args.confidence}
    labels = json.loads((args.clips / "labels.json").read_text())
    names = [e["file"] for e in labels if args.all or e.get("lying")]
    rows = []
    header = (f"{'clip':44} {'frames':>6} {'eval':>5} {'as-filmed':>9} {'auto':>7} "
              f"{'auto/all':>8} {'rotation chosen (frames)':26} {'fps':>5}")
    print(f"model={args.model} mode={args.mode} confidence={args.confidence}")
    print(header)
    print("-" * len(header))
    for name in names:
        row = measure(args.clips / name, args.model, **options)
        rows.append(row)
        rotations = ", ".join(f"{k}:{v}" for k, v in row["rotations"].items()) or "-"
        print(f"{name:44} {row['frames']:>6} {row['evaluated']:>5} "
              f"{row['rate_as_filmed']:>9.1%} {row['rate_auto']:>7.1%} "
              f"{row['rate_auto_all_frames']:>8.1%} {rotations:26} {row['fps_auto']:>5.1f}",
              flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    worst = min((r["rate_auto"] for r in rows if r["evaluated"]), default=0.0)
    print(f"lowest auto rate over evaluated frames: {worst:.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
