"""Run the pose model on rendered clips and compare with their truth files.

    python sample_videos/verify.py [CLIP.mp4 ...]      (default: every clip in sample_videos/)

Prints, per clip: detection rate, and the mean / max absolute error of the model's 2D hip angle
(signed shoulder-hip-knee flexion in the image) against the same angle of the true joints
projected through the rendering camera, per side (the near side is the one facing the camera).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np

from posecheck.core.landmarks import Landmark
from posecheck.pose import PoseEstimator

HERE = Path(__file__).resolve().parent


def signed_flexion_2d(xy: np.ndarray, side: str, sign: int) -> float:
    """Signed image hip flexion from 2D landmarks; `sign` is the truth's `flexion_sign_2d`."""
    sh, hip, knee = (xy[getattr(Landmark, f"{side.upper()}_{j}")] for j in ("SHOULDER", "HIP",
                                                                             "KNEE"))
    trunk, thigh = hip - sh, knee - hip
    cross = trunk[0] * thigh[1] - trunk[1] * thigh[0]
    ang = float(np.degrees(np.arctan2(cross, float(trunk @ thigh))))
    return ang * sign


def verify(video: Path, model: str = "full") -> dict[str, object]:
    truth = json.loads(video.with_suffix(".truth.json").read_text())
    frames = truth["per_frame"]
    cap = cv2.VideoCapture(str(video))
    errors: dict[str, list[float]] = {"left": [], "right": []}
    found = n = 0
    with PoseEstimator(model) as est:
        while True:
            ok, image = cap.read()
            if not ok:
                break
            pose = est.detect(image, n * 1000.0 / truth["fps"], n)
            if pose.present:
                found += 1
                fr = frames[n]
                for side in ("left", "right"):
                    sign = fr["flexion_sign_2d"][side]
                    est_deg = signed_flexion_2d(pose.image_xy, side, sign)
                    errors[side].append(abs(est_deg - fr["hip_flexion_2d_deg"][side]))
            n += 1
    cap.release()
    return {
        "clip": video.name,
        "frames": n,
        "detected": found,
        "detection_rate": found / n if n else 0.0,
        "angle_err_mean_deg": {s: float(np.mean(v)) if v else None for s, v in errors.items()},
        "angle_err_max_deg": {s: float(np.max(v)) if v else None for s, v in errors.items()},
        "near_side": truth.get("near_side"),
    }


def main(argv: list[str]) -> int:
    clips = [Path(a) for a in argv] or sorted(HERE.glob("*.mp4"))
    for clip in clips:
        r = verify(clip)
        mean, worst = r["angle_err_mean_deg"], r["angle_err_max_deg"]
        print(
            f"{r['clip']}: detected {r['detected']}/{r['frames']} "
            f"({100 * r['detection_rate']:.1f} %); 2D hip angle error mean "
            f"L {mean['left']:.2f} / R {mean['right']:.2f} deg, max "
            f"L {worst['left']:.1f} / R {worst['right']:.1f} deg; near side {r['near_side']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
