#!/usr/bin/env python3
"""Annotated frames at the moments issue 18 was about, as one contact sheet.

    python docs/make_coaching_frames.py [--out docs/coaching_moments.png]

Runs `analyse` on the bundled samples and takes frames of their annotated videos: the over-arched
hold of glute_bridge_mistakes (13.5 s, 14.6 s), its half-height partial (17.0 s), its clean last
rep (19.5 s), the far leg's raise of knee_raise_side (5.4 s) and the end of glute_bridge_side's
first hold (3.9 s). Each tile is labelled with its clip and time.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MOMENTS = (
    ("glute_bridge_mistakes.mp4", "glute_bridge", (13.5, 14.6, 17.0, 19.5)),
    ("knee_raise_side.mp4", "standing_knee_raise", (5.4,)),
    ("glute_bridge_side.mp4", "glute_bridge", (3.9,)),
)


def frame_at(video: Path, t_s: float):
    import cv2

    cap = cv2.VideoCapture(str(video))
    cap.set(cv2.CAP_PROP_POS_MSEC, t_s * 1000.0)
    ok, frame = cap.read()
    cap.release()
    if not ok:
        raise SystemExit(f"no frame at {t_s} s in {video}")
    return frame


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "coaching_moments.png")
    args = ap.parse_args()

    import cv2
    import numpy as np

    from posecheck.apps.analyse import analyse_video

    tiles = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, exercise, times in MOMENTS:
            out = Path(tmp) / Path(name).stem
            analyse_video(REPO / "sample_videos" / name, exercise, out_dir=out, write_html=False)
            for t in times:
                tile = cv2.resize(frame_at(out / "annotated.mp4", t), (640, 480))
                label = f"{Path(name).stem}  {t:.1f} s"
                cv2.rectangle(tile, (0, 452), (640, 480), (0, 0, 0), -1)
                cv2.putText(tile, label, (8, 472), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255),
                            1, cv2.LINE_AA)
                tiles.append(tile)
    rows = [np.hstack(tiles[i : i + 3]) for i in range(0, len(tiles), 3)]
    sheet = np.vstack(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), sheet)
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
