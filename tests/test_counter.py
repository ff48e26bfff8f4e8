"""RepCounter on plain signals: exact counts, hysteresis, partials, gaps, posture, hold timing.

Bounds of the property tests (signal noise in degrees; 2.5° ≈ 2 % landmark noise):
- counts exact for every easing (linear, cosine, minimum jerk, trapezoid, asymmetric), noise up
  to 2.5°, 10 % dropouts, 10-60 fps;
- holds without noise, every easing but the asymmetric one, 10 % dropouts: ±0.1 s from 24 fps,
  ±2.5 frames below for cosine and trapezoid; minimum jerk and linear NOT yet (strict xfail
  `test_known_miss_...`: 2 s minimum-jerk ramps 0.19 s, 0.6 s linear ramps 0.21 s);
- holds with noise up to 0.5°, cosine ramps 0.5-2 s: same tolerance
  (`test_property_counts_and_holds`).
- Not determinable, so not asserted (measured, 16 reps each, 10 % dropouts): σ = 0.8° at 24 fps,
  2 s ramps into a 0.5 s hold: worst 0.14 s cosine, 0.28 s minimum jerk, 0.18 s trapezoid (linear
  0.07 s); σ = 2.5° at 30 fps: 0.5 s holds between 2 s ramps lost or off by 0.5 s in most reps.
- The asymmetric ease: max(0.1 s, 12 % of the ramp) noiseless (measured 0.24 s for 1 s ramps
  at 10 fps, 0.15 s at 24 fps), see `test_movement_fit_times_holds_of_every_easing`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from helpers import expected_pause_s
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from posecheck.core.counter import MIN_HOLD_S, RepCounter, RepIndex
from posecheck.core.profiles import get_profile
from posecheck.core.ramps import fit_rep
from posecheck.core.results import EventKind, Phase
from posecheck.synthetic.motions import EASINGS

BRIDGE = get_profile("glute_bridge")  # rest >= 40°, top <= 25° of hip flexion
BOTTOM, TOP = 50.0, 0.0


@dataclass
class Seg:
    dur: float
    to: float | None = None  # None = hold the current value


def _sample(
    segs: list[Seg],
    fps: float,
    shape: Callable[[float], float],
    *,
    start: float = BOTTOM,
    noise: float = 0.0,
    dropout: float = 0.0,
    seed: int = 0,
) -> list[tuple[float, float]]:
    """`segs` sampled at `fps` as (t_ms, degrees): each move follows `shape` (u in [0, 1] ->
    fraction of the way), holds are flat; Gaussian `noise` and a `dropout` share of frames
    missing."""
    rng = random.Random(seed)
    knots = []
    t, v = 0.0, start
    for s in segs:
        end = v if s.to is None else s.to
        knots.append((t, t + s.dur, v, end))
        t, v = t + s.dur, end
    out = []
    for i in range(int(t * fps) + 1):
        tt = i / fps
        knot = next((k for k in knots if k[0] <= tt <= k[1]), None)
        if knot is None:
            val = knots[-1][3]
        else:
            a, b, v0, v1 = knot
            val = v0 + (v1 - v0) * shape((tt - a) / (b - a) if b > a else 1.0)
        if dropout and rng.random() < dropout:
            continue
        out.append((tt * 1000.0, val + rng.gauss(0.0, noise) if noise else val))
    return out


def signal(
    segs: list[Seg], fps: float, start: float = BOTTOM, noise: float = 0.0, seed: int = 0
) -> list[tuple[float, float]]:
    """Cosine-eased moves and flat holds, sampled at `fps`, as (t_ms, degrees)."""
    return _sample(
        segs, fps, lambda u: (1 - math.cos(math.pi * u)) / 2, start=start, noise=noise, seed=seed
    )


def rep(up: float = 1.0, hold: float = 1.0, down: float = 1.0, rest: float = 1.0, peak=TOP):
    return [Seg(up, peak), Seg(hold), Seg(down, BOTTOM), Seg(rest)]


def hold_tolerance_s(fps: float, up: float = 0.6, down: float = 0.6) -> float:
    """Hold timing bound met with noise: 0.1 s from 24 fps up, 2.5 frames below (0.25 s at
    10 fps): with slow eased ramps the last frames before a stop differ from the hold by less
    than the noise, so one frame of the boundary cannot be told apart. Ramps slower than the
    documented ±0.1 s region (0.4-0.6 s, tests/test_analyzer.py) add 5 % of their duration:
    under noise the ease's shape cannot be identified, and each shape puts the stop elsewhere
    (measured: each edge off by 2-4 % of its ramp at 0.5 % noise)."""
    slow = sum(max(0.0, ramp - 0.6) for ramp in (up, down))
    return max(0.1, 2.5 / fps) + 0.05 * slow


def run(samples, profile=BRIDGE, finish=True, **kw) -> RepCounter:
    c = RepCounter(profile)
    for t, v in samples:
        c.update(t, v, **kw)
    if finish:
        c.finish()
    return c


@pytest.mark.parametrize("fps", [10, 24, 30, 60])
def test_exact_counts(fps: float) -> None:
    segs = [Seg(1.0)] + rep() * 5
    c = run(signal(segs, fps))
    assert (c.rep_count, c.partial_count) == (5, 0)
    assert [f.rep.index for f in c.reps] == [1, 2, 3, 4, 5]


def test_jitter_at_rest_boundary_never_counts() -> None:
    # square-wave jitter of ±2.5° around the rest boundary (hysteresis is 3°)
    samples = [(i * 33.3, BRIDGE.rest_deg + (2.5 if i % 2 else -2.5)) for i in range(300)]
    c = run(samples)
    assert (c.rep_count, c.partial_count) == (0, 0)


def test_jitter_at_top_boundary_counts_once() -> None:
    fps = 30
    up = signal([Seg(0.5), Seg(1.0, BRIDGE.top_deg)], fps)
    t0 = up[-1][0]
    jitter = [(t0 + (i + 1) * 33.3, BRIDGE.top_deg + (2.5 if i % 2 else -2.5)) for i in range(60)]
    t1 = jitter[-1][0]
    down = [(t1 + t, v) for t, v in signal([Seg(1.0, BOTTOM), Seg(1.0)], fps, BRIDGE.top_deg)][1:]
    c = run(up + jitter + down)
    assert (c.rep_count, c.partial_count) == (1, 0)


def test_noise_near_zone_edges_does_not_double_count() -> None:
    segs = [Seg(1.0)] + rep(hold=2.0) * 3
    for seed in range(5):
        c = run(signal(segs, 30, noise=1.0, seed=seed))
        assert (c.rep_count, c.partial_count) == (3, 0)


def test_partials_are_separate() -> None:
    segs = [Seg(1.0), *rep(), *rep(peak=31.0, hold=0.3), *rep(), *rep(peak=30.0, hold=0.0)]
    c = run(signal(segs, 30))
    assert (c.rep_count, c.partial_count) == (2, 2)
    assert all(f.rep.partial for f in c.partials)
    assert [f.rep.index for f in c.partials] == [1, 2]
    kinds = [e.kind for e in c.events if e.kind in (EventKind.REP_COMPLETED, EventKind.PARTIAL_REP)]
    assert kinds == [
        EventKind.REP_COMPLETED,
        EventKind.PARTIAL_REP,
        EventKind.REP_COMPLETED,
        EventKind.PARTIAL_REP,
    ]


def test_small_wobble_is_neither_rep_nor_partial() -> None:
    segs = [Seg(1.0), Seg(1.0, 43.0), Seg(1.0, BOTTOM), Seg(1.0)] * 3  # pelvic tilt
    c = run(signal(segs, 30))
    assert (c.rep_count, c.partial_count) == (0, 0)


def test_no_counting_while_pose_missing() -> None:
    samples = signal([Seg(1.0)] + rep() * 3, 30)
    c = run(samples, present=False)
    assert c.rep_count == 0
    steps = [c.update(t, v, present=False) for t, v in samples]
    assert all(s.phase is Phase.NO_POSE for s in steps)


def test_rep_abandoned_when_pose_lost_for_long() -> None:
    samples = signal([Seg(1.0), *rep(hold=3.0), *rep()], 30)
    c = RepCounter(BRIDGE)
    for t, v in samples:
        lost = 2300 <= t <= 3300  # 1 s without a pose at the top of rep 1
        c.update(t, math.nan if lost else v, present=not lost)
    c.finish()
    assert c.rep_count == 1  # rep 1 was dropped; rep 2 counts


def _return_cut_at_rest(raw_lead: int) -> tuple[RepCounter, list[tuple[float, float]], int]:
    """A counter fed one bridge rep up to the frame before its return reaches rest (smoothed);
    on that last frame the unsmoothed value is `raw_lead` frames ahead. Also the samples and
    the index where the return reaches rest."""
    samples = signal([Seg(1.0), *rep()], 30)
    down = next(i for i, (t, v) in enumerate(samples) if t > 3000 and v >= BRIDGE.rest_deg)
    c = RepCounter(BRIDGE)
    for i, (t, v) in enumerate(samples[:down]):
        c.update(t, v, raw=samples[i + raw_lead][1] if i == down - 1 else v)
    return c, samples, down


@pytest.mark.parametrize(("raw_lead", "counted"), [(2, 1), (0, 0)])
def test_return_cut_off_counts_if_last_measured_frame_at_rest(
    raw_lead: int, counted: int
) -> None:
    # An edit cuts the return just as it reaches rest: the smoothed value (lagging) is still
    # short of rest on the last frame. It counts if the unsmoothed value was at rest.
    c, samples, down = _return_cut_at_rest(raw_lead)
    for t, _ in samples[down:]:
        c.update(t, math.nan, present=False)  # the pose is gone for good
    assert samples[down - 1][1] < BRIDGE.rest_deg
    assert c.rep_count == counted
    if counted:
        assert samples[down - 2][0] <= c.reps[0].rep.end_ms <= samples[down - 1][0] + 1


@pytest.mark.parametrize(("raw_lead", "counted"), [(2, 1), (0, 0)])
def test_input_ending_on_a_return_counts_if_last_measured_frame_at_rest(
    raw_lead: int, counted: int
) -> None:
    # The file ends where the edit above cut: the same rule, and `unfinished` agrees with it.
    c, _, _ = _return_cut_at_rest(raw_lead)
    assert (c.unfinished() is None) == bool(counted)
    c.finish()
    assert c.rep_count == counted


def test_short_gap_does_not_break_a_rep() -> None:
    samples = signal([Seg(1.0)] + rep(hold=2.0) * 2, 30)
    c = RepCounter(BRIDGE)
    for t, v in samples:
        lost = 2500 <= t <= 2800
        c.update(t, math.nan if lost else v, present=not lost)
    c.finish()
    assert c.rep_count == 2
    assert c.reps[0].rep.hold is not None


def test_wrong_posture_counts_nothing_and_abandons() -> None:
    samples = signal([Seg(1.0)] + rep() * 3, 30)
    assert run(samples, posture_ok=False).rep_count == 0
    c = RepCounter(BRIDGE)
    for t, v in samples:
        c.update(t, v, posture_ok=not (1500 <= t <= 2500))  # posture breaks mid rep 1
    c.finish()
    assert c.rep_count == 2


def test_starting_at_the_top_is_not_a_rep() -> None:
    samples = signal([Seg(1.0), Seg(1.0, BOTTOM), Seg(1.0), *rep()], 30, start=TOP)
    assert run(samples).rep_count == 1


def test_a_rep_stopped_at_the_top_is_unfinished_not_counted() -> None:
    """A rep is complete only back at rest: a set that ends at the top reports that rep as
    unfinished, with the hold so far, and never counts it (issue 18)."""
    samples = signal([Seg(1.0), *rep(), Seg(1.0, TOP), Seg(1.0)], 30)
    c = run(samples, finish=False)
    assert c.rep_count == 1
    reps, _ = c.snapshot()
    assert len(reps) == 1
    cut = c.unfinished()
    assert cut is not None and not cut.rep.partial
    assert cut.rep.hold is not None and cut.rep.hold.duration_s == pytest.approx(1.0, abs=0.1)
    c.finish()
    assert c.rep_count == 1 and c.unfinished() is None


def test_between_reps_nothing_is_unfinished() -> None:
    c = run(signal([Seg(1.0), *rep(), Seg(1.0)], 30), finish=False)
    assert c.unfinished() is None


def test_a_jump_to_the_top_in_the_last_frame_is_not_a_rep() -> None:
    """A hard cut (or a block boundary one frame late) puts one frame of another exercise at the
    end of a set: the signal jumps into the top zone for one sample, which is not a rep."""
    samples = signal([Seg(1.0), *rep()], 30)
    t_last = samples[-1][0]
    samples.append((t_last + 1000 / 30, TOP))  # one frame, straight from rest to the top
    c = run(samples, finish=False)
    assert len(c.snapshot()[0]) == 1
    assert c.unfinished() is None
    c.finish()
    assert c.rep_count == 1


def test_events_carry_timestamps_and_hold_target() -> None:
    segs = [Seg(1.0), *rep(hold=2.5), *rep(hold=0.5)]
    c = run(signal(segs, 30))
    kinds = [e.kind for e in c.events]
    assert kinds.count(EventKind.REP_STARTED) == 2
    assert kinds.count(EventKind.HOLD_TARGET_MET) == 1
    met = next(e for e in c.events if e.kind is EventKind.HOLD_TARGET_MET)
    assert met.rep_index == 1
    assert c.reps[0].rep.hold is not None and c.reps[0].rep.hold.met
    assert c.reps[1].rep.hold is not None and not c.reps[1].rep.hold.met
    starts = [e.t_ms for e in c.events if e.kind is EventKind.REP_STARTED]
    assert starts[0] == pytest.approx(1000 + 1000 * 0.2, abs=150)  # left rest ~20 % up the rise


def test_rep_features_timing_and_rom() -> None:
    c = run(signal([Seg(1.0), *rep(up=1.2, hold=2.0, down=0.8)], 60))
    r = c.reps[0].rep
    assert r.start_ms == pytest.approx(1000, abs=60)
    assert r.concentric_ms == pytest.approx(1200, abs=80)
    assert r.eccentric_ms == pytest.approx(800, abs=80)
    assert r.end_ms == pytest.approx(5000, abs=60)
    assert r.rom_deg == pytest.approx(50, abs=1)
    assert r.peak_deg == pytest.approx(0, abs=0.5)
    assert r.extension_phase_ms > 500 and r.flexion_phase_ms > 400


def test_flexion_profile_counts_upwards() -> None:
    raise_ = get_profile("standing_knee_raise")
    segs = [Seg(1.0)] + [Seg(0.8, 90.0), Seg(0.3), Seg(0.8, 5.0), Seg(0.6)] * 4
    c = run(signal(segs, 30, start=5.0), profile=raise_)
    assert c.rep_count == 4
    assert c.reps[0].rep.peak_deg == pytest.approx(90, abs=0.5)


def test_shared_index_numbers_reps_across_counters() -> None:
    idx = RepIndex()
    left = RepCounter(BRIDGE, side="left", index=idx)
    right = RepCounter(BRIDGE, side="right", index=idx)
    a = signal([Seg(1.0), *rep(), Seg(3.0)], 30)
    b = signal([Seg(3.5), *rep(), Seg(0.5)], 30)
    for (t, va), (_, vb) in zip(a, b, strict=False):
        left.update(t, va)
        right.update(t, vb)
    left.finish()
    right.finish()
    assert [f.rep.index for f in left.reps] == [1]
    assert [f.rep.index for f in right.reps] == [2]


@st.composite
def scripts(draw):
    reps = []
    for _ in range(draw(st.integers(1, 4))):
        partial = draw(st.booleans()) and draw(st.booleans())
        reps.append(
            dict(
                up=draw(st.floats(0.5, 2.0)),
                hold=0.0 if partial else draw(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0])),
                down=draw(st.floats(0.5, 2.0)),
                rest=draw(st.floats(0.5, 1.5)),
                peak=draw(st.floats(29.0, 33.0)) if partial else draw(st.floats(-5.0, 15.0)),
                partial=partial,
            )
        )
    return reps


_KNOWN_LOST_HOLD = [  # found by hypothesis; counts right, the first rep's hold is lost
    dict(up=1.375, hold=0.5, down=2.0, rest=1.0, peak=6.0, partial=False),
    dict(up=1.0, hold=0.0, down=1.0, rest=1.0, peak=0.0, partial=False),
    dict(up=1.0, hold=0.0, down=1.0, rest=1.0, peak=0.0, partial=False),
]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    script=scripts(),
    fps=st.sampled_from([10, 15, 24, 30, 60]),
    noise=st.floats(0.0, 0.5),
    seed=st.integers(0, 1000),
)
@example(script=_KNOWN_LOST_HOLD, fps=10, noise=0.5, seed=130).xfail(
    raises=AssertionError,
    reason="known miss: a 0.5 s hold between slow ramps at 10 fps (5 samples) scores 6.996 on "
    "the fit's plateau-vs-turning-point test against a gate of 7; lowering the gate trades "
    "lost holds for false holds at turning points (2 of 270 at 2 %), not re-measured yet",
)
def test_property_counts_and_holds(script, fps, noise, seed) -> None:
    segs = [Seg(1.0)]
    truth_holds = []
    for r in script:
        segs += rep(r["up"], r["hold"], r["down"], r["rest"], r["peak"])
        if not r["partial"]:  # a top that turns round at once reads as its rounded top
            truth_holds.append(expected_pause_s(r["hold"], r["up"], r["down"]))
    c = run(signal(segs, fps, noise=noise, seed=seed))
    assert c.rep_count == sum(not r["partial"] for r in script)
    assert c.partial_count == sum(r["partial"] for r in script)
    for feats, want, r in zip(c.reps, truth_holds, [r for r in script if not r["partial"]],
                              strict=True):
        got = feats.rep.hold.duration_s if feats.rep.hold is not None else 0.0
        assert got == pytest.approx(want, abs=hold_tolerance_s(fps, r["up"], r["down"]))


def linear_signal(segs: list[Seg], fps: float) -> list[tuple[float, float]]:
    """Constant-speed moves (abrupt starts and stops) and flat holds, as (t_ms, degrees)."""
    return _sample(segs, fps, lambda u: u)


@pytest.mark.parametrize("fps", [10, 15, 30, 60])
@pytest.mark.parametrize(("up", "hold"), [(0.6, 0.5), (1.0, 2.0), (2.0, 1.0), (1.5, 0.0)])
def test_holds_of_linear_ramps(fps: float, up: float, hold: float) -> None:
    """The hold estimator assumes no easing: constant-speed ramps into and out of the top (abrupt
    stops) are timed as well as smooth ones."""
    segs = [Seg(1.0)] + [Seg(up, TOP), Seg(hold), Seg(up, BOTTOM), Seg(1.0)] * 2
    c = run(linear_signal(segs, fps))
    assert c.rep_count == 2
    for f in c.reps:
        got = f.rep.hold.duration_s if f.rep.hold is not None else 0.0
        assert got == pytest.approx(hold, abs=0.1)
        if hold:
            assert f.rep.concentric_ms == pytest.approx(up * 1000, abs=100)


def creeping_top(fps: float, creep: float, seed: int, noise: float = 0.5):
    """A rep whose held top keeps settling upwards: rest 1 s, a 0.8 s cosine rise stopping
    `creep` degrees short of TOP, a 2 s hold rising linearly to TOP, a 0.9 s cosine fall, rest
    1 s; Gaussian noise. The hold is 1.8-3.8 s."""
    rng = random.Random(seed)
    ease = lambda u: (1.0 - math.cos(math.pi * u)) / 2.0  # noqa: E731
    out = []
    for i in range(int(5.7 * fps) + 1):
        t = i / fps
        if t < 1.0:
            v = BOTTOM
        elif t < 1.8:
            v = BOTTOM + (TOP + creep - BOTTOM) * ease((t - 1.0) / 0.8)
        elif t < 3.8:
            v = TOP + creep * (1.0 - (t - 1.8) / 2.0)
        elif t < 4.7:
            v = TOP + (BOTTOM - TOP) * ease((t - 3.8) / 0.9)
        else:
            v = BOTTOM
        out.append((t * 1000.0, v + rng.gauss(0.0, noise)))
    return out


@pytest.mark.parametrize("fps", [25, 30])
def test_a_top_settling_upwards_is_held_from_its_arrival(fps: float) -> None:
    """A top that keeps rising slowly while held (3° over 2 s: a pose model's estimate
    converging on a still pose, the rendered corpus' tops creep up to ~1°/s) is timed from the
    movements' stops. Measured over these seeds: edges within 0.053 s; with the top allowed to
    drift downwards only, the arrival read up to 0.128 s late."""
    for seed in range(4):
        c = run(creeping_top(fps, 3.0, seed))
        hold = c.reps[0].rep.hold
        assert hold is not None
        assert hold.start_ms / 1000.0 == pytest.approx(1.8, abs=0.07)
        assert hold.end_ms / 1000.0 == pytest.approx(3.8, abs=0.07)


@pytest.mark.parametrize("fps", [10, 30])
@pytest.mark.parametrize("hold", [0.0, 2.0])
def test_starting_anywhere_in_the_first_rep_never_merges_reps(fps: float, hold: float) -> None:
    """A counter started at any frame of the first rep (mid-movement, at the top, on the way
    down) counts every later rep: the truth, or the truth - 1 when the first rep is cut."""
    segs = [Seg(1.0)] + rep(hold=hold, rest=0.5) * 3  # a 4th rep would only repeat the 3rd
    samples = signal(segs, fps, noise=0.3, seed=1)
    first_start, first_end = 1000.0, 1000.0 + (2.0 + hold) * 1000.0
    for k, (t, _) in enumerate(samples):
        if t > first_end + 500:
            break
        c = run(samples[k:])
        want = 3 if t <= first_start + 200 else 2  # left rest within 0.2 s: still all 3 seen
        assert c.rep_count in ({want, 3} if t <= first_start + 300 else {want}), t


def eased_signal(
    segs: list[Seg], fps: float, easing: str, dropout: float = 0.0, seed: int = 0
) -> list[tuple[float, float]]:
    """Moves eased by one of the generator's easings (`motions.EASINGS`, written independently
    of the core's fitted shapes), flat holds, and `dropout` of the frames missing."""
    ease = EASINGS[easing]
    return _sample(segs, fps, lambda u: float(ease(u)), dropout=dropout, seed=seed)


# Hold error allowed per easing without noise: the fitted family (linear, cosine, minimum jerk)
# is timed exactly (measured <= 0.003 s); a trapezoid velocity profile is fitted by its nearest
# member (measured <= 0.05 s at 2 s ramps); the asymmetric ease (fast away, long slow approach)
# is the documented exception: its holds are off by up to max(0.1 s, 12 % of the movement's
# duration)
# (measured 0.14 s for 2 s ramps at 10 fps, 0.11 s at 60 fps), and a turning point after its
# slow 2 s approach reads as a ~0.6 s hold (its last 30 % stays within 2 % of the range): a
# known miss, not asserted (quicker asymmetric turning points, 0.6-1.2 s, read as no hold).
EASING_TOL = {"linear": 0.1, "cosine": 0.1, "minimum_jerk": 0.1, "trapezoid": 0.1}


@pytest.mark.parametrize("easing", sorted(EASINGS))
@pytest.mark.parametrize("fps", [10, 24, 60])
def test_movement_fit_times_holds_of_every_easing(easing: str, fps: float) -> None:
    """`ramps.fit_rep`, noiseless, 10 % of frames dropped: slow (2 s) and quick (0.6 s)
    movements into holds of 0.5-2 s and a turning point, timed to ±0.1 s at every frame rate."""
    slow_turn = (1.2, 0.0) if easing == "asymmetric" else (2.0, 0.0)
    for up, hold in [(2.0, 0.5), (0.6, 2.0), slow_turn, (1.2, 1.0)]:
        segs = [Seg(1.0), Seg(up, TOP), Seg(hold), Seg(up, BOTTOM), Seg(1.0)]
        pts = eased_signal(segs, fps, easing, dropout=0.1, seed=fps)
        t_top = (1.0 + up + hold / 2) * 1000.0
        fit = fit_rep([t for t, _ in pts], [BOTTOM - v for _, v in pts], t_top)
        assert fit is not None
        tol = EASING_TOL.get(easing, max(0.1, 0.12 * up))
        got = fit.hold_s if fit.hold_s >= MIN_HOLD_S else 0.0
        assert got == pytest.approx(hold, abs=tol), (up, hold)
        if easing in ("linear", "cosine", "minimum_jerk"):
            assert fit.start_ms == pytest.approx(1000.0, abs=20)
            assert fit.end_ms == pytest.approx((1.0 + 2 * up + hold) * 1000.0, abs=20)


# Easings the counter must time (the generator's, written independently of the core's shapes);
# "asymmetric" is excluded from the hold property: it is outside the fitted family and its
# bound (max(0.1 s, 12 % of the ramp), a slow turning point read as a ~0.6 s hold) is the
# documented exception, tested on its own above.
TIMED_EASINGS = ["linear", "cosine", "minimum_jerk", "trapezoid"]


@st.composite
def eased_reps(draw, max_up: float = 2.0):
    n = draw(st.integers(1, 3))
    reps = []
    for _ in range(n):
        up = draw(st.floats(0.6, max_up))
        hold = draw(st.sampled_from([0.0, 0.5, 1.0, 2.0]))
        reps.append((up, hold, draw(st.floats(0.6, max_up)), draw(st.floats(0.5, 1.5))))
    return reps


def _eased_run(reps, fps, easing, noise, dropout, seed):
    segs = [Seg(1.0)]
    for up, hold, down, rest in reps:
        segs += [Seg(up, TOP), Seg(hold), Seg(down, BOTTOM), Seg(rest)]
    pts = eased_signal(segs, fps, easing, dropout=dropout, seed=seed)
    rng = random.Random(seed + 1)
    return run([(t, v + rng.gauss(0.0, noise)) for t, v in pts])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    reps=eased_reps(),
    fps=st.sampled_from([10, 15, 24, 30, 60]),
    easing=st.sampled_from(sorted(EASINGS)),
    noise=st.floats(0.0, 2.5),
    dropout=st.floats(0.0, 0.1),
    seed=st.integers(0, 1000),
)
def test_property_counts_every_easing(reps, fps, easing, noise, dropout, seed) -> None:
    """Counts exact for every easing (the asymmetric one too), noise up to 2.5° (≈ 2 % landmark
    noise), 10 % of frames dropped, 10-60 fps."""
    c = _eased_run(reps, fps, easing, noise, dropout, seed)
    assert (c.rep_count, c.partial_count) == (len(reps), 0)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    reps=eased_reps(),
    fps=st.sampled_from([10, 15, 24, 30, 60]),
    easing=st.sampled_from(["cosine", "trapezoid", "minimum_jerk", "linear"]),
    dropout=st.floats(0.0, 0.1),
    seed=st.integers(0, 1000),
)
def test_property_noiseless_holds_every_easing(reps, fps, easing, dropout, seed) -> None:
    """No noise, 10 % dropped: holds ±0.1 s from 24 fps up, ±2.5 frames below (measured worst
    0.10 s: 0.6 s cosine ramps at 10 fps); minimum jerk and linear too (before the stopgap went:
    a documented miss of 0.14-0.21 s)."""
    c = _eased_run(reps, fps, easing, 0.0, dropout, seed)
    assert c.rep_count == len(reps)
    for f, (up, hold, down, _) in zip(c.reps, reps, strict=True):
        got = f.rep.hold.duration_s if f.rep.hold is not None else 0.0
        want = expected_pause_s(hold, up, down, easing)
        assert got == pytest.approx(want, abs=hold_tolerance_s(fps))


# Formerly a known miss (strict xfail): the movement fit timed these exactly but could override
# the corners only by >= 150 ms (a stopgap, `_RAMP_OVERRIDE_MS`, for rendered holds read short);
# the fit now times a hold from the movements' upper halves (ramps._upper_fit) and always
# replaces the corners when its gates pass. Measured worst here 0.003 s (was 0.14-0.21 s).
@pytest.mark.parametrize("seed", range(8))
def test_noiseless_min_jerk_and_quick_linear_holds(seed: int) -> None:
    worst = 0.0
    for easing, up, hold in [("minimum_jerk", 2.0, 0.5), ("linear", 0.6, 2.0)]:
        c = _eased_run([(up, hold, up, 1.0)] * 2, 24, easing, 0.0, 0.1, seed)
        assert c.rep_count == 2
        for f in c.reps:
            got = f.rep.hold.duration_s if f.rep.hold is not None else 0.0
            worst = max(worst, abs(got - hold))
    assert worst <= 0.02
