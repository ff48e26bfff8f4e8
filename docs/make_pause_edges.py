#!/usr/bin/env python3
"""Where pause edges lie on the body's motion: people's labels against rendered truth.

    python docs/make_pause_edges.py --poses DIR --rendered DIR --rendered-poses DIR \
        [--out docs/pause_edges.png]

Two panels: a real clip with its labelled pauses, and a rendered clip with its true holds, each
with the lower body's speed (`benchmarks/pause_definitions.py`, `body_speed`) as a share of its
typical moving speed (the median of its fastest 40 % of samples). Landmarks: `posecheck pose`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CLIPS = REPO.parent / "shared" / "clips"
REAL = "single_leg_bridge_heel_home_side_alternating"
RENDERED = "glute_bridge__side_l__a"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--poses", type=Path, required=True)
    ap.add_argument("--rendered", type=Path, required=True)
    ap.add_argument("--rendered-poses", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "pause_edges.png")
    args = ap.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sys.path.insert(0, str(REPO / "benchmarks"))
    from pause_definitions import body_speed

    panels = [
        (REAL, args.poses, CLIPS / "labels.json", "labelled by people"),
        (RENDERED, args.rendered_poses, args.rendered / "labels.json", "rendered truth"),
    ]
    fig, axes = plt.subplots(len(panels), 1, figsize=(13, 6.4))
    for ax, (name, poses, labels, what) in zip(axes, panels, strict=True):
        entry = next(x for x in json.loads(labels.read_text()) if x["file"] == f"{name}.mp4")
        t, speed = body_speed(poses / f"{name}.npz")
        ref = np.median(speed[speed > np.percentile(speed, 60)])
        ax.plot(t / 1000, speed / ref, lw=1.1, label="lower-body speed / its typical moving speed")
        ax.axhline(0.5, color="grey", lw=0.8, ls="--", label="half")
        for h in entry["holds"]:
            ax.axvspan(h["start_s"], h["end_s"], color="tab:green", alpha=0.25)
        ax.set_ylim(0, 2.5)
        ax.set_title(f"{name}: pauses {what} (green)", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper right", fontsize=8)
    axes[-1].set_xlabel("s")
    fig.tight_layout()
    fig.savefig(args.out, dpi=80)
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
