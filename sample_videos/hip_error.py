"""Where the pose model puts the hip on rendered clips: near-side angle error and hip offset.

    python sample_videos/hip_error.py CLIP.mp4 [...]     (default: every clip in sample_videos/)

Each clip needs NAME.truth.json and NAME.toml beside it (sample_videos/ and the corpus cache
have both). Per clip: the mean |error| and bias of the model's signed 2D hip angle on the near
side against `hip_flexion_2d_deg`, and, by true hip flexion, the bias and the model's hip minus
the true hip joint centre in the image, in thigh lengths along the body's front and up axes
(projected at the hip). These are the figures in README.md ("The rendered hip").
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np

from posecheck.core.landmarks import Landmark
from posecheck.pose import PoseEstimator
from posecheck.synthetic.scenario import load_scenario, prepare

HERE = Path(__file__).resolve().parent
BINS = {"ext<-5": (-999.0, -5.0), "-5..20": (-5.0, 20.0), "20..60": (20.0, 60.0),
        "60..130": (60.0, 999.0)}


def signed_flexion_2d(xy: np.ndarray, side: str, sign: int) -> float:
    """Signed image hip flexion from 2D landmarks; `sign` is the truth's `flexion_sign_2d`."""
    sh, hip, knee = (xy[getattr(Landmark, f"{side.upper()}_{j}")]
                     for j in ("SHOULDER", "HIP", "KNEE"))
    trunk, thigh = hip - sh, knee - hip
    cross = trunk[0] * thigh[1] - trunk[1] * thigh[0]
    return float(np.degrees(np.arctan2(cross, float(trunk @ thigh)))) * sign


def measure(video: Path, model: str = "full") -> np.ndarray:
    """Rows (true flexion, angle error, hip offset front, hip offset up) of the near side."""
    truth = json.loads(video.with_suffix(".truth.json").read_text())
    scenario = load_scenario(video.with_suffix(".toml"))
    prep = prepare(scenario)
    cam, worlds = prep.camera, prep.worlds
    side = truth["near_side"]
    hip_i = getattr(Landmark, f"{side.upper()}_HIP")
    up = (worlds[:, Landmark.LEFT_SHOULDER] + worlds[:, Landmark.RIGHT_SHOULDER]
          - worlds[:, Landmark.LEFT_HIP] - worlds[:, Landmark.RIGHT_HIP])
    front = np.cross(worlds[:, Landmark.LEFT_HIP] - worlds[:, Landmark.RIGHT_HIP], up)
    up /= np.linalg.norm(up, axis=1, keepdims=True)
    front /= np.linalg.norm(front, axis=1, keepdims=True)
    thigh_m = float(scenario.shape.L["thigh"])
    rows = []
    cap = cv2.VideoCapture(str(video))
    with PoseEstimator(model) as est:
        n = 0
        while True:
            ok, image = cap.read()
            if not ok:
                break
            pose = est.detect(image, n * 1000.0 / truth["fps"], n)
            if pose.present and n < len(truth["per_frame"]):
                fr = truth["per_frame"][n]
                hip3 = worlds[n, hip_i]
                hip2 = cam.project(hip3)
                f2 = cam.project(hip3 + 0.05 * front[n]) - hip2
                u2 = cam.project(hip3 + 0.05 * up[n]) - hip2
                px_per_thigh = cam.focal_px * thigh_m / cam.to_camera(hip3)[2]
                d = (pose.image_xy[hip_i] - hip2) / px_per_thigh
                est_deg = signed_flexion_2d(pose.image_xy, side, fr["flexion_sign_2d"][side])
                err = est_deg - fr["hip_flexion_2d_deg"][side]
                along_front = float(d @ f2) / float(np.linalg.norm(f2))
                along_up = float(d @ u2) / float(np.linalg.norm(u2))
                rows.append((fr["hip_flexion_deg"][side], err, along_front, along_up))
            n += 1
    cap.release()
    return np.array(rows).reshape(-1, 4)


def main(argv: list[str]) -> int:
    clips = [Path(a) for a in argv] or sorted(HERE.glob("*.mp4"))
    for clip in clips:
        a = measure(clip)
        if not len(a):
            print(f"{clip.name}: no pose")
            continue
        line = (f"{clip.stem}: {len(a)} frames, |error| {np.abs(a[:, 1]).mean():.2f} deg, "
                f"bias {a[:, 1].mean():+.2f}")
        for name, (lo, hi) in BINS.items():
            m = (a[:, 0] >= lo) & (a[:, 0] < hi)
            if m.sum() >= 3:
                line += (f" | {name}: bias {a[m, 1].mean():+.1f}, hip front {a[m, 2].mean():+.3f}"
                         f" up {a[m, 3].mean():+.3f}")
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
