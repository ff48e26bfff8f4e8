"""The live window's picture and set-up hints: pure drawing and geometry, no window needed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from posecheck.apps.live import hints
from posecheck.apps.live.hints import HintTracker, pose_hint
from posecheck.apps.live.hud import (
    AMBER,
    CANVAS_WH,
    GREEN,
    GREY,
    PANEL_FRAC,
    RED,
    HudState,
    SummaryState,
    draw_hud,
    draw_summary,
)
from posecheck.core.landmarks import NUM_LANDMARKS, Landmark, PoseFrame
from posecheck.core.results import Cue, Direction, FrameResult, Phase, Position, Severity


def frame_result(*, present: bool = True, holding: bool = False, elapsed: float = 0.0,
                 target: float = 2.0, reps: int = 3, phase: Phase = Phase.REST,
                 cue: Cue | None = None) -> FrameResult:
    return FrameResult(
        index=0, t_ms=0.0, pose_present=present, side_used="left" if present else None,
        measures=None, hip_smoothed_deg={"left": 0.0, "right": math.nan}, primary_deg=0.0,
        bridged=False, position=Position.NEUTRAL, direction=Direction.STILL,
        phase=phase if present else Phase.NO_POSE, posture_ok=True, rep_count=reps,
        partial_count=0, side_counts={}, rep_in_progress=None, holding=holding,
        hold_elapsed_s=elapsed, hold_target_s=target, latest_cue=cue,
    )


def header_colour(canvas: np.ndarray) -> tuple[int, ...]:
    w = canvas.shape[1]
    x = w - int(w * PANEL_FRAC) + 4
    return tuple(int(v) for v in canvas[4, x])


@pytest.mark.parametrize(
    ("result", "colour"),
    [
        pytest.param(frame_result(holding=True, elapsed=2.3), GREEN, id="hold-target-met"),
        pytest.param(frame_result(holding=True, elapsed=0.8), AMBER, id="holding"),
        pytest.param(frame_result(present=False), RED, id="no-pose"),
        pytest.param(frame_result(), GREY, id="rest"),
    ],
)
def test_panel_header_colour_says_what_is_happening(result: FrameResult, colour: tuple) -> None:
    video = np.full((480, 640, 3), 128, np.uint8)
    canvas = draw_hud(video, HudState(exercise="glute_bridge", result=result))
    assert canvas.shape == (CANVAS_WH[1], CANVAS_WH[0], 3)
    assert header_colour(canvas) == colour


def test_rep_count_is_drawn_large() -> None:
    video = np.zeros((480, 640, 3), np.uint8)
    blank = draw_hud(video, HudState(exercise="glute_bridge", result=None))
    seven = draw_hud(video, HudState(exercise="glute_bridge", result=frame_result(reps=7)))
    diff = np.any(blank != seven, axis=2)
    ys, xs = np.nonzero(diff)
    assert xs.min() >= CANVAS_WH[0] - int(CANVAS_WH[0] * PANEL_FRAC)  # only the panel changed
    assert ys.max() - ys.min() > 0.12 * CANVAS_WH[1]  # the digit is over a tenth of the height


def test_hint_status_and_countdown_are_drawn_over_the_video() -> None:
    video = np.full((480, 640, 3), 200, np.uint8)
    plain = draw_hud(video, HudState(exercise="glute_bridge"))
    busy = draw_hud(video, HudState(exercise="glute_bridge", hint=hints.CUT_OFF,
                                    status="PAUSED", countdown=3))
    vw = CANVAS_WH[0] - int(CANVAS_WH[0] * PANEL_FRAC)
    changed = np.any(plain[:, :vw] != busy[:, :vw], axis=2)
    h = CANVAS_WH[1]
    assert changed[: h // 4].any()  # status banner
    assert changed[-h // 4 :].any()  # hint banner
    assert changed[h // 3 : 2 * h // 3].any()  # countdown digit


def test_cue_and_summary_screen_render() -> None:
    cue = Cue("hold_short", "Pause at the top for 2 s", Severity.WARNING, 0.0)
    canvas = draw_hud(np.zeros((720, 1280, 3), np.uint8),
                      HudState(exercise="glute_bridge", result=frame_result(cue=cue)))
    assert canvas.any()
    summary = draw_summary(SummaryState("glute_bridge", reps=5, partials=1, holds=5, holds_met=2,
                                        best_hold_s=2.4, cues=("Pause at the top",),
                                        reason="quit"))
    assert summary.shape == (CANVAS_WH[1], CANVAS_WH[0], 3) and summary.std() > 5


def lying_pose(*, wh: tuple[int, int] = (1280, 720), shift_x: float = 0.0,
               frontal: bool = False, scale: float = 1.0) -> PoseFrame:
    """A side view of a person lying along the image x axis, head left."""
    xy = np.full((NUM_LANDMARKS, 2), np.nan)
    w, h = wh
    y = 0.7 * h
    pts = {"shoulder": 0.25, "hip": 0.5, "knee": 0.65, "ankle": 0.75}
    for name, fx in pts.items():
        x = (0.5 + (fx - 0.5) * scale) * w + shift_x
        for side, dy in (("LEFT", 0.0), ("RIGHT", 0.45 * h * scale if frontal else 4.0)):
            xy[Landmark[f"{side}_{name.upper()}"]] = (x, y - dy)
    xy[np.isnan(xy[:, 0])] = (0.3 * w, y)
    return PoseFrame(index=0, timestamp_ms=0.0, frame_wh=wh, image_xy=xy,
                     presence=np.ones(NUM_LANDMARKS), num_people=1)


def test_hints() -> None:
    assert pose_hint(PoseFrame.missing(0, 0.0, (640, 480))) == hints.NO_PERSON
    assert pose_hint(lying_pose()) is None
    assert pose_hint(lying_pose(shift_x=500)) == hints.CUT_OFF  # ankles past the right edge
    assert pose_hint(lying_pose(frontal=True)) == hints.FRONTAL
    assert pose_hint(lying_pose(scale=0.3)) == hints.TOO_SMALL


def test_hint_tracker_debounces() -> None:
    tracker = HintTracker(show_after=3, clear_after=3)
    seq = ["a", None, "a", "a", "a", None, "a", None, None, None]
    shown = [tracker.update(h) for h in seq]
    assert shown == [None, None, None, None, "a", "a", "a", "a", "a", None]
