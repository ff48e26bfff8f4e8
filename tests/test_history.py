"""Session history: schema migrations, WAL, transactional writes that survive SIGKILL, queries."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from posecheck.outputs.history import (
    MIGRATIONS,
    SCHEMA_VERSION,
    History,
    HistoryError,
    RepRecord,
    SessionRecord,
    default_db_path,
    import_reports,
    record_session,
    session_from_report,
)


def _report_dict(exercise: str = "glute_bridge", n: int = 3, **extra: object) -> dict:
    """The report.json shape `posecheck analyse` writes (posecheck.outputs.report.rep_to_dict)."""
    reps = [
        {
            "index": i + 1, "side": "both", "partial": False,
            "start_s": 2.0 * i, "top_s": 2.0 * i + 0.8, "end_s": 2.0 * i + 1.8,
            "rom_deg": 40.0 + i, "peak_deg": -5.0 - i,
            "hold": {"rep_index": i + 1, "start_s": 2.0 * i + 0.5, "end_s": 2.0 * i + 1.2 + i,
                     "duration_s": 0.7 + i, "target_s": 2.0, "target_met": 0.7 + i >= 2.0},
        }
        for i in range(n)
    ]
    partial = {"index": 1, "side": "both", "partial": True, "start_s": 9.0, "top_s": 9.4,
               "end_s": 9.9, "rom_deg": 15.0, "peak_deg": 30.0, "hold": None}
    data = {"exercise": exercise, "reps": reps, "partials": [partial], "source": "clip.mp4",
            "detection_rate": 0.98, "side_used": "left", "duration_s": 12.0}
    data.update(extra)
    return data


def _synthetic(i: int, exercise: str = "glute_bridge", reps: int = 8) -> SessionRecord:
    day = 1 + i % 28
    month = 1 + (i // 28) % 12
    return SessionRecord(
        exercise=exercise,
        kind="extension" if exercise != "standing_knee_raise" else "flexion",
        reps=tuple(
            RepRecord(side=("left", "right")[j % 2], start_s=3.0 * j, end_s=3.0 * j + 2.5,
                      rom_deg=40.0 + (j % 2) * 4, peak_deg=-3.0 - (i % 7), hold_s=2.1,
                      hold_met=True)
            for j in range(reps)
        ),
        started_at=f"2025-{month:02d}-{day:02d}T{8 + i % 10:02d}:{i % 60:02d}:00+00:00",
        source=f"synthetic-{i}",
        uid=f"synthetic-{i}",
    )


# ----------------------------------------------------------------- schema


def test_new_database_is_current_schema_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    with History(path) as hist:
        assert hist.schema_version == SCHEMA_VERSION == len(MIGRATIONS)
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"sessions", "reps", "routine_runs"} <= tables
    con.close()


def test_v1_database_is_migrated_in_place_keeping_sessions(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    con = sqlite3.connect(path, isolation_level=None)
    con.executescript(MIGRATIONS[0])
    con.execute("PRAGMA user_version = 1")
    con.execute(
        "INSERT INTO sessions (uid, started_at, recorded_at, exercise, mode, rep_count,"
        " partial_count, reps_left, reps_right, hold_count, holds_met, tut_s)"
        " VALUES ('old', '2024-01-01T00:00:00+00:00', '2024-01-01', 'glute_bridge', 'video',"
        " 5, 0, 0, 0, 0, 0, 10.0)"
    )
    con.close()
    with History(path) as hist:
        assert hist.schema_version == SCHEMA_VERSION
        (row,) = hist.sessions()
        assert row.exercise == "glute_bridge" and row.rep_count == 5
        assert row.routine_run_id is None  # the column added by migration 2


def test_newer_schema_is_refused_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(HistoryError, match="newer than this posecheck"):
        History(path)


def test_not_a_database_is_a_user_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(HistoryError, match="cannot open history database"):
        History(path)


def test_default_path_honours_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSECHECK_DB", str(tmp_path / "x.db"))
    assert default_db_path() == tmp_path / "x.db"
    monkeypatch.delenv("POSECHECK_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    path = default_db_path()
    assert path.name == "history.sqlite3" and "posecheck" in path.parts


# ----------------------------------------------------------------- records


def test_report_json_round_trip_and_metrics(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    sid = record_session(_report_dict(started_at="2025-03-03T10:00:00Z"), db)
    assert sid is not None
    with History(db) as hist:
        (row,) = hist.sessions()
        assert row.started_at == "2025-03-03T10:00:00+00:00"
        assert row.kind == "extension"  # from the profile
        assert (row.rep_count, row.partial_count) == (3, 1)
        assert row.tut_s == pytest.approx(3 * 1.8)
        # bridge reps span [peak, peak + ROM]: most extended -7; most flexed -5 + 40 = 35
        assert row.peak_extension_deg == pytest.approx(7.0)
        assert row.peak_flexion_deg == pytest.approx(35.0)
        # two-leg reps seen from the left count for the left hip only
        assert row.rom_left_deg == pytest.approx(41.0) and row.rom_right_deg is None
        assert (row.hold_count, row.holds_met) == (3, 1)
        reps = hist.reps(row.id)
        assert [r.partial for r in reps] == [False, False, False, True]
        assert reps[0].hold_s == pytest.approx(0.7)


def test_same_report_is_stored_once(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    report = _report_dict(started_at="2025-03-03T10:00:00Z")
    assert record_session(report, db) is not None
    assert record_session(report, db) is None
    with History(db) as hist:
        assert hist.count() == 1


def test_record_session_accepts_a_session_report(tmp_path: Path) -> None:
    from posecheck.core.results import Hold, Rep, SetSummary
    from posecheck.outputs.report import SessionReport

    hold = Hold(rep_index=1, start_ms=1200, end_ms=3400, target_s=2.0)
    rep = Rep(index=1, side="left", start_ms=0, top_ms=1500, end_ms=4000, rom_deg=12.0,
              peak_deg=-11.0, concentric_ms=1000, eccentric_ms=600, extension_phase_ms=1000,
              flexion_phase_ms=600, hold=hold)
    summary = SetSummary(exercise="prone_leg_lift", reps=(rep,), partials=(), holds=(hold,),
                         cues=(), frames=100, frames_with_pose=100, side_used="left")
    report = SessionReport.from_summary(
        summary, exercise="prone_leg_lift", exercise_auto_detected=False, model="full",
        source="x.mp4", fps=30.0,
    )
    db = tmp_path / "h.sqlite3"
    record_session(report, db, started_at="2025-01-06T07:00:00Z")
    with History(db) as hist:
        (row,) = hist.sessions()
    assert (row.exercise, row.kind, row.rep_count, row.reps_left) == (
        "prone_leg_lift", "extension", 1, 1)
    assert row.peak_extension_deg == pytest.approx(11.0)
    assert (row.hold_count, row.holds_met) == (1, 1)


def test_no_history_env_disables_recording(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSECHECK_NO_HISTORY", "1")
    monkeypatch.setenv("POSECHECK_DB", str(tmp_path / "h.sqlite3"))
    assert record_session(_report_dict()) is None
    assert not (tmp_path / "h.sqlite3").exists()


def test_not_a_report_is_refused(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match="no 'exercise'"):
        session_from_report({"reps": []})
    with pytest.raises(HistoryError, match="bad timestamp"), History(tmp_path / "h.db") as hist:
        hist.add_session(SessionRecord(exercise="glute_bridge", reps=(),
                                       started_at="2025-04-36T08:00:00"))


# ----------------------------------------------------------------- import


def test_import_folder_of_reports_once(tmp_path: Path) -> None:
    folder = tmp_path / "runs"
    for i, ex in enumerate(("glute_bridge", "standing_knee_raise", "prone_leg_lift")):
        sub = folder / f"run{i}"
        sub.mkdir(parents=True)
        (sub / "report.json").write_text(json.dumps(_report_dict(ex, n=2 + i)))
    (folder / "table.json").write_text(json.dumps([{"clip": "x"}]))  # not a report: skipped
    db = tmp_path / "h.sqlite3"
    assert import_reports(folder, db) == (3, 0)
    assert import_reports(folder, db) == (0, 3)
    with History(db) as hist:
        rows = hist.sessions()
        assert sorted(r.exercise for r in rows) == [
            "glute_bridge", "prone_leg_lift", "standing_knee_raise"]
        assert all(r.mode == "import" for r in rows)


def test_import_with_a_broken_report_names_it_and_imports_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "runs"
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps(_report_dict()))
    (folder / "report.json").write_text("{not json")
    db = tmp_path / "h.sqlite3"
    with pytest.raises(HistoryError, match=r"report\.json: not a readable JSON report"):
        import_reports(folder, db)
    with History(db) as hist:
        assert hist.count() == 0


# ----------------------------------------------------------------- scale


def test_thousand_sessions_insert_and_queries_use_indexes(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    with History(db) as hist:
        t0 = time.perf_counter()
        for i in range(1000):
            ex = ("glute_bridge", "standing_knee_raise", "prone_leg_lift")[i % 3]
            assert hist.add_session(_synthetic(i, ex)) is not None
        insert_s = time.perf_counter() - t0
        timings = {}
        for name, query in {
            "all": lambda: hist.sessions(),
            "last 20 bridges": lambda: hist.sessions(exercise="glute_bridge", limit=20,
                                                     newest_first=True),
            "since": lambda: hist.sessions(since="2025-11-01"),
            "weekly": lambda: hist.weekly(),
            "baseline": lambda: hist.baseline(kind="extension", before="2025-12-01"),
        }.items():
            t = time.perf_counter()
            result = query()
            timings[name] = time.perf_counter() - t
            assert result
        assert hist.count() == 1000
        assert len(hist.sessions()) == 1000
        assert len(hist.sessions(exercise="glute_bridge")) == 334
        weeks = hist.weekly()
        assert sum(w.sessions for w in weeks) == 1000
        assert all(w.reps == 8 * w.sessions for w in weeks)
        plan = " ".join(hist.explain(
            "SELECT * FROM sessions WHERE exercise = ? AND started_at >= ? ORDER BY started_at",
            ["glute_bridge", "2025-01-01"]))
        assert "USING INDEX sessions_exercise_started" in plan
        plan = " ".join(hist.explain("SELECT * FROM sessions WHERE started_at >= ?", ["2025"]))
        assert "USING INDEX sessions_started" in plan
    # measured, reported, not asserted (no wall-clock limits in unit tests)
    print(f"\n1000 inserts (one transaction each): {insert_s:.3f} s; queries: "
          + ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in timings.items()))


# ----------------------------------------------------------------- crash safety

_WRITER = textwrap.dedent(
    """
    import sys, time
    from posecheck.outputs.history import History, RepRecord, SessionRecord
    path, mode = sys.argv[1], sys.argv[2]
    hist = History(path)

    def record(i):
        reps = tuple(RepRecord(side="left", start_s=j, end_s=j + 0.9, rom_deg=30.0,
                               peak_deg=-4.0) for j in range(200))
        return SessionRecord(exercise="glute_bridge", kind="extension", reps=reps,
                             started_at="2025-05-05T10:00:00+00:00", uid=f"s{i}")

    i = 0
    while True:
        if mode == "hold" and i == 25:
            with hist.transaction() as con:
                hist._insert(con, record(i), None, None)
                print("IN-TXN", flush=True)
                time.sleep(60)
        hist.add_session(record(i))
        print(f"s{i}", flush=True)  # only after COMMIT returned
        i += 1
    """
)


def _run_writer_and_kill(db: Path, mode: str, stop_after: int) -> list[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(db), mode],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    committed: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.strip()
            if line == "IN-TXN" or len(committed) >= stop_after:
                break
            committed.append(line)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return committed


def _check_survivors(db: Path, committed: list[str]) -> set[str]:
    assert (db.parent / (db.name + "-wal")).exists()  # killed before any checkpoint-on-close
    with History(db) as hist:
        assert hist.integrity_ok()
        stored = {r.source or "" for r in hist.sessions()}
        uids = {u for (u,) in hist._con.execute("SELECT uid FROM sessions")}
        reps = hist._con.execute("SELECT count(*) FROM reps").fetchone()[0]
    assert set(committed) <= uids
    assert reps == 200 * len(uids)  # no half-written session
    assert stored
    return uids


def test_sigkill_inside_a_write_transaction_loses_only_that_session(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    committed = _run_writer_and_kill(db, "hold", stop_after=10_000)
    assert len(committed) == 25
    uids = _check_survivors(db, committed)
    assert uids == set(committed)  # the session being written when killed is not there


def test_sigkill_at_an_arbitrary_moment_keeps_every_committed_session(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    committed = _run_writer_and_kill(db, "loop", stop_after=40)
    uids = _check_survivors(db, committed)
    assert len(uids) >= 40
    # and the database takes new writes afterwards
    with History(db) as hist:
        assert hist.add_session(_synthetic(5000)) is not None


# ----------------------------------------------------------------- CLI


def test_history_cli_table_plot_json_and_import(tmp_path: Path) -> None:
    from posecheck.cli.history_cmd import history

    folder = tmp_path / "reports"
    folder.mkdir()
    for i in range(6):
        (folder / f"r{i}.json").write_text(json.dumps(_report_dict(
            ("glute_bridge", "standing_knee_raise")[i % 2], n=3,
            started_at=f"2025-02-{3 + 7 * (i // 2):02d}T09:00:00Z")))
    db = tmp_path / "h.sqlite3"
    runner = CliRunner()
    result = runner.invoke(history, ["--db", str(db), "import", str(folder)])
    assert result.exit_code == 0, result.output
    assert "imported 6 sessions" in result.output
    plot = tmp_path / "progress.png"
    result = runner.invoke(history, ["--db", str(db), "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    assert "glute_bridge" in result.output and "standing_knee_raise" in result.output
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    result = runner.invoke(history, ["--db", str(db), "--json", "-e", "glute_bridge"])
    data = json.loads(result.output)
    assert len(data["sessions"]) == 3
    assert [w["week"] for w in data["weeks"]] == ["2025-02-03", "2025-02-10", "2025-02-17"]


def test_history_cli_bad_folder_is_one_line_error(tmp_path: Path) -> None:
    from posecheck.cli.history_cmd import history

    result = CliRunner().invoke(history, ["--db", str(tmp_path / "h.db"), "import",
                                          str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0 and "not a folder" in result.output


def test_damaged_database_is_a_one_line_cli_error(tmp_path: Path) -> None:
    """A file whose header is fine but whose pages are not opens, then fails on the first read."""
    from posecheck.cli.history_cmd import history

    path = tmp_path / "h.sqlite3"
    with History(path) as hist:
        hist.add_sessions(_synthetic(i) for i in range(40))
    page = 4096
    data = bytearray(path.read_bytes())
    assert len(data) > 3 * page
    data[page:] = b"\xff\x00" * ((len(data) - page) // 2)
    path.write_bytes(bytes(data))
    with History(path) as hist, pytest.raises(HistoryError, match="is damaged"):
        hist.sessions()
    for args in ([], ["--json"]):
        result = CliRunner().invoke(history, ["--db", str(path), *args])
        assert result.exit_code == 2, result.output
        assert result.output.count("\n") == 1 and "move it aside" in result.output


def test_another_programs_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE notes (body TEXT)")
    con.commit()
    con.close()
    before = path.read_bytes()
    with pytest.raises(HistoryError, match="not a posecheck history database"):
        History(path)
    assert path.read_bytes() == before


def test_history_filter_that_matches_nothing_says_so(tmp_path: Path) -> None:
    from posecheck.cli.history_cmd import history

    db = tmp_path / "h.db"
    with History(db) as hist:
        hist.add_sessions(_synthetic(i) for i in range(3))
    result = CliRunner().invoke(history, ["--db", str(db), "-e", "nosuch", "--no-plot"])
    assert result.exit_code == 0
    assert "No stored session matches" in result.output and "3 sessions" in result.output


def test_history_plot_path_without_suffix_is_reported_as_written(tmp_path: Path) -> None:
    from posecheck.cli.history_cmd import history

    db = tmp_path / "h.db"
    with History(db) as hist:
        hist.add_sessions(_synthetic(i) for i in range(3))
    result = CliRunner().invoke(history, ["--db", str(db), "--plot", str(tmp_path / "adir")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "adir.png").is_file() and "adir.png" in result.output


def test_a_reanalysis_of_the_same_file_and_settings_is_recognised(tmp_path: Path) -> None:
    """Same bytes (even renamed) and settings: one session; other settings: a new one."""
    import shutil

    from click.testing import CliRunner
    from helpers import short_sample_clip

    from posecheck.cli import main

    clip = short_sample_clip(tmp_path / "short.mp4")
    db = tmp_path / "h.db"

    def analyse(path: Path, *extra: str) -> str:
        result = CliRunner().invoke(main, ["analyse", str(path), "-e", "glute_bridge", "--model",
                                           "lite", "--no-video", "--db", str(db), "--out",
                                           str(tmp_path / "out"), *extra])
        assert result.exit_code == 0, result.output
        return result.output

    assert "analysed with the same settings before" not in analyse(clip)
    assert "analysed with the same settings before" in analyse(clip)
    shutil.copy(clip, tmp_path / "renamed.mp4")
    assert "analysed with the same settings before" in analyse(tmp_path / "renamed.mp4")
    assert "analysed with the same settings before" not in analyse(clip, "--hold", "3")
    with History(db) as hist:
        assert hist.count() == 2


def test_help_says_where_the_history_lives() -> None:
    from click.testing import CliRunner

    from posecheck.cli import main
    from posecheck.outputs.history import user_db_path

    for command in (["history"], ["analyse"], ["live"], ["routine"]):
        text = CliRunner().invoke(main, [*command, "--help"]).output
        assert "$POSECHECK_DB" in text and user_db_path().name in text
