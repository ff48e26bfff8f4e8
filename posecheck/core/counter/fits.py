"""Fitting: the pure numerics the counter times movements with.

A least-squares slope over a trailing window (`SlopeEstimator`, the live velocity); where a
movement meets a still level (`_corner`: a ramp-plateau fit, abrupt or quadratic stop, no easing
assumed); both corners of a rep's top (`_top_fit`: ramp-plateau-ramp, or a turning point); and
the small helpers around them (`_cross`, `_walk`, `_slope_of`, `_local_noise`). They know
nothing of reps or profiles: values in, times out.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Sequence

import numpy as np

from posecheck.core.counter.records import MIN_HOLD_S


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


def _cross(t0: float, v0: float, t1: float, v1: float, level: float) -> float:
    """Time at which a linear segment (t0,v0)-(t1,v1) crosses `level` (clamped to the segment)."""
    if not (math.isfinite(v0) and math.isfinite(v1)) or v1 == v0:
        return t1
    frac = (level - v0) / (v1 - v0)
    return t0 + min(1.0, max(0.0, frac)) * (t1 - t0)


_FIT_BAND = 0.35  # a corner is fitted on the part of its ramp within this fraction of the ROM
_FIT_GRID = 80  # candidate corner times per fit
_FIT_NOISE_FLOOR = 0.2  # deg: below this, residuals are the model's shape error, not noise
_PLATEAU_F = 10.0  # F statistic a still top needs over a turning point
_K1 = (1.0, 2.0)
_K2 = (1.0, 2.0)
_ABRUPT_PENALTY = 10.0


def _corner(
    ts: Sequence[float], ps: Sequence[float], plateau_after: bool, max_drift: float = 20.0
) -> float | None:
    """Time (ms) where a movement meets a still level: the corner of a ramp-plateau fit.

    Model, for a corner at time c: on the plateau side p = L + b * |t - c| (a level that may
    drift slowly, |b| <= `max_drift` units/s over at least MIN_HOLD_S: hips sagging during a
    hold; or b = 0); on the ramp side p = L - a * |t - c|^k. k = 1 is an abrupt stop
    (or start) at constant speed; k = 2 is any smooth stop, because near the instant a
    movement's speed reaches zero its distance to the end position is quadratic in time
    (Taylor), whatever the easing. L, b, a are linear least squares for each candidate c; c
    and k are chosen by the smallest squared error. The plateau is on the right of the ramp
    when `plateau_after` (an arrival), else on the left (a departure). Values must be oriented
    so that the plateau lies above the ramp. None when the samples cannot support a fit.
    """
    t = np.asarray(ts, dtype=float)
    p = np.asarray(ps, dtype=float)
    ok = np.isfinite(t) & np.isfinite(p)
    t, p = t[ok], p[ok]
    if t.size < 4 or t[-1] <= t[0]:
        return None
    t0 = t[0]
    x = (t - t0) / 1000.0  # seconds, for conditioning
    cands = np.linspace(x[0], x[-1], _FIT_GRID)
    u = (x[None, :] - cands[:, None]) * (1.0 if plateau_after else -1.0)  # >= 0 on the plateau
    on_plateau = (u >= 0).sum(axis=1)
    valid = (on_plateau >= 1) & (u.shape[1] - on_plateau >= 2)
    plateau_span = np.where(u >= 0, u, 0.0).max(axis=1)  # seconds of plateau in the window
    if not valid.any():
        return None
    best: tuple[float, float] | None = None
    for k, drift in ((1.0, False), (2.0, False), (1.0, True), (2.0, True)):
        ramp = -(np.maximum(-u, 0.0) ** k)
        level = np.maximum(u, 0.0) if drift else np.zeros_like(u)
        cols = np.stack([np.ones_like(u), ramp, level], axis=2)
        ridge = np.diag([1e-9, 1e-9, 1e-9 if drift else 1.0])
        ct = cols.transpose(0, 2, 1)  # batched matmul: far faster than einsum here
        xtx = ct @ cols + ridge
        xty = ct @ p
        coef = np.linalg.solve(xtx, xty[..., None])[..., 0]
        resid = p[None, :] - (cols @ coef[..., None])[..., 0]
        sse = (resid**2).sum(axis=1)
        ok_fit = valid & (coef[:, 1] > 0)
        if drift:  # a still level may drift only slowly, and needs samples to show it
            ok_fit &= (np.abs(coef[:, 2]) <= max_drift) & (plateau_span >= MIN_HOLD_S)
        sse = np.where(ok_fit, sse, np.inf)
        i = int(np.argmin(sse))
        if np.isfinite(sse[i]) and (best is None or sse[i] < best[0] - 1e-12):
            best = (float(sse[i]), float(cands[i]))
    if best is None:
        return None
    return t0 + best[1] * 1000.0


def _top_fit(
    ts: Sequence[float], ps: Sequence[float], max_drift: float = 10.0
) -> tuple[float, float] | None:
    """(arrival, departure) in ms: the two corners of a ramp-plateau-ramp fit of a rep's top.

    Model: p = L + b * clip(t - c1, 0, c2 - c1) - a1 * max(0, c1 - t)^k1 - a2 * max(0, t - c2)^k2
    with c1 <= c2 (c1 == c2: a turning point, no hold). Each ramp is abrupt (k = 1, constant
    speed into the stop) or smooth (k = 2: near the instant any smooth movement stops, its
    distance to the end position is quadratic in time, whatever the easing). The level may
    drift slowly (|b| <= `max_drift` units/s, hips sagging during a hold) or not at all. Linear
    least squares for (L, b, a1, a2) on a grid of (c1, c2), coarse then fine; the smallest
    squared error wins. Values must be oriented so that the plateau is the top. None when the
    samples cannot support a fit.
    """
    t = np.asarray(ts, dtype=float)
    p = np.asarray(ps, dtype=float)
    ok = np.isfinite(t) & np.isfinite(p)
    t, p = t[ok], p[ok]
    if t.size < 5 or t[-1] <= t[0]:
        return None
    t0 = t[0]
    x = (t - t0) / 1000.0

    def solve(c1: np.ndarray, c2: np.ndarray) -> tuple[float, float, float] | None:
        """Best (sse, c1, c2) over candidate corner pairs."""
        d1 = np.maximum(c1[:, None] - x[None, :], 0.0)
        d2 = np.maximum(x[None, :] - c2[:, None], 0.0)
        flat = np.clip(x[None, :] - c1[:, None], 0.0, (c2 - c1)[:, None])
        valid = ((d1 > 0).sum(axis=1) >= 2) & ((d2 > 0).sum(axis=1) >= 2)
        fits: list[tuple[float, float, float, int]] = []  # (sse, c1, c2, abrupt corners)
        for k1, k2, drift in itertools.product(_K1, _K2, (False, True)):
            cols = [np.ones_like(d1), -(d1**k1), -(d2**k2)] + ([flat] if drift else [])
            m = np.stack(cols, axis=2)
            mt = m.transpose(0, 2, 1)  # batched matmul: far faster than einsum here
            xtx = mt @ m + np.eye(m.shape[2]) * 1e-9
            xty = mt @ p
            coef = np.linalg.solve(xtx, xty[..., None])[..., 0]
            sse = ((p[None, :] - (m @ coef[..., None])[..., 0]) ** 2).sum(axis=1)
            good = valid & (coef[:, 1] > 0) & (coef[:, 2] > 0)
            if drift:  # a sag needs a hold long enough to show it, and must be slow
                good &= (np.abs(coef[:, 3]) <= max_drift) & (c2 - c1 >= 2 * MIN_HOLD_S)
            sse = np.where(good, sse, np.inf)
            i = int(np.argmin(sse))
            if np.isfinite(sse[i]):
                fits.append((float(sse[i]), float(c1[i]), float(c2[i]), (k1 == 1) + (k2 == 1)))
        if not fits:
            return None
        # People stop smoothly (k = 2); an abrupt stop (k = 1) must earn its place: with noise
        # an abrupt corner placed early in an eased arrival's tail can fit a little better by
        # chance, starting the hold too soon. Penalty: _ABRUPT_PENALTY noise variances each.
        var = max(min(f[0] for f in fits) / max(x.size - 6, 1), _FIT_NOISE_FLOOR**2)
        _, c1_, c2_, _ = min(fits, key=lambda f: f[0] + _ABRUPT_PENALTY * var * f[3])
        # the penalty chooses where the corners are, not whether the model explains the data:
        # the plateau-or-turning-point test below compares each model's best error
        return min(f[0] for f in fits), c1_, c2_

    def refine(best: tuple[float, float, float], step: float, turning: bool):
        f1 = np.linspace(best[1] - step, best[1] + step, 13)
        if turning:
            return solve(f1, f1) or best
        f2 = np.linspace(best[2] - step, best[2] + step, 13)
        g1, g2 = np.meshgrid(f1, f2, indexing="ij")
        keep = g2 >= g1
        return solve(g1[keep], g2[keep]) or best

    grid = np.linspace(x[0], x[-1], 32)
    step = float(grid[1] - grid[0])
    g1, g2 = np.meshgrid(grid, grid, indexing="ij")
    keep = g2 > g1
    held = solve(g1[keep], g2[keep])
    turn = solve(grid, grid)
    if turn is not None:
        turn = refine(turn, step, True)
    if held is not None:
        held = refine(held, step, False)
    if held is None and turn is None:
        return None
    # A plateau is two more parameters than a turning point: take it only when it explains
    # clearly more than the noise (F-test, 2 and n - 6 degrees of freedom, ~p < 0.001).
    if held is not None and turn is not None:
        noise = max(held[0] / max(x.size - 6, 1), _FIT_NOISE_FLOOR**2)
        if (turn[0] - held[0]) / 2 / noise < _PLATEAU_F:
            held = None
    best = held if held is not None else turn
    assert best is not None
    return t0 + best[1] * 1000.0, t0 + best[2] * 1000.0


def _walk(pts: list[tuple[float, float]], i: int, step: int, keep, max_ms: float = 1500.0) -> int:
    """Walk from index i by `step` while `keep(value)` holds (and within `max_ms` of the start);
    returns the first index where it stops holding, or the last index walked."""
    t0 = pts[i][0]
    while 0 <= i + step < len(pts) and abs(pts[i + step][0] - t0) <= max_ms:
        i += step
        if not keep(pts[i][1]):
            return i
    return i



def _slope_of(points: list[tuple[float, float]]) -> float:
    """Least-squares slope (per ms) of (t, v) points."""
    n = len(points)
    tm = sum(t for t, _ in points) / n
    vm = sum(v for _, v in points) / n
    den = sum((t - tm) ** 2 for t, _ in points)
    return sum((t - tm) * (v - vm) for t, v in points) / den if den > 0 else 0.0


def _local_noise(ts: Sequence[float], vs: Sequence[float]) -> float:
    """Robust per-sample noise deviation of a signal that is locally linear: each sample's
    distance from the line through its neighbours, scaled to one sample's deviation (MAD).
    Ramps and plateaus are straight to within the noise between neighbours, so they do not
    inflate it; corners are few and the median ignores them."""
    t, v = np.asarray(ts, dtype=float), np.asarray(vs, dtype=float)
    if t.size < 5:
        return 0.0
    w = (t[1:-1] - t[:-2]) / np.maximum(t[2:] - t[:-2], 1e-9)
    r = v[1:-1] - (v[:-2] + w * (v[2:] - v[:-2]))
    r /= np.sqrt(1.0 + w**2 + (1.0 - w) ** 2)
    return float(1.4826 * np.median(np.abs(r)))
