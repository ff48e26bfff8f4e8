"""`posecheck live` as a person runs it: one-line errors, Ctrl-C writes the report, headless
progress lines, and the --record / --speech-wav outputs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np
from click.testing import CliRunner
from helpers import require_espeak, short_sample_clip

from posecheck.cli import main

CLIP = "glute_bridge_darebee_side.mp4"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DISPLAY": ""}
    return subprocess.run([sys.executable, "-m", "posecheck", "live", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_camera_that_does_not_exist_is_a_one_line_error(tmp_path: Path) -> None:
    proc = run_cli("--source", "57", "--headless", "--mute", "--model", "lite",
                   "--out", str(tmp_path / "out"))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("posecheck: error: camera 57")
    assert "Traceback" not in proc.stderr + proc.stdout


def test_unknown_exercise_and_missing_file_are_one_line_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    bad = runner.invoke(main, ["live", "--source", str(tmp_path / "nope.mp4"), "--headless",
                               "--mute", "--out", str(tmp_path / "o")])
    assert bad.exit_code == 2 and "no such file" in bad.output
    bad = runner.invoke(main, ["live", "--exercise", "handstand", "--headless", "--mute",
                               "--out", str(tmp_path / "o")])
    assert bad.exit_code == 2 and "handstand" in bad.output


def test_sigint_mid_session_writes_the_report(shared_clips: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = {**os.environ, "DISPLAY": "", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "posecheck", "live", "--source", str(shared_clips / CLIP),
         "--realtime", "--headless", "--mute", "--model", "lite", "--out", str(out)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        # wait until the loop runs (the first rep is counted ~1.3 s into the clip)
        deadline = time.monotonic() + 90
        seen = ""
        while "rep 1" not in seen:
            line = proc.stdout.readline()
            assert line, f"live ended early: {proc.stderr.read() if proc.stderr else ''}"
            seen += line
            assert time.monotonic() < deadline
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    report = json.loads((out / "report.json").read_text())
    assert report["interrupted"] is True
    assert 1 <= report["rep_count"] < 5
    assert (out / "timeline.csv").exists() and (out / "angle.png").exists()
    assert "interrupted (Ctrl-C)" in stdout
    assert "Traceback" not in stderr


def test_headless_file_prints_progress_and_writes_analyse_outputs(shared_clips: Path,
                                                                  tmp_path: Path) -> None:
    require_espeak()
    out, rec, wav = tmp_path / "out", tmp_path / "rec", tmp_path / "coach.wav"
    proc = run_cli("--source", str(shared_clips / CLIP), "--speech-wav", str(wav),
                   "--model", "lite", "--out", str(out), "--record", str(rec))
    assert proc.returncode == 0, proc.stderr
    assert "rep 5" in proc.stdout and "set 1: glute_bridge: 5 reps" in proc.stdout
    assert "ended: end of video" in proc.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["rep_count"] == 5 and report["interrupted"] is False
    for name in ("raw.mp4", "annotated.mp4"):
        size = (rec / name).stat().st_size
        assert size > 10_000, name
    page = (out / "report.html").read_text()  # the review page, on the recorded video
    assert 'src="../rec/annotated.mp4"' in page and page.count("data-start=") >= 5
    # the spoken coaching went to the WAV: words spread over the clip's 9.7 s
    with wave.open(str(wav)) as w:
        audio = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(float)
        rate = w.getframerate()
    assert len(audio) / rate > 3.0
    assert np.sqrt(np.mean(audio**2)) > 100


def test_live_takes_a_prescribed_hold_and_rep_target(tmp_path: Path) -> None:
    clip = short_sample_clip(tmp_path / "short.mp4", frames=150)  # rep 1, held 2 s, then rest
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["live", "--source", str(clip), "--headless", "--mute",
                                       "--model", "lite", "--hold", "3", "--reps", "4",
                                       "--out", str(out), "--no-history"])
    assert result.exit_code == 0, result.output
    assert "set 1: glute_bridge: 1 / 4 reps" in result.output
    report = json.loads((out / "report.json").read_text())
    assert report["rep_target"] == 4
    assert any("Pause at the top for 3 s (held 2." in c["message"] for c in report["cues"])
