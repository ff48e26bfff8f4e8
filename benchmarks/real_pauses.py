"""Counts and pauses on the labelled real clips: the figures issue 17 is judged by.

Runs `posecheck batch`'s pipeline on every clip of a labels file (default ../shared/clips) and
prints a row per clip (count against its label) and a row per labelled pause (counted span and
error), then three figures over the pauses: the share found, the share within ±0.25 s of the
label, and the mean signed error. Deadlifts and lunges are left out of the pause figures by
default: their labelled pauses are standing rests between reps, not pauses at the top.

    python benchmarks/real_pauses.py                         # full model, 2 workers
    python benchmarks/real_pauses.py --stride 2
    python benchmarks/real_pauses.py --poses DIR             # landmarks from `posecheck pose`
    python benchmarks/real_pauses.py --poses DIR --without-ramp-fit   # corner fits alone

`--poses DIR` reads DIR/NAME.npz written by `posecheck pose CLIP --out DIR/NAME.npz` (the same
poses `analyse` computes) and runs only the core: seconds instead of minutes, for core changes.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from unittest import mock

from posecheck.apps.agreement import agreement, match_pauses
from posecheck.apps.batch import ClipRow, load_labels, make_jobs, run_batch, score_row

CLIPS = Path(__file__).resolve().parents[1].parent / "shared" / "clips"
REST_PAUSE_EXERCISES = ("romanian_deadlift", "back_lunge")


def rows_from_poses(clips: Path, poses: Path, labels_path: Path) -> list[ClipRow]:
    """Score cached landmark files with the core alone (same rows as `run_batch`)."""
    from posecheck.core.analyzer import analyse_poses
    from posecheck.pose import load_pose_frames

    labels = load_labels(labels_path)
    paths = [clips / name for name in sorted(labels)]
    rows = []
    for job in make_jobs(paths, labels, None):
        name = Path(job.path).name
        frames, _ = load_pose_frames(poses / f"{Path(name).stem}.npz")
        _, summary = analyse_poses(frames, job.exercise or "glute_bridge")
        row = ClipRow(clip=name, path=job.path, exercise=job.exercise)
        row.reps, row.partials = len(summary.reps), len(summary.partials)
        row.holds = len(summary.holds)
        row.hold_spans_s = [(h.start_ms / 1000.0, h.end_ms / 1000.0) for h in summary.holds]
        score_row(row, job)
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=Path, default=CLIPS)
    ap.add_argument("--labels", type=Path, default=None, help="default: CLIPS/labels.json")
    ap.add_argument("--poses", type=Path, default=None, help="cached landmarks (NAME.npz)")
    ap.add_argument("--stride", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--model", default="full")
    ap.add_argument("--tolerance", type=float, default=0.25)
    ap.add_argument(
        "--without-ramp-fit", action="store_true",
        help="time holds by the corner fits alone (with --poses; see docs/pauses.md)",
    )
    args = ap.parse_args(argv)
    labels_path = args.labels or args.clips / "labels.json"
    if args.without_ramp_fit and args.poses is None:
        ap.error("--without-ramp-fit needs --poses (the core runs in this process)")
    if args.poses is not None:
        with contextlib.ExitStack() as stack:
            if args.without_ramp_fit:
                from posecheck.core.counter.timing import _Timing

                stack.enter_context(mock.patch.object(_Timing, "_ramp_fit", return_value=None))
            rows = rows_from_poses(args.clips, args.poses, labels_path)
    else:
        rows, _ = run_batch(
            [args.clips], labels=labels_path, workers=args.workers, model=args.model,
            stride=args.stride,
        )
    labels = load_labels(labels_path)
    print(f"{'clip':52s} {'reps':>5s} {'label':>12s} count")
    matches = []
    for row in sorted(rows, key=lambda r: r.clip):
        label = labels[row.clip]
        ok = "ok" if row.count_error == 0 and row.error is None else f"OFF {row.count_error}"
        print(f"{row.clip:52s} {row.reps!s:>5s} {row.expected_reps!s:>12s} {ok}")
        if label.exercise not in REST_PAUSE_EXERCISES and not row.negative:
            matches += match_pauses(row.clip, label.holds, row.hold_spans_s)
    print(f"\n{'clip':52s} {'labelled':>13s} {'counted':>13s}  error")
    for m in matches:
        got = "missed" if m.counted is None else f"{m.counted[0]:6.2f}-{m.counted[1]:6.2f}"
        err = "" if m.error_s is None else f"{m.error_s:+.2f}"
        print(f"{m.clip:52s} {m.label[0]:6.2f}-{m.label[1]:6.2f} {got:>13s}  {err}")
    result = agreement(matches, args.tolerance)
    print("\n" + result.summary())
    miscounted = [r.clip for r in rows if r.count_error not in (0, None) or r.error]
    print(f"counts within label: {len(rows) - len(miscounted)}/{len(rows)}", *miscounted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
