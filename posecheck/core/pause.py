"""The pause at a rounded top: how long the moving part stays near its highest point.

A rep whose top is a still plateau is timed by the counter's ramp-plateau fit. Many real tops
are rounded instead (a knee raised and lowered, hips that rise, linger and sink): no plateau to
fit, yet a viewer sees the part stop at the top for a moment. Here that moment is the time the
signal stays within `TOP_BAND` of the rep's range of its peak, on a lightly smoothed signal
(`SMOOTH_MS` centred least squares, which keeps the peak and drops the frame jitter). Shorter
than `MIN_PAUSE_S`, the top turned straight round: no pause. A part that passes its peak at
speed has not paused however near the peak it is, so the stretch also needs the part slower than
`SLOW_SHARE` of that movement's top speed (a sharp, linear turn never is).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

TOP_BAND = 0.12  # share of the rep's range below its peak that still reads "at the top"
SMOOTH_MS = 100.0  # half-width of the centred line fit that smooths the signal
MIN_PAUSE_S = 0.2
SLOW_SHARE = 0.7  # a rounded (eased) top is under 0.65 of its speed inside the band


def smooth(
    ts: np.ndarray, vs: np.ndarray, half_ms: float = SMOOTH_MS
) -> tuple[np.ndarray, np.ndarray]:
    """(value, slope per ms) of a least-squares line over each sample's +-`half_ms`."""
    out = vs.astype(float).copy()
    slopes = np.zeros_like(out)
    lo = np.searchsorted(ts, ts - half_ms, side="left")
    hi = np.searchsorted(ts, ts + half_ms, side="right")
    for i, (a, b) in enumerate(zip(lo, hi, strict=True)):
        if b - a >= 3:
            t, v = ts[a:b] - ts[i], vs[a:b]
            tm, vm = t.mean(), v.mean()
            den = ((t - tm) ** 2).sum()
            slope = ((t - tm) * (v - vm)).sum() / den if den > 0 else 0.0
            out[i] = vm - slope * tm
            slopes[i] = slope
    return out, slopes


def top_dwell(
    ts: Sequence[float], vs: Sequence[float], start_ms: float, end_ms: float, bottom: float
) -> tuple[float, float] | None:
    """(start, end) in ms of the stretch around the peak within `TOP_BAND` of the range from
    `bottom`, for the rep between `start_ms` and `end_ms`; None when it is under
    `MIN_PAUSE_S` (a turning point) or the samples cannot say. Values rise towards the top."""
    t = np.asarray(ts, dtype=float)
    v = np.asarray(vs, dtype=float)
    ok = np.isfinite(t) & np.isfinite(v)
    t, v = t[ok], v[ok]
    inside = np.flatnonzero((t >= start_ms) & (t <= end_ms))
    if inside.size < 5:
        return None
    level, slope = smooth(t, v)
    i_peak = int(inside[np.argmax(level[inside])])
    peak = float(level[i_peak])
    if not peak > bottom:
        return None
    floor = peak - TOP_BAND * (peak - bottom)
    i0, i1 = int(inside[0]), int(inside[-1])
    rise = SLOW_SHARE * max(float(slope[i0 : i_peak + 1].max()), 0.0)
    fall = SLOW_SHARE * max(float(-slope[i_peak : i1 + 1].min()), 0.0)
    a = i_peak
    while a > i0 and level[a - 1] >= floor and slope[a - 1] <= rise:
        a -= 1
    d = i_peak
    while d < i1 and level[d + 1] >= floor and -slope[d + 1] <= fall:
        d += 1
    # an edge set by the level lies where the level crosses the floor; one set by the speed
    # (still near the peak, but moving) at the last slow sample
    below_a = a > 0 and level[a - 1] < floor
    below_d = d + 1 < t.size and level[d + 1] < floor
    t_a = _crossing(t, level, a - 1, a, floor) if below_a else float(t[a])
    t_d = _crossing(t, level, d + 1, d, floor) if below_d else float(t[d])
    if (t_d - t_a) / 1000.0 < MIN_PAUSE_S:
        return None
    return t_a, t_d


def _crossing(t: np.ndarray, v: np.ndarray, below: int, above: int, level: float) -> float:
    """Time where the line from sample `below` to sample `above` reaches `level`."""
    dv = v[above] - v[below]
    frac = 1.0 if dv == 0 else min(1.0, max(0.0, (level - v[below]) / dv))
    return float(t[below] + frac * (t[above] - t[below]))
