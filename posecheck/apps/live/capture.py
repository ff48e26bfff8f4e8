"""The capture thread: reads a frame source on its own and hands the newest frame to the loop.

Why a thread with a one-slot handoff: inference is usually slower than a camera at some moment
(a hiccup, a busy core). A queue would then fill and the coach would talk about the past; a single
slot that each new frame overwrites keeps feedback on the body as it is now. Frames overwritten
before the loop took them are counted as dropped, never queued.

Timestamps come from the capture clock (`time.monotonic` when the frame arrived), on one session
timeline that keeps running across reconnects, so the core sees strictly increasing times.

A live source (camera, stream) that fails or ends is reopened with back-off; the session
decides when to give up. A file replay ends the capture at its last frame. With `lossless=True`
(a file replayed as fast as the loop can go) the thread waits for the loop to take each frame.
"""

from __future__ import annotations

import contextlib
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

import numpy as np

from posecheck.errors import SourceError


class FrameSourceLike(Protocol):
    """What the grabber needs of `posecheck.inputs.sources.FrameSource`."""

    is_live: bool

    def __iter__(self) -> Iterator[object]: ...


@dataclass(frozen=True)
class CapturedFrame:
    """One frame as the loop receives it."""

    seq: int  # 0-based count of frames captured in this session (across reconnects)
    image: np.ndarray
    capture_s: float  # time.monotonic() when the frame arrived from the source
    timestamp_ms: float  # session clock: capture time since the session started (strictly rising)
    source_index: int  # the source's own frame index (restarts after a reconnect)
    source_timestamp_ms: float  # the source's own timestamp (file PTS / source clock)
    dropped_before: int  # frames overwritten in the slot since the previous take


class CaptureState(str, Enum):
    CONNECTING = "connecting"
    RUNNING = "running"
    RECONNECTING = "reconnecting"
    ENDED = "ended"  # a file reached its end, or the grabber was stopped
    FAILED = "failed"  # could not open the source at all


@dataclass
class CaptureStats:
    captured: int = 0
    taken: int = 0
    dropped: int = 0
    reconnects: int = 0
    disconnects: int = 0


@dataclass
class Backoff:
    """Exponential back-off between reconnect attempts (seconds)."""

    initial: float = 0.25
    factor: float = 2.0
    maximum: float = 4.0
    _next: float = field(default=0.0, init=False)

    def reset(self) -> None:
        self._next = 0.0

    def next_delay(self) -> float:
        if self._next == 0.0:
            self._next = self.initial
        else:
            self._next = min(self._next * self.factor, self.maximum)
        return self._next


class FrameGrabber:
    """Owns the source; runs in its own thread; the loop calls `take()` for the newest frame.

    Args:
        opener: opens (or reopens) the source; raises `SourceError` if it cannot.
        lossless: wait for the loop to take each frame instead of overwriting (file replays
            without --realtime, so a file gives exactly the frames `analyse` sees).
        reconnect: reopen a live source that fails or ends (with `backoff`).
        source_clock: stamp frames with the source's own timestamps (file PTS) instead of the
            capture clock; right for a lossless file replay, whose capture times only reflect
            how fast the loop ran.
        clock: `time.monotonic`, replaceable in tests.
    """

    def __init__(
        self,
        opener: Callable[[], FrameSourceLike],
        *,
        lossless: bool = False,
        reconnect: bool = True,
        backoff: Backoff | None = None,
        source_clock: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._opener = opener
        self._lossless = lossless
        self._reconnect = reconnect
        self._backoff = backoff or Backoff()
        self._clock = clock
        self._source_clock = source_clock
        self._cond = threading.Condition()
        self._slot: CapturedFrame | None = None
        self._dropped_since_take = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._source: FrameSourceLike | None = None
        self.state = CaptureState.CONNECTING
        self.stats = CaptureStats()
        self.error: str | None = None  # last source error (for the on-screen message)
        self.t0: float | None = None  # session clock origin
        self.disconnected_since: float | None = None
        self._last_ts = -1.0
        self._seq = 0
        self._intervals: deque[float] = deque(maxlen=15)  # recent capture-to-capture gaps (s)
        self._last_capture_s: float | None = None

    # -- control ---------------------------------------------------------------------------------
    def open_first(self) -> FrameSourceLike:
        """Open the source in the caller's thread so a bad source fails the command at once."""
        self._source = self._opener()
        self.t0 = self._clock()
        self.state = CaptureState.RUNNING
        return self._source

    def start(self) -> FrameGrabber:
        if self._source is None:
            self.open_first()
        self._thread = threading.Thread(target=self._run, name="posecheck-capture", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
        self._close_source()
        if self.state not in (CaptureState.FAILED,):
            self.state = CaptureState.ENDED

    @property
    def source(self) -> FrameSourceLike | None:
        return self._source

    @property
    def ended(self) -> bool:
        """True once no further frame will come (file finished or stopped) and the slot is empty."""
        with self._cond:
            return self.state in (CaptureState.ENDED, CaptureState.FAILED) and self._slot is None

    def take(self, timeout: float | None = None,
             fresher_within: float = 0.0) -> CapturedFrame | None:
        """The newest frame not yet taken, waiting up to `timeout` s; None if none arrived.

        `fresher_within`: when the newest frame is already old and the source's next frame is
        due within this fraction of a frame period, wait for that one instead (the old one then
        counts as dropped). Why: a loop that finishes just before a frame arrives would
        otherwise spend a whole inference on a picture nearly one frame period old; waiting a
        few ms shows a fresh one. Still one slot: nothing is ever queued. Ignored for a
        lossless replay.
        """
        with self._cond:
            if self._slot is None and timeout:
                self._cond.wait_for(
                    lambda: self._slot is not None
                    or self.state in (CaptureState.ENDED, CaptureState.FAILED),
                    timeout,
                )
            if self._slot is not None and fresher_within > 0 and not self._lossless:
                self._wait_for_fresher(self._slot, fresher_within)
            frame, self._slot = self._slot, None
            if frame is not None:
                frame = _with_dropped(frame, self._dropped_since_take)
                self._dropped_since_take = 0
                self.stats.taken += 1
                self._cond.notify_all()
            return frame

    def _wait_for_fresher(self, old: CapturedFrame, within: float) -> None:
        """(Lock held.) Wait for the frame after `old` if due within `within` frame periods."""
        if len(self._intervals) < 3 or self.state is not CaptureState.RUNNING:
            return
        period = statistics.median(self._intervals)
        due_in = old.capture_s + period - self._clock()
        if not 0.0 < due_in <= within * period:
            return
        slack = min(0.25 * period, 0.005)  # capture jitter: the next frame may be a bit late
        self._cond.wait_for(
            lambda: self._slot is not old
            or self.state in (CaptureState.ENDED, CaptureState.FAILED),
            due_in + slack,
        )
        if self._slot is None:  # stopped meanwhile: the old frame is still the newest
            self._slot = old

    # -- thread ----------------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            source = self._source
            if source is None:
                if not self._reopen():
                    break
                continue
            failure: str | None = None
            try:
                for item in source:
                    if self._stop.is_set():
                        return
                    self._publish(item)
                    if self.state is not CaptureState.RUNNING:
                        self.state = CaptureState.RUNNING
                        self.disconnected_since = None
                        self._backoff.reset()
                failure = "the source stopped sending frames"
            except SourceError as exc:
                failure = str(exc)
            except Exception as exc:  # a driver error must not kill the thread silently
                failure = f"{type(exc).__name__}: {exc}"
            if self._stop.is_set():
                return
            live = bool(getattr(source, "is_live", False))
            self._close_source()
            if not (live and self._reconnect):
                with self._cond:
                    self.state = CaptureState.ENDED
                    self._cond.notify_all()
                return
            self.error = failure
            self._last_capture_s = None  # the gap across a reconnect is no frame period
            self.stats.disconnects += 1
            self.disconnected_since = self._clock()
            self.state = CaptureState.RECONNECTING
        with self._cond:
            if self.state is not CaptureState.FAILED:
                self.state = CaptureState.ENDED
            self._cond.notify_all()

    def _reopen(self) -> bool:
        """Wait the back-off delay, then try to reopen; False when stopping."""
        delay = self._backoff.next_delay()
        if self._stop.wait(delay):
            return False
        try:
            self._source = self._opener()
        except SourceError as exc:
            self.error = str(exc)
            return True
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            return True
        self.stats.reconnects += 1
        return True

    def _publish(self, item: object) -> None:
        if self._lossless:  # a file read ahead: its frame is "captured" when the slot frees
            with self._cond:
                self._cond.wait_for(lambda: self._slot is None or self._stop.is_set())
        now = self._clock()
        assert self.t0 is not None
        source_ts = float(getattr(item, "timestamp_ms", (now - self.t0) * 1000.0))
        ts = source_ts if self._source_clock else (now - self.t0) * 1000.0
        if ts <= self._last_ts:  # coarse clocks: keep the timeline strictly increasing
            ts = self._last_ts + 0.001
        self._last_ts = ts
        frame = CapturedFrame(
            seq=self._seq,
            image=item.image,  # type: ignore[attr-defined]
            capture_s=now,
            timestamp_ms=ts,
            source_index=int(getattr(item, "index", self._seq)),
            source_timestamp_ms=source_ts,
            dropped_before=0,
        )
        self._seq += 1
        with self._cond:
            if self._last_capture_s is not None:
                self._intervals.append(now - self._last_capture_s)
            self._last_capture_s = now
            if self._slot is not None:
                self._dropped_since_take += 1
                self.stats.dropped += 1
            self._slot = frame
            self.stats.captured += 1
            self._cond.notify_all()

    def _close_source(self) -> None:
        source, self._source = self._source, None
        close = getattr(source, "close", None)
        if callable(close):
            with contextlib.suppress(Exception):
                close()


def _with_dropped(frame: CapturedFrame, dropped: int) -> CapturedFrame:
    if dropped == frame.dropped_before:
        return frame
    return CapturedFrame(
        frame.seq, frame.image, frame.capture_s, frame.timestamp_ms, frame.source_index,
        frame.source_timestamp_ms, dropped,
    )
