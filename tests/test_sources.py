"""Frame sources: bad inputs give one-line SourceErrors; timestamps, stride, rotation, threads."""

from __future__ import annotations

import itertools
import json
import os
import socket
import struct
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers import damaged_clip

from posecheck.errors import SourceError
from posecheck.inputs.sources import (
    CameraSource,
    Frame,
    ImageFolderSource,
    StreamSource,
    VideoFileSource,
    open_source,
    upright,
)

W, H = 64, 48


def marker_frame(index: int, w: int = W, h: int = H) -> np.ndarray:
    """A frame with a red square at the top-left and the index encoded as grey level."""
    img = np.full((h, w, 3), (index * 20) % 256, np.uint8)
    img[:16, :16] = (0, 0, 255)
    return img


def write_video(path: Path, n: int, fps: float = 25.0, w: int = W, h: int = H) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    assert writer.isOpened()
    for i in range(n):
        writer.write(marker_frame(i, w, h))
    writer.release()
    return path


# A phone's display matrix (16.16 fixed point, last column 2.30) per clockwise display rotation.
_MATRICES = {
    90: (0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000),
    180: (-0x10000, 0, 0, 0, -0x10000, 0, 0, 0, 0x40000000),
    270: (0, -0x10000, 0, 0x10000, 0, 0, 0, 0, 0x40000000),
}


def set_rotation_tag(path: Path, clockwise_deg: int) -> None:
    """Write a display matrix into the video track header (moov/trak/tkhd), as phones do."""
    data = bytearray(path.read_bytes())

    def walk(start: int, end: int) -> bool:
        off = start
        while off + 8 <= end:
            size, kind = struct.unpack(">I4s", data[off:off + 8])
            if size < 8:
                return False
            if kind in (b"moov", b"trak") and walk(off + 8, off + size):
                return True
            if kind == b"tkhd":
                version = data[off + 8]
                matrix_at = off + 8 + 4 + (32 if version == 1 else 20) + 8 + 8
                data[matrix_at:matrix_at + 36] = struct.pack(">9i", *_MATRICES[clockwise_deg])
                return True
            off += size
        return False

    assert walk(0, len(data)), "no tkhd box found"
    path.write_bytes(bytes(data))


def assert_one_line(exc: pytest.ExceptionInfo[SourceError], *needles: str) -> None:
    message = str(exc.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message


# -- bad inputs --------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.mp4"
    with pytest.raises(SourceError) as exc:
        open_source(path)
    assert_one_line(exc, str(path), "no such file")


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp4"
    path.touch()
    with pytest.raises(SourceError) as exc:
        open_source(path)
    assert_one_line(exc, str(path), "empty")


def test_zero_frame_video(tmp_path: Path) -> None:
    path = write_video(tmp_path / "zero.mp4", 0)
    assert path.stat().st_size > 0
    with pytest.raises(SourceError) as exc:
        open_source(path)
    assert_one_line(exc, str(path))


@pytest.mark.parametrize("content", [os.urandom(4096), b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 40])
def test_corrupt_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "corrupt.mp4"
    path.write_bytes(content)
    with pytest.raises(SourceError) as exc:
        open_source(path)
    assert_one_line(exc, str(path), "corrupt")


def test_truncated_header(tmp_path: Path) -> None:
    good = write_video(tmp_path / "good.mp4", 10).read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(good[:100])
    with pytest.raises(SourceError) as exc:
        open_source(path)
    assert_one_line(exc, str(path))


@pytest.mark.parametrize("name,content", [("notes.txt", "hello\n"), ("labels.json", '{"a": 1}')])
def test_non_video_file(tmp_path: Path, name: str, content: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(SourceError) as exc:
        open_source(path)
    assert_one_line(exc, str(path), "not a video")


def test_text_disguised_as_video(tmp_path: Path) -> None:
    path = tmp_path / "fake.mp4"
    path.write_text("this is not a video\n" * 50)
    with pytest.raises(SourceError) as exc:
        open_source(path)
    assert_one_line(exc, str(path))


def test_directory_without_images(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(SourceError) as exc:
        open_source(tmp_path)
    assert_one_line(exc, str(tmp_path), "no images")


def test_glob_without_matches(tmp_path: Path) -> None:
    spec = str(tmp_path / "*.png")
    with pytest.raises(SourceError) as exc:
        open_source(spec)
    assert_one_line(exc, spec, "no images")


def test_corrupt_image_in_folder_raises_while_iterating(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "f1.png"), marker_frame(1))
    (tmp_path / "f2.png").write_bytes(b"not a png")
    with open_source(tmp_path) as src, pytest.raises(SourceError) as exc:
        list(src)
    assert_one_line(exc, "f2.png")


def test_camera_that_does_not_open() -> None:
    with pytest.raises(SourceError) as exc:
        open_source("99")
    assert_one_line(exc, "camera 99")
    with pytest.raises(SourceError):
        CameraSource(98)


def test_stream_refused() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/stream.mjpg"
    with pytest.raises(SourceError) as exc:
        open_source(url)
    assert_one_line(exc, url)


def test_stream_that_never_answers_times_out() -> None:
    """A server that accepts the connection and then says nothing: the open timeout must fire."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(server.accept()[0]), daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.getsockname()[1]}/stream.mjpg"
    try:
        with pytest.raises(SourceError) as exc:
            StreamSource(url, timeout_s=1.0)
        assert_one_line(exc, url)
    finally:
        for sock in accepted:
            sock.close()
        server.close()


def test_bad_stride(tmp_path: Path) -> None:
    path = write_video(tmp_path / "v.mp4", 3)
    with pytest.raises(SourceError):
        VideoFileSource(path, stride=0)


# -- video files -------------------------------------------------------------------------------


def test_video_frames_indices_and_timestamps(tmp_path: Path) -> None:
    path = write_video(tmp_path / "v.mp4", 12, fps=25.0)
    with open_source(path) as src:
        assert isinstance(src, VideoFileSource)
        assert src.frame_wh == (W, H)
        assert src.fps == pytest.approx(25.0)
        assert src.frame_count == 12
        assert not src.is_live
        frames = list(src)
    assert [f.index for f in frames] == list(range(12))
    ts = np.array([f.timestamp_ms for f in frames])
    assert np.all(np.diff(ts) > 0)
    np.testing.assert_allclose(ts, np.arange(12) * 40.0, atol=0.5)
    assert all(isinstance(f, Frame) and f.image.shape == (H, W, 3) for f in frames)
    assert all(f.image.dtype == np.uint8 for f in frames)
    # frames arrive in order: the grey level encodes the index
    grey = [int(f.image[H - 1, W - 1].mean()) for f in frames]
    assert all(abs(g - (i * 20) % 256) <= 12 for i, g in enumerate(grey))


def test_stride_keeps_source_indices_and_clock(tmp_path: Path) -> None:
    path = write_video(tmp_path / "v.mp4", 10, fps=25.0)
    with open_source(path, stride=3) as src:
        assert src.frame_count == 4
        frames = list(src)
    assert [f.index for f in frames] == [0, 3, 6, 9]
    np.testing.assert_allclose([f.timestamp_ms for f in frames], [0, 120, 240, 360], atol=0.5)


def test_iterating_twice_is_an_error(tmp_path: Path) -> None:
    path = write_video(tmp_path / "v.mp4", 3)
    src = open_source(path)
    assert len(list(src)) == 3
    with pytest.raises(SourceError):
        list(src)


def test_early_break_releases_the_decoder(tmp_path: Path) -> None:
    path = write_video(tmp_path / "v.mp4", 30)
    with open_source(path) as src:
        for frame in src:
            if frame.index == 2:
                break
    reader = src._reader
    assert reader is not None
    assert not reader._thread.is_alive()


def test_truncated_body_ends_early_and_says_so(tmp_path: Path) -> None:
    """A file whose header promises more frames than its data holds: fewer frames, flagged."""
    n = 40
    path = tmp_path / "v.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (W, H))
    rng = np.random.default_rng(0)
    for _ in range(n):  # noise frames: every frame costs bytes, so cutting the mdat loses frames
        writer.write(rng.integers(0, 255, (H, W, 3), dtype=np.uint8))
    writer.release()
    data = path.read_bytes()
    moov = data.find(b"moov") - 4
    mdat = data.find(b"mdat") - 4
    if moov < mdat:
        pytest.fail("expected mdat before moov in OpenCV's mp4 output")
    # Keep the header boxes, drop the second half of the sample data (zero it out).
    half = mdat + (moov - mdat) // 2
    damaged = data[:half] + b"\x00" * (moov - half) + data[moov:]
    path.write_bytes(damaged)
    with open_source(path) as src:
        frames = list(src)
    assert 0 < len(frames) < n - 2
    assert src.ended_early


def test_clock_falls_back_to_index_over_fps_when_container_repeats() -> None:
    from posecheck.inputs.sources.base import _MonotonicClock

    clock = _MonotonicClock(fps=20.0)
    assert clock(0, 0.0) == 0.0
    assert clock(1, 0.0) == pytest.approx(50.0)  # container reports 0: index/fps
    assert clock(2, 100.0) == pytest.approx(100.0)  # container clock used when sane
    assert clock(3, 100.0) == pytest.approx(150.0)  # repeated: index/fps
    assert clock(4, 120.0) == pytest.approx(200.0)  # backwards: index/fps
    assert clock(5, float("nan")) == pytest.approx(250.0)
    assert clock(6, 300.0) == pytest.approx(300.0)
    assert clock.fallbacks == 4


# -- rotation metadata -------------------------------------------------------------------------


@pytest.mark.parametrize("clockwise", [90, 180, 270])
def test_rotation_tag_frames_come_out_upright(tmp_path: Path, clockwise: int) -> None:
    path = write_video(tmp_path / "phone.mp4", 5)
    set_rotation_tag(path, clockwise)
    with open_source(path) as src:
        assert isinstance(src, VideoFileSource)
        assert src.rotation_meta == clockwise
        frames = list(src)
    expected_wh = (H, W) if clockwise in (90, 270) else (W, H)
    assert src.frame_wh == expected_wh
    img = frames[0].image
    assert (img.shape[1], img.shape[0]) == expected_wh
    # The red marker (stored top-left) moves where a clockwise display rotation puts it.
    h, w = img.shape[:2]
    corner = {90: (2, w - 3), 180: (h - 3, w - 3), 270: (h - 3, 2)}[clockwise]
    assert img[corner][2] > 200 and img[corner][0] < 60
    assert img[2, 2][2] < 60 or clockwise == 0
    # Our own fallback rotation (used when OpenCV cannot auto-rotate) agrees with OpenCV.
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 0)
    ok, stored = cap.read()
    cap.release()
    assert ok and stored.shape == (H, W, 3)
    np.testing.assert_array_equal(upright(stored, clockwise), img)


# -- image folders -----------------------------------------------------------------------------


def test_image_folder_natural_order_and_clock(tmp_path: Path) -> None:
    for i in (1, 2, 10):
        cv2.imwrite(str(tmp_path / f"frame_{i}.png"), marker_frame(i))
    (tmp_path / "notes.txt").write_text("ignored")
    with open_source(tmp_path) as src:
        assert isinstance(src, ImageFolderSource)
        assert src.frame_count == 3
        assert [p.name for p in src.paths] == ["frame_1.png", "frame_2.png", "frame_10.png"]
        frames = list(src)
    np.testing.assert_allclose([f.timestamp_ms for f in frames], [0, 1000 / 30, 2000 / 30])
    with ImageFolderSource(str(tmp_path / "frame_1*.png"), fps=10) as src:
        frames = list(src)
    assert [f.timestamp_ms for f in frames] == [0.0, 100.0]


def test_single_image_file_is_an_image_source(tmp_path: Path) -> None:
    path = tmp_path / "still.jpg"
    cv2.imwrite(str(path), marker_frame(0))
    with open_source(path) as src:
        assert isinstance(src, ImageFolderSource)
        assert len(list(src)) == 1


# -- live behaviour ----------------------------------------------------------------------------


def test_realtime_replay_with_latest_only_drops_stale_frames(tmp_path: Path) -> None:
    path = write_video(tmp_path / "v.mp4", 20, fps=50.0)  # 0.4 s of video
    with VideoFileSource(path, realtime=True) as src:
        assert src.is_live and src.latest_only
        seen = []
        for frame in src:
            seen.append(frame)
            time.sleep(0.06)  # a consumer three times slower than the source
    indices = [f.index for f in seen]
    assert indices == sorted(set(indices))
    assert src.dropped > 0
    assert len(seen) + src.dropped == 20


def test_file_queue_keeps_every_frame_for_a_slow_consumer(tmp_path: Path) -> None:
    path = write_video(tmp_path / "v.mp4", 15)
    with open_source(path) as src:
        seen = []
        for frame in src:
            seen.append(frame.index)
            time.sleep(0.005)
    assert seen == list(range(15))
    assert src.dropped == 0


def test_mjpeg_stream(tmp_path: Path) -> None:
    from posecheck.testing.mjpeg_server import MjpegServer, encode_jpeg

    jpegs = [encode_jpeg(marker_frame(i, 96, 64)) for i in range(10)]
    server = MjpegServer(jpegs, fps=50.0).start()
    try:
        with open_source(server.url, latest_only=False) as src:
            assert isinstance(src, StreamSource)
            assert src.is_live
            assert src.frame_wh == (96, 64)
            frames = list(src)
    finally:
        server.stop()
    assert 1 <= len(frames) <= 10
    ts = [f.timestamp_ms for f in frames]
    assert ts[0] == 0.0
    assert all(b > a for a, b in itertools.pairwise(ts))
    assert frames[0].image.shape == (64, 96, 3)


def test_open_source_dispatch(tmp_path: Path) -> None:
    video = write_video(tmp_path / "v.avi", 2)
    assert isinstance(open_source(video), VideoFileSource)
    assert isinstance(open_source(str(video)), VideoFileSource)
    with pytest.raises(SourceError, match="camera"):
        open_source(97)


# -- the real clips ----------------------------------------------------------------------------


def test_real_clip_container_clock(shared_clips: Path, clip_labels: dict[str, dict]) -> None:
    """The 23.976 fps clip: t[i] = i * 1001/24 ms from the container, strictly increasing."""
    name = "glute_bridge_darebee_side.mp4"
    with VideoFileSource(shared_clips / name) as src:
        assert src.fps == pytest.approx(24000 / 1001)
        assert src.frame_wh == (clip_labels[name]["width"], clip_labels[name]["height"])
        ts = np.array([f.timestamp_ms for f in src])
    assert len(ts) == clip_labels[name]["frames"]
    assert np.all(np.diff(ts) > 0)
    np.testing.assert_allclose(ts, np.arange(len(ts)) * 1001 / 24, atol=1.0)
    assert src.clock.fallbacks == 0  # every timestamp came from the container


def test_real_clip_frame_counts(shared_clips: Path) -> None:
    labels = json.loads((shared_clips / "labels.json").read_text())
    entry = min(labels, key=lambda e: e["frames"])
    with open_source(shared_clips / entry["file"], stride=4) as src:
        n = sum(1 for _ in src)
    assert n == (entry["frames"] + 3) // 4


def test_prepared_frames_are_let_go_on_the_decode_thread(tmp_path: Path) -> None:
    """With a `prepare` hook, each frame's prepared object dies on the decode thread (which
    keeps the last few a little longer), not on the consumer's, which runs the model and should
    not spend its time freeing buffers; every frame still arrives, with its own prepared value."""
    path = write_video(tmp_path / "v.mp4", 40)
    died_on: list[str] = []

    class Prepared:
        def __init__(self, image: np.ndarray) -> None:
            self.mean = float(image.mean())

        def __del__(self) -> None:
            died_on.append(threading.current_thread().name)

    with open_source(path) as src:
        src.prepare = Prepared
        means = [(f.index, f.prepared.mean, float(f.image.mean())) for f in src]
    assert [i for i, _, _ in means] == list(range(40))
    assert all(p == m for _, p, m in means)
    assert len(died_on) == 40
    on_decode = sum(name.startswith("decode:") for name in died_on)
    assert on_decode >= 40 - VideoFileSource.KEEP_PREPARED, died_on


@pytest.mark.parametrize("stride", [1, 2])
def test_a_damaged_frame_is_read_past_and_counted(tmp_path: Path, stride: int) -> None:
    """One frame that cannot be decoded used to end the file there (26 of 60 frames)."""
    path = damaged_clip(tmp_path / "damaged.mp4", (W, H))
    with open_source(path, stride=stride) as src:
        frames = list(src)
    assert src.frames_skipped == src.skipped == 1 and not src.ended_early
    assert src.decoded == 59
    indices = [f.index for f in frames]
    assert indices[-1] >= 58  # read to the end, container frame numbers kept
    assert all(i % stride == 0 for i in indices)
    missing = set(range(0, 60, stride)) - set(indices)
    assert len(missing) <= 1  # the damaged frame, when the stride would have kept it
