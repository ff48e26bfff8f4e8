"""Wires the real parts of a live session together: source, model, core, window, speech, files.

`run_live(LiveConfig(...))` is what `posecheck live` calls; tests call it too (with scripted keys
and a chosen display) so they exercise the same wiring as the command line.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from posecheck.apps.live.capture import Backoff, FrameGrabber
from posecheck.apps.live.keys import CvKeySource, KeySource, NoKeys
from posecheck.apps.live.records import LiveOutcome, LiveSettings, ProgressPrinter
from posecheck.apps.live.session import LiveSession
from posecheck.apps.live.speech import Speaker, make_speech
from posecheck.apps.live.window import CvWindow, Display, NoWindow, display_available


@dataclass
class LiveConfig:
    source: str = "0"
    exercise: str = "glute_bridge"
    model: str = "full"
    out_dir: Path | None = None
    record_dir: Path | None = None
    realtime: bool = False
    headless: bool | None = None  # None: headless when no display is available
    mute: bool = False
    speech_wav: Path | None = None
    countdown_s: float | None = None  # None: 3 s for a camera in a window, else 0
    mirror: bool = False
    fullscreen: bool = False
    reconnect_timeout_s: float = 30.0
    summary_s: float | None = None  # None: 8 s in a window, 0 headless
    max_seconds: float | None = None
    orientation: str = "auto"
    hold_s: float | None = None  # prescribed hold at the top (None: each exercise's own)
    rep_target: int | None = None  # prescribed reps, reported as done / target
    keys: KeySource | None = None  # injected by tests; default: the window's keys
    stream: TextIO | None = None  # progress lines (headless); default stdout
    backoff: Backoff = field(default_factory=Backoff)
    on_frame: Callable[..., None] | None = None
    on_session: Callable[[LiveSession], None] | None = None  # called once it is built
    wrap_estimator: Callable[[object], object] | None = None  # benchmarks: e.g. a slowed model
    fresher_within: float | None = None  # pick-up policy (LiveSettings); None: the default


def is_camera_spec(spec: str) -> bool:
    return spec.strip().isdigit() and not Path(spec).exists()


def exercise_names() -> tuple[str, ...]:
    from posecheck.core.profiles import PROFILES

    return tuple(PROFILES)


def make_analyzer(name: str, hold_s: float | None = None) -> object:
    """A fresh analyzer for `name`, timing holds against `hold_s` when one is prescribed."""
    from posecheck.apps.analyse import prescribed
    from posecheck.core.analyzer import SessionAnalyzer
    from posecheck.core.profiles import get_profile

    return SessionAnalyzer(prescribed(get_profile(name), hold_s))


def _opener(spec: str, realtime: bool) -> tuple[Callable[[], object], object]:
    """Open the source once now (so a bad one fails the command) and return a reopener."""
    from posecheck.inputs.sources import open_source

    def open_again() -> object:
        return open_source(spec, realtime=realtime, latest_only=False)

    first = open_again()
    handed: list[object] = [first]

    def opener() -> object:
        return handed.pop() if handed else open_again()

    return opener, first


def run_live(config: LiveConfig) -> LiveOutcome:
    """Open everything, run one live session, close everything; returns what happened.

    Every option is checked before the model loads or the camera opens (exercise, speech WAV,
    the --out and --record folders), and folders made for a session that then fails to start
    are removed again while still empty.
    """
    from posecheck.apps.analyse import check_prescription
    from posecheck.core.profiles import get_profile
    from posecheck.outputs.outdir import out_dir_for_run

    get_profile(config.exercise)  # ProfileError before anything opens
    check_prescription(config.hold_s, config.rep_target)
    speech_note = check_speech(config)
    with contextlib.ExitStack() as folders:  # OutputError before the camera opens
        if config.out_dir is not None:
            folders.enter_context(out_dir_for_run(config.out_dir))
        if config.record_dir is not None:
            folders.enter_context(out_dir_for_run(config.record_dir, "--record directory"))
        return _run_live(config, speech_note)


def _run_live(config: LiveConfig, speech_note: str | None) -> LiveOutcome:
    from posecheck.apps.analyse import sigterm_as_interrupt
    from posecheck.pose import PoseEstimator

    headless = config.headless if config.headless is not None else not display_available()
    # The model loads before the source opens: a camera or stream starts delivering at once,
    # and frames piling up while the model loads would only be dropped as stale.
    estimator = PoseEstimator(config.model, running_mode="video", orientation=config.orientation)
    display: Display | None = None
    speaker: Speaker | None = None
    grabber: FrameGrabber | None = None
    first: object | None = None
    try:
        from posecheck.inputs.sources import CameraSource, StreamSource

        opener, first = _opener(config.source, config.realtime)
        live_source = bool(getattr(first, "is_live", True))
        grabber = FrameGrabber(
            opener,  # type: ignore[arg-type]
            lossless=not live_source,  # a file at full speed: every frame, like analyse
            source_clock=not live_source,
            # Only a device or a stream can come back; a replayed file just ends.
            reconnect=isinstance(first, (CameraSource, StreamSource)),
            backoff=config.backoff,
        )
        if live_source:
            warm_up(estimator, config.source, first)
        grabber.open_first()
        camera = is_camera_spec(config.source)
        countdown = config.countdown_s
        if countdown is None:
            countdown = 3.0 if camera and not headless else 0.0
        summary_s = config.summary_s if config.summary_s is not None else (0.0 if headless else 8.0)
        settings = LiveSettings(
            exercise=config.exercise,
            exercises=_cycle_order(config.exercise),
            out_dir=config.out_dir,
            record_dir=config.record_dir,
            countdown_s=countdown,
            mirror=config.mirror,
            fullscreen=config.fullscreen,
            reconnect_timeout_s=config.reconnect_timeout_s,
            summary_s=summary_s,
            max_seconds=config.max_seconds,
            source_name=str(config.source),
            source_fps=getattr(first, "fps", None),
            model_name=str(getattr(estimator, "model_name", config.model)),
            rep_target=config.rep_target,
        )
        if config.fresher_within is not None:
            settings.fresher_within = config.fresher_within
        display = NoWindow() if headless else CvWindow(fullscreen=False)
        keys = config.keys or (NoKeys() if headless else CvKeySource())
        if not config.mute or config.speech_wav is not None:
            backend = make_speech(
                mute=config.mute, wav_path=config.speech_wav, on_failure=_note_once()
            )
            speaker = Speaker(backend)
        if speech_note is not None:
            _note(speech_note)
        printer = ProgressPrinter(config.stream or sys.stdout) if headless else None
        model = config.wrap_estimator(estimator) if config.wrap_estimator else estimator
        analyzers = functools.partial(make_analyzer, hold_s=config.hold_s)
        session = LiveSession(
            settings,
            grabber=grabber,
            estimator=model,  # type: ignore[arg-type]
            analyzer_factory=analyzers,  # type: ignore[arg-type]
            display=display,
            keys=keys,
            speaker=speaker,
            printer=printer,
            on_frame=config.on_frame,
        )
        if config.on_session is not None:
            config.on_session(session)
        grabber.start()
        with sigterm_as_interrupt(session.interrupt_requested):
            return session.run()
    finally:
        if grabber is not None:
            grabber.stop()
        if first is not None and (grabber is None or grabber.t0 is None):
            first.close()  # type: ignore[attr-defined]  # opened, never handed to the grabber
        estimator.close()
        if display is not None:
            display.close()


def check_speech(config: LiveConfig) -> str | None:
    """Why spoken cues will be off, as a note for the user; None when they will work.

    An asked-for `--speech-wav` that cannot be written (no espeak-ng) is an OutputError before
    anything opens: the file would silently never appear.
    """
    from posecheck.apps.live.speech import speech_off_reason
    from posecheck.errors import OutputError

    reason = speech_off_reason(mute=config.mute, wav_path=config.speech_wav)
    if reason is not None and config.speech_wav is not None:
        raise OutputError(reason)
    return reason


def _note(message: str) -> None:
    print(f"posecheck: note: {message}", file=sys.stderr, flush=True)


def _note_once() -> Callable[[str], None]:
    """A note printer that prints its first message only (the speech thread may fail again)."""
    said: list[str] = []

    def note(message: str) -> None:
        if not said:
            said.append(message)
            _note(message)

    return note


def warm_up(estimator: object, spec: str, source: object) -> None:
    """Run the model once before the first live frame arrives.

    Why: the first detection builds a landmarker per rotation and searches all four (about a
    second here); on a live source every frame of that second would be dropped as stale, and a
    replayed clip would lose its first rep. A file is warmed on its own first frame (read
    separately, so the replay itself starts untouched); a camera or stream on a grey frame.
    A file read frame by frame is not warmed: no frame can be dropped, and a tracker that has
    seen the first frame already would read every later one a little differently from
    `analyse`.
    """
    import numpy as np

    image = None
    from posecheck.inputs.sources import VideoFileSource

    if isinstance(source, VideoFileSource):
        import cv2

        cap = cv2.VideoCapture(str(source.path))
        ok, frame = cap.read()
        cap.release()
        if ok and frame is not None and frame.shape[:2][::-1] == tuple(source.frame_wh):
            image = frame
    if image is None:
        w, h = getattr(source, "frame_wh", (640, 480)) or (640, 480)
        image = np.full((max(h, 2), max(w, 2), 3), 128, np.uint8)
    estimator.detect(image, 0.0, 0)  # type: ignore[attr-defined]


def _cycle_order(first: str) -> tuple[str, ...]:
    """The 'e' key's order: the chosen exercise first, then the rest as the core lists them."""
    names = list(exercise_names())
    if first in names:
        names.remove(first)
    return (first, *names)


def default_out_dir() -> Path:
    return Path.cwd() / time.strftime("posecheck-live-%Y%m%d-%H%M%S")
