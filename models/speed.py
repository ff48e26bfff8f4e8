"""Measure each bundle's load time and throughput with the mediapipe Tasks runtime (VIDEO mode).

    /work/venv/bin/python models/speed.py [CLIP] [--frames 150] [--model lite --model full ...]

Frames are decoded first, so the fps is the model alone; the numbers in models/README.md came
from this script. The machine is shared, so expect +-20 %.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import cv2
import mediapipe as mp
import numpy as np

from posecheck.inputs.models import MODEL_NAMES, create_landmarker, named_bundle

CLIP = Path(__file__).resolve().parents[2] / "shared/clips/glute_bridge_darebee_side.mp4"


def decode(path: Path, count: int) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while len(frames) < count:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    cap.release()
    return frames


def measure(name: str, frames: list[np.ndarray], fps: float) -> str:
    bundle = named_bundle(name)
    if not bundle.exists:
        return f"{name}: not built"
    start = time.perf_counter()
    landmarker = create_landmarker(bundle, "video")
    load = time.perf_counter() - start
    found = 0
    wall, cpu = time.perf_counter(), time.process_time()
    for i, frame in enumerate(frames):
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=frame)
        found += bool(landmarker.detect_for_video(image, int(i * 1000 / fps)).pose_landmarks)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    landmarker.close()
    return (
        f"{name}: load {load:.2f} s, {len(frames) / wall:.1f} fps, cpu/wall {cpu / wall:.2f}, "
        f"pose in {found}/{len(frames)} frames"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("clip", nargs="?", type=Path, default=CLIP)
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--model", action="append", choices=MODEL_NAMES)
    args = parser.parse_args()
    frames = decode(args.clip, args.frames)
    fps = cv2.VideoCapture(str(args.clip)).get(cv2.CAP_PROP_FPS) or 30.0
    h, w = frames[0].shape[:2]
    print(f"{args.clip.name}: {len(frames)} frames {w}x{h}, load average {os.getloadavg()[0]:.1f}")
    for name in args.model or MODEL_NAMES:
        print(measure(name, frames, fps), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
