"""Analyse a recorded video: decode -> pose -> core -> overlay -> encode, as one call.

`analyse_video(path, exercise=...)` returns a `SessionReport` and writes nothing unless `out_dir`
is given. The stages overlap: the source decodes in its own thread, the pose model runs here,
the core and the timeline run in a `_CoreStage` thread (its Python runs while the model's native
call has released the GIL, so on two cores it costs the model nothing), and the overlay +
encoder run in a `VideoSink` thread, each joined by a small bounded queue so memory stays flat
however long the video (no frame is kept after it is written).

Ctrl-C or SIGTERM stops the run cleanly: what was processed is still reported, the timeline and
the plot are written, and the video file is finalised (the report says `interrupted`).
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from posecheck.apps.analyse.guess import guess_exercise
from posecheck.apps.analyse.video import (
    BACKGROUND_NICENESS,
    VideoSink,
    _QueueStage,
    opencv_single_threaded,
)
from posecheck.core.landmarks import PoseFrame
from posecheck.errors import OutputError, PosecheckError, ResultsNotWritten, SourceError
from posecheck.inputs.input_checks import InputStats, degraded_input_warnings
from posecheck.outputs.outdir import (  # prepare_out_dir: re-exported
    out_dir_for_run,
    prepare_out_dir,
)
from posecheck.outputs.report import (
    AngleTrace,
    SessionReport,
    TimelineWriter,
    prefetch_plotting,
    write_angle_plot,
)

ProgressFn = Callable[[int, "int | None"], None]

VIDEO_NAME = "annotated.mp4"
REPORT_NAME = "report.json"
TIMELINE_NAME = "timeline.csv"
PLOT_NAME = "angle.png"
HTML_NAME = "report.html"


class NoPersonError(SourceError):
    """No person was found in any analysed frame of the source."""


@contextlib.contextmanager
def sigterm_as_interrupt(signalled: threading.Event | None = None) -> Iterator[None]:
    """Within the block, SIGTERM raises KeyboardInterrupt (main thread only) like Ctrl-C.

    With `signalled`, SIGTERM and Ctrl-C also set that event: Python drops an exception raised
    while a finaliser runs ("Exception ignored in ... __del__", e.g. a mediapipe image freed on
    the main thread), so a loop that must stop checks the event too.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        if signalled is not None:
            signalled.set()
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except (ValueError, OSError):
        yield
        return
    previous_int = None
    if signalled is not None and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        previous_int = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        if previous_int is not None:
            signal.signal(signal.SIGINT, previous_int)


__all__ = ["analyse_video", "prepare_out_dir"]  # prepare_out_dir lives in posecheck.outputs.outdir


def _rich_progress(total: int | None, label: str) -> tuple[ProgressFn, Callable[[], None]]:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[fps]:>5.1f} fps"),
        TimeRemainingColumn(),
        transient=True,
        console=Console(stderr=True),
    )
    task = bar.add_task(label, total=total, fps=0.0)
    bar.start()
    t0 = time.perf_counter()

    def update(done: int, tot: int | None) -> None:
        dt = time.perf_counter() - t0
        bar.update(task, completed=done, total=tot, fps=done / dt if dt > 0 else 0.0)

    return update, bar.stop


# ---------------------------------------------------------------- the pipeline


def analyse_video(
    path: str | Path,
    exercise: str | None = None,
    *,
    model: str | Path = "full",
    out_dir: str | Path | None = None,
    write_video: bool = True,
    write_html: bool = True,
    stride: int = 1,
    progress: bool | ProgressFn = False,
    orientation: str | int = "auto",
    stop: threading.Event | None = None,
    source: Any | None = None,
    estimator: Any | None = None,
    hold_s: float | None = None,
    rep_target: int | None = None,
) -> SessionReport:
    """Analyse one recorded video and return its `SessionReport`.

    Args:
        path: the video file (any spec `posecheck.inputs.sources.open_source` accepts).
        exercise: a profile name; None guesses it (the report marks it `exercise_auto_detected`).
        model: pose model bundle name ("lite", "full", "heavy") or a .task path.
        out_dir: when given, writes report.json, timeline.csv, angle.png and (with
            `write_video`) annotated.mp4 there, and (with `write_html`) report.html, the
            review page built from those files. Nothing is written without it.
        stride: analyse every Nth frame (timestamps stay the source's).
        progress: True for a rich progress bar on the terminal, or a callback(done, total).
        stop: an optional event another thread sets to end the run early (reported as
            interrupted, outputs still finalised).
        source, estimator: stand-ins for the frame source and the pose estimator (tests,
            benchmarks, synthetic streams); `path` then only names the source in the report.
        hold_s: the hold at the top to time against, overriding the profile's (0 = none), as
            a physiotherapist prescribes it. rep_target: the reps prescribed (reported).

    Raises:
        ProfileError: unknown exercise. SourceError: missing/corrupt/empty/non-video input.
        NoPersonError: nobody found in any frame. OutputError: `out_dir` not writable.
        ModelError: the model bundle cannot be loaded.
    """
    from posecheck.core.analyzer import SessionAnalyzer
    from posecheck.core.profiles import PROFILES, get_profile

    if stride < 1:
        raise PosecheckError(f"stride must be >= 1, got {stride}")
    profile = get_profile(exercise) if exercise is not None else None  # ProfileError early
    check_prescription(hold_s, rep_target)
    source_name = str(path)

    with contextlib.ExitStack() as stack:
        # made now (OutputError before any work), removed again if the run fails while empty
        out = stack.enter_context(out_dir_for_run(out_dir)) if out_dir is not None else None
        if out is not None:
            prefetch_plotting()
        stack.enter_context(opencv_single_threaded())
        if source is None:
            from posecheck.inputs.sources import open_source

            source = open_source(path, stride=stride)
        stack.enter_context(source)
        fps, total = source.fps, source.frame_count

        scores: dict[str, float] = {}
        if profile is None:
            if estimator is not None:
                raise PosecheckError("auto-detection needs the real source: give an exercise")
            name, scores = guess_exercise(path, model=model, fps=fps, total=total)
            profile = get_profile(name)
        profile = prescribed(profile, hold_s)
        analyzer = SessionAnalyzer(profile)
        if estimator is None:
            from posecheck.pose import PoseEstimator

            estimator = stack.enter_context(PoseEstimator(model, orientation=orientation))
        model_name = str(getattr(estimator, "model_name", model))

        run = _Run(analyzer)
        run.period_ms = 1000.0 / fps * stride if fps else None
        signalled = threading.Event()
        with sigterm_as_interrupt(signalled):
            try:
                _process(
                    run,
                    source,
                    estimator,
                    out,
                    write_video,
                    fps,
                    stride,
                    total,
                    source_name,
                    progress,
                    stop,
                    signalled,
                )
            except KeyboardInterrupt:
                run.interrupted = True
            finally:
                run.close_outputs()
            if signalled.is_set():  # the interrupt itself may have been swallowed
                run.interrupted = True

        if run.frames == 0 and not run.interrupted:
            raise SourceError(f"no frames could be decoded from {source_name}")
        frame_ms = 1000.0 / fps * stride if fps else 0.0
        duration_s = (run.t_last - run.t_first + frame_ms) / 1000.0 if run.frames else 0.0
        report = SessionReport.from_summary(
            analyzer.summary(),
            exercise=profile.name,
            exercise_auto_detected=exercise is None,
            model=model_name,
            source=source_name,
            fps=fps,
            duration_s=duration_s,
            stride=stride,
            processing_fps=run.frames / run.elapsed if run.elapsed > 0 else None,
            interrupted=run.interrupted,
            outputs=run.outputs,
            exercise_scores=scores,
            rep_target=rep_target,
            hold_target_s=float(profile.hold_target_s),
            warnings=tuple(degraded_input_warnings(
                run.input_stats, getattr(source, "frame_wh", None), scores,
                {name: str(p.kind) for name, p in PROFILES.items()},
            )),
            frames_skipped=int(getattr(source, "frames_skipped", 0) or 0),
        )
        if out is not None:
            if write_html and run.frames:
                run.outputs["html"] = str(out / HTML_NAME)
            report = _write_report_files(out, run, report)
            if "report" not in run.outputs:  # the page is built from report.json: none without
                run.outputs.pop("html", None)
            if "html" in run.outputs:
                from posecheck.outputs.review import write_review_page

                try:  # built from the files just written
                    write_review_page(out, page_name=HTML_NAME)
                except (OutputError, OSError) as exc:
                    run.write_errors.append(_write_error(out / HTML_NAME, exc))
    if report.frames_with_pose == 0 and run.frames > 0:
        raise NoPersonError(f"no person found in any of the {run.frames} frames of {source_name}")
    if run.write_errors:
        raise ResultsNotWritten(not_written_message(run.write_errors), report)
    return report


MAX_HOLD_S = 600.0


def check_prescription(hold_s: float | None, rep_target: int | None) -> None:
    """Refuse a hold outside 0-600 s or a rep target below 1, before any work (one line)."""
    if hold_s is not None and not (math.isfinite(hold_s) and 0 <= hold_s <= MAX_HOLD_S):
        raise PosecheckError(f"hold must be 0-{MAX_HOLD_S:g} s, got {hold_s:g}")
    if rep_target is not None and rep_target < 1:
        raise PosecheckError(f"rep target must be at least 1, got {rep_target}")


def prescribed(profile: Any, hold_s: float | None) -> Any:
    """The profile with a prescribed hold at the top (seconds; 0 = none), else unchanged."""
    return profile if hold_s is None else replace(profile, hold_target_s=float(hold_s))


def not_written_message(errors: list[str]) -> str:
    """The first failure in full, then the other files by name: one line however many failed."""
    first, rest = errors[0], errors[1:]
    if not rest:
        return first
    names = [Path(e.removeprefix("cannot write ").split(": ", 1)[0]).name for e in rest]
    return f"{first}; not written either: {', '.join(names)}"


def _write_report_files(out: Path, run: _Run, report: SessionReport) -> SessionReport:
    """angle.png, then report.json (listing what was written). A file that cannot be written
    is recorded in `run.write_errors`, never raised here: the results must reach the caller."""
    with sigterm_as_interrupt():  # a second Ctrl-C must not lose the report
        try:
            if run.trace is not None:
                try:
                    write_angle_plot(out / PLOT_NAME, run.trace, report)
                    run.outputs["plot"] = str(out / PLOT_NAME)
                except (OutputError, OSError) as exc:
                    run.write_errors.append(_write_error(out / PLOT_NAME, exc))
        except KeyboardInterrupt:
            report = replace(report, interrupted=True)
        finally:
            path = out / REPORT_NAME
            outputs = {**run.outputs, "report": str(path)}
            report = replace(report, outputs=outputs)
            try:
                report.write_json(path)
                run.outputs["report"] = str(path)
            except (OutputError, OSError) as exc:
                run.write_errors.append(_write_error(path, exc))
                report = replace(report, outputs=dict(run.outputs))
    return report


class _CoreStage(_QueueStage):
    """Core + per-frame outputs in a background thread, fed (image, pose) pairs in order.

    The analyzer, timeline, trace and sink are touched only by this thread until `close()` has
    drained the queue; an error there is raised on the next `put()` or on `close()`.
    """

    niceness = BACKGROUND_NICENESS  # ~0.25 ms of Python a frame: never worth delaying the model

    def __init__(self, analyzer: Any, timeline: TimelineWriter | None,
                 trace: AngleTrace | None, sink: VideoSink | None, queue_size: int = 4) -> None:
        self.analyzer, self.timeline, self.trace, self.sink = analyzer, timeline, trace, sink
        self.sink_error: str | None = None
        super().__init__("posecheck-core", queue_size)

    def _handle(self, image: np.ndarray, pose: PoseFrame) -> None:
        result = self.analyzer.update(pose)
        if self.timeline is not None:
            self.timeline.write(result)
        if self.trace is not None:
            self.trace.add(result)
        if self.sink is not None and self.sink_error is None:
            try:
                self.sink.put(image, pose, result)
            except (OutputError, OSError) as exc:  # a full disk ends the video, not the count
                self.sink_error = _write_error(self.sink.path, exc)

    def put(self, image: np.ndarray, pose: PoseFrame) -> None:
        self._put(image, pose)

    def close(self) -> None:
        """Process what is queued, then stop (safe to call twice)."""
        self._stop()
        self._raise_pending()


class _Run:
    """The state of one pass: counters and the open outputs (closed however the pass ends)."""

    def __init__(self, analyzer: Any) -> None:
        self.analyzer = analyzer
        self.frames = 0
        self.interrupted = False
        self.t_first = self.t_last = math.nan
        self.elapsed = 0.0
        self.timeline: TimelineWriter | None = None
        self.trace: AngleTrace | None = None
        self.sink: VideoSink | None = None
        self.stage: _CoreStage | None = None
        self.stop_bar: Callable[[], None] | None = None
        self.outputs: dict[str, str] = {}
        self.write_errors: list[str] = []  # files that could not be written, one line each
        self.input_stats = InputStats()  # for the degraded-input warnings
        self.period_ms: float | None = None  # the source's frame period times the stride

    def close_outputs(self) -> None:
        if self.stop_bar is not None:
            self.stop_bar()
        if self.stage is not None:
            try:
                self.stage.close()  # the core catches up on the frames already read
            except KeyboardInterrupt:
                self.interrupted = True
                self.stage.close()
        if self.timeline is not None:
            self.timeline.close()
            if self.timeline.error is None:
                self.outputs["timeline"] = str(self.timeline.path)
            else:
                self.write_errors.append(self.timeline.error)
        if self.sink is not None:
            error = self.stage.sink_error if self.stage is not None else None
            try:
                self.sink.close()  # flushes the queue and finalises the file
            except KeyboardInterrupt:
                self.interrupted = True
                self.sink.close()
            except (OutputError, OSError) as exc:
                error = error or _write_error(self.sink.path, exc)
            if error is not None:
                self.write_errors.append(error)
            elif self.sink.frames:
                self.outputs["video"] = str(self.sink.path)


def _write_error(path: Path, exc: BaseException) -> str:
    """`cannot write PATH: reason`, one line, whatever raised it."""
    if isinstance(exc, OutputError):
        text = str(exc)
        return text if str(path) in text else f"cannot write {path}: {text}"
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return f"cannot write {path}: {reason}"


def _process(
    run: _Run,
    source: Any,
    estimator: Any,
    out: Path | None,
    write_video: bool,
    fps: float | None,
    stride: int,
    total: int | None,
    source_name: str,
    progress: bool | ProgressFn,
    stop: threading.Event | None,
    signalled: threading.Event,
) -> None:
    """The frame loop: decode (source thread) -> pose -> core -> outputs (sink thread)."""
    if out is not None:
        run.timeline = TimelineWriter(out / TIMELINE_NAME)
        run.trace = AngleTrace()
        if write_video:
            from posecheck.outputs.overlay import Overlay

            run.sink = VideoSink(out / VIDEO_NAME, (fps or 30.0) / stride, overlay=Overlay())
    update: ProgressFn | None = None
    if progress is True:
        update, run.stop_bar = _rich_progress(total, Path(source_name).name)
    elif callable(progress):
        update = progress
    stage = run.stage = _CoreStage(run.analyzer, run.timeline, run.trace, run.sink)
    if hasattr(estimator, "prepare") and hasattr(source, "prepare"):
        source.prepare = estimator.prepare  # rotation + colour conversion in the decode thread
    t0 = time.perf_counter()
    try:
        for frame in source:
            prepared = getattr(frame, "prepared", None)
            if prepared is None:
                pose = estimator.detect(frame.image, frame.timestamp_ms, frame.index)
            else:
                pose = estimator.detect(frame.image, frame.timestamp_ms, frame.index, prepared)
            stage.put(frame.image, pose)
            run.input_stats.add(frame.timestamp_ms, run.period_ms, bool(pose.present),
                                int(getattr(pose, "num_people", 0) or 0))
            run.frames += 1
            if run.frames == 1:
                run.t_first = frame.timestamp_ms
            run.t_last = frame.timestamp_ms
            if update is not None:
                update(run.frames, total)
            if (stop is not None and stop.is_set()) or signalled.is_set():
                run.interrupted = True
                break
        stage.close()  # the last frames' core and outputs are part of the pass
    finally:
        run.elapsed = time.perf_counter() - t0
