"""Degraded-input warnings: pure numbers in, one sentence per problem out."""

from __future__ import annotations

from posecheck.inputs.input_checks import InputStats, degraded_input_warnings

KINDS = {"glute_bridge": "extension", "frog_pump": "extension", "lying_leg_raise": "flexion",
         "romanian_deadlift": "extension", "standing_knee_raise": "flexion"}


def stats(frames: int = 300, crowded: int = 0, gap_every: int = 0) -> InputStats:
    s = InputStats()
    t = 0.0
    for i in range(frames):
        t += 100.0 if gap_every and i % gap_every == 0 else 33.3
        s.add(t, 33.3, True, 2 if i < crowded else 1)
    return s


def test_a_clean_input_has_no_warnings() -> None:
    scores = {"glute_bridge": 2.0, "frog_pump": 2.0, "lying_leg_raise": 1.4}
    assert degraded_input_warnings(stats(), (640, 480), scores, KINDS) == []


def test_each_problem_is_one_sentence() -> None:
    found = degraded_input_warnings(stats(crowded=120, gap_every=5), (96, 64),
                                    {"romanian_deadlift": 1.6, "standing_knee_raise": 1.5}, KINDS)
    assert len(found) == 4 and all("\n" not in w for w in found)
    assert found[0].startswith("frames are only 96x64 px")
    assert found[1].startswith("irregular timing: 59 of 300 frames came after a gap")
    assert found[2].startswith("more than one person in 40% of frames")
    assert "romanian_deadlift, but standing_knee_raise scored almost as high" in found[3]


def test_a_weak_guess_is_flagged_and_a_same_kind_tie_is_not() -> None:
    weak = degraded_input_warnings(stats(), (640, 480), {"glute_bridge": 0.5}, KINDS)
    assert weak and "little confidence" in weak[0]
    tie = degraded_input_warnings(stats(), (640, 480), {"glute_bridge": 2.0, "frog_pump": 2.0},
                                  KINDS)
    assert tie == []  # two bridges alike: the work counted means the same
