"""Landmark files: per-frame landmarks written as .npz, .csv or .json, and .npz read back."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from posecheck.core.landmarks import NUM_LANDMARKS, Landmark, PoseFrame

LANDMARK_FORMATS = (".npz", ".csv", ".json")


def pose_frames_to_arrays(frames: list[PoseFrame]) -> dict[str, np.ndarray]:
    """Stack PoseFrames into per-frame arrays; missing poses are NaN (present=False)."""
    n = len(frames)
    arrays = {
        "index": np.array([f.index for f in frames], dtype=np.int64),
        "t_ms": np.array([f.timestamp_ms for f in frames], dtype=np.float64),
        "present": np.array([f.present for f in frames], dtype=bool),
        "rotation": np.array([f.rotation_deg for f in frames], dtype=np.int16),
        "num_people": np.array([f.num_people for f in frames], dtype=np.int16),
        "image_xy": np.full((n, NUM_LANDMARKS, 2), np.nan),
        "image_z": np.full((n, NUM_LANDMARKS), np.nan),
        "visibility": np.full((n, NUM_LANDMARKS), np.nan),
        "presence": np.full((n, NUM_LANDMARKS), np.nan),
        "world_xyz": np.full((n, NUM_LANDMARKS, 3), np.nan),
    }
    for i, f in enumerate(frames):
        if f.present:
            for key in ("image_xy", "image_z", "visibility", "presence", "world_xyz"):
                value = getattr(f, key)
                if value is not None:
                    arrays[key][i] = value
    return arrays


def _csv_header() -> list[str]:
    cols = ["index", "t_ms", "present", "rotation", "num_people"]
    for name in (lm.name.lower() for lm in Landmark):
        cols += [f"{name}_x", f"{name}_y", f"{name}_z", f"{name}_vis"]
    for name in (lm.name.lower() for lm in Landmark):
        cols += [f"{name}_wx", f"{name}_wy", f"{name}_wz"]
    return cols


def check_landmarks_path(path: str | Path) -> Path:
    """Fail before any work if `path` is not a writable .npz/.csv/.json destination."""
    from posecheck.errors import OutputError

    path = Path(path)
    if path.suffix.lower() not in LANDMARK_FORMATS:
        raise OutputError(f"landmarks file must end in {', '.join(LANDMARK_FORMATS)}: {path}")
    if path.is_dir():
        raise OutputError(f"output path is a directory: {path}")
    if not path.resolve().parent.is_dir():
        raise OutputError(f"output directory does not exist: {path.resolve().parent}")
    return path


def save_pose_frames(path: str | Path, frames: list[PoseFrame],
                     meta: dict[str, object] | None = None) -> Path:
    """Write landmarks per frame as .npz, .csv or .json (chosen by suffix).

    Per frame: index, t_ms, present, rotation, num_people, 33 x (x, y, z, visibility) in pixels
    of the original frame (z is BlazePose's relative depth), and 33 x (x, y, z) world metres.
    """
    import csv
    import json

    from posecheck.errors import OutputError

    path = check_landmarks_path(path)
    suffix = path.suffix.lower()
    a = pose_frames_to_arrays(frames)
    meta = dict(meta or {})
    try:
        if suffix == ".npz":
            np.savez_compressed(path, **a, meta=np.array(json.dumps(meta, default=str)))
        elif suffix == ".csv":
            with path.open("w", newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow(_csv_header())
                for i in range(len(frames)):
                    image = np.column_stack([a["image_xy"][i], a["image_z"][i],
                                             a["visibility"][i]]).ravel()
                    row = [int(a["index"][i]), f"{a['t_ms'][i]:.3f}", int(a["present"][i]),
                           int(a["rotation"][i]), int(a["num_people"][i])]
                    row += ["" if np.isnan(v) else f"{v:.6g}" for v in image]
                    row += ["" if np.isnan(v) else f"{v:.6g}" for v in a["world_xyz"][i].ravel()]
                    writer.writerow(row)
        else:
            records = []
            for i, f in enumerate(frames):
                rec: dict[str, object] = {
                    "index": f.index, "t_ms": round(f.timestamp_ms, 3), "present": f.present,
                    "rotation": f.rotation_deg, "num_people": f.num_people,
                }
                if f.present:
                    image = np.column_stack([a["image_xy"][i], a["image_z"][i],
                                             a["visibility"][i]])
                    rec["landmarks"] = np.round(image, 4).tolist()
                    rec["world"] = np.round(a["world_xyz"][i], 5).tolist()
                records.append(rec)
            path.write_text(json.dumps({"meta": meta, "frames": records}, default=str))
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path


def load_pose_frames(path: str | Path) -> tuple[list[PoseFrame], dict[str, object]]:
    """Read a .npz written by `save_pose_frames` back into PoseFrames (and its meta)."""
    import json

    from posecheck.errors import SourceError

    path = Path(path)
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise SourceError(f"cannot read landmarks file {path}: {exc}") from exc
    meta = json.loads(str(data["meta"])) if "meta" in data else {}
    wh = meta.get("frame_wh") or (0, 0)
    frame_wh = (int(wh[0]), int(wh[1]))  # type: ignore[index]
    frames = []
    for i in range(len(data["index"])):
        if bool(data["present"][i]):
            frames.append(PoseFrame(
                index=int(data["index"][i]), timestamp_ms=float(data["t_ms"][i]),
                frame_wh=frame_wh, image_xy=data["image_xy"][i], image_z=data["image_z"][i],
                world_xyz=data["world_xyz"][i], visibility=data["visibility"][i],
                presence=data["presence"][i], rotation_deg=int(data["rotation"][i]),
                num_people=int(data["num_people"][i]),
            ))
        else:
            frames.append(PoseFrame.missing(int(data["index"][i]), float(data["t_ms"][i]),
                                            frame_wh))
    return frames, meta
