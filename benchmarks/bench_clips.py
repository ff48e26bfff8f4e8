"""Analyse speed against the raw model on every clip of a folder, one table.

    python benchmarks/bench_clips.py [DIR] [--model full] [--repeat 2]

For each clip, in one process and interleaved: (a) the raw PoseLandmarker end to end (model
creation included), (a') posecheck's PoseEstimator loop, (b) analyse --no-video and (c) analyse
with the annotated video, both end to end (model, report, timeline and plot included). Prints
the best of `--repeat` rounds per clip as ratios to (a), and their median over the clips: the
montage `bench_pipeline.py` uses by default is the hardest case (cuts: rotation searches), a
short clip pays analyse's fixed costs (model creation, plot) over fewer frames.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_pipeline import analyse_fps, estimator_fps, raw_landmarker_fps

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "shared" / "clips"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", nargs="?", default=str(DEFAULT_DIR))
    ap.add_argument("--model", default="full")
    ap.add_argument("--exercise", default="glute_bridge")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args(argv)
    clips = sorted(Path(args.folder).glob("*.mp4"))
    if not clips:
        print(f"no .mp4 clips in {args.folder}", file=sys.stderr)
        return 2
    print(f"{'clip':42s} {'frames':>6s} {'raw fps':>8s} {'est':>5s} {'no-video':>8s} {'video':>6s}")
    ratios: dict[str, list[float]] = {"est": [], "b": [], "c": []}
    for clip in clips:
        raw = est = novideo = video = 0.0
        n = 0
        for _ in range(args.repeat):
            _, raw_e2e, n = raw_landmarker_fps(clip, args.model)
            raw = max(raw, raw_e2e)
            est = max(est, estimator_fps(clip, args.model))
            novideo = max(novideo, analyse_fps(clip, args.exercise, args.model, video=False)[0])
            video = max(video, analyse_fps(clip, args.exercise, args.model, video=True)[0])
        row = {"est": est / raw, "b": novideo / raw, "c": video / raw}
        for key, value in row.items():
            ratios[key].append(value)
        print(f"{clip.stem[:42]:42s} {n:6d} {raw:8.1f} {row['est']:5.2f} {row['b']:8.2f}"
              f" {row['c']:6.2f}", flush=True)
    med = {key: statistics.median(values) for key, values in ratios.items()}
    print(f"{'median over ' + str(len(clips)) + ' clips':42s} {'':6s} {'':8s} {med['est']:5.2f}"
          f" {med['b']:8.2f} {med['c']:6.2f}   [targets: no-video >= 0.95, video >= 0.85]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
