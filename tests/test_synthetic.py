"""The exact-label generator: its truth must be self-consistent and its projection sane."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posecheck.core.landmarks import Landmark
from posecheck.synthetic.kinematics import (
    BodyShape,
    BodyState,
    arm_flesh_radii,
    true_hip_flexion,
    true_knee_flexion,
    world_landmarks,
)
from posecheck.synthetic.landmarks import Camera, to_pose_frames
from posecheck.synthetic.motions import (
    MISTAKES,
    MotionScript,
    RepSpec,
    animate,
    bridge_script,
)
from posecheck.synthetic.poses import EXERCISES, pose_at

SHAPE = BodyShape()

rep_specs = st.builds(
    RepSpec,
    up_s=st.floats(0.3, 2.0),
    top_hold_s=st.floats(0.0, 3.0),
    down_s=st.floats(0.3, 2.0),
    depth=st.floats(0.3, 1.0),
    partial=st.booleans(),
    mistakes=st.lists(st.sampled_from(MISTAKES), max_size=2, unique=True).map(tuple),
)


@settings(max_examples=40, deadline=None)
@given(
    reps=st.lists(rep_specs, min_size=0, max_size=4),
    fps=st.floats(10.0, 60.0),
    exercise=st.sampled_from(sorted(n for n, e in EXERCISES.items() if not e.negative)),
    rest_s=st.floats(0.3, 1.5),
)
def test_truth_is_consistent(reps, fps, exercise, rest_s) -> None:
    script = MotionScript(exercise, reps=tuple(reps), rest_s=rest_s, side="alternating")
    m = animate(script, SHAPE, fps)
    tr = m.truth
    assert len(m.states) == len(m.times_s) == len(tr.phase) == len(tr.rep_index)
    assert m.times_s[-1] <= script.duration_s + 1e-9 < m.times_s[-1] + 1 / fps + 1e-9
    assert tr.rep_count == sum(not r.partial for r in reps)
    assert tr.partial_count == sum(r.partial for r in reps)
    assert sum(tr.side_counts.values()) == tr.rep_count
    # Reps are ordered, non-overlapping, with the scripted timing.
    for spec, r in zip(reps, tr.reps, strict=True):
        e = spec.effective()
        assert r.top_s - r.start_s == pytest.approx(e.up_s)
        assert r.hold_s == pytest.approx(e.top_hold_s)
        assert r.end_s - r.top_end_s == pytest.approx(e.down_s)
    for a, b in zip(tr.reps, tr.reps[1:], strict=False):
        assert b.start_s - a.end_s == pytest.approx(rest_s)
    # Per-frame labels agree with the per-rep intervals.
    for i, t in enumerate(m.times_s):
        inside = [r for r in tr.reps if r.start_s <= t < r.end_s]
        if inside:
            assert tr.rep_index[i] == inside[0].index
            assert tr.partial[i] == inside[0].partial
            assert tr.phase[i] in ("rising", "top", "lowering")
        else:
            assert tr.rep_index[i] == 0 and tr.phase[i] == "bottom"
    # Holds are the full reps' still tops.
    assert len(tr.holds) == sum(1 for r in tr.full_reps if r.hold_s > 0)
    for start, end in tr.holds:
        assert end > start
    # Phases run bottom -> rising -> top -> lowering -> bottom.
    order = {"bottom": "rising", "rising": "top", "top": "lowering", "lowering": "bottom"}
    for a, b in zip(tr.phase, tr.phase[1:], strict=False):
        assert (
            b in (a, order[a])
            or (a == "rising" and b == "lowering")
            or (a == "lowering" and b == "rising")
            or (a == "top" and b == "bottom")
        )


def test_hold_is_still_and_extreme() -> None:
    m = animate(bridge_script(3, hold_s=2.0), SHAPE, 30)
    hip = m.truth.hip_flexion_deg["left"]
    for r in m.truth.reps:
        during = hip[(m.times_s >= r.top_s) & (m.times_s <= r.top_end_s)]
        assert np.ptp(during) < 1e-9
        assert during[0] == pytest.approx(0.0, abs=1e-9)
        assert r.peak_hip_deg["left"] == pytest.approx(0.0, abs=1e-9)
    assert hip.max() == pytest.approx(50.0)
    assert m.truth.holds == tuple((r.top_s, r.top_end_s) for r in m.truth.reps)


def test_mistakes_change_the_motion() -> None:
    reps = (
        RepSpec(),
        RepSpec(mistakes=("incomplete_lockout",)),
        RepSpec(mistakes=("over_arch",)),
        RepSpec(up_s=1.5, down_s=1.5, mistakes=("fast_tempo",)),
        RepSpec(top_hold_s=2.0, mistakes=("short_hold",)),
        RepSpec(top_hold_s=2.0, mistakes=("hips_drop",)),
    )
    m = animate(MotionScript("glute_bridge", reps=reps), SHAPE, 30)
    peaks = [r.peak_hip_deg["left"] for r in m.truth.reps]
    assert peaks[0] == pytest.approx(0.0)
    assert peaks[1] == pytest.approx(12.0)
    assert peaks[2] == pytest.approx(-25.0)
    r3 = m.truth.reps[3]
    assert r3.top_s - r3.start_s == pytest.approx(0.3)
    assert m.truth.reps[4].hold_s == pytest.approx(0.5)
    r5 = m.truth.reps[5]
    hip = m.truth.hip_flexion_deg["left"]
    assert hip[np.searchsorted(m.times_s, r5.top_end_s) - 1] == pytest.approx(12.0, abs=0.5)
    assert dict(m.truth.expected_cues) == {
        2: "incomplete_lockout",
        3: "over_arch",
        4: "tempo_fast",
        5: "hold_short",
        6: "hips_drop",
    }
    with pytest.raises(ValueError):
        RepSpec(mistakes=("bad_form",))


@pytest.mark.parametrize("exercise", sorted(n for n, e in EXERCISES.items() if e.negative))
def test_negatives_have_no_reps(exercise: str) -> None:
    m = animate(MotionScript(exercise, reps=(RepSpec(), RepSpec())), SHAPE, 20)
    assert m.truth.negative and m.truth.rep_count == 0 and not m.truth.holds
    assert not m.truth.rep_index.any()


def test_alternating_and_single_sides() -> None:
    m = animate(MotionScript("standing_knee_raise", reps=(RepSpec(),) * 4), SHAPE, 20)
    assert [r.side for r in m.truth.reps] == ["left", "right", "left", "right"]
    assert m.truth.side_counts == {"left": 2, "right": 2}
    m = animate(MotionScript("prone_leg_lift", reps=(RepSpec(),) * 2, side="right"), SHAPE, 20)
    assert m.truth.side_counts == {"right": 2}
    assert m.truth.hip_flexion_deg["left"].max() == pytest.approx(0.0)


@settings(max_examples=80, deadline=None)
@given(
    pitch=st.floats(-100, 130),
    hip=st.floats(-30, 130),
    knee=st.floats(0, 140),
    abd=st.floats(-20, 50),
    yaw=st.floats(-180, 180),
    height=st.floats(1.4, 2.0),
)
def test_true_angles_match_the_state(pitch, hip, knee, abd, yaw, height) -> None:
    shape = BodyShape(height_m=height)
    s = BodyState(
        pelvis=(0.3, -0.2, 0.9),
        trunk_pitch_deg=pitch,
        pelvis_yaw_deg=yaw,
        hip_flexion_deg={"left": hip, "right": -hip / 4},
        knee_flexion_deg=knee,
        hip_abduction_deg=abd,
    )
    th = true_hip_flexion(shape, s)
    assert th["left"] == pytest.approx(hip, abs=1e-6)
    assert th["right"] == pytest.approx(-hip / 4, abs=1e-6)
    assert true_knee_flexion(shape, s)["left"] == pytest.approx(knee, abs=1e-5)
    lm = world_landmarks(shape, s)
    thigh = np.linalg.norm(lm[Landmark.LEFT_KNEE] - lm[Landmark.LEFT_HIP])
    assert thigh == pytest.approx(shape.L["thigh"])


@pytest.mark.parametrize("exercise", sorted(EXERCISES))
def test_bodies_stay_on_or_above_the_floor(exercise: str) -> None:
    for a in np.linspace(0, 1, 6):
        z = world_landmarks(SHAPE, pose_at(SHAPE, exercise, float(a)))[:, 2]
        assert z.min() > -0.02, (exercise, a)


def test_bridge_keeps_shoulders_and_feet_planted() -> None:
    m = animate(bridge_script(2), SHAPE, 15)
    lms = np.array([world_landmarks(SHAPE, s) for s in m.states])
    for idx in (Landmark.LEFT_SHOULDER, Landmark.LEFT_ANKLE, Landmark.RIGHT_HEEL):
        assert np.ptp(lms[:, idx, :], axis=0).max() < 1e-6
    pelvis_z = np.array([s.pelvis[2] for s in m.states])
    assert 0.15 < pelvis_z.max() - pelvis_z.min() < 0.3  # hips lift ~0.2 m


# Camera -------------------------------------------------------------------------------------


def test_projection_sanity() -> None:
    cam = Camera("left", distance_m=3.0, height_m=1.0, target=(0.0, 0.0, 1.0))
    w, h = cam.resolution
    centre = cam.project(np.array([[0.0, 0.0, 1.0]]))[0]
    assert centre == pytest.approx([w / 2, h / 2])
    above, front = cam.project(np.array([[0.0, 0.0, 1.5], [0.5, 0.0, 1.0]]))
    assert above[1] < h / 2  # up is up
    assert front[0] < w / 2  # seen from the left side, the body's front is image-left
    right_cam = cam.with_(side="right")
    assert right_cam.project(np.array([[0.5, 0.0, 1.0]]))[0][0] > w / 2
    near, far = cam.project(np.array([[0.5, 0.5, 1.0], [0.5, -0.5, 1.0]]))
    assert abs(near[0] - w / 2) > abs(far[0] - w / 2)  # perspective: nearer looks bigger


def test_pose_frames_conventions() -> None:
    m = animate(bridge_script(1), SHAPE, 30)
    cam = Camera.framing(m, "left")
    frames = to_pose_frames(m, SHAPE, cam)
    f = frames[0]
    w = f.world_xyz
    assert (w[Landmark.LEFT_HIP] + w[Landmark.RIGHT_HIP]) / 2 == pytest.approx(np.zeros(3))
    assert w[Landmark.LEFT_HIP][2] < w[Landmark.RIGHT_HIP][2]  # near hip is closer (z away)
    # Lying on the back, head towards -x: seen from the left side that is image-right.
    assert w[Landmark.NOSE][0] > 0 and f.image_xy[Landmark.NOSE][0] > 320
    assert f.visibility[Landmark.LEFT_KNEE] > f.visibility[Landmark.RIGHT_KNEE] + 0.2
    assert np.all((f.image_xy >= 0) & (f.image_xy < [640, 480]))


def test_damage_dropouts_skips_jitter_swaps() -> None:
    m = animate(bridge_script(3), SHAPE, 30)
    cam = Camera.framing(m, "right")
    frames = to_pose_frames(
        m, SHAPE, cam, dropout=0.1, skip=0.05, jitter_ms=5.0, side_swaps=3, seed=7
    )
    n = len(m)
    missing = [f for f in frames if not f.present]
    assert abs(len(missing) - 0.1 * n) <= 3
    assert n * 0.9 < len(frames) < n  # some frames never delivered
    stamps = np.array([f.timestamp_ms for f in frames])
    assert np.all(np.diff(stamps) > 0)
    steps = np.diff(stamps)
    assert steps.max() > 1.5 * 1000 / 30  # skipped frames leave holes in the clock
    assert 1 <= sum(f.meta["truth"].swapped for f in frames) <= 9
    swapped = next(f for f in frames if f.meta["truth"].swapped and f.present)
    clean = to_pose_frames(m, SHAPE, cam)[swapped.index]
    assert swapped.image_xy[Landmark.LEFT_KNEE] == pytest.approx(
        clean.image_xy[Landmark.RIGHT_KNEE]
    )


def _flesh_gap(world: np.ndarray, side: str, radii: tuple[float, float]) -> float:
    """Height of the lowest elbow/wrist flesh above the floor."""
    s = side.upper()
    return min(world[getattr(Landmark, f"{s}_ELBOW"), 2] - radii[0],
               world[getattr(Landmark, f"{s}_WRIST"), 2] - radii[1])


@pytest.mark.parametrize("exercise", ["glute_bridge", "prone_leg_lift", "lying_leg_raise"])
def test_generated_lying_arms_rest_on_the_floor(exercise: str) -> None:
    """The generator rests lying arms on the floor as the renderer does (they floated 5-7 cm
    above it, and prone arms reached into it): the lowest elbow/wrist flesh touches the floor in
    every frame, and a hand never points down into it."""
    shape = BodyShape(height_m=1.70)
    radii = arm_flesh_radii(1.70)
    motion = animate(MotionScript(exercise, reps=(RepSpec(),)), shape, 10.0, seed=3)
    for state in motion.states:
        lm = world_landmarks(shape, state)
        for side in ("left", "right"):
            assert abs(_flesh_gap(lm, side, radii)) < 0.002
            s = side.upper()
            wrist_z = lm[getattr(Landmark, f"{s}_WRIST"), 2]
            assert lm[getattr(Landmark, f"{s}_INDEX"), 2] >= wrist_z - 1e-6
    assert np.array_equal(motion.truth.hip_flexion_deg["left"],
                          [st.hip_flexion_deg["left"] for st in motion.states])


def test_hip_thrust_arms_lie_still_on_the_bench() -> None:
    """On the bench the arms rest on its top (elbow flesh `back_depth` below the shoulder
    joints, where the bench top is) and stay put while the trunk pivots; they used to point at
    the ceiling."""
    shape = BodyShape(height_m=1.70)
    elbow_r, wrist_r = arm_flesh_radii(1.70)
    arm = [Landmark.LEFT_ELBOW, Landmark.LEFT_WRIST, Landmark.LEFT_INDEX,
           Landmark.RIGHT_ELBOW, Landmark.RIGHT_WRIST, Landmark.RIGHT_INDEX]
    poses = [world_landmarks(shape, pose_at(shape, "hip_thrust", a)) for a in (0.0, 0.5, 1.0)]
    for lm in poses[1:]:
        np.testing.assert_allclose(lm[arm], poses[0][arm], atol=1e-9)
    lm = poses[0]
    bench_top = lm[Landmark.LEFT_SHOULDER, 2] - shape.L["back_depth"]
    for elbow, wrist in ((Landmark.LEFT_ELBOW, Landmark.LEFT_WRIST),
                         (Landmark.RIGHT_ELBOW, Landmark.RIGHT_WRIST)):
        assert lm[elbow, 2] - elbow_r == pytest.approx(bench_top, abs=1e-6)
        assert 0.0 <= lm[wrist, 2] - wrist_r - bench_top < 0.02  # the forearm lies on it too
        assert lm[wrist, 0] < lm[Landmark.LEFT_SHOULDER, 0]  # towards the head, over the bench


def test_frame_count_survives_float_durations() -> None:
    """4.2 s at 10 fps is 42 intervals: 43 frames, the last at 4.2 s (floor(41.99999...) lost
    it, which a property test found)."""
    script = MotionScript(
        "back_lunge", reps=(RepSpec(up_s=1.9, top_hold_s=0.0, down_s=0.3),), rest_s=1.0,
        side="alternating",
    )
    motion = animate(script, SHAPE, 10.0)
    assert len(motion) == 43
    assert motion.times_s[-1] == pytest.approx(script.duration_s)
