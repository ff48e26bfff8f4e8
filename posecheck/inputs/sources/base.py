"""Frame sources: video files, cameras, streams and image folders as one iterator of `Frame`.

Every source decodes in a background thread so decoding overlaps inference. File sources hand
over every frame through a small bounded queue; live sources (camera, stream, or a file replayed
in real time) can keep only the newest frame (`latest_only`) so a slow consumer sees the present,
not a growing backlog; the frames skipped that way are counted in `dropped`.

Timestamps are in milliseconds and strictly increasing: the container clock for files (falling
back to index/fps where the container reports nothing useful), the capture clock
(`time.monotonic`, relative to the first frame) for live sources.

Every failure to open or read a source is a one-line `SourceError` that names the source.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import numpy as np

# Silence FFmpeg's own log lines ("moov atom not found", ...): our errors say it in one line.
# Read by OpenCV when its FFmpeg backend first opens something, so set before any capture.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

import cv2

from posecheck.errors import SourceError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
# Files that are certainly not videos; FFmpeg would probe them and fail with a vaguer message.
NON_VIDEO_SUFFIXES = frozenset({".txt", ".json", ".csv", ".npz", ".npy", ".md", ".toml", ".yaml",
                                ".yml", ".py", ".html", ".pdf", ".zip", ".task", ".tflite"})
DEFAULT_QUEUE_SIZE = 4
DEFAULT_STREAM_TIMEOUT_S = 10.0

_CLOCKWISE = {
    90: cv2.ROTATE_90_CLOCKWISE,
    180: cv2.ROTATE_180,
    270: cv2.ROTATE_90_COUNTERCLOCKWISE,
}


def _quiet_opencv() -> None:
    """Keep OpenCV's WARN lines (e.g. 'can't open camera by index') off stderr."""
    with contextlib.suppress(AttributeError, cv2.error):
        if cv2.utils.logging.getLogLevel() > cv2.utils.logging.LOG_LEVEL_ERROR:
            cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)


_quiet_opencv()


@dataclass(frozen=True)
class Frame:
    """One decoded frame.

    Attributes:
        index: frame index in the source, counting every frame (with a stride, indices skip).
        timestamp_ms: source clock in milliseconds, strictly increasing.
        image: BGR uint8 image (H, W, 3), upright (container rotation already applied).
        prepared: what the source's `prepare` hook made of the image in the decode thread
            (e.g. the pose model's input), or None.
    """

    index: int
    timestamp_ms: float
    image: np.ndarray
    prepared: object = field(default=None, compare=False, repr=False)


_END = object()


class _Reader:
    """Runs a producer in a daemon thread and hands its frames to the consumer.

    With `latest_only`, a one-slot mailbox replaces the queue: a new frame overwrites one the
    consumer has not taken yet, and that overwrite is counted as a drop.
    """

    def __init__(self, produce: Callable[[Callable[[Frame], bool]], None], *, latest_only: bool,
                 maxsize: int = DEFAULT_QUEUE_SIZE, name: str = "posecheck-decode") -> None:
        self._produce = produce
        self._latest_only = latest_only
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max(1, maxsize))
        self._slot: list[object] = []
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self.dropped = 0
        self._exit_lock = threading.Lock()
        self._exited = False
        self._release_on_exit: Callable[[], None] | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _put(self, item: object) -> bool:
        """Deliver an item; False once the consumer asked to stop."""
        if self._latest_only:
            with self._cond:
                if self._slot and self._slot[-1] is not _END and item is not _END:
                    self.dropped += 1
                    self._slot.clear()
                self._slot.append(item)
                self._cond.notify()
            return not self._stop.is_set()
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            self._produce(self._put)
        except BaseException as exc:  # handed to the consumer, raised there
            self._error = exc
        finally:
            with self._exit_lock:
                self._exited = True
                release, self._release_on_exit = self._release_on_exit, None
            if release is not None:
                release()
            if self._latest_only:
                with self._cond:
                    self._slot.append(_END)
                    self._cond.notify()
            else:
                while not self._stop.is_set():
                    try:
                        self._queue.put(_END, timeout=0.1)
                        break
                    except queue.Full:
                        continue

    def get(self) -> Frame | None:
        """The next frame, or None at the end. Re-raises an error from the producer."""
        if self._latest_only:
            with self._cond:
                while not self._slot:
                    self._cond.wait()
                item = self._slot.pop(0)
        else:
            item = self._queue.get()
        if item is _END:
            if self._error is not None:
                raise self._error
            return None
        return item  # type: ignore[return-value]

    def close(self, release: Callable[[], None]) -> None:
        """Stop the producer and call `release` once it no longer touches the capture.

        A producer stuck in a blocking read (a stalled stream) releases the capture itself when
        that read returns, instead of having it freed under its feet.
        """
        self._stop.set()
        with contextlib.suppress(queue.Empty):
            while True:
                self._queue.get_nowait()
        self._thread.join(timeout=5.0)
        with self._exit_lock:
            if not self._exited:
                self._release_on_exit = release
                return
        release()


class FrameSource(ABC):
    """A context manager and iterator of `Frame`s.

    Opening happens in the constructor, so a bad source fails at once with a `SourceError`.
    Iterate once; leaving the `with` block (or exhausting the iterator) releases the device/file.

    `prepare`, when set before iterating, runs on every frame's image in the decode thread and
    its result rides along as `Frame.prepared`: per-frame work the consumer would otherwise do
    on its own critical path (analyse sets it to the pose model's input preparation).
    """

    def __init__(self, *, latest_only: bool = False) -> None:
        self.latest_only = latest_only
        self.prepare: Callable[[np.ndarray], object] | None = None
        self._reader: _Reader | None = None
        self._closed = False
        self.frames_read = 0

    @property
    @abstractmethod
    def name(self) -> str:
        """Human-readable name (path, URL or camera index)."""

    @property
    @abstractmethod
    def fps(self) -> float | None:
        """Nominal frame rate, or None when unknown."""

    @property
    @abstractmethod
    def frame_count(self) -> int | None:
        """Frames this iteration will yield (after stride), or None for live/unknown."""

    @property
    @abstractmethod
    def frame_wh(self) -> tuple[int, int]:
        """(width, height) of the upright frames."""

    @property
    @abstractmethod
    def is_live(self) -> bool:
        """True for sources that run in real time (camera, stream, real-time replay)."""

    @property
    def dropped(self) -> int:
        """Frames discarded because the consumer was slower than a live source."""
        return self._reader.dropped if self._reader is not None else 0

    @abstractmethod
    def _produce(self, put: Callable[[Frame], bool]) -> None:
        """Decode frames and `put` them in order until the end or until `put` returns False."""

    def _release(self) -> None:  # noqa: B027  (optional hook)
        """Free the underlying capture."""

    # Frames (image and prepared input) the decode thread keeps a reference to after handing
    # them over: more than the queue holds plus the one being consumed, so the consumer is
    # normally done with a frame by the time this thread lets go of it.
    KEEP_PREPARED = DEFAULT_QUEUE_SIZE + 2

    def _produce_prepared(self, put: Callable[[Frame], bool]) -> None:
        """`_produce`, with `prepare` applied to each frame on its way out.

        The decode thread also holds each prepared frame until `KEEP_PREPARED` newer ones are
        out, so the last reference, and with it the freeing of the frame's buffers (the model
        input alone is ~0.1-0.3 ms to free at 432x768: a munmap), usually goes here rather than
        on the consumer's thread, which runs the model. Memory stays bounded (a few frames).
        """
        prepare = self.prepare
        if prepare is None:
            self._produce(put)
            return
        recent: deque[Frame] = deque(maxlen=self.KEEP_PREPARED)

        def put_prepared(frame: Frame) -> bool:
            ready = replace(frame, prepared=prepare(frame.image))
            recent.append(ready)  # lets go of the oldest one, on this thread
            return put(ready)

        self._produce(put_prepared)

    def __iter__(self) -> Iterator[Frame]:
        if self._closed:
            raise SourceError(f"{self.name}: source already closed")
        if self._reader is not None:
            raise SourceError(f"{self.name}: a source can be iterated only once")
        self._reader = _Reader(self._produce_prepared, latest_only=self.latest_only,
                               name=f"decode:{self.name}")
        try:
            while True:
                frame = self._reader.get()
                if frame is None:
                    return
                self.frames_read += 1
                yield frame
        finally:
            self.close()

    def close(self) -> None:
        """Stop decoding and release the file or device. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self._reader is not None:
            self._reader.close(self._release)
        else:
            self._release()

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


def rotate_clockwise(image: np.ndarray, degrees: int) -> np.ndarray:
    """Rotate an image clockwise by 0/90/180/270 degrees (other angles are not supported)."""
    code = _CLOCKWISE.get(int(degrees) % 360)
    return image if code is None else cv2.rotate(image, code)


def upright(image: np.ndarray, orientation_meta_deg: int) -> np.ndarray:
    """Rotate a stored frame by the container's rotation (CAP_PROP_ORIENTATION_META, clockwise)
    so it displays upright, as OpenCV's auto-orientation would."""
    return rotate_clockwise(image, orientation_meta_deg)


class _MonotonicClock:
    """Container timestamps made strictly increasing, with index/fps as the fallback."""

    def __init__(self, fps: float | None) -> None:
        self.period_ms = 1000.0 / fps if fps and fps > 0 else 1000.0 / 30.0
        self.last: float | None = None
        self.fallbacks = 0

    def __call__(self, index: int, container_ms: float) -> float:
        estimate = index * self.period_ms
        valid = np.isfinite(container_ms) and container_ms >= 0
        if index > 0 and container_ms == 0:
            valid = False  # container clock not available
        if valid and self.last is not None and container_ms <= self.last:
            valid = False  # repeated or backwards
        t = float(container_ms) if valid else estimate
        if not valid:
            self.fallbacks += 1
        if self.last is not None and t <= self.last:
            t = self.last + self.period_ms
        self.last = t
        return t


# Failed reads in a row, without the decoder's position moving, after which the rest of a
# file counts as lost: damaged frames move it on, truncated or zeroed data leaves it where it is.
