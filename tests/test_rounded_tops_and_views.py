"""The core pieces that real footage nobody tuned to needed: rounded-top pauses, the view blend,
rest zones that follow a shallow rest, the planted leg of a heel bridge, posture in front views."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from helpers import rounded_top_sides_s
from hypothesis import given, settings
from hypothesis import strategies as st

from posecheck.core.analyzer import planted_leg_vote
from posecheck.core.counter import RepCounter
from posecheck.core.landmarks import Landmark, PoseFrame
from posecheck.core.pause import MIN_PAUSE_S, top_dwell
from posecheck.core.posture import classify_posture_3d
from posecheck.core.profiles import get_profile
from posecheck.core.view import ViewBlend
from posecheck.core.zones import RestLevel
from posecheck.synthetic.motions import EASINGS


def _top(easing: str, ramp_s: float, hold_s: float, fps: float = 30.0):
    """Rest 1 s at 0, an eased rise to 50, a hold, an eased fall, rest 1 s."""
    ease = EASINGS[easing]
    ts, vs = [], []
    total = 2 + 2 * ramp_s + hold_s
    for i in range(int(total * fps) + 1):
        t = i / fps
        if t < 1:
            v = 0.0
        elif t < 1 + ramp_s:
            v = 50 * float(ease((t - 1) / ramp_s))
        elif t < 1 + ramp_s + hold_s:
            v = 50.0
        elif t < 1 + 2 * ramp_s + hold_s:
            v = 50 * (1 - float(ease((t - 1 - ramp_s - hold_s) / ramp_s)))
        else:
            v = 0.0
        ts.append(t * 1000)
        vs.append(v)
    return ts, vs, 1000.0, (total - 1) * 1000.0


@pytest.mark.parametrize("easing", ["cosine", "minimum_jerk", "trapezoid"])
@pytest.mark.parametrize("ramp_s", [0.5, 1.0, 2.0])
def test_a_rounded_top_lasts_its_dwell_near_the_peak(easing: str, ramp_s: float) -> None:
    ts, vs, start, end = _top(easing, ramp_s, 0.0)
    got = top_dwell(ts, vs, start, end, 0.0)
    before, after = rounded_top_sides_s(ramp_s, ramp_s, easing)
    assert got is not None
    assert (got[1] - got[0]) / 1000 == pytest.approx(before + after, abs=0.07)
    peak_ms = (1 + ramp_s) * 1000
    assert got[0] == pytest.approx(peak_ms - before * 1000, abs=70)


@pytest.mark.parametrize("ramp_s", [0.5, 1.0, 2.0])
@pytest.mark.parametrize("fps", [10, 30, 60])
def test_a_sharp_turn_is_no_pause(ramp_s: float, fps: float) -> None:
    ts, vs, start, end = _top("linear", ramp_s, 0.0, fps)
    assert top_dwell(ts, vs, start, end, 0.0) is None


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["cosine", "minimum_jerk", "trapezoid"]), st.floats(0.4, 2.0),
       st.floats(0.0, 3.0))
def test_a_held_top_reads_at_least_its_hold(easing: str, ramp_s: float, hold_s: float) -> None:
    ts, vs, start, end = _top(easing, ramp_s, hold_s)
    got = top_dwell(ts, vs, start, end, 0.0)
    if got is None:
        assert sum(rounded_top_sides_s(ramp_s, ramp_s, easing)) + hold_s < MIN_PAUSE_S + 0.07
    else:
        assert (got[1] - got[0]) / 1000 >= hold_s - 0.07


def test_view_blend_does_not_flicker_on_an_oblique_view() -> None:
    blend = ViewBlend()
    rng = np.random.default_rng(0)
    weights = [blend.update(t * 33.3, 0.3 + 0.04 * rng.standard_normal()) for t in range(300)]
    assert len(set(weights)) == 1  # one choice for the whole clip, whichever it is


def test_view_blend_fades_to_a_new_view_after_its_dwell() -> None:
    blend = ViewBlend(dwell_ms=500, fade_ms=1000)
    for i in range(30):
        assert blend.update(i * 33.3, 0.1) == 0.0
    got = [blend.update(1000 + i * 33.3, 0.5) for i in range(60)]
    assert got[10] == 0.0  # 333 ms in: not yet adopted
    assert 0.0 < got[30] < 1.0  # fading
    assert got[-1] == 1.0
    assert all(b >= a for a, b in itertools.pairwise(got))


def test_rest_zones_follow_a_rest_outside_the_profile_zone() -> None:
    prof = get_profile("single_leg_bridge")  # rest >= 40°, top <= 25°, adapts by 8°
    zones = RestLevel(prof)
    for i in range(30):  # a heel bridge resting still at 12° of flexion
        z = zones.update(i * 33.3, prof.progress(12.0), in_rep=False)
    assert z.rest_p == pytest.approx(prof.progress(12.0) + 2.0)
    assert z.top_p == pytest.approx(prof.progress(12.0) + 8.0)
    for i in range(30):  # the usual bridge rest at 50°: the profile's own zones
        z = zones.update(2000 + i * 33.3, prof.progress(50.0), in_rep=False)
    assert z == zones.nominal


def test_profiles_without_adaptation_keep_their_zones() -> None:
    prof = get_profile("glute_bridge")
    zones = RestLevel(prof)
    for i in range(60):
        z = zones.update(i * 33.3, prof.progress(12.0), in_rep=False)
    assert z == zones.nominal


def _heel_bridge(reps: int, fps: float = 30.0) -> list[tuple[float, float]]:
    """Rest at 14°, each rep an eased 0.8 s dip to -2° held 0.6 s, 1.5 s rests."""
    ease = EASINGS["cosine"]
    out, t = [], 0.0
    plan = [(1.5, 14.0, 14.0)] + [(0.8, 14.0, -2.0), (0.6, -2.0, -2.0), (0.8, -2.0, 14.0),
                                   (1.5, 14.0, 14.0)] * reps
    for dur, a, b in plan:
        n = int(dur * fps)
        for i in range(n):
            out.append(((t + i / fps) * 1000, a + (b - a) * float(ease(i / n))))
        t += dur
    return out


def test_a_heel_bridge_is_counted_from_its_own_rest() -> None:
    counter = RepCounter("single_leg_bridge")
    for t, v in _heel_bridge(4):
        counter.update(t, v)
    counter.finish()
    assert counter.rep_count == 4
    assert all(f.rep.hold is not None for f in counter.reps)


def test_a_glute_bridge_does_not_count_small_dips_from_a_shallow_rest() -> None:
    counter = RepCounter("glute_bridge")
    for t, v in _heel_bridge(4):
        counter.update(t, v)
    counter.finish()
    assert counter.rep_count == 0


def test_heel_bridge_planted_leg_is_the_less_flexed_hip() -> None:
    """A heel bridge plants an almost straight leg (knee ~25°) and raises the other, bent: the
    planted leg is the less flexed hip, not the more bent knee."""
    assert planted_leg_vote({"left": 65.0, "right": 24.0}, {"left": 45.0, "right": 25.0}) == "right"
    # a straight free leg still on the floor is free, even with the less flexed hip
    assert planted_leg_vote({"left": 5.0, "right": 60.0}, {"left": 8.0, "right": 110.0}) == "right"


def _world_pose(trunk: np.ndarray, thigh: np.ndarray, front: np.ndarray, rotation: int = 0):
    """A pose whose world landmarks have this trunk (hip -> shoulder), thigh (hip -> knee) and
    chest direction, seen in a frame rotated clockwise by `rotation` before detection."""
    w = np.zeros((33, 3))
    across = np.cross(trunk, front)  # left shoulder - right shoulder
    across = 0.18 * across / np.linalg.norm(across)
    for side, sign in ((0, 1), (1, -1)):
        w[Landmark.LEFT_SHOULDER + side] = trunk + sign * across
        w[Landmark.LEFT_HIP + side] = sign * across * 0.6
        w[Landmark.LEFT_KNEE + side] = thigh + sign * across * 0.6
    x, y = w[:, 0].copy(), w[:, 1].copy()
    turn = rotation % 360  # into the rotated frame: the inverse of posture._upright
    if turn == 90:
        w[:, 0], w[:, 1] = -y, x
    elif turn == 180:
        w[:, 0], w[:, 1] = -x, -y
    elif turn == 270:
        w[:, 0], w[:, 1] = y, -x
    return PoseFrame(0, 0.0, (640, 480), image_xy=np.zeros((33, 2)), world_xyz=w,
                     rotation_deg=rotation)


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_world_posture_sees_a_body_lying_towards_the_camera(rotation: int) -> None:
    up, toward, ahead = np.array([0, -1.0, 0]), np.array([0, 0, -1.0]), np.array([0, 0, 1.0])
    # the top of a hip thrust filmed from the feet: trunk away along the axis, chest up
    lying = _world_pose(0.5 * ahead, 0.4 * toward, up, rotation)
    assert classify_posture_3d(lying) == "supine"
    # its bottom: sitting upright, thighs towards the camera
    sitting = _world_pose(0.5 * up, 0.4 * toward, toward, rotation)
    assert classify_posture_3d(sitting) == "seated"
    standing = _world_pose(0.5 * up, 0.4 * -up, toward, rotation)
    assert classify_posture_3d(standing) == "standing"
    assert math.isfinite(lying.world_xyz.sum())
