"""analyse_video and `posecheck analyse`: outputs, bad inputs, interruption, flat memory."""

from __future__ import annotations

import csv
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from posecheck.apps.analyse import (
    NoPersonError,
    VideoSink,
    analyse_video,
    prepare_out_dir,
    score_exercises,
    sigterm_as_interrupt,
)
from posecheck.cli import main as cli
from posecheck.core.landmarks import Landmark, PoseFrame
from posecheck.core.results import BodyMeasures
from posecheck.errors import OutputError, PosecheckError, ProfileError, SourceError
from posecheck.inputs.sources import Frame

BRIDGE = "glute_bridge_darebee_side.mp4"


def write_video(path: Path, frames: int = 12, wh: tuple[int, int] = (160, 120),
                fps: float = 10.0, noise: bool = True) -> Path:  # fmt: skip
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, wh)
    rng = np.random.default_rng(0)
    for _ in range(frames):
        img = (
            rng.integers(0, 255, (wh[1], wh[0], 3), dtype=np.uint8)
            if noise
            else np.zeros((wh[1], wh[0], 3), np.uint8)
        )
        writer.write(img)
    writer.release()
    return path


def read_video(path: Path) -> tuple[int, float]:
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    fps = cap.get(cv2.CAP_PROP_FPS)
    cap.release()
    return n, fps


# ---------------------------------------------------------------- pieces


def test_video_sink_writes_every_frame_at_the_given_fps(tmp_path: Path) -> None:
    calls = []

    class Marker:
        def annotate(self, img: np.ndarray, pose: object, result: object) -> np.ndarray:
            calls.append(result)
            img[:10, :10] = 255
            return img

    with VideoSink(tmp_path / "v.mp4", 12.5, overlay=Marker(), queue_size=2) as sink:
        for i in range(30):
            sink.put(np.zeros((96, 128, 3), np.uint8), pose=object(), result=i)  # type: ignore[arg-type]
    assert sink.codec in ("avc1", "x264", "mp4v")
    assert calls == list(range(30))
    n, fps = read_video(tmp_path / "v.mp4")
    assert n == 30 and fps == pytest.approx(12.5, abs=0.01)


def test_video_sink_surfaces_errors_from_its_thread(tmp_path: Path) -> None:
    class Broken:
        def annotate(self, img: np.ndarray, pose: object, result: object) -> np.ndarray:
            raise RuntimeError("overlay broke")

    sink = VideoSink(tmp_path / "v.mp4", 10, overlay=Broken())
    sink.put(np.zeros((32, 32, 3), np.uint8), object(), object())  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="overlay broke"):
        sink.close()


def test_out_dir_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="cannot write to output directory"):
        prepare_out_dir(blocker / "sub")
    assert prepare_out_dir(tmp_path / "a" / "b").is_dir()


def test_sigterm_becomes_keyboard_interrupt_inside_the_block() -> None:
    previous = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt), sigterm_as_interrupt():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # interrupted long before this ends
    assert signal.getsignal(signal.SIGTERM) == previous


def measures(posture: str, hip: tuple[float, float], knee: float = 90.0, asym: float = 0.0):
    return BodyMeasures(
        hip_flexion_deg={"left": hip[0], "right": hip[1]},
        hip_flexion_3d_deg={"left": hip[0], "right": hip[1]},
        knee_flexion_deg={"left": knee, "right": knee},
        side_confidence={"left": 0.9, "right": 0.9},
        trunk_inclination_deg=85.0,
        pelvis_height=0.0,
        asymmetry_deg=asym,
        facing=1,
        posture=posture,
    )


def test_auto_detection_scores() -> None:
    wave = [50 * (0.5 + 0.5 * math.cos(i / 3)) for i in range(40)]
    bridge = [measures("supine", (v, v)) for v in wave]
    assert score_exercises(bridge)[0] == "glute_bridge"
    leg_raise = [measures("supine", (90 - v * 1.6, 90 - v * 1.6), knee=5.0) for v in wave]
    assert score_exercises(leg_raise)[0] == "lying_leg_raise"
    march = [
        measures("standing", (90 - v * 1.8, 0.0) if i % 2 else (0.0, 90 - v * 1.8), knee=60,
                 asym=90 - v * 1.8)
        for i, v in enumerate(wave)
    ]  # fmt: skip
    assert score_exercises(march)[0] == "standing_knee_raise"
    hinge = [measures("standing", (90 - v * 1.8, 90 - v * 1.8), knee=20) for v in wave]
    assert score_exercises(hinge)[0] == "romanian_deadlift"
    assert score_exercises([])[0] == "glute_bridge"


# ---------------------------------------------------------------- bad inputs


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _one_line_error(result: object) -> str:
    out = result.output  # type: ignore[attr-defined]
    assert result.exit_code != 0, out  # type: ignore[attr-defined]
    assert "Traceback" not in out
    lines = [ln for ln in out.splitlines() if ln.strip()]
    assert len(lines) == 1, out
    return lines[0]


def test_cli_missing_file(runner: CliRunner, tmp_path: Path) -> None:
    line = _one_line_error(runner.invoke(cli, ["analyse", str(tmp_path / "nope.mp4")]))
    assert "nope.mp4" in line


@pytest.mark.parametrize(
    ("name", "content"),
    [("empty.mp4", b""), ("corrupt.mp4", os.urandom(4096)), ("notes.txt", b"hello")],
)
def test_cli_bad_files(runner: CliRunner, tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    line = _one_line_error(
        runner.invoke(cli, ["analyse", str(path), "-e", "glute_bridge", "--out", str(tmp_path)])
    )
    assert name in line


def test_cli_unknown_exercise(runner: CliRunner, tmp_path: Path) -> None:
    video = write_video(tmp_path / "v.mp4")
    line = _one_line_error(runner.invoke(cli, ["analyse", str(video), "-e", "burpee"]))
    assert "unknown exercise 'burpee'" in line


def test_cli_unwritable_out_dir(runner: CliRunner, tmp_path: Path) -> None:
    video = write_video(tmp_path / "v.mp4")
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    line = _one_line_error(
        runner.invoke(cli, ["analyse", str(video), "-e", "glute_bridge", "--out", str(blocker)])
    )
    assert "cannot write to output directory" in line


def test_no_person_in_the_clip(runner: CliRunner, tmp_path: Path) -> None:
    video = write_video(tmp_path / "noise.mp4", frames=8)
    with pytest.raises(NoPersonError, match="no person found in any of the 8 frames"):
        analyse_video(video, "glute_bridge")
    line = _one_line_error(
        runner.invoke(cli, ["analyse", str(video), "-e", "glute_bridge", "--out", str(tmp_path)])
    )
    assert "no person found" in line
    assert isinstance(NoPersonError("x"), SourceError)


def test_bad_exercise_fails_before_opening(tmp_path: Path) -> None:
    with pytest.raises(ProfileError):
        analyse_video(tmp_path / "missing.mp4", "not_an_exercise")


# ---------------------------------------------------------------- on a real clip


@pytest.fixture(scope="module")
def bridge_clip(shared_clips: Path) -> Path:
    return shared_clips / BRIDGE


def test_api_writes_nothing_without_out_dir(
    bridge_clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    seen = []
    report = analyse_video(
        bridge_clip, "glute_bridge", stride=2, progress=lambda d, t: seen.append((d, t))
    )
    assert list(tmp_path.iterdir()) == []
    assert report.rep_count == 5 and report.outputs == {}  # stride 2 keeps the count
    assert report.frames == 116 and report.detection_rate == 1.0 and report.stride == 2
    assert seen[-1] == (116, 116)
    assert not report.exercise_auto_detected and report.model == "full"
    assert json.loads(report.to_json())["rep_count"] == 5


def test_outputs_on_a_real_clip(bridge_clip: Path, tmp_path: Path) -> None:
    report = analyse_video(bridge_clip, out_dir=tmp_path)  # exercise guessed
    assert report.exercise == "glute_bridge" and report.exercise_auto_detected
    assert report.exercise_scores["glute_bridge"] > 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["angle.png", "annotated.mp4", "report.html", "report.json", "timeline.csv"]
    assert 'src="annotated.mp4"' in (tmp_path / "report.html").read_text()  # the review page
    on_disk = json.loads((tmp_path / "report.json").read_text())
    assert on_disk == json.loads(report.to_json())
    assert on_disk["rep_count"] == 5 and len(on_disk["reps"]) == 5
    rows = list(csv.DictReader((tmp_path / "timeline.csv").open()))
    assert len(rows) == 232 and rows[-1]["rep_count"] == "5"
    n, fps = read_video(tmp_path / "annotated.mp4")
    assert n == 232 and fps == pytest.approx(23.976, abs=0.01)


def test_stop_event_ends_early_and_finalises(bridge_clip: Path, tmp_path: Path) -> None:
    stop = threading.Event()

    def progress(done: int, total: int | None) -> None:
        if done == 40:
            stop.set()

    report = analyse_video(bridge_clip, "glute_bridge", out_dir=tmp_path, stop=stop,
                           progress=progress, stride=2, model="lite")  # fmt: skip
    assert report.interrupted and report.frames == 40
    assert json.loads((tmp_path / "report.json").read_text())["interrupted"] is True
    assert len(list(csv.DictReader((tmp_path / "timeline.csv").open()))) == 40
    n, fps = read_video(tmp_path / "annotated.mp4")
    assert n == 40 and fps == pytest.approx(23.976 / 2, abs=0.01)  # same playback speed


def test_cli_sigterm_writes_report_timeline_and_valid_video(
    shared_clips: Path, tmp_path: Path
) -> None:
    clip = shared_clips / "glute_bridge_tutorial_montage_douyin.mp4"  # 1315 frames
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "posecheck", "analyse", str(clip), "-e", "glute_bridge",
         "--out", str(out), "--model", "lite"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        timeline = out / "timeline.csv"
        # wait until frames are flowing (the timeline flushes every 25 rows)
        while proc.poll() is None and (
            not timeline.exists() or timeline.read_text().count("\n") < 30
        ):
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    report = json.loads((out / "report.json").read_text())
    assert report["interrupted"] is True and 0 < report["frames"] < 1315
    rows = list(csv.DictReader((out / "timeline.csv").open()))
    assert len(rows) == report["frames"]
    assert read_video(out / "annotated.mp4")[0] == report["frames"]


# ---------------------------------------------------------------- memory on a long stream


class SyntheticStream:
    """A 10-minute stream of small frames with a lying person bridging every 4 s.

    4 fps keeps the test quick; memory per frame is what matters, and benchmarks/
    bench_pipeline.py --memory runs the same stream at 30 fps and reports the process RSS.
    """

    def __init__(self, minutes: float = 10.0, fps: float = 4.0, wh: tuple[int, int] = (160, 120)):
        self.fps, self.frame_wh = fps, wh
        self.frame_count = int(minutes * 60 * fps)
        self.is_live = False

    def __enter__(self) -> SyntheticStream:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def __iter__(self):
        w, h = self.frame_wh
        for i in range(self.frame_count):
            yield Frame(i, i * 1000.0 / self.fps, np.full((h, w, 3), 90 + i % 7, np.uint8))


class LyingBridgeEstimator:
    """Stands in for the model: a supine side-view body whose hips rise and fall."""

    model_name = "synthetic"

    def detect(self, image: np.ndarray, timestamp_ms: float, index: int) -> PoseFrame:
        h, w = image.shape[:2]
        phase = ((timestamp_ms - 1000.0) / 4000.0) % 1.0  # rest for 1 s, then a bridge per 4 s
        lift = max(0.0, math.sin(2 * math.pi * phase)) ** 0.5  # 0 at rest, 1 at the top
        s = w / 640
        shoulder = np.array([120 * s, 200 * s])
        knee = np.array([400 * s, 80 * s])
        ankle = np.array([500 * s, 200 * s])
        hip = np.array([300 * s, (195 - 80 * lift) * s])  # ~50° flexion down, ~-5° at the top
        xy = np.tile(shoulder - np.array([50 * s, 0]), (33, 1))
        for side in ("LEFT", "RIGHT"):
            xy[Landmark[f"{side}_SHOULDER"]] = shoulder
            xy[Landmark[f"{side}_HIP"]] = hip
            xy[Landmark[f"{side}_KNEE"]] = knee
            xy[Landmark[f"{side}_ANKLE"]] = ankle
            xy[Landmark[f"{side}_HEEL"]] = ankle + np.array([-8 * s, 4 * s])
            xy[Landmark[f"{side}_FOOT_INDEX"]] = ankle + np.array([25 * s, 0])
            xy[Landmark[f"{side}_WRIST"]] = shoulder + np.array([90 * s, 5 * s])
            xy[Landmark[f"{side}_ELBOW"]] = shoulder + np.array([45 * s, 5 * s])
        return PoseFrame(index, timestamp_ms, (w, h), image_xy=xy, visibility=np.ones(33),
                         presence=np.ones(33), num_people=1)  # fmt: skip


class _SignalsWhenFreed:
    """Sends SIGTERM to this process from its finaliser: Python then drops the handler's
    KeyboardInterrupt ("Exception ignored in ... __del__"), as happened in CI when a mediapipe
    image was freed on the main thread at the moment the signal came."""

    def __del__(self) -> None:
        os.kill(os.getpid(), signal.SIGTERM)


class SignalOnFrame(LyingBridgeEstimator):
    def __init__(self, frame: int) -> None:
        self.frame = frame

    def detect(self, image: np.ndarray, timestamp_ms: float, index: int) -> PoseFrame:
        if index == self.frame:
            _SignalsWhenFreed()  # made and freed here, its interrupt swallowed
        return super().detect(image, timestamp_ms, index)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the point
def test_a_sigterm_swallowed_by_a_finaliser_still_stops_the_run(tmp_path: Path) -> None:
    stream = SyntheticStream(minutes=1.0)
    report = analyse_video("synthetic://1min", "glute_bridge", out_dir=tmp_path, source=stream,
                           estimator=SignalOnFrame(40), write_video=False)
    assert report.interrupted
    assert 40 <= report.frames <= 42 < stream.frame_count
    assert json.loads((tmp_path / "report.json").read_text())["interrupted"] is True


def rss_bytes() -> int:
    """Resident set size of this process (Linux)."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_memory_stays_flat_on_a_ten_minute_stream(tmp_path: Path) -> None:
    """Pose -> core -> timeline/plot -> overlay -> encoder for 10 minutes: RSS does not grow.

    Keeping one 160x120 frame per frame would add ~120 MB; keeping each PoseFrame ~4 MB.
    """
    stream = SyntheticStream()
    samples: dict[int, int] = {}

    def progress(done: int, total: int | None) -> None:
        if done in (240, 1200, stream.frame_count):  # 1, 5 and 10 minutes in
            samples[done] = rss_bytes()

    report = analyse_video(
        "synthetic://10min",
        "glute_bridge",
        out_dir=tmp_path,
        source=stream,
        estimator=LyingBridgeEstimator(),
        progress=progress,
    )
    assert report.frames == 2400
    assert report.rep_count == 150  # one bridge every 4 s
    assert read_video(tmp_path / "annotated.mp4")[0] == 2400
    growth = samples[2400] - samples[240]
    assert growth < 3_000_000, {k: v / 1e6 for k, v in samples.items()}


@pytest.mark.parametrize("codec", ["x264", "mp4v"])
def test_each_encoder_writes_a_readable_file(
    codec: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from posecheck.apps.analyse import ffmpeg_with_x264

    if codec == "x264" and ffmpeg_with_x264() is None:
        pytest.skip("no ffmpeg with libx264 on this machine (OpenCV falls back to mp4v)")
    monkeypatch.setenv("POSECHECK_VIDEO_CODEC", codec)
    with VideoSink(tmp_path / "v.mp4", 25.0) as sink:
        for i in range(20):
            sink.put(np.full((120, 160, 3), i * 10, np.uint8))
    assert sink.codec == codec
    n, fps = read_video(tmp_path / "v.mp4")
    assert n == 20 and fps == pytest.approx(25.0, abs=0.01)


def test_the_encoder_yields_the_cpu_to_the_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The annotate-and-encode thread (and ffmpeg, when it encodes) run at a lower priority than
    the rest of the process: on two cores they compete with the model's thread."""
    from posecheck.apps.analyse import BACKGROUND_NICENESS, ffmpeg_with_x264

    base = os.getpriority(os.PRIO_PROCESS, 0)
    seen: dict[str, int] = {}

    class Probe:
        def annotate(self, img: np.ndarray, pose: object, result: object) -> np.ndarray:
            seen["thread"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
            return img

    if ffmpeg_with_x264() is not None:
        monkeypatch.setenv("POSECHECK_VIDEO_CODEC", "x264")
    with VideoSink(tmp_path / "v.mp4", 25.0, overlay=Probe()) as sink:
        for _ in range(3):
            sink.put(np.zeros((64, 64, 3), np.uint8), object(), object())  # type: ignore[arg-type]
        sink._stop()  # the frames are written: the writer (and its ffmpeg) exist now
        if sink.codec == "x264":
            seen["ffmpeg"] = os.getpriority(os.PRIO_PROCESS, sink._writer._proc.pid)
    # lower than the process, unless the process already runs at the lowest priority (nice 19)
    assert seen["thread"] == min(19, base + BACKGROUND_NICENESS)
    assert seen["thread"] > base or base == 19
    assert seen.get("ffmpeg", seen["thread"]) == seen["thread"]
    assert os.getpriority(os.PRIO_PROCESS, 0) == base  # the model's thread keeps its priority


def test_cli_json_no_video_and_alias(bridge_clip: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["analyze", str(bridge_clip), "-e", "glute_bridge", "--no-video", "--stride", "2",
         "--json", "--model", "lite", "--out", str(tmp_path), "--no-html"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["rep_count"] == 5 and report["model"] == "lite" and report["stride"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "angle.png",
        "report.json",
        "timeline.csv",
    ]
    human = CliRunner().invoke(
        cli, ["analyse", str(bridge_clip), "-e", "glute_bridge", "--no-video", "--stride", "3",
              "--model", "lite", "--out", str(tmp_path / "h")],
    )  # fmt: skip
    assert human.exit_code == 0, human.output
    assert human.stdout.startswith("glute_bridge: ") and "rep 1:" in human.stdout
    # without an annotated video the review page links the analysed clip itself
    rel = os.path.relpath(bridge_clip.resolve(), (tmp_path / "h").resolve())
    assert f'src="{Path(rel).as_posix()}"' in (
        tmp_path / "h" / "report.html").read_text()


def test_rich_progress_bar_runs(capsys: pytest.CaptureFixture[str]) -> None:
    from posecheck.apps.analyse import _rich_progress

    update, stop = _rich_progress(10, "clip.mp4")
    for i in range(1, 11):
        update(i, 10)
    update(11, None)  # unknown total (a stream) must not break it
    stop()
    assert capsys.readouterr().out == ""  # the bar never touches stdout (--json stays clean)


def test_opencv_pool_is_restored_however_overlapping_runs_finish() -> None:
    """Two analyses in threads of one process: the pool stays off until the last one ends, and
    its size then is the one from before the first began (not the off state the second saw)."""
    import cv2

    from posecheck.apps.analyse import opencv_single_threaded

    original = cv2.getNumThreads()
    cv2.setNumThreads(3)
    try:
        first, second = opencv_single_threaded(), opencv_single_threaded()
        first.__enter__()
        second.__enter__()
        assert cv2.getNumThreads() == 1
        first.__exit__(None, None, None)  # the first run ends while the second still decodes
        assert cv2.getNumThreads() == 1
        second.__exit__(None, None, None)
        assert cv2.getNumThreads() == 3
    finally:
        cv2.setNumThreads(original)


def test_a_prescribed_hold_and_rep_target_replace_the_profiles(tmp_path: Path) -> None:
    """--hold / --reps without a routine: each hold is timed against the prescription."""
    report = analyse_video("synthetic://30s", "glute_bridge", source=SyntheticStream(0.5, 10.0),
                           estimator=LyingBridgeEstimator(), hold_s=5.0, rep_target=12)
    assert report.rep_count >= 5
    short = [c for c in report.cues if c.rule == "hold_short"]
    assert short and all("Pause at the top for 5 s" in c.message for c in short)
    none = analyse_video("synthetic://30s", "glute_bridge", source=SyntheticStream(0.5, 10.0),
                         estimator=LyingBridgeEstimator(), hold_s=0)
    assert none.rep_count == report.rep_count and none.rep_target is None
    assert not [c for c in none.cues if c.rule == "hold_short"]  # no hold asked for
    assert report.rep_target == 12 and f"{report.rep_count} / 12 reps" in report.summary_line()
    assert report.to_dict()["rep_target"] == 12
    with pytest.raises(PosecheckError, match="hold must be 0-600 s"):
        analyse_video("x.mp4", "glute_bridge", hold_s=-1)


def test_cli_hold_and_reps_are_checked_before_any_work(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["analyse", "nope.mp4", "--hold", "-2"])
    assert result.exit_code == 2 and "--hold" in result.output and "Traceback" not in result.output
    result = runner.invoke(cli, ["analyse", "nope.mp4", "--reps", "0"])
    assert result.exit_code == 2 and "--reps" in result.output


def test_damaged_frames_are_skipped_and_reported(tmp_path: Path) -> None:
    """A corrupt frame mid-file: the analysis reads on to the end and says what it skipped."""
    from helpers import damaged_clip

    clip = damaged_clip(tmp_path / "damaged.mp4", frames=150)
    report = analyse_video(clip, "glute_bridge", out_dir=tmp_path / "out", write_video=False,
                           estimator=LyingBridgeEstimator())
    assert report.frames == 150 - report.frames_skipped and report.frames_skipped >= 1
    assert f"{report.frames_skipped} damaged frame" in report.summary_line()
    saved = json.loads((tmp_path / "out" / "report.json").read_text())
    assert saved["frames_skipped"] == report.frames_skipped
