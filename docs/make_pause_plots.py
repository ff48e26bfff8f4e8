#!/usr/bin/env python3
"""The hip signal around the real pauses posecheck times off by more than 0.25 s, as one figure.

    python docs/make_pause_plots.py [--poses DIR] [--out docs/pauses_off.png]

For each clip with such a pause: the signal the counter follows (smoothed), the labelled pauses
(green) and the timed ones (red bars). With `--poses DIR` it reads landmark files written by
`posecheck pose CLIP --out DIR/NAME.npz`; without, it runs the model on ../shared/clips.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CLIPS = REPO.parent / "shared" / "clips"
OFF = ("single_leg_bridge_heel_home_side_alternating", "quadruped_hip_extension_gym_side_screencap")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--poses", type=Path)
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "pauses_off.png")
    args = ap.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from posecheck.core.analyzer import analyse_poses
    from posecheck.inputs.sources import open_source
    from posecheck.pose import PoseEstimator, load_pose_frames

    labels = {x["file"]: x for x in json.loads((CLIPS / "labels.json").read_text())}
    fig, axes = plt.subplots(len(OFF), 1, figsize=(14, 3.2 * len(OFF)))
    for ax, name in zip(axes, OFF, strict=True):
        label = labels[f"{name}.mp4"]
        if args.poses:
            frames, _ = load_pose_frames(args.poses / f"{name}.npz")
        else:
            with open_source(CLIPS / f"{name}.mp4") as src, PoseEstimator("full") as est:
                frames = [est.detect(f.image, f.timestamp_ms, f.index) for f in src]
        results, summary = analyse_poses(frames, label["exercise"])
        ax.plot([r.t_ms / 1000 for r in results], [r.primary_deg for r in results], lw=1.2,
                label="hip signal the counter follows (°)")
        for h in label["holds"]:
            ax.axvspan(h["start_s"], h["end_s"], color="tab:green", alpha=0.25)
        for h in summary.holds:
            ax.axvspan(h.start_ms / 1000, h.end_ms / 1000, ymax=0.08, color="tab:red")
        ax.set_title(f"{name}: labelled pauses green, timed pauses red", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper right", fontsize=8)
    axes[-1].set_xlabel("s")
    fig.tight_layout()
    fig.savefig(args.out, dpi=80)
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
