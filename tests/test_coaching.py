"""Coaching belongs to the rep in front of the person (issue 18), checked on the bundled samples
through `analyse`'s own outputs: the timeline says, frame by frame, which cue is on show and
which movement it is about."""

from __future__ import annotations

import csv
import itertools
import json
from pathlib import Path

import pytest
from helpers import cut_clip

from posecheck.apps.analyse import analyse_video
from posecheck.outputs.report import SessionReport

SAMPLES = Path(__file__).resolve().parents[1] / "sample_videos"


def analysed(
    name: str, out: Path, exercise: str, model: str = "full"
) -> tuple[SessionReport, list[dict]]:
    report = analyse_video(SAMPLES / name, exercise, model=model, out_dir=out, write_video=False,
                           write_html=False)
    with open(out / "timeline.csv", newline="") as fh:
        return report, list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def mistakes(tmp_path_factory: pytest.TempPathFactory) -> tuple[SessionReport, list[dict]]:
    return analysed("glute_bridge_mistakes.mp4", tmp_path_factory.mktemp("m"), "glute_bridge")


@pytest.fixture(scope="module")
def side(tmp_path_factory: pytest.TempPathFactory) -> tuple[SessionReport, list[dict]]:
    return analysed("glute_bridge_side.mp4", tmp_path_factory.mktemp("s"), "glute_bridge")


def shown(rows: list[dict], rule: str) -> list[dict]:
    return [r for r in rows if r["cue"] == rule]


def test_every_cue_on_show_during_a_rep_is_about_that_rep(mistakes) -> None:
    _, rows = mistakes
    during = [r for r in rows if r["movement"]]
    assert during
    wrong = [(r["t_s"], r["cue"], r["cue_movement"], r["movement"])
             for r in during if r["cue"] and r["cue_movement"] != r["movement"]]
    assert not wrong, wrong[:5]


def test_the_three_mistakes_show_while_they_happen_or_at_their_reps_end(mistakes) -> None:
    """Reps of the sample (sample_videos/glute_bridge_mistakes.toml): 2 short hold, 3 top 12°
    short, 4 over-arched, then a half-height partial; 1 and 6 clean."""
    report, rows = mistakes
    truth = json.loads((SAMPLES / "glute_bridge_mistakes.truth.json").read_text())
    arch_top = truth["tops"][3]
    arch = shown(rows, "over_arch")
    assert arch and float(arch[0]["t_s"]) < arch_top["end_s"]  # during the arched hold
    assert arch[0]["movement"] == arch[0]["cue_movement"] == "4"
    lockout = [r for r in shown(rows, "incomplete_lockout") if r["cue_movement"] == "3"]
    assert lockout and lockout[0]["movement"] == "3"  # during rep 3, not after it
    short = shown(rows, "hold_short")
    assert short and {r["cue_movement"] for r in short} == {"2"}
    assert not short[0]["movement"]  # at the end of its own rep, before the next starts
    partial = shown(rows, "incomplete_lockout")
    assert {r["cue_movement"] for r in partial} == {"3", "5"}  # rep 3 and the partial only
    clean = {"1", "6"}
    assert not [r for r in rows if r["cue_movement"] in clean]
    by_rep = {r.index: {c.rule for c in r.cues} for r in report.reps}
    assert by_rep == {1: set(), 2: {"hold_short"}, 3: {"incomplete_lockout"},
                      4: {"over_arch"}, 5: set()}


def test_the_hold_on_show_is_the_reports(side) -> None:
    """While holding the timer runs; when the hold ends it shows the hold as fitted so far, and
    once the rep is final exactly the report's figure, until the next rep starts."""
    report, rows = side
    holds = [h.duration_s for h in report.holds]
    assert len(holds) == 5
    ends: list[float] = []  # the figure on show on the first frame after each hold
    finals: list[float] = []  # the figure on show just before the next rep (or the end)
    for prev, row in itertools.pairwise(rows):
        if prev["holding"] == "1" and row["holding"] == "0":
            ends.append(float(row["hold_elapsed_s"]))
        if not prev["movement"] and row["movement"] and float(prev["hold_elapsed_s"]) > 0:
            finals.append(float(prev["hold_elapsed_s"]))
    finals.append(float(rows[-1]["hold_elapsed_s"]))
    assert finals == pytest.approx(holds, abs=0.006)  # the report's figure, to its 2 decimals
    assert ends == pytest.approx(holds, abs=0.1)


def test_no_wrong_posture_on_a_correct_start(side) -> None:
    _, rows = side
    assert all(r["phase"] != "wrong_posture" and r["posture_ok"] == "1" for r in rows)


def test_hips_that_never_leave_the_floor_are_told_what_to_do(tmp_path: Path) -> None:
    report, rows = analysed("neg_pelvic_tilt.mp4", tmp_path, "glute_bridge")
    assert report.rep_count == 0 and report.partial_count == 0
    no_rep = [c for c in report.cues if c.rule == "no_rep"]
    assert len(no_rep) == 1 and no_rep[0].message.startswith("No rep yet: drive the hips up")
    assert shown(rows, "no_rep")  # said while it happens, not only in the report


def test_the_working_legs_angle_is_shown_on_alternating_raises(tmp_path: Path) -> None:
    """knee_raise_side.mp4 at 5.4 s: the far leg is raised to ~87° while the near leg stands."""
    report, rows = analysed("knee_raise_side.mp4", tmp_path, "standing_knee_raise")
    row = min(rows, key=lambda r: abs(float(r["t_s"]) - 5.4))
    leg = row["working_side"]
    assert float(row[f"smoothed_{leg}_deg"]) > 70
    # no hold target: its pauses are information, not "0 met target"
    line = report.summary_line()
    assert "pauses (mean " in line and "met" not in line, line


def test_a_recording_that_ends_mid_hold_has_an_unfinished_rep_not_a_counted_one(
    tmp_path: Path,
) -> None:
    clip = cut_clip(SAMPLES / "glute_bridge_side.mp4", tmp_path / "cut.mp4", 3.0)
    report = analyse_video(clip, "glute_bridge", write_video=False)
    assert report.rep_count == 0 and not report.holds
    cut = report.unfinished
    assert cut is not None and cut.hold is not None
    assert cut.hold.duration_s == pytest.approx(3.0 - 1.6, abs=0.15)  # truth: top from 1.6 s
    assert "1 rep unfinished at the end (not counted, held 1." in report.summary_line()
    assert report.to_dict()["unfinished"]["hold"]["duration_s"] == pytest.approx(
        cut.hold.duration_s, abs=1e-3)
