"""One Euro filter and gap handling on a real (irregular) clock."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posecheck.core.smoothing import (
    GapBridger,
    OneEuroFilter,
    SignalSmoother,
    SmootherBank,
    bridge_gaps,
)


def test_converges_to_a_constant_and_removes_jitter() -> None:
    rng = np.random.default_rng(0)
    f = OneEuroFilter()
    t = np.arange(0, 4, 1 / 30)
    x = 40.0 + rng.normal(0, 2.0, t.size)
    y = np.array([f(v, ti) for v, ti in zip(x, t, strict=True)])
    tail = y[t > 2]
    assert abs(tail.mean() - 40.0) < 0.5
    assert tail.std() < 0.5 * x[t > 2].std()  # at least halves the jitter when still
    # 2 deg σ jitter reads as < 10 deg/s: still, against a hold threshold of ~20 deg/s.
    assert abs(f.velocity) < 10.0


def test_follows_a_bridge_with_small_lag() -> None:
    """A 50 deg rise in 1 s (cosine-eased): the filtered signal stays within a few degrees."""
    t = np.arange(0, 3, 1 / 30)
    truth = np.where(t < 1, 50 - 25 * (1 - np.cos(np.pi * np.clip(t, 0, 1))), 0.0)
    f = OneEuroFilter()
    y = np.array([f(v, ti) for v, ti in zip(truth, t, strict=True)])
    assert np.max(np.abs(y - truth)) < 3.0  # measured 2.1 deg
    assert abs(y[-1]) < 0.5


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_irregular_timestamps_match_regular_sampling(seed: int) -> None:
    """Same ramp at 30 fps vs at random 10-80 ms steps: both track it alike (dt is honoured)."""
    rng = np.random.default_rng(seed)

    def run(times: np.ndarray) -> np.ndarray:
        f = OneEuroFilter()
        return np.array([f(20.0 * ti, ti) for ti in times])

    regular = np.arange(0, 3, 1 / 30)
    irregular = np.cumsum(rng.uniform(0.01, 0.08, 100))
    irregular = irregular[irregular < 3]
    lag_regular = 20 * regular[-1] - run(regular)[-1]
    lag_irregular = 20 * irregular[-1] - run(irregular)[-1]
    assert lag_regular == pytest.approx(lag_irregular, abs=0.6)
    assert 0 < lag_regular < 3.0  # a first-order lag of tau * speed, no overshoot


def test_non_increasing_timestamps_are_ignored() -> None:
    f = OneEuroFilter()
    f(10.0, 1.0)
    assert f(90.0, 1.0) == 10.0
    assert f(90.0, 0.5) == 10.0
    with pytest.raises(ValueError):
        f(math.nan, 2.0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0.001, 0.2), st.floats(-90, 120)), min_size=2, max_size=60))
def test_output_stays_within_the_inputs_range(samples) -> None:
    """Each output is a convex mix of the previous output and the new sample."""
    f = OneEuroFilter()
    t = 0.0
    seen: list[float] = []
    for dt, x in samples:
        t += dt
        seen.append(x)
        y = f(x, t)
        assert min(seen) - 1e-9 <= y <= max(seen) + 1e-9


def test_smoother_bridges_short_gaps_only_and_marks_them() -> None:
    sm = SignalSmoother(max_gap_ms=300)
    out = [sm.update(i * 33.3, 30.0) for i in range(30)]
    assert out[0].reset and not out[1].reset
    held = out[-1].value
    gap = [sm.update((30 + i) * 33.3, math.nan) for i in range(8)]  # 33-266 ms after last good
    assert all(s.bridged for s in gap)
    assert all(s.value == held for s in gap)
    late = sm.update(30 * 33.3 + 400, math.nan)  # beyond 300 ms
    assert math.isnan(late.value) and not late.bridged
    back = sm.update(30 * 33.3 + 500, 10.0)
    assert back.reset and back.value == 10.0  # restarted: nothing smoothed across the long gap
    assert not back.bridged


def test_smoother_continues_filtering_after_a_short_gap() -> None:
    sm = SignalSmoother(max_gap_ms=300)
    for i in range(30):
        sm.update(i * 33.3, 30.0)
    sm.update(30 * 33.3, math.nan)
    s = sm.update(31 * 33.3, 10.0)
    assert not s.reset and 10.0 < s.value < 30.0


def test_gap_bridger_holds_and_expires() -> None:
    g = GapBridger(max_gap_ms=100)
    assert math.isnan(g.update(0.0, math.nan)[0]) and g.expired
    assert g.update(10.0, 5.0) == (5.0, False)
    assert g.update(60.0, math.nan) == (5.0, True)
    v, bridged = g.update(200.0, math.nan)
    assert math.isnan(v) and not bridged and g.expired


def test_bank_keeps_signals_apart() -> None:
    bank = SmootherBank(max_gap_ms=200)
    a = bank.update(0.0, {"left": 10.0, "right": 50.0})
    b = bank.update(33.0, {"left": 10.0, "right": math.nan})
    assert a["left"].value == 10.0 and b["right"].bridged and b["right"].value == 50.0


def test_offline_bridge_gaps_interpolates_short_runs() -> None:
    t = [0, 33, 66, 100, 133, 500, 533, 900]
    v = [0.0, math.nan, math.nan, 30.0, math.nan, math.nan, 10.0, math.nan]
    out, flags = bridge_gaps(t, v, max_gap_ms=150)
    assert out[1] == pytest.approx(9.9) and out[2] == pytest.approx(19.8)
    assert flags == [False, True, True, False, False, False, False, False]
    assert math.isnan(out[4]) and math.isnan(out[7])  # too long / at the end: left missing
