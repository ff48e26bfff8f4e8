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
centre (which removes the estimator's delay). The live flag (`holding`) is causal: at the top,
|velocity| under the profile's threshold, its start placed at once by a ramp-plateau corner fit
of what has been seen (`_corner`). Once a rep is over its four times (start, arrival at the top,
departure, end) are refined on the unsmoothed signal: corner fits around the top and the bottom
(`_top_fit`, `_corner`: abrupt or quadratic stops, no easing assumed); they seed a parametric
fit of both whole movements (`posecheck.core.ramps.fit_rep`: linear, cosine or minimum-jerk
ramps between still levels, shapes weighted by their likelihood), whose steep middles pin where
slow eased movements end. The fit's hold replaces the corners' only where it is safe
(`RepCounter._ramp_fit`): it explains the samples (rms within 1.5x the rest noise + 0.3°), its
plateau beats a turning point of the same shapes by F >= 10, and its corners stay where the
signal is within 3 noise deviations of the top. Else the corner estimate stands. The hold is the
plateau between arrival and departure.

At high noise the gates are what loses holds, not the live still test (at 2 % landmark noise,
10-24 fps, the live flag covers >= 86 % of a true 2 s hold; it is the smoothed signal's
velocity). The rms gate's rest noise came from the short rest before the rep, which may hold the
previous rep's tail and reads 0.7-5.6° where the noise is 2.5°: the gate also accepts the noise
measured on the rep's own samples (`_local_noise`). The fit's plateau F gate is 7
(`_RAMP_PLATEAU_F`; the corners' own test stays at 10): measured at 2 % noise, 10/24 fps, 2 s
ramps (10 seeds x cosine/min-jerk/linear), turning points reach F 5.4 in the fit (7.3 in the
corners' fit), 2 s holds 5.6-270. Lost 2 s holds over 20 seeds (2 s ramps, 2 %): 24 fps 1 -> 0,
10 fps 9 -> 3 of 100 (the 3: linear, F 3-6 in both fits); false turning-point holds unchanged.

The fit's hold edges come from the upper halves of the two movements (`ramps._upper_fit`:
from each movement's steepest point to the still top, rests fixed from the whole fit). Why: a
stopgap made the fit override a corner only when it moved it by >= 150 ms, because on the
rendered bridges (mediapipe landmarks) it read 2 s holds 0.08-0.11 s short. Cause, measured on
the replayed landmarks of sample_videos/glute_bridge_side (truth from its scenario): the pose
model's temporal filter lags a movement out of a still posture (the first ~0.1 s of each rise
and fall 0.06-0.08 s late, the stops on time; mid-ramps 0.015-0.035 s late), so each movement
starts slower than it stops; the symmetric shapes then chose minimum jerk (1.2 s) for the
cosine (0.8 s) movements, whose long flat tails put the arrival late and the departure early.
Fitted on the halves next to the hold, the rise's onset no longer moves the arrival and the
departure carries the same lag as the arrival (corpus: both edges 0.05-0.06 s late, durations
+0.008 s on average). Replayed (41-clip rendered corpus, 42 glute-bridge holds of 0.5-2 s):
corners only 0.064 s mean |error|, 12 > 0.1 s; whole fit 0.053, 6; upper-half fit 0.049, 4
(sample_videos' bridges: max 0.071 s, was 0.090 s with the stopgap). On the generator,
noiseless, every easing of the family now times to <= 0.003 s (the stopgap left 2 s minimum
jerk 0.198 s off). Below 4 samples on an upper half (10 fps, 0.6 s ramps) the whole fit stands.
Its cost: half the samples decide the shape, so at 2 % noise on quick ramps it is a little
noisier (signal level, 20 seeds, 0.4 s ramps, 30 fps, σ 2.1°: linear edges +0.043/-0.029 s vs
+0.025/-0.014 for the whole fit; cosine and minimum jerk within 0.01 s of it). Turning points
at 2 % read as holds: 2 of 270 (minimum jerk, 0.41 and 0.85 s), as before the change.

A held top may rise slowly too (`_CREEP_SHARE` of the still speed: 2°/s for the bridge), not
only sag. Why: the pose model's estimate of a still top keeps converging upwards (its filter is
at its slowest when nothing moves): the rendered corpus' tops creep by up to ~1°/s, most on the
floor-level camera, and a fit whose top could only sag put the edges late to absorb the creep,
the arrival or the departure (whichever side of the hold sat below the fitted level). Replayed
(41 corpus clips + sample_videos, 61 labelled holds, renderer v3, full model): holds > 0.1 s 7
-> 4, mean |error| 0.049 -> 0.047 s, edge bias +0.062/+0.063 -> +0.048/+0.049 s, end-edge SD
0.044 -> 0.033 s; counts, real clips and turning points (2 of 270 at 2 %) unchanged. Not
faster: the real hip thrust's gradual approach reads as a creeping hold from 3°/s (its second
hold 8.90-9.59 -> 8.16-9.13 s). Cost: an asymmetric ease (outside the fitted family) ending in
a long slow approach loses more of it into the hold (noiseless, 2 s ramps: 15 fps 0.255 ->
0.528 s, 30 fps 0.220 -> 0.233; 1 s: 0.059-0.081 -> 0.109-0.116; at 0.5 % noise 2 s about
unchanged, 0.51 / 0.23-0.24). Left (not a fit weakness): holds whose arrival the pose model
itself blurs: floor-camera tops converging over ~0.3 s after the stop (arrival 0.12-0.16 s
late) and hips sagging at 6°/s, which the model shows late and S-shaped.

What the data determine (signal-level, 50° movements, 30-40 seeds each): without noise the
movement fit times its own family to 0.003 s at 10-60 fps with 10 % of frames dropped; a
trapezoid velocity profile to 0.05 s; an asymmetric ease (fast away, long slow approach) to
max(0.1 s, 12 % of its duration), and after a slow (2 s) asymmetric approach a turning point
reads as a ~0.6 s hold. With noise the easing itself is not determined: on a 2 s movement the
best cosine and minimum-jerk fits differ by 0.13° RMS yet place the stop 0.15 s apart, so at σ =
0.8° (0.5 % landmark noise) a 2 s eased hold is off by > 0.1 s in 20-40 % of cases at 24-30 fps.
Even with the true easing known, the spread of a 0.5 s hold between 2 s ramps at σ = 2.5° (2 %
landmark noise) is 0.13 s at 10 fps, 0.077 s at 30 fps and 0.047 s at 60 fps (40 seeds, 10 %
dropouts): ±0.1 s is not determinable there. tests/test_counter.py holds the noiseless bounds at
every frame rate; the noisy bounds are in tests/test_analyzer.py.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum

import numpy as np

from posecheck.core.pause import MIN_PAUSE_S, top_dwell
from posecheck.core.profiles import ExerciseProfile, get_profile
from posecheck.core.ramps import fit_rep
from posecheck.core.results import Event, EventKind, Hold, Phase, Rep
from posecheck.core.zones import RestLevel, Zones


class _State(Enum):
    UNARMED = "unarmed"
    REST = "rest"
    CONCENTRIC = "concentric"
    TOP = "top"
    ECCENTRIC = "eccentric"


_IN_REP = (_State.CONCENTRIC, _State.TOP, _State.ECCENTRIC)
_PREROLL_MS = 3000.0  # samples kept from before a rep starts (to find when it really began)
_SETTLE_MS = 1500.0  # a finished rep waits at most this long for the movement to stop
_FLANK = (0.2, 0.7)  # a return movement has settled below _FLANK[0] of its peak speed
MIN_HOLD_S = 0.25  # shorter stills at the top are turning points, not holds
# A rise and return of at least this much that is no rep or partial is a movement that fell
# short (hips that never leave the floor): large against the smoothed signal's jitter at rest
# (< 1°), small against any rep (>= 10°).
SHORT_MOVE_DEG = 4.0


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
    attempt: int = 0  # which movement of the set this was (reps and partials numbered together)


@dataclass(frozen=True)
class RepSoFar:
    """The rep in progress as far as it has been seen: what the in-rep cue rules judge."""

    attempt: int  # 1-based over every movement of the set, full or partial
    start_ms: float
    peak_hip_deg: float  # most extreme hip angle towards the top so far (NaN when unknown)
    past_peak: bool  # the signal has come down from its highest point by the hysteresis
    counts: bool  # it has gone far enough to be a rep or a partial, not a wobble
    holding: bool
    held_s: float  # of the hold so far (0 when not holding)
    hold_drop_deg: float  # how far the signal sank below the hold's highest point so far


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
    so_far: RepSoFar | None = None  # the rep in progress, when there is one
    fell_short_deg: float | None = None  # a movement just ended short of any rep: its range


class RepIndex:
    """Shared 1-based numbering, so per-leg counters number one set's reps in time order."""

    def __init__(self) -> None:
        self.reps = 0
        self.partials = 0
        self.attempts = 0  # every movement that left rest: reps, partials and dropped wobbles

    def next_attempt(self) -> int:
        self.attempts += 1
        return self.attempts

    def next_rep(self) -> int:
        self.reps += 1
        return self.reps

    def next_partial(self) -> int:
        self.partials += 1
        return self.partials


@dataclass
class _Sample:
    t: float
    p: float  # progress (smoothed)
    raw: float  # progress before smoothing (NaN when unknown): timing is fitted on it, unlagged
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
    zones: Zones | None = None  # the zones in force when it started
    attempt: int = 0
    peak_p: float = -math.inf  # highest progress seen since the rep started
    peak_hip: float = math.nan  # the hip angle towards the top, so far
    hold_high: float = -math.inf  # highest progress of the current hold
    shown_hold_s: float = 0.0  # the hold as timed live, for display until the rep is final
    from_top: bool = False  # began at the top with the set: its way up was not seen


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
# A set that ends mid-rep reports that rep as unfinished if the top was really seen, for at least
# this long: one frame "at the top" after a hard cut to another exercise is a jump, not a rep.
_MIN_TOP_AT_END_MS = 150.0
_RAMP_MARGIN_MS = 400.0  # rest samples either side of a rep in its movement fit
_RAMP_RMS = (1.5, 0.3)  # the movement fit explains a rep: rms <= a * rest noise + b degrees
_MOVING_SIGMAS = 3.0  # a sample this many noise deviations below the top is still moving
_RAMP_PLATEAU_F = 7.0  # the movement fit's plateau F over its turning point (see _ramp_fit)
_PAST_PEAK_SHARE = 0.25  # a rep has passed its top once down by this share of its range
_CREEP_SHARE = 0.1  # a held top may rise this share of the still speed per second (module doc)


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
        counted (`unfinished` tells what it was, before this call)."""
        events: list[Event] = []
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

        Used only where it is safe (measured, see the module doc): the fit must explain the
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


def _toward_top(prof: ExerciseProfile) -> int:
    """Which way the hip angle goes towards the top: a bridge's top is its least flexed hip
    (-1), a leg raise's or a hinge's its most flexed (+1)."""
    return prof.direction if prof.signal.startswith("hip") else -1


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
