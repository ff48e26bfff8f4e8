"""Exercise profiles as data: registry, lookup errors, consistency with the cue rules, CLI."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from click.testing import CliRunner

from posecheck.cli import main
from posecheck.core.cues import RULES, evaluate_rep, validate_rules
from posecheck.core.profiles import (
    POSTURES,
    PROFILES,
    ExerciseProfile,
    get_profile,
    rule,
)
from posecheck.errors import ProfileError

EXPECTED = {
    "glute_bridge",
    "single_leg_bridge",
    "hip_thrust",
    "frog_pump",
    "standing_knee_raise",
    "seated_march",
    "lying_leg_raise",
    "romanian_deadlift",
    "back_lunge",
    "prone_leg_lift",
    "quadruped_hip_extension",
}


def test_registry_has_every_exercise_and_bridge_first() -> None:
    assert set(PROFILES) == EXPECTED
    assert next(iter(PROFILES)) == "glute_bridge"


def test_lookup_forgives_case_and_dashes() -> None:
    assert get_profile("Glute-Bridge") is PROFILES["glute_bridge"]
    prof = PROFILES["hip_thrust"]
    assert get_profile(prof) is prof


def test_unknown_exercise_is_a_profile_error_listing_choices() -> None:
    with pytest.raises(ProfileError) as err:
        get_profile("squat")
    msg = str(err.value)
    assert msg.startswith("unknown exercise 'squat'; choose from: glute_bridge, ")
    assert all(name in msg for name in EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_profile_is_consistent(name: str) -> None:
    p = PROFILES[name]
    validate_rules(p)  # every rule and parameter exists
    assert p.posture in POSTURES
    assert set(p.also_postures) <= set(POSTURES)
    gap = p.direction * (p.top_deg - p.rest_deg)
    assert gap > 2 * p.hysteresis_deg
    assert p.min_rom_deg <= gap + 30  # a full rep can reach it
    assert p.partial_min_rom_deg < p.min_rom_deg
    assert p.position_deg[0] < p.position_deg[1]
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.rest_deg = 0.0  # type: ignore[misc]


def test_glute_bridge_zones_sit_inside_the_bridge_range() -> None:
    p = PROFILES["glute_bridge"]
    bottom, top, incomplete = 50.0, 0.0, 15.0  # typical bottom, full top, stopped short
    assert p.kind == "extension" and p.posture == "supine" and p.hold_target_s == 2.0
    assert bottom - p.rest_deg >= 10.0  # >= 10° margin at the bottom
    assert p.top_deg - incomplete >= 10.0  # an incomplete lockout still counts, with margin
    assert p.top_deg - top >= 10.0
    assert -30.0 < p.top_deg < p.rest_deg < 120.0  # inside the clinical range


def test_invalid_profiles_are_rejected() -> None:
    base = PROFILES["glute_bridge"]
    with pytest.raises(ProfileError):
        dataclasses.replace(base, kind="twist")
    with pytest.raises(ProfileError):
        dataclasses.replace(base, posture="hanging")
    with pytest.raises(ProfileError):
        dataclasses.replace(base, top_deg=38.0)  # zones overlap within the hysteresis
    with pytest.raises(ProfileError):
        dataclasses.replace(base, laterality="per_leg", signal="knee_flexion_min")
    bad = dataclasses.replace(base, rules=(rule("no_such_rule"),))
    with pytest.raises(ProfileError):
        validate_rules(bad)
    bad = dataclasses.replace(base, rules=(rule("over_arch", depth=3),))
    with pytest.raises(ProfileError):
        validate_rules(bad)


def test_rules_are_data_with_parameters() -> None:
    r = rule("over_arch", min_deg=-8)
    assert r.kwargs == {"min_deg": -8.0}
    assert r.describe() == "over_arch(min_deg=-8)"
    assert hash(r) == hash(rule("over_arch", min_deg=-8.0))
    assert set(RULES) >= {
        "incomplete_lockout",
        "hold_short",
        "over_arch",
        "feet_placement",
        "tempo_fast",
        "hips_drop",
        "asymmetry",
    }


def test_profile_can_be_defined_as_data() -> None:
    custom = ExerciseProfile(
        name="custom_bridge",
        title="Custom",
        kind="extension",
        posture="supine",
        signal="hip_flexion",
        rest_deg=45.0,
        top_deg=20.0,
        rules=(rule("hold_short"),),
        hold_target_s=3.0,
    )
    assert custom.direction == -1
    assert custom.progress(10.0) == -10.0
    assert custom.zones_text() == "rest >= 45°, top <= 20°"


def _features(**rep_kw):
    from posecheck.core.counter import RepFeatures
    from posecheck.core.results import Hold, Rep

    base = dict(
        index=1,
        side="both",
        start_ms=0.0,
        top_ms=1000.0,
        end_ms=4000.0,
        rom_deg=50.0,
        peak_deg=0.0,
        concentric_ms=1000.0,
        eccentric_ms=1000.0,
        extension_phase_ms=900.0,
        flexion_phase_ms=900.0,
        hold=Hold(1, 1000.0, 3000.0, 2.0),
    )
    base.update(rep_kw)
    top_means = base.pop("top_means", {"knee_flexion": 90.0, "asymmetry": 2.0})
    drop = base.pop("drop", 0.0)
    return RepFeatures(Rep(**base), -base["peak_deg"], drop, top_means, {}, 2.0)


@pytest.mark.parametrize(
    ("change", "fires"),
    [
        ({}, set()),
        ({"peak_deg": 15.0}, {"incomplete_lockout"}),
        ({"peak_deg": -13.0}, set()),  # within the safe range: jitter at a full top
        ({"peak_deg": -18.0}, {"over_arch"}),
        ({"hold": None}, {"hold_short"}),
        ({"concentric_ms": 300.0}, {"tempo_fast"}),
        ({"eccentric_ms": 300.0}, {"tempo_fast"}),
        ({"top_means": {"knee_flexion": 130.0}}, {"feet_placement"}),
        ({"top_means": {"knee_flexion": 55.0}}, {"feet_placement"}),
        ({"top_means": {"knee_flexion": 90.0, "asymmetry": 20.0}}, {"asymmetry"}),
        ({"drop": 10.0}, {"hips_drop"}),
    ],
)
def test_bridge_cue_rules(change: dict, fires: set[str]) -> None:
    cues = evaluate_rep(PROFILES["glute_bridge"], _features(**change))
    assert {c.rule for c in cues} == fires
    assert all(c.message and c.rep_index == 1 for c in cues)


def test_exercises_command_lists_every_profile() -> None:
    runner = CliRunner()
    res = runner.invoke(main, ["exercises"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    for name in EXPECTED:
        assert name in res.output
    assert "rest >= 40°, top <= 25°" in res.output
    res = runner.invoke(main, ["exercises", "--names"])
    assert res.output.split() == list(PROFILES)


def test_exercises_piped_is_one_tab_separated_line_per_profile() -> None:
    """Piped to a file (CliRunner's stdout is not a terminal), no 80-column table folds."""
    res = CliRunner().invoke(main, ["exercises", "--verbose"], env={"COLUMNS": "80"})
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0].split("\t") == ["name", "kind", "posture", "signal", "zones", "hold", "rules"]
    assert [line.split("\t")[0] for line in lines[1:]] == list(PROFILES)
    assert all(len(line.split("\t")) == 7 for line in lines)
    assert not any(ch in res.output for ch in "┃│━─")


# --- behaviour the profiles rely on: glitches and far-leg echoes (SessionAnalyzer) -------------

def _frames(script, side: str = "left", fps: float = 25, seed: int = 0):
    from posecheck.synthetic.kinematics import BodyShape
    from posecheck.synthetic.landmarks import Camera, to_pose_frames
    from posecheck.synthetic.motions import animate

    motion = animate(script, BodyShape(), fps, seed=seed)
    return motion, to_pose_frames(motion, BodyShape(), Camera.framing(motion, side), seed=seed)


def test_jump_gate_drops_a_short_glitch_and_accepts_a_lasting_level() -> None:
    from posecheck.core.analyzer import JumpGate

    gate = JumpGate()
    t = [i * 40.0 for i in range(20)]
    assert gate.update(t[0], 60.0) == 60.0
    assert all(math.isnan(gate.update(t[i], -100.0)) for i in range(1, 6))  # 200 ms glitch
    assert gate.update(t[6], 65.0) == 65.0  # back near the last good value: accepted
    assert gate.update(t[7], 75.0) == 75.0  # 250°/s: a movement, not a glitch
    # a jump of 175° is dropped until a joint could have moved that far (15° + 600°/s) ...
    got = [gate.update(t[i], -100.0) for i in range(8, 20)]
    assert math.isnan(got[0]) and got[-1] == -100.0
    assert sum(math.isnan(g) for g in got) == 6  # 40..240 ms after the last good sample
    # ... or, for any jump, until the new level has lasted 300 ms (a cut, a re-acquired person)
    gate = JumpGate(rate_deg_s=0.0)
    gate.update(0.0, 10.0)
    got = [gate.update(40.0 * i, 90.0) for i in range(1, 12)]
    assert [math.isnan(g) for g in got] == [True] * 8 + [False] * 3  # 40..320 ms: 300 ms held


def test_a_few_frames_of_a_misplaced_leg_do_not_make_a_rep() -> None:
    """A hinge whose left leg is misplaced for 5 frames mid-descent (the hip reads -100°: the
    model briefly tracked a rotated copy) is still one rep per hinge, not two."""
    from posecheck.core.analyzer import analyse_poses
    from posecheck.core.geometry import hip_flexion_2d, measure
    from posecheck.core.landmarks import Landmark
    from posecheck.synthetic.motions import MotionScript, RepSpec

    motion, frames = _frames(MotionScript("romanian_deadlift", reps=(RepSpec(1.0, 0.5, 1.0),) * 3))
    rising = [i for i, f in enumerate(frames) if 62 < motion.truth.hip_flexion_deg["left"][i] < 80]
    start = rising[0]
    for i in range(start, start + 5):  # the left thigh swung back to read -100°
        f = frames[i]
        xy = f.image_xy.copy()
        hip, thigh = xy[Landmark.LEFT_HIP], xy[Landmark.LEFT_KNEE] - xy[Landmark.LEFT_HIP]
        facing = measure(f).facing
        for sign in (1, -1):
            a = np.radians(sign * (hip_flexion_2d(f, "left", facing) + 100.0))
            rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
            xy[Landmark.LEFT_KNEE] = hip + rot @ thigh
            moved = dataclasses.replace(f, image_xy=xy.copy(), world_xyz=None)
            if abs(hip_flexion_2d(moved, "left", facing) + 100.0) < 1.0:
                break
        frames[i] = moved
    _, summary = analyse_poses(frames, "romanian_deadlift")
    assert summary.rep_count == 3


@pytest.mark.parametrize("exercise", ["prone_leg_lift", "seated_march"])
def test_an_echo_of_the_working_leg_in_the_other_is_not_a_rep(exercise: str) -> None:
    """Side-on, the model drags the far leg along with a lifted near one (the prone far hip
    reads ≈-11° while it lies flat, a seated far hip ≈+12°). One leg works at a time, so the
    rep is the working leg's only, credited to it."""
    from posecheck.core.analyzer import analyse_poses
    from posecheck.core.landmarks import SIDE_JOINTS
    from posecheck.synthetic.motions import MotionScript, RepSpec

    script = MotionScript(exercise, reps=(RepSpec(0.8, 0.5, 0.8),) * 3, side="left")
    motion, frames = _frames(script)
    near, far = SIDE_JOINTS["left"], SIDE_JOINTS["right"]
    for i, f in enumerate(frames):
        if f.present:  # the far leg drawn 55 % of the way onto the working one
            xy = f.image_xy.copy()
            for jn, jf in zip((near.knee, near.ankle, near.heel, near.foot_index),
                              (far.knee, far.ankle, far.heel, far.foot_index), strict=True):
                xy[jf] = 0.45 * xy[jf] + 0.55 * xy[jn]
            frames[i] = dataclasses.replace(f, image_xy=xy, world_xyz=None)
    _, summary = analyse_poses(frames, exercise)
    assert summary.rep_count == motion.truth.rep_count == 3
    assert len(summary.partials) == 0
    assert summary.side_counts == motion.truth.side_counts
    peaks = [max(motion.truth.hip_flexion_deg[r.side][round(r.top_ms / 40)] * d for d in (1, -1))
             for r in summary.reps]
    assert all(abs(abs(r.peak_deg) - p) < 17 for r, p in zip(summary.reps, peaks, strict=True))
