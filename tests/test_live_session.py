"""The loop's own logic, headless, with a stand-in model: exercise cycling, start countdown,
progress lines, listening sockets. Fast: no pose model, frames are synthetic."""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from posecheck.apps.live.capture import FrameGrabber
from posecheck.apps.live.keys import Action, ScriptedKeys
from posecheck.apps.live.session import LiveSession, LiveSettings, ProgressPrinter
from posecheck.apps.live.window import NoWindow
from posecheck.core.analyzer import SessionAnalyzer
from posecheck.core.landmarks import PoseFrame


@dataclass
class Frame:
    index: int
    timestamp_ms: float
    image: np.ndarray


class StillSource:
    """A file-like source of `n` grey frames at 25 fps (no person in them)."""

    is_live = False

    def __init__(self, n: int) -> None:
        self.n = n

    def __iter__(self) -> Iterator[Frame]:
        for i in range(self.n):
            yield Frame(i, i * 40.0, np.full((120, 160, 3), 90, np.uint8))


class NobodyEstimator:
    def __init__(self) -> None:
        self.calls = 0

    def detect(self, image: np.ndarray, timestamp_ms: float, index: int) -> PoseFrame:
        self.calls += 1
        return PoseFrame.missing(index, timestamp_ms, (image.shape[1], image.shape[0]))


def make_session(tmp_path: Path, n: int, keys: ScriptedKeys, **settings: object) -> LiveSession:
    grabber = FrameGrabber(lambda: StillSource(n), lossless=True, source_clock=True,
                           reconnect=False)
    grabber.start()
    return LiveSession(
        LiveSettings(out_dir=tmp_path, exercises=("glute_bridge", "single_leg_bridge",
                                                  "hip_thrust"), **settings),  # type: ignore[arg-type]
        grabber=grabber, estimator=NobodyEstimator(), analyzer_factory=SessionAnalyzer,
        display=NoWindow(), keys=keys, printer=ProgressPrinter(io.StringIO(), every_s=0),
    )


def test_e_cycles_the_exercise_and_starts_a_new_set(tmp_path: Path) -> None:
    keys = ScriptedKeys()
    session = make_session(tmp_path, 60, keys)
    session.on_frame = lambda s, f, r: keys.push("e") if f.seq in (19, 39) else None
    outcome = session.run()
    assert outcome.reason == "end of video"
    assert session.actions == [Action.NEXT_EXERCISE, Action.NEXT_EXERCISE]
    assert [(s.number, s.exercise, s.report.frames) for s in outcome.sets] == [
        (1, "glute_bridge", 20), (2, "single_leg_bridge", 20), (3, "hip_thrust", 20)]
    assert json.loads((tmp_path / "report_set1.json").read_text())["exercise"] == "glute_bridge"
    assert json.loads((tmp_path / "report_set2.json").read_text())["exercise"] == (
        "single_leg_bridge")
    assert json.loads((tmp_path / "report.json").read_text())["exercise"] == "hip_thrust"


def test_an_interrupt_request_stops_the_loop_even_if_the_exception_was_lost(
    tmp_path: Path,
) -> None:
    """The SIGTERM/Ctrl-C handler sets `interrupt_requested` before raising; Python drops an
    exception raised while a finaliser runs, so the loop checks the event too."""
    session = make_session(tmp_path, 60, ScriptedKeys())
    session.on_frame = lambda s, f, r: s.interrupt_requested.set() if f.seq == 9 else None
    outcome = session.run()
    assert outcome.interrupted and outcome.reason == "interrupted (Ctrl-C)"
    assert outcome.sets[0].report.frames == 10
    assert json.loads((tmp_path / "report.json").read_text())["interrupted"] is True


def test_frames_in_the_start_countdown_are_shown_not_counted(tmp_path: Path) -> None:
    keys = ScriptedKeys()
    clock_start = time.monotonic()
    session = make_session(tmp_path, 30, keys, countdown_s=3600.0)
    shown: list[int | None] = []

    def watch(s: LiveSession, frame: object, result: object) -> None:
        shown.append(None if result is None else 1)

    session.on_frame = watch
    outcome = session.run()
    assert time.monotonic() - clock_start < 3600
    assert len(shown) == 30 and shown == [None] * 30  # every frame shown, none analysed
    assert session.estimator.calls == 30  # the skeleton is still drawn while counting down
    assert outcome.sets[0].report.frames == 0


def test_reset_of_an_empty_set_starts_no_new_one(tmp_path: Path) -> None:
    keys = ScriptedKeys()
    session = make_session(tmp_path, 10, keys)

    def press_twice(s: LiveSession, frame: object, result: object) -> None:
        if frame.seq == 4:  # type: ignore[attr-defined]
            keys.push("r")  # ends set 1 (frames 0-4)
            keys.push("r")  # a set with nothing in it yet: ignored

    session.on_frame = press_twice
    outcome = session.run()
    assert session.actions == [Action.RESET, Action.RESET]
    assert [(s.number, s.report.frames) for s in outcome.sets] == [(1, 5), (2, 5)]
    assert sorted(p.name for p in tmp_path.glob("report*.json")) == [
        "report.json", "report_set1.json"]


def listening_sockets_of_this_process() -> list[tuple[str, int]]:
    """(address, port) of every listening TCP socket this process holds (Linux /proc)."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        if not os.path.exists(table):
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            parts = line.split()
            local, state, inode = parts[1], parts[3], parts[9]
            if state == "0A" and inode in inodes:  # LISTEN
                addr_hex, port_hex = local.split(":")
                if width == 8:
                    addr = ".".join(str(b) for b in bytes.fromhex(addr_hex)[::-1])
                else:
                    addr = addr_hex
                found.append((addr, int(port_hex, 16)))
    return found


def test_nothing_listens_beyond_loopback(shared_clips: Path, tmp_path: Path) -> None:
    from posecheck.apps.live.app import LiveConfig, run_live
    from posecheck.testing.mjpeg_server import MjpegServer, load_clip

    frames, fps = load_clip(shared_clips / "glute_bridge_darebee_side.mp4", max_width=320)
    seen: list[list[tuple[str, int]]] = []
    with MjpegServer(frames[:30], fps) as server:
        run_live(LiveConfig(
            source=server.url, model="lite", headless=True, mute=True, out_dir=tmp_path,
            stream=io.StringIO(), reconnect_timeout_s=0.5,
            on_frame=lambda s, f, r: seen.append(listening_sockets_of_this_process()),
        ))
    assert seen, "the session showed no frame"
    listening = {entry for snapshot in seen for entry in snapshot}
    assert listening == {("127.0.0.1", server.port)}  # only the test's own stream server


def test_display_detection(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from posecheck.apps.live import window

    monkeypatch.setattr(window, "_qt_platforms", lambda: {"xcb"})
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    assert not window.display_available()  # no display: headless
    monkeypatch.setenv("DISPLAY", ":4242")
    assert not window.display_available()  # no X server behind it
    monkeypatch.setenv("DISPLAY", "otherhost:0")
    assert window.display_available()  # a remote display is trusted
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert not window.display_available()  # this OpenCV has no offscreen plugin: would abort
