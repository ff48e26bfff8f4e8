"""A private virtual X display for tests and docs scripts that need a real window.

Why: OpenCV's Qt build here ships only the xcb platform plugin (no 'offscreen'), so a real
window needs an X server. Xvfb picks a free display number itself (-displayfd) and listens on
no TCP port (-nolisten tcp): nothing is reachable from outside this machine.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def xvfb_path() -> str | None:
    return shutil.which("Xvfb")


@contextmanager
def virtual_display(size: tuple[int, int] = (1280, 720), depth: int = 24,
                    timeout_s: float = 10.0) -> Iterator[str]:
    """Start Xvfb, yield its DISPLAY (e.g. ':5'), stop it afterwards.

    Sets os.environ['DISPLAY'] while inside, so OpenCV in this process uses it.
    """
    exe = xvfb_path()
    if exe is None:
        raise FileNotFoundError("Xvfb is not installed (Debian package: xvfb)")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        [exe, "-displayfd", str(write_fd), "-screen", "0", f"{size[0]}x{size[1]}x{depth}",
         "-nolisten", "tcp", "-nocursor"],
        pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    try:
        number = _read_display_number(read_fd, timeout_s)
        display = f":{number}"
        _wait_for_socket(number, timeout_s)
        # OpenCV's Qt here has only the xcb plugin: a global QT_QPA_PLATFORM=offscreen would
        # abort the process, so inside the block Qt is pointed at this X server.
        previous = {k: os.environ.get(k) for k in ("DISPLAY", "QT_QPA_PLATFORM")}
        os.environ["DISPLAY"] = display
        os.environ["QT_QPA_PLATFORM"] = "xcb"
        try:
            yield display
        finally:
            for key, value in previous.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    finally:
        os.close(read_fd)
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _read_display_number(fd: int, timeout_s: float) -> int:
    deadline = time.monotonic() + timeout_s
    data = b""
    while not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("Xvfb did not report a display number")
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 64)
        if not chunk:
            raise RuntimeError("Xvfb exited before reporting a display number")
        data += chunk
    return int(data.strip())


def _wait_for_socket(number: int, timeout_s: float) -> None:
    sock = Path(f"/tmp/.X11-unix/X{number}")
    deadline = time.monotonic() + timeout_s
    while not sock.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"Xvfb socket {sock} did not appear")
        time.sleep(0.02)


def screenshot(display: str, path: str | Path, size: tuple[int, int] | None = None) -> Path:
    """Grab the whole X screen into a PNG with ffmpeg's x11grab (what a person would see)."""
    path = Path(path)
    cmd = ["ffmpeg", "-loglevel", "error", "-y", "-f", "x11grab", "-draw_mouse", "0"]
    if size is not None:
        cmd += ["-video_size", f"{size[0]}x{size[1]}"]
    cmd += ["-i", display, "-frames:v", "1", str(path)]
    subprocess.run(cmd, check=True, timeout=30)
    return path
