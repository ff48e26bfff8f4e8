"""The live loop in a real OpenCV window on a private Xvfb display, driven by injected keys.

One X server for the whole module: OpenCV's Qt binds to the first display it meets, so every
windowed test here shares it (and destroys its windows before the server stops). The test that
reads the real screen runs first: under Xvfb with no window manager, a window created after
another was destroyed in the same process is now and then never painted (seen 1 time in ~10
here); a person's session opens one window per process.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers import require_ffmpeg, require_xvfb

from posecheck.apps.live.app import LiveConfig, run_live
from posecheck.apps.live.hud import AMBER, BLUE, GREEN, GREY, PANEL_FRAC, RED
from posecheck.apps.live.keys import Action, CvKeySource, ScriptedKeys
from posecheck.apps.live.session import LiveSession
from posecheck.apps.live.window import WINDOW_NAME
from posecheck.testing.xvfb import screenshot, virtual_display

CLIP = "glute_bridge_darebee_side.mp4"  # 232 frames, 5 reps (labels.json)


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    require_xvfb()
    require_ffmpeg()  # the screenshots are taken with ffmpeg's x11grab
    with virtual_display((1280, 720)) as name:
        yield name
    cv2.destroyAllWindows()


def keys_at(schedule: dict[int, str], keys: ScriptedKeys,
            also: Callable[[LiveSession, int], None] | None = None) -> Callable[..., None]:
    """on_frame hook: press `schedule[seq]` right after frame `seq` was shown."""

    def on_frame(session: LiveSession, frame: object, result: object) -> None:
        seq = frame.seq  # type: ignore[attr-defined]
        if seq in schedule:
            keys.push(schedule[seq])
        if also is not None:
            also(session, seq)

    return on_frame


def timeline_frames(path: Path) -> list[int]:
    with path.open() as fh:
        return [int(row["frame"]) for row in csv.DictReader(fh)]


def test_mirror_fullscreen_snapshot_and_window_close(display: str, shared_clips: Path,
                                                     tmp_path: Path) -> None:
    keys = ScriptedKeys(delegate=CvKeySource())
    seen: dict[str, object] = {}

    def watch(session: LiveSession, seq: int) -> None:
        if seq == 5:
            seen["mirror_before"] = session.mirror
        if seq == 12:
            seen["mirror_after"] = session.mirror
            seen["fullscreen"] = cv2.getWindowProperty(WINDOW_NAME, cv2.WND_PROP_FULLSCREEN)
        if seq >= 20 and "header" not in seen:
            # Qt paints asynchronously (and re-lays out after going fullscreen): look until
            # the screen shows the panel, as a person glancing at it would.
            screen = cv2.imread(str(screenshot(display, tmp_path / "screen.png")))
            header = tuple(int(v) for v in screen[10, 1280 - 40])
            if header != (0, 0, 0):
                seen["header"], seen["screen"], seen["close_at"] = header, screen, seq + 5
        if seq == seen.get("close_at", 200):
            cv2.destroyWindow(WINDOW_NAME)  # the person closes the window

    outcome = run_live(LiveConfig(
        source=str(shared_clips / CLIP), model="lite", headless=False, mute=True,
        out_dir=tmp_path, keys=keys, summary_s=0.0,
        on_frame=keys_at({6: "m", 8: "f", 10: "s"}, keys, watch),
    ))
    assert outcome.reason == "window closed"
    assert (seen["mirror_before"], seen["mirror_after"]) == (False, True)
    assert seen["fullscreen"] == cv2.WINDOW_FULLSCREEN
    assert len(outcome.snapshots) == 1 and outcome.snapshots[0].exists()
    assert (tmp_path / "report.json").exists()  # written however the session ends
    # the real screen shows the panel: its header band is one of the feedback colours
    assert "screen" in seen, "the X screen never showed the panel"
    assert seen["screen"].shape[:2] == (720, 1280)  # type: ignore[union-attr]
    assert seen["header"] in {GREEN, AMBER, RED, GREY, BLUE}


def test_pause_reset_quit_keys_in_a_real_window(display: str, shared_clips: Path,
                                                tmp_path: Path) -> None:
    # Rep completions on this clip (lite model) fall on frames 32, 79, 126, 174, 221; the
    # pause (85-90) sits in the rest between reps 2 and 3, the reset (after 134) between 3 and 4.
    keys = ScriptedKeys(delegate=CvKeySource())
    shown: dict[str, np.ndarray] = {}

    def grab(session: LiveSession, seq: int) -> None:
        if seq == 88:
            shown["paused"] = session.last_canvas.copy()

    outcome = run_live(LiveConfig(
        source=str(shared_clips / CLIP), model="lite", headless=False, mute=True,
        out_dir=tmp_path, keys=keys, summary_s=0.0,
        on_frame=keys_at({84: "space", 90: "space", 134: "r", 226: "q"}, keys, grab),
    ))
    assert outcome.reason == "quit"
    assert [a for a in (Action.PAUSE, Action.PAUSE, Action.RESET, Action.QUIT)] == [
        a for a in outcome_actions(keys)]
    assert [s.report.rep_count for s in outcome.sets] == [3, 2]  # 5 in all, as analyse says
    # set 1 kept its files under _set1 names; the last set has analyse's names
    first = json.loads((tmp_path / "report_set1.json").read_text())
    last = json.loads((tmp_path / "report.json").read_text())
    assert (first["rep_count"], last["rep_count"]) == (3, 2)
    assert (tmp_path / "angle_set1.png").exists() and (tmp_path / "angle.png").exists()
    fed1 = timeline_frames(tmp_path / "timeline_set1.csv")
    fed2 = timeline_frames(tmp_path / "timeline.csv")
    assert fed1 == [i for i in range(135) if not 85 <= i <= 90]  # paused frames not counted
    assert fed2 == list(range(135, 227))  # quit right after frame 226
    # while paused the window said so, over the video
    vw = 1280 - int(1280 * PANEL_FRAC)
    assert "paused" in shown and shown["paused"][:200, :vw].std() > 0


def outcome_actions(keys: ScriptedKeys) -> list[Action]:
    from posecheck.apps.live.keys import action_for

    return [a for a in (action_for(k) for k in keys.pressed) if a is not None]
