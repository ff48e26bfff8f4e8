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
import glob
import os
import queue
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

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
MAX_STALLED_READS = 8


def _check_file(path: Path) -> None:
    if not path.exists():
        raise SourceError(f"no such file: {path}")
    if path.is_dir():
        raise SourceError(f"is a directory, not a video: {path}")
    if not os.access(path, os.R_OK):
        raise SourceError(f"cannot read (permission denied): {path}")
    if path.stat().st_size == 0:
        raise SourceError(f"empty file (0 bytes): {path}")


class VideoFileSource(FrameSource):
    """A video file in any container OpenCV's FFmpeg backend reads.

    Args:
        path: the video file.
        stride: yield every `stride`-th frame (indices and timestamps stay those of the source).
        realtime: replay at the file's own pace (sleeping by the container clock), as a stand-in
            for a live source; then `is_live` is True and `latest_only` defaults to True.
        latest_only: keep only the newest frame when the consumer falls behind (default: realtime).
    """

    def __init__(self, path: str | Path, stride: int = 1, realtime: bool = False, *,
                 latest_only: bool | None = None) -> None:
        super().__init__(latest_only=realtime if latest_only is None else latest_only)
        if stride < 1:
            raise SourceError(f"stride must be >= 1, got {stride}")
        self.path = Path(path)
        self.stride = int(stride)
        self.realtime = bool(realtime)
        _check_file(self.path)
        if self.path.suffix.lower() in NON_VIDEO_SUFFIXES:
            raise SourceError(f"not a video file ({self.path.suffix}): {self.path}")
        cap = cv2.VideoCapture(str(self.path), cv2.CAP_FFMPEG)
        if not cap.isOpened():
            cap.release()
            raise SourceError(
                f"cannot open as a video (no frames, corrupt or unsupported format): {self.path}")
        self._cap = cap
        # Phone videos store a rotation: ask OpenCV to apply it, and do it ourselves if it cannot.
        cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
        self.rotation_meta = int(cap.get(cv2.CAP_PROP_ORIENTATION_META) or 0) % 360
        self._manual_rotation = (
            self.rotation_meta if cap.get(cv2.CAP_PROP_ORIENTATION_AUTO) != 1 else 0
        )
        fps = cap.get(cv2.CAP_PROP_FPS)
        self._fps = float(fps) if fps and np.isfinite(fps) and 0 < fps < 1000 else None
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self._container_frames = count if count > 0 else None
        ok, first = cap.read()
        if not ok or first is None or first.size == 0:
            cap.release()
            raise SourceError(f"video has no decodable frames (empty or corrupt): {self.path}")
        first = upright(first, self._manual_rotation)
        self._first: tuple[float, np.ndarray] | None = (
            float(cap.get(cv2.CAP_PROP_POS_MSEC)), first)
        self._wh = (int(first.shape[1]), int(first.shape[0]))
        self.clock = _MonotonicClock(self._fps)
        self.decoded = 0
        self.skipped = 0  # damaged frames read past (a failed read followed by a good one)
        self.ended_early = False
        self._unconfirmed = 0  # failed reads since the last good one
        self._stall = (-1.0, 0)  # (furthest position seen, failed reads without moving past it)

    @property
    def name(self) -> str:
        return str(self.path)

    @property
    def fps(self) -> float | None:
        return self._fps

    @property
    def frame_count(self) -> int | None:
        if self._container_frames is None:
            return None
        return (self._container_frames + self.stride - 1) // self.stride

    @property
    def container_frames(self) -> int | None:
        """Frames the container declares (before stride); may be wrong for damaged files."""
        return self._container_frames

    @property
    def frame_wh(self) -> tuple[int, int]:
        return self._wh

    @property
    def is_live(self) -> bool:
        return self.realtime

    def _produce(self, put: Callable[[Frame], bool]) -> None:
        cap = self._cap
        index = 0
        wall0: float | None = None
        t0 = 0.0
        while True:
            if self._first is not None:
                pos_ms, image = self._first
                self._first = None
            elif index % self.stride == 0:
                ok, image = cap.read()
                if not ok or image is None:
                    if not self._read_past(cap):
                        break
                    index += 1
                    continue
                self._good_read()
                image = upright(image, self._manual_rotation)
                pos_ms = float(cap.get(cv2.CAP_PROP_POS_MSEC))
            else:
                if not cap.grab():
                    if not self._read_past(cap):
                        break
                    index += 1
                    continue
                self._good_read()
                self.clock(index, float(cap.get(cv2.CAP_PROP_POS_MSEC)))
                self.decoded += 1
                index += 1
                continue
            t = self.clock(index, pos_ms)
            self.decoded += 1
            if self.realtime:
                now = time.monotonic()
                if wall0 is None:
                    wall0, t0 = now, t
                delay = wall0 + (t - t0) / 1000.0 - now
                if delay > 0:
                    time.sleep(delay)
            if not put(Frame(index=index, timestamp_ms=t, image=image)):
                return
            index += 1
        if (self._container_frames is not None
                and self.decoded + self.skipped < self._container_frames - 2):
            self.ended_early = True  # truncated or damaged: the header promised more

    def _good_read(self) -> None:
        self.skipped += self._unconfirmed  # the failed reads before this one were lost frames
        self._unconfirmed = 0

    def _read_past(self, cap: cv2.VideoCapture) -> bool:
        """After a failed read: go on while the container says more frames follow and reading
        still moves forward (a damaged frame), stop at the end or when stuck (truncated data).

        Why: the first failed read used to end the file: one corrupt frame silently cut the
        analysis short (58 of 232 frames, 1 rep of 5, exit 0).
        """
        if self._container_frames is None:
            return False
        self._unconfirmed += 1
        pos = float(cap.get(cv2.CAP_PROP_POS_FRAMES))
        furthest, stalled = self._stall
        self._stall = (pos, 0) if pos > furthest else (furthest, stalled + 1)
        return pos < self._container_frames and self._stall[1] < MAX_STALLED_READS

    @property
    def frames_skipped(self) -> int:
        """Frames the file declares but that could not be decoded (damaged or cut off)."""
        if not (self.skipped or self.ended_early) or self._container_frames is None:
            return self.skipped
        return max(self.skipped, self._container_frames - self.decoded)

    def _release(self) -> None:
        self._cap.release()


class _LiveCaptureSource(FrameSource):
    """Shared loop for cameras and streams: capture clock, stop when reads fail."""

    _cap: cv2.VideoCapture

    def __init__(self, *, latest_only: bool, stride: int = 1) -> None:
        super().__init__(latest_only=latest_only)
        if stride < 1:
            raise SourceError(f"stride must be >= 1, got {stride}")
        self.stride = int(stride)
        self._first: np.ndarray | None = None
        self._wh = (0, 0)
        self._fps: float | None = None

    def _probe(self, what: str) -> None:
        ok, image = self._cap.read()
        if not ok or image is None or image.size == 0:
            self._cap.release()
            raise SourceError(f"{what} opened but delivered no frame: {self.name}")
        self._first_wall = time.monotonic()
        self._first = image
        self._wh = (int(image.shape[1]), int(image.shape[0]))
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self._fps = float(fps) if fps and np.isfinite(fps) and 0 < fps < 1000 else None

    @property
    def fps(self) -> float | None:
        return self._fps

    @property
    def frame_count(self) -> int | None:
        return None

    @property
    def frame_wh(self) -> tuple[int, int]:
        return self._wh

    @property
    def is_live(self) -> bool:
        return True

    def _produce(self, put: Callable[[Frame], bool]) -> None:
        index = 0
        last = -1.0
        while True:
            if self._first is not None:
                image, wall = self._first, self._first_wall
                self._first = None
            elif index % self.stride == 0:
                ok, image = self._cap.read()
                wall = time.monotonic()
                if not ok or image is None:
                    return
            else:
                if not self._cap.grab():
                    return
                index += 1
                continue
            t = (wall - self._first_wall) * 1000.0
            if t <= last:
                t = last + 1e-3
            last = t
            if not put(Frame(index=index, timestamp_ms=t, image=image)):
                return
            index += 1

    def _release(self) -> None:
        self._cap.release()


class CameraSource(_LiveCaptureSource):
    """A local camera by index (V4L2 on Linux)."""

    def __init__(self, index: int = 0, *, latest_only: bool = True, stride: int = 1) -> None:
        super().__init__(latest_only=latest_only, stride=stride)
        self.index = int(index)
        api = cv2.CAP_V4L2 if os.name == "posix" and Path("/dev").exists() else cv2.CAP_ANY
        try:
            cap = cv2.VideoCapture(self.index, api)
        except cv2.error:
            cap = None
        if cap is None or not cap.isOpened():
            if cap is not None:
                cap.release()
            raise SourceError(f"camera {self.index} could not be opened (no such device or busy)")
        self._cap = cap
        self._probe("camera")

    @property
    def name(self) -> str:
        return f"camera:{self.index}"


class StreamSource(_LiveCaptureSource):
    """A network stream (RTSP, HTTP MJPEG, ...) through OpenCV's FFmpeg backend.

    Opening and each read are bounded by `timeout_s`, so a dead address fails instead of hanging.
    """

    def __init__(self, url: str, *, timeout_s: float = DEFAULT_STREAM_TIMEOUT_S,
                 latest_only: bool = True, stride: int = 1) -> None:
        super().__init__(latest_only=latest_only, stride=stride)
        self.url = url
        ms = int(max(0.1, timeout_s) * 1000)
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]
        try:
            cap = cv2.VideoCapture(url, cv2.CAP_FFMPEG, params)
        except cv2.error:
            cap = None
        if cap is None or not cap.isOpened():
            if cap is not None:
                cap.release()
            raise SourceError(f"cannot connect to stream (within {timeout_s:g} s): {url}")
        self._cap = cap
        self._probe("stream")

    @property
    def name(self) -> str:
        return self.url


def _natural_key(path: Path) -> list[object]:
    """Sort frame_2.png before frame_10.png."""
    import re

    return [int(part) if part.isdigit() else part.lower()
            for part in re.split(r"(\d+)", path.name)]


class ImageFolderSource(FrameSource):
    """Still images from a directory or a glob, in natural name order, at a nominal `fps`."""

    def __init__(self, dir_or_glob: str | Path, fps: float = 30.0, *, stride: int = 1) -> None:
        super().__init__(latest_only=False)
        if fps <= 0:
            raise SourceError(f"fps must be > 0, got {fps}")
        if stride < 1:
            raise SourceError(f"stride must be >= 1, got {stride}")
        self.spec = str(dir_or_glob)
        self.stride = int(stride)
        self._fps = float(fps)
        path = Path(dir_or_glob)
        if path.is_dir():
            candidates = [p for p in path.iterdir() if p.is_file()]
        elif glob.has_magic(self.spec):
            candidates = [Path(p) for p in glob.glob(self.spec) if Path(p).is_file()]
        elif path.is_file():
            candidates = [path]
        else:
            raise SourceError(f"no such file or directory: {self.spec}")
        self.paths = sorted((p for p in candidates if p.suffix.lower() in IMAGE_SUFFIXES),
                            key=_natural_key)
        if not self.paths:
            raise SourceError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in: {self.spec}")
        first = self._load(self.paths[0])
        self._wh = (int(first.shape[1]), int(first.shape[0]))

    @staticmethod
    def _load(path: Path) -> np.ndarray:
        if path.stat().st_size == 0:
            raise SourceError(f"empty image file (0 bytes): {path}")
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None or image.size == 0:
            raise SourceError(f"cannot decode image (corrupt or unsupported): {path}")
        return image

    @property
    def name(self) -> str:
        return self.spec

    @property
    def fps(self) -> float | None:
        return self._fps

    @property
    def frame_count(self) -> int | None:
        return (len(self.paths) + self.stride - 1) // self.stride

    @property
    def frame_wh(self) -> tuple[int, int]:
        return self._wh

    @property
    def is_live(self) -> bool:
        return False

    def _produce(self, put: Callable[[Frame], bool]) -> None:
        period = 1000.0 / self._fps
        for index in range(0, len(self.paths), self.stride):
            image = self._load(self.paths[index])
            if not put(Frame(index=index, timestamp_ms=index * period, image=image)):
                return


def _is_camera_spec(spec: str | int | Path) -> bool:
    if isinstance(spec, bool):
        return False
    if isinstance(spec, int):
        return True
    return isinstance(spec, str) and spec.strip().isdigit() and not Path(spec).exists()


def open_source(spec: str | int | Path, *, stride: int = 1, realtime: bool = False,
                latest_only: bool | None = None) -> FrameSource:
    """Open a frame source from a command-line style spec.

    "0" or an int -> camera; "scheme://..." -> network stream; a directory, a glob or an image
    file -> image folder; anything else -> video file. `latest_only` defaults to True for live
    sources (camera, stream, real-time replay) and False otherwise.
    """
    if _is_camera_spec(spec):
        return CameraSource(int(spec), latest_only=True if latest_only is None else latest_only,
                            stride=stride)
    text = str(spec)
    if "://" in text and not Path(text).exists():
        return StreamSource(text, latest_only=True if latest_only is None else latest_only,
                            stride=stride)
    path = Path(text)
    if path.is_dir() or (not path.exists() and glob.has_magic(text)):
        return ImageFolderSource(text, stride=stride)
    if path.suffix.lower() in IMAGE_SUFFIXES and path.exists():
        return ImageFolderSource(text, stride=stride)
    return VideoFileSource(path, stride=stride, realtime=realtime, latest_only=latest_only)
