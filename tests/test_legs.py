"""The leg identity guard (posecheck.core.legs): swaps undone, merges flagged, nothing else."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from posecheck.core.landmarks import NUM_LANDMARKS, Landmark, PoseFrame
from posecheck.core.legs import LEFT_LEG, RIGHT_LEG, LegGuard, swap_legs

TRUNK = 100.0  # px, shoulder midpoint to hip midpoint
THIGH = SHANK = 0.9 * TRUNK
LEGS = np.array(LEFT_LEG + RIGHT_LEG)


def _leg(hip: np.ndarray, hip_deg: float, knee_deg: float) -> list[np.ndarray]:
    """Knee, ankle, heel, toe of a side-view leg facing +x (image y down)."""
    h = math.radians(hip_deg)
    s = math.radians(hip_deg - knee_deg)
    knee = hip + THIGH * np.array([math.sin(h), math.cos(h)])
    ankle = knee + SHANK * np.array([math.sin(s), math.cos(s)])
    along = np.array([math.sin(s), math.cos(s)])  # down the shank
    front = np.array([math.cos(s), -math.sin(s)])
    return [knee, ankle, ankle + 0.08 * TRUNK * (along - front), ankle + 0.22 * TRUNK * front]


def stick(
    t_ms: float,
    hip_l: float,
    hip_r: float,
    knee_l: float = 0.0,
    knee_r: float = 0.0,
    *,
    noise: float = 0.0,
    rng: np.random.Generator | None = None,
) -> PoseFrame:
    """A side view of a standing body whose legs are at the given hip/knee flexion (deg)."""
    def at(dx: float, dy: float) -> np.ndarray:
        return np.array([320.0 + dx, 200.0 + dy])  # from the hips' midpoint

    xy = np.zeros((NUM_LANDMARKS, 2))
    xy[:] = at(0.0, -TRUNK - 30.0)  # head and arms: out of the way
    xy[Landmark.NOSE] = at(15.0, -TRUNK - 25.0)
    xy[Landmark.LEFT_SHOULDER] = at(-3.0, -TRUNK)
    xy[Landmark.RIGHT_SHOULDER] = at(3.0, -TRUNK)
    xy[Landmark.LEFT_HIP] = at(-3.0, 0.0)
    xy[Landmark.RIGHT_HIP] = at(3.0, 0.0)
    xy[list(LEFT_LEG)] = _leg(xy[Landmark.LEFT_HIP], hip_l, knee_l)
    xy[list(RIGHT_LEG)] = _leg(xy[Landmark.RIGHT_HIP], hip_r, knee_r)
    if noise > 0:
        assert rng is not None
        xy = xy + rng.normal(0.0, noise, xy.shape)
    vis = np.full(NUM_LANDMARKS, 0.9)
    return PoseFrame(
        index=round(t_ms),
        timestamp_ms=t_ms,
        frame_wh=(640, 480),
        image_xy=xy,
        visibility=vis,
        presence=np.full(NUM_LANDMARKS, 0.99),
        world_xyz=np.zeros((NUM_LANDMARKS, 3)),
        image_z=np.zeros(NUM_LANDMARKS),
    )


def raise_curve(t_s: float, start: float = 0.5, up: float = 0.5, hold: float = 0.6) -> float:
    """Hip flexion of one knee raise: 0 -> 90 deg (cosine), held, and back."""
    u = t_s - start
    if u <= 0 or u >= 2 * up + hold:
        return 0.0
    if u < up:
        return 45.0 * (1 - math.cos(math.pi * u / up))
    if u < up + hold:
        return 90.0
    return 45.0 * (1 + math.cos(math.pi * (u - up - hold) / up))


def knee_raise(fps: float = 30.0, dur: float = 2.6) -> list[PoseFrame]:
    """The left knee raised once (hip and knee to 90 deg) while the right leg stands."""
    n = int(dur * fps)
    return [
        stick(1000.0 * i / fps, raise_curve(i / fps), 0.0, raise_curve(i / fps)) for i in range(n)
    ]


def merged(pose: PoseFrame) -> PoseFrame:
    """Both legs' points put onto their midpoints (what the model does at the top of a raise)."""
    xy = pose.image_xy.copy()
    mid = (xy[list(LEFT_LEG)] + xy[list(RIGHT_LEG)]) / 2
    xy[list(LEFT_LEG)] = mid + np.array([-2.0, 1.0])
    xy[list(RIGHT_LEG)] = mid + np.array([2.0, -1.0])
    return PoseFrame(
        pose.index, pose.timestamp_ms, pose.frame_wh, xy, pose.image_z, pose.world_xyz,
        pose.visibility, pose.presence,
    )


def run(frames: list[PoseFrame]) -> tuple[LegGuard, list]:
    guard = LegGuard()
    return guard, [guard.check(f) for f in frames]


def top_indices(frames: list[PoseFrame], lo: float = 80.0) -> list[int]:
    hip = [
        math.degrees(math.atan2(*(f.image_xy[Landmark.LEFT_KNEE] - f.image_xy[Landmark.LEFT_HIP])))
        for f in frames
    ]
    return [i for i, h in enumerate(hip) if h > lo]


# ----------------------------------------------------------------------------------- swaps


def test_a_clean_swap_at_the_top_of_a_raise_is_exchanged_back() -> None:
    truth = knee_raise()
    top = top_indices(truth)
    bad = {top[3], top[8], top[9], top[10]}  # one alone, then three in a row
    frames = [swap_legs(f) if i in bad else f for i, f in enumerate(truth)]
    guard, checks = run(frames)
    assert [i for i, c in enumerate(checks) if c.swapped] == sorted(bad)
    assert not any(c.merged for c in checks)
    for i in bad:
        np.testing.assert_array_equal(checks[i].pose.image_xy, truth[i].image_xy)
        np.testing.assert_array_equal(checks[i].pose.visibility, truth[i].visibility)
    # frames that needed nothing are passed on as they are
    assert all(checks[i].pose is frames[i] for i in range(len(frames)) if i not in bad)
    assert guard.swaps == len(bad)


def test_a_swap_while_the_leg_moves_is_found_by_its_predicted_path() -> None:
    truth = knee_raise()
    rising = [i for i, f in enumerate(truth) if 35 < raise_curve(f.timestamp_s) < 75][:6]
    rising = [i for i in rising if truth[i].timestamp_s < 1.0]
    bad = set(rising[2:4])
    frames = [swap_legs(f) if i in bad else f for i, f in enumerate(truth)]
    _, checks = run(frames)
    assert {i for i, c in enumerate(checks) if c.swapped} == bad
    for i in bad:
        np.testing.assert_array_equal(checks[i].pose.image_xy, truth[i].image_xy)


@pytest.mark.parametrize("fps", [30.0, 15.0])
def test_a_quick_raise_at_15_fps_is_followed_and_guarded(fps: float) -> None:
    """A knee raised in 0.35 s jumps off the constant-velocity path in its first frames at
    15 fps: the guard follows the opening legs (their labels fit, exchanged ones do not) and
    still undoes a swap and flags a merge at the top (before, at 15 fps it stayed silent)."""
    n = int(2.4 * fps)
    hip = [raise_curve(i / fps, up=0.35, hold=0.8) for i in range(n)]
    truth = [stick(1000.0 * i / fps, h, 0.0, h) for i, h in enumerate(hip)]
    top = top_indices(truth)
    assert len(top) >= 7
    swapped_at, merged_at = {top[1]}, set(top[4:6])
    frames = [
        swap_legs(f) if i in swapped_at else merged(f) if i in merged_at else f
        for i, f in enumerate(truth)
    ]
    _, checks = run(frames)
    assert {i for i, c in enumerate(checks) if c.swapped} == swapped_at
    assert {i for i, c in enumerate(checks) if c.merged} == merged_at
    np.testing.assert_array_equal(checks[top[1]].pose.image_xy, truth[top[1]].image_xy)


def test_swap_legs_exchanges_only_the_legs_below_the_hip() -> None:
    f = stick(0.0, 60.0, 0.0, 40.0)
    s = swap_legs(f)
    np.testing.assert_array_equal(s.image_xy[list(LEFT_LEG)], f.image_xy[list(RIGHT_LEG)])
    np.testing.assert_array_equal(s.image_xy[list(RIGHT_LEG)], f.image_xy[list(LEFT_LEG)])
    others = [i for i in range(NUM_LANDMARKS) if i not in LEGS]
    np.testing.assert_array_equal(s.image_xy[others], f.image_xy[others])
    np.testing.assert_array_equal(swap_legs(s).image_xy, f.image_xy)


# ----------------------------------------------------------------------------------- merges


def test_a_merge_at_the_top_is_flagged_and_not_invented() -> None:
    truth = knee_raise()
    top = top_indices(truth)
    bad = set(top[2:12])  # 10 frames, a third of a second
    frames = [merged(f) if i in bad else f for i, f in enumerate(truth)]
    _, checks = run(frames)
    assert {i for i, c in enumerate(checks) if c.merged} == bad
    assert not any(c.swapped for c in checks)
    for i in bad:
        pose = checks[i].pose
        np.testing.assert_array_equal(pose.image_xy, frames[i].image_xy)  # nothing moved
        assert np.all(pose.visibility[LEGS] == 0.0)  # the legs are marked unseen
        others = [j for j in range(NUM_LANDMARKS) if j not in LEGS]
        np.testing.assert_array_equal(pose.visibility[others], frames[i].visibility[others])


def test_the_leg_put_down_is_not_a_merge() -> None:
    """Lowering the raised knee brings the legs together too, fast: not a merge (the standing
    leg stays where it was), also when the lowering takes 3 frames at 15 fps."""
    for fps, down in ((30.0, 0.5), (30.0, 0.25), (15.0, 0.2)):
        n = int(2.5 * fps)
        hip = [raise_curve(i / fps, up=down) for i in range(n)]
        frames = [stick(1000.0 * i / fps, h, 0.0, h) for i, h in enumerate(hip)]
        _, checks = run(frames)
        assert not any(c.touched for c in checks), fps


def test_standing_with_both_feet_down_is_the_rest_pose_not_a_merge() -> None:
    rng = np.random.default_rng(1)
    frames = [stick(33.3 * i, 0.0, 0.0, noise=1.5, rng=rng) for i in range(90)]
    _, checks = run(frames)
    assert not any(c.touched for c in checks)
    assert all(c.pose is f for c, f in zip(checks, frames, strict=True))


def test_a_merge_that_lasts_is_believed() -> None:
    """A 'merge' that goes on for seconds is the legs really together: flagged for at most
    MAX_MERGE_MS, then passed on."""
    truth = knee_raise(dur=5.0)
    top = top_indices(truth)
    frames = [merged(f) if i >= top[2] else f for i, f in enumerate(truth)]
    _, checks = run(frames)
    flagged = [frames[i].timestamp_ms for i, c in enumerate(checks) if c.merged]
    assert flagged and flagged[-1] - flagged[0] <= 1000.0
    assert not checks[-1].touched


# ----------------------------------------------------------------------------------- crossings


def scissor(fps: float, hz: float, amp: float, dur: float = 3.0) -> list[PoseFrame]:
    """A march/walk seen side-on: the legs swing in antiphase and pass each other in 2D."""
    frames = []
    for i in range(int(dur * fps)):
        t = i / fps
        a = amp * math.sin(2 * math.pi * hz * t)
        frames.append(stick(1000.0 * t, a, -a, max(0.0, a), max(0.0, -a)))
    return frames


def eased_moves(
    fps: float, seg: float, keys: list, noise: float = 0.0, seed: int = 0
) -> list[PoseFrame]:
    """Both legs moved between key poses (hip_l, hip_r, knee_l, knee_r in deg), each move
    cosine-eased (no jump in velocity) and `seg` seconds long."""
    rng = np.random.default_rng(seed)
    frames: list[PoseFrame] = []
    for a, b in itertools.pairwise(keys):
        for i in range(int(seg * fps)):
            u = 0.5 - 0.5 * math.cos(math.pi * i / (seg * fps))
            angles = [x + (y - x) * u for x, y in zip(a, b, strict=True)]
            frames.append(stick(1000.0 * len(frames) / fps, *angles, noise=noise, rng=rng))
    return frames


@pytest.mark.parametrize("fps,hz,amp", [(30.0, 1.0, 35.0), (30.0, 1.6, 30.0), (15.0, 1.0, 30.0)])
def test_legs_passing_each_other_are_not_touched(fps: float, hz: float, amp: float) -> None:
    _, checks = run(scissor(fps, hz, amp))
    assert not any(c.touched for c in checks)


def test_legs_that_crossed_while_the_track_waited_are_not_swapped() -> None:
    """At 15 fps the left thigh goes to 17 deg and back while the right swings to 15 deg: the
    track misses the turn, waits, and the legs meet and pass (a free hypothesis search found it;
    exchanged against the held track they fitted like a swap)."""
    keys = [(0.0, 0.0, 0.0, 0.0), (17.0, 0.0, 0.0, 0.0), (0.0, 15.0, 0.0, 0.0)]
    _, checks = run(eased_moves(15.0, 0.375, keys))
    assert not any(c.touched for c in checks)


def test_a_swap_during_a_march_is_exchanged_back() -> None:
    truth = scissor(30.0, 1.0, 35.0)
    apart = [i for i, f in enumerate(truth) if abs(math.sin(2 * math.pi * f.timestamp_s)) > 0.9]
    bad = {apart[6], apart[7]}
    frames = [swap_legs(f) if i in bad else f for i, f in enumerate(truth)]
    _, checks = run(frames)
    assert {i for i, c in enumerate(checks) if c.touched} == bad
    assert all(checks[i].swapped for i in bad)


def test_a_missing_pose_or_a_gap_restarts_the_track_silently() -> None:
    truth = knee_raise()
    top = top_indices(truth)
    frames = list(truth)
    frames[top[3]] = PoseFrame.missing(top[3], truth[top[3]].timestamp_ms, (640, 480))
    # after a long gap the first frame is believed, whatever its labels
    later = [swap_legs(f) for f in truth[top[5] :]]
    later = [
        PoseFrame(f.index, f.timestamp_ms + 500.0, f.frame_wh, f.image_xy, f.image_z,
                  f.world_xyz, f.visibility, f.presence)
        for f in later
    ]
    _, checks = run(frames[: top[5]] + later)
    assert not any(c.touched for c in checks)


def test_a_kick_too_fast_to_follow_loses_frames_but_is_never_swapped() -> None:
    """Outside the property test's region: one thigh swings 61-63 deg in 0.35 s while the other
    turns back, or both swing 86 and 100 deg at once in 0.41 s, at 24 fps. The closing legs look
    like a merge to the guard, which drops 2 frames (found by free hypothesis searches; the guard
    had this before its 10-15 fps support too). Bounded: nothing is exchanged or moved, at most
    4 frames in a row are dropped."""
    for seg, keys, noise in (
        (0.35, [(0.0, 0.0, 0.0, 0.0), (0.0, 22.0, 10.0, 0.0), (63.0, 6.0, 0.0, 0.0)], 0.0),
        (0.35, [(0.0, 0.0, 0.0, 0.0), (30.0, 0.0, 0.0, 0.0), (0.0, 61.0, 0.0, 0.0)], 1.0),
        (0.406, [(0.0, 1.7, 0.0, 0.0), (68.1, 0.0, 88.3, 82.3), (68.1, 0.0, 88.3, 82.3),
                 (-18.1, 100.0, 54.0, 0.0), (4.7, 22.7, 90.9, 1.0)], 0.0),
    ):
        frames = eased_moves(24.0, seg, keys, noise)
        _, checks = run(frames)
        assert not any(c.swapped for c in checks)
        dropped = [i for i, c in enumerate(checks) if c.merged]
        runs = [
            len(list(g)) for _, g in itertools.groupby(enumerate(dropped), lambda x: x[1] - x[0])
        ]
        assert max(runs, default=0) <= 4
        for c, f in zip(checks, frames, strict=True):
            np.testing.assert_array_equal(c.pose.image_xy, f.image_xy)


# ----------------------------------------------------------------------------------- property


@st.composite
def leg_paths(draw: st.DrawFn) -> tuple[float, list[list[float]]]:
    """Smooth random leg movements: each leg's hip and knee angles between random key poses."""
    fps = draw(st.sampled_from([15.0, 24.0, 30.0, 60.0]))
    # each movement takes 0.5 s or more (up to 120 deg: 240 deg/s); faster, with both legs
    # turning at once, see test_a_kick_too_fast_to_follow_loses_frames_but_is_never_swapped
    seg = draw(st.floats(0.5, 1.2))
    keys = draw(
        st.lists(
            st.tuples(
                st.floats(-20.0, 100.0), st.floats(-20.0, 100.0),
                st.floats(0.0, 100.0), st.floats(0.0, 100.0),
            ),
            min_size=2,
            max_size=6,
        )
    )
    return fps, [[seg, *k] for k in keys]


@given(paths=leg_paths(), noise=st.floats(0.0, 1.5), seed=st.integers(0, 2**16))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_sequences_without_swaps_or_merges_are_never_touched(
    paths: tuple[float, list[list[float]]], noise: float, seed: int
) -> None:
    fps, keys = paths
    frames = eased_moves(fps, keys[0][0], [k[1:] for k in keys], noise, seed)
    _, checks = run(frames)
    assert not any(c.touched for c in checks)
    assert all(c.pose is f for c, f in zip(checks, frames, strict=True))
