"""Prove our rebuilt bundle is the real BlazePose: compare it with mediapipe 0.10.21's legacy Pose.

Runs the same frames through
  * our `models/pose_landmarker_full.task` with the mediapipe 1.2.3 Tasks API (IMAGE mode), here;
  * `mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1)` from mediapipe 0.10.21,
    which ships the same full landmark model, in a separate venv via a subprocess;
and reports the per-landmark pixel distance of the 33 image landmarks. Frames and landmarks are
exchanged as .npy files. About 1 px is expected (the legacy graph crops and resamples slightly
differently). Run:

    /work/venv/bin/python benchmarks/legacy_parity.py [--frames 30] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import mediapipe as mp
import numpy as np

from posecheck.inputs.models import create_landmarker, resolve_model

REPO = Path(__file__).resolve().parents[1]
CLIPS = REPO.parent / "shared" / "clips"
DEFAULT_CLIPS = ("glute_bridge_darebee_side.mp4", "neg_squat_darebee_oblique.mp4")
LEGACY_PYTHONS = (REPO / "models/_build/venv/bin/python", Path("/work/buildvenv/bin/python"))

LEGACY_SCRIPT = r"""
import json, sys
import numpy as np
import mediapipe as mp
frames = np.load(sys.argv[1])
out = np.full((len(frames), 33, 4), np.nan, dtype=np.float64)
with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1,
                            min_detection_confidence=0.5) as pose:
    for i, frame in enumerate(frames):
        result = pose.process(frame)
        if result.pose_landmarks:
            out[i] = [(p.x, p.y, p.z, p.visibility) for p in result.pose_landmarks.landmark]
np.save(sys.argv[2], out)
print(json.dumps({"mediapipe": mp.__version__}))
"""


def sample_frames(path: Path, count: int) -> np.ndarray:
    """`count` evenly spaced RGB frames of a clip."""
    cap = cv2.VideoCapture(str(path))
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    frames = []
    for index in np.linspace(0, total - 1, count).round().astype(int):
        cap.set(cv2.CAP_PROP_POS_FRAMES, int(index))
        ok, frame = cap.read()
        if ok:
            frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    cap.release()
    if not frames:
        raise SystemExit(f"could not read frames from {path}")
    return np.stack(frames)


def run_tasks(frames: np.ndarray, model: str) -> tuple[np.ndarray, float]:
    """Landmarks (n, 33, 4) from our bundle in IMAGE mode, NaN where no pose; and seconds/frame."""
    out = np.full((len(frames), 33, 4), np.nan)
    landmarker = create_landmarker(resolve_model(model), "image")
    start = time.perf_counter()
    for i, frame in enumerate(frames):
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(frame))
        result = landmarker.detect(image)
        if result.pose_landmarks:
            out[i] = [(p.x, p.y, p.z, p.visibility) for p in result.pose_landmarks[0]]
    elapsed = (time.perf_counter() - start) / len(frames)
    landmarker.close()
    return out, elapsed


def run_legacy(frames: np.ndarray, python: Path, workdir: Path) -> tuple[np.ndarray, str]:
    frames_path, out_path = workdir / "frames.npy", workdir / "legacy.npy"
    np.save(frames_path, frames)
    proc = subprocess.run(
        [str(python), "-c", LEGACY_SCRIPT, str(frames_path), str(out_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"legacy run failed:\n{proc.stderr[-2000:]}")
    version = json.loads(proc.stdout.strip().splitlines()[-1])["mediapipe"]
    return np.load(out_path), version


def compare(ours: np.ndarray, legacy: np.ndarray, width: int, height: int) -> dict[str, float]:
    """Pixel distances of the 33 landmarks on frames where both found a pose."""
    both = ~np.isnan(ours[:, 0, 0]) & ~np.isnan(legacy[:, 0, 0])
    scale = np.array([width, height])
    dist = np.linalg.norm((ours[both, :, :2] - legacy[both, :, :2]) * scale, axis=-1)
    stats = {
        "frames": len(ours),
        "ours_found": int((~np.isnan(ours[:, 0, 0])).sum()),
        "legacy_found": int((~np.isnan(legacy[:, 0, 0])).sum()),
        "compared": int(both.sum()),
    }
    if both.any():
        stats |= {
            "mean_px": float(dist.mean()),
            "median_px": float(np.median(dist)),
            "p95_px": float(np.percentile(dist, 95)),
            "max_px": float(dist.max()),
            "mean_px_hips_knees": float(dist[:, [23, 24, 25, 26]].mean()),
            # landmarks the legacy model itself calls visible: the ones the core relies on
            "max_px_visible": float(dist[legacy[both, :, 3] > 0.5].max(initial=0.0)),
        }
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("clips", nargs="*", type=Path, help="clips (default: two real clips)")
    parser.add_argument("--frames", type=int, default=30, help="frames sampled per clip")
    parser.add_argument("--model", default="full")
    parser.add_argument(
        "--legacy-python",
        type=Path,
        default=next((p for p in LEGACY_PYTHONS if p.exists()), None),
        help="python of a venv with mediapipe==0.10.21",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    if args.legacy_python is None:
        raise SystemExit("no mediapipe 0.10.21 venv: run python models/build.py first")
    clips = args.clips or [CLIPS / name for name in DEFAULT_CLIPS]
    results: dict[str, dict[str, float]] = {}
    legacy_version = "?"
    with tempfile.TemporaryDirectory() as tmp:
        for clip in clips:
            frames = sample_frames(clip, args.frames)
            height, width = frames.shape[1:3]
            ours, seconds = run_tasks(frames, args.model)
            legacy, legacy_version = run_legacy(frames, args.legacy_python, Path(tmp))
            stats = compare(ours, legacy, width, height) | {"tasks_ms_per_frame": seconds * 1e3}
            results[clip.name] = stats
            print(
                f"{clip.name} ({width}x{height}): "
                + ", ".join(
                    f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in stats.items()
                )
            )
    summary = {
        "model": args.model,
        "runtime": mp.__version__,
        "legacy": legacy_version,
        "clips": results,
    }
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
