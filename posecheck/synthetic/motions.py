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

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from posecheck.synthetic import poses as _poses
from posecheck.synthetic.kinematics import (
    BodyShape,
    BodyState,
    arm_flesh_radii,
    rest_arms_on_floor,
    rest_hands_on_floor,
)
from posecheck.synthetic.poses import SIDES, ExerciseMotion, _activations, _exercise

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


def __getattr__(name: str) -> Any:
    """The exercise poses moved to `poses` (EXERCISES, pose_at, ...); their old names resolve."""
    if not name.startswith("_") and hasattr(_poses, name):
        return getattr(_poses, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
