"""Where a rep's movements start and stop: a parametric fit of each point-to-point movement.

Why a fit of the whole movement: near the end of a slow eased movement the signal differs from
where it stops by less than the per-frame noise, so no threshold or local corner can place the
stop to 0.1 s. The whole movement carries the information: once its shape is known, its steep
middle pins its duration and so its ends (figures: docs/measurements.md, "Hold edges").

Human point-to-point movements are close to minimum jerk (Flash & Hogan 1985); reps are also
cosine-eased or abrupt (near constant speed). Each movement is fitted with each of these shapes
(`SHAPES`) and the best least-squares fit is kept; a shape outside the family is fitted by its
nearest member, its ends then off by a fraction of its duration (measured in the tests).

Model of one rep (x in seconds; g1, g2 the rise and the fall, each a shape of
u = clip((x - start) / (end - start), 0, 1)):

    p = B (1 - g1) + L (g1 - g2) + B2 g2 + b * clip(x - arrive, 0, depart - arrive) * (1 - g2)

B, L, B2: rest, top and rest-after levels; b: a slow drift of the top during a hold, down by up
to `max_drift` per second (hips sagging: a fault the cue rules report, still a hold) and up by
at most `max_creep`, far slower (a pose model's estimate of a still top converging upwards).
For fixed times and shapes these are linear least squares; the four times are searched on
grids, each movement on its own side of the peak, then both by coordinate descent. When the
samples stop soon after the fall, B2 = B: without samples of the new rest the fall's end is not
determined, and people return to where they started.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

Shape = Callable[[np.ndarray], np.ndarray]

SHAPES: dict[str, Shape] = {
    "linear": lambda u: u,
    "cosine": lambda u: 0.5 - 0.5 * np.cos(np.pi * u),
    "minimum_jerk": lambda u: u**3 * (10.0 + u * (-15.0 + 6.0 * u)),
}
MIN_MOVE_S = 0.15  # shortest movement considered
_COARSE = 20  # grid points per time in the first, one-sided search
_FINE = 9  # grid points per time in each refinement
_UNTIE_S = 0.3  # samples of rest needed after the fall to fit its own level
_UPPER_FROM = 0.5  # the upper fit keeps each movement from its steepest point (its middle) on
_UPPER_MIN = 4  # ... when each of those upper halves holds this many samples


@dataclass(frozen=True)
class RepFit:
    """Fitted times (ms) of one rep's two movements, and their shapes."""

    start_ms: float
    arrive_ms: float
    depart_ms: float
    end_ms: float
    rise_shape: str
    fall_shape: str
    rms: float  # residual root mean square, signal units
    n: int = 0  # samples fitted
    sse: float = float("nan")  # squared error of this fit (with its plateau)
    turn_sse: float = float("nan")  # the best fit of the same shapes with no plateau at all
    # what `with_turning` needs to fit the turning point later: (tie, rise, fall) of the best
    # shapes (the times above are averaged over shapes)
    best: tuple[bool, tuple[float, float, str], tuple[float, float, str]] | None = None

    @property
    def plateau_f(self) -> float:
        """F statistic of the plateau over a turning point (2 and n - 8 degrees of freedom):
        how much better a still top explains the samples than an immediate return."""
        var = max(self.sse / max(self.n - 8, 1), 1e-9)
        return (self.turn_sse - self.sse) / 2.0 / var

    @property
    def hold_s(self) -> float:
        return (self.depart_ms - self.arrive_ms) / 1000.0

    def with_turning(self, t_ms: Sequence[float], values: Sequence[float]) -> RepFit:
        """This fit with `turn_sse` filled in (the same samples as the fit): a third of the
        fit's cost, so a caller whose cheaper gates already reject the fit can skip it."""
        if self.best is None or np.isfinite(self.turn_sse):
            return self
        tie, (rs, re, rshape), (fs, fe, fshape) = self.best
        t = np.asarray(t_ms, dtype=float)
        y = np.asarray(values, dtype=float)
        ok = np.isfinite(t) & np.isfinite(y)
        t, y = t[ok], y[ok]
        prob = _Problem((t - t[0]) / 1000.0, y, tie, 0.0, np.inf)
        turn = _turning_sse(prob, _Ramp(rs, re, rshape), _Ramp(fs, fe, fshape))
        return replace(self, turn_sse=turn)


@dataclass
class _Ramp:
    start: float
    end: float
    shape: str
    sse: float = np.inf

    def g(self, x: np.ndarray) -> np.ndarray:
        return _g(SHAPES[self.shape], x, np.array([self.start]), np.array([self.end]))[0]


def _g(shape: Shape, x: np.ndarray, s: np.ndarray, e: np.ndarray) -> np.ndarray:
    """(K, n) ramp values for K candidate (start, end) pairs."""
    u = (x[None, :] - s[:, None]) / np.maximum(e - s, 1e-6)[:, None]
    return shape(np.clip(u, 0.0, 1.0))


def _sse(
    y: np.ndarray,
    g1: np.ndarray,
    g2: np.ndarray,
    hold: np.ndarray,
    tie: bool,
    max_drift: float,
    min_drift_hold: float,
    hold_len: np.ndarray,
    rest: tuple[float, float] | None = None,
    max_creep: float = 0.0,
) -> np.ndarray:
    """Least-squares error of the rep model for K candidates (g1, g2, hold term: (K, n)).

    rest: the rest levels before and after (B, B2), fixed; only the top L (and the sag) are
    fitted then (the samples of a top-part fit do not determine the rests)."""
    k = max(g1.shape[0], g2.shape[0], hold.shape[0])
    g1, g2 = np.broadcast_to(g1, (k, y.size)), np.broadcast_to(g2, (k, y.size))
    hold = np.broadcast_to(hold, (k, y.size))
    if rest is not None:
        return _sse_fixed_rest(
            y, g1, g2, hold, rest, max_drift, min_drift_hold, hold_len, max_creep
        )
    cols = [1.0 - g1 + g2, g1 - g2] if tie else [1.0 - g1, g1 - g2, g2]
    best = np.full(k, np.inf)
    # the sag term only where some candidate's hold can carry it (the turning-point search has
    # none): the drift fit is half of this, the fit's inner loop
    for drift in (False, True) if np.any(hold_len >= min_drift_hold) else (False,):
        m = np.stack(cols + ([hold] if drift else []), axis=2)
        mt = m.transpose(0, 2, 1)
        xtx = mt @ m + np.eye(m.shape[2]) * 1e-9
        coef = np.linalg.solve(xtx, (mt @ y)[..., None])[..., 0]
        sse = ((y[None, :] - (m @ coef[..., None])[..., 0]) ** 2).sum(axis=1)
        ok = coef[:, 1] > coef[:, 0]  # the top is above the rest before it
        if not tie:
            ok &= coef[:, 1] > coef[:, 2]
        if drift:
            ok &= (coef[:, -1] <= max_creep) & (coef[:, -1] >= -max_drift)
            ok &= hold_len >= min_drift_hold
        best = np.minimum(best, np.where(ok, sse, np.inf))
    return best


def _sse_fixed_rest(
    y: np.ndarray,
    g1: np.ndarray,
    g2: np.ndarray,
    hold: np.ndarray,
    rest: tuple[float, float],
    max_drift: float,
    min_drift_hold: float,
    hold_len: np.ndarray,
    max_creep: float = 0.0,
) -> np.ndarray:
    """`_sse` with the rest levels fixed: y - B (1 - g1) - B2 g2 = L (g1 - g2) [+ b hold]."""
    b1, b2 = rest
    r = y[None, :] - b1 * (1.0 - g1) - b2 * g2
    best = np.full(g1.shape[0], np.inf)
    for drift in (False, True) if np.any(hold_len >= min_drift_hold) else (False,):
        m = np.stack([g1 - g2] + ([hold] if drift else []), axis=2)
        mt = m.transpose(0, 2, 1)
        xtx = mt @ m + np.eye(m.shape[2]) * 1e-9
        coef = np.linalg.solve(xtx, (mt @ r[..., None]))[..., 0]
        sse = ((r - (m @ coef[..., None])[..., 0]) ** 2).sum(axis=1)
        ok = coef[:, 0] > max(b1, b2)
        if drift:
            ok &= (coef[:, -1] <= max_creep) & (coef[:, -1] >= -max_drift)
            ok &= hold_len >= min_drift_hold
        best = np.minimum(best, np.where(ok, sse, np.inf))
    return best


class _Problem:
    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        tie: bool,
        max_drift: float,
        min_drift_hold: float,
        rest: tuple[float, float] | None = None,
        max_creep: float = 0.0,
    ) -> None:
        self.x, self.y, self.tie = x, y, tie
        self.max_drift, self.min_drift_hold = max_drift, min_drift_hold
        self.rest = rest
        self.max_creep = max_creep

    def search(
        self,
        rising: bool,
        other: _Ramp | None,
        s_grid: np.ndarray,
        e_grid: np.ndarray,
        mask: np.ndarray | None = None,
        shapes: Sequence[str] | None = None,
    ) -> dict[str, _Ramp]:
        """Best ramp of each shape over the grid, the other movement fixed (None: absent)."""
        x, y = (self.x, self.y) if mask is None else (self.x[mask], self.y[mask])
        if x.size < 4:
            return {}
        s, e = np.meshgrid(s_grid, e_grid, indexing="ij")
        s, e = s.ravel(), e.ravel()
        keep = e - s >= MIN_MOVE_S
        if other is not None:  # the rise ends before the fall starts
            keep &= (e <= other.start) if rising else (s >= other.end)
        s, e = s[keep], e[keep]
        if s.size == 0:
            return {}
        if other is None:
            g_other = np.zeros((1, x.size)) if rising else np.ones((1, x.size))
            arrive_fixed, depart_fixed = x[0], x[-1]
        else:
            g_other = other.g(x)[None, :]
            arrive_fixed, depart_fixed = other.end, other.start
        best: dict[str, _Ramp] = {}
        for name in SHAPES if shapes is None else shapes:
            g = _g(SHAPES[name], x, s, e)
            if rising:
                arrive, depart = e, np.full_like(e, depart_fixed)
                g1, g2 = g, g_other
            else:
                arrive, depart = np.full_like(s, arrive_fixed), s
                g1, g2 = g_other, g
            span = np.maximum(depart - arrive, 0.0)
            hold = np.clip(x[None, :] - arrive[:, None], 0.0, span[:, None]) * (1.0 - g2)
            sse = _sse(
                y,
                g1,
                g2,
                hold,
                self.tie or other is None,
                self.max_drift,
                self.min_drift_hold,
                span,
                self.rest,
                self.max_creep,
            )
            i = int(np.argmin(sse))
            if np.isfinite(sse[i]):
                best[name] = _Ramp(float(s[i]), float(e[i]), name, float(sse[i]))
        return best

    def refine(
        self,
        ramp: _Ramp,
        rising: bool,
        other: _Ramp | None,
        step: float,
        rounds: int,
        mask: np.ndarray | None = None,
    ) -> _Ramp:
        for _ in range(rounds):
            off = np.linspace(-step, step, _FINE)
            got = self.search(rising, other, ramp.start + off, ramp.end + off, mask, (ramp.shape,))
            if ramp.shape in got and got[ramp.shape].sse <= ramp.sse + 1e-9:
                ramp = got[ramp.shape]
            step /= 3.0
        return ramp


def fit_rep(
    t_ms: Sequence[float],
    values: Sequence[float],
    t_peak_ms: float,
    *,
    max_drift: float = 10.0,
    max_creep: float = 2.0,
    min_drift_hold_s: float = 0.5,
    turning: bool = True,
    upper: bool = True,
) -> RepFit | None:
    """Fit one rep (rest, rise, top, fall, rest) to samples oriented so the top is up.

    `t_peak_ms` is any time on the top (or the turning point): the first search fits the rise
    on the samples before it and the fall on those after. `max_drift` / `max_creep`: how fast
    (units/s) the top may sag / rise while held (module doc). None when the samples cannot
    support a fit (too few on either side). turning=False leaves `turn_sse` (and so
    `plateau_f`) NaN until `RepFit.with_turning`. upper=False times the hold from the whole
    movements' fit instead of their upper halves' (`_upper_fit`).
    """
    t = np.asarray(t_ms, dtype=float)
    y = np.asarray(values, dtype=float)
    ok = np.isfinite(t) & np.isfinite(y)
    t, y = t[ok], y[ok]
    if t.size < 10:
        return None
    t0 = t[0]
    x = (t - t0) / 1000.0
    xp = (t_peak_ms - t0) / 1000.0
    before, after = x <= xp, x >= xp
    if before.sum() < 4 or after.sum() < 4:
        return None
    prob = _Problem(x, y, True, max_drift, min_drift_hold_s, max_creep=max_creep)
    # 1. each movement on its own side of the peak: coarse grid over the whole side, then
    # finer around the best of each shape (shapes keep their own optimum: a coarse grid can
    # favour the wrong shape only because it misses the right one's best times)
    lo, hi = x[0], x[-1]
    rs = np.linspace(lo, xp, _COARSE)
    re = np.linspace(lo + MIN_MOVE_S, xp, _COARSE)
    fs = np.linspace(xp, hi - MIN_MOVE_S, _COARSE)
    fe = np.linspace(xp, hi, _COARSE)
    rises = prob.search(True, None, rs, re, before)
    falls = prob.search(False, None, fs, fe, after)
    if not rises or not falls:
        return None
    rises = {
        k: prob.refine(r, True, None, float(rs[1] - rs[0]), 3, before) for k, r in rises.items()
    }
    falls = {
        k: prob.refine(f, False, None, float(fs[1] - fs[0]), 3, after) for k, f in falls.items()
    }
    # 2. together, on all samples: each shape's ramp refined with the other movement fixed at
    # its current best
    prob.tie = hi - _best(falls).end < _UNTIE_S
    for step in (0.1, 0.03):
        fall = _best(falls)
        rises = {
            k: prob.refine(_rescored(prob, r, True, fall), True, fall, step, 2)
            for k, r in rises.items()
        }
        rise = _best(rises)
        falls = {
            k: prob.refine(_rescored(prob, f, False, rise), False, rise, step, 2)
            for k, f in falls.items()
        }
    rise, fall = _best(rises), _best(falls)
    sse = min(rise.sse, fall.sse)
    var = max(sse / max(x.size - 8, 1), 1e-6)
    start, arrive = _averaged(rises, var)
    depart, end = _averaged(falls, var)
    if upper:
        got = _upper_fit(prob, rise, fall)
        if got is not None:
            arrive, depart = got
    depart = max(depart, arrive)
    return RepFit(
        start_ms=t0 + start * 1000.0,
        arrive_ms=t0 + arrive * 1000.0,
        depart_ms=t0 + depart * 1000.0,
        end_ms=t0 + end * 1000.0,
        rise_shape=rise.shape,
        fall_shape=fall.shape,
        rms=float(np.sqrt(sse / x.size)) if np.isfinite(sse) else float("nan"),
        n=int(x.size),
        sse=float(sse),
        turn_sse=_turning_sse(prob, rise, fall) if turning else float("nan"),
        best=(prob.tie, (rise.start, rise.end, rise.shape), (fall.start, fall.end, fall.shape)),
    )


def _upper_fit(prob: _Problem, rise: _Ramp, fall: _Ramp) -> tuple[float, float] | None:
    """(arrive, depart) in s from the upper halves of the two movements only.

    Why: the shapes are symmetric (a movement's far end eased like the end at the hold), but
    measured movements need not be: a pose model's temporal filter lags a movement out of a
    still posture (rendered bridges: the first ~0.1 s of each movement 0.06-0.08 s late, the
    stops on time), so the whole-movement fit read both movements as minimum jerk (a slow
    start) for cosine ones and put the stops at that shape's long flat tails: the arrival late
    and the departure early, 2 s holds 0.08-0.11 s short. Here each movement's shape and times
    come from its half next to the hold (from its steepest point to the still top), the rests
    from the whole fit, fixed: the rise's onset no longer moves the arrival, and the departure
    carries the same lag as the arrival (rendered corpus: both edges 0.05-0.06 s late, the
    model's own latency; durations unbiased)."""
    x, y = prob.x, prob.y
    g1, g2 = rise.g(x), fall.g(x)
    cols = np.stack([1.0 - g1 + g2, g1 - g2] if prob.tie else [1.0 - g1, g1 - g2, g2], axis=1)
    coef = np.linalg.lstsq(cols, y, rcond=None)[0]
    rest = (float(coef[0]), float(coef[0] if prob.tie else coef[2]))
    q = _UPPER_FROM
    r_mid, f_mid = rise.start + q * (rise.end - rise.start), fall.end - q * (fall.end - fall.start)
    mask = (x >= r_mid) & (x <= f_mid)
    r_n = int(((x >= r_mid) & (x < rise.end)).sum())
    f_n = int(((x > fall.start) & (x <= f_mid)).sum())
    if min(r_n, f_n) < _UPPER_MIN:  # too few to tell a shape (10 fps, 0.6 s): the whole fit
        return None
    up = _Problem(x, y, prob.tie, prob.max_drift, prob.min_drift_hold, rest, prob.max_creep)
    rises: dict[str, _Ramp] = {}
    for name in SHAPES:
        r = _rescored(up, _Ramp(rise.start, rise.end, name), True, fall, mask)
        rises[name] = up.refine(r, True, fall, 0.1, 3, mask)
    new_rise = _best(rises)
    falls: dict[str, _Ramp] = {}
    for name in SHAPES:
        f = _rescored(up, _Ramp(fall.start, fall.end, name), False, new_rise, mask)
        falls[name] = up.refine(f, False, new_rise, 0.1, 3, mask)
    if not all(np.isfinite(r.sse) for r in (*rises.values(), *falls.values())):
        return None
    var = max(min(_best(falls).sse, new_rise.sse) / max(int(mask.sum()) - 6, 1), 1e-6)
    return _averaged(rises, var)[1], _averaged(falls, var)[0]


def _turning_sse(prob: _Problem, rise: _Ramp, fall: _Ramp) -> float:
    """Least squared error of the rep with no plateau: the rise ends where the fall starts.

    Every pair of shapes; the turning time on a grid across the fitted top (and a little
    beyond), each movement's far end around its fitted value; then a finer grid around the best.
    """
    x, y = prob.x, prob.y
    mid = 0.5 * (rise.end + fall.start)
    half = 0.5 * (fall.start - rise.end) + 0.3
    c0 = np.linspace(mid - half, mid + half, 11)
    s0 = rise.start + np.linspace(-0.6, 0.6, 7)
    e0 = fall.end + np.linspace(-0.6, 0.6, 7)
    best, arg = np.inf, (mid, rise.start, fall.end, rise.shape, fall.shape)
    for step in (1.0, 0.25, 0.06):
        if step < 1.0:
            c_b, s_b, e_b = arg[:3]
            c0 = c_b + np.linspace(-1, 1, 9) * step * half
            s0 = s_b + np.linspace(-1, 1, 7) * step * 0.6
            e0 = e_b + np.linspace(-1, 1, 7) * step * 0.6
        c, s, e = (a.ravel() for a in np.meshgrid(c0, s0, e0, indexing="ij"))
        keep = (c - s >= MIN_MOVE_S) & (e - c >= MIN_MOVE_S)
        c, s, e = c[keep], s[keep], e[keep]
        if c.size == 0:
            break
        # the fitted pair and each shape on both sides, not all nine pairs (2.5x cheaper; a
        # mixed pair can fit a plateau's top better and lower F, but on turning points F stayed
        # below 4 either way: 2 s ramps, 0.8-2.5° noise, every easing, 6 seeds each)
        pairs = {(rise.shape, fall.shape), *((k, k) for k in SHAPES)}
        shapes = sorted(pairs) if step == 1.0 else [arg[3:]]
        for a, b in shapes:
            g1, g2 = _g(SHAPES[a], x, s, c), _g(SHAPES[b], x, c, e)
            zero = np.zeros((c.size, x.size))
            sse = _sse(y, g1, g2, zero, prob.tie, 0.0, np.inf, np.zeros(c.size))
            i = int(np.argmin(sse))
            if sse[i] < best:
                best, arg = float(sse[i]), (c[i], s[i], e[i], a, b)
    return best


def _averaged(ramps: dict[str, _Ramp], var: float) -> tuple[float, float]:
    """(start, end) averaged over the shapes, weighted by their likelihood under Gaussian
    noise of variance `var` (Akaike-style weights; the shapes have equal parameter counts)."""
    items = [r for r in ramps.values() if np.isfinite(r.sse)]
    best = min(r.sse for r in items)
    w = np.array([np.exp(-(r.sse - best) / (2.0 * var)) for r in items])
    w /= w.sum()
    return (
        float(sum(wi * r.start for wi, r in zip(w, items, strict=True))),
        float(sum(wi * r.end for wi, r in zip(w, items, strict=True))),
    )


def _best(ramps: dict[str, _Ramp]) -> _Ramp:
    return min(ramps.values(), key=lambda r: r.sse)


def _rescored(
    prob: _Problem, ramp: _Ramp, rising: bool, other: _Ramp, mask: np.ndarray | None = None
) -> _Ramp:
    """The same ramp (clamped not to overlap the other) scored on all samples (or the masked
    ones), the other fixed."""
    start, end = ramp.start, ramp.end
    if rising:
        end = min(end, other.start)
    else:
        start = max(start, other.end)
    got = prob.search(rising, other, np.array([start]), np.array([end]), mask, (ramp.shape,))
    return got.get(ramp.shape, _Ramp(start, end, ramp.shape))
