"""A kinematic human body with exact joint angles: the ground truth behind synthetic landmarks.

Pure numpy. The body is a chain of rigid segments (trunk, thigh, shank, foot, upper arm, forearm,
hand, neck, head) posed by clinical joint angles, placed in a world frame:

* metres, z up, floor at z = 0;
* the body's sagittal plane is x-z when `pelvis_yaw_deg == 0`; x is where the body's front points
  when standing upright, the body's left side is +y.

Orientation of the trunk is `trunk_pitch_deg` about the body's left-right axis: 0 = upright,
+90 = lying on the back (front up, head towards -x), -90 = lying face down (front down, head
towards +x), -45 = leaning forwards (a hip hinge). Hip flexion is clinical: the thigh's angle to
the trunk axis in the sagittal plane, 0 = in line (standing), + = thigh towards the chest,
- = extension.
Abduction rotates the whole leg out of that plane without changing its sagittal projection, so
`true_hip_flexion` (computed from the geometry) equals the state's `hip_flexion_deg` exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from posecheck.core.landmarks import NUM_LANDMARKS, Landmark

SIDES: tuple[str, str] = ("left", "right")


def _sided(value: float = 0.0) -> dict[str, float]:
    return {"left": float(value), "right": float(value)}


@dataclass(frozen=True)
class BodyShape:
    """Segment lengths in metres.

    Defaults are Winter's anthropometric fractions of standing height H (Winter, *Biomechanics and
    Motor Control of Human Movement*, fig. 4.1): shoulder 0.818 H, greater trochanter 0.530 H,
    knee 0.285 H, ankle 0.039 H, upper arm 0.186 H, forearm 0.146 H, hand 0.108 H, foot 0.152 H.
    Joint-centre widths are narrower than Winter's outer breadths (hip 0.191 H, shoulder 0.259 H)
    because landmarks sit on joint centres. Any length can be overridden (None = derive from H).
    """

    height_m: float = 1.70
    trunk: float | None = None  # hip joint centre -> shoulder joint centre
    thigh: float | None = None
    shank: float | None = None
    foot: float | None = None  # heel to toe tip
    upper_arm: float | None = None
    forearm: float | None = None
    hand: float | None = None
    hip_width: float | None = None  # distance between hip joint centres
    shoulder_width: float | None = None  # distance between shoulder joint centres
    neck: float | None = None  # shoulder line -> base of the head sphere
    head_radius: float | None = None
    ankle_height: float | None = None  # ankle joint above the sole
    back_depth: float | None = None  # joint line above the floor when lying on the back/front

    def __post_init__(self) -> None:
        h = self.height_m
        if not 0.5 < h < 2.6:
            raise ValueError(f"height_m must be a human height in metres, got {h}")
        defaults = {
            "trunk": 0.288 * h,
            "thigh": 0.245 * h,
            "shank": 0.246 * h,
            "foot": 0.152 * h,
            "upper_arm": 0.186 * h,
            "forearm": 0.146 * h,
            "hand": 0.108 * h,
            "hip_width": 0.115 * h,
            "shoulder_width": 0.22 * h,
            "neck": 0.07 * h,
            "head_radius": 0.06 * h,
            "ankle_height": 0.039 * h,
            "back_depth": 0.055 * h,
        }
        for name, value in defaults.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, float(value))
            elif getattr(self, name) <= 0:
                raise ValueError(f"BodyShape.{name} must be positive")

    # Typed accessors (the fields are Optional only so that they can default to None).
    @property
    def L(self) -> dict[str, float]:
        """All lengths as plain floats (short name: used in formulas)."""
        return {name: float(getattr(self, name)) for name in LENGTH_NAMES}

    @property
    def hip_height(self) -> float:
        """Hip joint height when standing straight."""
        return float(self.ankle_height + self.shank + self.thigh)  # type: ignore[operator]


# The overridable segment lengths of `BodyShape` (metres); scenario files name the same keys.
LENGTH_NAMES = (
    "trunk",
    "thigh",
    "shank",
    "foot",
    "upper_arm",
    "forearm",
    "hand",
    "hip_width",
    "shoulder_width",
    "neck",
    "head_radius",
    "ankle_height",
    "back_depth",
)


@dataclass(frozen=True)
class BodyState:
    """The body at one instant. Angles in degrees, per-side values keyed "left"/"right".

    pelvis: midpoint of the hip joint centres, world metres.
    trunk_pitch_deg: see the module docstring (0 upright, 90 supine, -90 prone).
    pelvis_yaw_deg: rotation of the whole body about world z (0 = facing +x when upright).
    head_pitch_deg: neck flexion (+ = chin towards chest) relative to the trunk.
    hip_flexion_deg: thigh vs trunk in the sagittal plane (+ flexion, - extension).
    knee_flexion_deg: 0 = straight, + = heel towards buttock.
    ankle_deg: foot vs shank, 0 = foot at right angles to the shank, + = dorsiflexion (toes up).
    hip_abduction_deg / shoulder_abduction_deg: the limb swung outwards (+), out of the sagittal
        plane.
    shoulder_flexion_deg: arm vs trunk (0 = hanging along the trunk, 90 = pointing forwards).
    elbow_flexion_deg: 0 = straight.
    wrist_deg: hand vs forearm, + = bent towards the forearm's flexion side (hands flat on a floor
        in quadruped need ~90).
    """

    pelvis: tuple[float, float, float] = (0.0, 0.0, 0.0)
    trunk_pitch_deg: float = 0.0
    pelvis_yaw_deg: float = 0.0
    head_pitch_deg: float = 0.0
    hip_flexion_deg: dict[str, float] = field(default_factory=_sided)
    knee_flexion_deg: dict[str, float] = field(default_factory=_sided)
    ankle_deg: dict[str, float] = field(default_factory=_sided)
    hip_abduction_deg: dict[str, float] = field(default_factory=_sided)
    shoulder_flexion_deg: dict[str, float] = field(default_factory=_sided)
    shoulder_abduction_deg: dict[str, float] = field(default_factory=_sided)
    elbow_flexion_deg: dict[str, float] = field(default_factory=_sided)
    wrist_deg: dict[str, float] = field(default_factory=_sided)

    def __post_init__(self) -> None:
        # A plain number for a per-side angle means "both sides"; partial dicts default to 0.
        for name in _SIDED_FIELDS:
            value = getattr(self, name)
            if isinstance(value, dict):
                fixed = {s: float(value.get(s, 0.0)) for s in SIDES}
            else:
                fixed = _sided(float(value))
            object.__setattr__(self, name, fixed)
        object.__setattr__(self, "pelvis", tuple(float(v) for v in self.pelvis))

    def with_(self, **changes: object) -> BodyState:
        """A copy with some fields replaced (per-side dicts may be given as a float for both)."""
        fixed: dict[str, object] = {}
        for key, value in changes.items():
            if key in _SIDED_FIELDS and isinstance(value, dict):
                value = {**getattr(self, key), **value}
            fixed[key] = value
        return replace(self, **fixed)  # type: ignore[arg-type]


_SIDED_FIELDS = (
    "hip_flexion_deg",
    "knee_flexion_deg",
    "ankle_deg",
    "hip_abduction_deg",
    "shoulder_flexion_deg",
    "shoulder_abduction_deg",
    "elbow_flexion_deg",
    "wrist_deg",
)


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


def body_axes(state: BodyState) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(front, up, left) unit vectors of the trunk in world coordinates.

    up = pelvis -> shoulders, front = where the chest faces, left = the body's left.
    """
    th = np.radians(state.trunk_pitch_deg)
    yaw = np.radians(state.pelvis_yaw_deg)
    c, s = np.cos(yaw), np.sin(yaw)
    rz = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    up = rz @ np.array([-np.sin(th), 0.0, np.cos(th)])
    front = rz @ np.array([np.cos(th), 0.0, np.sin(th)])
    left = rz @ np.array([0.0, 1.0, 0.0])
    return front, up, left


def _limb(
    down: np.ndarray,
    front: np.ndarray,
    out: np.ndarray,
    flex_deg: float,
    abd_deg: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Direction of a limb segment and its in-plane normal.

    The segment starts along `down`, flexes by `flex_deg` towards `front` (in the sagittal plane),
    then swings outwards by `abd_deg` about that normal, which keeps the sagittal angle exact.
    Returns (segment direction, normal in the limb plane pointing to the flexion side).
    """
    f = np.radians(flex_deg)
    a = np.radians(abd_deg)
    d0 = down * np.cos(f) + front * np.sin(f)
    n0 = -down * np.sin(f) + front * np.cos(f)
    d = d0 * np.cos(a) + out * np.sin(a)
    return d, n0


def skeleton_points(shape: BodyShape, state: BodyState) -> dict[str, np.ndarray]:
    """Named 3D points of the body: every BlazePose landmark (by `Landmark` name, lower case)
    plus helpers for renderers: pelvis, chest (shoulder centre), neck_top, head_center, and the
    unit axes front/up/left (as vectors, not points)."""
    L = shape.L
    front, up, left = body_axes(state)
    pelvis = np.asarray(state.pelvis, dtype=float)
    chest = pelvis + L["trunk"] * up
    pts: dict[str, np.ndarray] = {
        "pelvis": pelvis,
        "chest": chest,
        "front": front,
        "up": up,
        "left": left,
    }
    # Head: the neck flexes the head's axes about the left-right axis.
    hp = np.radians(state.head_pitch_deg)
    head_up = up * np.cos(hp) + front * np.sin(hp)
    head_front = front * np.cos(hp) - up * np.sin(hp)
    neck_top = chest + L["neck"] * head_up
    r = L["head_radius"]
    head = neck_top + r * head_up
    pts["neck_top"] = neck_top
    pts["head_center"] = head
    pts["nose"] = head + r * (1.0 * head_front - 0.15 * head_up)
    for side, sgn in (("left", 1.0), ("right", -1.0)):
        lat = sgn * left
        eye_base = head + r * (0.80 * head_front + 0.22 * head_up)
        pts[f"{side}_eye_inner"] = eye_base + lat * r * 0.16
        pts[f"{side}_eye"] = eye_base + lat * r * 0.32 - head_front * r * 0.03
        pts[f"{side}_eye_outer"] = eye_base + lat * r * 0.47 - head_front * r * 0.08
        pts[f"{side}_ear"] = head + r * (-0.05 * head_front + 0.05 * head_up) + lat * r * 0.95
        pts[f"mouth_{side}"] = head + r * (0.84 * head_front - 0.45 * head_up) + lat * r * 0.25

        # Arm.
        shoulder = chest + lat * L["shoulder_width"] / 2
        arm, arm_n = _limb(
            -up, front, lat, state.shoulder_flexion_deg[side], state.shoulder_abduction_deg[side]
        )
        elbow = shoulder + L["upper_arm"] * arm
        e = np.radians(state.elbow_flexion_deg[side])
        fore = arm * np.cos(e) + arm_n * np.sin(e)
        fore_n = -arm * np.sin(e) + arm_n * np.cos(e)
        wrist = elbow + L["forearm"] * fore
        hand = L["hand"]
        w = np.radians(state.wrist_deg[side])
        fore, fore_n = fore * np.cos(w) + fore_n * np.sin(w), -fore * np.sin(w) + fore_n * np.cos(w)
        pts[f"{side}_shoulder"] = shoulder
        pts[f"{side}_elbow"] = elbow
        pts[f"{side}_wrist"] = wrist
        pts[f"{side}_pinky"] = wrist + 0.75 * hand * fore - 0.25 * hand * fore_n + 0.1 * hand * lat
        pts[f"{side}_index"] = wrist + 0.85 * hand * fore + 0.15 * hand * fore_n
        pts[f"{side}_thumb"] = wrist + 0.45 * hand * fore + 0.30 * hand * fore_n

        # Leg.
        hip = pelvis + lat * L["hip_width"] / 2
        thigh, thigh_n = _limb(
            -up, front, lat, state.hip_flexion_deg[side], state.hip_abduction_deg[side]
        )
        knee = hip + L["thigh"] * thigh
        k = np.radians(state.knee_flexion_deg[side])
        shank = thigh * np.cos(k) - thigh_n * np.sin(k)
        shank_n = thigh * np.sin(k) + thigh_n * np.cos(k)  # the shank's "front" (shin side)
        ankle = knee + L["shank"] * shank
        # Foot: at ankle_deg = 0 it points along the shin normal; + = toes up (towards the shin).
        an = np.radians(state.ankle_deg[side])
        foot = shank_n * np.cos(an) - shank * np.sin(an)
        sole = shank * np.cos(an) + shank_n * np.sin(an)  # from the ankle towards the sole
        ah = L["ankle_height"]
        heel = ankle + ah * 0.85 * sole - 0.22 * L["foot"] * foot
        toe = ankle + ah * 0.85 * sole + 0.78 * L["foot"] * foot
        pts[f"{side}_hip"] = hip
        pts[f"{side}_knee"] = knee
        pts[f"{side}_ankle"] = ankle
        pts[f"{side}_heel"] = heel
        pts[f"{side}_foot_index"] = toe
    return pts


def world_landmarks(shape: BodyShape, state: BodyState) -> np.ndarray:
    """All 33 BlazePose landmarks, (33, 3) world metres, in `Landmark` order."""
    pts = skeleton_points(shape, state)
    out = np.empty((NUM_LANDMARKS, 3))
    for lm in Landmark:
        out[lm] = pts[lm.name.lower()]
    return out


def sagittal_angle(vec: np.ndarray, front: np.ndarray, up: np.ndarray) -> float:
    """Signed angle (deg) of `vec` from `-up` towards `front`, after projecting on their plane."""
    return float(np.degrees(np.arctan2(np.dot(vec, front), -np.dot(vec, up))))


def true_hip_flexion(shape: BodyShape, state: BodyState) -> dict[str, float]:
    """Hip flexion per side measured on the generated landmarks (a check on the state's values).

    Pelvis axes: up = hip midpoint -> shoulder midpoint; left = right hip -> left hip made
    orthogonal to up; front = left x up. The thigh is projected onto the (up, front) plane.
    """
    lm = world_landmarks(shape, state)
    hip_mid = (lm[Landmark.LEFT_HIP] + lm[Landmark.RIGHT_HIP]) / 2
    sh_mid = (lm[Landmark.LEFT_SHOULDER] + lm[Landmark.RIGHT_SHOULDER]) / 2
    up = _unit(sh_mid - hip_mid)
    left = lm[Landmark.LEFT_HIP] - lm[Landmark.RIGHT_HIP]
    left = _unit(left - np.dot(left, up) * up)
    front = np.cross(left, up)
    out = {}
    for side, hip_i, knee_i in (
        ("left", Landmark.LEFT_HIP, Landmark.LEFT_KNEE),
        ("right", Landmark.RIGHT_HIP, Landmark.RIGHT_KNEE),
    ):
        out[side] = sagittal_angle(lm[knee_i] - lm[hip_i], front, up)
    return out


def true_knee_flexion(shape: BodyShape, state: BodyState) -> dict[str, float]:
    """Knee flexion per side from the generated landmarks (unsigned, 0 = straight)."""
    lm = world_landmarks(shape, state)
    out = {}
    for side in SIDES:
        j = {"left": (23, 25, 27), "right": (24, 26, 28)}[side]
        a = lm[j[1]] - lm[j[0]]
        b = lm[j[2]] - lm[j[1]]
        cosang = np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b))
        out[side] = float(np.degrees(np.arccos(np.clip(cosang, -1.0, 1.0))))
    return out


def anchored(shape: BodyShape, state: BodyState, landmark: int, target: np.ndarray) -> BodyState:
    """The same posture translated so that `landmark` lands on `target` (e.g. a planted foot)."""
    lm = world_landmarks(shape, state)
    shift = np.asarray(target, dtype=float) - lm[landmark]
    return state.with_(pelvis=tuple(np.asarray(state.pelvis) + shift))


def lowest_point(shape: BodyShape, state: BodyState) -> float:
    """Lowest landmark z (to put a body on the floor)."""
    return float(world_landmarks(shape, state)[:, 2].min())


def solve_bridge(
    shape: BodyShape,
    shoulder_xz: tuple[float, float],
    ankle_xz: tuple[float, float],
    hip_flexion_deg: float,
    *,
    thigh_scale: float = 1.0,
) -> tuple[float, np.ndarray, float]:
    """Closed-chain inverse kinematics of a bridge in the sagittal plane (body facing up).

    The shoulder centre and the ankle are fixed (shoulders on the floor or a bench, feet planted),
    the hip flexion is given; the pelvis and knee follow. Returns (trunk_pitch_deg, pelvis_xz,
    knee_flexion_deg). `thigh_scale` < 1 shortens the thigh's sagittal projection (abducted legs,
    frog pump). Raises ValueError when the chain cannot reach.
    """
    L = shape.L
    t, l1, l2 = L["trunk"], L["thigh"] * thigh_scale, L["shank"]
    s = np.asarray(shoulder_xz, dtype=float)
    a = np.asarray(ankle_xz, dtype=float)
    phi = np.radians(hip_flexion_deg)
    sk = np.sqrt(t * t + l1 * l1 + 2 * t * l1 * np.cos(phi))
    sa = float(np.linalg.norm(a - s))
    if not abs(sk - l2) <= sa <= sk + l2:
        raise ValueError("bridge chain cannot reach the feet at this hip angle")
    # Knee: intersection of circles (s, sk) and (a, l2), the upper solution.
    along = (sk * sk - l2 * l2 + sa * sa) / (2 * sa)
    h = np.sqrt(max(sk * sk - along * along, 0.0))
    e = (a - s) / sa
    n = np.array([-e[1], e[0]])  # e rotated +90 deg (x-z plane: towards +z when e = +x)
    knee = s + along * e + h * n
    # Pelvis: angle at the shoulder between S->K and S->P; below the line for flexion.
    cosb = (t * t + sk * sk - l1 * l1) / (2 * t * sk)
    beta = np.arccos(np.clip(cosb, -1.0, 1.0)) * (1.0 if phi >= 0 else -1.0)
    dk = (knee - s) / sk
    c, si = np.cos(-beta), np.sin(-beta)
    dp = np.array([c * dk[0] - si * dk[1], si * dk[0] + c * dk[1]])
    pelvis = s + t * dp
    up = (s - pelvis) / t  # (x, z) of the trunk axis
    pitch = float(np.degrees(np.arctan2(-up[0], up[1])))
    front = np.array([np.cos(np.radians(pitch)), np.sin(np.radians(pitch))])
    upv = np.array([-np.sin(np.radians(pitch)), np.cos(np.radians(pitch))])
    thigh = knee - pelvis
    shank = a - knee
    g_thigh = np.degrees(np.arctan2(thigh @ front, -(thigh @ upv)))
    g_shank = np.degrees(np.arctan2(shank @ front, -(shank @ upv)))
    return pitch, pelvis, float(g_thigh - g_shank)


def turned(state: BodyState, yaw_deg: float) -> BodyState:
    """The same posture rotated about the world's vertical axis through the origin (e.g. 180 =
    the person faces the other way)."""
    c, s = np.cos(np.radians(yaw_deg)), np.sin(np.radians(yaw_deg))
    x, y, z = state.pelvis
    return state.with_(
        pelvis=(c * x - s * y, s * x + c * y, z), pelvis_yaw_deg=state.pelvis_yaw_deg + yaw_deg
    )


# Flesh around the elbow and wrist joint centres of a 1.75 m body of girth 1 (metres): what the
# renderer draws (`render.body_primitives`) and what an arm rests on (`rest_arms_on_floor`).
ELBOW_RADIUS_M = 0.040
WRIST_RADIUS_M = 0.030


def arm_flesh_radii(height_m: float, girth: float = 1.0) -> tuple[float, float]:
    """(elbow, wrist) flesh radii in metres of a body `height_m` tall: the one value both the
    renderer and the landmark generator rest a lying arm on, so their arms agree."""
    g = height_m / 1.75 * girth
    return ELBOW_RADIUS_M * g, WRIST_RADIUS_M * g


def rest_arms_on_floor(
    shape: BodyShape,
    state: BodyState,
    elbow_radius_m: float,
    wrist_radius_m: float,
    *,
    lying_below_m: float = 0.30,
    fade_m: float = 0.10,
    max_gap_m: float = 0.15,
) -> BodyState:
    """The same state with each arm of a lying body lowered (shoulder flexion only) until the
    flesh of its elbow or wrist touches the floor.

    Why: lying poses point the arms along the trunk at the height of the shoulder joint
    (`back_depth` above the floor), so a rendered forearm floats 5-7 cm above the mat, and a
    camera near the floor sees it pass in front of the hip instead of lying below it. A resting
    arm slopes from the shoulder joint down to the floor. The radii are the renderer's flesh
    around the joint centres. Only arms whose shoulder is below `lying_below_m` (faded in over
    `fade_m`, so a body lying down moves smoothly) and whose lowest flesh is 0..`max_gap_m`
    above the floor are moved; hips, legs and trunk are untouched, so the hip truth is too.
    """
    pts = skeleton_points(shape, state)
    lat_axis = pts["left"]  # horizontal: the arm rotates about it through the shoulder
    limit = np.radians(45.0)
    changes: dict[str, float] = {}
    for side in SIDES:
        shoulder = pts[f"{side}_shoulder"]
        weight = float(np.clip((lying_below_m - shoulder[2]) / fade_m, 0.0, 1.0))
        if weight <= 0.0:
            continue
        vs = np.stack([pts[f"{side}_elbow"], pts[f"{side}_wrist"]]) - shoulder
        clear0 = shoulder[2] - np.array([elbow_radius_m, wrist_radius_m])
        gaps = clear0 + vs[:, 2]
        if not 0.0 < float(gaps.min()) <= max_gap_m:
            continue
        # Flesh height of each point rotated by a about the lateral axis (whose z is 0):
        # clear0 + A cos a + B sin a = clear0 + R cos(a - phi). Lower the lowest point first.
        a_cos, b_sin = vs[:, 2], np.cross(lat_axis, vs)[:, 2]
        direction = -1.0 if b_sin[int(np.argmin(gaps))] > 0 else 1.0
        best = np.inf
        for c0, a_, b_ in zip(clear0, a_cos, b_sin, strict=True):
            r = float(np.hypot(a_, b_))
            if r <= 1e-9 or abs(c0) > r:
                continue
            phi, half = float(np.arctan2(b_, a_)), float(np.arccos(-c0 / r))
            for cand in (phi + half, phi - half):
                cand = (cand + np.pi) % (2 * np.pi) - np.pi
                if 0.0 <= direction * cand <= limit and abs(cand) < abs(best):
                    best = cand
        if np.isfinite(best):
            # A rotation by a about +left turns the arm from `down` away from `front`: -a.
            changes[side] = state.shoulder_flexion_deg[side] - weight * float(np.degrees(best))
    return state.with_(shoulder_flexion_deg=changes) if changes else state


def rest_hands_on_floor(
    shape: BodyShape,
    state: BodyState,
    wrist_radius_m: float,
    *,
    lying_below_m: float = 0.30,
    fade_m: float = 0.10,
    near_m: float = 0.02,
) -> BodyState:
    """The same state with the hand of each resting lying arm bent at the wrist until it lies
    level with the wrist instead of pointing into the floor.

    Why: an arm lowered onto the floor (`rest_arms_on_floor`) slopes down from the shoulder and
    a straight hand continues that slope 2-7 cm into the mat. Only arms whose shoulder is below
    `lying_below_m` (faded in over `fade_m`, as for the arms) and whose wrist flesh is within
    `near_m` of the floor (faded in too) are changed, and only their wrist angle: the hand
    points move, the wrist and every other joint stay."""
    pts = skeleton_points(shape, state)
    bent = skeleton_points(
        shape, state.with_(wrist_deg={s: state.wrist_deg[s] + 90.0 for s in SIDES})
    )
    changes: dict[str, float] = {}
    for side in SIDES:
        weight = float(np.clip((lying_below_m - pts[f"{side}_shoulder"][2]) / fade_m, 0.0, 1.0))
        wrist = pts[f"{side}_wrist"]
        # Full correction on the floor, none `near_m` above it: no jump while lying down.
        weight *= float(np.clip(1.0 - (wrist[2] - wrist_radius_m) / near_m, 0.0, 1.0))
        if weight <= 0.0:
            continue
        a_z = float(pts[f"{side}_index"][2] - wrist[2])  # hand's height change at +0 deg
        b_z = float(bent[f"{side}_index"][2] - wrist[2])  # ... and at +90 deg
        if a_z >= 0.0:
            continue
        # index height relative to the wrist at +w: a_z cos w + b_z sin w = 0.
        w = float(np.arctan2(-a_z, b_z))
        if w > np.pi / 2:
            w -= np.pi
        elif w < -np.pi / 2:
            w += np.pi
        changes[side] = state.wrist_deg[side] + weight * float(np.degrees(w))
    return state.with_(wrist_deg=changes) if changes else state
