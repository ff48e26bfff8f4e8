"""Hip geometry of one frame: signed hip flexion (2D side view and 3D), knee angle, trunk
inclination, pelvis height, asymmetry, and which body side to trust.

Conventions. Image coordinates are pixels of the original frame, x right, y down. Hip flexion
is clinical: 0 = thigh in line with the trunk, + = flexion, - = extension. The sign of a 2D
angle needs the body's front: the facing vote of `posecheck.core.facing`.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from posecheck.core.facing import SIDES, _cross2, _norm, _vis, estimate_facing
from posecheck.core.landmarks import SIDE_JOINTS, Landmark, PoseFrame
from posecheck.core.posture import classify_posture
from posecheck.core.results import BodyMeasures

NAN = float("nan")

# Landmarks whose visibility decides how much a side is trusted (the hip chain).
_CONF_JOINTS = {s: (j.shoulder, j.hip, j.knee, j.ankle) for s, j in SIDE_JOINTS.items()}


def signed_angle_2d(a: np.ndarray, b: np.ndarray) -> float:
    """Angle (deg) that rotates `a` onto `b`, positive for a positive 2D cross product."""
    return math.degrees(math.atan2(_cross2(a, b), float(np.dot(a, b))))


def unsigned_angle(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = _norm(a), _norm(b)
    if na == 0 or nb == 0 or not (np.isfinite(na) and np.isfinite(nb)):
        return NAN
    return math.degrees(math.acos(max(-1.0, min(1.0, float(np.dot(a, b)) / (na * nb)))))


def side_confidence(pose: PoseFrame) -> dict[str, float]:
    """Mean visibility x presence of a side's shoulder, hip, knee and ankle (0 without a pose)."""
    if not pose.present:
        return {s: 0.0 for s in SIDES}
    xy = pose.image_xy
    out = {}
    for s, joints in _CONF_JOINTS.items():
        if not np.all(np.isfinite(xy[list(joints)])):  # type: ignore[index]
            out[s] = 0.0
            continue
        out[s] = float(np.mean([_vis(pose, j) for j in joints]))
    return out


def hip_flexion_2d(pose: PoseFrame, side: str, facing: int) -> float:
    """Signed shoulder-hip-knee angle of one side in the image (deg, clinical sign)."""
    xy = pose.image_xy
    if xy is None:
        return NAN
    j = SIDE_JOINTS[side]
    up = xy[j.shoulder] - xy[j.hip]  # trunk, towards the head
    thigh = xy[j.knee] - xy[j.hip]
    if not (np.all(np.isfinite(up)) and np.all(np.isfinite(thigh))) or _norm(up) == 0:
        return NAN
    if _norm(thigh) == 0:
        return NAN
    # Rotating -up towards the front is a rotation of sign -facing (cross(-up, front) = -facing).
    return -facing * signed_angle_2d(-up, thigh)


def knee_flexion_2d(pose: PoseFrame, side: str) -> float:
    xy = pose.image_xy
    if xy is None:
        return NAN
    j = SIDE_JOINTS[side]
    return unsigned_angle(xy[j.knee] - xy[j.hip], xy[j.ankle] - xy[j.knee])


def pelvis_axes_3d(world: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(front, up, left) unit vectors of the pelvis from world landmarks, or None.

    up: hip midpoint -> shoulder midpoint; left: right hip -> left hip made orthogonal to up;
    front = left x up (right-handed frames: holds in mediapipe's x-right/y-down/z-away too).
    """
    lh, rh = world[Landmark.LEFT_HIP], world[Landmark.RIGHT_HIP]
    ls, rs = world[Landmark.LEFT_SHOULDER], world[Landmark.RIGHT_SHOULDER]
    if not np.all(np.isfinite([lh, rh, ls, rs])):
        return None
    up = (ls + rs) / 2 - (lh + rh) / 2
    nu = float(np.linalg.norm(up))
    if nu == 0:
        return None
    up = up / nu
    left = lh - rh
    left = left - np.dot(left, up) * up
    nl = float(np.linalg.norm(left))
    if nl < 1e-6:
        return None
    left = left / nl
    return np.cross(left, up), up, left


def hip_flexion_3d(world: np.ndarray | None) -> dict[str, float]:
    """Hip flexion per side from world landmarks: the thigh projected on the pelvis' sagittal
    plane, angle from -up towards front."""
    if world is None:
        return {s: NAN for s in SIDES}
    axes = pelvis_axes_3d(world)
    if axes is None:
        return {s: NAN for s in SIDES}
    front, up, _ = axes
    out = {}
    for s in SIDES:
        j = SIDE_JOINTS[s]
        thigh = world[j.knee] - world[j.hip]
        if not np.all(np.isfinite(thigh)):
            out[s] = NAN
            continue
        out[s] = math.degrees(math.atan2(float(thigh @ front), float(-(thigh @ up))))
    return out


def knee_flexion_3d(world: np.ndarray | None) -> dict[str, float]:
    if world is None:
        return {s: NAN for s in SIDES}
    out = {}
    for s in SIDES:
        j = SIDE_JOINTS[s]
        out[s] = unsigned_angle(world[j.knee] - world[j.hip], world[j.ankle] - world[j.knee])
    return out


def trunk_inclination(pose: PoseFrame) -> float:
    """Angle of hip-mid -> shoulder-mid against image up: 0 upright, 90 lying, 180 head down."""
    xy = pose.image_xy
    if xy is None:
        return NAN
    trunk = (xy[Landmark.LEFT_SHOULDER] + xy[Landmark.RIGHT_SHOULDER]) / 2 - (
        xy[Landmark.LEFT_HIP] + xy[Landmark.RIGHT_HIP]
    ) / 2
    return unsigned_angle(trunk, np.array([0.0, -1.0]))


def front_direction_2d(pose: PoseFrame, facing: int) -> np.ndarray | None:
    """Unit vector of the body's front in the image (perpendicular to the trunk)."""
    xy = pose.image_xy
    if xy is None:
        return None
    trunk = (xy[Landmark.LEFT_SHOULDER] + xy[Landmark.RIGHT_SHOULDER]) / 2 - (
        xy[Landmark.LEFT_HIP] + xy[Landmark.RIGHT_HIP]
    ) / 2
    n = _norm(trunk)
    if not np.isfinite(n) or n == 0:
        return None
    t = trunk / n
    # cross(t, front) = facing: front = facing * (-t_y, t_x).
    return facing * np.array([-t[1], t[0]])


def pelvis_height(pose: PoseFrame, side: str, facing: int) -> float:
    """Signed distance of the hip from the shoulder-knee line, towards the body's front, in
    thigh lengths (bridge: ~-0.5 at the bottom, 0 at the top, > 0 when over-arching)."""
    xy = pose.image_xy
    if xy is None:
        return NAN
    j = SIDE_JOINTS[side]
    s, hp, k = xy[j.shoulder], xy[j.hip], xy[j.knee]
    line = k - s
    thigh = _norm(k - hp)
    front = front_direction_2d(pose, facing)
    if front is None or not np.isfinite(thigh) or thigh == 0 or _norm(line) == 0:
        return NAN
    e = line / _norm(line)
    n = front - np.dot(front, e) * e
    if _norm(n) < 1e-6:
        return NAN
    n = n / _norm(n)
    return float(np.dot(hp - s, n)) / thigh


SIDE_ON_DEG = 45.0  # the hips' left-right axis this far out of the image plane: one hip hidden


def pelvis_side_on(world: np.ndarray | None) -> bool:
    """Is the pelvis seen side-on (its left-right axis more than `SIDE_ON_DEG` out of the
    image plane)? World landmarks are camera-aligned (x right, y down, z depth). Then the far
    hip is hidden and a pose model guesses it, so left/right differences are not judged: a
    rendered side-view bridge read 14-17 degrees of asymmetry that is not there."""
    if world is None:
        return False
    axis = world[Landmark.RIGHT_HIP] - world[Landmark.LEFT_HIP]
    if not np.all(np.isfinite(axis)) or not np.any(axis):
        return False
    return math.degrees(math.atan2(abs(axis[2]), math.hypot(axis[0], axis[1]))) > SIDE_ON_DEG


def _weighted(values: dict[str, float], weights: dict[str, float]) -> float:
    num = den = 0.0
    for s in SIDES:
        if np.isfinite(values[s]) and weights[s] > 0:
            num += weights[s] * values[s]
            den += weights[s]
    return num / den if den > 0 else NAN


def measure(pose: PoseFrame, *, facing_hint: int | None = None) -> BodyMeasures:
    """All per-frame geometry of a pose (NaN where a value cannot be computed).

    facing_hint: a stable facing from earlier frames (e.g. `FacingTracker`); when given it is
    used, so one mis-detected knee cannot flip every sign. Without it (or with None) the
    frame's own anatomical vote decides.
    """
    nan2 = {s: NAN for s in SIDES}
    if not pose.present:
        return BodyMeasures(
            hip_flexion_deg=dict(nan2),
            hip_flexion_3d_deg=dict(nan2),
            knee_flexion_deg=dict(nan2),
            side_confidence={s: 0.0 for s in SIDES},
            trunk_inclination_deg=NAN,
            pelvis_height=NAN,
            asymmetry_deg=NAN,
            facing=facing_hint or 1,
            posture="unknown",
        )
    f = estimate_facing(pose)
    facing = f.sign
    if facing_hint in (1, -1):
        facing = int(facing_hint)
    conf = side_confidence(pose)
    hip2d = {s: hip_flexion_2d(pose, s, facing) for s in SIDES}
    hip3d = hip_flexion_3d(pose.world_xyz)
    knee = (
        knee_flexion_3d(pose.world_xyz)
        if pose.world_xyz is not None
        else {s: knee_flexion_2d(pose, s) for s in SIDES}
    )
    knee = {s: knee[s] if np.isfinite(knee[s]) else knee_flexion_2d(pose, s) for s in SIDES}
    asym_src = hip3d if all(np.isfinite(hip3d[s]) for s in SIDES) else hip2d
    asymmetry = (NAN if pelvis_side_on(pose.world_xyz)
                 else abs(asym_src["left"] - asym_src["right"]))
    m = BodyMeasures(
        hip_flexion_deg=hip2d,
        hip_flexion_3d_deg=hip3d,
        knee_flexion_deg=knee,
        side_confidence=conf,
        trunk_inclination_deg=trunk_inclination(pose),
        pelvis_height=_weighted({s: pelvis_height(pose, s, facing) for s in SIDES}, conf),
        asymmetry_deg=asymmetry,
        facing=facing,
        posture="unknown",
    )
    return replace(m, posture=classify_posture(pose, m))


class FacingTracker:
    """Keeps the facing stable across frames: a flip needs `frames` consecutive confident
    frames (confidence >= `min_conf`) voting the other way. People rarely turn around mid-set;
    a single frame with a mis-detected knee must not flip every angle's sign."""

    def __init__(self, frames: int = 5, min_conf: float = 0.5) -> None:
        self.frames = frames
        self.min_conf = min_conf
        self.facing: int | None = None
        self._against = 0

    def update(self, pose: PoseFrame) -> int | None:
        if not pose.present:
            return self.facing
        f = estimate_facing(pose)
        if f.weight == 0:
            return self.facing
        if self.facing is None:
            if f.confidence >= self.min_conf:
                self.facing = f.sign
            return self.facing
        if f.sign != self.facing and f.confidence >= self.min_conf:
            self._against += 1
            if self._against >= self.frames:
                self.facing, self._against = f.sign, 0
        else:
            self._against = 0
        return self.facing


class SideSelector:
    """Which body side's angles to trust: "left", "right" or "both", without flicker.

    Per-side confidence = mean visibility of shoulder, hip, knee, ankle. "both" when both sides
    are well seen and alike (front/back views, or a model that is sure of both); otherwise the
    better side. A new choice must hold for `min_dwell_ms` of consecutive frames before it is
    adopted (a side view's near/far confidences cross briefly when a knee passes the other), and
    must beat the current side by `margin`. Frames without a pose keep the current choice.

    Defaults: margin 0.08 is ~4x the frame-to-frame visibility jitter of BlazePose on a still
    body; 400 ms dwell spans a knee crossing at normal tempo; "both" needs >= 0.8 each and a
    difference < 0.08.
    """

    def __init__(
        self,
        *,
        both_min: float = 0.8,
        both_max_diff: float = 0.08,
        margin: float = 0.08,
        min_dwell_ms: float = 400.0,
        initial: str = "both",
    ) -> None:
        self.both_min = both_min
        self.both_max_diff = both_max_diff
        self.margin = margin
        self.min_dwell_ms = min_dwell_ms
        self.current: str | None = None
        self.initial = initial
        self._candidate: str | None = None
        self._candidate_since: float | None = None

    def _wanted(self, conf: dict[str, float]) -> str:
        cl, cr = conf["left"], conf["right"]
        if min(cl, cr) >= self.both_min and abs(cl - cr) < self.both_max_diff:
            return "both"
        best = "left" if cl >= cr else "right"
        cur = self.current
        if cur in SIDES and cur != best and conf[best] - conf[cur] < self.margin:
            return cur  # not clearly better: stay
        if cur == "both" and abs(cl - cr) < self.both_max_diff + self.margin / 2:
            return "both"
        return best

    def update(self, pose: PoseFrame, measures: BodyMeasures | None = None) -> str:
        if not pose.present:
            return self.current or self.initial
        conf = measures.side_confidence if measures is not None else side_confidence(pose)
        wanted = self._wanted(conf)
        if self.current is None:
            self.current = wanted
            return wanted
        if wanted == self.current:
            self._candidate = None
            self._candidate_since = None
            return self.current
        if wanted != self._candidate:
            self._candidate = wanted
            self._candidate_since = pose.timestamp_ms
        elif pose.timestamp_ms - (self._candidate_since or 0.0) >= self.min_dwell_ms:
            self.current = wanted
            self._candidate = None
            self._candidate_since = None
        return self.current


class SideBlend:
    """How much each side's angle counts in a body's one signal, eased between selections.

    The two hips read a few degrees apart even on a still body (the far side is seen worse, a
    three-quarter view foreshortens one thigh), so switching the signal from the mean of both to
    one side in a single frame puts a step into it. Inside a hold a step reads as movement and
    the hold fit moves an edge to absorb it: a rendered three-quarter bridge whose selector went
    from "both" to "left" 1.2 s into a 2 s hold had it timed 0.11 s long; faded, 0.05 s. Here the
    left side's weight moves linearly to the new selection's (1, 0, or 0.5 for "both") over
    `fade_ms`. 2 s turns the usual 3-5° disagreement of an oblique view, half of which a
    both-to-one switch carries, into 0.75-1.25°/s: under the counter's allowance for a held top
    that creeps (2°/s for the bridge), so a fade inside a hold still reads as a hold.
    """

    def __init__(self, fade_ms: float = 2000.0) -> None:
        self.fade_ms = fade_ms
        self.left_weight = NAN
        self._from = NAN
        self._to = NAN
        self._since = 0.0

    @staticmethod
    def target(side: str) -> float:
        return 1.0 if side == "left" else 0.0 if side == "right" else 0.5

    def update(self, t_ms: float, side: str) -> float:
        """The left side's weight at `t_ms` given the selector's current choice."""
        to = self.target(side)
        if not math.isfinite(self.left_weight):
            self.left_weight = self._from = self._to = to
            self._since = t_ms
            return to
        if to != self._to:
            self._from, self._to, self._since = self.left_weight, to, t_ms
        done = 1.0 if self.fade_ms <= 0 else min(1.0, max(0.0, (t_ms - self._since) / self.fade_ms))
        self.left_weight = self._from + (self._to - self._from) * done
        return self.left_weight

    def combine(self, values: dict[str, float]) -> float:
        """The weighted signal; the side that is seen when only one is (NaN when neither)."""
        left, right = values["left"], values["right"]
        w = self.left_weight if math.isfinite(self.left_weight) else 0.5
        if math.isfinite(left) and math.isfinite(right):
            return w * left + (1.0 - w) * right
        return left if math.isfinite(left) else right
