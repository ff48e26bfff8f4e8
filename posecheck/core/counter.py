"""The rep/hold state machine, driven by one smoothed signal and the frame timestamps.

It knows nothing about landmarks: the analyzer feeds it the profile's primary signal (degrees),
whether a pose was present and whether the posture matches. Keeping it a plain-signal machine is
what lets the tests drive it exactly.

States (on `progress = profile.direction * value`, so the top is always "up"):

    UNARMED --(in rest zone)--> REST --(leaves rest by hysteresis)--> CONCENTRIC
    CONCENTRIC --(reaches top zone)--> TOP   |  --(back in rest)--> REST (+ partial if big enough)
    TOP --(leaves top by hysteresis)--> ECCENTRIC --(back in top)--> TOP (same rep)
    ECCENTRIC --(back in rest)--> REST (+ rep completed)

A rep therefore counts once, on its return to rest; jitter at either boundary can only move it
between neighbouring states of the same rep. After the pose is lost for long or the posture
changes, a rep in progress is dropped and the machine is UNARMED until it sees rest again, so a
person who starts (or reappears) at the top is not credited a rep they did not perform.

Holds are the still part of the top: |angular velocity| under the profile's threshold, the
velocity being a least-squares slope over a short trailing window, time-stamped at the window's
centre so the estimator's delay is removed. Times are interpolated between frames where a
threshold is crossed, so they do not depend on the frame rate.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

from posecheck.core.profiles import ExerciseProfile, get_profile
from posecheck.core.results import Event, EventKind, Hold, Phase, Rep


class _State(Enum):
    UNARMED = "unarmed"
    REST = "rest"
    CONCENTRIC = "concentric"
    TOP = "top"
    ECCENTRIC = "eccentric"


_IN_REP = (_State.CONCENTRIC, _State.TOP, _State.ECCENTRIC)


class SlopeEstimator:
    """Least-squares slope (units per second) over a trailing time window.

    Robust to uneven frame spacing and dropped frames; its estimate refers to the centre of the
    samples it used, which `centre_ms` reports so callers can remove the delay.
    """

    def __init__(self, window_ms: float = 160.0, min_samples: int = 3) -> None:
        self.window_ms = window_ms
        self.min_samples = min_samples
        self._buf: deque[tuple[float, float]] = deque()

    def reset(self) -> None:
        self._buf.clear()

    def update(self, t_ms: float, value: float) -> float:
        """Add a sample and return the current slope (NaN until enough samples)."""
        if not math.isfinite(value):
            return math.nan
        self._buf.append((t_ms, value))
        # keep the window, but never fewer than min_samples (low frame rates)
        while len(self._buf) > self.min_samples and t_ms - self._buf[1][0] >= self.window_ms:
            self._buf.popleft()
        return self.slope

    @property
    def slope(self) -> float:
        n = len(self._buf)
        if n < 2:
            return math.nan
        tm = sum(t for t, _ in self._buf) / n
        vm = sum(v for _, v in self._buf) / n
        num = sum((t - tm) * (v - vm) for t, v in self._buf)
        den = sum((t - tm) ** 2 for t, _ in self._buf)
        return num / den * 1000.0 if den > 0 else math.nan

    @property
    def centre_ms(self) -> float:
        if not self._buf:
            return math.nan
        return sum(t for t, _ in self._buf) / len(self._buf)


@dataclass(frozen=True)
class RepFeatures:
    """Everything measured about one rep: the `Rep` record plus what the cue rules read."""

    rep: Rep
    progress_peak: float  # peak of the progress signal (direction * signal)
    hold_drop_deg: float  # how far the progress signal sank from start to end of the hold
    top_means: Mapping[str, float]  # mean of each extra signal while in the top zone
    at_peak: Mapping[str, float]  # each extra signal at the peak
    hold_target_s: float


@dataclass(frozen=True)
class CounterStep:
    """What one `RepCounter.update` produced."""

    t_ms: float
    phase: Phase
    events: tuple[Event, ...]
    rep_count: int
    partial_count: int
    rep_in_progress: int | None
    holding: bool
    hold_elapsed_s: float
    velocity_deg_s: float  # of the signal, NaN when unknown
    finished: tuple[RepFeatures, ...] = ()  # reps (full or partial) that ended on this step


class RepIndex:
    """Shared 1-based numbering, so per-leg counters number one set's reps in time order."""

    def __init__(self) -> None:
        self.reps = 0
        self.partials = 0

    def next_rep(self) -> int:
        self.reps += 1
        return self.reps

    def next_partial(self) -> int:
        self.partials += 1
        return self.partials


@dataclass
class _Sample:
    t: float
    p: float  # progress
    hip: float
    v_hip: float
    extras: Mapping[str, float]
    state: _State


@dataclass
class _RepInProgress:
    start_ms: float
    bottom_p: float
    samples: list[_Sample] = field(default_factory=list)
    reached_top: bool = False
    top_entry_ms: float = math.nan
    top_exit_ms: float = math.nan
    holds: list[tuple[float, float]] = field(default_factory=list)
    hold_start: float | None = None
    target_met: bool = False


def _cross(t0: float, v0: float, t1: float, v1: float, level: float) -> float:
    """Time at which a linear segment (t0,v0)-(t1,v1) crosses `level` (clamped to the segment)."""
    if not (math.isfinite(v0) and math.isfinite(v1)) or v1 == v0:
        return t1
    frac = (level - v0) / (v1 - v0)
    return t0 + min(1.0, max(0.0, frac)) * (t1 - t0)


class RepCounter:
    """Counts reps and times holds of one profile on one signal (one leg, or both together)."""

    def __init__(
        self,
        profile: ExerciseProfile | str,
        *,
        side: str = "both",
        index: RepIndex | None = None,
        velocity_window_ms: float = 160.0,
        hold_merge_gap_ms: float = 250.0,
    ) -> None:
        self.profile = get_profile(profile)
        self.side = side
        self.index = index if index is not None else RepIndex()
        self.velocity_window_ms = velocity_window_ms
        self.hold_merge_gap_ms = hold_merge_gap_ms
        self._slope = SlopeEstimator(velocity_window_ms)
        self._hip_slope = SlopeEstimator(velocity_window_ms)
        self.reset()

    # -- public state -------------------------------------------------------------------------

    def reset(self) -> None:
        self._state = _State.UNARMED
        self._slope.reset()
        self._hip_slope.reset()
        self._rep: _RepInProgress | None = None
        self._prev: tuple[float, float] | None = None  # last (t, progress) with a value
        self._prev_v: tuple[float, float] | None = None  # last (centre t, |velocity|)
        self._rest_bottom = math.inf
        self._rest_exit_ms = math.nan  # last upward crossing of the rest boundary
        self._top_exit_ms = math.nan  # last downward crossing of the top boundary
        self._lost_since: float | None = None
        self._posture_bad_since: float | None = None
        self.reps: list[RepFeatures] = []
        self.partials: list[RepFeatures] = []
        self.events: list[Event] = []

    @property
    def rep_count(self) -> int:
        return len(self.reps)

    @property
    def partial_count(self) -> int:
        return len(self.partials)

    @property
    def in_rep(self) -> bool:
        return self._state in _IN_REP

    # -- the machine --------------------------------------------------------------------------

    def update(
        self,
        t_ms: float,
        value: float,
        *,
        present: bool = True,
        posture_ok: bool = True,
        hip: float | None = None,
        extras: Mapping[str, float] | None = None,
    ) -> CounterStep:
        """Advance by one frame.

        Args:
            t_ms: frame timestamp (strictly increasing).
            value: the smoothed primary signal in degrees (NaN when unknown).
            present: a pose was found (or a short gap was bridged) on this frame.
            posture_ok: the posture matches the profile's.
            hip: signed hip flexion for the per-rep phase durations and peak (default: value).
            extras: other per-frame signals the cue rules read (knee flexion, asymmetry, ...).
        """
        events: list[Event] = []
        finished: list[RepFeatures] = []
        known = present and math.isfinite(value)
        if not known:
            self._on_lost(t_ms, events)
            return self._step(t_ms, Phase.NO_POSE, events, finished, math.nan)
        self._lost_since = None
        if not posture_ok:
            self._on_bad_posture(t_ms, events)
            return self._step(t_ms, Phase.WRONG_POSTURE, events, finished, math.nan)
        self._posture_bad_since = None

        prof = self.profile
        p = prof.progress(value)
        hip_v = value if hip is None else hip
        v = self._slope.update(t_ms, p)
        v_hip = self._hip_slope.update(t_ms, hip_v) if math.isfinite(hip_v) else math.nan
        rest_p = prof.progress(prof.rest_deg)
        top_p = prof.progress(prof.top_deg)
        h = prof.hysteresis_deg
        prev = self._prev
        self._prev = (t_ms, p)

        def crossing(level: float) -> float:
            return t_ms if prev is None else _cross(prev[0], prev[1], t_ms, p, level)

        # threshold crossings, remembered for interpolated rep boundaries
        if prev is not None and prev[1] <= rest_p < p:
            self._rest_exit_ms = crossing(rest_p)
        if prev is not None and prev[1] >= top_p > p:
            self._top_exit_ms = crossing(top_p)

        st = self._state
        if st is _State.UNARMED:
            if p <= rest_p:
                self._enter_rest(p)
        elif st is _State.REST:
            self._rest_bottom = min(self._rest_bottom, p)
            if p > rest_p + h:
                start = self._rest_exit_ms if math.isfinite(self._rest_exit_ms) else t_ms
                self._rep = _RepInProgress(start_ms=start, bottom_p=self._rest_bottom)
                self._state = _State.CONCENTRIC
                events.append(Event(EventKind.REP_STARTED, start, self.index.reps + 1, self.side))
        if self._state is _State.CONCENTRIC:
            assert self._rep is not None
            if p >= top_p:
                self._rep.reached_top = True
                self._rep.top_entry_ms = crossing(top_p)
                self._state = _State.TOP
            elif p <= rest_p:
                self._record(t_ms, p, hip_v, v_hip, extras)
                finished.extend(self._close(crossing(rest_p), events))
                self._enter_rest(p)
        elif self._state is _State.TOP:
            if p < top_p - h:
                self._state = _State.ECCENTRIC
                assert self._rep is not None
                self._rep.top_exit_ms = (
                    self._top_exit_ms if math.isfinite(self._top_exit_ms) else t_ms
                )
        elif self._state is _State.ECCENTRIC:
            assert self._rep is not None
            if p >= top_p:
                self._state = _State.TOP  # jitter at the top boundary: still the same rep
                self._rep.top_exit_ms = math.nan
            elif p <= rest_p:
                self._update_hold(t_ms, v, events)
                self._record(t_ms, p, hip_v, v_hip, extras)
                finished.extend(self._close(crossing(rest_p), events))
                self._enter_rest(p)

        if self._rep is not None:
            self._update_hold(t_ms, v, events)
            self._record(t_ms, p, hip_v, v_hip, extras)
        return self._step(t_ms, self._phase(), events, finished, v)

    def pending(self) -> RepFeatures | None:
        """The rep in progress as it would count if the set ended now (reached the top), or None.

        Does not change the counter: a set that stops while the last rep is at the top or on its
        way down still performed that rep.
        """
        rep = self._rep
        if rep is None or not rep.reached_top or not rep.samples:
            return None
        holds = list(rep.holds)
        if rep.hold_start is not None:
            holds.append((rep.hold_start, rep.samples[-1].t))
        end = rep.samples[-1].t
        return self._features(rep, end, self.index.reps + 1, partial=False, holds=holds)

    def finish(self, t_ms: float | None = None) -> CounterStep:
        """End of the set: count the pending rep (see `pending`) and disarm."""
        events: list[Event] = []
        done: list[RepFeatures] = []
        feats = self.pending()
        t = t_ms if t_ms is not None else (self._prev[0] if self._prev else 0.0)
        if feats is not None:
            rep = self._rep
            assert rep is not None
            if rep.hold_start is not None:
                self._end_hold(rep.samples[-1].t, events)
            feats = self._features(
                rep, feats.rep.end_ms, self.index.next_rep(), partial=False, holds=rep.holds
            )
            self.reps.append(feats)
            done.append(feats)
            events.append(
                Event(EventKind.REP_COMPLETED, feats.rep.end_ms, feats.rep.index, self.side)
            )
        self._rep = None
        self._state = _State.UNARMED
        return self._step(t, Phase.REST, events, done, math.nan)

    # -- helpers ------------------------------------------------------------------------------

    def _enter_rest(self, p: float) -> None:
        self._state = _State.REST
        self._rest_bottom = p
        self._rest_exit_ms = math.nan
        self._top_exit_ms = math.nan

    def _abandon(self, t_ms: float, events: list[Event]) -> None:
        if self._rep is not None and self._rep.hold_start is not None:
            self._end_hold(t_ms, events)
        self._rep = None
        self._state = _State.UNARMED
        self._prev = None
        self._prev_v = None
        self._slope.reset()
        self._hip_slope.reset()

    def _on_lost(self, t_ms: float, events: list[Event]) -> None:
        if self._lost_since is None:
            self._lost_since = t_ms
        if t_ms - self._lost_since > self.profile.max_lost_s * 1000.0:
            self._abandon(self._lost_since, events)

    def _on_bad_posture(self, t_ms: float, events: list[Event]) -> None:
        if self._posture_bad_since is None:
            self._posture_bad_since = t_ms
        if t_ms - self._posture_bad_since > self.profile.posture_grace_s * 1000.0:
            self._abandon(self._posture_bad_since, events)

    def _record(
        self,
        t_ms: float,
        p: float,
        hip: float,
        v_hip: float,
        extras: Mapping[str, float] | None,
    ) -> None:
        assert self._rep is not None
        samples = self._rep.samples
        if samples and samples[-1].t == t_ms:
            return
        samples.append(_Sample(t_ms, p, hip, v_hip, dict(extras or {}), self._state))

    def _update_hold(self, t_ms: float, v: float, events: list[Event]) -> None:
        """Start/stop the hold on the still part of the top (velocity-threshold crossings)."""
        rep = self._rep
        assert rep is not None
        thr = self.profile.hold_still_deg_s
        centre = self._slope.centre_ms
        at_top = self._state is _State.TOP
        speed = abs(v) if math.isfinite(v) else math.inf
        prev_v = self._prev_v
        self._prev_v = (centre, speed) if math.isfinite(speed) else None

        def when() -> float:
            # interpolate the moment |v| crossed the threshold, at the estimator's centre
            if prev_v is None or not math.isfinite(centre):
                return t_ms
            return _cross(prev_v[0], prev_v[1], centre, speed, thr)

        if rep.hold_start is None:
            if at_top and speed <= thr:
                start = when()
                # a hold cannot start before the top zone was reached
                start = max(start, rep.top_entry_ms) if math.isfinite(rep.top_entry_ms) else start
                if rep.holds and start - rep.holds[-1][1] <= self.hold_merge_gap_ms:
                    start, _ = rep.holds.pop()  # a brief wobble does not split a hold
                else:
                    events.append(
                        Event(EventKind.HOLD_STARTED, start, self.index.reps + 1, self.side)
                    )
                rep.hold_start = start
        elif not at_top or speed > thr:
            end = when() if at_top else min(when(), self._top_exit_or(t_ms))
            self._end_hold(max(end, rep.hold_start), events)
        self._check_target(t_ms, events)

    def _top_exit_or(self, t_ms: float) -> float:
        rep = self._rep
        if rep is not None and math.isfinite(rep.top_exit_ms):
            return rep.top_exit_ms
        return t_ms

    def _end_hold(self, end: float, events: list[Event]) -> None:
        rep = self._rep
        assert rep is not None and rep.hold_start is not None
        rep.holds.append((rep.hold_start, end))
        rep.hold_start = None
        events.append(Event(EventKind.HOLD_ENDED, end, self.index.reps + 1, self.side))

    def _check_target(self, t_ms: float, events: list[Event]) -> None:
        rep = self._rep
        target = self.profile.hold_target_s
        if rep is None or rep.hold_start is None or target <= 0 or rep.target_met:
            return
        if (t_ms - rep.hold_start) / 1000.0 >= target:
            rep.target_met = True
            t_met = rep.hold_start + target * 1000.0
            events.append(Event(EventKind.HOLD_TARGET_MET, t_met, self.index.reps + 1, self.side))

    def _close(self, end_ms: float, events: list[Event]) -> list[RepFeatures]:
        """The current rep returned to rest: count it as full, partial, or drop it as noise."""
        rep = self._rep
        assert rep is not None
        if rep.hold_start is not None:
            self._end_hold(self._top_exit_or(end_ms), events)
        self._rep = None
        peak = max((s.p for s in rep.samples), default=rep.bottom_p)
        rom = peak - rep.bottom_p
        prof = self.profile
        if rep.reached_top and rom >= prof.min_rom_deg:
            feats = self._features(rep, end_ms, self.index.next_rep(), False, rep.holds)
            self.reps.append(feats)
            events.append(Event(EventKind.REP_COMPLETED, end_ms, feats.rep.index, self.side))
            return [feats]
        if rom >= prof.partial_min_rom_deg:
            feats = self._features(rep, end_ms, self.index.next_partial(), True, rep.holds)
            self.partials.append(feats)
            events.append(Event(EventKind.PARTIAL_REP, end_ms, feats.rep.index, self.side))
            return [feats]
        return []

    def _features(
        self,
        rep: _RepInProgress,
        end_ms: float,
        index: int,
        partial: bool,
        holds: list[tuple[float, float]],
    ) -> RepFeatures:
        prof = self.profile
        samples = rep.samples
        peak_s = max(samples, key=lambda s: s.p)
        hips = [s.hip for s in samples if math.isfinite(s.hip)]
        peak_hip = math.nan
        if hips:
            peak_hip = min(hips) if prof.kind == "extension" else max(hips)
        ext_ms = flex_ms = 0.0
        thr = prof.hold_still_deg_s
        for a, b in itertools.pairwise(samples):
            dt = b.t - a.t
            if b.v_hip < -thr:
                ext_ms += dt
            elif b.v_hip > thr:
                flex_ms += dt
        top_entry = rep.top_entry_ms if math.isfinite(rep.top_entry_ms) else peak_s.t
        top_exit = rep.top_exit_ms if math.isfinite(rep.top_exit_ms) else end_ms
        if not rep.reached_top:
            top_entry = top_exit = peak_s.t
        hold = None
        drop = 0.0
        if holds:
            hs, he = max(holds, key=lambda ab: ab[1] - ab[0])
            hold = Hold(index, hs, he, prof.hold_target_s)
            inside = [s.p for s in samples if hs <= s.t <= he]
            if len(inside) >= 4:
                q = max(1, len(inside) // 4)
                drop = sum(inside[:q]) / q - sum(inside[-q:]) / q
        top_samples = [s for s in samples if s.state is _State.TOP] or [peak_s]
        keys = {k for s in top_samples for k in s.extras}
        top_means: dict[str, float] = {}
        for k in sorted(keys):
            vals = [s.extras[k] for s in top_samples if math.isfinite(s.extras.get(k, math.nan))]
            top_means[k] = sum(vals) / len(vals) if vals else math.nan
        r = Rep(
            index=index,
            side=self.side,
            start_ms=rep.start_ms,
            top_ms=peak_s.t,
            end_ms=end_ms,
            rom_deg=peak_s.p - rep.bottom_p,
            peak_deg=peak_hip,
            concentric_ms=max(0.0, top_entry - rep.start_ms),
            eccentric_ms=max(0.0, end_ms - top_exit),
            extension_phase_ms=ext_ms,
            flexion_phase_ms=flex_ms,
            partial=partial,
            hold=hold,
        )
        return RepFeatures(
            rep=r,
            progress_peak=peak_s.p,
            hold_drop_deg=drop,
            top_means=top_means,
            at_peak=dict(peak_s.extras),
            hold_target_s=prof.hold_target_s,
        )

    def _phase(self) -> Phase:
        st = self._state
        if st is _State.CONCENTRIC:
            return Phase.CONCENTRIC
        if st is _State.ECCENTRIC:
            return Phase.ECCENTRIC
        if st is _State.TOP:
            return Phase.HOLD if self._rep and self._rep.hold_start is not None else Phase.TOP
        return Phase.REST

    def _step(
        self,
        t_ms: float,
        phase: Phase,
        events: list[Event],
        finished: list[RepFeatures],
        v: float,
    ) -> CounterStep:
        self.events.extend(events)
        rep = self._rep
        holding = rep is not None and rep.hold_start is not None
        if holding:
            assert rep is not None and rep.hold_start is not None
            elapsed = max(0.0, (t_ms - rep.hold_start) / 1000.0)
        elif rep is not None and rep.holds:
            elapsed = max((b - a) for a, b in rep.holds) / 1000.0
        else:
            elapsed = 0.0
        return CounterStep(
            t_ms=t_ms,
            phase=phase,
            events=tuple(events),
            rep_count=self.rep_count,
            partial_count=self.partial_count,
            rep_in_progress=(self.index.reps + 1) if self.in_rep else None,
            holding=holding,
            hold_elapsed_s=elapsed,
            velocity_deg_s=v,
            finished=tuple(finished),
        )
