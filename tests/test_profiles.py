"""Exercise profiles as data: registry, lookup errors, consistency with the cue rules, CLI."""

from __future__ import annotations

import dataclasses

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
