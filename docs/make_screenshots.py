#!/usr/bin/env python3
"""Screenshots of the live window, taken from a real window on a private Xvfb display.

    python docs/make_screenshots.py [--clip sample_videos/glute_bridge_side.mp4] [--out docs]

Runs `posecheck live` on a rendered sample clip (read frame by frame, so the picture is the
same on every machine), waits until the second rep's hold at the top has run past the target,
and grabs the whole X screen with ffmpeg's x11grab: docs/live_window.png is what a person sees.
Needs Debian's xvfb and ffmpeg.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clip", type=Path, default=REPO / "sample_videos" / "glute_bridge_side.mp4")
    ap.add_argument("--out", type=Path, default=REPO / "docs")
    ap.add_argument("--model", default="full")
    args = ap.parse_args()

    import cv2

    from posecheck.apps.live.app import LiveConfig, run_live
    from posecheck.apps.live.keys import CvKeySource, ScriptedKeys
    from posecheck.apps.live.session import LiveSession
    from posecheck.testing.xvfb import screenshot, virtual_display

    target = args.out / "live_window.png"
    taken: list[Path] = []
    keys = ScriptedKeys(delegate=CvKeySource())

    def on_frame(session: LiveSession, frame: object, result: object) -> None:
        r = session.last_result
        if taken or r is None or r.rep_count < 1 or not r.holding:
            return
        if r.hold_elapsed_s < r.hold_target_s + 0.1:
            return
        for _ in range(5):  # let Qt paint the frame just shown
            cv2.waitKey(20)
        taken.append(screenshot(display, target, size=(1280, 720)))
        keys.push("q")

    with tempfile.TemporaryDirectory() as tmp, virtual_display((1280, 720)) as display:
        outcome = run_live(LiveConfig(
            source=str(args.clip), model=args.model, headless=False, mute=True,
            out_dir=Path(tmp), keys=keys, summary_s=0.0, on_frame=on_frame,
        ))
        cv2.destroyAllWindows()
    if not taken:
        print(f"no hold past its target in {args.clip} ({outcome.reason})", file=sys.stderr)
        return 1
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
