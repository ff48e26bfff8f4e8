"""`posecheck pose` end to end: bad inputs fail in one stderr line, good ones write landmarks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from posecheck.cli import main
from posecheck.pose import load_pose_frames


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """A real process, so native stderr output (FFmpeg, mediapipe) is seen too."""
    return subprocess.run(
        [sys.executable, "-m", "posecheck", *args],
        capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "120"},
    )


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("posecheck: error: ")
    for needle in needles:
        assert needle in lines[0]


def _write_video(path: Path, n: int = 3) -> Path:
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (64, 48))
    for _ in range(n):
        writer.write(np.zeros((48, 64, 3), np.uint8))
    writer.release()
    return path


def _bad_inputs(tmp: Path) -> dict[str, Path]:
    (tmp / "empty.mp4").touch()
    (tmp / "corrupt.mp4").write_bytes(os.urandom(3000))
    (tmp / "notes.txt").write_text("hello")
    (tmp / "labels.json").write_text("{}")
    (tmp / "no_images").mkdir()
    (tmp / "no_images" / "a.txt").write_text("x")
    _write_video(tmp / "zero.mp4", 0)
    return {
        "missing": tmp / "missing.mp4",
        "empty": tmp / "empty.mp4",
        "zero_frames": tmp / "zero.mp4",
        "corrupt": tmp / "corrupt.mp4",
        "text": tmp / "notes.txt",
        "json": tmp / "labels.json",
        "no_images": tmp / "no_images",
    }


@pytest.mark.parametrize("case", ["missing", "empty", "zero_frames", "corrupt", "text", "json",
                                  "no_images"])
def test_bad_source_one_line(tmp_path: Path, case: str) -> None:
    path = _bad_inputs(tmp_path)[case]
    proc = run_cli("pose", str(path), "--out", str(tmp_path / "out.npz"))
    assert_one_line_error(proc, str(path))
    assert not (tmp_path / "out.npz").exists()


def test_camera_and_stream_that_do_not_open(tmp_path: Path) -> None:
    proc = run_cli("pose", "99", "--out", str(tmp_path / "o.npz"))
    assert_one_line_error(proc, "camera 99")
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/x.mjpg"
    proc = run_cli("pose", url, "--out", str(tmp_path / "o.npz"))
    assert_one_line_error(proc, url)


def test_bad_output_and_model(tmp_path: Path) -> None:
    video = _write_video(tmp_path / "v.mp4")
    proc = run_cli("pose", str(video), "--out", str(tmp_path / "o.xyz"))
    assert_one_line_error(proc, "o.xyz")
    proc = run_cli("pose", str(video), "--out", str(tmp_path / "nodir" / "o.npz"))
    assert_one_line_error(proc, "nodir")
    proc = run_cli("pose", str(video), "--out", str(tmp_path / "o.npz"), "--model", "nosuch")
    assert_one_line_error(proc, "nosuch")


def test_blank_video_runs_and_reports_zero(tmp_path: Path) -> None:
    video = _write_video(tmp_path / "v.mp4", 4)
    out = tmp_path / "o.json"
    result = CliRunner().invoke(main, ["pose", str(video), "--out", str(out), "--model", "lite"])
    assert result.exit_code == 0, result.output
    assert "detection rate 0.0%" in result.output
    doc = json.loads(out.read_text())
    assert [f["present"] for f in doc["frames"]] == [False] * 4
    assert doc["meta"]["frame_wh"] == [64, 48]


@pytest.mark.clips
def test_pose_on_a_lying_clip(shared_clips: Path, tmp_path: Path) -> None:
    clip = shared_clips / "single_leg_bridge_gym_oblique.mp4"
    out = tmp_path / "lm.npz"
    proc = run_cli("pose", str(clip), "--out", str(out), "--stride", "5")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.strip() == ""
    assert "detection rate 100.0%" in proc.stdout
    frames, meta = load_pose_frames(out)
    assert [f.index for f in frames] == list(range(0, 154, 5))
    assert all(f.present for f in frames)
    ts = np.array([f.timestamp_ms for f in frames])
    np.testing.assert_allclose(np.diff(ts), 5 * 1000 * 31 / 924, atol=1.0)
    assert meta["orientation"] == "auto" and meta["frame_wh"] == [608, 1080]
    xy = np.stack([f.image_xy for f in frames])
    assert np.nanmedian(xy[:, :, 0]) < 608 and np.nanmedian(xy[:, :, 1]) < 1080

    csv_out = tmp_path / "lm.csv"
    proc = run_cli("pose", str(clip), "--out", str(csv_out), "--stride", "50",
                   "--orientation", "0", "--model", "lite")
    assert proc.returncode == 0, proc.stderr
    rows = csv_out.read_text().splitlines()
    assert len(rows) == 1 + 4
    assert all(r.split(",")[3] == "0" for r in rows[1:])  # rotation column
