"""Where the picture goes: a real OpenCV window, or nowhere (headless) with progress lines.

Why the checks before opening a window: OpenCV's Qt aborts the whole process (no exception)
when it cannot reach a display or lacks the requested Qt platform plugin; `display_available()`
decides up front so `posecheck live` falls back to headless instead of dying.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Protocol

import numpy as np

from posecheck.apps.live.hud import CANVAS_WH

WINDOW_NAME = "posecheck live"


def _qt_platforms() -> set[str]:
    """Qt platform plugins shipped with this OpenCV build (e.g. {'xcb'})."""
    try:
        import cv2
    except ImportError:
        return set()
    root = Path(cv2.__file__).parent / "qt" / "plugins" / "platforms"
    if not root.is_dir():
        return set()
    names = set()
    for p in root.glob("libq*.so"):
        names.add(p.name[len("libq") : -len(".so")])
    return names


def display_available() -> bool:
    """True when an OpenCV window can open here without killing the process."""
    platform = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0].strip()
    plugins = _qt_platforms()
    if platform and plugins and platform not in plugins:
        return False  # e.g. 'offscreen' requested but this cv2 ships only 'xcb'
    if platform and platform != "xcb" and platform in plugins:
        return True
    display = os.environ.get("DISPLAY", "")
    if not display:
        return False
    host, _, rest = display.partition(":")
    if host in ("", "unix"):
        number = rest.split(".")[0]
        return Path(f"/tmp/.X11-unix/X{number}").exists()
    return True  # a remote X display: trust it


class Display(Protocol):
    def show(self, canvas: np.ndarray) -> None: ...

    def closed(self) -> bool:
        """True once the person closed the window."""
        ...

    def set_fullscreen(self, on: bool) -> None: ...

    def close(self) -> None: ...


class CvWindow:
    """A resizable OpenCV (Qt) window; fullscreen toggles; closing it ends the session."""

    def __init__(self, name: str = WINDOW_NAME, size: tuple[int, int] = CANVAS_WH,
                 fullscreen: bool = False) -> None:
        import cv2

        self.name = name
        self._cv2 = cv2
        cv2.namedWindow(name, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO | cv2.WINDOW_GUI_NORMAL)
        cv2.resizeWindow(name, *size)
        self._shown = False
        self._closed = False
        self.fullscreen = False
        if fullscreen:
            self.set_fullscreen(True)

    def show(self, canvas: np.ndarray) -> None:
        if self._closed:
            return
        self._cv2.imshow(self.name, canvas)
        self._shown = True

    def closed(self) -> bool:
        if self._closed:
            return True
        if not self._shown:
            return False
        try:
            visible = self._cv2.getWindowProperty(self.name, self._cv2.WND_PROP_VISIBLE)
        except self._cv2.error:
            visible = 0
        if visible < 1:
            self._closed = True
        return self._closed

    def set_fullscreen(self, on: bool) -> None:
        cv2 = self._cv2
        cv2.setWindowProperty(
            self.name, cv2.WND_PROP_FULLSCREEN, cv2.WINDOW_FULLSCREEN if on else cv2.WINDOW_NORMAL
        )
        self.fullscreen = on

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._cv2.destroyWindow(self.name)
            self._cv2.waitKey(1)
        self._closed = True


class NoWindow:
    """Headless: the canvas is only kept (for snapshots and tests), never shown."""

    headless = True

    def __init__(self) -> None:
        self.last: np.ndarray | None = None
        self.fullscreen = False

    def show(self, canvas: np.ndarray) -> None:
        self.last = canvas

    def closed(self) -> bool:
        return False

    def set_fullscreen(self, on: bool) -> None:
        self.fullscreen = on

    def close(self) -> None:
        return None
