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

Timing. Velocity is a least-squares slope over a short trailing window, stamped at the window's
centre (which removes the estimator's delay). "Still" is |velocity| under the profile's
threshold; that alone makes a hold look too long by however long the eased ends of the movement
stay under the threshold (≈0.1-0.3 s each side for a 1-2 s controlled rep). So once a rep is over,
its boundaries are refined: each movement (up, down) is located by its peak speed, and the
moments it starts and stops are where a straight line through its speed flanks (20-70 % of the
peak speed) reaches zero. That is exact for a constant-acceleration start/stop and within a few
hundredths of a second for a cosine-eased one, independent of the frame rate. The live flag
(`holding`) uses the threshold (the start is refined at once, the end only after the rep).
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
_PREROLL_MS = 3000.0  # samples kept from before a rep starts (to find when it really began)
_SETTLE_MS = 1500.0  # a finished rep waits at most this long for the movement to stop
_FLANK = (0.2, 0.7)  # speed band (fraction of the movement's peak speed) used to extrapolate
MIN_HOLD_S = 0.25  # shorter stills at the top are turning points, not holds


class SlopeEstimator:
    """Least-squares slope (units per second) over a trailing time window.

    Robust to uneven frame spacing and dropped frames; its estimate refers to the mean time of
    the samples it used (`centre_ms`), so callers can remove the delay.
    """

    def __init__(self, window_ms: float = 160.0, min_samples: int = 3) -> None:
        self.window_ms = window_ms
        self.min_samples = min_samples
        self._buf: deque[tuple[float, float]] = deque()

    def reset(self) -> None:
        self._buf.clear()

    def update(self, t_ms: float, value: float) -> float:
        """Add a sample and return the current slope (NaN until two samples)."""
        if not math.isfinite(value):
            return math.nan
        self._buf.append((t_ms, value))
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
    hold_drop_deg: float  # how far the progress signal sank over the hold (linear fit)
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
    finished: tuple[RepFeatures, ...] = ()  # reps whose features were finalised on this step


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
    tc: float  # centre time of the velocity estimate
    v: float  # velocity of progress (deg/s), NaN when unknown
    hip: float
    v_hip: float
    extras: Mapping[str, float]
    state: _State


@dataclass
class _Rep:
    start_ms: float  # rest-zone exit (crossing), refined later
    bottom_p: float
    samples: list[_Sample] = field(default_factory=list)
    reached_top: bool = False
    top_entry_ms: float = math.nan
    top_exit_ms: float = math.nan
    holds: list[tuple[float, float]] = field(default_factory=list)  # live (threshold) holds
    hold_start: float | None = None
    target_met: bool = False
    # set when the rep returned to rest
    index: int = 0
    partial: bool = False
    rest_entry_ms: float = math.nan


def _cross(t0: float, v0: float, t1: float, v1: float, level: float) -> float:
    """Time at which a linear segment (t0,v0)-(t1,v1) crosses `level` (clamped to the segment)."""
    if not (math.isfinite(v0) and math.isfinite(v1)) or v1 == v0:
        return t1
    frac = (level - v0) / (v1 - v0)
    return t0 + min(1.0, max(0.0, frac)) * (t1 - t0)


# A cosine-eased ramp of amplitude A and duration T has a least-squares slope of 1.5067 A/T over
# the part between 20 % and 80 % of its amplitude (exact, by numerical fit).
_COS_BAND = (0.2, 0.8)
_COS_SLOPE = 1.5067


def _fit_line(points: list[tuple[float, float]]) -> tuple[float, float] | None:
    """(intercept, slope) of the least-squares line through (t, p) points."""
    n = len(points)
    if n < 2:
        return None
    tm = sum(t for t, _ in points) / n
    pm = sum(p for _, p in points) / n
    den = sum((t - tm) ** 2 for t, _ in points)
    if den <= 0:
        return None
    b = sum((t - tm) * (p - pm) for t, p in points) / den
    return pm - b * tm, b


def _ramp(
    pts: list[tuple[float, float]], i_peak: int, low: float, high: float, rising: bool
) -> tuple[float, float] | None:
    """(midpoint time, duration) of the movement between levels `low` and `high`.

    Finds the 50 % crossing nearest the peak on the given side, fits a line to the contiguous
    samples between 20 % and 80 % of the amplitude around it, and converts its slope into a
    duration assuming a smooth (cosine-eased) movement. None if there is no such crossing.
    """
    amp = high - low
    if amp <= 0:
        return None
    mid = low + amp / 2
    band_lo, band_hi = low + _COS_BAND[0] * amp, low + _COS_BAND[1] * amp
    idx = range(i_peak, 0, -1) if rising else range(i_peak + 1, len(pts))
    cross = None
    for i in idx:
        a, b = pts[i - 1][1], pts[i][1]
        if (rising and a < mid <= b) or (not rising and a >= mid > b):
            cross = i
            break
    if cross is None:
        return None
    lo_i, hi_i = cross - 1, cross
    while lo_i - 1 >= 0 and band_lo <= pts[lo_i - 1][1] <= band_hi:
        lo_i -= 1
    while hi_i + 1 < len(pts) and band_lo <= pts[hi_i + 1][1] <= band_hi:
        hi_i += 1
    seg = [pts[k] for k in range(lo_i, hi_i + 1) if band_lo <= pts[k][1] <= band_hi]
    if len(seg) < 2:
        seg = [pts[cross - 1], pts[cross]]
    line = _fit_line(seg)
    if line is None:
        return None
    a0, slope = line
    if (slope <= 0) if rising else (slope >= 0):
        return None
    t_mid = (mid - a0) / slope
    return t_mid, _COS_SLOPE * amp / abs(slope)


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
        sample = _Sample(
            t_ms, p, self._slope.centre_ms, v, hip_v, v_hip, dict(extras or {}), self._state
        )
        rest_p = prof.progress(prof.rest_deg)
        top_p = prof.progress(prof.top_deg)
        h = prof.hysteresis_deg
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
            if p <= rest_p:
                self._enter_rest(p)
        elif st is _State.REST:
            self._rest_bottom = min(self._rest_bottom, p)
            if p > rest_p + h:
                finished.extend(self._settle_all())
                start = self._rest_exit_ms if math.isfinite(self._rest_exit_ms) else t_ms
                self._rep = _Rep(start_ms=start, bottom_p=self._rest_bottom)
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
        else:
            self._recent.append(sample)
            while self._recent and t_ms - self._recent[0].t > _PREROLL_MS:
                self._recent.popleft()
        finished.extend(self._settle_ready(t_ms, v))
        return self._step(t_ms, self._phase(), events, finished, v)

    def snapshot(self) -> tuple[list[RepFeatures], list[RepFeatures]]:
        """(reps, partials) as they stand if the set ended now, without changing the counter.

        Includes reps still settling and a rep that reached the top but has not returned to
        rest: a set that stops while the last rep is at the top or on its way down still
        performed that rep.
        """
        reps, partials = list(self.reps), list(self.partials)
        for c in self._closing:
            (partials if c.partial else reps).append(self._features(c))
        rep = self._rep
        if rep is not None and rep.reached_top and rep.samples:
            reps.append(self._features(self._as_done(rep, self.index.reps + 1)))
        return reps, partials

    def finish(self, t_ms: float | None = None) -> CounterStep:
        """End of the set: settle finished reps, count a rep still at the top, disarm."""
        events: list[Event] = []
        done = self._settle_all()
        rep = self._rep
        t = t_ms if t_ms is not None else (self._prev[0] if self._prev else 0.0)
        if rep is not None and rep.reached_top and rep.samples:
            if rep.hold_start is not None:
                self._end_hold(rep.samples[-1].t, events)
            self._as_done(rep, self.index.next_rep())
            self._n_reps += 1
            events.append(Event(EventKind.REP_COMPLETED, rep.rest_entry_ms, rep.index, self.side))
            feats = self._features(rep)
            self.reps.append(feats)
            done.append(feats)
        self._rep = None
        self._state = _State.UNARMED
        return self._step(t, Phase.REST, events, done, math.nan)

    # -- helpers ------------------------------------------------------------------------------

    def _next_no(self) -> int:
        return self.index.reps + 1

    def _as_done(self, rep: _Rep, index: int) -> _Rep:
        rep.index = index
        rep.partial = False
        rep.rest_entry_ms = rep.samples[-1].t
        return rep

    def _enter_rest(self, p: float) -> None:
        self._state = _State.REST
        self._rest_bottom = p
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
            self._abandon(self._lost_since, events, finished)

    def _on_bad_posture(
        self, t_ms: float, events: list[Event], finished: list[RepFeatures]
    ) -> None:
        if self._posture_bad_since is None:
            self._posture_bad_since = t_ms
        if t_ms - self._posture_bad_since > self.profile.posture_grace_s * 1000.0:
            self._abandon(self._posture_bad_since, events, finished)

    def _update_hold(self, t_ms: float, v: float, events: list[Event]) -> None:
        """Start/stop the live hold on the still part of the top (velocity threshold)."""
        rep = self._rep
        assert rep is not None
        thr = self.profile.hold_still_deg_s
        centre = self._slope.centre_ms
        at_top = self._state is _State.TOP
        speed = abs(v) if math.isfinite(v) else math.inf
        prev_v = self._prev_v
        self._prev_v = (centre, speed) if math.isfinite(speed) else None

        def when() -> float:
            if prev_v is None or not math.isfinite(centre):
                return t_ms
            return _cross(prev_v[0], prev_v[1], centre, speed, thr)

        if rep.hold_start is None:
            if at_top and speed <= thr:
                start = self._refined_arrival(rep)
                if start is None:
                    start = when()
                if rep.holds and start - rep.holds[-1][1] <= self.hold_merge_gap_ms:
                    start, _ = rep.holds.pop()  # a brief wobble does not split a hold
                else:
                    events.append(Event(EventKind.HOLD_STARTED, start, self._next_no(), self.side))
                rep.hold_start = start
        elif not at_top or speed > thr:
            end = when()
            if not at_top and math.isfinite(rep.top_exit_ms):
                end = min(end, rep.top_exit_ms)
            self._end_hold(max(end, rep.hold_start), events)
        self._check_target(t_ms, events)

    def _refined_arrival(self, rep: _Rep) -> float | None:
        """When the concentric movement stopped, from the ramp that led here (see module doc)."""
        pts = [(x.t, x.p) for x in rep.samples]
        if len(pts) < 3:
            return None
        recent = sorted(p for _, p in pts[-5:])
        high = recent[len(recent) // 2]
        ramp = _ramp(pts, len(pts) - 1, self._bottom_level(rep), high, rising=True)
        if ramp is None:
            return None
        return min(ramp[0] + ramp[1] / 2, pts[-1][0])

    def _bottom_level(self, rep: _Rep) -> float:
        """Median of the rest-zone samples before the rep started."""
        rest_p = self.profile.progress(self.profile.rest_deg)
        vals = sorted(x.p for x in rep.samples if x.t <= rep.start_ms and x.p <= rest_p)
        return vals[len(vals) // 2] if vals else rep.bottom_p

    def _end_hold(self, end: float, events: list[Event]) -> None:
        rep = self._rep
        assert rep is not None and rep.hold_start is not None
        rep.holds.append((rep.hold_start, end))
        rep.hold_start = None
        events.append(Event(EventKind.HOLD_ENDED, end, self._next_no(), self.side))

    def _check_target(self, t_ms: float, events: list[Event]) -> None:
        rep = self._rep
        target = self.profile.hold_target_s
        if rep is None or rep.hold_start is None or target <= 0 or rep.target_met:
            return
        if (t_ms - rep.hold_start) / 1000.0 >= target:
            rep.target_met = True
            t_met = rep.hold_start + target * 1000.0
            events.append(Event(EventKind.HOLD_TARGET_MET, t_met, self._next_no(), self.side))

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
        rep.rest_entry_ms = rest_entry_ms
        if rep.reached_top and rom >= prof.min_rom_deg:
            rep.index = self.index.next_rep()
            self._n_reps += 1
            events.append(Event(EventKind.REP_COMPLETED, rest_entry_ms, rep.index, self.side))
        elif rom >= prof.partial_min_rom_deg:
            rep.index = self.index.next_partial()
            rep.partial = True
            self._n_partials += 1
            events.append(Event(EventKind.PARTIAL_REP, rest_entry_ms, rep.index, self.side))
        else:
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

    def _movements(self, rep: _Rep) -> tuple[float, float, float, float]:
        """Refined (start, arrival at top, departure from top, end) of a rep, in ms."""
        pts = [(x.t, x.p) for x in rep.samples]
        end_cross = rep.rest_entry_ms if math.isfinite(rep.rest_entry_ms) else pts[-1][0]
        i_peak = max(range(len(pts)), key=lambda k: pts[k][1] if k < len(pts) else -math.inf)
        t_peak = pts[i_peak][0]
        high = self._top_level(rep, pts)
        start, arrive, depart, end = rep.start_ms, t_peak, t_peak, end_cross
        up = _ramp(pts, i_peak, self._bottom_level(rep), high, rising=True)
        if up is not None:
            start = min(up[0] - up[1] / 2, rep.start_ms)
            arrive = up[0] + up[1] / 2
        # the same bottom both ways: when a rep is finalised the return may not have settled yet
        down = _ramp(pts, i_peak, self._bottom_level(rep), high, rising=False)
        if down is not None:
            depart = down[0] - down[1] / 2
            end = max(down[0] + down[1] / 2, end_cross)
        if depart < arrive:  # no still top: the two movements meet at the turning point
            arrive = depart = min(max(t_peak, arrive if up is None else up[0]), end)
        return start, arrive, depart, end

    @staticmethod
    def _top_level(rep: _Rep, pts: list[tuple[float, float]]) -> float:
        """The level of the top: median of the middle 40 % (in time) of the top-zone visit.

        Chosen by time, not by value: the highest samples are biased upwards by noise.
        """
        t0 = rep.top_entry_ms
        t1 = rep.top_exit_ms if math.isfinite(rep.top_exit_ms) else rep.rest_entry_ms
        if not (math.isfinite(t0) and math.isfinite(t1)) or t1 <= t0:
            i = max(range(len(pts)), key=lambda k: pts[k][1])  # partial: around the peak
            t0 = t1 = pts[i][0]
            t0, t1 = t0 - 100.0, t1 + 100.0
        else:
            t0, t1 = t0 + 0.3 * (t1 - t0), t1 - 0.3 * (t1 - t0)
        vals = sorted(p for t, p in pts if t0 <= t <= t1)
        if not vals:
            return max(p for _, p in pts)
        return vals[len(vals) // 2]

    def _features(self, rep: _Rep) -> RepFeatures:
        prof = self.profile
        samples = rep.samples
        start, arrive, depart, end = self._movements(rep)
        in_rep = [x for x in samples if start <= x.t <= end] or samples
        peak_s = max(in_rep, key=lambda x: x.p)
        hips = [x.hip for x in in_rep if math.isfinite(x.hip)]
        peak_hip = math.nan
        if hips:
            # towards the top: a bridge's top is its least flexed hip, a hinge's its most flexed
            toward_top = prof.direction if prof.signal.startswith("hip") else -1
            peak_hip = min(hips) if toward_top < 0 else max(hips)
        ext_ms = flex_ms = 0.0
        thr = prof.hold_still_deg_s
        for a, b in itertools.pairwise(in_rep):
            if b.v_hip < -thr:
                ext_ms += b.t - a.t
            elif b.v_hip > thr:
                flex_ms += b.t - a.t
        hold = None
        drop = 0.0
        if (depart - arrive) / 1000.0 >= MIN_HOLD_S:
            hold = Hold(rep.index, arrive, depart, prof.hold_target_s)
            inside = [(x.t, x.p) for x in samples if arrive <= x.t <= depart]
            if len(inside) >= 3:
                drop = -_slope_of(inside) * (depart - arrive)
        top_samples = [x for x in in_rep if x.state is _State.TOP] or [peak_s]
        keys = sorted({k for x in top_samples for k in x.extras})
        top_means: dict[str, float] = {}
        for k in keys:
            vals = [x.extras[k] for x in top_samples if math.isfinite(x.extras.get(k, math.nan))]
            top_means[k] = sum(vals) / len(vals) if vals else math.nan
        r = Rep(
            index=rep.index,
            side=self.side,
            start_ms=start,
            top_ms=peak_s.t,
            end_ms=end,
            rom_deg=peak_s.p - rep.bottom_p,
            peak_deg=peak_hip,
            concentric_ms=max(0.0, arrive - start),
            eccentric_ms=max(0.0, end - depart),
            extension_phase_ms=ext_ms,
            flexion_phase_ms=flex_ms,
            partial=rep.partial,
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
        if rep is not None and rep.hold_start is not None:
            elapsed = max(0.0, (t_ms - rep.hold_start) / 1000.0)
        elif rep is not None and rep.holds:
            elapsed = max((b - a) for a, b in rep.holds) / 1000.0
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
        )


def _slope_of(points: list[tuple[float, float]]) -> float:
    """Least-squares slope (per ms) of (t, v) points."""
    n = len(points)
    tm = sum(t for t, _ in points) / n
    vm = sum(v for _, v in points) / n
    den = sum((t - tm) ** 2 for t, _ in points)
    return sum((t - tm) * (v - vm) for t, v in points) / den if den > 0 else 0.0
