"""The live coaching loop: newest frame -> pose -> core -> overlay + panel -> window, speech, files.

One loop serves a webcam, a network stream and a replayed file alike; only the `FrameGrabber`'s
opener differs. Inference always runs on the newest captured frame (see `capture.py`), on the
main thread, which also owns the window (Qt wants that).

The session ends on q/Esc, window close, Ctrl-C, end of a file, `max_seconds`, or a camera that
stayed away longer than `reconnect_timeout_s`; whichever it is, the report, timeline, angle plot
and (with a record dir) the raw and annotated videos are written, through the same writers
`analyse` uses. A camera that drops out mid-set is reopened with back-off while the set's
count stays where it was.
"""

from __future__ import annotations

import itertools
import math
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from posecheck.apps.live.capture import CapturedFrame, CaptureState, FrameGrabber
from posecheck.apps.live.hints import HintTracker, pose_hint
from posecheck.apps.live.hud import (
    AMBER,
    RED,
    HudState,
    SummaryState,
    decorate,
    draw_hud,
    draw_summary,
    place_video,
)
from posecheck.apps.live.keys import KEY_HELP, Action, KeySource, action_for
from posecheck.apps.live.recorder import RAW_VIDEO_NAME, VIDEO_NAME, VideoRecorder
from posecheck.apps.live.records import (
    Analyzer,
    Estimator,
    FrameTiming,
    LatencyStats,
    LiveOutcome,
    LiveSettings,
    ProgressPrinter,
    SetRecord,
    _replace,
    _scaled,
    _SetOutputs,
)
from posecheck.apps.live.speech import Coach, Speaker
from posecheck.apps.live.window import Display
from posecheck.core.landmarks import PoseFrame
from posecheck.core.results import FrameResult
from posecheck.outputs.overlay import (
    AnglePlotAnnotator,
    HipAngleAnnotator,
    Overlay,
    SkeletonAnnotator,
    Style,
)
from posecheck.outputs.report import (
    SessionReport,
    shown_angle,
    shown_side,
)


class LiveSession:
    """Runs the loop once. Every collaborator is injected so tests drive the real loop."""

    def __init__(
        self,
        settings: LiveSettings,
        *,
        grabber: FrameGrabber,
        estimator: Estimator,
        analyzer_factory: Callable[[str], Analyzer],
        display: Display,
        keys: KeySource,
        speaker: Speaker | None = None,
        printer: ProgressPrinter | None = None,
        clock: Callable[[], float] = time.monotonic,
        on_frame: Callable[[LiveSession, CapturedFrame, FrameResult | None], None] | None = None,
    ) -> None:
        self.settings = settings
        self.grabber = grabber
        self.estimator = estimator
        self.analyzer_factory = analyzer_factory
        self.display = display
        self.keys = keys
        self.speaker = speaker
        self.coach = Coach(speaker)
        self.printer = printer
        self.clock = clock
        self.on_frame = on_frame
        self.exercise = settings.exercise
        self.analyzer = analyzer_factory(self.exercise)
        self.paused = False
        self.mirror = settings.mirror
        self.fullscreen = settings.fullscreen
        self.set_number = 1
        self.sets: list[SetRecord] = []
        self.latency = LatencyStats()
        self.snapshots: list[Path] = []
        self.recordings: list[Path] = []
        self.last_result: FrameResult | None = None
        self.last_canvas: np.ndarray | None = None
        self._last_drawn: tuple[np.ndarray, PoseFrame, FrameResult | None] | None = None
        self.frames_fed = 0
        self.hints = HintTracker()
        self.actions: list[Action] = []
        self._plot = AnglePlotAnnotator(6.0)
        self._skeleton = SkeletonAnnotator()
        self._hip = HipAngleAnnotator()
        self._style: Style | None = None
        self._style_wh: tuple[int, int] = (0, 0)
        self._set_out = self._new_set_outputs()
        self._set_started_ms: float | None = None
        self._set_last_ms: float | None = None
        self._set_wall0 = clock()
        self._countdown_end: float | None = None
        self._stop_reason: str | None = None
        # set by a SIGTERM/Ctrl-C handler: the loop stops even if Python swallowed the
        # KeyboardInterrupt (raised while a finaliser ran)
        self.interrupt_requested = threading.Event()
        self._status: tuple[str, tuple[int, int, int]] | None = None
        self._was_reconnecting = False
        self._raw_rec: VideoRecorder | None = None
        self._ann_rec: VideoRecorder | None = None
        self._started = clock()
        self._headless = bool(getattr(display, "headless", False))

    # -- public -------------------------------------------------------------------------------
    def request_stop(self, reason: str) -> None:
        self._stop_reason = reason

    def run(self) -> LiveOutcome:
        interrupted = False
        reason = "stopped"
        if self.fullscreen:
            self.display.set_fullscreen(True)
        if self.settings.countdown_s > 0:
            self._countdown_end = self.clock() + self.settings.countdown_s
        if self.printer is not None:
            self.printer.line(None, f"live: {self.settings.source_name or 'source'} -> "
                                    f"{self.exercise} (Ctrl-C to stop)")
        try:
            reason = self._loop()
        except KeyboardInterrupt:
            interrupted = True
            reason = "interrupted (Ctrl-C)"
        finally:
            self._finish_io()
        try:
            self._close_set(interrupted=interrupted)
            self._write_review_pages()
            if not interrupted:
                self._show_summary(reason)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            self.display.close()
            if self.speaker is not None:
                self.speaker.close(drain_s=0.0 if interrupted else 2.0)
        spoken = list(self.speaker.spoken) if self.speaker is not None else []
        return LiveOutcome(reason, interrupted, self.sets, self.latency, self.snapshots, spoken)

    # -- the loop -----------------------------------------------------------------------------
    def _loop(self) -> str:
        grabber = self.grabber
        while True:
            if self.interrupt_requested.is_set():
                raise KeyboardInterrupt
            if self._stop_reason is not None:
                return self._stop_reason
            if self.display.closed():  # before showing again: imshow would reopen it
                return "window closed"
            if self.settings.max_seconds is not None and (
                self.clock() - self._started >= self.settings.max_seconds
            ):
                return "time limit reached"
            frame = grabber.take(timeout=0.05, fresher_within=self.settings.fresher_within)
            if frame is None:
                if grabber.ended:
                    ended = grabber.state is CaptureState.ENDED
                    return "end of video" if ended else "source failed"
                if grabber.state is CaptureState.RECONNECTING:
                    since = grabber.disconnected_since or self.clock()
                    waited = self.clock() - since
                    if waited > self.settings.reconnect_timeout_s:
                        return f"camera lost ({grabber.error or 'no frames'})"
                    self._on_disconnected(waited)
                self._poll_keys(1)  # keep the window responsive while waiting
                continue
            if self._was_reconnecting:
                self._was_reconnecting = False
                self._status = None
                self._say_status("reconnected", frame.timestamp_ms)
            # Paint at once: painting while the model ran on the next frame (helper thread)
            # made the painted picture older here, the two share 2 cores (benchmark notes).
            self._pump(self._process(frame))

    def _pump(self, timing: FrameTiming) -> None:
        """Run the GUI loop: it paints the picture just shown and reports keys pressed since."""
        t_pump = time.perf_counter()
        for i in range(5):  # every key pressed meanwhile, not one per frame
            pressed = self._poll_keys(1)
            if i == 0:  # the GUI painted the canvas in this first pump
                timing.shown_age_ms = (self.clock() - timing.capture_s) * 1000.0
            if not pressed or self._stop_reason is not None:
                break
        timing.pump_ms = (time.perf_counter() - t_pump) * 1000.0

    def _process(self, frame: CapturedFrame) -> FrameTiming:
        t_take = self.clock()
        image = cv2.flip(frame.image, 1) if self.mirror else frame.image
        t0 = time.perf_counter()
        pose = self.estimator.detect(image, frame.timestamp_ms, frame.seq)
        t1 = time.perf_counter()
        infer_ms = (t1 - t0) * 1000.0
        counting = not self.paused and not self._in_countdown()
        result: FrameResult | None = None
        if counting:
            result = self.analyzer.update(pose)
            self.frames_fed += 1
            if self._set_started_ms is None:
                self._set_started_ms = frame.timestamp_ms
            self._set_last_ms = frame.timestamp_ms
            self.last_result = result
            self._set_out.add(result)
            self.coach.update(result)
            if self.printer is not None:
                self.printer.on_result(result)
        hint = self.hints.update(pose_hint(pose))
        if result is not None:
            self._plot.push(result.t_ms, shown_angle(result, shown_side(result)))
        self._last_drawn = (image, pose, result)
        t2 = time.perf_counter()
        canvas: np.ndarray | None = None
        if self._headless:  # nobody would see it: the CPU goes to the model (drawn on demand)
            t3 = t2
        else:  # the overlay is drawn once, at display size, straight into the window picture
            canvas, view, (_, _, scale) = place_video(image, self.settings.canvas_wh)
            self._annotate(view, _scaled(pose, scale), result)
            t3 = time.perf_counter()
            decorate(canvas, self._hud_state(hint))
        age_ms = (self.clock() - frame.capture_s) * 1000.0
        t4 = time.perf_counter()
        if canvas is not None:
            self.display.show(canvas)
            self.last_canvas = canvas
        t5 = time.perf_counter()
        timing = FrameTiming(
            frame.seq, age_ms, infer_ms, (self.clock() - t_take) * 1000.0, frame.dropped_before,
            wait_ms=(t_take - frame.capture_s) * 1000.0, core_ms=(t2 - t1) * 1000.0,
            draw_ms=(t4 - t2) * 1000.0, overlay_ms=(t3 - t2) * 1000.0,
            hud_ms=(t4 - t3) * 1000.0, show_ms=(t5 - t4) * 1000.0, capture_s=frame.capture_s,
        )
        self.latency.add(timing)
        self._record(frame, image, pose, result)
        if self.on_frame is not None:
            self.on_frame(self, frame, result)
        return timing

    @property
    def last_video(self) -> np.ndarray | None:
        """The last frame with its overlay, at the frame's own size (drawn on demand)."""
        if self._last_drawn is None:
            return None
        image, pose, result = self._last_drawn
        video = image.copy()
        self._annotate(video, pose, result)
        return video

    def _annotate(self, video: np.ndarray, pose: PoseFrame, result: FrameResult | None) -> None:
        """Skeleton, hip angle and plot onto `video` in place (`pose` in its pixels)."""
        h, w = video.shape[:2]
        if self._style is None or self._style_wh != (w, h):
            self._style, self._style_wh = Style.for_frame(w, h), (w, h)
        style = self._style
        if result is None:  # paused or counting down: the skeleton, in grey, without a side
            self._skeleton.annotate(video, pose, self.last_result, style, None)  # type: ignore[arg-type]
            return
        side = shown_side(result)
        angle = shown_angle(result, side)
        self._skeleton.annotate(video, pose, result, style, side)
        self._hip.annotate(video, pose, result, style, side, angle)
        self._plot.annotate(video, style)

    def _hud_state(self, hint: str | None) -> HudState:
        status, colour = self._status if self._status else (None, AMBER)
        if self.paused:
            status, colour = "PAUSED - press space to go on", AMBER
        countdown = None
        if self._in_countdown():
            assert self._countdown_end is not None
            countdown = max(1, math.ceil(self._countdown_end - self.clock()))
        lat = list(itertools.islice(reversed(self.latency.timings), 30))
        info = ""
        if lat:
            info = (f"infer {statistics.median(t.infer_ms for t in lat):.0f} ms   "
                    f"age {statistics.median(t.age_ms for t in lat):.0f} ms   "
                    f"dropped {self.grabber.stats.dropped}")
        return HudState(
            exercise=self.exercise,
            result=self.last_result,
            status=status,
            status_colour=colour,
            countdown=countdown,
            hint=hint if not self.paused else None,
            set_number=self.set_number,
            mirror=self.mirror,
            info=info,
            key_help=KEY_HELP,
        )

    def _in_countdown(self) -> bool:
        return self._countdown_end is not None and self.clock() < self._countdown_end

    def _on_disconnected(self, waited: float) -> None:
        """Say the camera is gone (once), and keep the window alive with the count on it."""
        err = self.grabber.error or "no frames"
        if not self._was_reconnecting:
            self._was_reconnecting = True
            t = self._set_last_ms or 0.0
            if self.printer is not None:
                self.printer.line(t, f"camera lost ({err}); reconnecting")
            self.coach.say("camera lost", t, ttl_s=2.0)
        self._status = (f"Camera lost - reconnecting ({waited:.0f}s)", RED)
        video = None if self._headless else self.last_video
        if video is not None:
            canvas = draw_hud(video, self._hud_state(None), self.settings.canvas_wh)
            self.display.show(canvas)
            self.last_canvas = canvas

    def _say_status(self, msg: str, t_ms: float) -> None:
        if self.printer is not None:
            self.printer.line(t_ms, msg)

    # -- keys ---------------------------------------------------------------------------------
    def _poll_keys(self, wait_ms: int) -> bool:
        action = action_for(self.keys.poll(wait_ms))
        if action is None:
            return False
        self.handle(action)
        return True

    def handle(self, action: Action) -> None:
        """Apply one key action (public so a test or a remote can drive the session)."""
        self.actions.append(action)
        t = self._set_last_ms or 0.0
        if action is Action.QUIT:
            self.request_stop("quit")
        elif action is Action.PAUSE:
            self.paused = not self.paused
            self._say_status("paused" if self.paused else "resumed", t)
        elif action is Action.RESET:
            if self.frames_fed == 0:  # nothing counted yet: still the same (empty) set
                return
            self._close_set(interrupted=False)
            self._start_set(self.exercise)
            self._say_status(f"set {self.set_number}: counting from 0", t)
            self.coach.say("new set", t, ttl_s=2.0)
        elif action is Action.NEXT_EXERCISE:
            names = list(self.settings.exercises) or [self.exercise]
            nxt = names[(names.index(self.exercise) + 1) % len(names)] if (
                self.exercise in names) else names[0]
            if self.frames_fed:
                self._close_set(interrupted=False)
                self._start_set(nxt)
            else:  # switch before anything was counted: same set number, new exercise
                self.analyzer = self.analyzer_factory(nxt)
                self.exercise = nxt
            self._say_status(f"exercise: {nxt}", t)
            self.coach.say(nxt.replace("_", " "), t, ttl_s=3.0)
        elif action is Action.MIRROR:
            self.mirror = not self.mirror
        elif action is Action.FULLSCREEN:
            self.fullscreen = not self.fullscreen
            self.display.set_fullscreen(self.fullscreen)
        elif action is Action.SNAPSHOT:
            self._snapshot()

    def _snapshot(self) -> None:
        video = self.last_video if self.last_canvas is None else None
        if video is not None:  # headless: draw it now
            self.last_canvas = draw_hud(video, self._hud_state(None), self.settings.canvas_wh)
        if self.last_canvas is None:
            return
        folder = self.settings.out_dir or Path.cwd()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"snapshot_{len(self.snapshots) + 1:03d}.png"
        if cv2.imwrite(str(path), self.last_canvas):
            self.snapshots.append(path)
            self._say_status(f"snapshot {path}", self._set_last_ms or 0.0)

    # -- sets and outputs ---------------------------------------------------------------------
    def _new_set_outputs(self) -> _SetOutputs:
        return _SetOutputs(self.settings.out_dir, "")

    def _start_set(self, exercise: str) -> None:
        if exercise != self.exercise:
            self.analyzer = self.analyzer_factory(exercise)
            self.exercise = exercise
        else:
            self.analyzer.reset()
        self.set_number += 1
        self.last_result = None
        self.frames_fed = 0
        self.coach.reset()
        self._plot.reset()
        self._set_started_ms = None
        self._set_last_ms = None
        self._set_wall0 = self.clock()
        self._rename_previous_last()
        self._set_out = self._new_set_outputs()

    def _close_set(self, *, interrupted: bool) -> None:
        """Finish the current set: its summary becomes a report, written beside the others.

        Sets before the last keep their files under a `_setN` suffix; the last set's files are
        report.json / timeline.csv / angle.png, as `analyse` names them.
        """
        out = self._set_out
        if self.frames_fed == 0 and self.sets:
            if out.timeline is not None:  # an empty set after a reset: leave no files
                out.timeline.close()
                out.timeline.path.unlink(missing_ok=True)
            return
        summary = self.analyzer.summary()
        duration_s = 0.0
        if self._set_started_ms is not None and self._set_last_ms is not None:
            duration_s = (self._set_last_ms - self._set_started_ms) / 1000.0
        wall = max(1e-6, self.clock() - self._set_wall0)
        report = SessionReport.from_summary(
            summary,
            exercise_auto_detected=False,
            model=self.settings.model_name,
            source=self.settings.source_name,
            fps=self.settings.source_fps,
            duration_s=duration_s,
            processing_fps=self.frames_fed / wall,
            interrupted=interrupted,
            rep_target=self.settings.rep_target,
        )
        report, outputs = out.finish(report)
        self.sets.append(SetRecord(self.set_number, self.exercise, summary, report, outputs))
        self._set_out = _SetOutputs(None, "")  # closed: later adds go nowhere until a new set

    def _rename_previous_last(self) -> None:
        """Move the finished set's files to `_setN` names before a new set takes the plain ones."""
        if not self.sets or self.settings.out_dir is None:
            return
        prev = self.sets[-1]
        new_outputs: dict[str, str] = {}
        for kind, path_text in prev.outputs.items():
            path = Path(path_text)
            if not path.exists():
                continue
            target = path.with_name(f"{path.stem}_set{prev.number}{path.suffix}")
            if target == path:
                continue
            path.replace(target)
            new_outputs[kind] = str(target)
        if new_outputs:
            prev.outputs.update(new_outputs)
            report_path = new_outputs.get("report")
            prev.report = _replace(prev.report, outputs=dict(prev.outputs))
            if report_path:
                prev.report.write_json(report_path)

    # -- recording ----------------------------------------------------------------------------
    def _record(self, frame: CapturedFrame, image: np.ndarray, pose: PoseFrame,
                result: FrameResult | None) -> None:
        rec_dir = self.settings.record_dir
        if rec_dir is None:
            return
        fps = self.settings.source_fps or 30.0
        if self._raw_rec is None:
            self._raw_rec = VideoRecorder(rec_dir / RAW_VIDEO_NAME, fps)
            self._ann_rec = VideoRecorder(rec_dir / VIDEO_NAME, fps, overlay=Overlay())
        self._raw_rec.write(frame.image, frame.timestamp_ms)
        assert self._ann_rec is not None
        # analyse's overlay, drawn in the recorder's thread; a frame not analysed (paused,
        # counting down) is recorded as it was seen.
        self._ann_rec.write(image, frame.timestamp_ms, pose if result is not None else None,
                            result)

    def _write_review_pages(self) -> None:
        """With --record: each set's review page beside its report, on the annotated video."""
        rec = self._ann_rec
        if rec is None or not rec.frames_written or rec.t0_ms is None:
            return
        from posecheck.outputs.review import write_review_page

        for record in self.sets:
            report, timeline = record.outputs.get("report"), record.outputs.get("timeline")
            if not report or not timeline:
                continue
            page = Path(report).with_suffix(".html")  # report.html, report_set1.html
            write_review_page(page.parent, report_name=Path(report).name,
                              timeline_name=Path(timeline).name, page_name=page.name,
                              video=rec.path, video_offset_s=rec.t0_ms / 1000.0)
            record.outputs["html"] = str(page)

    def _finish_io(self) -> None:
        for rec in (self._raw_rec, self._ann_rec):
            if rec is not None:
                rec.close()
                if rec.frames_written:
                    self.recordings.append(rec.path)
        self.latency.captured = self.grabber.stats.captured
        self.latency.dropped = self.grabber.stats.dropped
        self.latency.disconnects = self.grabber.stats.disconnects
        self.latency.reconnects = self.grabber.stats.reconnects
        self.grabber.stop()

    def _show_summary(self, reason: str) -> None:
        sets = self.sets
        last = sets[-1].report if sets else None
        if self.printer is not None:
            for rec in sets:
                self.printer.line(None, f"set {rec.number}: {rec.report.summary_line()}")
            self.printer.line(None, f"session ended: {reason}")
        if last is None or self.settings.summary_s <= 0 or getattr(self.display, "headless", False):
            return
        holds = last.holds
        state = SummaryState(
            exercise=last.exercise,
            reps=last.rep_count,
            partials=last.partial_count,
            holds=len(holds),
            holds_met=sum(1 for h in holds if h.met),
            best_hold_s=max((h.duration_s for h in holds), default=0.0),
            cues=tuple(g.text() for g in last.cue_groups()),  # each remark once, worst first
            reason=reason,
            sets=len(sets),
            lines=(f"all sets: {' + '.join(str(s.report.rep_count) for s in sets)} reps",)
            if len(sets) > 1 else (),
        )
        canvas = draw_summary(state, self.settings.canvas_wh, background=self.last_canvas)
        self.display.show(canvas)
        self.last_canvas = canvas
        deadline = self.clock() + self.settings.summary_s
        while self.clock() < deadline and not self.display.closed():
            if self.keys.poll(50) is not None:
                break


__all__ = ["LatencyStats", "LiveOutcome", "LiveSession", "LiveSettings", "ProgressPrinter"]
