"""The annotated video's writers and the bounded-queue stage thread `analyse_video` runs them in.

`VideoSink` draws the overlay and encodes on its own thread (ffmpeg with x264 when available,
else OpenCV's writer); `opencv_single_threaded` and `lower_priority` keep these helpers from
taking CPU from the pose model, which the whole run waits for.
"""

from __future__ import annotations

import contextlib
import math
import os
import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from posecheck.core.landmarks import PoseFrame
from posecheck.core.results import FrameResult
from posecheck.errors import OutputError

_FOURCC_CHOICE: str | None = None


@contextlib.contextmanager
def _silenced_stderr() -> Iterator[None]:
    """FFmpeg prints encoder probing failures straight to fd 2; keep them off the user's screen."""
    try:
        fd = os.dup(2)
    except OSError:  # no stderr at all
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(fd, 2)
    finally:
        os.close(fd)


# The annotated video's encoder (thread and ffmpeg) and the core's thread run this many Linux
# nice levels below the process: on two cores they compete with the model's thread, and the
# model is what the whole run waits for. They keep up; they only yield when both want the CPU
# at once. Montage, paired runs: with video 73-74 -> 75-77 fps (model calls 11.7 -> 11.5 ms);
# the core's thread as well, without video 74.8-78.5 -> 77.7-79.7 fps.
BACKGROUND_NICENESS = 10


def lower_priority(pid_or_tid: int, by: int) -> None:
    """Give a child process or (Linux) a thread of ours a nice level `by` above this process's
    (at most 19; never higher priority than it has); where the platform has no such thing,
    leave it."""
    with contextlib.suppress(OSError, AttributeError):
        base = os.getpriority(os.PRIO_PROCESS, os.getpid())
        now = os.getpriority(os.PRIO_PROCESS, pid_or_tid)
        os.setpriority(os.PRIO_PROCESS, pid_or_tid, max(now, min(19, base + by)))


class FfmpegWriter:
    """H.264 through the system's ffmpeg (libx264), fed raw BGR frames on a pipe.

    The OpenCV wheels mediapipe pulls in cannot encode H.264 (no libx264), so where an ffmpeg
    binary with libx264 is installed this gives the browser-friendly, ~10x smaller file. The
    child runs in its own session so a terminal Ctrl-C reaches only us: we decide when the
    stream ends, and closing its stdin finalises the file.
    """

    def __init__(self, path: Path, fps: float, wh: tuple[int, int], ffmpeg: str) -> None:
        import subprocess

        w, h = wh
        # Frames go down the pipe as I420 when the size allows (OpenCV converts in ~0.5 ms, half
        # the bytes of BGR, and ffmpeg does no colour conversion): the encoder shares two cores
        # with the model, so its CPU time is the model's loss. ultrafast for the same reason.
        self._yuv = w % 2 == 0 and h % 2 == 0
        cmd = [
            ffmpeg, "-hide_banner", "-loglevel", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", "yuv420p" if self._yuv else "bgr24",
            "-s", f"{w}x{h}", "-r", f"{fps:.6f}",
            "-i", "-", "-an",
            "-c:v", "libx264", "-preset", "ultrafast", "-threads", "1",
            "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(path),
        ]  # fmt: skip
        self._proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        lower_priority(self._proc.pid, BACKGROUND_NICENESS)  # than the model's thread
        self.wh = wh

    def isOpened(self) -> bool:  # cv2.VideoWriter's spelling
        return self._proc.poll() is None

    def write(self, image: np.ndarray) -> None:
        assert self._proc.stdin is not None
        if image.shape[1] != self.wh[0] or image.shape[0] != self.wh[1]:
            raise OutputError("frame size changed mid-video")
        if self._yuv:
            import cv2

            data = cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420)
        else:
            data = np.ascontiguousarray(image)
        try:
            self._proc.stdin.write(data.data)
        except BrokenPipeError:
            raise OutputError(f"ffmpeg stopped: {self._stderr()}") from None

    def _stderr(self) -> str:
        err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
        return err.strip().splitlines()[-1] if err.strip() else f"exit {self._proc.poll()}"

    def release(self) -> None:
        if self._proc.stdin is not None and not self._proc.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                self._proc.stdin.close()
        if self._proc.wait() != 0:
            raise OutputError(f"ffmpeg could not write the video: {self._stderr()}")


_FFMPEG_X264: str | bool | None = False  # False = not probed yet


def ffmpeg_with_x264() -> str | None:
    """Path of an ffmpeg binary that has the libx264 encoder, else None (probed once)."""
    global _FFMPEG_X264
    if _FFMPEG_X264 is False:
        import shutil
        import subprocess

        found = None
        exe = shutil.which("ffmpeg")
        if exe is not None:
            try:
                out = subprocess.run(
                    [exe, "-hide_banner", "-encoders"],
                    capture_output=True,
                    text=True,
                    timeout=20,
                    check=False,
                ).stdout
                found = exe if " libx264 " in out else None
            except (OSError, subprocess.SubprocessError):
                found = None
        _FFMPEG_X264 = found
    return _FFMPEG_X264 or None


def _open_writer(path: Path, fps: float, wh: tuple[int, int]) -> tuple[Any, str]:
    """H.264: OpenCV's `avc1` where its build can encode it, else ffmpeg's libx264 when
    installed; otherwise MPEG-4 Part 2 (`mp4v`), which every OpenCV build writes.

    POSECHECK_VIDEO_CODEC=mp4v|avc1|x264 forces one choice (tests, slow machines).
    """
    import cv2

    global _FOURCC_CHOICE
    forced = os.environ.get("POSECHECK_VIDEO_CODEC", "").strip().lower()
    choices = (
        [forced] if forced else ([_FOURCC_CHOICE] if _FOURCC_CHOICE else ["avc1", "x264", "mp4v"])
    )
    for choice in choices:
        if choice == "x264":
            exe = ffmpeg_with_x264()
            if exe is None:
                continue
            writer: Any = FfmpegWriter(path, fps, wh, exe)
        else:
            with _silenced_stderr():
                writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*choice[:4]), fps, wh)
        if writer.isOpened():
            if not forced:
                _FOURCC_CHOICE = choice
            return writer, choice
        writer.release()
    raise OutputError(f"cannot open a video encoder for {path}")


class _QueueStage:
    """A background thread fed items in order through a bounded queue (flat memory).

    `put()` blocks when the stage falls behind. An error in the thread is kept and raised on the
    next `put()` or on `close()`; the queue is still drained so a `put()` never blocks forever.
    """

    niceness = 0  # > 0: this thread yields the CPU to the model's (Linux: a thread's own nice)

    def __init__(self, name: str, queue_size: int) -> None:
        self._q: queue.Queue[tuple[Any, ...] | None] = queue.Queue(maxsize=queue_size)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _handle(self, *item: Any) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        if self.niceness:
            lower_priority(threading.get_native_id(), self.niceness)
        while True:
            item = self._q.get()
            if item is None:
                break
            if self._error is not None:
                continue
            try:
                self._handle(*item)
            except BaseException as exc:  # surfaced to the caller on put()/close()
                self._error = exc

    def _put(self, *item: Any) -> None:
        if self._error is not None:
            raise self._error
        self._q.put(item)

    def _stop(self) -> None:
        """Process what is queued, then stop the thread (safe to call twice)."""
        if self._thread.is_alive():
            self._q.put(None)
            self._thread.join()

    def _raise_pending(self) -> None:
        if self._error is not None:
            err, self._error = self._error, None
            raise err


class VideoSink(_QueueStage):
    """Annotates and encodes frames in a background thread (bounded queue: flat memory).

    `put()` blocks when the encoder falls behind, so at most `queue_size` frames are in flight.
    """

    niceness = BACKGROUND_NICENESS

    def __init__(
        self, path: str | Path, fps: float, *, overlay: Any | None = None, queue_size: int = 6
    ) -> None:
        self.path = Path(path)
        self.fps = fps if fps and math.isfinite(fps) and fps > 0 else 30.0
        self.overlay = overlay
        self.frames = 0
        self.codec: str | None = None
        self._writer: Any = None
        super().__init__("posecheck-encode", queue_size)

    def _handle(
        self, image: np.ndarray, pose: PoseFrame | None, result: FrameResult | None
    ) -> None:
        if self.overlay is not None and pose is not None and result is not None:
            image = self.overlay.annotate(image, pose, result)
        if self._writer is None:
            h, w = image.shape[:2]
            self._writer, self.codec = _open_writer(self.path, self.fps, (w, h))
        self._writer.write(image)
        self.frames += 1

    def put(
        self, image: np.ndarray, pose: PoseFrame | None = None, result: FrameResult | None = None
    ) -> None:
        self._put(image, pose, result)

    def close(self) -> None:
        """Flush what is queued and finalise the file (safe to call twice)."""
        self._stop()
        if self._writer is not None:
            self._writer.release()
            self._writer = None
        self._raise_pending()

    def __enter__(self) -> VideoSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------- helpers


@contextlib.contextmanager
def opencv_single_threaded() -> Iterator[None]:
    """OpenCV's own thread pool off within the block (its previous size restored after).

    The pool splits each frame's colour conversion (decode thread, encoder) across a worker
    thread that spins between jobs: ~0.5 ms of CPU a frame on the montage (432x768) for work
    the calling thread does in ~0.05 ms, taken from the core the model's thread shares with
    the decoder, the core stage and the side model. Results are the same pixels.

    The setting is process-wide, so blocks entered by several threads (analyses run from a
    thread pool, a notebook) share it: the first to enter saves the pool size, the last to
    leave restores it, whatever order they finish in.
    """
    import cv2

    global _cv_single_users, _cv_threads_before
    with _cv_single_lock:
        if _cv_single_users == 0:
            _cv_threads_before = cv2.getNumThreads()
            cv2.setNumThreads(1)
        _cv_single_users += 1
    try:
        yield
    finally:
        with _cv_single_lock:
            _cv_single_users -= 1
            if _cv_single_users == 0:
                cv2.setNumThreads(_cv_threads_before)


_cv_single_lock = threading.Lock()
_cv_single_users = 0
_cv_threads_before = 0
