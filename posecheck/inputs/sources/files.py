"""Recorded sources: a video file (`VideoFileSource`) and a folder or glob of images
(`ImageFolderSource`), with the container clock or a nominal fps for timestamps.
"""

from __future__ import annotations

import glob
import os
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from posecheck.errors import SourceError
from posecheck.inputs.sources.base import (
    IMAGE_SUFFIXES,
    NON_VIDEO_SUFFIXES,
    Frame,
    FrameSource,
    _MonotonicClock,
    upright,
)

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
