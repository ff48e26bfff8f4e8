"""The capture thread: newest-frame handoff (stale frames dropped and counted, never queued),
the capture clock, lossless file replay, and reconnect with back-off after a source fails."""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest

from posecheck.apps.live.capture import Backoff, CaptureState, FrameGrabber
from posecheck.errors import SourceError


@dataclass
class FakeFrame:
    index: int
    timestamp_ms: float
    image: np.ndarray


class FakeSource:
    """Yields `n` frames every `period_s`; a live source unless told otherwise."""

    def __init__(self, n: int, period_s: float = 0.0, *, is_live: bool = True,
                 fail: bool = False, start: int = 0) -> None:
        self.n, self.period_s, self.is_live = n, period_s, is_live
        self.fail, self.start = fail, start
        self.closed = False
        self.emitted = 0

    def __iter__(self) -> Iterator[FakeFrame]:
        for i in range(self.n):
            if self.period_s:
                time.sleep(self.period_s)
            image = np.full((4, 4, 3), (self.start + i) % 256, dtype=np.uint8)
            self.emitted += 1
            yield FakeFrame(i, i * 40.0, image)
        if self.fail:
            raise SourceError("camera unplugged")

    def close(self) -> None:
        self.closed = True


def test_slow_consumer_gets_newest_frame_and_drops_are_counted() -> None:
    source = FakeSource(60, period_s=0.004)
    grabber = FrameGrabber(lambda: source, reconnect=False).start()
    taken = []
    while True:
        frame = grabber.take(timeout=0.5)
        if frame is None:
            if grabber.ended:
                break
            continue
        taken.append(frame)
        time.sleep(0.02)  # inference slower than the camera
    grabber.stop()
    seqs = [f.seq for f in taken]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert len(taken) < 60  # frames were dropped, not queued
    assert grabber.stats.captured == 60
    assert grabber.stats.dropped == 60 - len(taken)
    assert sum(f.dropped_before for f in taken) == grabber.stats.dropped
    # never more than one frame waiting: each taken frame skipped only what arrived meanwhile
    assert max(f.dropped_before for f in taken) >= 1
    ts = [f.timestamp_ms for f in taken]
    assert all(b > a for a, b in itertools.pairwise(ts))


def test_taken_frame_is_the_newest_captured() -> None:
    source = FakeSource(40, period_s=0.003)
    grabber = FrameGrabber(lambda: source, reconnect=False).start()
    time.sleep(0.06)
    frame = grabber.take(timeout=1.0)
    assert frame is not None
    # at the moment of the take, nothing newer than this frame had been captured
    assert frame.seq == grabber.stats.captured - 1 or grabber.stats.captured - 1 - frame.seq <= 1
    grabber.stop()


def test_timestamps_come_from_the_capture_clock() -> None:
    ticks = itertools.count()
    clock_values: list[float] = []

    def clock() -> float:
        value = 100.0 + next(ticks) * 0.5  # each call advances half a second
        clock_values.append(value)
        return value

    source = FakeSource(5, is_live=False)
    grabber = FrameGrabber(lambda: source, lossless=True, reconnect=False, clock=clock).start()
    frames = []
    while not grabber.ended:
        f = grabber.take(timeout=0.5)
        if f is not None:
            frames.append(f)
    grabber.stop()
    assert len(frames) == 5
    # not the source's 0, 40, 80... ms: the capture clock (t0 = first clock reading)
    assert [f.timestamp_ms for f in frames] != [0.0, 40.0, 80.0, 120.0, 160.0]
    assert all(f.timestamp_ms % 500.0 == 0 for f in frames)
    assert all(b > a for a, b in itertools.pairwise(f.timestamp_ms for f in frames))


def test_lossless_file_replay_delivers_every_frame_on_the_source_clock() -> None:
    source = FakeSource(50, is_live=False)
    grabber = FrameGrabber(lambda: source, lossless=True, source_clock=True,
                           reconnect=False).start()
    frames = []
    while not grabber.ended:
        f = grabber.take(timeout=0.5)
        if f is not None:
            frames.append(f)
            time.sleep(0.001)
    grabber.stop()
    assert [f.source_index for f in frames] == list(range(50))
    assert [f.timestamp_ms for f in frames] == [i * 40.0 for i in range(50)]
    assert grabber.stats.dropped == 0
    assert grabber.state is CaptureState.ENDED


def test_live_source_failure_reconnects_with_backoff_and_clock_keeps_rising() -> None:
    opened: list[FakeSource] = []
    attempts = {"n": 0}

    def opener() -> FakeSource:
        attempts["n"] += 1
        if attempts["n"] == 2 or len(opened) >= 2:  # camera not back yet / gone for good
            raise SourceError("camera 0 could not be opened")
        src = FakeSource(10, period_s=0.002, fail=len(opened) == 0, start=len(opened) * 100)
        opened.append(src)
        return src

    grabber = FrameGrabber(opener, backoff=Backoff(initial=0.01, maximum=0.05)).start()
    frames = []
    states = set()
    deadline = time.monotonic() + 5
    while len(opened) < 2 or opened[1].emitted < 10:
        states.add(grabber.state)
        f = grabber.take(timeout=0.05)
        if f is not None:
            frames.append(f)
        assert time.monotonic() < deadline, "never reconnected"
    while (f := grabber.take(timeout=0.2)) is not None:  # the last frame, if still in the slot
        frames.append(f)
    state_before_stop = grabber.state
    grabber.stop()
    assert attempts["n"] >= 3
    assert grabber.stats.disconnects >= 1 and grabber.stats.reconnects >= 1
    assert CaptureState.RECONNECTING in states or grabber.stats.disconnects >= 1
    assert opened[0].closed
    # frames from both connections, on one strictly rising session clock
    assert {int(f.image[0, 0, 0]) // 100 for f in frames} == {0, 1}
    ts = [f.timestamp_ms for f in frames]
    assert all(b > a for a, b in itertools.pairwise(ts))
    assert state_before_stop is CaptureState.RECONNECTING  # still trying: the session decides
    assert grabber.error in ("camera 0 could not be opened", "the source stopped sending frames")


def test_file_replay_ends_instead_of_reconnecting() -> None:
    calls = {"n": 0}

    def opener() -> FakeSource:
        calls["n"] += 1
        return FakeSource(3, is_live=True)

    grabber = FrameGrabber(opener, reconnect=False).start()
    deadline = time.monotonic() + 2
    while not grabber.ended:
        grabber.take(timeout=0.05)
        assert time.monotonic() < deadline
    grabber.stop()
    assert calls["n"] == 1
    assert grabber.state is CaptureState.ENDED


def test_first_open_failure_is_raised_to_the_caller() -> None:
    def opener() -> FakeSource:
        raise SourceError("camera 7 could not be opened (no such device or busy)")

    with pytest.raises(SourceError, match="camera 7"):
        FrameGrabber(opener).start()


def test_backoff_grows_to_its_cap_and_resets() -> None:
    b = Backoff(initial=0.25, factor=2.0, maximum=1.0)
    assert [b.next_delay() for _ in range(5)] == [0.25, 0.5, 1.0, 1.0, 1.0]
    b.reset()
    assert b.next_delay() == 0.25


def test_stop_unblocks_a_lossless_producer() -> None:
    source = FakeSource(100, is_live=False)
    grabber = FrameGrabber(lambda: source, lossless=True, reconnect=False).start()
    grabber.take(timeout=0.5)  # take one, never again: the producer blocks on the full slot
    t = threading.Thread(target=grabber.stop)
    t.start()
    t.join(timeout=3)
    assert not t.is_alive()
    assert source.emitted < 100


class PushedSource:
    """A live source that yields a frame whenever the test pushes one (a camera on demand)."""

    is_live = True

    def __init__(self) -> None:
        self.queue: queue.Queue[FakeFrame | None] = queue.Queue()

    def __iter__(self) -> Iterator[FakeFrame]:
        while (item := self.queue.get()) is not None:
            yield item

    def close(self) -> None:
        self.queue.put(None)


class ManualClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def pushed_grabber(frames_at: list[float]) -> tuple[FrameGrabber, PushedSource, ManualClock]:
    """A started grabber that has captured one frame at each clock time in `frames_at`."""
    source, clock = PushedSource(), ManualClock()
    grabber = FrameGrabber(lambda: source, reconnect=False, clock=clock).start()
    for i, t in enumerate(frames_at):
        push(grabber, source, clock, i, t)
    return grabber, source, clock


def push(grabber: FrameGrabber, source: PushedSource, clock: ManualClock, i: int,
         t: float) -> None:
    clock.now = t
    before = grabber.stats.captured
    source.queue.put(FakeFrame(i, t * 1000.0, np.zeros((2, 2, 3), np.uint8)))
    deadline = time.monotonic() + 5.0
    while grabber.stats.captured == before and time.monotonic() < deadline:
        time.sleep(0.001)
    assert grabber.stats.captured == before + 1


@pytest.mark.parametrize("fresher_within", [0.5, 0.0])
def test_an_old_frame_is_passed_over_for_the_next_one_due_soon(fresher_within: float) -> None:
    # frames every second (on the grabber's clock); the loop comes for frame 3 when it is
    # already 0.7 s old: frame 4 is due in 0.3 s, within half a period
    grabber, source, clock = pushed_grabber([0.0, 1.0, 2.0, 3.0])
    clock.now = 3.7
    later = threading.Timer(0.05, push, (grabber, source, clock, 4, 4.0))
    later.start()
    frame = grabber.take(timeout=1.0, fresher_within=fresher_within)
    later.join()
    assert frame is not None
    if fresher_within:
        # frame 3 dropped too (as 0-2 were, never taken), not queued
        assert frame.seq == 4 and frame.dropped_before == 4
    else:
        assert frame.seq == 3  # always the newest at once
    grabber.stop()


def test_a_young_frame_is_taken_at_once() -> None:
    grabber, source, clock = pushed_grabber([0.0, 1.0, 2.0, 3.0])
    clock.now = 3.2  # next frame due in 0.8 s: not worth waiting for
    later = threading.Timer(0.3, push, (grabber, source, clock, 4, 3.5))  # had it waited...
    later.start()
    frame = grabber.take(timeout=1.0, fresher_within=0.5)
    later.join()
    assert frame is not None and frame.seq == 3 and frame.dropped_before == 3  # 0-2
    grabber.stop()


def test_the_wait_for_a_fresher_frame_is_bounded() -> None:
    # the next frame is due in 0.3 s but never comes (camera stalls): the old one is taken
    grabber, _, clock = pushed_grabber([0.0, 1.0, 2.0, 3.0])
    clock.now = 3.7
    frame = grabber.take(timeout=1.0, fresher_within=0.5)
    assert frame is not None and frame.seq == 3
    grabber.stop()
