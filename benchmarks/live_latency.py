"""Live latency: how old is the frame on screen, and what happens when inference is too slow.

    python benchmarks/live_latency.py [CLIP] [--model full] [--window] [--slow-ms 70] [--json OUT]

Replays CLIP at its real frame rate through the very loop `posecheck live` runs (capture thread,
newest-frame handoff, pose, core, overlay, panel) and reports, per shown frame:
  age    capture timestamp -> overlay and panel drawn (what the person sees is this old),
  infer  time in the pose model,
and the frames captured / shown / dropped. Target: median age <= median inference + 15 ms.

A second run slows the model down artificially (`--slow-ms` added per inference, so it is
slower than the camera) to show that frames are dropped, not queued: the age stays bounded by
about one inference plus one frame period instead of growing through the clip.

`--window` shows the real window on a private Xvfb display (adds imshow + the GUI loop).

What "age" includes: capture timestamp (the capture thread's clock when the frame left the
decoder) -> overlay and panel drawn into the window picture. Parts, per shown frame (medians):
  wait     capture -> taken by the loop (time in the one-frame slot)
  infer    the pose model
  core     analyzer, timeline, coach
  overlay  letterbox the frame into the window picture + skeleton/arc/plot drawn there
  hud      hint/status bands and the big panel
Not in "age", reported beside it: show (imshow hands the picture to Qt) and pump (waitKey: Qt
paints into the X server there); "age when painted" = age + show + the first pump.

Results and their history: docs/measurements.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from contextlib import ExitStack
from pathlib import Path

DEFAULT_CLIP = (
    Path(__file__).resolve().parents[2] / "shared" / "clips" / "glute_bridge_darebee_side.mp4"
)


class SlowedEstimator:
    """The real estimator plus a fixed sleep per call: a machine too slow for the camera."""

    def __init__(self, inner: object, extra_ms: float) -> None:
        self.inner = inner
        self.extra_s = extra_ms / 1000.0

    def detect(self, image, timestamp_ms, index):  # type: ignore[no-untyped-def]
        pose = self.inner.detect(image, timestamp_ms, index)  # type: ignore[attr-defined]
        time.sleep(self.extra_s)
        return pose


def outcome_period_ms(clip: Path) -> float:
    import cv2

    cap = cv2.VideoCapture(str(clip))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    cap.release()
    return 1000.0 / fps


def run(clip: Path, model: str, window: bool, extra_ms: float = 0.0,
        fresher: float | None = None) -> dict[str, object]:
    from posecheck.apps.live.app import LiveConfig, run_live
    from posecheck.apps.live.keys import CvKeySource, NoKeys

    out_dir = Path(f"/tmp/posecheck-live-latency-{int(time.time() * 1000)}")
    wrap = (lambda est: SlowedEstimator(est, extra_ms)) if extra_ms > 0 else None
    progress = open("/dev/null", "w")  # noqa: SIM115
    outcome = run_live(LiveConfig(
        source=str(clip), realtime=True, model=model, headless=not window, mute=True,
        out_dir=out_dir, summary_s=0.0, keys=CvKeySource() if window else NoKeys(),
        stream=progress, wrap_estimator=wrap, fresher_within=fresher,
    ))
    progress.close()
    timings = list(outcome.latency.timings)
    ages = [t.age_ms for t in timings]
    infers = [t.infer_ms for t in timings]
    third = max(1, len(ages) // 3)
    stats = outcome.latency.summary()
    stats.update({
        "model": model,
        "window": window,
        "extra_inference_ms": extra_ms,
        "age_ms_median_first_third": statistics.median(ages[:third]),
        "age_ms_median_last_third": statistics.median(ages[-third:]),
        "max_dropped_in_a_row": max((t.dropped_before for t in timings), default=0),
        "reps": outcome.rep_count,
        "frames": [dataclasses.asdict(t) for t in timings],  # per shown frame, for --json
        # Normal run: age <= inference + 15 ms. Slowed run (infer_ms includes the delay): the
        # newest frame waits at most one frame period, so age <= inference + period + 15 ms,
        # and no backlog builds up (last third no older than the first).
        "target_met": stats.get("age_ms_median", 1e9)
        <= statistics.median(infers) + 15.0 + (outcome_period_ms(clip) if extra_ms else 0.0),
    })
    return stats


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("clip", nargs="?", type=Path, default=DEFAULT_CLIP)
    ap.add_argument("--model", default="full")
    ap.add_argument("--window", action="store_true", help="real window on a private Xvfb")
    ap.add_argument("--slow-ms", type=float, default=70.0,
                    help="extra ms per inference in the second run (0 = skip it)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    results = []
    with ExitStack() as stack:
        if args.window:
            from posecheck.testing.xvfb import virtual_display

            stack.enter_context(virtual_display((1280, 720)))
        results.append(run(args.clip, args.model, args.window))
        if args.slow_ms > 0:
            results.append(run(args.clip, args.model, args.window, extra_ms=args.slow_ms))
    for r in results:
        label = "normal" if not r["extra_inference_ms"] else f"+{r['extra_inference_ms']:g} ms"
        infer = r["infer_ms_median"]
        print(f"[{label}] model {r['model']}{' (window)' if r['window'] else ''}: "
              f"age median {r['age_ms_median']:.1f} ms, p95 {r['age_ms_p95']:.1f} ms; "
              f"inference median {infer:.1f} ms (p95 {r['infer_ms_p95']:.1f}); "
              f"shown {r['frames_shown']} / captured {r['frames_captured']}, "
              f"dropped {r['frames_dropped']} (max {r['max_dropped_in_a_row']} in a row); "
              f"age = wait {r['wait_ms_median']:.1f} + infer + core {r['core_ms_median']:.1f} "
              f"+ overlay {r['overlay_ms_median']:.1f} + hud {r['hud_ms_median']:.1f} ms "
              f"(medians); then show {r['show_ms_median']:.1f} "
              f"+ pump {r['pump_ms_median']:.1f} ms, "
              f"age when painted {r['shown_age_ms_median']:.1f} ms; "
              f"loop {r['loop_ms_median']:.1f} ms; "
              f"age first/last third {r['age_ms_median_first_third']:.0f}/"
              f"{r['age_ms_median_last_third']:.0f} ms; reps {r['reps']}; "
              f"target (age <= infer {'+ frame period ' if r['extra_inference_ms'] else ''}"
              f"+ 15 ms) {'met' if r['target_met'] else 'MISSED'}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
