"""The pytest plugin: assert_counts messages, the fixture, and --posecheck-labels items."""

from __future__ import annotations

import json
import textwrap

import pytest

from posecheck.core.results import Hold, Rep, SetSummary
from posecheck.outputs.report import SessionReport
from posecheck.pytest_plugin import CountMismatch, assert_counts

pytest_plugins = ["pytester"]


def rep(i: int, top_s: float, hold: Hold | None = None) -> Rep:
    t = top_s * 1000
    return Rep(i, "left", t - 800, t, t + 800, 45.0, -2.0, 800, 800, 800, 800, hold=hold)


def report(n_reps: int = 3, holds: tuple[Hold, ...] = (), partials: int = 0) -> SessionReport:
    reps = tuple(rep(i + 1, 2.0 + 2.5 * i) for i in range(n_reps))
    parts = tuple(rep(i + 1, 20.0 + i) for i in range(partials))
    summary = SetSummary("glute_bridge", reps, parts, holds, (), frames=300, frames_with_pose=297)
    return SessionReport.from_summary(
        summary,
        exercise_auto_detected=False,
        model="full",
        source="/clips/bridges.mp4",
        fps=30.0,
    )


def test_assert_counts_passes_on_match() -> None:
    holds = (Hold(1, 1000, 3100, 2.0), Hold(2, 5000, 6900, 2.0))
    r = report(3, holds, partials=1)
    assert_counts(r, reps=3, partials=1)
    assert_counts(r, reps=(2, 4), holds=2)
    assert_counts(r, holds=[2.0, 2.0])
    assert_counts(r, holds=[(1.0, 3.0), (5.0, 7.0)])


def test_assert_counts_message_names_expected_counted_and_times() -> None:
    with pytest.raises(CountMismatch) as info:
        assert_counts(report(3), reps=5)
    msg = str(info.value)
    assert "bridges.mp4 (glute_bridge)" in msg
    assert "reps: expected 5, counted 3 (tops at 2.00 s, 4.50 s, 7.00 s)" in msg
    assert "pose found in 99% of 300 frames" in msg
    assert isinstance(info.value, AssertionError)


def test_assert_counts_hold_durations_and_ranges() -> None:
    r = report(2, (Hold(1, 1000, 2500, 2.0),))
    with pytest.raises(CountMismatch, match=r"hold 1: expected 2.00 s, counted 1.50 s \(-0.50 s\)"):
        assert_counts(r, holds=[2.0])
    with pytest.raises(CountMismatch, match=r"holds: expected 2 \(2.00 s, 2.00 s\), counted 1"):
        assert_counts(r, holds=[2.0, 2.0])
    with pytest.raises(CountMismatch, match=r"missed hold 4\.0-6\.0s"):
        assert_counts(r, holds=[(1.0, 2.5), (4.0, 6.0)])
    with pytest.raises(CountMismatch, match="reps: expected 3-4, counted 2"):
        assert_counts(r, reps=(3, 4))
    with pytest.raises(CountMismatch, match="partial reps: expected 1, counted 0"):
        assert_counts(r, partials=1)


FAKE_RUN_JOB = """
import pytest
import posecheck.apps.batch as batch

COUNTS = {COUNTS}

def fake_run_job(job, model, out_dir, stride=1):
    from pathlib import Path
    name = Path(job.path).name
    reps, spans = COUNTS[name]
    return batch.ClipRow(
        clip=name, path=job.path, exercise=job.exercise, reps=reps, partials=0,
        holds=len(spans), hold_spans_s=spans, detection_rate=1.0, frames=100,
        rep_tops_s=[1.0 + i for i in range(reps)],
    )

_REAL = batch.run_job

def pytest_sessionstart(session):
    batch.run_job = fake_run_job  # label items are not Functions: no fixtures for them

def pytest_sessionfinish(session, exitstatus):
    batch.run_job = _REAL  # pytester runs in-process: leave the outer session untouched
"""


def _labelled_dir(pytester: pytest.Pytester, counts: dict[str, object]) -> None:
    labels = [
        {"file": "bridge.mp4", "exercise": "glute_bridge", "reps": 5, "reps_min": 5,
         "reps_max": 5, "holds": []},
        {"file": "thrust.mp4", "exercise": "hip_thrust", "reps": 2, "reps_min": 2,
         "reps_max": 2, "holds": [{"start_s": 1.8, "end_s": 3.5}]},
        {"file": "squat.mp4", "exercise": "squat", "reps": 8, "reps_min": 8, "reps_max": 8,
         "holds": []},
    ]  # fmt: skip
    clips = pytester.mkdir("clips")
    (clips / "labels.json").write_text(json.dumps(labels))
    for entry in labels:
        (clips / entry["file"]).write_bytes(b"\0")  # type: ignore[operator]
    pytester.makeconftest(FAKE_RUN_JOB.replace("{COUNTS}", repr(counts)))


def test_labels_option_makes_one_item_per_clip(pytester: pytest.Pytester) -> None:
    _labelled_dir(
        pytester,
        {"bridge.mp4": (4, []), "thrust.mp4": (2, [(1.9, 3.5)]), "squat.mp4": (0, [])},
    )
    result = pytester.runpytest("--posecheck-labels", "clips/labels.json", "-v")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*labels.json::thrust.mp4 PASSED*",
            "*labels.json::squat.mp4 PASSED*",
            "*bridge.mp4 as glute_bridge: expected 5 reps, counted 4*",
            "*reps found, tops at: 1.00 s, 2.00 s, 3.00 s, 4.00 s*",
        ]
    )
    assert "Traceback" not in result.stdout.str()


def test_labels_items_fail_on_holds_and_negatives(pytester: pytest.Pytester) -> None:
    _labelled_dir(
        pytester,
        {"bridge.mp4": (5, []), "thrust.mp4": (2, [(1.8, 2.6)]), "squat.mp4": (3, [])},
    )
    result = pytester.runpytest("--posecheck-labels", "clips/labels.json")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*hold 1.8-3.5s counted 1.80-2.60s (-0.90s)*",
            "*squat.mp4 as glute_bridge (negative: labelled squat): expected 0 reps, counted 3*",
        ]
    )


def test_labels_items_can_be_selected_with_k(pytester: pytest.Pytester) -> None:
    _labelled_dir(pytester, {"bridge.mp4": (5, []), "thrust.mp4": (0, []), "squat.mp4": (0, [])})
    result = pytester.runpytest("--posecheck-labels", "clips/labels.json", "-k", "bridge")
    result.assert_outcomes(passed=1, deselected=2)


def test_missing_clip_fails_with_one_line(pytester: pytest.Pytester) -> None:
    _labelled_dir(pytester, {"bridge.mp4": (5, []), "thrust.mp4": (2, []), "squat.mp4": (0, [])})
    (pytester.path / "clips" / "thrust.mp4").unlink()
    result = pytester.runpytest("--posecheck-labels", "clips/labels.json")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*clip not found: *thrust.mp4"])


def test_malformed_labels_is_a_collection_error(pytester: pytest.Pytester) -> None:
    pytester.mkdir("clips")
    (pytester.path / "clips" / "labels.json").write_text("[{'file': oops")
    result = pytester.runpytest("--posecheck-labels", "clips/labels.json")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*labels.json: not valid JSON*"])
    assert "Traceback" not in result.stdout.str()


def test_fixture_and_helper_in_a_users_test(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        textwrap.dedent(
            """
            import posecheck.apps.analyse
            from posecheck.core.results import Rep, SetSummary
            from posecheck.outputs.report import SessionReport

            CALLS = []

            def fake(path, exercise=None, **kw):
                CALLS.append((str(path), exercise, kw["stride"], kw["model"]))
                reps = tuple(
                    Rep(i + 1, "left", 0, 1000.0 * (i + 1), 0, 40, 0, 0, 0, 0, 0)
                    for i in range(3)
                )
                s = SetSummary("glute_bridge", reps, (), (), (), frames=10, frames_with_pose=10)
                return SessionReport.from_summary(
                    s, exercise_auto_detected=False, model=kw["model"], source=str(path), fps=30.0
                )

            REAL = posecheck.apps.analyse.analyse_video

            def pytest_sessionstart(session):
                posecheck.apps.analyse.analyse_video = fake

            def pytest_sessionfinish(session, exitstatus):
                posecheck.apps.analyse.analyse_video = REAL  # in-process: restore for the outer run
            """
        )
    )
    pytester.makepyfile(
        textwrap.dedent(
            """
            from posecheck.pytest_plugin import assert_counts
            from conftest import CALLS

            def test_ok(posecheck_analyse):
                r = posecheck_analyse("v.mp4", exercise="glute_bridge")
                r2 = posecheck_analyse("v.mp4", exercise="glute_bridge")
                assert r is r2 and len(CALLS) == 1   # cached per session
                assert CALLS[0][2:] == (2, "lite")   # command-line options reach it
                assert_counts(r, reps=3)

            def test_bad(posecheck_analyse, posecheck_assert_counts):
                posecheck_assert_counts(posecheck_analyse("v.mp4", exercise="glute_bridge"), reps=4)
            """
        )
    )
    result = pytester.runpytest("--posecheck-stride", "2", "--posecheck-model", "lite")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*reps: expected 4, counted 3 (tops at 1.00 s, 2.00 s, 3.00 s)*"])


def test_labels_alone_run_only_the_clips_with_paths_both(pytester: pytest.Pytester) -> None:
    _labelled_dir(pytester, {"bridge.mp4": (5, []), "thrust.mp4": (2, []), "squat.mp4": (0, [])})
    pytester.makepyfile(test_other="def test_other():\n    pass\n")
    alone = pytester.runpytest("--posecheck-labels", "clips/labels.json")
    alone.assert_outcomes(passed=2, failed=1)  # test_other.py not collected
    both = pytester.runpytest("test_other.py", "--posecheck-labels", "clips/labels.json")
    both.assert_outcomes(passed=3, failed=1)
