"""The per-frame core that `analyse`, `batch`, `routine` and `live` all run: pose in, result out.

    PoseFrame -> geometry (measure) -> side selection -> smoothing / gap bridging
              -> sides blended (a new selection fades in over 2 s: no step in the signal)
              -> position class + movement direction -> posture check -> counter(s) -> cues

One `SessionAnalyzer` per set. It holds all state (facing, side choice, filters, counters), so
the same object serves a file read at any speed and a live camera; `summary()` can be asked at
any time and does not disturb the running set.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from posecheck.core.coaching import CueBoard
from posecheck.core.counter import (
    CounterStep,
    RepCounter,
    RepFeatures,
    RepIndex,
    SlopeEstimator,
)
from posecheck.core.cues import evaluate_live, evaluate_rep, evaluate_set, validate_rules
from posecheck.core.geometry import (
    FacingTracker,
    SideBlend,
    SideSelector,
    knee_flexion_2d,
    measure,
)
from posecheck.core.landmarks import Landmark, PoseFrame
from posecheck.core.legs import LegGuard
from posecheck.core.posture import classify_posture_3d
from posecheck.core.profiles import ExerciseProfile, get_profile
from posecheck.core.results import (
    BodyMeasures,
    Cue,
    Direction,
    Event,
    EventKind,
    FrameResult,
    Hold,
    Phase,
    Position,
    Rep,
    SetSummary,
    Severity,
)
from posecheck.core.smoothing import (  # JumpGate lived here: importers of it still work
    JumpGate,
    SignalSmoother,
)
from posecheck.core.view import ViewBlend, blend

SIDES = ("left", "right")
ONE_LEG_HIP_SIGNALS = ("hip_flexion_min", "hip_flexion_max", "hip_flexion_planted")
NAN = float("nan")
POSTURE_SETTLE_MS = 150.0  # a matching posture must hold this long before counting resumes
WRONG_POSTURE_SHOW_MS = 500.0  # a posture must mismatch this long before it is called wrong
SHORT_CUE_EVERY_MS = 10_000.0  # "no rep yet" is said at most this often
PLANTED_KNEE_DEG = 40.0  # a knee straighter than this may be a free leg's...
FREE_KNEE_MARGIN_DEG = 40.0  # ...when it is this much straighter than the other knee
PLANTED_SWITCH_MS = 300.0  # the planted leg changes only after this long of consistent votes


def planted_leg_vote(hip: dict[str, float], knee: dict[str, float]) -> str | None:
    """Which leg looks planted in one frame: the less flexed hip, unless that leg is clearly
    the straight free leg (knee straight while the other is well bent). None when unknown.

    A one-leg bridge is a bridge of the pelvis over the planted foot: the free leg is raised
    (straight or bent), hugged or crossed, so its hip is the more flexed one. The exception is
    a straight free leg still lying on the floor, whose hip reads less flexed than the planted
    leg's. A heel bridge plants an almost straight leg (knee ~25°), so a straight knee alone
    does not make a leg free: it must be much straighter than the other.
    """
    known = [s for s in SIDES if math.isfinite(hip.get(s, NAN))]
    if not known:
        return None

    def free(s: str) -> bool:
        other = "right" if s == "left" else "left"
        k, ko = knee.get(s, NAN), knee.get(other, NAN)
        return (
            math.isfinite(k)
            and math.isfinite(ko)
            and k < PLANTED_KNEE_DEG
            and ko - k >= FREE_KNEE_MARGIN_DEG
        )

    pool = [s for s in known if not free(s)] or known
    return min(pool, key=lambda s: hip[s])


class PlantedLeg:
    """The planted leg of a one-leg exercise, stable over time: it changes only after the
    per-frame vote has named the other leg for `PLANTED_SWITCH_MS` (no flicker mid-rep)."""

    def __init__(self, switch_ms: float = PLANTED_SWITCH_MS) -> None:
        self.switch_ms = switch_ms
        self.current: str | None = None
        self._other_since: float | None = None

    def update(self, t_ms: float, hip: dict[str, float], knee: dict[str, float]) -> str | None:
        vote = planted_leg_vote(hip, knee)
        if vote is None or vote == self.current:
            self._other_since = None
        elif self.current is None:
            self.current = vote
        elif self._other_since is None:
            self._other_since = t_ms
        elif t_ms - self._other_since >= self.switch_ms:
            self.current, self._other_since = vote, None
        return self.current


def hip_spread_ratio(pose: PoseFrame) -> float:
    """How far apart the hips lie in the image, in thigh lengths (NaN without a pose): side
    views read ~0-0.2 (perspective), a front view ~0.45 (hip width / thigh)."""
    xy = pose.image_xy
    if xy is None:
        return NAN
    spread = float(np.linalg.norm(xy[Landmark.LEFT_HIP] - xy[Landmark.RIGHT_HIP]))
    thigh = max(
        float(np.linalg.norm(xy[k] - xy[h]))
        for h, k in (
            (Landmark.LEFT_HIP, Landmark.LEFT_KNEE),
            (Landmark.RIGHT_HIP, Landmark.RIGHT_KNEE),
        )
    )
    return spread / thigh if thigh > 0 else NAN


def _pick(values: Sequence[float], how: str) -> float:
    vals = [v for v in values if math.isfinite(v)]
    if not vals:
        return NAN
    return min(vals) if how == "min" else max(vals) if how == "max" else sum(vals) / len(vals)


class SessionAnalyzer:
    """Analyses one set of one exercise, frame by frame."""

    def __init__(
        self,
        profile: ExerciseProfile | str,
        *,
        angle_source: str = "auto",
        smoother_factory: Callable[[], SignalSmoother] = SignalSmoother,
    ) -> None:
        self.profile = get_profile(profile)
        validate_rules(self.profile)
        if angle_source not in ("auto", "2d", "3d"):
            raise ValueError("angle_source must be auto, 2d or 3d")
        self.angle_source = angle_source
        self.smoother_factory = smoother_factory
        self.reset()

    def reset(self) -> None:
        """Forget everything: a new set starts."""
        prof = self.profile
        self._facing = FacingTracker()
        self._legs = LegGuard()
        self.legs_swapped = 0  # frames whose legs the guard exchanged back
        self.legs_merged = 0  # frames whose leg readings it dropped (the model merged the legs)
        self._selector = SideSelector()
        self._view = ViewBlend()
        self._blend = SideBlend()
        self._filters = {
            f"{kind}_{s}": self.smoother_factory() for kind in ("hip", "knee") for s in SIDES
        }
        self._gates = {f"{kind}_{s}": JumpGate() for kind in ("hip", "knee") for s in SIDES}
        self._hip_slope = SlopeEstimator()
        self._planted = PlantedLeg()
        self.index = RepIndex()
        if prof.laterality == "per_leg":
            self.counters = {s: RepCounter(prof, side=s, index=self.index) for s in SIDES}
        else:
            side = "both" if prof.laterality == "bilateral" else "unknown"
            self.counters = {side: RepCounter(prof, side=side, index=self.index)}
        self._reps: list[Rep] = []
        self._partials: list[Rep] = []
        self._cues: list[Cue] = []
        self._board = CueBoard()
        self._attempt: int | None = None  # the movement under way
        self._hold_shown = 0.0  # the hold figure on show (see FrameResult.hold_elapsed_s)
        self._fell_short = 0.0  # widest movement that fell short of a rep, while none counted
        self._short_told_ms = -math.inf
        self._mismatch_since: float | None = None
        self._frames = 0
        self._with_pose = 0
        self._sides_used: Counter[str] = Counter()
        self._was_present: bool | None = None
        self._posture_ok_since: float | None = None
        # frames of a matching posture that has not settled yet: counted once it has
        self._held_back: list[tuple[float, dict[str, dict[str, Any]]]] = []
        self._last_t = NAN
        self._planted_side: str | None = None

    # ------------------------------------------------------------------------------ per frame

    def update(self, pose: PoseFrame) -> FrameResult:
        """Analyse one frame (frames must come in timestamp order)."""
        prof = self.profile
        t = pose.timestamp_ms
        self._frames += 1
        self._last_t = t
        events: list[Event] = []
        present = pose.present
        if present:
            self._with_pose += 1
        if self._was_present is not None and present != self._was_present:
            events.append(Event(EventKind.POSE_FOUND if present else EventKind.POSE_LOST, t))
        self._was_present = present

        measures: BodyMeasures | None = None
        side_used: str | None = None
        raw_hip = {s: NAN for s in SIDES}
        raw_knee = {s: NAN for s in SIDES}
        merged = False
        if present:
            check = self._legs.check(pose)
            pose, merged = check.pose, check.merged
            self.legs_swapped += check.swapped
            self.legs_merged += merged
            hint = self._facing.update(pose)
            measures = measure(pose, facing_hint=hint)
            side_used = self._selector.update(pose, measures)
            self._sides_used[side_used] += 1
            w3d = self._view_weight(pose)
            if w3d >= 0.5:  # a front view: the image cannot tell a body lying towards us
                posture_3d = classify_posture_3d(pose)
                if posture_3d != "unknown":
                    measures = replace(measures, posture=posture_3d)
            raw_hip = self._hip_angles(measures, w3d)
            raw_knee = self._knee_angles(pose, measures, w3d)
            if merged:  # both legs at their midpoint: no angle of either leg is measured
                raw_hip, raw_knee = {s: NAN for s in SIDES}, {s: NAN for s in SIDES}
            raw_hip, raw_knee = self._gate(t, raw_hip, raw_knee)
        hip: dict[str, float] = {}
        knee: dict[str, float] = {}
        measured: dict[str, float] = {}  # smoothed, NaN where only bridged
        measured_knee: dict[str, float] = {}
        bridged_any = False
        for s in SIDES:
            h = self._filters[f"hip_{s}"].update(t, raw_hip[s])
            k = self._filters[f"knee_{s}"].update(t, raw_knee[s])
            hip[s], knee[s] = h.value, k.value
            measured[s] = NAN if h.bridged else h.value
            measured_knee[s] = NAN if k.bridged else k.value
            bridged_any = bridged_any or h.bridged
        self._blend.update(t, side_used or self._selector.current or "both")
        hip_used = self._blend.combine(hip)
        knee_used = self._blend.combine(knee)

        planted = self._planted.update(t, measured, measured_knee) if present else None
        self._planted_side = planted
        v_hip = self._hip_slope.update(t, hip_used) if math.isfinite(hip_used) else NAN
        position = self._position(hip_used)
        direction = self._direction(v_hip)
        posture_ok = self._posture_ok(t, measures, knee)
        posture_wrong = self._posture_wrong(t, measures, posture_ok)

        extras = {
            "knee_flexion": knee_used,
            "asymmetry": measures.asymmetry_deg if measures is not None else NAN,
            "pelvis_height": measures.pelvis_height if measures is not None else NAN,
            "hip_left": hip["left"],
            "hip_right": hip["right"],
            "planted_right": NAN if planted is None else float(planted == "right"),
        }
        # The counter sees measured values only: it rides out short gaps itself (and a bridged,
        # held value would put flat steps into the movements it times).
        inputs: dict[str, dict[str, Any]] = {}
        for key in self.counters:
            if key in SIDES:
                value, leg_hip, raw = measured[key], measured[key], raw_hip[key]
                leg_extras = {**extras, "knee_flexion": knee[key]}
            else:
                m_used = self._blend.combine(measured)
                value = self._primary(measured, measured_knee, m_used)
                raw = self._primary(raw_hip, raw_knee, self._blend.combine(raw_hip))
                # a one-leg signal is the working leg's hip: its peak is the rep's (lockout and
                # over-arch cues judge that leg, not whichever side is better seen)
                leg_hip = value if prof.signal in ONE_LEG_HIP_SIGNALS else m_used
                leg_extras = extras
            inputs[key] = {
                "value": value,
                "present": present and math.isfinite(value),
                "hip": leg_hip,
                "extras": leg_extras,
                "raw": raw,
            }
        steps: dict[str, CounterStep] = {}
        settling = measures is not None and not posture_ok and self._posture_ok_since is not None
        if settling:
            # A matching posture is not trusted until it has held for POSTURE_SETTLE_MS; once it
            # has, it was right from its start, so these frames are held back and then counted
            # (a rep that begins right after a cut or after lying down is not lost).
            self._held_back.append((t, inputs))
        else:
            for t_back, held in self._held_back:
                self._feed(t_back, held, posture_ok, events)
            self._held_back.clear()
            steps = self._feed(t, inputs, posture_ok, events)
        if prof.laterality == "per_leg":  # the leg further towards its top drives the display
            primary = _pick([prof.progress(hip[s]) for s in SIDES], "max")
            primary = prof.progress(primary) if math.isfinite(primary) else NAN
        else:
            primary = self._primary(hip, knee, hip_used)

        phase = self._combined_phase([s.phase for s in steps.values()], present, posture_wrong)
        holding = any(s.holding for s in steps.values())
        in_rep = [s for s in steps.values() if s.rep_in_progress]
        if in_rep:
            self._hold_shown = max(s.hold_elapsed_s for s in in_rep)
        in_progress = [s.rep_in_progress for s in in_rep]
        return FrameResult(
            index=pose.index,
            t_ms=t,
            pose_present=present,
            side_used=side_used,
            measures=measures,
            hip_smoothed_deg=dict(hip),
            primary_deg=primary,
            bridged=bool(bridged_any and not present),
            position=position,
            direction=direction,
            phase=phase,
            posture_ok=posture_ok,
            posture_wrong=posture_wrong,
            rep_count=sum(c.rep_count for c in self.counters.values()),
            partial_count=sum(c.partial_count for c in self.counters.values()),
            side_counts=self._live_side_counts(),
            rep_in_progress=min(in_progress) if in_progress else None,
            holding=holding,
            hold_elapsed_s=self._hold_shown,
            hold_target_s=prof.hold_target_s,
            events=tuple(sorted(events, key=lambda e: e.t_ms)),
            latest_cue=self._board.shown(t),
            attempt=self._attempt if in_rep else None,
            working_side=self._working_side(side_used, hip, steps),
        )

    def _feed(
        self, t: float, inputs: dict[str, dict[str, Any]], posture_ok: bool, events: list[Event]
    ) -> dict[str, CounterStep]:
        """One frame into every counter; collects their events and accepts finished reps."""
        steps = {}
        for key, counter in self.counters.items():
            args = inputs[key]
            step = counter.update(
                t,
                args["value"],
                present=args["present"],
                posture_ok=posture_ok,
                hip=args["hip"],
                extras=args["extras"],
                raw=args["raw"],
            )
            steps[key] = step
            events.extend(step.events)
            for feats in step.finished:
                events.extend(self._accept(feats, t))
            if step.so_far is not None:
                events.extend(self._during_rep(step, t))
            if step.fell_short_deg is not None:
                events.extend(self._fell_short_of_rep(step.fell_short_deg, t))
        return steps

    def _during_rep(self, step: CounterStep, t: float) -> list[Event]:
        """A movement under way: earlier remarks leave the screen, in-rep rules judge it."""
        so_far = step.so_far
        assert so_far is not None
        if self._attempt is None or so_far.attempt > self._attempt:
            self._attempt = so_far.attempt
            self._hold_shown = 0.0
            self._board.attempt_started(so_far.attempt)
        fired = evaluate_live(self.profile, so_far, t)
        shown = self._board.during_rep(fired, t)
        return [Event(EventKind.CUE, t, step.rep_in_progress, None, c.message) for c in shown]

    def _fell_short_of_rep(self, range_deg: float, t: float) -> list[Event]:
        """A movement that was no rep, while none has counted yet: say what a rep asks for."""
        if self._reps or self._partials or any(c.in_rep for c in self.counters.values()):
            return []
        self._fell_short = max(self._fell_short, range_deg)
        cue = self._short_cue(range_deg, t)
        if t - self._short_told_ms < SHORT_CUE_EVERY_MS or not self._board.about_the_set(cue, t):
            return []
        self._short_told_ms = t
        return [Event(EventKind.CUE, t, None, None, cue.message)]

    def _short_cue(self, range_deg: float, t: float) -> Cue:
        prof = self.profile
        what = prof.full_rep_cue or f"go further, to a full {prof.title.lower()}"
        return Cue(
            "no_rep",
            f"No rep yet: {what} (moved {range_deg:.0f}°, a rep needs {prof.min_rom_deg:.0f}°)",
            Severity.WARNING,
            t,
            None,
            range_deg,
        )

    # ------------------------------------------------------------------------------ the set

    def summary(self) -> SetSummary:
        """The set so far, including a last rep still at the top (does not change state)."""
        reps = list(self._reps)
        partials = list(self._partials)
        cues = list(self._cues)
        unfinished: Rep | None = None
        for counter in self.counters.values():
            all_reps, all_partials = counter.snapshot()
            done = len(counter.reps), len(counter.partials)
            for feats in all_reps[done[0] :]:
                rep = self._finish_rep(feats)
                reps.append(rep)
                cues.extend(rep.cues)
            for feats in all_partials[done[1] :]:
                rep = self._finish_rep(feats)
                partials.append(rep)
                cues.extend(rep.cues)
            feats = counter.unfinished()
            later = unfinished is None or (feats and feats.rep.start_ms > unfinished.start_ms)
            if feats is not None and later:
                unfinished = self._finish_rep(feats)
        reps.sort(key=lambda r: r.start_ms)
        partials.sort(key=lambda r: r.start_ms)
        t_end = self._last_t if self._frames else 0.0
        cues.extend(evaluate_set(self.profile, reps, t_end))
        if not reps and not partials and self._fell_short > 0:
            cues.append(self._short_cue(self._fell_short, t_end))
        holds = tuple(r.hold for r in reps if r.hold is not None)
        return SetSummary(
            exercise=self.profile.name,
            reps=tuple(reps),
            partials=tuple(partials),
            holds=holds,
            cues=tuple(cues),
            side_counts=self._side_counts(reps),
            frames=self._frames,
            frames_with_pose=self._with_pose,
            side_used=self._sides_used.most_common(1)[0][0] if self._sides_used else None,
            unfinished=unfinished,
        )

    # ------------------------------------------------------------------------------ helpers

    def _gate(
        self, t: float, hip: dict[str, float], knee: dict[str, float]
    ) -> tuple[dict[str, float], dict[str, float]]:
        """Glitch gate: when any hip or knee angle jumps impossibly fast the whole frame's
        angles are dropped (a misplaced limb usually drags the shared hip landmarks too)."""
        gated = {
            f"{kind}_{s}": self._gates[f"{kind}_{s}"].update(t, src[s])
            for kind, src in (("hip", hip), ("knee", knee))
            for s in SIDES
        }
        raw = {**{f"hip_{s}": hip[s] for s in SIDES}, **{f"knee_{s}": knee[s] for s in SIDES}}
        if any(math.isfinite(raw[k]) and not math.isfinite(v) for k, v in gated.items()):
            return {s: NAN for s in SIDES}, {s: NAN for s in SIDES}
        return hip, knee

    def _view_weight(self, pose: PoseFrame) -> float:
        """The world-landmark angles' weight in this frame's signal (see `core.view`)."""
        src = self.angle_source
        if src != "auto":
            return float(src == "3d")
        return self._view.update(pose.timestamp_ms, hip_spread_ratio(pose))

    @staticmethod
    def _hip_angles(m: BodyMeasures, w3d: float) -> dict[str, float]:
        return {s: blend(m.hip_flexion_deg[s], m.hip_flexion_3d_deg[s], w3d) for s in SIDES}

    @staticmethod
    def _knee_angles(pose: PoseFrame, m: BodyMeasures, w3d: float) -> dict[str, float]:
        """Knee flexion from the same view choice as the hip: in a side view the image angle
        (BlazePose's world knee reads a straight standing knee as ≈35-45° bent), in a front view
        the world angle (the image foreshortens a knee bending towards the camera)."""
        return {s: blend(knee_flexion_2d(pose, s), m.knee_flexion_deg[s], w3d) for s in SIDES}

    def _primary(self, hip: dict[str, float], knee: dict[str, float], hip_used: float) -> float:
        sig = self.profile.signal
        if sig == "hip_flexion":
            return hip_used
        if sig == "hip_flexion_min":
            return _pick(list(hip.values()), "min")
        if sig == "hip_flexion_max":
            return _pick(list(hip.values()), "max")
        if sig == "knee_flexion_min":
            return _pick(list(knee.values()), "min")
        if sig == "hip_flexion_planted":
            side = self._planted_side
            return hip.get(side, NAN) if side is not None else _pick(list(hip.values()), "min")
        return NAN

    def _position(self, hip: float) -> Position:
        if not math.isfinite(hip):
            return Position.UNKNOWN
        ext, flex = self.profile.position_deg
        if hip < ext:
            return Position.EXTENDED
        if hip > flex:
            return Position.FLEXED
        return Position.NEUTRAL

    def _direction(self, v: float) -> Direction:
        if not math.isfinite(v):
            return Direction.UNKNOWN
        thr = self.profile.hold_still_deg_s
        if v > thr:
            return Direction.FLEXING
        if v < -thr:
            return Direction.EXTENDING
        return Direction.STILL

    def _posture_ok(self, t: float, m: BodyMeasures | None, knee: dict[str, float]) -> bool:
        prof = self.profile
        ok = m is not None and m.posture in prof.postures
        if ok and prof.knee_gate_deg is not None:
            k = _pick(list(knee.values()), "max")
            lo, hi = prof.knee_gate_deg
            ok = math.isfinite(k) and lo <= k <= hi
        if m is None:  # no pose: the counter handles the gap; keep the last verdict
            return self._posture_ok_since is not None
        if not ok:
            self._posture_ok_since = None
            return False
        if self._posture_ok_since is None:
            self._posture_ok_since = t
        return t - self._posture_ok_since >= POSTURE_SETTLE_MS

    def _posture_wrong(self, t: float, m: BodyMeasures | None, posture_ok: bool) -> bool:
        """Say "wrong posture" only on evidence: a mismatch seen for WRONG_POSTURE_SHOW_MS
        (the first frames of a correct start, still settling, are not wrong)."""
        if m is None:  # no pose: keep the last verdict
            return self._mismatch_since is not None and t - self._mismatch_since >= (
                WRONG_POSTURE_SHOW_MS
            )
        if posture_ok or self._posture_ok_since is not None:
            self._mismatch_since = None
            return False
        if self._mismatch_since is None:
            self._mismatch_since = t
        return t - self._mismatch_since >= WRONG_POSTURE_SHOW_MS

    def _working_side(
        self, side_used: str | None, hip: dict[str, float], steps: dict[str, CounterStep]
    ) -> str | None:
        """The leg whose angle to show: on exercises done a leg at a time, the working leg."""
        prof = self.profile
        if prof.laterality == "per_leg":
            moving = [k for k, s in steps.items() if s.rep_in_progress and k in SIDES]
            if moving:
                return moving[0]
            known = [s for s in SIDES if math.isfinite(hip[s])]
            return max(known, key=lambda s: prof.progress(hip[s])) if known else side_used
        if prof.signal == "hip_flexion_planted":
            return self._planted_side or side_used
        if prof.signal in ("hip_flexion_min", "hip_flexion_max"):
            known = [s for s in SIDES if math.isfinite(hip[s])]
            pick = min if prof.signal == "hip_flexion_min" else max
            return pick(known, key=lambda s: hip[s]) if known else side_used
        return side_used

    @staticmethod
    def _combined_phase(phases: list[Phase], present: bool, posture_wrong: bool) -> Phase:
        if not present and all(p is Phase.NO_POSE for p in phases):
            return Phase.NO_POSE
        if present and posture_wrong:
            return Phase.WRONG_POSTURE
        phases = [Phase.REST if p is Phase.WRONG_POSTURE else p for p in phases]
        order = (Phase.HOLD, Phase.TOP, Phase.CONCENTRIC, Phase.ECCENTRIC, Phase.REST)
        for p in order:
            if p in phases:
                return p
        return phases[0] if phases else Phase.REST

    def _attribute_side(self, feats: RepFeatures) -> str:
        prof = self.profile
        rep = feats.rep
        if rep.side in SIDES or prof.laterality != "one_leg":
            return rep.side
        if prof.side_by == "planted":
            right = feats.at_peak.get("planted_right", NAN)
            return "unknown" if not math.isfinite(right) else "right" if right else "left"
        left, right = feats.at_peak.get("hip_left", NAN), feats.at_peak.get("hip_right", NAN)
        if not (math.isfinite(left) and math.isfinite(right)):
            return "unknown"
        lower = "left" if left < right else "right"
        if prof.side_by == "hip_min":
            return lower
        return "right" if lower == "left" else "left"

    def _finish_rep(self, feats: RepFeatures) -> Rep:
        side = self._attribute_side(feats)
        cues = self._board.with_told_times(evaluate_rep(self.profile, feats), feats.attempt)
        rep = replace(feats.rep, side=side, cues=cues)
        if rep.hold is not None and rep.hold.rep_index != rep.index:
            rep = replace(
                rep, hold=Hold(rep.index, rep.hold.start_ms, rep.hold.end_ms, rep.hold.target_s)
            )
        return rep

    def _accept(self, feats: RepFeatures, t: float) -> list[Event]:
        """A rep is final: record it, show its worst remark and its hold as the report has it."""
        rep = self._finish_rep(feats)
        (self._partials if rep.partial else self._reps).append(rep)
        self._cues.extend(rep.cues)
        newest = self._attempt is None or feats.attempt >= self._attempt
        if newest and not rep.partial:
            self._hold_shown = rep.hold.duration_s if rep.hold is not None else 0.0
        fresh = self._board.rep_over(rep.cues, feats.attempt, t)
        return [Event(EventKind.CUE, t, rep.index, rep.side, c.message) for c in fresh]

    def _side_counts(self, reps: Sequence[Rep]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in reps:
            counts[r.side] = counts.get(r.side, 0) + 1
        return counts

    def _live_side_counts(self) -> dict[str, int]:
        if self.profile.laterality == "per_leg":
            return {s: self.counters[s].rep_count for s in SIDES}
        if self.profile.laterality == "bilateral":
            return {"both": sum(c.rep_count for c in self.counters.values())}
        counts = self._side_counts(self._reps)
        settled = sum(counts.values())
        total = sum(c.rep_count for c in self.counters.values())
        if total > settled:
            counts["unknown"] = counts.get("unknown", 0) + total - settled
        return counts


def analyse_poses(
    poses: Iterable[PoseFrame], profile: ExerciseProfile | str, **kwargs: object
) -> tuple[list[FrameResult], SetSummary]:
    """Offline helper: run a whole sequence of poses through one analyzer."""
    analyzer = SessionAnalyzer(profile, **kwargs)  # type: ignore[arg-type]
    results = [analyzer.update(p) for p in poses]
    return results, analyzer.summary()
