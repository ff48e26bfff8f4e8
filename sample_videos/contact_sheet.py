"""Draw docs/render_contact_sheet.png: nine rendered frames from the samples and the corpus.

    python sample_videos/contact_sheet.py      (from the repository root)
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from posecheck.synthetic.corpus import corpus_clips
from posecheck.synthetic.render import Renderer
from posecheck.synthetic.scenario import Scenario, load_scenario, prepare

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_videos"


def frame_at(scenario: Scenario, t: float | None = None, rep: int | None = None) -> np.ndarray:
    """The frame at time `t`, or in the middle of the top of rep number `rep` (0-based)."""
    prep = prepare(scenario)
    if rep is not None:
        r = prep.motion.truth.reps[rep]
        t = (r.top_s + r.top_end_s) / 2
    i = int(np.clip(np.searchsorted(prep.motion.times_s, t), 0, len(prep.worlds) - 1))
    return Renderer(prep.camera, prep.scene, scenario.look).render(prep.worlds[i], seed=i)


def main() -> None:
    corpus = {c.name: c.scenario() for c in corpus_clips()}
    sample = {p.stem: load_scenario(p) for p in SAMPLES.glob("*.toml")}
    items = [
        (frame_at(sample["glute_bridge_side"], t=0.3), "glute bridge: bottom"),
        (frame_at(sample["glute_bridge_side"], rep=0), "glute bridge: top (2 s hold)"),
        (frame_at(sample["glute_bridge_mistakes"], rep=3), "over-arch, floor-level camera"),
        (frame_at(sample["knee_raise_side"], rep=0), "standing knee raise"),
        (frame_at(corpus["hip_thrust__side_l__a"], rep=0), "hip thrust on a bench"),
        (frame_at(corpus["quadruped_hip_extension__side_l__b"], rep=0), "quadruped hip extension"),
        (frame_at(corpus["romanian_deadlift__tq_l__a"], rep=0), "Romanian deadlift, 3/4 view"),
        (frame_at(corpus["single_leg_bridge__side_l__b"], rep=0), "single-leg bridge"),
        (frame_at(corpus["neg_squat__side_l__c"], t=2.0), "negative: squat"),
    ]
    tiles = []
    for img, caption in items:
        img = cv2.resize(img, (320, 240), interpolation=cv2.INTER_AREA)
        cv2.rectangle(img, (0, 0), (320, 18), (255, 255, 255), -1)
        cv2.putText(img, caption, (5, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (20, 20, 20), 1,
                    cv2.LINE_AA)
        tiles.append(img)
    sheet = np.vstack([np.hstack(tiles[i:i + 3]) for i in (0, 3, 6)])
    cv2.imwrite(str(ROOT / "docs" / "render_contact_sheet.png"), sheet,
                [cv2.IMWRITE_PNG_COMPRESSION, 9])


if __name__ == "__main__":
    main()
