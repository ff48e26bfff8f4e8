"""What a live session takes and gives: its settings, frame timings and latency, the finished
sets and the outcome, each set's files (written with analyse's writers), headless progress lines.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
import sys
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TextIO

import numpy as np

from posecheck.apps.analyse import PLOT_NAME, REPORT_NAME, TIMELINE_NAME
from posecheck.apps.live.hud import (
    CANVAS_WH,
)
from posecheck.core.landmarks import PoseFrame
from posecheck.core.results import EventKind, FrameResult, SetSummary
from posecheck.outputs.report import (
    AngleTrace,
    SessionReport,
    TimelineWriter,
    write_angle_plot,
)


class Estimator(Protocol):
    def detect(self, image_bgr: np.ndarray, timestamp_ms: float, index: int) -> PoseFrame: ...


class Analyzer(Protocol):
    def update(self, pose: PoseFrame) -> FrameResult: ...

    def summary(self) -> SetSummary: ...

    def reset(self) -> None: ...


@dataclass
class LiveSettings:
    """What the person chose on the command line (minus the source and the model)."""

    exercise: str = "glute_bridge"
    exercises: tuple[str, ...] = ("glute_bridge",)  # the 'e' key cycles through these
    out_dir: Path | None = None
    record_dir: Path | None = None
    countdown_s: float = 0.0
    mirror: bool = False
    fullscreen: bool = False
    reconnect_timeout_s: float = 30.0
    summary_s: float = 0.0  # how long the summary screen waits for a key (0 = not shown)
    max_seconds: float | None = None
    source_name: str = ""
    source_fps: float | None = None
    model_name: str = ""
    rep_target: int | None = None  # prescribed reps (--reps), carried into each set's report
    canvas_wh: tuple[int, int] = CANVAS_WH
    progress_every_s: float = 10.0
    # Pick-up policy: when the newest frame is old and the next is due within this fraction of
    # a frame period, wait for it (see FrameGrabber.take). 0 = always take the newest at once.
    fresher_within: float = 0.5


@dataclass
class FrameTiming:
    """Per shown frame: how old the picture was when drawn, and what it cost."""

    seq: int
    age_ms: float  # capture -> overlay drawn
    infer_ms: float
    loop_ms: float  # whole iteration: take -> shown
    dropped_before: int
    wait_ms: float = 0.0  # capture -> taken by the loop (time spent in the slot)
    core_ms: float = 0.0  # analyzer, timeline, coach
    draw_ms: float = 0.0  # overlay + panel (= overlay_ms + hud_ms)
    overlay_ms: float = 0.0  # skeleton, hip arc, plot on the video frame
    hud_ms: float = 0.0  # the window picture: video fitted into the canvas, the panel
    show_ms: float = 0.0  # display.show (imshow: hands the canvas to the GUI)
    pump_ms: float = 0.0  # key polls after the show (waitKey: the GUI paints in there)
    shown_age_ms: float = 0.0  # capture -> first GUI pump after the show returned
    capture_s: float = 0.0  # the frame's capture time (monotonic clock)


TIMINGS_KEPT = 36_000  # 20 min at 30 fps: a long session's memory stays flat


@dataclass
class LatencyStats:
    timings: deque[FrameTiming] = field(default_factory=lambda: deque(maxlen=TIMINGS_KEPT))
    captured: int = 0
    dropped: int = 0
    disconnects: int = 0
    reconnects: int = 0

    def add(self, timing: FrameTiming) -> None:
        self.timings.append(timing)

    def summary(self) -> dict[str, float | int]:
        ages = [t.age_ms for t in self.timings]
        infer = [t.infer_ms for t in self.timings]
        out: dict[str, float | int] = {
            "frames_shown": len(self.timings),
            "frames_captured": self.captured,
            "frames_dropped": self.dropped,
            "disconnects": self.disconnects,
            "reconnects": self.reconnects,
        }
        if ages:
            out["age_ms_median"] = statistics.median(ages)
            out["age_ms_p95"] = percentile(ages, 95)
            out["infer_ms_median"] = statistics.median(infer)
            out["infer_ms_p95"] = percentile(infer, 95)
            for part in ("wait", "core", "draw", "overlay", "hud", "show", "pump", "loop",
                         "shown_age"):
                out[f"{part}_ms_median"] = statistics.median(
                    getattr(t, f"{part}_ms") for t in self.timings)
        return out


def _scaled(pose: PoseFrame, scale: float) -> PoseFrame:
    """The pose in display pixels (the video shown `scale` times its size)."""
    if pose.image_xy is None or scale == 1.0:
        return pose
    return dataclasses.replace(pose, image_xy=pose.image_xy * scale,
                               frame_wh=(round(pose.frame_wh[0] * scale),
                                         round(pose.frame_wh[1] * scale)))


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q)) if values else math.nan


@dataclass
class SetRecord:
    """A finished set: its summary and the files written for it."""

    number: int
    exercise: str
    summary: SetSummary
    report: SessionReport
    outputs: dict[str, str]


@dataclass
class LiveOutcome:
    reason: str
    interrupted: bool
    sets: list[SetRecord]
    latency: LatencyStats
    snapshots: list[Path]
    spoken: list[str]

    @property
    def report(self) -> SessionReport | None:
        """The last set's report (the one written as report.json)."""
        return self.sets[-1].report if self.sets else None

    @property
    def rep_count(self) -> int:
        return self.report.rep_count if self.report is not None else 0


class ProgressPrinter:
    """Headless progress lines: one per event worth knowing, plus a status line now and then."""

    def __init__(self, stream: TextIO | None = None, every_s: float = 10.0) -> None:
        self.stream = stream or sys.stdout
        self.every_s = every_s
        self._last_status_ms = 0.0

    def line(self, t_ms: float | None, msg: str) -> None:
        stamp = "" if t_ms is None else f"[{_clock_text(t_ms)}] "
        print(f"{stamp}{msg}", file=self.stream, flush=True)

    def on_result(self, result: FrameResult) -> None:
        for ev in result.events:
            if ev.kind is EventKind.REP_COMPLETED:
                self.line(result.t_ms, f"rep {result.rep_count}")
            elif ev.kind is EventKind.PARTIAL_REP:
                self.line(result.t_ms, f"partial rep ({result.partial_count})")
            elif ev.kind is EventKind.HOLD_TARGET_MET:
                self.line(result.t_ms, f"hold target {result.hold_target_s:g}s met")
            elif ev.kind is EventKind.CUE and ev.message:
                self.line(result.t_ms, f"cue: {ev.message}")
        if self.every_s and result.t_ms - self._last_status_ms >= self.every_s * 1000:
            self._last_status_ms = result.t_ms
            pose = "pose" if result.pose_present else "no pose"
            self.line(result.t_ms, f"status: {result.rep_count} reps, {result.phase}, {pose}")


def _clock_text(t_ms: float) -> str:
    s = max(0.0, t_ms) / 1000.0
    return f"{int(s // 60)}:{s % 60:04.1f}"


class _SetOutputs:
    """The files of one set, written with analyse's writers: timeline.csv streams as we go."""

    def __init__(self, out_dir: Path | None, suffix: str) -> None:
        self.out_dir = out_dir
        self.suffix = suffix
        self.trace = AngleTrace()
        self.timeline: TimelineWriter | None = None
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            self.timeline = TimelineWriter(out_dir / _suffixed(TIMELINE_NAME, suffix))

    def add(self, result: FrameResult) -> None:
        self.trace.add(result)
        if self.timeline is not None:
            self.timeline.write(result)

    def finish(self, report: SessionReport) -> tuple[SessionReport, dict[str, str]]:
        outputs: dict[str, str] = {}
        if self.timeline is not None:
            self.timeline.close()
            outputs["timeline"] = str(self.timeline.path)
        if self.out_dir is None:
            return report, outputs
        plot = self.out_dir / _suffixed(PLOT_NAME, self.suffix)
        write_angle_plot(plot, self.trace, report)
        outputs["plot"] = str(plot)
        path = self.out_dir / _suffixed(REPORT_NAME, self.suffix)
        outputs["report"] = str(path)
        report = _replace(report, outputs={**report.outputs, **outputs})
        report.write_json(path)
        return report, outputs


def _suffixed(name: str, suffix: str) -> str:
    stem, dot, ext = name.rpartition(".")
    return f"{stem}{suffix}{dot}{ext}"


def _replace(report: SessionReport, **changes: Any) -> SessionReport:
    return dataclasses.replace(report, **changes)
