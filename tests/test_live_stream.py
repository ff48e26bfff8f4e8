"""A live MJPEG stream (the loopback test server) through the same loop a webcam uses: the
server is stopped and restarted mid-set, the count survives and the loop resumes; a stream that
never comes back ends the session with the report written. Nothing listens beyond loopback."""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from pathlib import Path

import pytest

from posecheck.apps.live.app import LiveConfig, run_live
from posecheck.apps.live.capture import Backoff
from posecheck.apps.live.session import LiveSession
from posecheck.testing.mjpeg_server import MjpegServer

CLIP = "glute_bridge_darebee_side.mp4"  # 5 reps; rests at ~1.5-1.9, 3.45-3.8, 5.5-5.7 s


@pytest.fixture(scope="module")
def clip_frames(shared_clips: Path) -> tuple[list[bytes], float]:
    from posecheck.testing.mjpeg_server import load_clip

    return load_clip(shared_clips / CLIP, max_width=640)


def test_server_listens_on_loopback_only(clip_frames: tuple[list[bytes], float]) -> None:
    frames, fps = clip_frames
    with MjpegServer(frames[:5], fps) as server:
        assert server._httpd is not None
        host, port = server._httpd.server_address[:2]
        assert host == "127.0.0.1"
        assert server.url.startswith("http://127.0.0.1:")
        # any other address of this machine (if it has one) is refused
        try:
            infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
        except socket.gaierror:
            infos = []
        others = {info[4][0] for info in infos} - {"127.0.0.1"}
        for addr in others:
            if addr.startswith("127."):
                continue
            with pytest.raises(OSError):
                socket.create_connection((addr, port), timeout=1).close()


def test_stream_stopped_and_restarted_mid_set_keeps_the_count(
    clip_frames: tuple[list[bytes], float], tmp_path: Path
) -> None:
    frames, fps = clip_frames
    lead_in_s = 1.0  # the person lies still for a second before the first rep
    server = MjpegServer(frames, fps, lead_in_s=lead_in_s).start()
    drop_at = server.lead_in + 86
    out = io.StringIO()
    trace: list[tuple[int, int, int]] = []  # (reconnects, rep count, frame seq) per frame
    holder: dict[str, LiveSession] = {}
    at_drop: dict[str, int] = {}

    def on_frame(session: LiveSession, frame: object, result: object) -> None:
        count = session.last_result.rep_count if session.last_result is not None else 0
        trace.append((session.grabber.stats.reconnects, count, frame.seq))  # type: ignore[attr-defined]

    def outage() -> None:
        # stop in the rest between reps 2 and 3 (frame ~86 of 232), come back 1.5 s later
        while server.position < drop_at:
            time.sleep(0.005)
        server.stop()
        time.sleep(0.3)
        at_drop["count"] = trace[-1][1] if trace else -1
        time.sleep(1.2)
        server.start()
        server.finished.wait(30)
        time.sleep(1.0)  # let the last frames through
        holder["session"].request_stop("test done")

    thread = threading.Thread(target=outage, daemon=True)
    thread.start()
    try:
        outcome = run_live(LiveConfig(
            source=server.url, model="lite", headless=True, mute=True, out_dir=tmp_path,
            stream=out, summary_s=0.0, backoff=Backoff(initial=0.1, maximum=0.5),
            reconnect_timeout_s=20.0, on_frame=on_frame,
            on_session=lambda s: holder.setdefault("session", s),
        ))
    finally:
        thread.join(timeout=40)
        server.stop()
    lines = out.getvalue()
    assert outcome.reason == "test done"
    assert outcome.latency.disconnects >= 1 and outcome.latency.reconnects >= 1
    assert "camera lost" in lines and "reconnected" in lines
    before = [c for r, c, _ in trace if r == 0]
    after = [c for r, c, _ in trace if r >= 1]
    assert at_drop["count"] >= 1 and before[-1] == at_drop["count"]
    assert after, "the loop never resumed after the stream came back"
    assert after[0] == before[-1]  # the set's count survived the drop
    assert after[-1] > before[-1]  # and counting went on
    assert outcome.rep_count == after[-1]
    assert 4 <= outcome.rep_count <= 5  # 5 on a quiet machine; one may fall in the gap
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["rep_count"] == outcome.rep_count


def test_stream_that_never_returns_ends_the_session_with_a_report(
    clip_frames: tuple[list[bytes], float], tmp_path: Path
) -> None:
    frames, fps = clip_frames
    server = MjpegServer(frames[:40], fps).start()
    out = io.StringIO()

    def unplug() -> None:
        while server.position < 30:
            time.sleep(0.005)
        server.stop()

    threading.Thread(target=unplug, daemon=True).start()
    try:
        outcome = run_live(LiveConfig(
            source=server.url, model="lite", headless=True, mute=True, out_dir=tmp_path,
            stream=out, summary_s=0.0, backoff=Backoff(initial=0.05, maximum=0.2),
            reconnect_timeout_s=1.0,
        ))
    finally:
        server.stop()
    assert outcome.reason.startswith("camera lost")
    assert (tmp_path / "report.json").exists() and (tmp_path / "timeline.csv").exists()
    assert "camera lost" in out.getvalue()
