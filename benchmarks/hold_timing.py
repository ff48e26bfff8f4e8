"""Hold-timing accuracy of the whole pipeline on the exact-label generator (issue 4's bound).

Generator (posecheck.synthetic) -> landmarks (noise, 10 % dropouts, camera on a random side) ->
SessionAnalyzer, glute bridge. Each run is one set of two reps with the same ramp duration and
easing, holding 0.5 s and 2.0 s (the bridge's target), rests 1 s. Per cell (landmark noise x fps
x ramp duration x easing) it prints the worst and the 95th percentile of |hold error| over all
reps, the share of reps off by more than 0.1 s, and any miscount (which would be a bug: counts
are exact over the whole grid). The bounds of tests/test_analyzer.py cite this table.

    /work/venv/bin/python benchmarks/hold_timing.py                 # the full grid, 20 seeds
    /work/venv/bin/python benchmarks/hold_timing.py --seeds 10 --noise 0.02 --fps 10

Runs on one core; the full grid takes long (4 x 3 x 3 x 5 cells): pick cells with the options.
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np

from posecheck.core.analyzer import analyse_poses
from posecheck.synthetic.kinematics import BodyShape
from posecheck.synthetic.landmarks import Camera, to_pose_frames
from posecheck.synthetic.motions import EASINGS, MotionScript, RepSpec, animate

SHAPE = BodyShape()
HOLDS_S = (0.5, 2.0)


def errors(noise: float, fps: float, ramp_s: float, easing: str, seed: int, dropout: float):
    """(|hold error| per truth rep, count ok) for one generated set."""
    reps = tuple(RepSpec(ramp_s, h, ramp_s, easing=easing) for h in HOLDS_S)
    script = MotionScript("glute_bridge", reps=reps, rest_s=1.0)
    motion = animate(script, SHAPE, fps, seed=seed)
    side = "left" if seed % 2 == 0 else "right"
    cam = Camera.framing(motion, side)
    frames = to_pose_frames(motion, SHAPE, cam, noise_frac=noise, dropout=dropout, seed=seed)
    _, summary = analyse_poses(frames, "glute_bridge")
    truth = motion.truth.full_reps
    if summary.rep_count != len(truth) or summary.partials:
        return [], False
    got = [r.hold.duration_s if r.hold is not None else 0.0 for r in summary.reps]
    return [abs(g - w.hold_s) for g, w in zip(got, truth, strict=True)], True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--noise", type=float, nargs="+", default=[0.0, 0.005, 0.01, 0.02])
    ap.add_argument("--fps", type=float, nargs="+", default=[10, 24, 60])
    ap.add_argument("--ramp", type=float, nargs="+", default=[0.6, 1.0, 2.0])
    ap.add_argument("--easing", nargs="+", default=list(EASINGS))
    ap.add_argument("--dropout", type=float, default=0.10)
    args = ap.parse_args()
    print(
        f"seeds {args.seeds} x reps {len(HOLDS_S)} (holds {HOLDS_S} s) per cell, "
        f"dropout {args.dropout:.0%}; |hold error| in s"
    )
    print(
        f"{'noise':>6} {'fps':>4} {'ramp':>5} {'easing':<13} {'worst':>6} {'p95':>6} "
        f"{'>0.1s':>6} {'miscount':>8}"
    )
    t0 = time.perf_counter()
    for noise, fps, ramp, easing in itertools.product(args.noise, args.fps, args.ramp, args.easing):
        errs: list[float] = []
        bad = 0
        for seed in range(args.seeds):
            e, ok = errors(noise, fps, ramp, easing, seed, args.dropout)
            errs += e
            bad += not ok
        a = np.array(errs) if errs else np.array([np.nan])
        print(
            f"{noise:6.1%} {fps:4.0f} {ramp:5.1f} {easing:<13} {a.max():6.3f} "
            f"{np.percentile(a, 95):6.3f} {np.mean(a > 0.1):6.0%} {bad:8d}",
            flush=True,
        )
    print(f"# {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
