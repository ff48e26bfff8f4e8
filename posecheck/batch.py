"""Score many clips in parallel processes, optionally against labels.

Each worker process loads its own pose model (`ProcessPoolExecutor` initializer) and analyses whole
clips with `analyse_video`; the parent only collects rows. A clip that fails (missing, corrupt, no
person...) is reported in its row and the others are still scored.

Labels follow ../shared/clips/labels.json: a list of objects with at least `file` and `exercise`,
and `reps` (int or null), `reps_min`/`reps_max` (a range where the count is uncertain) and `holds`
(list of {start_s, end_s}). A clip whose labelled exercise has no profile is a negative: it is
scored as the batch's exercise (glute bridge by default) and must count zero.
"""

from __future__ import annotations

import contextlib
import csv
import json
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from posecheck.errors import LabelsError, OutputError, PosecheckError

VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv")
HOLD_TOLERANCE_S = 0.25
LABELLED_HOLD_MIN_S = 1.0  # labels list pauses at the top of >= 1 s; shorter ones are not holds
NEGATIVE_EXERCISE = "glute_bridge"


# ---------------------------------------------------------------- labels


@dataclass(frozen=True)
class ClipLabel:
    file: str
    exercise: str
    reps: int | None
    reps_min: int | None
    reps_max: int | None
    holds: tuple[tuple[float, float], ...] = ()

    @property
    def count_range(self) -> tuple[int, int] | None:
        """The accepted rep counts (inclusive), or None when the label gives no count."""
        lo = self.reps_min if self.reps_min is not None else self.reps
        hi = self.reps_max if self.reps_max is not None else self.reps
        if lo is None or hi is None:
            return None
        return (lo, hi)


def _int_or_none(entry: dict[str, Any], key: str, where: str) -> int | None:
    value = entry.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise LabelsError(f"{where}: '{key}' must be a non-negative integer or null, got {value!r}")
    return value


def parse_labels(data: object, source: str = "labels") -> dict[str, ClipLabel]:
    """Validate labels (the parsed JSON) into {file name: ClipLabel}; LabelsError if malformed."""
    if isinstance(data, dict) and "clips" in data:
        data = data["clips"]
    if not isinstance(data, list):
        raise LabelsError(f"{source}: expected a JSON list of clip labels")
    labels: dict[str, ClipLabel] = {}
    for i, entry in enumerate(data):
        where = f"{source}: entry {i}"
        if not isinstance(entry, dict):
            raise LabelsError(f"{where}: expected an object, got {type(entry).__name__}")
        file, exercise = entry.get("file"), entry.get("exercise")
        if not isinstance(file, str) or not file:
            raise LabelsError(f"{where}: missing 'file'")
        where = f"{source}: {file}"
        if not isinstance(exercise, str) or not exercise:
            raise LabelsError(f"{where}: missing 'exercise'")
        reps = _int_or_none(entry, "reps", where)
        lo, hi = _int_or_none(entry, "reps_min", where), _int_or_none(entry, "reps_max", where)
        if lo is not None and hi is not None and lo > hi:
            raise LabelsError(f"{where}: reps_min {lo} > reps_max {hi}")
        holds_raw = entry.get("holds", [])
        if not isinstance(holds_raw, list):
            raise LabelsError(f"{where}: 'holds' must be a list")
        holds = []
        for h in holds_raw:
            try:
                start, end = float(h["start_s"]), float(h["end_s"])
            except (TypeError, KeyError, ValueError) as exc:
                raise LabelsError(f"{where}: each hold needs numeric start_s and end_s") from exc
            if not end > start:
                raise LabelsError(f"{where}: hold end_s {end} is not after start_s {start}")
            holds.append((start, end))
        name = Path(file).name
        if name in labels:
            raise LabelsError(f"{where}: labelled twice")
        labels[name] = ClipLabel(name, exercise, reps, lo, hi, tuple(holds))
    return labels


def load_labels(path: str | Path) -> dict[str, ClipLabel]:
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise LabelsError(f"labels file not found: {path}") from None
    except OSError as exc:
        raise LabelsError(f"cannot read labels file {path}: {exc.strerror or exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LabelsError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    return parse_labels(data, str(path))


# ---------------------------------------------------------------- jobs and rows


@dataclass(frozen=True)
class ClipJob:
    path: str
    exercise: str | None  # None = auto-detect
    label: ClipLabel | None = None
    negative: bool = False  # labelled exercise has no profile: must count zero


@dataclass
class ClipRow:
    """One row of the batch table."""

    clip: str
    path: str
    exercise: str | None = None
    auto_detected: bool = False
    reps: int | None = None
    partials: int | None = None
    holds: int | None = None
    hold_durations_s: list[float] = field(default_factory=list)
    hold_spans_s: list[tuple[float, float]] = field(default_factory=list)
    rep_tops_s: list[float] = field(default_factory=list)
    detection_rate: float | None = None
    fps: float | None = None  # analysed frames per second of wall time
    frames: int | None = None
    error: str | None = None
    # with labels
    labelled_exercise: str | None = None
    negative: bool = False
    expected_reps: str | None = None  # "5", "2-5", "0 (negative)"
    count_error: int | None = None  # signed distance of the count from the accepted range
    labelled_holds: int = 0
    hold_errors_s: list[float] = field(default_factory=list)
    hold_problems: list[str] = field(default_factory=list)
    passed: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; directories expand to the videos inside (sorted, not recursive)."""
    out: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            out.extend(
                sorted(
                    c for c in path.iterdir() if c.is_file() and c.suffix.lower() in VIDEO_SUFFIXES
                )
            )
        else:
            out.append(path)
    seen: set[str] = set()
    unique = []
    for p in out:
        key = os.path.abspath(p)  # not resolve(): two links to one file are two clips
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def make_jobs(
    paths: Sequence[Path], labels: dict[str, ClipLabel] | None, exercise: str | None
) -> list[ClipJob]:
    """Decide per clip which profile to run and whether it is a negative."""
    from posecheck.core.profiles import PROFILES

    jobs = []
    for path in paths:
        label = labels.get(path.name) if labels else None
        if label is None:
            jobs.append(ClipJob(str(path), exercise))
            continue
        has_profile = label.exercise in PROFILES
        if exercise is not None:
            negative = label.exercise != exercise
            jobs.append(ClipJob(str(path), exercise, label, negative))
        elif has_profile:
            jobs.append(ClipJob(str(path), label.exercise, label, False))
        else:
            jobs.append(ClipJob(str(path), NEGATIVE_EXERCISE, label, True))
    return jobs


def score_row(row: ClipRow, job: ClipJob) -> None:
    """Fill the expected values and pass/fail of a row from its label."""
    label = job.label
    if label is None:
        return
    row.labelled_exercise = label.exercise
    row.negative = job.negative
    row.labelled_holds = 0 if job.negative else len(label.holds)
    if row.error is not None:
        row.passed = False
        return
    expected = (0, 0) if job.negative else label.count_range
    if expected is None:
        row.expected_reps = None
    else:
        lo, hi = expected
        row.expected_reps = f"{lo}" if lo == hi else f"{lo}-{hi}"
        if job.negative:
            row.expected_reps += " (negative)"
        count = row.reps or 0
        row.count_error = count - lo if count < lo else (count - hi if count > hi else 0)
    ok = row.count_error in (0, None)
    if not job.negative:
        ok = score_holds(row, label) and ok
    row.passed = ok


def score_holds(row: ClipRow, label: ClipLabel, tol: float = HOLD_TOLERANCE_S) -> bool:
    """Each labelled hold must match a counted one within ±tol seconds; no extra long holds."""
    counted = list(row.hold_spans_s)
    used: set[int] = set()
    ok = True
    for start, end in label.holds:
        best, best_overlap = None, 0.0
        for i, (cs, ce) in enumerate(counted):
            overlap = min(end, ce) - max(start, cs)
            if i not in used and overlap > best_overlap:
                best, best_overlap = i, overlap
        if best is None:
            row.hold_problems.append(f"missed hold {start:.1f}-{end:.1f}s")
            ok = False
            continue
        used.add(best)
        cs, ce = counted[best]
        err = (ce - cs) - (end - start)
        row.hold_errors_s.append(round(err, 3))
        if abs(err) > tol:
            row.hold_problems.append(
                f"hold {start:.1f}-{end:.1f}s counted {cs:.2f}-{ce:.2f}s ({err:+.2f}s)"
            )
            ok = False
    for i, (cs, ce) in enumerate(counted):
        if i not in used and ce - cs >= LABELLED_HOLD_MIN_S:
            row.hold_problems.append(f"extra hold {cs:.2f}-{ce:.2f}s")
            ok = False
    return ok


def summarise(rows: Sequence[ClipRow]) -> dict[str, Any]:
    """Accuracy over labelled rows: exact-count rate, MAE, off-by-one rate, hold timing error."""
    scored = [r for r in rows if r.passed is not None]
    counted = [r for r in scored if r.count_error is not None]
    hold_errs = [abs(e) for r in scored for e in r.hold_errors_s]
    errors = [r for r in rows if r.error is not None]
    out: dict[str, Any] = {
        "clips": len(rows),
        "labelled": len(scored),
        "errors": len(errors),
        "passed": sum(1 for r in scored if r.passed),
        "failed": sum(1 for r in scored if not r.passed),
    }
    if counted:
        abs_err = [abs(r.count_error or 0) for r in counted]
        out["exact_count_rate"] = round(sum(e == 0 for e in abs_err) / len(counted), 4)
        out["mean_abs_count_error"] = round(sum(abs_err) / len(counted), 4)
        out["off_by_one_rate"] = round(sum(e <= 1 for e in abs_err) / len(counted), 4)
    if hold_errs:
        out["hold_timing_mae_s"] = round(sum(hold_errs) / len(hold_errs), 3)
        out["hold_timing_max_s"] = round(max(hold_errs), 3)
        out["holds_matched"] = len(hold_errs)
    out["holds_labelled"] = sum(r.labelled_holds for r in scored)
    return out


# ---------------------------------------------------------------- workers

_WORKER_MODEL: str | None = None
_WORKER_ESTIMATOR: Any | None = None  # one per worker process, reset between its clips

# Native thread pools sized to the machine would make N workers fight over N cores: one thread
# each (mediapipe's XNNPACK already runs single-threaded on desktop Linux).
WORKER_THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


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


def _init_worker(model: str, side_model: bool = False) -> None:
    """Per worker: load the model once (fails fast) and keep it, one native thread, quiet on
    Ctrl-C. `side_model` (the estimator's census thread) only pays when a core is spare."""
    import signal

    import cv2

    global _WORKER_MODEL, _WORKER_ESTIMATOR
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    cv2.setNumThreads(1)
    from posecheck.pose import PoseEstimator

    _WORKER_ESTIMATOR = PoseEstimator(model, side_model=side_model)
    _WORKER_MODEL = str(_WORKER_ESTIMATOR.model_path)


def run_job(
    job: ClipJob, model: str, out_dir: str | None, stride: int = 1, estimator: Any | None = None
) -> ClipRow:
    """Analyse one clip into a row (errors become the row's `error`).

    `estimator` (else the worker's own) is reset and reused, so a clip does not pay for loading
    the model; exercise auto-detection still loads its own.
    """
    from posecheck.analyse import analyse_video

    if estimator is None:
        estimator = _WORKER_ESTIMATOR
    if job.exercise is None:
        estimator = None  # analyse_video's guess needs the real source and its own estimator
    elif estimator is not None:
        estimator.reset()

    path = Path(job.path)
    row = ClipRow(clip=path.name, path=str(path), exercise=job.exercise)
    clip_out = None
    if out_dir is not None:
        clip_out = Path(out_dir) / "clips" / path.stem
    try:
        report = analyse_video(
            path,
            job.exercise,
            model=_WORKER_MODEL or model,
            out_dir=clip_out,
            write_video=False,
            stride=stride,
            estimator=estimator,
        )
    except PosecheckError as exc:
        row.error = str(exc)
    except Exception as exc:  # a bug on one clip must not sink the batch
        row.error = f"internal error: {type(exc).__name__}: {exc}"
    else:
        row.exercise = report.exercise
        row.auto_detected = report.exercise_auto_detected
        row.reps = report.rep_count
        row.partials = report.partial_count
        row.holds = report.hold_count
        row.hold_durations_s = [round(float(h.duration_s), 2) for h in report.holds]
        row.rep_tops_s = [round(float(r.top_ms) / 1000.0, 2) for r in report.reps]
        row.detection_rate = round(float(report.detection_rate), 4)
        row.fps = round(float(report.processing_fps), 1) if report.processing_fps else None
        row.frames = report.frames
        row.hold_spans_s = [
            (round(float(h.start_ms) / 1000.0, 3), round(float(h.end_ms) / 1000.0, 3))
            for h in report.holds
        ]
    return row


def _finish(row: ClipRow, job: ClipJob) -> ClipRow:
    score_row(row, job)
    return row


def run_batch(
    paths: Sequence[str | Path],
    *,
    labels: str | Path | dict[str, ClipLabel] | None = None,
    exercise: str | None = None,
    workers: int | None = None,
    model: str = "full",
    out_dir: str | Path | None = None,
    stride: int = 1,
    on_row: Callable[[ClipRow], None] | None = None,
) -> tuple[list[ClipRow], dict[str, Any]]:
    """Analyse clips in `workers` processes; returns (rows in input order, accuracy summary)."""
    from posecheck.core.profiles import get_profile

    if exercise is not None:
        get_profile(exercise)  # ProfileError before any work
    label_map = load_labels(labels) if isinstance(labels, (str, Path)) else labels
    clip_paths = expand_paths(paths)
    if not clip_paths:
        raise PosecheckError("no video files to analyse in: " + ", ".join(map(str, paths)))
    out = None
    if out_dir is not None:
        from posecheck.analyse import prepare_out_dir

        out = str(prepare_out_dir(out_dir))
    jobs = make_jobs(clip_paths, label_map, exercise)
    n_workers = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    rows: list[ClipRow | None] = [None] * len(jobs)

    def done(i: int, row: ClipRow) -> None:
        rows[i] = _finish(row, jobs[i])
        if on_row is not None:
            on_row(rows[i])  # type: ignore[arg-type]

    from posecheck.analyse import sigterm_as_interrupt
    from posecheck.models import resolve_model

    model_path = str(resolve_model(model).path)  # ModelError here, not as N dead workers
    with sigterm_as_interrupt():
        if n_workers == 1:
            from posecheck.pose import PoseEstimator

            with PoseEstimator(model_path) as est:
                for i, job in enumerate(jobs):
                    done(i, run_job(job, model_path, out, stride, est))
        else:
            _run_pool(jobs, model_path, out, stride, n_workers, done)
    final = [r for r in rows if r is not None]
    summary = summarise(final)
    if out is not None:
        write_table(Path(out), final, summary)
    return final, summary


def _run_pool(
    jobs: list[ClipJob],
    model: str,
    out: str | None,
    stride: int,
    n_workers: int,
    done: Callable[[int, ClipRow], None],
) -> None:
    """Clips over worker processes, one model each; Ctrl-C/SIGTERM stops the workers at once."""
    from concurrent.futures import as_completed

    ctx = multiprocessing.get_context("spawn")  # no fork of a process holding threads
    pool = ProcessPoolExecutor(
        max_workers=n_workers, mp_context=ctx, initializer=_init_worker,
        initargs=(model, n_workers < (os.cpu_count() or 1)),
    )
    try:
        with _worker_env():  # workers are spawned on submit
            futures: dict[Future[ClipRow], int] = {
                pool.submit(run_job, job, model, out, stride): i for i, job in enumerate(jobs)
            }
        for fut in as_completed(futures):
            i = futures[fut]
            try:
                row = fut.result()
            except BrokenProcessPool as exc:
                row = _error_row(jobs[i], f"worker died: {exc}")
            done(i, row)
    except KeyboardInterrupt:
        for proc in list(getattr(pool, "_processes", {}).values()):
            proc.terminate()  # a clip can take minutes: don't wait for it
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    else:
        pool.shutdown(wait=True)


def _error_row(job: ClipJob, message: str) -> ClipRow:
    path = Path(job.path)
    return ClipRow(clip=path.name, path=str(path), exercise=job.exercise, error=message)


# ---------------------------------------------------------------- table output

TABLE_COLUMNS = (
    "clip", "exercise", "reps", "partials", "holds", "detection_rate", "fps",
    "expected_reps", "count_error", "hold_errors_s", "passed", "error",
)  # fmt: skip


def table_rows(rows: Sequence[ClipRow]) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        d = r.as_dict()
        out.append({k: d[k] for k in TABLE_COLUMNS})
    return out


def write_table(out_dir: Path, rows: Sequence[ClipRow], summary: dict[str, Any]) -> None:
    """batch.csv (one row per clip), batch.json (rows in full + summary) and index.html."""
    try:
        with (out_dir / "batch.csv").open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=TABLE_COLUMNS)
            writer.writeheader()
            for d in table_rows(rows):
                d["hold_errors_s"] = " ".join(f"{e:+.2f}" for e in d["hold_errors_s"])
                d["passed"] = "" if d["passed"] is None else ("pass" if d["passed"] else "FAIL")
                writer.writerow(d)
        doc = {"summary": summary, "clips": [r.as_dict() for r in rows]}
        (out_dir / "batch.json").write_text(json.dumps(doc, indent=2, default=_json_default) + "\n")
    except OSError as exc:
        raise OutputError(f"cannot write batch table in {out_dir}: {exc.strerror or exc}") from exc
    from posecheck.review import write_batch_index

    write_batch_index(out_dir)  # index.html: the table, each clip linking to its report.html


def _json_default(obj: object) -> object:
    from posecheck.report import _plain

    return _plain(obj)
