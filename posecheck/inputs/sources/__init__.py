"""Frame sources: video files, cameras, streams and image folders as one iterator of `Frame`.

Split by concern; everything public is importable from here:

- `base`: `Frame`, `FrameSource` (the background decode thread and its queue), rotation;
- `files`: `VideoFileSource`, `ImageFolderSource`;
- `live`: `CameraSource`, `StreamSource`;
- here: `open_source`, which picks one from a command-line style spec.
"""

from __future__ import annotations

import glob
from pathlib import Path

from posecheck.errors import SourceError
from posecheck.inputs.sources.base import (
    DEFAULT_QUEUE_SIZE,
    DEFAULT_STREAM_TIMEOUT_S,
    IMAGE_SUFFIXES,
    NON_VIDEO_SUFFIXES,
    Frame,
    FrameSource,
    rotate_clockwise,
    upright,
)
from posecheck.inputs.sources.files import MAX_STALLED_READS, ImageFolderSource, VideoFileSource
from posecheck.inputs.sources.live import CameraSource, StreamSource

__all__ = [
    "DEFAULT_QUEUE_SIZE",
    "DEFAULT_STREAM_TIMEOUT_S",
    "IMAGE_SUFFIXES",
    "MAX_STALLED_READS",
    "NON_VIDEO_SUFFIXES",
    "CameraSource",
    "Frame",
    "FrameSource",
    "ImageFolderSource",
    "SourceError",
    "StreamSource",
    "VideoFileSource",
    "open_source",
    "rotate_clockwise",
    "upright",
]


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
