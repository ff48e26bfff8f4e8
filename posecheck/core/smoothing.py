"""Smoothing of angle signals on a real clock: a One Euro filter plus explicit gap handling.

Why One Euro (Casiez, Roussel & Vogel, CHI 2012): it is a first-order low-pass filter whose
cut-off rises with the signal's speed, so a still hold is smoothed hard (jitter removed, holds
measured as still) while a rep in motion is followed with little lag. It is causal (usable live)
and takes the real time step of every sample, so variable frame rates and dropped frames are
handled by construction: alpha = 1 / (1 + tau / dt) with tau = 1 / (2 pi f_c).

Missing samples (NaN) are never invented silently: `GapBridger` carries the last value over a
short gap and marks it as bridged; past `max_gap_ms` the output is NaN and the filter restarts
from the next real sample, so nothing is smoothed across a long absence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Defaults for hip angles in degrees (see OneEuroFilter):
MIN_CUTOFF_HZ = 1.0
BETA = 0.05
D_CUTOFF_HZ = 1.0
MAX_GAP_MS = 400.0


def _alpha(cutoff_hz: float, dt_s: float) -> float:
    tau = 1.0 / (2.0 * math.pi * cutoff_hz)
    return 1.0 / (1.0 + tau / dt_s)


class OneEuroFilter:
    """Timestamp-aware One Euro filter for one scalar signal.

    Parameters for hip angles in degrees:
    * min_cutoff 1.0 Hz: at rest tau = 0.16 s; at 30 fps alpha = 0.17, which cuts white landmark
      jitter to ~0.3x its σ. Holds and rest positions change slower than 1 Hz.
    * beta 0.05 /deg: at a bridge's peak speed (~80 deg/s for a 1 s rise over 50 deg) the cut-off
      rises to ~5 Hz (tau ~0.03 s), i.e. ~2-3 deg of lag instead of ~13 deg at 1 Hz.
    * d_cutoff 1.0 Hz for the speed estimate, as in the paper.
    Samples with a non-increasing timestamp are ignored (the previous output is returned).
    """

    def __init__(
        self,
        min_cutoff: float = MIN_CUTOFF_HZ,
        beta: float = BETA,
        d_cutoff: float = D_CUTOFF_HZ,
    ) -> None:
        if min_cutoff <= 0 or d_cutoff <= 0 or beta < 0:
            raise ValueError("cut-offs must be > 0 and beta >= 0")
        self.min_cutoff = min_cutoff
        self.beta = beta
        self.d_cutoff = d_cutoff
        self.reset()

    def reset(self) -> None:
        self._x: float | None = None
        self._dx = 0.0
        self._v = 0.0
        self._t: float | None = None

    @property
    def value(self) -> float:
        return math.nan if self._x is None else self._x

    @property
    def velocity(self) -> float:
        """Rate of change of the *filtered* output, itself low-passed at d_cutoff (units/s; 0
        before two samples). This is the speed to judge stillness (holds) by: the filter's
        internal speed estimate is taken from raw samples and carries their jitter."""
        return self._v

    def __call__(self, x: float, t_s: float) -> float:
        if not math.isfinite(x):
            raise ValueError("OneEuroFilter takes finite samples; handle gaps with GapBridger")
        if self._x is None or self._t is None:
            self._x, self._t, self._dx, self._v = float(x), float(t_s), 0.0, 0.0
            return self._x
        dt = t_s - self._t
        if dt <= 0:
            return self._x
        dx = (x - self._x) / dt
        self._dx += _alpha(self.d_cutoff, dt) * (dx - self._dx)
        cutoff = self.min_cutoff + self.beta * abs(self._dx)
        prev = self._x
        self._x += _alpha(cutoff, dt) * (x - self._x)
        self._v += _alpha(self.d_cutoff, dt) * ((self._x - prev) / dt - self._v)
        self._t = float(t_s)
        return self._x


@dataclass(frozen=True)
class Sample:
    """One smoothed output."""

    value: float  # NaN when unknown
    bridged: bool  # carried over a short gap, not measured
    velocity: float  # units per second (0 while bridged or unknown)
    reset: bool = False  # the filter restarted at this sample (first sample after a long gap)


class GapBridger:
    """Holds the last good value across NaN samples for at most `max_gap_ms`.

    Holding (rather than extrapolating) is the honest causal choice: a counter must not see a
    rep completed by a guess; after the gap the filter continues from real data. The default
    400 ms covers typical detector blinks (1-10 frames) and stays below the counter's
    `max_lost_s` (0.6 s), after which a rep in progress is abandoned anyway.
    """

    def __init__(self, max_gap_ms: float = MAX_GAP_MS) -> None:
        self.max_gap_ms = max_gap_ms
        self._last_value: float | None = None
        self._last_t: float | None = None
        self.expired = True  # no value yet, or the last gap was too long

    def update(self, t_ms: float, x: float) -> tuple[float, bool]:
        """(value, bridged). A finite `x` passes through; NaN returns the held value (bridged)
        while the gap is short, else NaN."""
        if math.isfinite(x):
            self._last_value, self._last_t = float(x), float(t_ms)
            self.expired = False
            return float(x), False
        if self._last_t is None or t_ms - self._last_t > self.max_gap_ms:
            self.expired = True
            return math.nan, False
        return float(self._last_value), True  # type: ignore[arg-type]


class SignalSmoother:
    """One Euro filter + gap bridging for one signal; NaN input means "not measured"."""

    def __init__(
        self,
        min_cutoff: float = MIN_CUTOFF_HZ,
        beta: float = BETA,
        d_cutoff: float = D_CUTOFF_HZ,
        max_gap_ms: float = MAX_GAP_MS,
    ) -> None:
        self.filter = OneEuroFilter(min_cutoff, beta, d_cutoff)
        self.max_gap_ms = max_gap_ms
        self._last_good_t: float | None = None
        self._last_out: float = math.nan

    def reset(self) -> None:
        self.filter.reset()
        self._last_good_t = None
        self._last_out = math.nan

    def update(self, t_ms: float, x: float) -> Sample:
        if x is not None and math.isfinite(x):
            reset = False
            if self._last_good_t is not None and t_ms - self._last_good_t > self.max_gap_ms:
                self.filter.reset()  # do not smooth across a long absence
                reset = True
            elif self._last_good_t is None:
                reset = True
            self._last_good_t = float(t_ms)
            self._last_out = self.filter(float(x), t_ms / 1000.0)
            return Sample(self._last_out, False, self.filter.velocity, reset)
        if self._last_good_t is not None and t_ms - self._last_good_t <= self.max_gap_ms:
            return Sample(self._last_out, True, 0.0)
        return Sample(math.nan, False, 0.0)


class SmootherBank:
    """One `SignalSmoother` per named signal (e.g. "left", "right", "primary")."""

    def __init__(self, **kwargs: float) -> None:
        self._kwargs = kwargs
        self._smoothers: dict[str, SignalSmoother] = {}

    def update(self, t_ms: float, values: dict[str, float]) -> dict[str, Sample]:
        out = {}
        for key, x in values.items():
            sm = self._smoothers.get(key)
            if sm is None:
                sm = self._smoothers[key] = SignalSmoother(**self._kwargs)
            out[key] = sm.update(t_ms, x)
        return out

    def reset(self) -> None:
        for sm in self._smoothers.values():
            sm.reset()


def bridge_gaps(
    times_ms: list[float] | tuple[float, ...],
    values: list[float] | tuple[float, ...],
    max_gap_ms: float = MAX_GAP_MS,
) -> tuple[list[float], list[bool]]:
    """Offline gap filling: linear interpolation across NaN runs no longer than `max_gap_ms`
    (measured between the good samples around the gap). Returns (values, bridged flags)."""
    out = list(values)
    flags = [False] * len(out)
    n = len(out)
    i = 0
    while i < n:
        if math.isfinite(out[i]):
            i += 1
            continue
        j = i
        while j < n and not math.isfinite(out[j]):
            j += 1
        if i > 0 and j < n and times_ms[j] - times_ms[i - 1] <= max_gap_ms:
            t0, t1, v0, v1 = times_ms[i - 1], times_ms[j], out[i - 1], out[j]
            for k in range(i, j):
                out[k] = v0 + (v1 - v0) * (times_ms[k] - t0) / (t1 - t0)
                flags[k] = True
        i = j
    return out, flags


# Joint angles cannot jump: a hip or knee moving faster than this (plus one frame's jitter) is a
# landmark glitch (a limb mislabelled or misplaced for a few frames), not a movement. Hips in the
# fastest profile movement (a 0.25 s knee drive over 60-90°) peak at ≈500°/s.
MAX_ANGLE_RATE_DEG_S = 600.0
ANGLE_JITTER_DEG = 15.0
GLITCH_MAX_MS = 300.0  # a new level that persists this long is real (a cut, a re-lock): accept


class JumpGate:
    """Drops samples of one angle that jump faster than a joint can move (a glitch of a few
    frames: the model mislabels or misplaces a limb, or briefly tracks a rotated copy), so a
    glitch is a short gap, not a swing through both zones. A jump that persists for
    `max_ms` is accepted (a cut, a re-acquired person)."""

    def __init__(
        self,
        rate_deg_s: float = MAX_ANGLE_RATE_DEG_S,
        jitter_deg: float = ANGLE_JITTER_DEG,
        max_ms: float = GLITCH_MAX_MS,
    ) -> None:
        self.rate, self.jitter, self.max_ms = rate_deg_s, jitter_deg, max_ms
        self._last: float | None = None
        self._last_t = 0.0
        self._rejected_since: float | None = None

    def update(self, t_ms: float, value: float) -> float:
        if not math.isfinite(value):
            return value
        if self._last is not None:
            allowed = self.jitter + self.rate * max(0.0, t_ms - self._last_t) / 1000.0
            if abs(value - self._last) > allowed:
                if self._rejected_since is None:
                    self._rejected_since = t_ms
                if t_ms - self._rejected_since < self.max_ms:
                    return math.nan
        self._last, self._last_t, self._rejected_since = value, t_ms, None
        return value
