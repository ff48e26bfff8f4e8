"""Draw the core's per-frame result onto a video frame.

The overlay has no logic of its own: every number it shows comes from `FrameResult` (and the pixel
positions from `PoseFrame`). The only state is a short ring buffer of recent hip angles for the live
plot, so an annotator can be fed frame by frame forever without growing.

Sizes are relative to the frame (``Style.for_frame``), so the same overlay reads at 480p and at 4K.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np

from posecheck.core.landmarks import SIDE_JOINTS, SKELETON_EDGES, PoseFrame
from posecheck.core.results import Direction, FrameResult, Phase, Severity
from posecheck.outputs.report import shown_angle, shown_side

# BGR colours
WHITE = (255, 255, 255)
BLACK = (0, 0, 0)
GREY = (150, 150, 150)
AMBER = (0, 190, 255)
GREEN = (80, 220, 80)
RED = (60, 60, 235)
FLEXION = (0, 160, 255)  # orange: hip flexed
EXTENSION = (255, 200, 0)  # cyan: hip extended
SIDE_COLOUR = {"left": (255, 140, 60), "right": (60, 140, 255)}
SEVERITY_COLOUR = {Severity.INFO: WHITE, Severity.WARNING: AMBER, Severity.ERROR: RED}

_FONT = cv2.FONT_HERSHEY_SIMPLEX


@dataclass(frozen=True)
class Style:
    """Pixel sizes derived from the frame size (unit = 1 at 720 px on the short side)."""

    unit: float
    font: float
    thick: int
    line: int
    pad: int

    @classmethod
    def for_frame(cls, width: int, height: int) -> Style:
        unit = max(min(width, height) / 720.0, 0.45)
        return cls(
            unit=unit,
            font=0.75 * unit,
            thick=max(1, round(2 * unit)),
            line=max(1, round(3 * unit)),
            pad=max(4, round(12 * unit)),
        )


def put_text(
    img: np.ndarray,
    text: str,
    org: tuple[int, int],
    style: Style,
    *,
    scale: float = 1.0,
    colour: tuple[int, int, int] = WHITE,
) -> int:
    """Outlined text (readable on any background); '°' is drawn as a small ring. Returns width."""
    fs = style.font * scale
    # Hershey glyph advance is the same for every thickness >= 2 (not for 1), so a thicker
    # black pass underneath lines up exactly with the coloured text: a one-call outline.
    th = max(2, round(style.thick * scale))
    x, y = org
    parts = text.split("°")
    for i, part in enumerate(parts):
        if part:
            cv2.putText(img, part, (x, y), _FONT, fs, BLACK, th + 2, cv2.LINE_AA)
            cv2.putText(img, part, (x, y), _FONT, fs, colour, th, cv2.LINE_AA)
            x += cv2.getTextSize(part, _FONT, fs, th)[0][0]
        if i < len(parts) - 1:
            r = max(2, round(4 * fs))
            centre = (x + r + th, y - round(20 * fs))
            cv2.circle(img, centre, r, BLACK, th + 2, cv2.LINE_AA)
            cv2.circle(img, centre, r, colour, th, cv2.LINE_AA)
            x += 2 * r + 2 * th + 1
    return x - org[0]


def text_width(text: str, style: Style, scale: float = 1.0) -> int:
    """The width `put_text` will draw `text` at (its '°' ring included)."""
    fs = style.font * scale
    th = max(2, round(style.thick * scale))
    parts = text.split("°")
    rings = (len(parts) - 1) * (2 * max(2, round(4 * fs)) + 2 * th + 1)
    return rings + sum(cv2.getTextSize(part, _FONT, fs, th)[0][0] for part in parts if part)


def text_height(style: Style, scale: float = 1.0) -> int:
    fs = style.font * scale
    return cv2.getTextSize("Hg", _FONT, fs, max(2, round(style.thick * scale)))[0][1]


def darken(img: np.ndarray, x0: int, y0: int, x1: int, y1: int, keep: float = 0.3) -> None:
    """Dim a rectangle in place (a cheap translucent panel: touches only that region)."""
    h, w = img.shape[:2]
    x0, x1 = max(0, x0), min(w, x1)
    y0, y1 = max(0, y0), min(h, y1)
    if x1 > x0 and y1 > y0:
        roi = img[y0:y1, x0:x1]
        roi[:] = cv2.convertScaleAbs(roi, alpha=keep)


def angle_label(deg: float) -> str:
    """'35° flexion' / '12° extension' / 'neutral'."""
    if not math.isfinite(deg):
        return "--"
    if abs(deg) < 0.5:
        return "0° neutral"
    return f"{abs(deg):.0f}° {'flexion' if deg > 0 else 'extension'}"


def phase_label(result: FrameResult) -> tuple[str, tuple[int, int, int]]:
    """What the hip is doing right now, in the words the brief uses."""
    if not result.pose_present and not result.bridged:
        return "no person", GREY
    if result.phase is Phase.WRONG_POSTURE:
        return "wrong posture", AMBER
    if result.holding:
        return "holding", GREEN
    if result.direction is Direction.EXTENDING:
        return "extending", EXTENSION
    if result.direction is Direction.FLEXING:
        return "flexing", FLEXION
    return "still", WHITE


def landmarks_in(pose: PoseFrame, box: tuple[float, float, float, float]) -> int:
    """How many of the pose's known landmarks lie in the (x0, y0, x1, y1) box, edges included."""
    if pose.image_xy is None:
        return 0
    xy = pose.image_xy[np.all(np.isfinite(pose.image_xy), axis=1)]
    x0, y0, x1, y1 = box
    return int(np.sum((xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)))


class SkeletonAnnotator:
    """The shown side bold and coloured; when the core tracks both legs, the other leg in its
    own colour but thinner; everything else thin and grey."""

    @staticmethod
    def _chain(side: str) -> set[tuple[int, int]]:
        j = SIDE_JOINTS[side]
        chain = (j.shoulder, j.hip, j.knee, j.ankle, j.heel, j.foot_index)
        return set(itertools.pairwise(chain)) | {(j.ankle, j.foot_index)}

    def annotate(
        self,
        frame: np.ndarray,
        pose: PoseFrame,
        result: FrameResult,
        style: Style,
        side: str | None,
    ) -> None:
        if pose.image_xy is None:
            return
        pts = np.nan_to_num(pose.image_xy, nan=-1e4).round().astype(np.int32)
        bold = self._chain(side) if side is not None else set()
        other = None
        if side is not None and result.side_used == "both":
            other = "right" if side == "left" else "left"
        second = self._chain(other) if other is not None else set()
        for a, b in SKELETON_EDGES:
            if (a, b) in bold or (b, a) in bold or (a, b) in second or (b, a) in second:
                continue
            thin = max(1, style.line // 2)
            cv2.line(frame, tuple(pts[a]), tuple(pts[b]), GREY, thin, cv2.LINE_AA)
        if other is not None:
            for a, b in second:
                width = max(1, style.line // 2)
                cv2.line(frame, tuple(pts[a]), tuple(pts[b]), SIDE_COLOUR[other], width,
                         cv2.LINE_AA)  # fmt: skip
        if side is None:
            return
        for a, b in bold:
            cv2.line(frame, tuple(pts[a]), tuple(pts[b]), BLACK, style.line + 2, cv2.LINE_AA)
            cv2.line(frame, tuple(pts[a]), tuple(pts[b]), SIDE_COLOUR[side], style.line,
                     cv2.LINE_AA)  # fmt: skip
        j = SIDE_JOINTS[side]
        for idx in (j.shoulder, j.hip, j.knee, j.ankle):
            cv2.circle(frame, tuple(pts[idx]), style.line + 2, WHITE, -1, cv2.LINE_AA)
            cv2.circle(frame, tuple(pts[idx]), style.line + 2, BLACK, 1, cv2.LINE_AA)


class HipAngleAnnotator:
    """An arc at the hip from 'thigh in line with trunk' to the thigh, and the signed angle."""

    def annotate(
        self,
        frame: np.ndarray,
        pose: PoseFrame,
        result: FrameResult,
        style: Style,
        side: str | None,
        angle: float,
    ) -> None:
        if pose.image_xy is None or side is None:
            return
        j = SIDE_JOINTS[side]
        hip, shoulder, knee = (pose.image_xy[i] for i in (j.hip, j.shoulder, j.knee))
        if not (
            np.all(np.isfinite(hip)) and np.all(np.isfinite(shoulder)) and np.all(np.isfinite(knee))
        ):
            return
        trunk, thigh = shoulder - hip, knee - hip
        thigh_len = float(np.hypot(*thigh))
        if thigh_len < 1 or float(np.hypot(*trunk)) < 1:
            return
        radius = int(np.clip(0.45 * thigh_len, 14 * style.unit, 90 * style.unit))
        ref = math.degrees(math.atan2(-trunk[1], -trunk[0]))  # where the thigh is at 0°
        to = math.degrees(math.atan2(thigh[1], thigh[0]))
        sweep = (to - ref + 180.0) % 360.0 - 180.0
        colour = FLEXION if (angle if math.isfinite(angle) else 1) >= 0 else EXTENSION
        centre = (round(hip[0]), round(hip[1]))
        ref_end = (
            round(hip[0] - trunk[0] / np.hypot(*trunk) * radius * 1.3),
            round(hip[1] - trunk[1] / np.hypot(*trunk) * radius * 1.3),
        )
        _dashed_line(frame, centre, ref_end, WHITE, max(1, style.line // 2), 6 * style.unit)
        # outlined, so it reads over a shirt of its own colour; the end mark keeps a near-zero
        # angle at the top of a bridge visible as more than a sliver
        for col, width in ((BLACK, style.line + 2), (colour, style.line)):
            cv2.ellipse(frame, centre, (radius, radius), 0, ref, ref + sweep, col, width,
                        cv2.LINE_AA)  # fmt: skip
        end = math.radians(ref + sweep)
        tip = (round(hip[0] + radius * math.cos(end)), round(hip[1] + radius * math.sin(end)))
        cv2.circle(frame, tip, style.line + 2, BLACK, -1, cv2.LINE_AA)
        cv2.circle(frame, tip, style.line + 1, colour, -1, cv2.LINE_AA)
        # label outside the trunk-thigh angle, where neither segment is drawn
        out = -(trunk / np.hypot(*trunk) + thigh / thigh_len)
        if np.hypot(*out) < 0.3:  # nearly straight: go perpendicular to the trunk
            out = np.array([-trunk[1], trunk[0]])
        out = out / np.hypot(*out)
        label = angle_label(angle)
        (tw, th), _ = cv2.getTextSize(label, _FONT, style.font * 1.1, style.thick)
        dist = radius * 0.5 + style.pad + 0.5 * math.hypot(tw * out[0], th * out[1] * 2)
        cx, cy = hip[0] + out[0] * dist, hip[1] + out[1] * dist
        lx = int(np.clip(cx - tw / 2, style.pad, frame.shape[1] - tw - 2 * style.pad))
        ly = int(np.clip(cy + th / 2, th + style.pad, frame.shape[0] - style.pad))
        put_text(frame, label, (lx, ly), style, scale=1.1, colour=colour)


def _dashed_line(
    img: np.ndarray,
    p0: tuple[int, int],
    p1: tuple[int, int],
    colour: tuple[int, int, int],
    thick: int,
    dash: float,
) -> None:
    length = math.hypot(p1[0] - p0[0], p1[1] - p0[1])
    n = max(1, int(length / max(dash, 2)))
    for k in range(0, n, 2):
        a, b = k / n, min(1.0, (k + 1) / n)
        q0 = (round(p0[0] + (p1[0] - p0[0]) * a), round(p0[1] + (p1[1] - p0[1]) * a))
        q1 = (round(p0[0] + (p1[0] - p0[0]) * b), round(p0[1] + (p1[1] - p0[1]) * b))
        cv2.line(img, q0, q1, colour, thick, cv2.LINE_AA)


class PanelAnnotator:
    """Top panel: reps (full + partial), phase, hold timer. It sits in the top corner with less
    in it (`place`): a channel's logo or a caption there would hide the count, or be hidden."""

    def __init__(self) -> None:
        self.corner: str | None = None  # chosen once per clip, on its first frame with a body

    @staticmethod
    def width(style: Style) -> int:
        """Width of the panel and its margin in pixels (other annotators keep clear of it)."""
        return int(260 * style.unit) + style.pad

    @staticmethod
    def height(style: Style) -> int:
        return int(text_height(style) * 7.6) + 3 * style.pad

    def span(self, frame: np.ndarray, style: Style, corner: str | None = None) -> tuple[int, int]:
        """(x0, x1) of the panel in this frame."""
        w = frame.shape[1]
        inner = self.width(style) - style.pad
        if (corner or self.corner) == "right":
            return w - style.pad - inner, w - style.pad
        return style.pad, style.pad + inner

    def place(self, frame: np.ndarray, style: Style, pose: PoseFrame) -> None:
        """Left unless the top-left corner is clearly busier (edges of a logo or text, or the
        person) than the top-right. Decided once: a panel that moved would be hard to follow."""
        if self.corner is not None or pose.image_xy is None:
            return
        grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        y1 = min(frame.shape[0], self.height(style) + style.pad)

        def busy(corner: str) -> float:
            x0, x1 = self.span(frame, style, corner)
            edges = float(np.mean(cv2.Canny(grey[:y1, x0:x1], 80, 160) > 0))
            return edges + 0.02 * landmarks_in(pose, (x0, -math.inf, x1, y1))

        self.corner = "right" if busy("right") < 0.5 * busy("left") - 0.005 else "left"

    def annotate(self, frame: np.ndarray, result: FrameResult, style: Style) -> None:
        lh = text_height(style)
        x0, y0 = self.span(frame, style)[0], style.pad
        width = self.width(style) - style.pad
        height = int(lh * 7.6) + 2 * style.pad
        darken(frame, x0, y0, x0 + width, y0 + height)
        x, y = x0 + style.pad, y0 + style.pad + int(lh * 1.9)
        put_text(frame, f"REPS {result.rep_count}", (x, y), style, scale=1.8)
        y += int(lh * 1.6)
        partial_colour = AMBER if result.partial_count else GREY
        put_text(
            frame,
            f"partial {result.partial_count}",
            (x, y),
            style,
            scale=0.9,
            colour=partial_colour,
        )
        y += int(lh * 1.9)
        label, colour = phase_label(result)
        put_text(frame, label.upper(), (x, y), style, scale=1.1, colour=colour)
        y += int(lh * 0.9)
        self._hold_bar(frame, result, style, x, y, width - 2 * style.pad, int(lh * 1.5))

    @staticmethod
    def _hold_bar(
        frame: np.ndarray, result: FrameResult, style: Style, x: int, y: int, w: int, h: int
    ) -> None:
        target = result.hold_target_s
        if target <= 0:  # this exercise has no hold to time
            return
        elapsed = result.hold_elapsed_s  # the rep's hold: running, then as the report has it
        met = target > 0 and elapsed >= target
        colour = GREEN if met else AMBER
        cv2.rectangle(frame, (x, y), (x + w, y + h), GREY, 1, cv2.LINE_AA)
        frac = min(1.0, elapsed / target)
        if frac > 0:
            cv2.rectangle(
                frame, (x + 1, y + 1), (x + 1 + int((w - 2) * frac), y + h - 1), colour, -1
            )
        text = f"{'hold' if result.holding else 'held'} {elapsed:.1f} / {target:.1f} s"
        put_text(
            frame,
            text,
            (x + style.pad // 2, y + h - max(2, h // 4)),
            style,
            scale=0.8,
            colour=WHITE,
        )


class CueAnnotator:
    """The cue on show, at the top beside the panel, wrapped to the space there."""

    def annotate(
        self, frame: np.ndarray, result: FrameResult, style: Style, panel: tuple[int, int]
    ) -> None:
        cue = result.latest_cue
        if cue is None:
            return
        colour = SEVERITY_COLOUR.get(cue.severity, WHITE)
        lh = text_height(style)
        w = frame.shape[1]
        if panel[0] > w // 2:  # the panel is on the right: the cue goes left of it
            x0, x1 = style.pad, panel[0] - style.pad
        else:
            x0, x1 = panel[1] + style.pad, w - style.pad
        max_w = x1 - x0 - 2 * style.pad
        lines = wrap_text(cue.message, style, max_w, max_lines=3)
        y0 = style.pad
        y1 = y0 + style.pad + int(lh * 1.7) * len(lines) + style.pad // 2
        darken(frame, x0, y0, x1, y1, keep=0.35)
        y = y0 + style.pad + lh
        for line in lines:
            put_text(frame, line, (x0 + style.pad, y), style, colour=colour)
            y += int(lh * 1.7)


def wrap_text(text: str, style: Style, max_w: int, max_lines: int = 3) -> list[str]:
    """Greedy word wrap by rendered width; the last line is cut with '...' if it overflows."""

    def width(s: str) -> int:
        return text_width(s, style)

    lines: list[str] = []
    current = ""
    for word in text.split():
        trial = f"{current} {word}".strip()
        if width(trial) <= max_w or not current:
            current = trial
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and width(last + "...") > max_w:
            last = last[:-1]
        lines[-1] = last + "..."
    return lines


PLOT_TEXT = 0.8  # the plot's text scale: ~13 px tall at 480p, as small as text may get
DIM_GRID = (90, 90, 90)


class AnglePlotAnnotator:
    """A small live plot of the shown hip angle over the last few seconds.

    Keeps (t, angle) pairs only, never frames; the buffer is bounded by time and by length.
    """

    def __init__(self, seconds: float = 6.0, max_points: int = 2048) -> None:
        self.seconds = seconds
        self.corner = "right"
        self._buf: deque[tuple[float, float]] = deque(maxlen=max_points)

    def reset(self) -> None:
        self._buf.clear()

    def push(self, t_ms: float, deg: float) -> None:
        if self._buf and t_ms < self._buf[-1][0]:  # clock went back: new clip
            self._buf.clear()
        self._buf.append((t_ms, deg))
        while self._buf and self._buf[0][0] < t_ms - self.seconds * 1000.0:
            self._buf.popleft()

    def box(self, frame: np.ndarray, style: Style) -> tuple[int, int, int, int]:
        h, w = frame.shape[:2]
        bw = int(min(w * 0.42, 340 * style.unit))
        bh = int(min(h * 0.22, 150 * style.unit))
        if self.corner == "left":
            return style.pad, h - bh - style.pad, style.pad + bw, h - style.pad
        return w - bw - style.pad, h - bh - style.pad, w - style.pad, h - style.pad

    def place(self, frame: np.ndarray, style: Style, pose: PoseFrame) -> None:
        """Keep the plot off the person: use the bottom corner with fewer landmarks in it."""
        if pose.image_xy is None:
            return

        def inside(corner: str) -> int:
            self.corner = corner
            return landmarks_in(pose, self.box(frame, style))

        current = self.corner
        other = "left" if current == "right" else "right"
        n_current, n_other = inside(current), inside(other)
        self.corner = other if n_other + 2 < n_current else current  # hysteresis: no flicker

    def annotate(self, frame: np.ndarray, style: Style) -> None:
        x0, y0, x1, y1 = self.box(frame, style)
        darken(frame, x0, y0, x1, y1)
        lh = text_height(style, PLOT_TEXT)
        put_text(
            frame,
            f"hip angle, last {self.seconds:.0f} s",
            (x0 + style.pad // 2, y0 + lh + style.pad // 2),
            style,
            scale=PLOT_TEXT,
            colour=GREY,
        )
        py0, py1 = y0 + lh + style.pad, y1 - style.pad // 2
        if not self._buf:
            return
        data = np.array(self._buf, dtype=float)
        t, v = data[:, 0], data[:, 1]
        finite = np.isfinite(v)
        lo, hi = (-20.0, 80.0)
        if finite.any():
            lo = min(lo, float(np.nanmin(v[finite])) - 5)
            hi = max(hi, float(np.nanmax(v[finite])) + 5)
        t_end = t[-1]
        t0 = t_end - self.seconds * 1000.0
        label_w = text_width("+90°", style, PLOT_TEXT) + style.pad
        x1 -= label_w  # the scale's labels get a column of their own, clear of the curve

        def ypix(val: float) -> int:
            return int(py1 - (val - lo) / (hi - lo) * (py1 - py0))

        # the scale: a line at 0° (thigh in line with the trunk) and every 30°, labelled at the
        # right edge, flexion above and extension below
        for deg in range(math.ceil(lo / 30.0) * 30, int(hi) + 1, 30):
            y = ypix(float(deg))
            if not py0 + lh // 2 <= y <= py1:
                continue
            cv2.line(frame, (x0, y), (x1, y), GREY if deg == 0 else DIM_GRID, 1, cv2.LINE_AA)
            label = f"{deg:+d}°" if deg else "0°"
            tw = text_width(label, style, PLOT_TEXT)
            tone = GREY if deg == 0 else FLEXION if deg > 0 else EXTENSION
            base = min(y + lh // 2, y1 - 2)  # inside the box at its bottom
            put_text(frame, label, (x1 + label_w - tw - style.pad // 2, base), style,
                     scale=PLOT_TEXT, colour=tone)  # fmt: skip
        xs = (x0 + (t - t0) / (self.seconds * 1000.0) * (x1 - x0)).astype(np.int32)
        ys = np.zeros(len(v), dtype=np.int32)
        ys[finite] = (py1 - (v[finite] - lo) / (hi - lo) * (py1 - py0)).astype(np.int32)
        # draw finite runs as polylines, broken where the angle is unknown
        edges = np.flatnonzero(np.diff(np.concatenate(([0], finite.astype(np.int8), [0]))))
        runs = [
            np.stack([xs[a:b], ys[a:b]], axis=1).reshape(-1, 1, 2)
            for a, b in zip(edges[::2], edges[1::2], strict=True)
            if b - a >= 2
        ]
        if runs:
            cv2.polylines(frame, runs, False, WHITE, max(1, style.thick), cv2.LINE_AA)
        if finite[-1]:
            colour = FLEXION if v[-1] >= 0 else EXTENSION
            cv2.circle(frame, (int(xs[-1]), int(ys[-1])), style.line + 1, colour, -1, cv2.LINE_AA)


class Overlay:
    """Composes the annotators; one verb: ``annotate(frame, pose, result) -> frame`` (in place)."""

    def __init__(self, *, plot_seconds: float = 6.0, show_plot: bool = True) -> None:
        self.skeleton = SkeletonAnnotator()
        self.hip = HipAngleAnnotator()
        self.panel = PanelAnnotator()
        self.cue = CueAnnotator()
        self.plot = AnglePlotAnnotator(plot_seconds)
        self.show_plot = show_plot
        self._style: Style | None = None
        self._style_wh: tuple[int, int] = (0, 0)

    def reset(self) -> None:
        self.plot.reset()
        self.panel.corner = None

    def style_for(self, frame: np.ndarray) -> Style:
        h, w = frame.shape[:2]
        if self._style is None or self._style_wh != (w, h):
            self._style, self._style_wh = Style.for_frame(w, h), (w, h)
        return self._style

    def annotate(self, frame: np.ndarray, pose: PoseFrame, result: FrameResult) -> np.ndarray:
        style = self.style_for(frame)
        self.panel.place(frame, style, pose)  # on the frame as filmed, before anything is drawn
        side = shown_side(result)
        angle = shown_angle(result, side)
        self.plot.push(result.t_ms, angle)
        self.skeleton.annotate(frame, pose, result, style, side)
        self.hip.annotate(frame, pose, result, style, side, angle)
        self.panel.annotate(frame, result, style)
        if self.show_plot:
            self.plot.place(frame, style, pose)
            self.plot.annotate(frame, style)
        self.cue.annotate(frame, result, style, self.panel.span(frame, style))
        return frame
