"""Which posture a body is in, from one frame's image landmarks.

The camera is assumed upright (sources apply the container's rotation; `image_xy` is in that
upright frame even when the model ran on a rotated copy), so the image vertical is the world
vertical. Rules, in order:

* trunk (hip -> shoulder midpoints) within 40 deg of image up -> upright family:
  "seated" when both thighs are within 40 deg of horizontal, else "standing";
* trunk more than 60 deg from up -> lying family: the body's front (from the anatomical facing
  vote, see `facing`) points up -> "supine"; down -> "quadruped" when the wrists are well below
  the shoulders and the knees well below the hips (hands and knees on the floor), else "prone";
* in between (40-60 deg, e.g. a hip thrust's bottom or a deep hinge): front clearly up ->
  "supine" (reclined), else "standing" (a forward lean is still on the feet).

A deep hip hinge (trunk near horizontal, face down, hands hanging) is "standing" because the
ankles are far below the knees; on hands and knees a shin lies on the floor.

Anything without the needed landmarks is "unknown".
"""

from __future__ import annotations

import math

import numpy as np

from posecheck.core.facing import estimate_facing
from posecheck.core.landmarks import SIDE_JOINTS, Landmark, PoseFrame
from posecheck.core.results import BodyMeasures

POSTURES = ("standing", "supine", "prone", "quadruped", "seated", "unknown")

UPRIGHT_MAX_DEG = 40.0
LYING_MIN_DEG = 60.0
THIGH_HORIZONTAL_DEG = 40.0
FRONT_UP = 0.5  # |front . image-up| needed to call a lying body face-up / face-down
# Quadruped: wrists below the shoulders and knees below the hips by this many trunk lengths.
HANDS_DOWN_TRUNKS = 0.6
# ...and the lowest ankle at most this far below the lowest knee (a shin on the floor).
SHIN_DROP_TRUNKS = 0.4


def _lowest(xy: np.ndarray, a: int, b: int) -> float:
    return float(np.nanmax([xy[a][1], xy[b][1]]))


def _mid(xy: np.ndarray, a: int, b: int) -> np.ndarray:
    return (xy[a] + xy[b]) / 2


def classify_posture(pose: PoseFrame, measures: BodyMeasures | None = None) -> str:
    """One of `POSTURES` for this frame (see the module docstring for the rules)."""
    xy = pose.image_xy
    if xy is None:
        return "unknown"
    sh = _mid(xy, Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER)
    hp = _mid(xy, Landmark.LEFT_HIP, Landmark.RIGHT_HIP)
    trunk = sh - hp
    trunk_len = float(np.hypot(*trunk))
    if not np.isfinite(trunk_len) or trunk_len == 0:
        return "unknown"
    incl = math.degrees(math.acos(max(-1.0, min(1.0, -trunk[1] / trunk_len))))

    facing = measures.facing if measures is not None else estimate_facing(pose).sign
    t = trunk / trunk_len
    front = facing * np.array([-t[1], t[0]])
    front_up = float(-front[1])  # +1 = the chest faces the ceiling

    if incl <= UPRIGHT_MAX_DEG:
        return "seated" if _thighs_horizontal(xy) else "standing"
    if incl < LYING_MIN_DEG:
        return "supine" if front_up >= FRONT_UP else "standing"
    if front_up >= FRONT_UP:
        return "supine"
    if front_up <= -FRONT_UP:
        # Lowest wrist / knee / ankle of either side (y grows downwards).
        wr = _lowest(xy, Landmark.LEFT_WRIST, Landmark.RIGHT_WRIST)
        kn = _lowest(xy, Landmark.LEFT_KNEE, Landmark.RIGHT_KNEE)
        an = _lowest(xy, Landmark.LEFT_ANKLE, Landmark.RIGHT_ANKLE)
        if not np.all(np.isfinite([wr, kn, an])):
            return "prone"
        hands_down = (wr - sh[1]) / trunk_len
        knees_down = (kn - hp[1]) / trunk_len
        if hands_down >= HANDS_DOWN_TRUNKS and knees_down >= HANDS_DOWN_TRUNKS:
            # Kneeling has a shin on the floor; a deep hip hinge stands on its feet.
            return "quadruped" if (an - kn) / trunk_len < SHIN_DROP_TRUNKS else "standing"
        return "prone"
    # Lying on the side, or the front cannot be told: not a posture any profile needs.
    return "unknown"


def classify_posture_3d(pose: PoseFrame) -> str:
    """One of `POSTURES` from the world landmarks, by the same rules as `classify_posture`.

    For front views: a body lying along the camera's axis (a hip thrust filmed from the feet)
    has an upright trunk in the image, whatever it does; the world landmarks keep its depth.
    They are in the detection orientation, so they are turned back to the upright frame first.
    """
    w = pose.world_xyz
    if w is None or not np.all(np.isfinite(w[[11, 12, 23, 24, 25, 26]])):
        return "unknown"
    xyz = _upright(w, pose.rotation_deg)
    sh = (xyz[Landmark.LEFT_SHOULDER] + xyz[Landmark.RIGHT_SHOULDER]) / 2
    hp = (xyz[Landmark.LEFT_HIP] + xyz[Landmark.RIGHT_HIP]) / 2
    trunk = sh - hp
    n = float(np.linalg.norm(trunk))
    if n == 0:
        return "unknown"
    incl = math.degrees(math.acos(max(-1.0, min(1.0, -trunk[1] / n))))
    front = np.cross(xyz[Landmark.LEFT_SHOULDER] - xyz[Landmark.RIGHT_SHOULDER], trunk)
    front_up = float(-front[1] / (np.linalg.norm(front) or 1.0))
    if incl <= UPRIGHT_MAX_DEG:
        thighs = all(
            _from_horizontal(xyz[j.knee] - xyz[j.hip]) <= THIGH_HORIZONTAL_DEG
            for j in SIDE_JOINTS.values()
        )
        return "seated" if thighs else "standing"
    if incl < LYING_MIN_DEG:
        return "supine" if front_up >= FRONT_UP else "standing"
    if front_up >= FRONT_UP:
        return "supine"
    return "prone" if front_up <= -FRONT_UP else "unknown"


def _upright(world: np.ndarray, rotation_deg: int) -> np.ndarray:
    """World landmarks turned back from a frame rotated clockwise by `rotation_deg`."""
    x, y, z = world[:, 0], world[:, 1], world[:, 2]
    turn = rotation_deg % 360
    if turn == 90:
        x, y = y, -x
    elif turn == 180:
        x, y = -x, -y
    elif turn == 270:
        x, y = -y, x
    return np.stack([x, y, z], axis=1)


def _from_horizontal(v: np.ndarray) -> float:
    n = float(np.linalg.norm(v))
    return 90.0 if n == 0 else math.degrees(math.asin(min(1.0, abs(float(v[1])) / n)))


def _thighs_horizontal(xy: np.ndarray) -> bool:
    """Both thighs within THIGH_HORIZONTAL_DEG of horizontal (sitting), judged per side."""
    for j in SIDE_JOINTS.values():
        v = xy[j.knee] - xy[j.hip]
        n = float(np.hypot(*v))
        if not np.isfinite(n) or n == 0:
            return False
        from_horizontal = math.degrees(math.asin(min(1.0, abs(float(v[1])) / n)))
        if from_horizontal > THIGH_HORIZONTAL_DEG:
            return False
    return True
