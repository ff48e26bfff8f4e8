"""The live window's picture: the annotated video beside a big, plain panel readable from the floor.

Why a separate panel: the overlay on the video (outputs.overlay) is sized for a screen at arm's
length; a person lying a few metres away needs the rep count, the hold timer and the countdown to
the hold target in letters a tenth of the screen high, with colour saying "holding" / "done"
before the words are read. Pure drawing on a numpy canvas: no window, no state.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from posecheck.core.results import FrameResult, Phase, Severity

BG = (28, 28, 28)  # grey on purpose (one value): the canvas fill is a memset
WHITE = (255, 255, 255)
GREY = (160, 160, 160)
DIM = (95, 95, 95)
AMBER = (0, 190, 255)
GREEN = (80, 210, 80)
RED = (70, 70, 235)
BLUE = (220, 160, 60)
FONT = cv2.FONT_HERSHEY_DUPLEX
FONT_BOLD = cv2.FONT_HERSHEY_TRIPLEX
CANVAS_WH = (1280, 720)
PANEL_FRAC = 0.34


@dataclass(frozen=True)
class HudState:
    """Everything the window shows besides the video."""

    exercise: str
    result: FrameResult | None = None
    status: str | None = None  # "PAUSED", "Camera lost - reconnecting (2)", ...
    status_colour: tuple[int, int, int] = AMBER
    countdown: int | None = None  # start countdown seconds left
    hint: str | None = None
    set_number: int = 1
    mirror: bool = False
    info: str = ""  # small print: fps, dropped frames
    key_help: str = ""


@dataclass(frozen=True)
class SummaryState:
    exercise: str
    reps: int
    partials: int
    holds: int
    holds_met: int
    best_hold_s: float
    cues: tuple[str, ...] = ()
    reason: str = ""
    sets: int = 1
    lines: tuple[str, ...] = field(default_factory=tuple)


def phase_colour(result: FrameResult | None) -> tuple[tuple[int, int, int], str]:
    """Colour feedback and a one-word state for the panel header."""
    if result is None or not result.pose_present or result.phase is Phase.NO_POSE:
        return RED, "NO POSE"
    if result.phase is Phase.WRONG_POSTURE:
        return RED, "GET IN POSITION"
    if result.holding:
        met = result.hold_target_s > 0 and result.hold_elapsed_s >= result.hold_target_s
        return (GREEN, "HOLD - GOOD") if met else (AMBER, "HOLD")
    if result.phase in (Phase.CONCENTRIC, Phase.TOP):
        return BLUE, "UP"
    if result.phase is Phase.ECCENTRIC:
        return BLUE, "DOWN"
    return GREY, "READY"


def text(
    img: np.ndarray, s: str, org: tuple[int, int], scale: float, colour: tuple[int, int, int],
    thick: int = 2, font: int = FONT, outline: bool = False,
) -> int:
    """Draw text; returns its width. `outline` puts a dark border around it for use on video."""
    if outline:
        cv2.putText(img, s, org, font, scale, (0, 0, 0), thick + max(2, thick), cv2.LINE_AA)
    cv2.putText(img, s, org, font, scale, colour, thick, cv2.LINE_AA)
    return cv2.getTextSize(s, font, scale, thick)[0][0]


def text_size(s: str, scale: float, thick: int = 2, font: int = FONT) -> tuple[int, int]:
    (w, h), _ = cv2.getTextSize(s, font, scale, thick)
    return w, h


def fit_scale(s: str, max_w: int, scale: float, thick: int, font: int = FONT) -> float:
    w, _ = text_size(s, scale, thick, font)
    return scale if w <= max_w else scale * max_w / max(w, 1)


def wrap(s: str, max_w: int, scale: float, thick: int = 2, max_lines: int = 3) -> list[str]:
    lines: list[str] = []
    cur = ""
    for word in s.split():
        trial = f"{cur} {word}".strip()
        if text_size(trial, scale, thick)[0] <= max_w or not cur:
            cur = trial
        else:
            lines.append(cur)
            cur = word
    if cur:
        lines.append(cur)
    return lines[:max_lines]


def fit_video(video: np.ndarray, w: int, h: int,
              out: np.ndarray | None = None) -> tuple[np.ndarray, tuple[int, int, float]]:
    """Letterbox `video` into w x h (into `out` when given); returns it and (x0, y0, scale).

    Linear interpolation, not area: it costs a fraction and the frame is only a few % smaller.
    """
    box = np.zeros((h, w, 3), dtype=np.uint8) if out is None else out
    vh, vw = video.shape[:2]
    scale = min(w / vw, h / vh)
    nw, nh = max(1, int(vw * scale)), max(1, int(vh * scale))
    x0, y0 = (w - nw) // 2, (h - nh) // 2
    if out is not None:  # black bars only where the video does not cover
        box[:y0] = 0
        box[y0 + nh :] = 0
        box[:, :x0] = 0
        box[:, x0 + nw :] = 0
    cv2.resize(video, (nw, nh), dst=box[y0 : y0 + nh, x0 : x0 + nw],
               interpolation=cv2.INTER_LINEAR)
    return box, (x0, y0, scale)


def banner(img: np.ndarray, s: str, y_centre: int, colour: tuple[int, int, int],
           scale: float = 1.3, band: tuple[int, int, int] | None = None) -> None:
    """A full-width band with centred text, for hints and status on the video.

    Without `band` the video is darkened behind `colour` text; with it the band is solid
    `band` and the text `colour` (a status that must be seen from across the room).
    """
    h, w = img.shape[:2]
    lines = wrap(s, int(w * 0.92), scale, 2, max_lines=2)
    lh = text_size("Ag", scale, 2)[1]
    band_h = int(lh * (1.9 * len(lines) + 0.9))
    y0 = max(0, min(h - band_h, y_centre - band_h // 2))
    roi = img[y0 : y0 + band_h]
    if band is None:
        roi[:] = (roi * 0.35).astype(np.uint8)
    else:
        roi[:] = band
        luma = 0.114 * band[0] + 0.587 * band[1] + 0.299 * band[2]
        colour = BG if luma > 150 else colour  # dark text on a bright band (amber)
    y = y0 + int(lh * 1.6)
    for line in lines:
        tw = text_size(line, scale, 2)[0]
        text(img, line, ((w - tw) // 2, y), scale, colour, 2)
        y += int(lh * 1.9)


def draw_hud(
    video: np.ndarray, state: HudState, canvas_wh: tuple[int, int] = CANVAS_WH
) -> np.ndarray:
    """Compose the window picture: video on the left, panel on the right."""
    canvas, _, _ = place_video(video, canvas_wh)
    decorate(canvas, state)
    return canvas


def place_video(
    video: np.ndarray, canvas_wh: tuple[int, int] = CANVAS_WH
) -> tuple[np.ndarray, np.ndarray, tuple[int, int, float]]:
    """A new canvas with `video` letterboxed into its left part.

    Returns the canvas, the view of it the video fills (draw the overlay there, at display size:
    no full-size copy to draw on and shrink), and (x0, y0, scale) from video to canvas pixels.
    """
    cw, ch = canvas_wh
    canvas = np.full((ch, cw, 3), BG[0], dtype=np.uint8)  # BG is grey: a plain memset
    vw = cw - int(cw * PANEL_FRAC)
    _, (x0, y0, scale) = fit_video(video, vw, ch, out=canvas[:, :vw])
    vh, vwid = video.shape[:2]
    nw, nh = max(1, int(vwid * scale)), max(1, int(vh * scale))
    return canvas, canvas[y0 : y0 + nh, x0 : x0 + nw], (x0, y0, scale)


def decorate(canvas: np.ndarray, state: HudState) -> None:
    """Everything but the video: hint and status bands, start countdown, the panel."""
    ch, cw = canvas.shape[:2]
    vw = cw - int(cw * PANEL_FRAC)
    view = canvas[:, :vw]
    if state.hint:
        banner(view, state.hint, int(ch * 0.86), AMBER)
    if state.status:
        banner(view, state.status, int(ch * 0.12), WHITE, band=state.status_colour)
    if state.countdown is not None and state.countdown > 0:
        s = str(state.countdown)
        tw, th = text_size(s, 9.0, 18, FONT_BOLD)
        text(view, s, ((vw - tw) // 2, (ch + th) // 2), 9.0, WHITE, 18, FONT_BOLD, outline=True)
        banner(view, "Get into position", int(ch * 0.30), WHITE)
    _panel(canvas[:, vw:], state)


def _panel(panel: np.ndarray, state: HudState) -> None:
    """The panel, laid out in fractions of its height so it scales with the window."""
    h, w = panel.shape[:2]
    pad = int(w * 0.07)
    inner = w - 2 * pad
    result = state.result
    colour, label = phase_colour(result)

    def at(frac: float) -> int:
        return int(h * frac)

    panel[: at(0.11)] = colour  # header band in the feedback colour
    text(panel, label, (pad, at(0.075)), fit_scale(label, inner, 1.5, 3), BG, 3)
    name = state.exercise.replace("_", " ")
    sub = f"{name}  -  set {state.set_number}" + ("  -  mirrored" if state.mirror else "")
    text(panel, sub, (pad, at(0.165)), fit_scale(sub, inner, 0.75, 1), GREY, 1)
    # the rep count, as large as the space allows
    text(panel, "REPS", (pad, at(0.235)), 0.9, GREY, 2)
    reps = str(result.rep_count if result is not None else 0)
    rs = _fit_height(reps, inner, at(0.19), 12, FONT_BOLD)
    rw, _ = text_size(reps, rs, 12, FONT_BOLD)
    text(panel, reps, ((w - rw) // 2, at(0.465)), rs, WHITE, 12, FONT_BOLD)
    if result is not None and result.partial_count:
        text(panel, f"+{result.partial_count} partial", (pad, at(0.505)), 0.8, AMBER, 2)
    _hold_block(panel, result, pad, at(0.56), inner, h)
    cue = result.latest_cue if result is not None else None
    if cue is not None:
        cue_colour = {Severity.INFO: WHITE, Severity.WARNING: AMBER, Severity.ERROR: RED}.get(
            cue.severity, WHITE)
        # as large as the hold caption: a cue is worth reading from the floor
        for i, line in enumerate(wrap(cue.message, inner, 0.95, 2, max_lines=2)):
            text(panel, line, (pad, at(0.85 + 0.058 * i)), 0.95, cue_colour, 2)
    if state.info:
        text(panel, state.info, (pad, at(0.95)), fit_scale(state.info, inner, 0.45, 1), DIM, 1)
    if state.key_help:
        text(panel, state.key_help, (pad, at(0.985)), fit_scale(state.key_help, inner, 0.45, 1),
             DIM, 1)


def _fit_height(s: str, max_w: int, max_h: int, thick: int, font: int) -> float:
    """The font scale at which `s` is `max_h` pixels tall, or less if it would be too wide."""
    _, h1 = text_size(s, 1.0, thick, font)
    scale = max_h / max(h1, 1)
    return fit_scale(s, max_w, scale, thick, font)


def _hold_block(panel: np.ndarray, result: FrameResult | None, x: int, y: int, w: int,
                h: int) -> None:
    """Hold timer, a bar filling towards the target, and the seconds still to go. After the
    hold it keeps the rep's figure (the report's, once the rep is final) until the next rep."""
    target = result.hold_target_s if result is not None else 0.0
    holding = result is not None and result.holding
    elapsed = result.hold_elapsed_s if result is not None else 0.0
    met = target > 0 and elapsed >= target
    colour = GREEN if met else (AMBER if elapsed > 0 else GREY)
    text(panel, "HOLD", (x, y), 0.9, GREY, 2)
    timer = f"{elapsed:.1f}s"
    ts = _fit_height(timer, int(w * 0.62), int(h * 0.085), 6, FONT_BOLD)
    tw, _ = text_size(timer, ts, 6, FONT_BOLD)
    base = y + int(h * 0.11)
    text(panel, timer, (x, base), ts, colour, 6, FONT_BOLD)
    if target > 0:
        text(panel, f"/ {target:g}s", (x + tw + 12, base), 1.0, GREY, 2)
    bar_y = base + int(h * 0.025)
    bar_h = max(12, int(h * 0.04))
    cv2.rectangle(panel, (x, bar_y), (x + w, bar_y + bar_h), DIM, 2)
    if target > 0 and elapsed > 0:
        frac = min(1.0, elapsed / target)
        cv2.rectangle(panel, (x + 3, bar_y + 3), (x + 3 + int((w - 6) * frac), bar_y + bar_h - 3),
                      colour, -1)
    if target > 0 and holding:
        msg = "target met - lower slowly" if met else f"{max(0.0, target - elapsed):.1f}s to go"
    elif target > 0 and elapsed > 0:
        msg = f"held {elapsed:.1f}s" + (" - target met" if met else f" of {target:g}s")
    elif target > 0:
        msg = f"pause {target:g}s at the top"
    else:
        msg = "no hold for this exercise" if result is not None else ""
    text(panel, msg, (x, bar_y + bar_h + int(h * 0.05)), fit_scale(msg, w, 0.9, 2),
         colour if holding else GREY, 2)


def draw_summary(summary: SummaryState, canvas_wh: tuple[int, int] = CANVAS_WH,
                 background: np.ndarray | None = None) -> np.ndarray:
    """The end-of-session screen: what was done, in big letters."""
    cw, ch = canvas_wh
    if background is not None:
        small = cv2.resize(background, (cw // 8, ch // 8), interpolation=cv2.INTER_AREA)
        canvas = (cv2.resize(small, (cw, ch)) * 0.18).astype(np.uint8)  # blurred and dark
    else:
        canvas = np.empty((ch, cw, 3), dtype=np.uint8)
        canvas[:] = BG
    pad = int(cw * 0.06)
    y = int(ch * 0.14)
    title = "Session complete"
    text(canvas, title, (pad, y), 1.6, WHITE, 3)
    if summary.reason:
        text(canvas, summary.reason, (pad, y + int(ch * 0.06)), 0.8, GREY, 1)
    y += int(ch * 0.22)
    reps = f"{summary.reps}"
    rw, rh = text_size(reps, 5.0, 10, FONT_BOLD)
    text(canvas, reps, (pad, y + rh // 2), 5.0, GREEN if summary.reps else GREY, 10, FONT_BOLD)
    label = f"{summary.exercise.replace('_', ' ')} reps"
    if summary.sets > 1:
        label += f" in set {summary.sets}"
    text(canvas, label, (pad + rw + 30, y), 1.3, WHITE, 2)
    y += int(ch * 0.16)
    lines = list(summary.lines)
    if summary.holds:
        lines.insert(0, f"holds: {summary.holds_met} of {summary.holds} met the target, "
                        f"longest {summary.best_hold_s:.1f}s")
    if summary.partials:
        lines.insert(0, f"partial reps: {summary.partials}")
    for cue in summary.cues[:3]:
        lines.append(f"tip: {cue}")
    for line in lines[:7]:
        text(canvas, line, (pad, y), fit_scale(line, cw - 2 * pad, 1.0, 2), WHITE, 2)
        y += int(ch * 0.07)
    text(canvas, "press any key to close", (pad, ch - int(ch * 0.05)), 0.7, DIM, 1)
    return canvas
