"""Batch on bad days (issue 19's batch items, issue 21's errors): rows kept on SIGTERM/SIGINT,
frames in the progress, workers capped, one-line errors for bad labels, no Ray, no cluster."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from posecheck.apps.batch import (
    WORKER_MEMORY_BYTES,
    ClipRow,
    cap_workers,
    parse_labels,
    run_batch,
)
from posecheck.apps.batch_output import TableWriter
from posecheck.cli import main as cli
from posecheck.errors import LabelsError

SAMPLES = Path(__file__).resolve().parents[1] / "sample_videos"
GB = 1_000_000_000


def _one_line_error(result: object) -> str:
    out = result.output.strip().splitlines()  # type: ignore[attr-defined]
    assert result.exit_code != 0 and len(out) == 1 and "Traceback" not in out[0], out  # type: ignore[attr-defined]
    return out[0]


# ---------------------------------------------------------------- labels


def test_binary_labels_file_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "labels.json"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00")
    line = _one_line_error(CliRunner().invoke(cli, ["batch", str(tmp_path), "--labels", str(bad)]))
    assert line == f"posecheck: error: {bad}: not a JSON text file (not UTF-8)"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"file": 5, "exercise": "glute_bridge"}, "'file' must be a string, got int"),
        ({"file": ["a.mp4"]}, "'file' must be a string, got list"),
        ({"file": "a.mp4", "exercise": 3}, "a.mp4: 'exercise' must be a string, got int"),
        ({"exercise": "glute_bridge"}, "missing 'file'"),
    ],
)
def test_label_field_of_the_wrong_type_is_named_as_such(entry: dict, message: str) -> None:
    with pytest.raises(LabelsError, match=message.replace("[", r"\[")):
        parse_labels([entry])


def test_labels_help_names_no_path_users_do_not_have() -> None:
    result = CliRunner().invoke(cli, ["batch", "--help"])
    assert "--labels" in result.output and "shared/clips" not in result.output


# ---------------------------------------------------------------- workers


def test_workers_capped_by_cores_and_memory_with_a_note() -> None:
    n, note = cap_workers(64, 13, 2, 20 * GB)
    assert n == 2
    assert note == "--workers 64 capped to 2 (2 cores, 20.0 GB available, ~450 MB a worker)"
    assert cap_workers(8, 13, 8, 3 * WORKER_MEMORY_BYTES)[0] == 3  # memory, not cores, binds
    assert cap_workers(None, 13, 8, 3 * WORKER_MEMORY_BYTES)[1] is not None
    assert cap_workers(2, 13, 2, 20 * GB) == (2, None)
    assert cap_workers(None, 3, 8, 20 * GB) == (3, None)  # fewer clips than cores: no note
    assert cap_workers(4, 13, 2, 100)[0] == 1


def test_cli_says_in_one_line_when_it_caps_workers(tmp_path: Path) -> None:
    (tmp_path / "broken.mp4").write_bytes(b"\0" * 512)
    result = CliRunner().invoke(
        cli, ["batch", str(tmp_path), "-e", "glute_bridge", "--model", "lite", "--workers", "999"]
    )
    notes = [ln for ln in result.stderr.splitlines() if "capped" in ln]
    assert len(notes) == 1 and notes[0].startswith("posecheck: note: --workers 999 capped to ")


# ---------------------------------------------------------------- progress and interrupts


def test_progress_counts_frames_within_clips() -> None:
    """The frames bar moves before the first clip finishes, and ends at every analysed frame."""
    events: list[tuple[str, int]] = []
    rows, _ = run_batch(
        [SAMPLES / "glute_bridge_side.mp4", SAMPLES / "neg_pelvic_tilt.mp4"],
        exercise="glute_bridge", workers=2, model="lite", stride=8,
        on_frames=lambda done, total: events.append(("frames", done)),
        on_row=lambda r: events.append(("row", 0)),
    )  # fmt: skip
    first_row = events.index(("row", 0))
    assert any(kind == "frames" and n > 0 for kind, n in events[:first_row])
    assert [n for kind, n in events if kind == "frames"][-1] == sum(r.frames or 0 for r in rows)


def test_table_writer_keeps_rows_of_an_interrupted_batch(tmp_path: Path) -> None:
    writer = TableWriter(tmp_path)
    writer.add(ClipRow(clip="b.mp4", path="b.mp4", reps=3, frames=90))
    writer.add(ClipRow(clip="a.mp4", path="a.mp4", error="cannot open"))
    writer.close(interrupted=True)
    rows = list(csv.DictReader((tmp_path / "batch.csv").open()))
    assert [(r["clip"], r["reps"], r["error"]) for r in rows] == [
        ("b.mp4", "3", ""), ("a.mp4", "", "cannot open")
    ]
    doc = json.loads((tmp_path / "batch.json").read_text())
    assert doc["interrupted"] is True and [c["clip"] for c in doc["clips"]] == ["b.mp4", "a.mp4"]
    assert doc["summary"]["clips"] == 2 and doc["summary"]["errors"] == 1


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_local_batch_signal_keeps_finished_rows(tmp_path: Path, signum: int) -> None:
    """SIGTERM or SIGINT once a clip is done: exit 130, and batch.csv/json hold that clip."""
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "posecheck", "batch", str(SAMPLES), "-e", "glute_bridge",
           "--model", "lite", "--stride", "4", "--workers", "1", "--out", str(out)]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    csv_path = out / "batch.csv"
    try:
        while proc.poll() is None:
            if csv_path.exists() and len(csv_path.read_text().splitlines()) >= 2:
                break
            threading.Event().wait(0.1)
        assert proc.poll() is None, "the batch finished before it could be interrupted"
        proc.send_signal(signum)
        _, err = proc.communicate()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130 and "Traceback" not in err
    written = list(csv.DictReader(csv_path.open()))
    assert 1 <= len(written) < 4 and all(r["reps"] for r in written)
    doc = json.loads((out / "batch.json").read_text())
    assert doc["interrupted"] is True and len(doc["clips"]) == len(written)


# ---------------------------------------------------------------- engine errors


def test_ray_engine_without_ray_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.mp4").write_bytes(b"\0")
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    line = _one_line_error(CliRunner().invoke(cli, ["batch", str(tmp_path), "--engine", "ray"]))
    assert line == "posecheck: error: the ray engine needs Ray: pip install 'posecheck[ray]'"
    assert list(tmp_path.iterdir()) == [tmp_path / "a.mp4"]


def test_unreachable_ray_address_is_one_line(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    (tmp_path / "a.mp4").write_bytes(b"\0")
    args = ["batch", str(tmp_path), "--engine", "ray", "--address", "127.0.0.1:1"]
    line = _one_line_error(CliRunner().invoke(cli, args))
    assert line.startswith("posecheck: error: no Ray cluster answers at 127.0.0.1:1 (")


def test_address_without_ray_engine_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["batch", str(tmp_path), "--address", "127.0.0.1:1"])
    assert result.exit_code == 2 and "--address needs --engine ray" in result.output


def test_base_import_does_not_load_ray() -> None:
    code = "import sys, posecheck.apps.batch, posecheck.cli; sys.exit('ray' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
