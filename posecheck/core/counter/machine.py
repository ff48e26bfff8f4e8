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
person who starts (or reappears) at the top is not credited a rep they did not perform. (A return
whose last measured frame before the loss was already at rest counts: see `_close_if_back`.)

Hold timing (the live flag, a finished rep's times) is the `timing` mixin's; the fits it uses
are in `fits`.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import replace

from posecheck.core.counter.fits import SlopeEstimator, _cross
from posecheck.core.counter.records import (
    _IN_REP,
    CounterStep,
    RepFeatures,
    RepIndex,
    RepSoFar,
    _Rep,
    _Sample,
    _State,
)
from posecheck.core.counter.timing import _Timing, _toward_top
from posecheck.core.profiles import ExerciseProfile, get_profile
from posecheck.core.results import Event, EventKind, Hold, Phase
from posecheck.core.zones import RestLevel

_PREROLL_MS = 3000.0  # samples kept from before a rep starts (to find when it really began)
_SETTLE_MS = 1500.0  # a finished rep waits at most this long for the movement to stop
_FLANK = (0.2, 0.7)  # a return movement has settled below _FLANK[0] of its peak speed
# A rise and return of at least this much that is no rep or partial is a movement that fell
# short (hips that never leave the floor): large against the smoothed signal's jitter at rest
# (< 1°), small against any rep (>= 10°).
SHORT_MOVE_DEG = 4.0
# A set that ends mid-rep reports that rep as unfinished if the top was really seen, for at least
# this long: one frame "at the top" after a hard cut to another exercise is a jump, not a rep.
_MIN_TOP_AT_END_MS = 150.0
_PAST_PEAK_SHARE = 0.25  # a rep has passed its top once down by this share of its range


class RepCounter(_Timing):
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
        self._zones = RestLevel(self.profile)
        self.reset()

    # -- public state -------------------------------------------------------------------------

    def reset(self) -> None:
        self._state = _State.UNARMED
        self._slope.reset()
        self._hip_slope.reset()
        self._zones.reset()
        self._rep: _Rep | None = None
        self._closing: list[_Rep] = []  # counted, waiting for the movement to settle
        self._recent: deque[_Sample] = deque()
        self._prev: tuple[float, float] | None = None  # last (t, progress)
        self._prev_v: tuple[float, float] | None = None  # last (centre t, |velocity|)
        self._rest_bottom = math.inf
        self._rest_exit_ms = math.nan
        self._top_exit_ms = math.nan
        self._lost_since: float | None = None
        self._posture_bad_since: float | None = None
        self._n_reps = 0
        self._n_partials = 0
        self._short_low = math.inf  # lowest progress since the last short movement, at rest
        self._short_high = -math.inf  # its highest after rising SHORT_MOVE_DEG above that
        self._fell_short: float | None = None
        self._never_armed = True  # no rest seen yet in this set
        self._start_top_ms = math.nan  # when a set that began at the top was first seen there
        self.reps: list[RepFeatures] = []
        self.partials: list[RepFeatures] = []
        self.events: list[Event] = []

    @property
    def rep_count(self) -> int:
        return self._n_reps

    @property
    def partial_count(self) -> int:
        return self._n_partials

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
        raw: float | None = None,
    ) -> CounterStep:
        """Advance by one frame.

        Args:
            t_ms: frame timestamp (strictly increasing).
            value: the smoothed primary signal in degrees (NaN when unknown).
            present: a pose was found (or a short gap was bridged) on this frame.
            posture_ok: the posture matches the profile's.
            hip: signed hip flexion for the per-rep phase durations and peak (default: value).
            extras: other per-frame signals the cue rules read (knee flexion, asymmetry, ...).
            raw: the primary signal before smoothing (default: value). Rep and hold boundaries
                are fitted on it after the rep, so the smoother's lag does not shift them.
        """
        events: list[Event] = []
        finished: list[RepFeatures] = []
        if not (present and math.isfinite(value)):
            self._on_lost(t_ms, events, finished)
            return self._step(t_ms, Phase.NO_POSE, events, finished, math.nan)
        self._lost_since = None
        if not posture_ok:
            self._on_bad_posture(t_ms, events, finished)
            return self._step(t_ms, Phase.WRONG_POSTURE, events, finished, math.nan)
        self._posture_bad_since = None

        prof = self.profile
        p = prof.progress(value)
        hip_v = value if hip is None else hip
        v = self._slope.update(t_ms, p)
        v_hip = self._hip_slope.update(t_ms, hip_v) if math.isfinite(hip_v) else math.nan
        raw_p = prof.progress(value if raw is None or not math.isfinite(raw) else raw)
        sample = _Sample(
            t_ms, p, raw_p, self._slope.centre_ms, v, hip_v, v_hip, dict(extras or {}), self._state
        )
        zones = self._zones.update(t_ms, p, self.in_rep)
        rest_p, top_p, h = zones.rest_p, zones.top_p, zones.hysteresis
        prev = self._prev
        self._prev = (t_ms, p)

        def crossing(level: float) -> float:
            return t_ms if prev is None else _cross(prev[0], prev[1], t_ms, p, level)

        if prev is not None and prev[1] <= rest_p < p:
            self._rest_exit_ms = crossing(rest_p)
        if prev is not None and prev[1] >= top_p > p:
            self._top_exit_ms = crossing(top_p)

        for c in self._closing:
            c.samples.append(sample)

        st = self._state
        if st is _State.UNARMED:
            if self._never_armed and p >= top_p and math.isnan(self._start_top_ms):
                self._start_top_ms = t_ms
            if p <= rest_p:
                if self._never_armed and self._first_rep_from_top():
                    self._lift_from_top(crossing(rest_p), p, events)
                self._enter_rest(p)
                self._never_armed = False
        elif st is _State.REST:
            self._rest_bottom = min(self._rest_bottom, p)
            if p > rest_p + h:
                finished.extend(self._settle_all())
                start = self._rest_exit_ms if math.isfinite(self._rest_exit_ms) else t_ms
                self._rep = _Rep(
                    start_ms=start,
                    bottom_p=self._rest_bottom,
                    zones=zones,
                    attempt=self.index.next_attempt(),
                )
                self._rep.samples.extend(self._recent)
                self._state = _State.CONCENTRIC
                events.append(Event(EventKind.REP_STARTED, start, self._next_no(), self.side))
        if self._state is _State.CONCENTRIC:
            assert self._rep is not None
            if p >= top_p:
                self._rep.reached_top = True
                self._rep.top_entry_ms = crossing(top_p)
                self._state = _State.TOP
            elif p <= rest_p:
                self._rep.samples.append(sample)
                self._close(crossing(rest_p), events)
                self._enter_rest(p)
        elif self._state is _State.TOP:
            if p < top_p - h:
                assert self._rep is not None
                self._state = _State.ECCENTRIC
                exit_ms = self._top_exit_ms
                self._rep.top_exit_ms = exit_ms if math.isfinite(exit_ms) else t_ms
        elif self._state is _State.ECCENTRIC:
            assert self._rep is not None
            if p >= top_p:
                self._state = _State.TOP  # jitter at the top boundary: still the same rep
                self._rep.top_exit_ms = math.nan
            elif p <= rest_p:
                self._update_hold(t_ms, v, events)
                self._rep.samples.append(sample)
                self._close(crossing(rest_p), events)
                self._enter_rest(p)

        sample.state = self._state
        if self._rep is not None:
            self._update_hold(t_ms, v, events)
            self._rep.samples.append(sample)
            self._track_peak(self._rep, p, hip_v)
        else:
            self._recent.append(sample)
            while self._recent and t_ms - self._recent[0].t > _PREROLL_MS:
                self._recent.popleft()
            self._track_short(p)
        finished.extend(self._settle_ready(t_ms, v))
        return self._step(t_ms, self._phase(), events, finished, v)

    def snapshot(self) -> tuple[list[RepFeatures], list[RepFeatures]]:
        """(reps, partials) as they stand if the set ended now, without changing the counter.

        Includes reps still settling. A rep is complete only once the body is back at rest: a
        rep still in progress is not among them (see `unfinished`).
        """
        reps, partials = list(self.reps), list(self.partials)
        for c in self._closing:
            (partials if c.partial else reps).append(self._features(c))
        return reps, partials

    def unfinished(self) -> RepFeatures | None:
        """The rep in progress, as far as it went, if the set ended now: one that was seen at
        the top (`_MIN_TOP_AT_END_MS`) or rose by a partial's range. None between reps."""
        rep = self._rep
        if rep is None or not rep.samples or not self._went_somewhere(rep):
            return None
        if self._back_at_rest() is not None:
            return None  # counted by `finish`
        last = rep.samples[-1].t
        if not self._seen_at_top(rep) and last - rep.start_ms < self.profile.partial_min_s * 1000:
            return None  # a jump, not a movement (see partial_min_s)
        probe = replace(rep, samples=list(rep.samples), holds=list(rep.holds))
        probe.index, probe.partial, probe.rest_entry_ms = 0, not self._seen_at_top(rep), last
        feats = self._features(probe)
        # The hold so far as timed live: its start is the fitted arrival, and no departure
        # has been seen to fit a whole top to.
        spans = [*rep.holds, *([(rep.hold_start, last)] if rep.hold_start is not None else [])]
        hold = None
        if spans:
            start, end = spans[0][0], spans[-1][1]
            hold = Hold(0, start, end, self.profile.hold_target_s)
        return replace(feats, rep=replace(feats.rep, hold=hold))

    def finish(self, t_ms: float | None = None) -> CounterStep:
        """End of the set: settle finished reps and disarm. A rep still in progress is not
        counted (`unfinished` tells what it was, before this call), unless its return was
        measured at rest (`_close_if_back`)."""
        events: list[Event] = []
        self._close_if_back(events)
        done = self._settle_all()
        rep = self._rep
        t = t_ms if t_ms is not None else (self._prev[0] if self._prev else 0.0)
        if rep is not None and rep.hold_start is not None:
            self._end_hold(rep.samples[-1].t if rep.samples else t, events)
        self._rep = None
        self._state = _State.UNARMED
        return self._step(t, Phase.REST, events, done, math.nan)

    # -- helpers ------------------------------------------------------------------------------

    @staticmethod
    def _seen_at_top(rep: _Rep | None) -> bool:
        """A rep still in progress that was really seen at the top (see `_MIN_TOP_AT_END_MS`)."""
        return (
            rep is not None
            and rep.reached_top
            and bool(rep.samples)
            and rep.samples[-1].t - rep.top_entry_ms >= _MIN_TOP_AT_END_MS
        )

    def _track_short(self, p: float) -> None:
        """A rise of SHORT_MOVE_DEG or more at rest, then a return by half of it."""
        self._short_low = min(self._short_low, p)
        if p - self._short_low >= SHORT_MOVE_DEG:
            self._short_high = max(self._short_high, p)
        elif self._short_high > -math.inf and p <= self._short_high - SHORT_MOVE_DEG / 2:
            self._fell_short = self._short_high - self._short_low
            self._short_low, self._short_high = p, -math.inf

    def _first_rep_from_top(self) -> bool:
        """The set began in the top position, for a profile whose sets may (a deadlift lifted
        from the floor): its first return to rest is a rep."""
        return self.profile.first_rep_from_top and math.isfinite(self._start_top_ms)

    def _lift_from_top(self, rest_entry_ms: float, p: float, events: list[Event]) -> None:
        samples = list(self._recent)
        if not samples:
            return
        start = samples[0].t
        rep = _Rep(start_ms=start, bottom_p=p, samples=samples, reached_top=True,
                   top_entry_ms=self._start_top_ms, zones=self._zones.nominal,
                   attempt=self.index.next_attempt(), from_top=True)
        rep.top_exit_ms = self._top_exit_ms
        self._rep = rep
        events.append(Event(EventKind.REP_STARTED, start, self._next_no(), self.side))
        self._close(rest_entry_ms, events)

    def _went_somewhere(self, rep: _Rep) -> bool:
        zones = rep.zones or self._zones.nominal
        return self._seen_at_top(rep) or rep.peak_p - rep.bottom_p >= zones.partial_min_rom

    def _next_no(self) -> int:
        return self.index.reps + 1

    def _track_peak(self, rep: _Rep, p: float, hip: float) -> None:
        """Running figures of the rep in progress, for the in-rep cue rules."""
        rep.peak_p = max(rep.peak_p, p)
        if math.isfinite(hip):
            towards = min if _toward_top(self.profile) < 0 else max
            rep.peak_hip = hip if not math.isfinite(rep.peak_hip) else towards(rep.peak_hip, hip)
        if rep.hold_start is not None:
            rep.hold_high = max(rep.hold_high, p)

    def _take_short(self) -> float | None:
        got, self._fell_short = self._fell_short, None
        return got

    def _so_far(self) -> RepSoFar | None:
        rep = self._rep
        if rep is None or not self.in_rep:
            return None
        h = (rep.zones or self._zones.nominal).hysteresis
        last = rep.samples[-1].p if rep.samples else math.nan
        holding = rep.hold_start is not None
        return RepSoFar(
            attempt=rep.attempt,
            start_ms=rep.start_ms,
            peak_hip_deg=rep.peak_hip,
            # clearly on its way down: by the hysteresis and by a quarter of its range (a noisy
            # signal dips by a few degrees on the way up)
            past_peak=math.isfinite(last)
            and last < rep.peak_p - max(h, _PAST_PEAK_SHARE * (rep.peak_p - rep.bottom_p)),
            counts=self._went_somewhere(rep),
            holding=holding,
            held_s=(rep.samples[-1].t - rep.hold_start) / 1000.0 if rep.hold_start else 0.0,
            hold_drop_deg=max(0.0, rep.hold_high - last) if holding else 0.0,
        )

    def _enter_rest(self, p: float) -> None:
        self._state = _State.REST
        self._rest_bottom = p
        self._short_low, self._short_high = p, -math.inf
        self._rest_exit_ms = math.nan
        self._top_exit_ms = math.nan

    def _abandon(self, t_ms: float, events: list[Event], finished: list[RepFeatures]) -> None:
        finished.extend(self._settle_all())
        if self._rep is not None and self._rep.hold_start is not None:
            self._end_hold(t_ms, events)
        self._rep = None
        self._state = _State.UNARMED
        self._prev = None
        self._prev_v = None
        self._recent.clear()
        self._slope.reset()
        self._hip_slope.reset()

    def _on_lost(self, t_ms: float, events: list[Event], finished: list[RepFeatures]) -> None:
        if self._lost_since is None:
            self._lost_since = t_ms
        if t_ms - self._lost_since > self.profile.max_lost_s * 1000.0:
            self._close_if_back(events)
            self._abandon(self._lost_since, events, finished)

    def _close_if_back(self, events: list[Event]) -> None:
        """A return cut off (the pose lost, or the input ended) counts if its last measured
        frame was at rest.

        The state follows the smoothed signal, which lags the measurement by a frame or two;
        with no frame after the cut (an edit, the end card of a montage, the file's end) that
        lag, not the movement, would decide whether a return that reached rest counts, and it
        differs with the frame rate. The unsmoothed last frame is what was really seen.
        """
        back = self._back_at_rest()
        if back is not None:
            self._close(back[0], events)
            self._enter_rest(back[1])

    def _back_at_rest(self) -> tuple[float, float] | None:
        """(time the unsmoothed signal reached rest, last progress) of a returning rep whose
        last measured frame is at rest; None otherwise."""
        rep = self._rep
        if self._state is not _State.ECCENTRIC or rep is None:
            return None
        seen = [s for s in rep.samples if math.isfinite(s.raw)]
        rest_p = self._zones.current.rest_p
        if not seen or seen[-1].raw > rest_p:
            return None
        last = seen[-1]
        before = seen[-2] if len(seen) > 1 else last
        return _cross(before.t, before.raw, last.t, last.raw, rest_p), last.p

    def _on_bad_posture(
        self, t_ms: float, events: list[Event], finished: list[RepFeatures]
    ) -> None:
        if self._posture_bad_since is None:
            self._posture_bad_since = t_ms
        if t_ms - self._posture_bad_since > self.profile.posture_grace_s * 1000.0:
            self._abandon(self._posture_bad_since, events, finished)

    def _close(self, rest_entry_ms: float, events: list[Event]) -> None:
        """The current rep returned to rest: count it as full or partial, or drop it as noise."""
        rep = self._rep
        assert rep is not None
        if rep.hold_start is not None:
            end = rep.top_exit_ms if math.isfinite(rep.top_exit_ms) else rest_entry_ms
            self._end_hold(end, events)
        self._rep = None
        self._recent.clear()
        peak = max((s.p for s in rep.samples if s.t >= rep.start_ms), default=rep.bottom_p)
        rom = peak - rep.bottom_p
        prof = self.profile
        zones = rep.zones or self._zones.nominal
        rep.rest_entry_ms = rest_entry_ms
        if rep.reached_top and rom >= zones.min_rom:
            rep.index = self.index.next_rep()
            self._n_reps += 1
            events.append(Event(EventKind.REP_COMPLETED, rest_entry_ms, rep.index, self.side))
        elif (
            rom >= zones.partial_min_rom
            and rest_entry_ms - rep.start_ms >= prof.partial_min_s * 1000.0
        ):
            rep.index = self.index.next_partial()
            rep.partial = True
            self._n_partials += 1
            events.append(Event(EventKind.PARTIAL_REP, rest_entry_ms, rep.index, self.side))
        else:
            if rom >= SHORT_MOVE_DEG:
                self._fell_short = rom
            return
        self._closing.append(rep)

    def _settle_ready(self, t_ms: float, v: float) -> list[RepFeatures]:
        """Finalise closing reps whose return movement has stopped (or waited long enough)."""
        out: list[RepFeatures] = []
        keep: list[_Rep] = []
        for c in self._closing:
            ecc = [s.v for s in c.samples if s.t >= c.rest_entry_ms - 1000 and math.isfinite(s.v)]
            peak_speed = max((-x for x in ecc), default=0.0)
            settled = math.isfinite(v) and abs(v) <= max(
                _FLANK[0] * peak_speed, 0.5 * self.profile.hold_still_deg_s
            )
            if settled or t_ms - c.rest_entry_ms > _SETTLE_MS:
                out.append(self._finalise(c))
            else:
                keep.append(c)
        self._closing = keep
        return out

    def _settle_all(self) -> list[RepFeatures]:
        out = [self._finalise(c) for c in self._closing]
        self._closing = []
        return out

    def _finalise(self, rep: _Rep) -> RepFeatures:
        feats = self._features(rep)
        (self.partials if rep.partial else self.reps).append(feats)
        return feats

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
        if rep is not None and rep.hold_start is not None:
            elapsed = max(0.0, (t_ms - rep.hold_start) / 1000.0)
        elif rep is not None and rep.holds:
            elapsed = rep.shown_hold_s
        else:
            elapsed = 0.0
        return CounterStep(
            t_ms=t_ms,
            phase=phase,
            events=tuple(events),
            rep_count=self._n_reps,
            partial_count=self._n_partials,
            rep_in_progress=self._next_no() if self.in_rep else None,
            holding=holding,
            hold_elapsed_s=elapsed,
            velocity_deg_s=v,
            finished=tuple(finished),
            so_far=self._so_far(),
            fell_short_deg=self._take_short(),
        )
