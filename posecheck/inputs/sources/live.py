"""Live sources: a camera (`CameraSource`) and a network stream (`StreamSource`), on the capture
clock, keeping only the newest frame when the consumer is slower.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from posecheck.errors import SourceError
from posecheck.inputs.sources.base import (
    DEFAULT_STREAM_TIMEOUT_S,
    Frame,
    FrameSource,
)


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
