"""`--record DIR`: the raw and the annotated video of a live session, via analyse's `VideoSink`.

Why frames are repeated: a live loop shows frames at an uneven rate (drops, reconnects), but a
video file has a constant frame rate. Each frame is written as many times as its capture time
needs, so the recording plays back at the real pace of the session. Encoding (and, for the
annotated video, drawing analyse's overlay) happens in the sink's own thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from posecheck.apps.analyse import VIDEO_NAME, VideoSink
from posecheck.core.landmarks import PoseFrame
from posecheck.core.results import FrameResult

RAW_VIDEO_NAME = "raw.mp4"
__all__ = ["RAW_VIDEO_NAME", "VIDEO_NAME", "VideoRecorder"]


class VideoRecorder:
    """Feeds a `VideoSink` at a constant `fps`, repeating frames to follow the capture clock."""

    def __init__(self, path: str | Path, fps: float, *, overlay: Any | None = None,
                 max_repeat: int = 3) -> None:
        self.path = Path(path)
        self.fps = float(fps) if fps and fps > 0 else 30.0
        self.max_repeat = max_repeat  # a reconnect gap is cut short, not filled with a still
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._sink = VideoSink(self.path, self.fps, overlay=overlay)
        self._t0: float | None = None
        self.frames_written = 0

    @property
    def t0_ms(self) -> float | None:
        """The capture time of the video's first frame (None before any frame)."""
        return self._t0

    def repeats(self, t_ms: float) -> int:
        """How many times a frame captured at `t_ms` goes into the video (0 = skip it)."""
        if self._t0 is None:
            self._t0 = t_ms
        due = int((t_ms - self._t0) / 1000.0 * self.fps) + 1
        if due <= self.frames_written:
            return 0  # running ahead of the clock
        return max(1, min(self.max_repeat, due - self.frames_written))

    def write(self, image: np.ndarray, t_ms: float, pose: PoseFrame | None = None,
              result: FrameResult | None = None) -> None:
        n = self.repeats(t_ms)
        if n == 0:
            return
        image = image.copy()  # the sink draws on it in another thread
        for _ in range(n):
            self._sink.put(image if n == 1 else image.copy(), pose, result)
        self.frames_written += n

    def close(self) -> None:
        self._sink.close()
