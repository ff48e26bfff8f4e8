"""Exercise poses on the kinematic body: each exercise's posture for an activation per leg.

Activation 0 is the exercise's rest position, 1 its full-range end (see `motions`); every
`ExerciseMotion` in `EXERCISES` maps it to a `BodyState`, with its rest and top hip angles and
how far a deliberate mistake goes. `motions` strings these postures into timed reps.
"""


from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from posecheck.core.landmarks import Landmark
from posecheck.synthetic.kinematics import (
    BodyShape,
    BodyState,
    anchored,
    arm_flesh_radii,
    solve_bridge,
)

SIDES = ("left", "right")
HIPS_DROP = 0.2  # fraction of the range lost, linearly, during the hold


PoseFn = Callable[[BodyShape, dict[str, float], str], BodyState]


@dataclass(frozen=True)
class ExerciseMotion:
    """How one exercise moves. rest_deg/top_deg: the working hip's flexion at activation 0 and
    1 (hip flexion is linear in the activation for every motion here). The *_deg fields say how
    far a deliberate mistake goes, in hip degrees (None = activation defaults)."""

    name: str
    laterality: str  # "bilateral", "single" or "alternating"
    pose: PoseFn
    rest_deg: float = 0.0
    top_deg: float = 1.0
    negative: bool = False
    incomplete_deg: float | None = None  # peak of an incomplete-lockout rep
    over_arch_deg: float | None = None  # peak of an over-arched rep
    drop_deg: float | None = None  # hip flexion regained during a hold with hips dropping

    def activation_of(self, hip_deg: float | None, default: float = 1.0) -> float:
        if hip_deg is None:
            return default
        return (hip_deg - self.rest_deg) / (self.top_deg - self.rest_deg)

    @property
    def drop(self) -> float:
        if self.drop_deg is None:
            return HIPS_DROP
        return abs(self.drop_deg / (self.top_deg - self.rest_deg))


def _lerp(a: float, b: float, t: float) -> float:
    return a + (b - a) * t


def _flat_feet(state: BodyState, sides: tuple[str, ...] = SIDES) -> BodyState:
    """Ankles set so that the soles are parallel to the floor (body facing +x, no yaw)."""
    ankle = dict(state.ankle_deg)
    for s in sides:
        shank_world = state.trunk_pitch_deg + state.hip_flexion_deg[s] - state.knee_flexion_deg[s]
        ankle[s] = -shank_world
    return state.with_(ankle_deg=ankle)


def _head_level(pitch: float) -> float:
    """Neck flexion keeping a lying head on the floor while the trunk tilts beyond supine."""
    if pitch > 60:
        return pitch - 90.0
    if pitch < -60:
        return -(pitch + 90.0) - 15.0  # prone: chin slightly up, face towards the floor
    return 0.0


def _on_floor(shape: BodyShape, state: BodyState, floor_z: float = 0.0) -> BodyState:
    """Translate vertically so that the lowest landmark touches the floor."""
    from posecheck.synthetic.kinematics import lowest_point

    dz = floor_z - lowest_point(shape, state)
    x, y, z = state.pelvis
    return state.with_(pelvis=(x, y, z + dz))


# Glute bridge family ---------------------------------------------------------------------

BRIDGE_BOTTOM_DEG = 50.0  # pelvis on the floor, knees ~105 deg bent, feet flat
BRIDGE_TOP_DEG = 0.0  # shoulders, hips and knees in line


def _bridge_geometry(shape: BodyShape, bottom_deg: float, shoulder_z: float | None = None):
    """Fixed shoulder and ankle (x, z) for a bridge whose pelvis rests on the floor at bottom."""
    L = shape.L
    sz = L["back_depth"] if shoulder_z is None else shoulder_z
    shoulder = (-L["trunk"], sz)
    # At the bottom the trunk is horizontal with the pelvis at (0, back_depth).
    phi = np.radians(bottom_deg)
    knee = np.array([L["thigh"] * np.cos(phi), L["back_depth"] + L["thigh"] * np.sin(phi)])
    dz = knee[1] - L["ankle_height"]
    ankle = (float(knee[0] + np.sqrt(L["shank"] ** 2 - dz**2)), L["ankle_height"])
    return shoulder, ankle


def _bridge_state(
    shape: BodyShape,
    hip_deg: float,
    shoulder: tuple[float, float],
    ankle: tuple[float, float],
    *,
    thigh_scale: float = 1.0,
) -> BodyState:
    pitch, pelvis, knee = solve_bridge(shape, shoulder, ankle, hip_deg, thigh_scale=thigh_scale)
    state = BodyState(
        pelvis=(float(pelvis[0]), 0.0, float(pelvis[1])),
        trunk_pitch_deg=pitch,
        head_pitch_deg=_head_level(pitch),
        hip_flexion_deg={"left": hip_deg, "right": hip_deg},
        knee_flexion_deg={"left": knee, "right": knee},
        shoulder_flexion_deg=90.0 - pitch,  # arms lie flat on the floor towards the feet
        shoulder_abduction_deg=8.0,
    )
    return _flat_feet(state)


def _bridge_hip(a: float, bottom: float = BRIDGE_BOTTOM_DEG, top: float = BRIDGE_TOP_DEG) -> float:
    return _lerp(bottom, top, a)


def _glute_bridge(shape: BodyShape, a: dict[str, float], side: str) -> BodyState:
    shoulder, ankle = _bridge_geometry(shape, BRIDGE_BOTTOM_DEG)
    act = max(a.values())
    return _bridge_state(shape, _bridge_hip(act), shoulder, ankle)


SLB_FREE_LEG_EXTRA_DEG = 40.0


def _single_leg_bridge(shape: BodyShape, a: dict[str, float], side: str) -> BodyState:
    """Working leg planted; the free leg held up straight, 40 deg more flexed than the working
    hip (so the working leg is always the more extended one)."""
    other = "right" if side == "left" else "left"
    state = _glute_bridge(shape, {side: a[side]}, side)
    return state.with_(
        hip_flexion_deg={other: state.hip_flexion_deg[side] + SLB_FREE_LEG_EXTRA_DEG},
        knee_flexion_deg={other: 0.0},
        ankle_deg={other: 10.0},
    )


HIP_THRUST_BOTTOM_DEG = 75.0


def _hip_thrust(shape: BodyShape, a: dict[str, float], side: str) -> BodyState:
    """Upper back on a ~0.4 m bench; at the top the trunk is horizontal and the shins vertical."""
    L = shape.L
    sz = L["ankle_height"] + L["shank"]  # shoulder joint height (bench ~0.4 m + back)
    shoulder = (-L["trunk"], sz)
    ankle = (L["thigh"], L["ankle_height"])
    hip = _lerp(HIP_THRUST_BOTTOM_DEG, 0.0, max(a.values()))
    state = _bridge_state(shape, hip, shoulder, ankle)
    head = max(0.0, state.trunk_pitch_deg - 90.0)
    return _arms_on_bench(shape, state.with_(head_pitch_deg=head))


def _arms_on_bench(shape: BodyShape, state: BodyState) -> BodyState:
    """Arms resting on the bench top: upper arms out sideways, elbows bent 90 deg, forearms
    along the bench towards the head, the elbow's flesh on the bench (`back_depth` below the
    shoulder joints); the arms stay still while the trunk pivots on the bench edge.

    Why: arms held fixed in the trunk's frame pointed at the ceiling from a pivoting trunk. The
    model has no humeral rotation, so the forearm is turned onto the bench by flexing the elbow
    backwards in a shoulder flexion plane of -pitch (body facing +x, no yaw: the generator's
    frame); the 3D pose is an abducted, externally rotated arm with a 90 deg elbow."""
    L = shape.L
    elbow_r, _ = arm_flesh_radii(shape.height_m)
    drop = np.clip((L["back_depth"] - elbow_r) / L["upper_arm"], 0.0, 1.0)
    tilt = float(np.degrees(np.arcsin(drop)))  # upper arm below horizontal
    return state.with_(
        shoulder_flexion_deg=-state.trunk_pitch_deg,
        shoulder_abduction_deg=90.0 - tilt,
        elbow_flexion_deg=-90.0,
        wrist_deg=0.0,
    )


FROG_ABDUCTION_DEG = 45.0
FROG_BOTTOM_DEG = 40.0


def _frog_pump(shape: BodyShape, a: dict[str, float], side: str) -> BodyState:
    """Soles together, knees out: a bridge of the legs' sagittal projection (feet approximate)."""
    scale = float(np.cos(np.radians(FROG_ABDUCTION_DEG)))
    L = shape.L
    phi = np.radians(FROG_BOTTOM_DEG)
    thigh = L["thigh"] * scale
    knee = np.array([thigh * np.cos(phi), L["back_depth"] + thigh * np.sin(phi)])
    dz = knee[1] - L["ankle_height"]
    ankle = (float(knee[0] + np.sqrt(max(L["shank"] ** 2 - dz**2, 0.0)) * 0.6), L["ankle_height"])
    shoulder = (-L["trunk"], L["back_depth"])
    hip = _lerp(FROG_BOTTOM_DEG, 0.0, max(a.values()))
    state = _bridge_state(shape, hip, shoulder, ankle, thigh_scale=scale)
    ankle = {k: v + 12.0 for k, v in state.ankle_deg.items()}  # soles together, toes up a bit
    return state.with_(hip_abduction_deg=FROG_ABDUCTION_DEG, ankle_deg=ankle)


def _pelvic_tilt(shape: BodyShape, a: dict[str, float], side: str) -> BodyState:
    """Bridge start position, pelvis only tilting: the hip opens a few degrees, hips stay down."""
    shoulder, ankle = _bridge_geometry(shape, BRIDGE_BOTTOM_DEG)
    return _bridge_state(shape, _lerp(BRIDGE_BOTTOM_DEG, 43.0, max(a.values())), shoulder, ankle)


def _lying_still(shape: BodyShape, a: dict[str, float], side: str) -> BodyState:
    shoulder, ankle = _bridge_geometry(shape, BRIDGE_BOTTOM_DEG)
    return _bridge_state(shape, BRIDGE_BOTTOM_DEG, shoulder, ankle)


# Standing family ----------------------------------------------------------------------------


def _standing(shape: BodyShape) -> BodyState:
    return BodyState(
        pelvis=(0.0, 0.0, shape.hip_height),
        shoulder_flexion_deg=5.0,
        shoulder_abduction_deg=6.0,
        elbow_flexion_deg=10.0,
    )


def _anchor_ankle(shape: BodyShape, state: BodyState, side: str) -> BodyState:
    idx = Landmark.LEFT_ANKLE if side == "left" else Landmark.RIGHT_ANKLE
    y = shape.L["hip_width"] / 2 * (1 if side == "left" else -1)
    return anchored(shape, state, idx, np.array([0.0, y, shape.L["ankle_height"]]))


def _standing_knee_raise(shape: BodyShape, a: dict[str, float], side: str) -> BodyState:
    """Alternating knee raise to a horizontal thigh (hip 90, knee 90)."""
    hip = {s: 90.0 * a[s] for s in SIDES}
    knee = {s: 90.0 * a[s] for s in SIDES}
    state = _standing(shape).with_(
        hip_flexion_deg=hip, knee_flexion_deg=knee, ankle_deg={s: -25.0 * a[s] for s in SIDES}
    )
    stance = "right" if a["left"] >= a["right"] else "left"
    return _anchor_ankle(shape, state, stance)


SEATED_HIP_DEG = 90.0
MARCH_PEAK_DEG = 120.0


def _seated_march(shape: BodyShape, a: dict[str, float], side: str) -> BodyState:
    """Upright on a chair, thighs horizontal, shins vertical; a march lifts one knee ~30 deg."""
    L = shape.L
    hip = {s: _lerp(SEATED_HIP_DEG, MARCH_PEAK_DEG, a[s]) for s in SIDES}
    state = BodyState(
        pelvis=(0.0, 0.0, L["ankle_height"] + L["shank"]),
        trunk_pitch_deg=-5.0,
        hip_flexion_deg=hip,
        knee_flexion_deg={s: 90.0 - 5.0 for s in SIDES},
        shoulder_flexion_deg=20.0,
        elbow_flexion_deg=70.0,
    )
    return _on_floor(shape, _flat_feet(state))


LEG_RAISE_PEAK_DEG = 80.0


def _lying_leg_raise(shape: BodyShape, a: dict[str, float], side: str) -> BodyState:
    """Supine, legs straight, both legs raised together to ~80 deg."""
    L = shape.L
    act = max(a.values())
    return BodyState(
        pelvis=(0.0, 0.0, L["back_depth"] + 0.005),
        trunk_pitch_deg=90.0,
        hip_flexion_deg=LEG_RAISE_PEAK_DEG * act,
        knee_flexion_deg=3.0,
        ankle_deg=-20.0,
        shoulder_flexion_deg=0.0,
        shoulder_abduction_deg=10.0,
    )


RDL_TRUNK_DEG = -75.0  # trunk pitch at the bottom of the hinge
RDL_THIGH_DEG = 12.0  # thigh lean at the bottom (hips back, hip joint behind the knee)
RDL_HIP_DEG = RDL_THIGH_DEG - RDL_TRUNK_DEG  # 87 deg of hip flexion at the bottom


def _romanian_deadlift(shape: BodyShape, a: dict[str, float], side: str) -> BodyState:
    """Hip hinge: trunk to ~75 deg forward, knees soft (20 deg), shins nearly vertical."""
    act = max(a.values())
    pitch = RDL_TRUNK_DEG * act
    knee = 5.0 + 15.0 * act
    thigh_world = RDL_THIGH_DEG * act  # hips travel back: thigh leans (hip behind knee)
    hip = thigh_world - pitch
    state = _standing(shape).with_(
        trunk_pitch_deg=pitch,
        hip_flexion_deg=hip,
        knee_flexion_deg=knee,
        shoulder_flexion_deg=-pitch,  # arms hang vertically holding the weight
        shoulder_abduction_deg=4.0,
        elbow_flexion_deg=0.0,
        head_pitch_deg=0.3 * pitch,  # keeps looking slightly ahead
    )
    state = _flat_feet(state)
    return _anchor_ankle(shape, state, "left")


BACK_LUNGE_REACH_DEG = 25.0  # extra back-hip extension mid-step (the foot reaching behind)


def _two_link(l1: float, l2: float, d_xz: np.ndarray) -> tuple[float, float]:
    """(thigh world angle, knee flexion) in degrees reaching `d_xz` (hip -> ankle), knee forward.

    World angles are measured from straight down towards +x. Out-of-reach targets are clamped
    (the foot hovers along the line to the target)."""
    d = float(np.clip(np.linalg.norm(d_xz), abs(l1 - l2) + 1e-6, (l1 + l2) * 0.999))
    delta = np.arctan2(d_xz[0], -d_xz[1])
    alpha = np.arccos(np.clip((l1 * l1 + d * d - l2 * l2) / (2 * l1 * d), -1.0, 1.0))
    inner = np.arccos(np.clip((l1 * l1 + l2 * l2 - d * d) / (2 * l1 * l2), -1.0, 1.0))
    return float(np.degrees(delta + alpha)), float(180.0 - np.degrees(inner))


def _back_lunge(shape: BodyShape, a: dict[str, float], side: str) -> BodyState:
    """The working leg steps back onto the ball of its foot while the body lowers; at the bottom
    the front thigh is ~horizontal and the back thigh ~vertical (hip ~-10 deg), back knee ~90
    deg just above the floor. Both knees bend monotonically with the activation (as in a real
    lunge: the back knee does not straighten again mid-step), the back hip extends on the way
    back (foot reaching behind) and returns to ~-10 deg at the bottom."""
    back = "left" if a["left"] >= a["right"] else "right"
    front = "right" if back == "left" else "left"
    act = float(a[back])
    pitch = -5.0 * act
    state = _standing(shape).with_(
        trunk_pitch_deg=pitch,
        hip_flexion_deg={
            front: 95.0 * act,  # thigh ~horizontal with the 5 deg lean
            back: -10.0 * act - BACK_LUNGE_REACH_DEG * float(np.sin(np.pi * act)),
        },
        knee_flexion_deg={front: 90.0 * act, back: 95.0 * act},
        shoulder_flexion_deg=10.0,
    )
    state = _flat_feet(state, (front,))
    # Back foot: on the ball of the foot, the sole tilting up as the heel lifts.
    shank_world = pitch + state.hip_flexion_deg[back] - state.knee_flexion_deg[back]
    foot_world = 90.0 - 60.0 * act
    state = state.with_(ankle_deg={back: foot_world - 90.0 - shank_world})
    return _anchor_ankle(shape, state, front)


def _squat(shape: BodyShape, a: dict[str, float], side: str) -> BodyState:
    act = max(a.values())
    pitch = -35.0 * act
    state = _standing(shape).with_(
        trunk_pitch_deg=pitch,
        hip_flexion_deg=100.0 * act,
        knee_flexion_deg=115.0 * act,
        shoulder_flexion_deg=80.0 * act - pitch,  # arms reach forwards for balance
    )
    return _anchor_ankle(shape, _flat_feet(state), "left")


# Floor, face down ---------------------------------------------------------------------------

PRONE_LIFT_DEG = -20.0


def _prone_leg_lift(shape: BodyShape, a: dict[str, float], side: str) -> BodyState:
    """Face down, knee bent 90 deg (sole to the sky), the thigh lifted off the floor."""
    L = shape.L
    return BodyState(
        pelvis=(0.0, 0.0, L["back_depth"]),
        trunk_pitch_deg=-90.0,
        head_pitch_deg=_head_level(-90.0),
        hip_flexion_deg={s: PRONE_LIFT_DEG * a[s] for s in SIDES},
        knee_flexion_deg={s: 90.0 * a[s] + 5.0 for s in SIDES},
        ankle_deg=-30.0,
        shoulder_flexion_deg=180.0,  # arms straight overhead (then resting on the floor)
    )


QUAD_PEAK_HIP_DEG = -10.0  # thigh just above horizontal behind the body
QUAD_KNEE_Z = 0.05  # knee landmark height when kneeling (knee-cap thickness)


def quadruped_pitch(shape: BodyShape) -> float:
    """Trunk pitch on hands and knees: straight vertical arms and thighs, hands flat."""
    L = shape.L
    reach = L["upper_arm"] + L["forearm"] + 0.05 - (QUAD_KNEE_Z + L["thigh"])
    return -float(np.degrees(np.arccos(np.clip(reach / L["trunk"], -1.0, 1.0))))


def _quadruped_hip_extension(shape: BodyShape, a: dict[str, float], side: str) -> BodyState:
    """On hands and knees (trunk ~15 deg above horizontal), one leg kicks back (donkey kick),
    knee kept at 90 deg. Rest hip flexion keeps the thigh vertical (= -pitch, ~75 deg)."""
    pitch = quadruped_pitch(shape)
    hip = {s: _lerp(-pitch, QUAD_PEAK_HIP_DEG, a[s]) for s in SIDES}
    state = BodyState(
        trunk_pitch_deg=pitch,
        head_pitch_deg=-20.0,
        hip_flexion_deg=hip,
        knee_flexion_deg=90.0,
        ankle_deg=-80.0,
        shoulder_flexion_deg=-pitch,  # arms vertical
        wrist_deg=90.0,  # hands flat, fingers forwards
    )
    stance = "right" if a["left"] >= a["right"] else "left"
    knee_idx = Landmark.LEFT_KNEE if stance == "left" else Landmark.RIGHT_KNEE
    y = shape.L["hip_width"] / 2 * (1 if stance == "left" else -1)
    return anchored(shape, state, knee_idx, np.array([0.0, y, QUAD_KNEE_Z]))


# Transitions ----------------------------------------------------------------------------------


def _get_down_and_up(shape: BodyShape, a: dict[str, float], side: str) -> BodyState:
    """Standing -> crouch -> sitting on the floor -> lying in the bridge start position.

    Activation 0 = standing, 1 = lying; keyframes are interpolated joint by joint."""
    act = float(np.clip(max(a.values()), 0.0, 1.0))
    L = shape.L
    # (a, pitch, hip, knee, pelvis_x, pelvis_z)
    keys = [
        (0.0, 0.0, 0.0, 0.0, 0.0, shape.hip_height),
        (0.35, -30.0, 100.0, 120.0, -0.15, 0.42),
        (0.65, 0.0, 90.0, 110.0, -0.35, L["back_depth"] + 0.02),
        (1.0, 89.8, BRIDGE_BOTTOM_DEG, 105.1, -0.40, L["back_depth"]),
    ]
    for (a0, *v0), (a1, *v1) in itertools.pairwise(keys):
        if act <= a1:
            t = (act - a0) / (a1 - a0)
            t = 0.5 - 0.5 * np.cos(np.pi * t)
            pitch, hip, knee, px, pz = (_lerp(p, q, t) for p, q in zip(v0, v1, strict=True))
            break
    state = BodyState(
        pelvis=(px, 0.0, pz),
        trunk_pitch_deg=pitch,
        head_pitch_deg=_head_level(pitch),
        hip_flexion_deg=hip,
        knee_flexion_deg=knee,
        shoulder_flexion_deg=max(5.0, 90.0 - pitch) if pitch > 45 else 30.0,
        elbow_flexion_deg=20.0,
    )
    return _on_floor(shape, _flat_feet(state))


def _bridge_like(name: str, lat: str, fn: PoseFn, bottom: float) -> ExerciseMotion:
    return ExerciseMotion(
        name, lat, fn, bottom, 0.0, incomplete_deg=12.0, over_arch_deg=-25.0, drop_deg=12.0
    )


EXERCISES: dict[str, ExerciseMotion] = {
    m.name: m
    for m in (
        # Bridges: an incomplete lockout stops ~12 deg short of the line (a coach cues > 10),
        # over-arching goes to -25 deg (lumbar extension, not more glute: 10 deg beyond the
        # profiles' -15 deg cue, so noise and smoothing cannot hide it), hips sag 12 deg.
        _bridge_like("glute_bridge", "bilateral", _glute_bridge, BRIDGE_BOTTOM_DEG),
        _bridge_like("single_leg_bridge", "single", _single_leg_bridge, BRIDGE_BOTTOM_DEG),
        _bridge_like("hip_thrust", "bilateral", _hip_thrust, HIP_THRUST_BOTTOM_DEG),
        ExerciseMotion(
            "frog_pump",
            "bilateral",
            _frog_pump,
            FROG_BOTTOM_DEG,
            0.0,
            incomplete_deg=10.0,
            over_arch_deg=-25.0,
            drop_deg=8.0,
        ),
        ExerciseMotion(
            "standing_knee_raise",
            "alternating",
            _standing_knee_raise,
            0.0,
            90.0,
            incomplete_deg=70.0,
        ),
        ExerciseMotion(
            "seated_march", "alternating", _seated_march, SEATED_HIP_DEG, MARCH_PEAK_DEG
        ),
        ExerciseMotion(
            "lying_leg_raise",
            "bilateral",
            _lying_leg_raise,
            0.0,
            LEG_RAISE_PEAK_DEG,
            incomplete_deg=68.0,
        ),
        ExerciseMotion("romanian_deadlift", "bilateral", _romanian_deadlift, 0.0, RDL_HIP_DEG),
        ExerciseMotion("back_lunge", "alternating", _back_lunge, 0.0, 95.0),
        ExerciseMotion(
            "prone_leg_lift", "single", _prone_leg_lift, 0.0, PRONE_LIFT_DEG, drop_deg=5.0
        ),
        ExerciseMotion(
            "quadruped_hip_extension",
            "single",
            _quadruped_hip_extension,
            74.0,
            QUAD_PEAK_HIP_DEG,
            incomplete_deg=12.0,
            over_arch_deg=-28.0,
            drop_deg=12.0,
        ),
        ExerciseMotion("squat", "bilateral", _squat, 0.0, 100.0, negative=True),
        ExerciseMotion("pelvic_tilt", "bilateral", _pelvic_tilt, 50.0, 43.0, negative=True),
        ExerciseMotion("lying_still", "bilateral", _lying_still, 50.0, 49.0, negative=True),
        ExerciseMotion("get_down_and_up", "bilateral", _get_down_and_up, 0.0, 50.0, negative=True),
    )
}


def pose_at(shape: BodyShape, exercise: str, activation: float, side: str = "left") -> BodyState:
    """A single posture of an exercise (handy for tests and renderer previews)."""
    ex = _exercise(exercise)
    a = _activations(ex, activation, side)
    return ex.pose(shape, a, side)


def _exercise(name: str) -> ExerciseMotion:
    try:
        return EXERCISES[name]
    except KeyError:
        raise ValueError(f"no motion for exercise {name!r}; known: {sorted(EXERCISES)}") from None


def _activations(ex: ExerciseMotion, act: float, side: str) -> dict[str, float]:
    if ex.laterality == "bilateral":
        return {"left": act, "right": act}
    return {s: (act if s == side else 0.0) for s in SIDES}
