"""Hold-timing accuracy of the whole pipeline on the exact-label generator (issue 4's bound).

Generator (posecheck.synthetic) -> landmarks (noise, dropouts, camera on a random side) ->
SessionAnalyzer, glute bridge. Each run is one set of reps with the same ramp duration and
easing, holding each of `--holds` (default 0.5, 1, 2 and 3 s), rests 1 s. Per cell (landmark
noise x fps x ramp duration x easing) it prints the worst, the 99th and 95th percentiles of
|hold error| over all reps, the share of reps off by more than 0.1 s, holds lost (read as none),
the mean signed error of the hold's start and end (a bias: + = late) and any miscount (which
would be a bug: counts are exact over the whole grid). The bounds of tests/test_analyzer.py
cite this table.

    /work/venv/bin/python benchmarks/hold_timing.py                 # the full grid, 10 seeds
    /work/venv/bin/python benchmarks/hold_timing.py --seeds 10 --noise 0.02 --fps 10
    /work/venv/bin/python benchmarks/hold_timing.py --limit        # the information limit

`--limit` prints, per cell, the spread (SD) of each hold edge when the easing, the levels and
the other edges are known (least squares for one corner time on the noisy samples): no
estimator that has to find the easing too can do better. Its scaling, σ / (slope · sqrt(fps)),
is why slow ramps at 2 % noise cannot be timed to ±0.1 s.

Runs on one core; the full grid takes long: pick cells with the options, and run it under
`nice -n 19` on a shared machine.
"""

from __future__ import annotations

import argparse
import itertools
import math
import time

import numpy as np

from posecheck.core.analyzer import analyse_poses
from posecheck.core.geometry import measure
from posecheck.synthetic.kinematics import BodyShape
from posecheck.synthetic.landmarks import Camera, to_pose_frames
from posecheck.synthetic.motions import EASINGS, MotionScript, RepSpec, animate

SHAPE = BodyShape()
HOLDS_S = (0.5, 1.0, 2.0, 3.0)


def signed_errors(
    noise: float,
    fps: float,
    ramp_s: float,
    easing: str,
    seed: int,
    dropout: float,
    holds: tuple[float, ...] = HOLDS_S,
    depth: float = 1.0,
) -> list[tuple[float, float, float]] | None:
    """Per truth rep (start error, end error, duration error) of its hold in s (start/end NaN
    for a hold read as none); None on a miscount."""
    reps = tuple(RepSpec(ramp_s, h, ramp_s, easing=easing, depth=depth) for h in holds)
    script = MotionScript("glute_bridge", reps=reps, rest_s=1.0)
    motion = animate(script, SHAPE, fps, seed=seed)
    side = "left" if seed % 2 == 0 else "right"
    cam = Camera.framing(motion, side)
    frames = to_pose_frames(motion, SHAPE, cam, noise_frac=noise, dropout=dropout, seed=seed)
    _, summary = analyse_poses(frames, "glute_bridge")
    truth = motion.truth.full_reps
    if summary.rep_count != len(truth) or summary.partials:
        return None
    out = []
    for g, w in zip(summary.reps, truth, strict=True):
        if g.hold is None:
            out.append((math.nan, math.nan, -w.hold_s))
        else:
            a, d = g.hold.start_ms / 1000.0, g.hold.end_ms / 1000.0
            out.append((a - w.top_s, d - w.top_end_s, (d - a) - w.hold_s))
    return out


def errors(noise: float, fps: float, ramp_s: float, easing: str, seed: int, dropout: float):
    """(|hold error| per truth rep, count ok) for one generated set (holds 0.5 s and 2 s)."""
    got = signed_errors(noise, fps, ramp_s, easing, seed, dropout, holds=(0.5, 2.0))
    if got is None:
        return [], False
    return [abs(e[2]) for e in got], True


def angle_noise_deg(noise: float, fps: float, seed: int = 0) -> float:
    """σ of the measured (unsmoothed) hip angle at rest for a landmark noise (fraction of the
    thigh): from frame-to-frame differences of the camera-side hip, which the analyzer follows
    in a side view (2.1-2.3° at 2 %, as the counter's unsmoothed input measures)."""
    script = MotionScript("glute_bridge", reps=(), lead_in_s=3.0, lead_out_s=0.0)
    motion = animate(script, SHAPE, fps, seed=seed)
    cam = Camera.framing(motion, "left")
    frames = to_pose_frames(motion, SHAPE, cam, noise_frac=noise, dropout=0.0, seed=seed)
    raw = np.array([measure(f).hip_flexion_deg["left"] for f in frames])
    raw = raw[np.isfinite(raw)]
    return float(np.std(np.diff(raw)) / math.sqrt(2.0)) if raw.size > 2 else math.nan


def limit_sd(
    sigma: float, fps: float, ramp_s: float, easing: str, hold_s: float = 0.5, rom: float = 50.0
) -> float:
    """SD (s) of one hold edge at the Cramér-Rao bound with the easing known: the model
    y = B + (L - B) ease((t - s) / (e - s)) with B, L, s, e unknown, sampled 0.5 s of rest, the
    ramp and `hold_s` of the top (10 % of frames dropped): sqrt((J^-1)_ee) for the Fisher
    information J = sum(grad y grad y^T) / σ². An estimator that must find the easing too
    can only do worse."""
    ease = EASINGS[easing]
    t = np.arange(-0.5, ramp_s + hold_s, 1.0 / fps)
    theta = np.array([0.0, rom, 0.0, ramp_s])

    def model(th: np.ndarray) -> np.ndarray:
        u = np.clip((t - th[2]) / (th[3] - th[2]), 0.0, 1.0)
        return th[0] + (th[1] - th[0]) * np.asarray(ease(u), dtype=float)

    grad = np.empty((4, t.size))
    for i in range(4):
        h = np.zeros(4)
        h[i] = 1e-4 * (1.0 if i < 2 else ramp_s)
        grad[i] = (model(theta + h) - model(theta - h)) / (2 * h[i])
    info = 0.9 * grad @ grad.T / sigma**2
    try:
        return float(math.sqrt(np.linalg.inv(info)[3, 3]))
    except np.linalg.LinAlgError:
        return math.inf


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--noise", type=float, nargs="+", default=[0.0, 0.005, 0.01, 0.02])
    ap.add_argument("--fps", type=float, nargs="+", default=[10, 15, 24, 30, 60])
    ap.add_argument("--ramp", type=float, nargs="+", default=[0.4, 0.6, 1.0, 2.0])
    ap.add_argument("--easing", nargs="+", default=list(EASINGS))
    ap.add_argument("--holds", type=float, nargs="+", default=list(HOLDS_S))
    ap.add_argument("--depth", type=float, default=1.0, help="range of motion (1 = full)")
    ap.add_argument("--dropout", type=float, default=0.10)
    ap.add_argument("--limit", action="store_true", help="print the information limit only")
    args = ap.parse_args()
    if args.limit:
        print(f"{'noise':>6} {'fps':>4} {'σ deg':>6} {'ramp':>5} {'easing':<13} {'edge SD':>7}")
        for noise, fps in itertools.product(args.noise, args.fps):
            sigma = angle_noise_deg(noise, fps)
            for ramp, easing in itertools.product(args.ramp, args.easing):
                sd = limit_sd(sigma, fps, ramp, easing, min(args.holds), 50.0 * args.depth)
                print(f"{noise:6.1%} {fps:4.0f} {sigma:6.2f} {ramp:5.1f} {easing:<13} {sd:7.3f}")
        return
    print(
        f"seeds {args.seeds} x reps {len(args.holds)} (holds {args.holds} s) per cell, depth "
        f"{args.depth}, dropout {args.dropout:.0%}; |hold error| in s, bias = mean signed "
        "error of the hold's start / end (+ late)"
    )
    print(
        f"{'noise':>6} {'fps':>4} {'ramp':>5} {'easing':<13} {'worst':>6} {'p99':>6} {'p95':>6} "
        f"{'>0.1s':>6} {'lost':>4} {'bias a':>7} {'bias d':>7} {'miscount':>8}"
    )
    t0 = time.perf_counter()
    for noise, fps, ramp, easing in itertools.product(args.noise, args.fps, args.ramp, args.easing):
        rows: list[tuple[float, float, float]] = []
        bad = 0
        for seed in range(args.seeds):
            got = signed_errors(
                noise, fps, ramp, easing, seed, args.dropout, tuple(args.holds), args.depth
            )
            if got is None:
                bad += 1
            else:
                rows += got
        d = np.array(rows) if rows else np.full((1, 3), np.nan)
        a = np.abs(d[:, 2])
        print(
            f"{noise:6.1%} {fps:4.0f} {ramp:5.1f} {easing:<13} {a.max():6.3f} "
            f"{np.percentile(a, 99):6.3f} {np.percentile(a, 95):6.3f} {np.mean(a > 0.1):6.0%} "
            f"{int(np.isnan(d[:, 0]).sum()):4d} {np.nanmean(d[:, 0]):+7.3f} "
            f"{np.nanmean(d[:, 1]):+7.3f} {bad:8d}",
            flush=True,
        )
    print(f"# {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
