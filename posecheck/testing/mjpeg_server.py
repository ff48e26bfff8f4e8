"""A local MJPEG-over-HTTP server that streams a clip like an IP camera would.

Why: `posecheck live --source http://...` must be tested through the very loop a webcam uses,
including the camera vanishing and coming back. The server binds to 127.0.0.1 only, streams the
clip at its own frame rate, and can be stopped and restarted on the same port; the playback
position survives a stop (it pauses), so a restarted stream continues the movement where it left.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np

BOUNDARY = "posecheckframe"
LOOPBACK = "127.0.0.1"


def load_clip(path: str | Path, max_width: int | None = None) -> tuple[list[bytes], float]:
    """Decode a clip once into JPEG bytes per frame (and its fps), so serving costs no decoding."""
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise FileNotFoundError(f"cannot open clip {path}")
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    frames: list[bytes] = []
    try:
        while True:
            ok, image = cap.read()
            if not ok:
                break
            if max_width and image.shape[1] > max_width:
                scale = max_width / image.shape[1]
                image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            frames.append(encode_jpeg(image))
    finally:
        cap.release()
    if not frames:
        raise ValueError(f"clip {path} has no frames")
    return frames, float(fps)


def encode_jpeg(image: np.ndarray, quality: int = 85) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()


class _Playhead:
    """The clip position shared by every client; it advances only while the server runs."""

    def __init__(self, n_frames: int, fps: float, loop: bool) -> None:
        self.n_frames = n_frames
        self.period = 1.0 / fps
        self.loop = loop
        self.position = 0  # next frame to send
        self.lock = threading.Lock()

    def take(self) -> int | None:
        with self.lock:
            if self.position >= self.n_frames:
                if not self.loop:
                    return None
                self.position = 0
            index = self.position
            self.position += 1
            return index


class MjpegServer:
    """Streams `frames` (JPEG bytes) as multipart/x-mixed-replace at `fps` on 127.0.0.1.

    Usage::

        server = MjpegServer.from_clip("clip.mp4").start()
        url = server.url  # http://127.0.0.1:PORT/stream.mjpg
        server.stop()     # clients see the stream end; the playhead pauses
        server.start()    # same port, continues from the paused position

    Only one client advances the playhead at a time in practice (the live loop); several
    clients would share (split) the frames, which is fine for a test helper.
    """

    def __init__(
        self,
        frames: Sequence[bytes],
        fps: float,
        *,
        port: int = 0,
        loop: bool = False,
        path: str = "/stream.mjpg",
        lead_in_s: float = 0.0,
    ) -> None:
        if not frames:
            raise ValueError("no frames to serve")
        # A lead-in repeats the first frame, like a person lying still before the first rep.
        self.lead_in = round(lead_in_s * fps)
        self.frames = [frames[0]] * self.lead_in + list(frames)
        self.fps = fps
        self.path = path
        self._port = port
        self._playhead = _Playhead(len(self.frames), fps, loop)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._clients: set[socket.socket] = set()
        self._clients_lock = threading.Lock()
        self.frames_sent = 0
        self.finished = threading.Event()  # set when a non-looping clip has been sent in full

    @classmethod
    def from_clip(
        cls, path: str | Path, *, max_width: int | None = 960, **kwargs: object
    ) -> MjpegServer:
        frames, fps = load_clip(path, max_width=max_width)
        return cls(frames, fps, **kwargs)  # type: ignore[arg-type]

    # -- lifecycle -----------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self._port}{self.path}"

    @property
    def position(self) -> int:
        """Index of the next frame the server will send."""
        return self._playhead.position

    @property
    def running(self) -> bool:
        return self._httpd is not None

    def start(self) -> MjpegServer:
        """Bind (again) to 127.0.0.1 on the same port and serve in a background thread."""
        if self._httpd is not None:
            return self
        self._stopping.clear()
        handler = _make_handler(self)
        httpd = ThreadingHTTPServer((LOOPBACK, self._port), handler)
        httpd.daemon_threads = True
        self._port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="mjpeg-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and cut every open stream, like a camera being unplugged."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.server_close()
        with self._clients_lock:
            for sock in list(self._clients):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            self._clients.clear()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None

    def __enter__(self) -> MjpegServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- serving -------------------------------------------------------------------------------
    def _serve_stream(self, handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
        handler.send_header("Cache-Control", "no-cache")
        handler.send_header("Connection", "close")
        handler.end_headers()
        sock = handler.connection
        with self._clients_lock:
            self._clients.add(sock)
        period = self._playhead.period
        next_due = time.monotonic()
        try:
            while not self._stopping.is_set():
                index = self._playhead.take()
                if index is None:
                    self.finished.set()
                    return
                jpeg = self.frames[index]
                part = (
                    f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                    f"Content-Length: {len(jpeg)}\r\n\r\n"
                ).encode("ascii")
                handler.wfile.write(part + jpeg + b"\r\n")
                handler.wfile.flush()
                self.frames_sent += 1
                next_due += period
                delay = next_due - time.monotonic()
                if delay > 0:
                    self._stopping.wait(delay)
                else:
                    next_due = time.monotonic()  # fell behind: don't burst to catch up
        except (BrokenPipeError, ConnectionResetError, OSError):
            return
        finally:
            with self._clients_lock:
                self._clients.discard(sock)


def _make_handler(server: MjpegServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_GET(self) -> None:
            if self.path.split("?")[0] != server.path:
                self.send_error(404)
                return
            server._serve_stream(self)

        def log_message(self, format: str, *args: object) -> None:  # quiet in tests
            return

    return Handler


def main() -> None:  # pragma: no cover - manual helper
    """`python -m posecheck.testing.mjpeg_server CLIP [PORT]`: serve a clip until Ctrl-C."""
    import sys

    server = MjpegServer.from_clip(sys.argv[1], port=int(sys.argv[2]) if len(sys.argv) > 2 else 0,
                                   loop=True)
    server.start()
    print(server.url, flush=True)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
