"""The `--engine ray` batch engine: clips scored by Ray actors, each holding one pose model.

Actors, not Ray Data: a clip is one file in, one small row out, so Ray Data's blocks, Arrow
conversion and streaming executor buy nothing and would pull pyarrow and pandas into the extra.
Plain actors keep the extra to Ray core, load the model once per worker (in `__init__`), and use
Ray's own fault tolerance for a worker that dies mid-clip: the actor restarts (`max_restarts`)
and Ray re-runs its clip (`max_task_retries`, bounded), after which the clip is an error row.
The driver keeps one clip in flight per actor (Ray's `ray.wait` pattern), so a long clip never
holds up short ones queued behind it, and it writes each row as it arrives.

Ray is imported only here, and this module only when the ray engine is chosen.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from posecheck.errors import EngineError

if TYPE_CHECKING:
    from posecheck.apps.batch import ClipJob, ClipRow, FrameTally

RETRIES = 2  # a clip whose worker dies (killed, out of memory) runs at most 1 + RETRIES times
POLL_S = 0.5  # progress refresh while no clip finishes
CONNECT_TIMEOUT_S = 5.0
INSTALL_HINT = "pip install 'posecheck[ray]'"


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise EngineError(f"the ray engine needs Ray: {INSTALL_HINT}") from None
    return ray


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """EngineError in one line when nothing answers at a host:port address (ray.init would
    otherwise retry for a long time); "auto", "local" and the like are left to Ray."""
    target = address.removeprefix("ray://")
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit():
        return
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout).close()
    except OSError as exc:
        why = exc.strerror or type(exc).__name__.replace("Error", "").lower() or str(exc)
        raise EngineError(f"no Ray cluster answers at {address} ({why})") from None


def prepare(address: str | None) -> Callable[..., None]:
    """Check what can be checked before any work (Ray installed, address answering) and return
    the engine's run function."""
    ray = _ray()
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address is not None and not ray.is_initialized():
        check_reachable(address)
    return functools.partial(run, address=address)


def _connect(ray: Any, address: str | None, local_cpus: int) -> bool:
    """Join the caller's session, the cluster at `address`, or a new local one on 127.0.0.1;
    True when this call started the connection (and so must shut it down)."""
    if ray.is_initialized():
        return False
    quiet = {"logging_level": logging.ERROR, "log_to_driver": False, "include_dashboard": False}
    try:
        if address is not None:
            ray.init(address=address, **quiet)
        else:
            ray.init(num_cpus=local_cpus, _node_ip_address="127.0.0.1", **quiet)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        where = f"the Ray cluster at {address}" if address else "a local Ray cluster"
        raise EngineError(f"cannot connect to {where}: {first}") from None
    return True


@functools.cache
def _remote_classes() -> tuple[Any, Any]:
    """The actor classes, built on first use so that importing this module needs no Ray."""
    ray = _ray()

    @ray.remote(num_cpus=0)
    class FrameCounter:
        """Each clip's latest (frames done, frames total), for the driver's progress bar."""

        def __init__(self) -> None:
            self.clips: dict[int, tuple[int, int | None]] = {}

        def report(self, index: int, done: int, total: int | None) -> None:
            self.clips[index] = (done, total)

        def snapshot(self) -> dict[int, tuple[int, int | None]]:
            return self.clips

    # max_restarts=-1: a worker killed on one clip comes back for the next; what is bounded is
    # how often one clip is re-run (max_task_retries).
    @ray.remote(num_cpus=1, max_restarts=-1, max_task_retries=RETRIES)
    class ClipWorker:
        """One pose model, loaded once; scores clip after clip."""

        def __init__(self, model: str, counter: str) -> None:
            import cv2

            from posecheck.pose import PoseEstimator

            cv2.setNumThreads(1)  # one core per actor (num_cpus=1); Ray sets OMP_NUM_THREADS
            self.model = model
            self.estimator = PoseEstimator(model)
            # by name: a handle argument would live in the object store, and a restart needs it
            self.counter = ray.get_actor(counter)

        def ready(self) -> bool:
            return True

        def score(
            self, index: int, job: ClipJob, out: str | None, stride: int
        ) -> tuple[ClipRow, float]:
            from posecheck.apps.batch import run_job
            from posecheck.apps.batch_local import throttled

            t0 = time.perf_counter()
            counter = self.counter
            progress = throttled(lambda d, t: counter.report.remote(index, d, t))
            row = run_job(job, self.model, out, stride, self.estimator, progress)
            return row, time.perf_counter() - t0

    return FrameCounter, ClipWorker


def run(
    jobs: list[ClipJob],
    model: str,
    out: str | None,
    stride: int,
    workers: int | None,
    done: Callable[[int, ClipRow], None],
    tally: FrameTally,
    on_notice: Callable[[str], None] | None,
    stats: dict[str, Any] | None,
    *,
    address: str | None,
) -> None:
    """Score `jobs` on Ray actors; `done(i, row)` as each clip finishes, in any order."""
    from posecheck.apps.batch import available_memory, cap_workers

    ray = _ray()
    t0 = time.perf_counter()
    local, _ = cap_workers(workers, len(jobs), os.cpu_count() or 1, available_memory())
    started = _connect(ray, address, local)
    actors: list[Any] = []
    try:
        cpus = int(ray.cluster_resources().get("CPU", 0))
        if cpus < 1:
            raise EngineError("the Ray cluster has no CPUs to run workers on")
        n = min(workers or cpus, cpus, len(jobs))
        if workers is not None and workers > cpus and on_notice is not None:
            on_notice(f"--workers {workers} capped to {cpus} (the Ray cluster's CPUs)")
        actors = _start_actors(ray, model, n)
        connect_s = time.perf_counter() - t0
        overheads = _drive(ray, actors[:-1], actors[-1], jobs, out, stride, done, tally)
        if stats is not None:
            stats.update(
                workers=n,
                connect_s=round(connect_s, 3),
                overhead_ms=[round(o * 1000.0, 2) for o in overheads],
            )
    finally:
        _release(ray, actors, started)


def _start_actors(ray: Any, model: str, n: int) -> list[Any]:
    """`n` ClipWorkers and their FrameCounter (last), every model loaded before the first clip:
    a node without posecheck or the model fails here, once, in one line."""
    counter_cls, worker_cls = _remote_classes()
    counter_name = f"posecheck-frames-{uuid.uuid4().hex}"
    counter = counter_cls.options(name=counter_name).remote()
    actors = [worker_cls.remote(model, counter_name) for _ in range(n)]
    try:
        ray.get([a.ready.remote() for a in actors])
    except ray.exceptions.RayError as exc:
        _release(ray, [*actors, counter], started=False)
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
        raise EngineError(f"Ray workers could not start: {first}") from None
    return [*actors, counter]


def _drive(
    ray: Any,
    workers: list[Any],
    counter: Any,
    jobs: list[ClipJob],
    out: str | None,
    stride: int,
    done: Callable[[int, ClipRow], None],
    tally: FrameTally,
) -> list[float]:
    """One clip in flight per actor, the next one sent as a row comes back (Ray's `ray.wait`
    pattern); returns each clip's Ray overhead in seconds (round trip minus time in the actor)."""
    from posecheck.apps.batch import error_row

    queue = list(range(len(jobs)))[::-1]  # pop() takes the next clip in input order
    idle = list(workers)
    inflight: dict[Any, tuple[int, Any, float]] = {}
    overheads: list[float] = []
    while queue or inflight:
        while queue and idle:
            i, actor = queue.pop(), idle.pop()
            inflight[actor.score.remote(i, jobs[i], out, stride)] = (i, actor, time.perf_counter())
        ready, _ = ray.wait(list(inflight), num_returns=1, timeout=POLL_S)
        live = {i for i, _, _ in inflight.values()}
        for index, (frames, total) in ray.get(counter.snapshot.remote()).items():
            if index in live:  # a finished clip's count comes with its row
                tally.report(index, frames, total)
        for ref in ready:
            i, actor, t_sent = inflight.pop(ref)
            idle.append(actor)
            try:
                row, worker_s = ray.get(ref)
                overheads.append(time.perf_counter() - t_sent - worker_s)
            except ray.exceptions.RayTaskError as exc:
                row = error_row(jobs[i], f"internal error: {str(exc).splitlines()[0]}")
            except ray.exceptions.RayError as exc:
                row = error_row(
                    jobs[i],
                    f"worker died {RETRIES + 1} times on this clip "
                    f"(killed or out of memory): {type(exc).__name__}",
                )
            done(i, row)
    return overheads


def _release(ray: Any, actors: list[Any], started: bool) -> None:
    """Kill our actors (an interrupted batch leaves nothing running) and leave the cluster we
    joined; a cluster already gone (Ctrl-C reaches a local cluster's processes too) is fine."""
    with contextlib.suppress(Exception):
        for actor in actors:
            ray.kill(actor, no_restart=True)
    if started:
        with contextlib.suppress(Exception):
            ray.shutdown()

