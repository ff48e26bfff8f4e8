"""Scripted exercise motions on the kinematic body, with the exact truth of every frame.

A `MotionScript` says what happens (reps with their tempo, depth, holds and deliberate mistakes);
`animate` turns it into a `Motion`: one `BodyState` per frame plus a `Truth` (per-frame phase, rep
index and hip angles; per-clip reps, partials, holds and the cues a coach would give).

Every exercise is driven by an *activation* per leg, a(t): 0 = the exercise's rest position,
1 = its full-range end position (the profile's "top": hips up in a bridge, knee up in a knee
raise, the hinge in a Romanian deadlift). Values above 1 overshoot (over-arching), a < 1 at the peak
is an incomplete rep. Between keyframes a(t) follows the rep's easing (`EASINGS`: cosine by
default, minimum-jerk, constant speed, or two shapes outside the core's fitted family: a
"trapezoid" velocity profile and an asymmetric ease), so holds are truly still and tempo is
exactly the script's. The easings are written out here, not imported from the core, so the
generator never shares the estimator's assumptions by construction.

Phases in the truth are named in activation terms: "bottom" (at rest), "rising" (rest -> peak),
"top" (at the peak, held), "lowering" (peak -> rest).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from posecheck.core.landmarks import Landmark
from posecheck.synthetic.kinematics import (
    BodyShape,
    BodyState,
    anchored,
    arm_flesh_radii,
    rest_arms_on_floor,
    rest_hands_on_floor,
    solve_bridge,
)

SIDES = ("left", "right")
PHASES = ("bottom", "rising", "top", "lowering")
MISTAKES = ("incomplete_lockout", "over_arch", "short_hold", "hips_drop", "fast_tempo")

# The cue rule (posecheck.core.profiles / cues) each deliberate mistake should trigger.
MISTAKE_RULES = {
    "incomplete_lockout": "incomplete_lockout",
    "over_arch": "over_arch",
    "short_hold": "hold_short",
    "hips_drop": "hips_drop",
    "fast_tempo": "tempo_fast",
}

# How a mistake changes a rep when the exercise gives no degrees of its own (activation units).
INCOMPLETE_LOCKOUT_PEAK = 0.75
OVER_ARCH_PEAK = 1.3
HIPS_DROP = 0.2  # fraction of the range lost, linearly, during the hold
SHORT_HOLD_S = 0.5


def _trapezoid(u: np.ndarray | float, ramp: float = 0.3) -> np.ndarray:
    """Constant acceleration for `ramp` of the time, constant speed, constant deceleration."""
    u = np.asarray(u, dtype=float)
    vmax = 1.0 / (1.0 - ramp)
    return np.where(
        u < ramp,
        vmax * u * u / (2 * ramp),
        np.where(u < 1 - ramp, vmax * (ramp / 2 + u - ramp), 1 - vmax * (1 - u) ** 2 / (2 * ramp)),
    )


def _min_jerk(u: np.ndarray | float) -> np.ndarray:
    u = np.asarray(u, dtype=float)
    return 10 * u**3 - 15 * u**4 + 6 * u**5


# How a movement goes from one keyframe to the next, u in [0, 1] -> fraction of the way.
# "asymmetric": fast away, long slow approach (minimum jerk on a warped clock, u ** 0.7).
EASINGS: dict[str, Callable[[np.ndarray | float], np.ndarray]] = {
    "cosine": lambda u: 0.5 - 0.5 * np.cos(np.pi * np.asarray(u, dtype=float)),
    "minimum_jerk": _min_jerk,
    "linear": lambda u: np.asarray(u, dtype=float),
    "trapezoid": _trapezoid,
    "asymmetric": lambda u: _min_jerk(np.asarray(u, dtype=float) ** 0.7),
}
FAST_TEMPO_S = 0.3  # per half rep: below every profile's tempo_fast minimum (>= 0.4 s)


@dataclass(frozen=True)
class RepSpec:
    """One repetition: rise for `up_s`, stay at the peak for `top_hold_s`, return in `down_s`.

    depth: peak activation as a fraction of the exercise's full range (1 = full).
    partial: the rep is *meant* to be a partial rep (truth: counted as partial, not as a rep).
    mistakes: names from `MISTAKES`; they alter the motion (see `effective`) and become expected
        cues in the truth.
    side: for alternating exercises, the working leg of this rep (None = alternate automatically).
    easing: how the rise and the return are eased (a key of `EASINGS`).
    """

    up_s: float = 1.0
    top_hold_s: float = 0.5
    down_s: float = 1.0
    depth: float = 1.0
    partial: bool = False
    mistakes: tuple[str, ...] = ()
    side: str | None = None
    easing: str = "cosine"

    def __post_init__(self) -> None:
        if self.easing not in EASINGS:
            raise ValueError(f"unknown easing {self.easing!r}; known: {sorted(EASINGS)}")
        unknown = set(self.mistakes) - set(MISTAKES)
        if unknown:
            raise ValueError(f"unknown mistakes {sorted(unknown)}; known: {MISTAKES}")
        if self.up_s <= 0 or self.down_s <= 0 or self.top_hold_s < 0:
            raise ValueError("up_s and down_s must be > 0, top_hold_s >= 0")
        if not 0.0 <= self.depth <= 1.5:
            raise ValueError("depth must be within 0..1.5")

    def peak(self, ex: ExerciseMotion | None = None) -> float:
        """Activation reached at the top, after mistakes (in `ex`'s degrees when it has them)."""
        peak = self.depth
        if "incomplete_lockout" in self.mistakes:
            peak = min(peak, ex.activation_of(ex.incomplete_deg) if ex else INCOMPLETE_LOCKOUT_PEAK)
        if "over_arch" in self.mistakes:
            peak = max(peak, ex.activation_of(ex.over_arch_deg) if ex else OVER_ARCH_PEAK)
        return peak

    def effective(self) -> RepSpec:
        """The rep as performed: tempo and hold shortened by the corresponding mistakes."""
        up, down, hold = self.up_s, self.down_s, self.top_hold_s
        if "fast_tempo" in self.mistakes:
            up, down = min(up, FAST_TEMPO_S), min(down, FAST_TEMPO_S)
        if "short_hold" in self.mistakes:
            hold = min(hold, SHORT_HOLD_S)
        return replace(self, up_s=up, down_s=down, top_hold_s=hold)

    @property
    def duration_s(self) -> float:
        e = self.effective()
        return e.up_s + e.top_hold_s + e.down_s


@dataclass(frozen=True)
class MotionScript:
    """What the synthetic person does.

    side: working leg for single-leg exercises ("left"/"right"); first leg for alternating ones;
        ignored for bilateral ones.
    """

    exercise: str
    reps: tuple[RepSpec, ...] | list[RepSpec] = ()
    rest_s: float = 0.8
    lead_in_s: float = 1.0
    lead_out_s: float = 1.0
    side: str = "left"

    @property
    def duration_s(self) -> float:
        reps = list(self.reps)
        return (
            self.lead_in_s
            + sum(r.duration_s for r in reps)
            + self.rest_s * max(len(reps) - 1, 0)
            + self.lead_out_s
        )


@dataclass(frozen=True)
class TruthRep:
    """One scripted repetition as performed (times in seconds from the clip start)."""

    index: int  # 1-based position in the script (full and partial reps together)
    side: str  # "left", "right" or "both"
    start_s: float  # leaves rest
    top_s: float  # reaches the peak (start of the hold)
    top_end_s: float  # leaves the peak
    end_s: float  # back at rest
    partial: bool
    peak_hip_deg: dict[str, float]  # hip flexion at the peak, per side
    mistakes: tuple[str, ...] = ()

    @property
    def hold_s(self) -> float:
        return self.top_end_s - self.top_s


@dataclass(frozen=True)
class Truth:
    """Exact labels of a generated motion."""

    exercise: str
    negative: bool  # the motion is not the exercise any profile should count
    t: np.ndarray  # (n,) seconds
    phase: tuple[str, ...]  # per frame, one of PHASES
    rep_index: np.ndarray  # (n,) int, 0 = between reps, else TruthRep.index
    partial: np.ndarray  # (n,) bool, frame belongs to a partial rep
    hip_flexion_deg: dict[str, np.ndarray]  # per side, (n,)
    knee_flexion_deg: dict[str, np.ndarray]
    trunk_pitch_deg: np.ndarray
    reps: tuple[TruthRep, ...] = ()

    @property
    def full_reps(self) -> tuple[TruthRep, ...]:
        return tuple(r for r in self.reps if not r.partial)

    @property
    def partials(self) -> tuple[TruthRep, ...]:
        return tuple(r for r in self.reps if r.partial)

    @property
    def rep_count(self) -> int:
        return len(self.full_reps)

    @property
    def partial_count(self) -> int:
        return len(self.partials)

    @property
    def side_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.full_reps:
            counts[r.side] = counts.get(r.side, 0) + 1
        return counts

    @property
    def holds(self) -> tuple[tuple[float, float], ...]:
        """(start_s, end_s) of every top of a full rep that lasts > 0 s (with "hips_drop" the
        hips sag slowly, well under any stillness threshold, so it still is a hold)."""
        return tuple((r.top_s, r.top_end_s) for r in self.full_reps if r.top_end_s > r.top_s)

    @property
    def expected_cues(self) -> tuple[tuple[int, str], ...]:
        """(rep index, cue rule name) for every deliberate mistake (see `MISTAKE_RULES`).

        Only deliberate mistakes: a hold shorter than a profile's target without the
        "short_hold" tag is not listed (compare `holds` with the target for that)."""
        return tuple((r.index, MISTAKE_RULES[m]) for r in self.reps for m in r.mistakes)


@dataclass(frozen=True)
class Motion:
    exercise: str
    times_s: np.ndarray
    states: list[BodyState]
    truth: Truth
    shape: BodyShape = field(default_factory=BodyShape)

    def __len__(self) -> int:
        return len(self.states)

    def turned(self, yaw_deg: float) -> Motion:
        """The same motion with the person rotated about the vertical (180 = facing the other
        way). Truth is unchanged: joint angles do not depend on where the body faces."""
        from posecheck.synthetic.kinematics import turned

        return replace(self, states=[turned(s, yaw_deg) for s in self.states])


# --------------------------------------------------------------------------------------------
# Exercise poses: activation per leg -> BodyState


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


# --------------------------------------------------------------------------------------------
# Timeline


@dataclass(frozen=True)
class _Segment:
    t0: float
    t1: float
    phase: str
    rep: int  # 0 = none
    side: str
    a0: float
    a1: float
    partial: bool
    linear: bool = False  # hips_drop: a slow linear sag instead of an eased move
    easing: str = "cosine"


def _rep_side(ex: ExerciseMotion, script: MotionScript, i: int, spec: RepSpec) -> str:
    if ex.laterality == "bilateral":
        return "both"
    if ex.laterality == "single" and script.side != "alternating":
        return script.side
    if spec.side is not None:
        return spec.side
    first = script.side if script.side in SIDES else "left"  # "alternating" starts left
    second = "right" if first == "left" else "left"
    return first if i % 2 == 0 else second


def _timeline(ex: ExerciseMotion, script: MotionScript) -> tuple[list[_Segment], list[TruthRep]]:
    segs: list[_Segment] = []
    reps: list[TruthRep] = []
    t = 0.0
    specs = list(script.reps)
    first_side = _rep_side(ex, script, 0, specs[0]) if specs else "both"
    segs.append(_Segment(t, t + script.lead_in_s, "bottom", 0, first_side, 0.0, 0.0, False))
    t += script.lead_in_s
    for i, spec in enumerate(specs):
        e = spec.effective()
        side = _rep_side(ex, script, i, spec)
        peak = spec.peak(ex)
        idx = i + 1
        start = t
        ease = spec.easing
        segs.append(
            _Segment(t, t + e.up_s, "rising", idx, side, 0.0, peak, spec.partial, easing=ease)
        )
        t += e.up_s
        top = t
        end_peak = peak - ex.drop if "hips_drop" in spec.mistakes else peak
        segs.append(
            _Segment(t, t + e.top_hold_s, "top", idx, side, peak, end_peak, spec.partial, True)
        )
        t += e.top_hold_s
        top_end = t
        segs.append(
            _Segment(
                t, t + e.down_s, "lowering", idx, side, end_peak, 0.0, spec.partial, easing=ease
            )
        )
        t += e.down_s
        reps.append(
            TruthRep(
                index=idx,
                side=side,
                start_s=start,
                top_s=top,
                top_end_s=top_end,
                end_s=t,
                partial=spec.partial,
                peak_hip_deg={},
                mistakes=tuple(spec.mistakes),
            )
        )
        rest = script.rest_s if i < len(specs) - 1 else script.lead_out_s
        segs.append(_Segment(t, t + rest, "bottom", 0, side, 0.0, 0.0, False))
        t += rest
    if not specs:
        segs.append(_Segment(t, t + script.lead_out_s, "bottom", 0, "both", 0.0, 0.0, False))
    return segs, reps


def _activation(seg: _Segment, t: float) -> float:
    span = seg.t1 - seg.t0
    u = 1.0 if span <= 0 else min(max((t - seg.t0) / span, 0.0), 1.0)
    if not seg.linear:
        u = float(EASINGS[seg.easing](u))
    return seg.a0 + (seg.a1 - seg.a0) * u


def animate(
    script: MotionScript,
    shape: BodyShape,
    fps: float,
    *,
    seed: int = 0,
    arm_radii: tuple[float, float] | None = None,
) -> Motion:
    """Sample the script at `fps` (regular clock from t = 0). `seed` drives small natural sway
    of the arms and head only (never the hips), so the truth stays exact.

    Lying arms rest on the floor (`kinematics.rest_arms_on_floor`) with the flesh radii
    `arm_radii` = (elbow, wrist) metres, default the renderer's for a body of girth 1
    (`kinematics.arm_flesh_radii`): landmark streams and rendered clips share one pose."""
    elbow_r, wrist_r = arm_radii if arm_radii is not None else arm_flesh_radii(shape.height_m)
    if not 1.0 <= fps <= 240.0:
        raise ValueError("fps must be within 1..240")
    ex = _exercise(script.exercise)
    segs, reps = _timeline(ex, script)
    total = segs[-1].t1
    n = max(int(np.floor(total * fps + 1e-6)) + 1, 1)  # 4.2 s * 10 fps = 41.99999...: 43 frames
    times = np.arange(n) / fps
    rng = np.random.default_rng(seed)
    sway_phase = rng.uniform(0, 2 * np.pi, size=2)
    sway_amp = rng.uniform(0.5, 2.0, size=2)

    states: list[BodyState] = []
    phases: list[str] = []
    rep_index = np.zeros(n, dtype=int)
    partial = np.zeros(n, dtype=bool)
    k = 0
    for i, t in enumerate(times):
        while k < len(segs) - 1 and t >= segs[k].t1:
            k += 1
        seg = segs[k]
        act = _activation(seg, t)
        if seg.side in SIDES:
            work_side = seg.side
            a = {s: (act if s == seg.side else 0.0) for s in SIDES}
        else:
            work_side = script.side if script.side in SIDES else "left"
            a = _activations(ex, act, work_side)
        state = ex.pose(shape, a, work_side)
        sway = sway_amp * np.sin(2 * np.pi * 0.23 * t + sway_phase)
        state = state.with_(
            elbow_flexion_deg={
                s: state.elbow_flexion_deg[s] + abs(float(sway[j])) for j, s in enumerate(SIDES)
            },
        )
        state = rest_arms_on_floor(shape, state, elbow_r, wrist_r)
        state = rest_hands_on_floor(shape, state, wrist_r)
        states.append(state)
        phases.append(seg.phase)
        rep_index[i] = seg.rep
        partial[i] = seg.partial

    hip = {s: np.array([st.hip_flexion_deg[s] for st in states]) for s in SIDES}
    knee = {s: np.array([st.knee_flexion_deg[s] for st in states]) for s in SIDES}
    pitch = np.array([st.trunk_pitch_deg for st in states])
    # Peak hip angle per rep, from the exact state at the top time.
    done: list[TruthRep] = []
    for r in reps:
        seg = next(s for s in segs if s.rep == r.index and s.phase == "rising")
        a = {x: (seg.a1 if r.side in (x, "both") else 0.0) for x in SIDES}
        if ex.laterality == "bilateral":
            a = {"left": seg.a1, "right": seg.a1}
        st = ex.pose(shape, a, r.side if r.side in SIDES else script.side)
        done.append(replace(r, peak_hip_deg=dict(st.hip_flexion_deg)))
    if ex.negative:
        done = []
        rep_index[:] = 0
        partial[:] = False
    truth = Truth(
        exercise=script.exercise,
        negative=ex.negative,
        t=times,
        phase=tuple(phases),
        rep_index=rep_index,
        partial=partial,
        hip_flexion_deg=hip,
        knee_flexion_deg=knee,
        trunk_pitch_deg=pitch,
        reps=tuple(done),
    )
    return Motion(script.exercise, times, states, truth, shape)


def bridge_script(
    reps: int = 5,
    *,
    hold_s: float = 2.0,
    up_s: float = 1.0,
    down_s: float = 1.0,
    rest_s: float = 0.8,
    exercise: str = "glute_bridge",
) -> MotionScript:
    """A plain set of identical full reps (the common test case)."""
    spec = RepSpec(up_s=up_s, top_hold_s=hold_s, down_s=down_s)
    return MotionScript(exercise=exercise, reps=tuple([spec] * reps), rest_s=rest_s)
