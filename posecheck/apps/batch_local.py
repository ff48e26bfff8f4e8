"""The local batch engine: clips over worker processes on this machine, one pose model each.

Each worker loads the model once (the pool's initializer) and takes clip after clip; it sends
its frame count to the parent over a queue, so the progress bar moves within a clip. Ctrl-C or
SIGTERM in the parent terminates the workers at once: a clip can take minutes.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from posecheck.apps.batch import ClipJob, ClipRow, FrameTally

PROGRESS_EVERY = 15  # frames between a worker's progress messages
POLL_S = 0.25  # how often the parent looks at progress while no clip finishes

_WORKER_ESTIMATOR: Any | None = None  # one per worker process, reset between its clips
_WORKER_PROGRESS: Any | None = None  # queue of (clip index, frames done, frames total)

# Native thread pools sized to the machine would make N workers fight over N cores: one thread
# each (mediapipe's XNNPACK already runs single-threaded on desktop Linux).
WORKER_THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


def worker_estimator() -> Any | None:
    """This worker process's estimator (None outside a worker)."""
    return _WORKER_ESTIMATOR


@contextlib.contextmanager
def _worker_env() -> Iterator[None]:
    """Set WORKER_THREAD_ENV while worker processes are spawned (they copy the environment)."""
    saved = {k: os.environ.get(k) for k in WORKER_THREAD_ENV}
    os.environ.update(WORKER_THREAD_ENV)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _init_worker(model: str, side_model: bool = False, progress: Any | None = None) -> None:
    """Per worker: load the model once (fails fast) and keep it, one native thread, quiet on
    Ctrl-C. `side_model` (the estimator's census thread) only pays when a core is spare."""
    import signal

    import cv2

    global _WORKER_ESTIMATOR, _WORKER_PROGRESS
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    cv2.setNumThreads(1)
    from posecheck.pose import PoseEstimator

    _WORKER_ESTIMATOR = PoseEstimator(model, side_model=side_model)
    _WORKER_PROGRESS = progress


def throttled(send: Callable[[int, int | None], None]) -> Callable[[int, int | None], None]:
    """A progress callback that passes on every PROGRESS_EVERY-th frame and the last one."""

    def update(done: int, total: int | None) -> None:
        if done % PROGRESS_EVERY == 0 or done == total:
            send(done, total)

    return update


def _pool_job(index: int, job: ClipJob, model: str, out: str | None, stride: int) -> ClipRow:
    from posecheck.apps.batch import run_job

    sink = _WORKER_PROGRESS
    progress = None
    if sink is not None:
        progress = throttled(lambda done, total: sink.put((index, done, total)))
    return run_job(job, model, out, stride, progress=progress)


def run(
    jobs: list[ClipJob],
    model: str,
    out: str | None,
    stride: int,
    n_workers: int,
    done: Callable[[int, ClipRow], None],
    tally: FrameTally,
) -> None:
    """Score `jobs` in `n_workers` processes (in this one when 1); `done(i, row)` as each ends."""
    if n_workers == 1:
        _run_here(jobs, model, out, stride, done, tally)
    else:
        _run_pool(jobs, model, out, stride, n_workers, done, tally)


@contextlib.contextmanager
def _deferred_signals(stop: threading.Event) -> Iterator[None]:
    """SIGINT/SIGTERM set `stop` instead of raising (main thread only): an exception raised
    while the estimator resets or closes its native landmarkers crashed the process (SIGSEGV,
    1 run in 6); analyse_video checks `stop` between frames instead."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for s in saved:
        signal.signal(s, lambda signum, frame: stop.set())
    try:
        yield
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)


def _run_here(
    jobs: list[ClipJob],
    model: str,
    out: str | None,
    stride: int,
    done: Callable[[int, ClipRow], None],
    tally: FrameTally,
) -> None:
    """One worker: this process, one model; an interrupt ends the clip at the next frame."""
    from posecheck.apps.batch import run_job
    from posecheck.pose import PoseEstimator

    stop = threading.Event()
    with _deferred_signals(stop), PoseEstimator(model) as est:
        for i, job in enumerate(jobs):
            if stop.is_set():
                break
            progress = throttled(_report_to(tally, i))
            row = run_job(job, model, out, stride, est, progress, stop=stop)
            done(i, row)
    if stop.is_set():
        raise KeyboardInterrupt


def _report_to(tally: FrameTally, index: int) -> Callable[[int, int | None], None]:
    return lambda d, t: tally.report(index, d, t)


def _run_pool(
    jobs: list[ClipJob],
    model: str,
    out: str | None,
    stride: int,
    n_workers: int,
    done: Callable[[int, ClipRow], None],
    tally: FrameTally,
) -> None:
    from posecheck.apps.batch import error_row

    ctx = multiprocessing.get_context("spawn")  # no fork of a process holding threads
    progress = ctx.Queue()
    pool = ProcessPoolExecutor(
        max_workers=n_workers, mp_context=ctx, initializer=_init_worker,
        initargs=(model, n_workers < (os.cpu_count() or 1), progress),
    )  # fmt: skip
    try:
        with _worker_env():  # workers are spawned on submit
            futures: dict[Future[ClipRow], int] = {
                pool.submit(_pool_job, i, job, model, out, stride): i for i, job in enumerate(jobs)
            }
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, timeout=POLL_S, return_when=FIRST_COMPLETED)
            _drain(progress, tally)
            for fut in finished:
                i = futures[fut]
                try:
                    row = fut.result()
                except BrokenProcessPool as exc:
                    row = error_row(jobs[i], f"worker died: {exc}")
                done(i, row)
    except KeyboardInterrupt:
        for proc in list(getattr(pool, "_processes", {}).values()):
            proc.terminate()  # a clip can take minutes: don't wait for it
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    else:
        pool.shutdown(wait=True)
    finally:
        progress.close()
        progress.cancel_join_thread()


def _drain(progress: Any, tally: FrameTally) -> None:
    while True:
        try:
            index, frames, total = progress.get_nowait()
        except queue.Empty:
            return
        tally.report(index, frames, total)
