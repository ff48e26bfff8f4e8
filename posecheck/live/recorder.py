"""`--record DIR`: the raw and the annotated video of a live session.

Why frames are repeated: a live loop shows frames at an uneven rate (drops, reconnects), but a
video file has a constant frame rate. Each frame is written as many times as its capture time
needs, so the recording plays back at the real pace of the session.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from posecheck.errors import OutputError


class VideoRecorder:
    """Writes frames at a constant `fps`, repeating each to keep the video on the capture clock."""

    def __init__(self, path: str | Path, fps: float, *, max_repeat: int = 3) -> None:
        self.path = Path(path)
        self.fps = float(fps) if fps and fps > 0 else 30.0
        self.max_repeat = max_repeat  # a reconnect gap is cut short, not filled with a still
        self._writer: cv2.VideoWriter | None = None
        self._t0: float | None = None
        self.frames_written = 0

    def write(self, image: np.ndarray, t_ms: float) -> None:
        if self._writer is None:
            h, w = image.shape[:2]
            self.path.parent.mkdir(parents=True, exist_ok=True)
            writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), self.fps,
                                     (w, h))
            if not writer.isOpened():
                raise OutputError(f"cannot write video {self.path}")
            self._writer, self._size, self._t0 = writer, (w, h), t_ms
        if (image.shape[1], image.shape[0]) != self._size:
            image = cv2.resize(image, self._size)
        assert self._t0 is not None
        due = int((t_ms - self._t0) / 1000.0 * self.fps) + 1
        repeat = max(1, min(self.max_repeat, due - self.frames_written))
        if due < self.frames_written:  # running ahead of the clock: skip this one
            return
        for _ in range(repeat):
            self._writer.write(image)
        self.frames_written += repeat

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None
