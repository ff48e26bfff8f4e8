"""SessionReport serialisation, the streamed timeline.csv and the angle plot."""

from __future__ import annotations

import csv
import json
import math
import tracemalloc
from dataclasses import replace
from pathlib import Path

import pytest
from helpers import frame_result

from posecheck import __version__
from posecheck.core.results import (
    Cue,
    FrameResult,
    Hold,
    Phase,
    Rep,
    SetSummary,
    Severity,
)
from posecheck.errors import OutputError
from posecheck.outputs.report import (
    TIMELINE_COLUMNS,
    AngleTrace,
    SessionReport,
    TimelineWriter,
    shown_angle,
    shown_side,
    write_angle_plot,
)


def make_result(t_ms: float = 0.0, angle: float = 30.0, **overrides: object) -> FrameResult:
    """A left-side-only frame, one rep done, whose raw hip reads 1° above the smoothed one."""
    overrides = {"partial_count": 0, **overrides}
    return frame_result(angle, t_ms, sides=("left",), raw_offset=1.0, rep_count=1, **overrides)


HOLD = Hold(rep_index=1, start_ms=1500.0, end_ms=3750.0, target_s=2.0)
CUE = Cue("over_arch", "Don't arch the lower back", Severity.WARNING, 1800.0, 1, -18.25)
REP = Rep(
    index=1,
    side="left",
    start_ms=500.0,
    top_ms=1600.0,
    end_ms=4500.0,
    rom_deg=52.4,
    peak_deg=-8.2,
    concentric_ms=1000.0,
    eccentric_ms=750.0,
    extension_phase_ms=1000.0,
    flexion_phase_ms=750.0,
    hold=HOLD,
    cues=(CUE,),
)
PARTIAL = replace(
    REP, index=1, start_ms=5000.0, top_ms=5600.0, end_ms=6200.0, partial=True, hold=None, cues=()
)


def make_report(**kw: object) -> SessionReport:
    summary = SetSummary(
        exercise="glute_bridge",
        reps=(REP,),
        partials=(PARTIAL,),
        holds=(HOLD,),
        cues=(CUE,),
        side_counts={"left": 1},
        frames=200,
        frames_with_pose=190,
        side_used="left",
    )
    args: dict[str, object] = {
        "exercise_auto_detected": False,
        "model": "full",
        "source": "/clips/bridge.mp4",
        "fps": 25.0,
        "duration_s": 8.0,
    }
    args.update(kw)
    return SessionReport.from_summary(summary, **args)  # type: ignore[arg-type]


def test_report_dict_has_the_documented_content() -> None:
    report = make_report()
    d = json.loads(report.to_json())
    for key in (
        "exercise", "exercise_auto_detected", "model", "source", "reps", "partials", "holds",
        "cues", "detection_rate", "side_used", "fps", "frames", "software_version",
    ):  # fmt: skip
        assert key in d, key
    assert d["software_version"] == __version__
    assert d["rep_count"] == 1 and d["partial_count"] == 1 and d["hold_count"] == 1
    assert d["detection_rate"] == pytest.approx(0.95)
    rep = d["reps"][0]
    assert (rep["start_s"], rep["top_s"], rep["end_s"]) == (0.5, 1.6, 4.5)
    assert rep["rom_deg"] == 52.4 and rep["peak_extension_deg"] == 8.2
    assert rep["concentric_s"] == 1.0 and rep["eccentric_s"] == 0.75
    assert rep["hold"] == {
        "rep_index": 1,
        "start_s": 1.5,
        "end_s": 3.75,
        "duration_s": 2.25,
        "target_s": 2.0,
        "target_met": True,
    }
    assert rep["cues"][0]["rule"] == "over_arch" and rep["cues"][0]["severity"] == "warning"
    assert d["partials"][0]["partial"] is True
    assert report.summary_line().startswith("glute_bridge: 1 reps, 1 partial, 1 pause (1 met")


def test_report_handles_nan_and_empty() -> None:
    summary = SetSummary("glute_bridge", (), (), (), (), frames=0)
    report = SessionReport.from_summary(
        summary, exercise_auto_detected=True, model="lite", source="x.mp4", fps=None,
        processing_fps=math.nan,
    )  # fmt: skip
    d = json.loads(report.to_json())  # NaN must not leak into JSON
    assert d["detection_rate"] == 0.0 and d["processing_fps"] is None and d["reps"] == []
    assert "(auto-detected)" in report.summary_line()


def test_write_json_unwritable_is_an_output_error(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="cannot write"):
        make_report().write_json(tmp_path / "missing-dir" / "report.json")


def test_shown_side_prefers_confident_side_when_both() -> None:
    r = make_result(side_used="both")
    assert shown_side(r) == "left"
    assert shown_angle(r) == 30.0
    assert shown_side(make_result(side_used=None)) is None
    assert math.isnan(shown_angle(make_result(side_used=None)))
    # smoothed unknown: fall back to the raw measure
    r2 = make_result(hip_smoothed_deg={"left": math.nan, "right": math.nan})
    assert shown_angle(r2) == 31.0


def test_shown_side_is_the_moving_leg_when_both_are_trusted() -> None:
    r = make_result(side_used="both", hip_smoothed_deg={"left": 3.0, "right": 75.0})
    r = replace(r, measures=replace(r.measures, side_confidence={"left": 0.9, "right": 0.8}))
    assert shown_side(r) == "right" and shown_angle(r) == 75.0  # the raised knee
    weak = replace(r, measures=replace(r.measures, side_confidence={"left": 0.9, "right": 0.3}))
    assert shown_side(weak) == "left"  # an untrusted side is never shown


def test_timeline_rows(tmp_path: Path) -> None:
    path = tmp_path / "timeline.csv"
    with TimelineWriter(path) as tl:
        tl.write(make_result(0.0, 40.0))
        tl.write(make_result(40.0, -5.0, holding=True, hold_elapsed_s=0.5, phase=Phase.HOLD))
        tl.write(
            make_result(
                80.0,
                pose_present=False,
                side_used=None,
                measures=None,
                hip_smoothed_deg={"left": math.nan, "right": math.nan},
                primary_deg=math.nan,
                phase=Phase.NO_POSE,
                rep_in_progress=None,
            )
        )
    assert tl.rows == 3
    rows = list(csv.DictReader(path.open()))
    assert list(rows[0]) == list(TIMELINE_COLUMNS)
    assert rows[0]["t_s"] == "0.000" and rows[0]["smoothed_left_deg"] == "40.00"
    assert rows[0]["raw_left_deg"] == "41.00" and rows[0]["raw_right_deg"] == ""
    assert rows[1]["holding"] == "1" and rows[1]["phase"] == "hold"
    assert rows[1]["class"] == "flexed" and rows[1]["direction"] == "extending"
    assert rows[2]["pose_present"] == "0" and rows[2]["primary_deg"] == ""
    assert rows[2]["rep_index"] == "" and rows[1]["rep_index"] == "2"


def test_timeline_streams_with_flat_memory(tmp_path: Path) -> None:
    """10 minutes at 30 fps: the writer keeps nothing per frame."""
    results = [make_result(i * 33.3, 30 + i % 40) for i in range(50)]
    tracemalloc.start()
    try:
        with TimelineWriter(tmp_path / "t.csv") as tl:
            for i in range(1000):
                tl.write(results[i % 50])
            tracemalloc.reset_peak()
            for i in range(18000):
                tl.write(results[i % 50])
            _, peak_long = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert tl.rows == 19000
    assert peak_long < 256 * 1024, peak_long
    assert (tmp_path / "t.csv").read_text().count("\n") == 19001


def test_timeline_unwritable_dir(tmp_path: Path) -> None:
    with pytest.raises(OutputError):
        TimelineWriter(tmp_path / "nope" / "timeline.csv")


def test_angle_trace_keeps_scalars_only() -> None:
    trace = AngleTrace()
    for i in range(1000):
        trace.add(make_result(i * 40.0, 20.0))
    assert len(trace) == 1000
    # arrays of scalars: ~ 1000 * (8 + 4 + 4 + 4 + 1) bytes, nothing per frame beyond that
    total = sum(a.itemsize * len(a) for a in vars(trace).values())
    assert total <= 1000 * 21


def test_angle_plot_png(tmp_path: Path) -> None:
    trace = AngleTrace()
    for i in range(200):
        t = i * 40.0
        trace.add(make_result(t, 50 * math.cos(t / 700), pose_present=i % 37 != 0))
    out = write_angle_plot(tmp_path / "angle.png", trace, make_report())
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_angle_plot_empty_trace(tmp_path: Path) -> None:
    out = write_angle_plot(tmp_path / "angle.png", AngleTrace(), make_report(frames=0))
    assert out.exists()


def test_numpy_scalars_from_the_core_serialise() -> None:
    import numpy as np

    hold = Hold(rep_index=1, start_ms=np.float64(1000.0), end_ms=np.float64(3500.0), target_s=2.0)
    rep = replace(REP, rom_deg=np.float64(40.0), hold=hold)
    report = make_report()
    report = replace(report, reps=(rep,), holds=(hold,), frames_with_pose=np.int64(190))
    d = json.loads(report.to_json())
    assert d["holds"][0]["target_met"] is True and d["reps"][0]["rom_deg"] == 40.0
    assert d["frames_with_pose"] == 190


# ---------------------------------------------------------------- cues, grouped for people


def _mistakes_report() -> SessionReport:
    """Five reps all held short, two over-arched, and a partial that stopped low."""
    short = [
        Cue("hold_short", f"Pause at the top for 2 s (held {held} s)", Severity.WARNING,
            1000.0 * i, i, float(held))
        for i, held in zip(range(1, 6), ("0.5", "1.2", "0.8", "0.5", "1.0"), strict=True)
    ]
    arch = [Cue("over_arch", f"Don't over-arch ({deg}° of extension)", Severity.ERROR,
                1000.0 * i + 1, i, -float(deg)) for i, deg in ((2, "23"), (4, "23"))]
    low = Cue("incomplete_lockout", "Drive the hips all the way up (top reached 27°)",
              Severity.WARNING, 9000.0, 1, 27.0)
    reps = tuple(replace(REP, index=i, cues=tuple(c for c in short + arch if c.rep_index == i))
                 for i in range(1, 6))
    partial = replace(PARTIAL, cues=(low,))
    return replace(make_report(), reps=reps, partials=(partial,),
                   cues=(short[0], short[1], arch[0], short[2], short[3], arch[1], short[4], low))


def test_repeated_cues_group_once_with_count_and_reps_most_severe_first() -> None:
    from posecheck.outputs.report import group_cues

    report = _mistakes_report()
    groups = group_cues(report.cues, report.partials)
    assert [g.rule for g in groups] == ["over_arch", "hold_short", "incomplete_lockout"]
    arch, short, low = groups
    assert (arch.count, arch.reps) == (2, (2, 4))
    assert arch.message == "Don't over-arch (23° of extension)"
    assert short.count == 5 and short.reps == (1, 2, 3, 4, 5)
    assert short.message == "Pause at the top for 2 s (held 0.5–1.2 s)"
    assert short.text() == "Pause at the top for 2 s (held 0.5–1.2 s) ×5 — reps 1, 2, 3, 4, 5"
    # the partial's cue counts partials, not reps
    assert (low.reps, low.partials, low.text()) == (
        (), (1,), "Drive the hips all the way up (top reached 27°) — partial 1")
    # the data keeps one cue per rep
    data = report.to_dict()
    assert len(data["cues"]) == 8 and [len(r["cues"]) for r in data["reps"]] == [1, 2, 1, 2, 1]


def test_different_wordings_of_one_rule_stay_apart() -> None:
    from posecheck.outputs.report import group_cues

    cues = [Cue("asymmetry", "Keep the hips level (left lower)", Severity.INFO, 0.0, 1),
            Cue("asymmetry", "Keep the hips level (right lower)", Severity.INFO, 1.0, 2),
            Cue("asymmetry", "Keep the hips level (left lower)", Severity.INFO, 2.0, 3)]
    groups = group_cues(cues)
    assert [(g.message, g.reps) for g in groups] == [
        ("Keep the hips level (left lower)", (1, 3)), ("Keep the hips level (right lower)", (2,))]


def test_printed_summary_says_each_cue_once() -> None:
    import io

    from rich.console import Console

    from posecheck.cli.analyse_cmd import print_summary

    buf = io.StringIO()
    print_summary(_mistakes_report(), Console(file=buf, width=60, color_system=None))
    text = buf.getvalue()
    assert text.count("Pause at the top") == 1 and text.count("over-arch") == 1
    lines = text.splitlines()
    cue_lines = lines[lines.index("  form cues, most important first:") + 1:][:3]
    assert [line.split()[0] for line in cue_lines] == ["error", "warning", "warning"]
    assert cue_lines[1].endswith("×5 — reps 1, 2, 3, 4, 5")  # not wrapped at 60 columns
