"""Routines as data: shipped routines validate; a bad file gives one line naming its line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from posecheck.core.profiles import PROFILES
from posecheck.errors import PosecheckError, ProfileError
from posecheck.routine import (
    Block,
    RoutineError,
    builtin_routines,
    load_routine,
    parse_routine,
)


def _parse(text: str):
    return parse_routine(textwrap.dedent(text), source="my.toml")


def _error(text: str) -> str:
    with pytest.raises(RoutineError) as info:
        _parse(text)
    message = str(info.value)
    assert "\n" not in message
    return message


# ----------------------------------------------------------------- shipped routines


def test_shipped_routines_are_listed_and_load() -> None:
    names = builtin_routines()
    assert {"daily_reset", "balanced_hip"} <= set(names)
    for name in names:
        routine = load_routine(name)
        assert routine.name == name
        assert routine.blocks
        for block in routine.blocks:
            assert block.exercise is None or block.exercise in PROFILES
            assert block.reps is not None or block.duration_s is not None


def test_daily_reset_follows_the_seed_article() -> None:
    r = load_routine("daily_reset")
    assert [b.exercise for b in r.blocks] == [
        None, "prone_leg_lift", "quadruped_hip_extension", "glute_bridge"
    ]
    breathing = r.blocks[0]
    assert not breathing.counted and breathing.posture == "prone"
    assert breathing.duration_s == 180  # "Do this for 3 minutes"
    assert r.blocks[1].duration_s == 120 and r.blocks[2].duration_s == 120
    assert r.blocks[2].hold_s == 2 and r.blocks[3].hold_s == 2  # "1-1000, 2-1000"
    assert 120 <= r.blocks[3].duration_s <= 180  # "2 to 3 minutes"
    assert 540 <= (r.planned_s or 0) <= 720  # "about ten minutes"


def test_balanced_routine_alternates_flexion_and_extension() -> None:
    r = load_routine("balanced_hip")
    kinds = r.kinds()
    assert kinds.count("flexion") >= 2 and kinds.count("extension") >= 2
    assert all(a != b for a, b in zip(kinds, kinds[1:]))  # strictly alternating
    # one of each kind from the hip-movements article's lists
    assert "standing_knee_raise" in [b.exercise for b in r.blocks]
    assert "glute_bridge" in [b.exercise for b in r.blocks]
    # and the RESET article's "reach for the sky"
    assert "prone_leg_lift" in [b.exercise for b in r.blocks]


def test_routine_error_is_a_posecheck_error() -> None:
    assert issubclass(RoutineError, ProfileError)
    assert issubclass(RoutineError, PosecheckError)


# ----------------------------------------------------------------- user files


def test_user_file_with_defaults(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(
        textwrap.dedent(
            """
            rest_s = 20
            [[block]]
            exercise = "glute_bridge"
            reps = 12

            [[block]]
            exercise = "standing_knee_raise"
            duration_s = 60
            rest_s = 0
            """
        )
    )
    r = load_routine(path)
    assert r.name == "mine" and r.source == str(path)
    bridge, knee = r.blocks
    assert bridge.hold_s == PROFILES["glute_bridge"].hold_target_s  # profile default
    assert bridge.rest_s == 20 and knee.rest_s == 0
    assert bridge.kind == "extension" and knee.kind == "flexion"
    assert bridge.line == 3 and knee.line == 7
    assert knee.target_text == "1 min"


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        pytest.param(
            """
            [[block]]
            exercise = "glute_brige"
            reps = 10
            """,
            3, "unknown exercise 'glute_brige' (did you mean 'glute_bridge'?)", id="typo-exercise",
        ),
        pytest.param(
            """
            [[block]]
            exercise = "glute_bridge"
            reps = 10
            [[block]]
            exercise = "glute_bridge"
            rep = 10
            """,
            7, "block 2: unknown key 'rep' (did you mean 'reps'?)", id="unknown-key",
        ),
        pytest.param(
            """
            [[block]]
            exercise = "glute_bridge"
            reps = "ten"
            """,
            4, "'reps' must be a whole number", id="reps-string",
        ),
        pytest.param(
            """
            [[block]]
            exercise = "glute_bridge"
            reps = 0
            """,
            4, "'reps' must be between 1", id="reps-zero",
        ),
        pytest.param(
            """
            [[block]]
            exercise = "glute_bridge"
            duration_s = -5
            """,
            4, "'duration_s' must be between 0", id="negative-duration",
        ),
        pytest.param(
            """
            [[block]]
            exercise = "glute_bridge"
            hold_s = 2
            """,
            2, "needs a target", id="no-target",
        ),
        pytest.param(
            """
            [[block]]
            name = "Breathe"
            posture = "prone"
            reps = 5
            """,
            5, "'reps' needs an 'exercise'", id="timed-with-reps",
        ),
        pytest.param(
            """
            [[block]]
            name = "Breathe"
            """,
            2, "needs an 'exercise' or, for a timed block, 'duration_s'", id="empty-block",
        ),
        pytest.param(
            """
            [[block]]
            exercise = "glute_bridge"
            posture = "standing"
            reps = 3
            """,
            4, "'glute_bridge' is done supine, not standing", id="posture-mismatch",
        ),
        pytest.param(
            """
            title = "x"
            rest = 10
            [[block]]
            exercise = "glute_bridge"
            reps = 3
            """,
            3, "unknown key 'rest' (did you mean 'rest_s'?)", id="top-level-key",
        ),
        pytest.param(
            """
            title = "no blocks"
            """,
            2, "at least one [[block]]", id="no-blocks",
        ),
        pytest.param(
            """
            [[block]]
            exercise = "glute_bridge"
            reps = 10
            hold_s = 2 s
            """,
            5, "invalid TOML", id="toml-syntax",
        ),
        pytest.param(
            """
            [[block]]
            exercise = "glute_bridge
            reps = 10
            """,
            3, "invalid TOML", id="unterminated-string",
        ),
    ],
)
def test_malformed_routine_names_the_line(text: str, line: int, fragment: str) -> None:
    message = _error(text)
    assert message.startswith(f"my.toml:{line}: "), message
    assert fragment in message


def test_unknown_builtin_routine_suggests_names() -> None:
    with pytest.raises(RoutineError, match="did you mean 'daily_reset'"):
        load_routine("daily_rest")


def test_missing_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(RoutineError, match="not found"):
        load_routine(tmp_path / "nope.toml")


def test_blocks_built_in_code_need_no_file() -> None:
    block = Block(name="Bridge", exercise="glute_bridge", posture="supine", kind="extension",
                  reps=5, hold_s=2.0)
    assert block.counted and block.target_text == "5 reps, hold 2 s"


# ----------------------------------------------------------------- CLI


def test_cli_lists_and_shows_routines() -> None:
    from posecheck.cli.routine_cmd import routine

    result = CliRunner().invoke(routine, ["--list"])
    assert result.exit_code == 0, result.output
    assert "daily_reset" in result.output and "balanced_hip" in result.output
    result = CliRunner().invoke(routine, ["daily_reset", "--show"])
    assert result.exit_code == 0, result.output
    assert "Prone breathing" in result.output and "Speed skaters" in result.output


def test_cli_bad_routine_file_is_one_line_error(tmp_path: Path) -> None:
    from posecheck.cli.routine_cmd import routine

    bad = tmp_path / "bad.toml"
    bad.write_text('[[block]]\nexercise = "nope"\nreps = 3\n')
    result = CliRunner().invoke(routine, [str(bad), "--show"])
    assert result.exit_code == 2
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and f"{bad}:2: block 1: unknown exercise 'nope'" in lines[0]
