"""The overlay draws what the FrameResult says, scales with the frame, and keeps no frames."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from helpers import frame_result as make_result

from posecheck.core.landmarks import Landmark, PoseFrame
from posecheck.core.results import (
    Cue,
    Direction,
    Phase,
    Severity,
)
from posecheck.outputs.overlay import (
    AMBER,
    EXTENSION,
    FLEXION,
    GREEN,
    AnglePlotAnnotator,
    Overlay,
    Style,
    angle_label,
    phase_label,
    wrap_text,
)

L = Landmark


def lying_pose(w: int, h: int, lift: float = 0.0, t_ms: float = 0.0) -> PoseFrame:
    """A supine side-view body (shoulders left, knees up right); `lift` raises the hips (px@720)."""
    s = min(w, h) / 720
    cx, floor = w * 0.45, h * 0.75
    sh = np.array([cx - 250 * s, floor - 10 * s])
    hip = np.array([cx, floor - 15 * s - lift * s])
    knee = np.array([cx + 170 * s, floor - 170 * s])
    ankle = np.array([cx + 270 * s, floor])
    xy = np.tile(sh + np.array([-80 * s, -20 * s]), (33, 1))
    for side in ("LEFT", "RIGHT"):
        xy[L[f"{side}_SHOULDER"]] = sh
        xy[L[f"{side}_HIP"]] = hip
        xy[L[f"{side}_KNEE"]] = knee
        xy[L[f"{side}_ANKLE"]] = ankle
        xy[L[f"{side}_HEEL"]] = ankle + np.array([-15 * s, 5 * s])
        xy[L[f"{side}_FOOT_INDEX"]] = ankle + np.array([30 * s, 0])
    return PoseFrame(
        index=int(t_ms // 33),
        timestamp_ms=t_ms,
        frame_wh=(w, h),
        image_xy=xy,
        visibility=np.ones(33),
        num_people=1,
    )


def blank(w: int = 854, h: int = 480) -> np.ndarray:
    return np.full((h, w, 3), 100, np.uint8)


def colour_pixels(img: np.ndarray, colour: tuple[int, int, int], tol: int = 30) -> int:
    diff = np.abs(img.astype(int) - np.array(colour)).max(axis=2)
    return int((diff <= tol).sum())


def test_annotate_draws_in_place_and_keeps_shape() -> None:
    frame = blank()
    out = Overlay().annotate(frame, lying_pose(854, 480), make_result())
    assert out is frame
    assert out.shape == (480, 854, 3) and out.dtype == np.uint8
    assert (out != 100).any()


def test_no_pose_draws_panel_but_no_skeleton() -> None:
    w, h = 854, 480
    pose = PoseFrame.missing(0, 0.0, (w, h))
    result = make_result(
        pose_present=False,
        side_used=None,
        measures=None,
        hip_smoothed_deg={"left": math.nan, "right": math.nan},
        primary_deg=math.nan,
        phase=Phase.NO_POSE,
        direction=Direction.UNKNOWN,
    )
    frame = Overlay().annotate(blank(w, h), pose, result)
    body_region = frame[int(h * 0.45) : int(h * 0.72), int(w * 0.2) : int(w * 0.7)]
    assert (body_region == 100).all()
    assert (frame[:100, :150] != 100).any()  # the panel is drawn
    assert phase_label(result)[0] == "no person"


@pytest.mark.parametrize(
    ("angle", "colour", "other"), [(35.0, FLEXION, EXTENSION), (-12.0, EXTENSION, FLEXION)]
)
def test_hip_arc_and_label_coloured_by_flexion_or_extension(
    angle: float, colour: tuple[int, int, int], other: tuple[int, int, int]
) -> None:
    w, h = 854, 480
    frame = Overlay(show_plot=False).annotate(blank(w, h), lying_pose(w, h), make_result(angle))
    hip = lying_pose(w, h).image_xy[L.LEFT_HIP]
    x, y = int(hip[0]), int(hip[1])
    around = frame[max(0, y - 120) : y + 120, max(0, x - 150) : x + 150]
    assert colour_pixels(around, colour, tol=20) > 30
    assert colour_pixels(around, other, tol=20) < colour_pixels(around, colour, tol=20) // 5


def test_angle_and_phase_labels() -> None:
    assert angle_label(35.4) == "35° flexion"
    assert angle_label(-12.0) == "12° extension"
    assert angle_label(0.2) == "0° neutral"
    assert angle_label(math.nan) == "--"
    assert phase_label(make_result(holding=True))[0] == "holding"
    assert phase_label(make_result(direction=Direction.FLEXING))[0] == "flexing"
    assert phase_label(make_result(direction=Direction.EXTENDING))[0] == "extending"


def _panel(frame: np.ndarray) -> np.ndarray:
    return frame[: frame.shape[0] // 3, : frame.shape[1] // 3]


def test_hold_timer_turns_green_when_target_met() -> None:
    w, h = 854, 480
    pose = lying_pose(w, h, lift=110)
    short = make_result(-5.0, holding=True, hold_elapsed_s=1.0, phase=Phase.HOLD, partial_count=0)
    met = make_result(-5.0, holding=True, hold_elapsed_s=2.1, phase=Phase.HOLD, partial_count=0)
    f_short = Overlay(show_plot=False).annotate(blank(w, h), pose, short)
    f_met = Overlay(show_plot=False).annotate(blank(w, h), pose, met)
    assert colour_pixels(_panel(f_short), AMBER, 10) > 200
    assert colour_pixels(_panel(f_met), GREEN, 10) > colour_pixels(_panel(f_short), GREEN, 10) + 200
    assert colour_pixels(_panel(f_met), AMBER, 10) < 50


def test_cue_is_drawn_top_right() -> None:
    w, h = 854, 480
    pose = lying_pose(w, h)
    cue = Cue("hold_short", "Hold the top for 2 s", Severity.WARNING, 0.0, 1)
    with_cue = Overlay(show_plot=False).annotate(blank(w, h), pose, make_result(latest_cue=cue))
    without = Overlay(show_plot=False).annotate(blank(w, h), pose, make_result())
    region = (slice(0, h // 5), slice(w // 3, w))
    assert (without[region] == 100).all()
    assert colour_pixels(with_cue[region], AMBER, 10) > 20
    assert (with_cue[region] < 60).sum() > 1000  # the banner behind the text


def test_long_cue_wraps_inside_frame() -> None:
    style = Style.for_frame(608, 1080)
    lines = wrap_text("word " * 60, style, max_w=300, max_lines=3)
    assert len(lines) == 3 and lines[-1].endswith("...")


@pytest.mark.parametrize(("w", "h"), [(854, 480), (1280, 720), (3840, 2160), (608, 1080)])
def test_sizes_scale_with_frame(w: int, h: int) -> None:
    """The panel covers about the same fraction of the frame at any resolution."""
    frame = Overlay(show_plot=False).annotate(blank(w, h), lying_pose(w, h), make_result())
    changed = np.argwhere((frame[: h // 2, : w // 2] != 100).any(axis=2))
    panel_h = changed[:, 0].max()  # lowest drawn row of the panel region
    assert 0.15 < panel_h / min(w, h) < 0.45


def test_plot_buffer_is_bounded_by_time() -> None:
    plot = AnglePlotAnnotator(seconds=5.0)
    for i in range(30 * 600):  # 10 minutes at 30 fps
        plot.push(i * 1000 / 30, math.sin(i / 10) * 40)
    assert len(plot._buf) <= 5 * 30 + 2
    plot.push(0.0, 1.0)  # clock went back: a new clip starts a new plot
    assert len(plot._buf) == 1


def test_overlay_holds_no_frames_over_a_long_run() -> None:
    w, h = 320, 240
    overlay = Overlay()
    frame = blank(w, h)
    for i in range(2000):
        t = i * 33.3
        overlay.annotate(
            frame, lying_pose(w, h, 50 + 50 * math.sin(i / 15), t), make_result(t_ms=t)
        )
    assert len(overlay.plot._buf) <= 6 * 31
    assert not any(isinstance(v, np.ndarray) for v in vars(overlay).values())


@pytest.mark.parametrize("wh", [(640, 480), (854, 480), (3840, 2160)])
def test_wrapped_cue_lines_fit_as_drawn(wh: tuple[int, int]) -> None:
    """Wrapping measures text as `put_text` draws it (its thickness, the '°' ring): a cue with
    degrees used to run past the right edge of a 640x480 frame."""
    from posecheck.outputs.overlay import Style, put_text, text_width, wrap_text

    style = Style.for_frame(*wh)
    message = "Drive the hips all the way up (top reached 14° of hip flexion)"
    max_w = wh[0] // 2
    for line in wrap_text(message, style, max_w):
        drawn = put_text(np.zeros((wh[1], wh[0], 3), np.uint8), line, (0, wh[1] // 2), style)
        assert drawn == text_width(line, style) <= max_w


def first_frame_with_a_body(clip, npz=None):
    """A real frame and its pose, from the model (lite: placement needs only where the body is)."""
    import cv2

    from posecheck.pose import PoseEstimator

    cap = cv2.VideoCapture(str(clip))
    cap.set(cv2.CAP_PROP_POS_MSEC, 2000.0)
    ok, image = cap.read()
    cap.release()
    assert ok
    with PoseEstimator("lite") as est:
        return image, est.detect(image, 2000.0, 0)


def test_the_count_panel_keeps_off_a_logo(shared_clips) -> None:
    """The DAREBEE clips carry their logo top left: the panel takes the plain top right (and
    the cue the space left of it); a rendered sample with nothing there keeps it left."""
    image, pose = first_frame_with_a_body(shared_clips / "glute_bridge_darebee_side.mp4")
    overlay = Overlay()
    result = make_result(latest_cue=Cue("hold_short", "Pause at the top", Severity.WARNING, 0))
    overlay.annotate(image.copy(), pose, result)
    assert overlay.panel.corner == "right"
    sample = Path(__file__).resolve().parents[1] / "sample_videos" / "glute_bridge_side.mp4"
    image, pose = first_frame_with_a_body(sample)
    overlay.reset()
    overlay.annotate(image.copy(), pose, result)
    assert overlay.panel.corner == "left"


@pytest.mark.parametrize("wh", [(640, 480), (854, 480), (3840, 2160)])
def test_the_plot_text_is_readable(wh: tuple[int, int]) -> None:
    """At 480p the plot's smallest text is at least 10 px tall (it was ~8), and it scales with
    the frame up to 4K."""
    from posecheck.outputs.overlay import PLOT_TEXT, text_height

    style = Style.for_frame(*wh)
    assert text_height(style, PLOT_TEXT) >= 10 * min(wh) / 480
