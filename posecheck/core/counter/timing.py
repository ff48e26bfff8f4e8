"""Hold timing: when a rep's hold starts and ends, live and once the rep is over (a mixin).

`_Timing` is a mixin of `RepCounter` (the state it reads is set up there).

Live, the hold flag (`holding`) is causal: at the top, the smoothed signal's |velocity| under the
profile's still threshold, its start placed at once by a corner fit of what has been seen
(`fits._corner`). Once a rep is over, its four times (start, arrival at the top, departure, end)
are refined on the unsmoothed signal, so the smoother's lag does not shift them: corner fits
around the top and the bottom (`_top_fit`, `_corner`) seed a fit of both whole movements
(`posecheck.core.ramps.fit_rep`), whose steep middles pin where slow eased movements end. The
movement fit's hold replaces the corners' only where it is safe (`_ramp_fit`): it explains the
samples, its plateau clearly beats a turning point, and its corners stay where the signal is
near the top. A held top may creep upwards slowly (`_CREEP_SHARE`): the pose model's estimate of
a still top keeps converging. The hold is the plateau between arrival and departure.

The figures behind each gate, and how precisely a hold can be timed at all, are in
`docs/measurements.md`, "Counter: hold timing".
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

from posecheck.core.counter.fits import (
    _FIT_BAND,
    _FIT_NOISE_FLOOR,
    SlopeEstimator,
    _corner,
    _cross,
    _local_noise,
    _slope_of,
    _top_fit,
    _walk,
)
from posecheck.core.counter.records import (
    MIN_HOLD_S,
    RepFeatures,
    _Rep,
    _State,
)
from posecheck.core.pause import MIN_PAUSE_S, top_dwell
from posecheck.core.profiles import ExerciseProfile
from posecheck.core.ramps import fit_rep
from posecheck.core.results import Event, EventKind, Hold, Rep
from posecheck.core.zones import RestLevel

_RAMP_MARGIN_MS = 400.0  # rest samples either side of a rep in its movement fit
_RAMP_RMS = (1.5, 0.3)  # the movement fit explains a rep: rms <= a * rest noise + b degrees
_MOVING_SIGMAS = 3.0  # a sample this many noise deviations below the top is still moving
_RAMP_PLATEAU_F = 7.0  # the movement fit's plateau F over its turning point (see _ramp_fit)
_CREEP_SHARE = 0.1  # a held top may rise this share of the still speed per second (measurements.md)


class _Timing:
    """The live hold and a finished rep's times and features (a mixin of `RepCounter`)."""

    # set up by RepCounter (its __init__ and reset)
    profile: ExerciseProfile
    side: str
    hold_merge_gap_ms: float
    _slope: SlopeEstimator
    _zones: RestLevel
    _state: _State
    _rep: _Rep | None
    _prev_v: tuple[float, float] | None
    # the counter's own step the timing uses
    _next_no: Callable[[], int]

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
        """When the concentric movement stopped: the ramp-plateau corner of what has been seen
        so far (see `_corner`), or None when it cannot be fitted yet."""
        pts = [(x.t, x.p) for x in rep.samples]
        if len(pts) < 5:
            return None
        high = sorted(p for _, p in pts[-5:])[2]
        rom = high - self._bottom_level(rep)
        if rom <= 0:
            return None
        lo = _walk(pts, len(pts) - 1, -1, lambda v: v >= high - _FIT_BAND * rom)
        seg = rep.samples[lo:]
        c = _corner(
            [x.t for x in seg], [x.raw for x in seg], True, 0.5 * self.profile.hold_still_deg_s
        )
        return None if c is None else min(max(c, seg[0].t), pts[-1][0])

    def _refined_departure(self, rep: _Rep, start: float, end: float) -> float:
        """When the top was left, as the report will time it: the plateau-ramp corner of the
        samples since the hold began (the live flag ends late, once the smoothed speed is up)."""
        seg = [x for x in rep.samples if x.t >= start]
        drift = 0.5 * self.profile.hold_still_deg_s
        c = _corner([x.t for x in seg], [x.raw for x in seg], False, drift)
        return end if c is None else min(max(c, start), end)

    def _bottom_level(self, rep: _Rep) -> float:
        """Median of the rest-zone samples before the rep started."""
        rest_p = (rep.zones or self._zones.nominal).rest_p
        vals = sorted(x.p for x in rep.samples if x.t <= rep.start_ms and x.p <= rest_p)
        return vals[len(vals) // 2] if vals else rep.bottom_p

    def _end_hold(self, end: float, events: list[Event]) -> None:
        rep = self._rep
        assert rep is not None and rep.hold_start is not None
        rep.holds.append((rep.hold_start, end))
        shown = self._refined_departure(rep, rep.hold_start, end)
        rep.shown_hold_s = max(rep.shown_hold_s, (shown - rep.hold_start) / 1000.0)
        rep.hold_start = None
        rep.hold_high = -math.inf
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

    def _movements(self, rep: _Rep) -> tuple[float, float, float, float]:
        """(start, arrival at top, departure from top, end) of a rep, in ms.

        Each is the corner where a movement meets a still level (`_corner`), fitted on the
        unsmoothed signal over the part of the ramp within `_FIT_BAND` of the range from that
        level plus the level's own samples. The hold is the plateau between arrival and
        departure: no assumption about how the movement is eased, and no smoothing lag.
        """
        samples = rep.samples
        pts = [(x.t, x.p) for x in samples]
        end_cross = rep.rest_entry_ms if math.isfinite(rep.rest_entry_ms) else pts[-1][0]
        i_peak = max(range(len(pts)), key=lambda k: pts[k][1])
        t_peak = pts[i_peak][0]
        high = self._top_level(rep, pts)
        low = self._bottom_level(rep)
        rom = high - low
        start, arrive, depart, end = rep.start_ms, t_peak, t_peak, end_cross
        if rom <= 0:
            return start, arrive, depart, end
        band = _FIT_BAND * rom
        drift = 0.5 * self.profile.hold_still_deg_s

        def fit(i0: int, i1: int, sign: float, plateau_after: bool) -> float | None:
            seg = samples[min(i0, i1) : max(i0, i1) + 1]
            return _corner([x.t for x in seg], [sign * x.raw for x in seg], plateau_after, drift)

        a_lo = _walk(pts, i_peak, -1, lambda v: v >= high - band, max_ms=math.inf)
        d_hi = _walk(pts, i_peak, +1, lambda v: v >= high - band, max_ms=math.inf)
        seg = samples[a_lo : d_hi + 1]
        top = _top_fit([x.t for x in seg], [x.raw for x in seg], drift)
        if top is not None:
            arrive, depart = top
        # the bottom corners: leaving rest and arriving back, on the inverted signal
        i_start = next((k for k in range(len(pts)) if pts[k][0] >= rep.start_ms), 0)
        s_hi = _walk(pts, i_start, +1, lambda v: v <= low + band, max_ms=math.inf)
        still = 0.1 * rom  # the bottom's own samples; not the previous or next rep's ramp
        s_lo = _walk(pts, i_start, -1, lambda v: v > low + still)  # down the ramp...
        s_lo = _walk(pts, s_lo, -1, lambda v: v <= low + still)  # ...then along the bottom
        if pts[s_lo][1] > low + still:
            s_lo += 1
        i_end = next((k for k in range(len(pts)) if pts[k][0] >= end_cross), len(pts) - 1)
        e_lo = _walk(pts, i_end, -1, lambda v: v <= low + band, max_ms=math.inf)
        e_hi = _walk(pts, i_end, +1, lambda v: v > low + still)
        e_hi = _walk(pts, e_hi, +1, lambda v: v <= low + still)
        if pts[e_hi][1] > low + still:
            e_hi -= 1
        first = fit(s_lo, s_hi, -1.0, False)
        last = fit(e_lo, e_hi, -1.0, True)
        if first is not None:
            start = min(first, rep.start_ms)
        if last is not None:
            end = max(last, end_cross) if last <= end_cross + 1500 else end_cross
        arrive = max(arrive, start)
        depart = max(min(depart, end), arrive)
        if not rep.partial and math.isfinite(rep.top_exit_ms):
            got = self._ramp_fit(rep, (start, arrive, depart, end), drift)
            if got is not None:
                return start, got[0], got[1], end
        return start, arrive, depart, end

    def _ramp_fit(
        self, rep: _Rep, guess: tuple[float, float, float, float], drift: float
    ) -> tuple[float, float] | None:
        """The hold (arrival, departure) from a fit of both whole movements (`ramps.fit_rep`),
        or None to keep the corner fits' estimate.

        Used only where it is safe (measured: docs/measurements.md): the fit must explain the
        samples (rms within the noise seen at rest, `_RAMP_RMS`), must find a plateau clearly
        better than a turning point of the same shapes (F >= `_PLATEAU_F`), and its corners may
        not move into a stretch where the signal is clearly moving (more than `_MOVING_SIGMAS`
        noise deviations below the top).
        """
        start, arrive, depart, end = guess
        lo, hi = start - _RAMP_MARGIN_MS, end + _RAMP_MARGIN_MS
        seg = [x for x in rep.samples if lo <= x.t <= hi and math.isfinite(x.raw)]
        rest = sorted(x.raw for x in rep.samples if x.t <= start and math.isfinite(x.raw))
        if len(rest) < 5:
            return None
        med = rest[len(rest) // 2]
        mad = sorted(abs(v - med) for v in rest)[len(rest) // 2]
        sigma = max(1.4826 * mad, _FIT_NOISE_FLOOR)
        ts, vs = [x.t for x in seg], [x.raw for x in seg]
        # the rest before a rep is short and may hold the previous rep's tail, so its spread can
        # read the noise low (0.7 deg at 2.5 deg of noise, 10 fps) and fail a good fit: the rms
        # gate also accepts the noise measured on the rep itself
        rms_sigma = max(sigma, _local_noise(ts, vs))
        # the turning-point fit (a third of the cost) only once the cheaper gates pass
        creep = _CREEP_SHARE * self.profile.hold_still_deg_s
        fit = fit_rep(
            ts, vs, 0.5 * (arrive + depart), max_drift=drift, max_creep=creep, turning=False
        )
        if fit is None or fit.rms > _RAMP_RMS[0] * rms_sigma + _RAMP_RMS[1]:
            return None
        if fit.hold_s < MIN_HOLD_S:
            return None
        # the top level, and the last/first samples clearly below it around the plateau
        top = [x.raw for x in seg if fit.arrive_ms <= x.t <= fit.depart_ms]
        if not top:
            return None
        level = sorted(top)[len(top) // 2]
        moving = [x.t for x in seg if x.raw < level - _MOVING_SIGMAS * sigma]
        a = max((t for t in moving if t < fit.arrive_ms), default=-math.inf)
        d = min((t for t in moving if t > fit.depart_ms), default=math.inf)
        new_a, new_d = max(fit.arrive_ms, a), min(fit.depart_ms, d)
        if (new_d - new_a) / 1000.0 < MIN_HOLD_S:
            return None
        if fit.with_turning(ts, vs).plateau_f < _RAMP_PLATEAU_F:
            return None
        return new_a, new_d

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
            peak_hip = min(hips) if _toward_top(prof) < 0 else max(hips)
        ext_ms = flex_ms = 0.0
        thr = prof.hold_still_deg_s
        for a, b in itertools.pairwise(in_rep):
            if b.v_hip < -thr:
                ext_ms += b.t - a.t
            elif b.v_hip > thr:
                flex_ms += b.t - a.t
        hold = None
        drop = 0.0
        if (depart - arrive) / 1000.0 < MIN_HOLD_S and not rep.partial:
            # no plateau to fit: a rounded top, timed by how long it stays near its peak
            dwell = top_dwell(
                [x.t for x in samples], [x.raw for x in samples], start, end,
                self._bottom_level(rep),
            )
            if dwell is not None:
                arrive, depart = dwell
        if (depart - arrive) / 1000.0 >= MIN_PAUSE_S:
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
            # range of the profile's primary signal (progress units: degrees of that signal,
            # which is hip flexion only for the hip_* signals; knee flexion for a lunge)
            rom_deg=peak_s.p - rep.bottom_p,
            peak_deg=peak_hip,
            concentric_ms=0.0 if rep.from_top else max(0.0, arrive - start),
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
            attempt=rep.attempt,
        )


def _toward_top(prof: ExerciseProfile) -> int:
    """Which way the hip angle goes towards the top: a bridge's top is its least flexed hip
    (-1), a leg raise's or a hinge's its most flexed (+1)."""
    return prof.direction if prof.signal.startswith("hip") else -1

