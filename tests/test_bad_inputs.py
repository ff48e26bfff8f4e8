"""Bad inputs across the commands: each is one line on stderr, a non-zero exit, no traceback,
and no empty folder left behind.

Every case runs the real CLI in-process (click's runner) in its own working directory with tiny
generated inputs, and fails before any frame is analysed, so the matrix stays fast: only the
`live` cases with a bad source load the model (live loads it before opening the source, so a
camera does not pile up frames meanwhile). `_one_line_error` is test_analyse's check.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from test_analyse import _one_line_error

from posecheck.cli import main

SAMPLE_TOML = Path(__file__).resolve().parents[1] / "sample_videos" / "glute_bridge_side.toml"


def _inputs(root: Path) -> None:
    """The bad (and a few good) files the cases point at, all tiny."""
    (root / "empty.mp4").write_bytes(b"")
    (root / "text.mp4").write_text("this is not a video\n" * 50)
    (root / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    mp4 = (Path(__file__).resolve().parents[1] / "sample_videos" / "glute_bridge_side.mp4")
    (root / "cut.mp4").write_bytes(mp4.read_bytes()[:300])  # the header's start only
    tiny = cv2.VideoWriter(str(root / "tiny.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 48))
    for shade in range(10):  # a valid video: the model cases get past the source
        tiny.write(np.full((48, 64, 3), 20 * shade, np.uint8))
    tiny.release()
    (root / "afile").write_text("a file where a folder is wanted\n")
    (root / "folder").mkdir()
    (root / "emptydir").mkdir()
    (root / "notzip.task").write_bytes(b"not a zip" * 10)
    (root / "bad.toml").write_text("[[block]\nexercise = \n")  # TOML syntax error
    (root / "unknown.toml").write_text('[[block]]\nexercise = "nope"\nreps = 3\n')
    scenario = SAMPLE_TOML.read_text()
    (root / "scene_bad_ex.toml").write_text(
        scenario.replace('exercise = "glute_bridge"', 'exercise = "moonwalk"'))
    (root / "scene_syntax.toml").write_text(scenario.replace("[script]", "[script"))
    (root / "scene_neg.toml").write_text(scenario.replace("count = 5", "count = -2"))
    (root / "labels_bad.json").write_text("{not json")
    (root / "labels_shape.json").write_text(json.dumps({"file": "x.mp4"}))
    (root / "garbage.db").write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 8)
    (root / "text.db").write_text("just text, not a database\n" * 10)
    other = sqlite3.connect(root / "other_app.db")
    other.execute("CREATE TABLE customers (id INTEGER)")
    other.commit()
    other.close()
    reports = root / "not_reports"
    reports.mkdir()
    (reports / "report.json").write_text(json.dumps({"hello": "world"}))


VIDEO_CASES: list[tuple[str, list[str]]] = [
    ("missing-file", ["analyse", "nope.mp4"]),
    ("directory", ["analyse", "folder"]),
    ("empty-file", ["analyse", "empty.mp4"]),
    ("text-as-mp4", ["analyse", "text.mp4"]),
    ("image-not-video", ["analyse", "photo.png"]),
    ("cut-header", ["analyse", "cut.mp4"]),
    ("unknown-exercise", ["analyse", "text.mp4", "-e", "moonwalk"]),
    ("stride-0", ["analyse", "text.mp4", "--stride", "0"]),
    ("unknown-model", ["analyse", "tiny.mp4", "-e", "glute_bridge", "--model", "huge"]),
    ("model-not-zip", ["analyse", "tiny.mp4", "-e", "glute_bridge", "--model", "notzip.task"]),
    ("model-missing-path", ["analyse", "tiny.mp4", "--model", "/nonexistent/m.task"]),
    ("model-not-a-bundle", ["analyse", "tiny.mp4", "-e", "glute_bridge", "--model",
                            "other_app.db"]),
    ("out-is-file", ["analyse", "text.mp4", "--out", "afile"]),
    ("out-under-file", ["analyse", "text.mp4", "--out", "afile/sub"]),
    ("hold-negative", ["analyse", "text.mp4", "--hold", "-1"]),
    ("reps-zero", ["analyse", "text.mp4", "--reps", "0"]),
    ("no-video-argument", ["analyse"]),
    ("unknown-option", ["analyse", "text.mp4", "--colour"]),
    ("db-is-directory", ["analyse", "nope.mp4", "--db", "folder"]),
]

BATCH_CASES: list[tuple[str, list[str]]] = [
    ("batch-out-is-file", ["batch", "text.mp4", "--out", "afile"]),
    ("batch-empty-folder", ["batch", "emptydir"]),
    ("batch-missing-labels", ["batch", "text.mp4", "--labels", "nope.json"]),
    ("batch-labels-not-json", ["batch", "text.mp4", "--labels", "labels_bad.json"]),
    ("batch-labels-not-a-list", ["batch", "text.mp4", "--labels", "labels_shape.json"]),
    ("batch-workers-0", ["batch", "text.mp4", "--workers", "0"]),
    ("batch-stride-0", ["batch", "text.mp4", "--stride", "0"]),
    ("batch-unknown-exercise", ["batch", "text.mp4", "-e", "moonwalk"]),
    ("batch-no-paths", ["batch"]),
]

LIVE_CASES: list[tuple[str, list[str]]] = [
    ("live-unknown-exercise", ["live", "--source", "text.mp4", "--exercise", "moonwalk"]),
    ("live-record-is-file", ["live", "--source", "57", "--record", "afile"]),
    ("live-record-under-file", ["live", "--source", "57", "--record", "afile/rec"]),
    ("live-record-unmakeable", ["live", "--source", "57", "--record", "/proc/posecheck/rec"]),
    ("live-out-is-file", ["live", "--source", "57", "--out", "afile"]),
    ("live-countdown-range", ["live", "--countdown", "100"]),
    ("live-hold-range", ["live", "--hold", "700"]),
    ("live-orientation", ["live", "--orientation", "45"]),
    ("live-duration-zero", ["live", "--duration", "0"]),
    ("live-missing-file", ["live", "--source", "nope.mp4", "--mute", "--model", "lite"]),
    ("live-no-camera", ["live", "--source", "57", "--mute", "--model", "lite"]),
    ("live-model-not-zip", ["live", "--source", "57", "--mute", "--model", "notzip.task"]),
]

ROUTINE_CASES: list[tuple[str, list[str]]] = [
    ("routine-unknown-name", ["routine", "moonwalk_daily"]),
    ("routine-toml-syntax", ["routine", "bad.toml", "--show"]),
    ("routine-toml-unknown-exercise", ["routine", "unknown.toml", "--show"]),
    ("routine-no-name", ["routine"]),
    ("routine-video-missing", ["routine", "balanced_hip", "--video", "nope.mp4"]),
    ("routine-video-and-source", ["routine", "balanced_hip", "--video", "x.mp4",
                                  "--source", "0"]),
    ("routine-boundaries-without-video", ["routine", "balanced_hip", "--boundaries", "0,1"]),
    ("routine-boundaries-garbled", ["routine", "balanced_hip", "--video", "text.mp4",
                                    "--boundaries", "a,b"]),
    ("routine-boundaries-count", ["routine", "balanced_hip", "--video", "text.mp4",
                                  "--boundaries", "0,10"]),
    ("routine-out-is-file", ["routine", "balanced_hip", "--video", "text.mp4", "--out",
                             "afile"]),
]

HISTORY_CASES: list[tuple[str, list[str]]] = [
    ("history-db-directory", ["history", "--db", "folder", "--no-plot"]),
    ("history-db-text", ["history", "--db", "text.db", "--no-plot"]),
    ("history-db-garbage", ["history", "--db", "garbage.db", "--no-plot"]),
    ("history-db-other-app", ["history", "--db", "other_app.db", "--no-plot"]),
    ("history-since-not-a-date", ["history", "--db", "h.db", "--since", "yesterdayish"]),
    ("history-limit-zero", ["history", "--db", "h.db", "--limit", "0"]),
    ("history-import-missing", ["history", "--db", "h.db", "import", "nope_dir"]),
    ("history-import-empty", ["history", "--db", "h.db", "import", "emptydir"]),
    ("history-import-not-reports", ["history", "--db", "h.db", "import", "not_reports"]),
    ("history-import-a-file", ["history", "--db", "h.db", "import", "afile"]),
]

RENDER_CASES: list[tuple[str, list[str]]] = [
    ("render-missing-toml", ["render", "nope.toml", "--out", "r"]),
    ("render-toml-syntax", ["render", "scene_syntax.toml", "--out", "r"]),
    ("render-unknown-exercise", ["render", "scene_bad_ex.toml", "--out", "r"]),
    ("render-negative-count", ["render", "scene_neg.toml", "--out", "r"]),
    ("render-no-out", ["render", "scene_bad_ex.toml"]),
    ("render-workers-range", ["render", "scene_bad_ex.toml", "--out", "r", "--workers", "99"]),
    ("render-not-toml", ["render", "text.mp4", "--out", "r"]),
]

CASES = VIDEO_CASES + BATCH_CASES + LIVE_CASES + ROUTINE_CASES + HISTORY_CASES + RENDER_CASES


def test_the_matrix_has_at_least_forty_bad_inputs_across_six_commands() -> None:
    assert len(CASES) >= 40
    commands = {args[0] for _, args in CASES if args}
    assert {"analyse", "batch", "live", "routine", "history", "render"} <= commands


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    _inputs(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DISPLAY", "")  # live: headless, no window
    return tmp_path


@pytest.mark.parametrize(("case", "args"), CASES, ids=[case for case, _ in CASES])
def test_a_bad_input_is_one_line_and_leaves_nothing_behind(
    case: str, args: list[str], workdir: Path
) -> None:
    before = _tree(workdir)
    result = CliRunner().invoke(main, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{case}: {type(result.exception).__name__}: {result.exception}"
    )
    line = _one_line_error(result)
    assert line.startswith("posecheck: error: "), line
    created = _tree(workdir) - before
    assert not created, f"{case} left {sorted(created)} behind"
