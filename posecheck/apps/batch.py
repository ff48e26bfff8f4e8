"""Score many clips in parallel processes, optionally against labels.

Clips run on an engine: "local" (posecheck.apps.batch_local, worker processes here) or "ray"
(posecheck.apps.batch_ray, actors on a Ray cluster). Each worker loads one pose model and analyses
clip after clip with `analyse_video`; the parent only collects rows, scores them against the
labels and writes them as they finish (posecheck.apps.batch_output). A clip that fails (missing,
corrupt, no person...) is reported in its row and the others are still scored.

Labels follow ../shared/clips/labels.json: a list of objects with at least `file` and `exercise`,
and `reps` (int or null), `reps_min`/`reps_max` (a range where the count is uncertain) and `holds`
(list of {start_s, end_s}). A clip whose labelled exercise has no profile is a negative: it is
scored as the batch's exercise (glute bridge by default) and must count zero.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from posecheck.errors import LabelsError, PosecheckError

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


def _text_field(entry: dict[str, Any], key: str, where: str) -> str:
    """A required non-empty string: absent is "missing", any other value is a bad type."""
    value = entry.get(key)
    if value is None or value == "":
        raise LabelsError(f"{where}: missing '{key}'")
    if not isinstance(value, str):
        raise LabelsError(f"{where}: '{key}' must be a string, got {type(value).__name__}")
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
        file = _text_field(entry, "file", where)
        where = f"{source}: {file}"
        exercise = _text_field(entry, "exercise", where)
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
    """Read and validate a labels file; LabelsError (one line) for anything but UTF-8 JSON."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise LabelsError(f"{path}: not a JSON text file (not UTF-8)") from None
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


# ---------------------------------------------------------------- one clip

ProgressFn = Callable[[int, "int | None"], None]  # (frames analysed, frames in the clip or None)

ENGINES = ("local", "ray")
WORKER_MEMORY_BYTES = 450 * 1024 * 1024  # one worker's peak: model, decoder, frame queues


def run_job(
    job: ClipJob,
    model: str,
    out_dir: str | None,
    stride: int = 1,
    estimator: Any | None = None,
    progress: ProgressFn | None = None,
    *,
    stop: threading.Event | None = None,
) -> ClipRow:
    """Analyse one clip into a row (errors become the row's `error`).

    `estimator` (else the worker's own) is reset and reused, so a clip does not pay for loading
    the model; exercise auto-detection still loads its own. `progress(done, total)` follows the
    clip's frames; setting `stop` ends the clip at the next frame. An interrupted analysis raises
    KeyboardInterrupt: a half-analysed clip is not a finished row.
    """
    from posecheck.apps.analyse import analyse_video

    if estimator is None:
        from posecheck.apps import batch_local

        estimator = batch_local.worker_estimator()
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
            model=model,
            out_dir=clip_out,
            write_video=False,
            stride=stride,
            estimator=estimator,
            progress=progress or False,
            stop=stop,
        )
    except PosecheckError as exc:
        row.error = str(exc)
    except Exception as exc:  # a bug on one clip must not sink the batch
        row.error = f"internal error: {type(exc).__name__}: {exc}"
    else:
        if report.interrupted:
            raise KeyboardInterrupt
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


def error_row(job: ClipJob, message: str) -> ClipRow:
    path = Path(job.path)
    return ClipRow(clip=path.name, path=str(path), exercise=job.exercise, error=message)


# ---------------------------------------------------------------- the batch


def cap_workers(
    requested: int | None, clips: int, cores: int, available_bytes: int | None
) -> tuple[int, str | None]:
    """Local workers to start: the request (default: one a core) capped by cores, by available
    memory at ~450 MB a worker and by the clip count; with a one-line note when the machine,
    not the clip count, is what capped it (64 workers on 2 cores were 5.7x slower than one)."""
    by_memory = cores if available_bytes is None else available_bytes // WORKER_MEMORY_BYTES
    limit = max(1, min(cores, by_memory))
    want = requested if requested is not None else cores
    note = None
    if want > limit:
        gb = "" if available_bytes is None else f", {available_bytes / 1e9:.1f} GB available"
        asked = f"--workers {requested}" if requested is not None else f"{want} workers"
        note = f"{asked} capped to {limit} ({cores} cores{gb}, ~450 MB a worker)"
    return max(1, min(want, limit, clips)), note


def available_memory() -> int | None:
    """MemAvailable from /proc/meminfo in bytes (None where there is no such file)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


class FrameTally:
    """Frames analysed across the batch, from each clip's latest (done, total) report; the total
    grows as clips start (a retried clip starts again from zero)."""

    def __init__(self, on_frames: Callable[[int, int], None] | None) -> None:
        self._clips: dict[int, tuple[int, int]] = {}
        self._on_frames = on_frames

    def report(self, index: int, done: int, total: int | None) -> None:
        self._clips[index] = (done, max(done, total or 0))
        if self._on_frames is not None:
            self._on_frames(*self.totals())

    def finish(self, index: int, row: ClipRow) -> None:
        done = row.frames or self._clips.get(index, (0, 0))[0]
        self.report(index, done, done)

    def totals(self) -> tuple[int, int]:
        return (sum(d for d, _ in self._clips.values()), sum(t for _, t in self._clips.values()))


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
    on_frames: Callable[[int, int], None] | None = None,
    on_notice: Callable[[str], None] | None = None,
    engine: str = "local",
    address: str | None = None,
    stats: dict[str, Any] | None = None,
) -> tuple[list[ClipRow], dict[str, Any]]:
    """Analyse clips on `engine` ("local": worker processes here; "ray": Ray actors on the
    cluster at `address`/RAY_ADDRESS, else a local one); returns (rows in input order, summary).

    Rows reach `on_row` and --out's batch.csv/batch.json as clips finish, so an interrupt
    (KeyboardInterrupt, SIGTERM) keeps every finished row. `on_frames(done, total)` follows the
    frames; `on_notice` gets one-line notes (workers capped); `stats` receives engine timings.
    """
    from posecheck.core.profiles import get_profile

    if engine not in ENGINES:
        raise PosecheckError(f"unknown engine {engine!r}: choose one of {', '.join(ENGINES)}")
    if exercise is not None:
        get_profile(exercise)  # ProfileError before any work
    label_map = load_labels(labels) if isinstance(labels, (str, Path)) else labels
    clip_paths = expand_paths(paths)
    if not clip_paths:
        raise PosecheckError("no video files to analyse in: " + ", ".join(map(str, paths)))
    jobs = make_jobs(clip_paths, label_map, exercise)
    from posecheck.inputs.models import resolve_model

    model_path = str(resolve_model(model).path)  # ModelError here, not as N dead workers
    engine_run: Any = None
    if engine == "ray":
        from posecheck.apps import batch_ray

        engine_run = batch_ray.prepare(address)  # EngineError (no Ray, no cluster) before output
    writer = None
    if out_dir is not None:
        from posecheck.apps.analyse import prepare_out_dir
        from posecheck.apps.batch_output import TableWriter

        writer = TableWriter(prepare_out_dir(out_dir))
    out = None if writer is None else str(writer.out_dir)
    rows: list[ClipRow | None] = [None] * len(jobs)
    tally = FrameTally(on_frames)

    def done(i: int, row: ClipRow) -> None:
        score_row(row, jobs[i])
        rows[i] = row
        tally.finish(i, row)
        if writer is not None:
            writer.add(row)
        if on_row is not None:
            on_row(row)

    from posecheck.apps.analyse import sigterm_as_interrupt

    try:
        with sigterm_as_interrupt():
            if engine_run is not None:
                engine_run(jobs, model, out, stride, workers, done, tally, on_notice, stats)
            else:
                from posecheck.apps import batch_local

                n, note = cap_workers(workers, len(jobs), os.cpu_count() or 1, available_memory())
                if note is not None and on_notice is not None:
                    on_notice(note)
                batch_local.run(jobs, model_path, out, stride, n, done, tally)
    except KeyboardInterrupt:
        if writer is not None:
            writer.close(interrupted=True)
        raise
    final = [r for r in rows if r is not None]
    summary = summarise(final)
    if writer is not None:
        writer.finish(final, summary)
    return final, summary


def __getattr__(name: str) -> Any:
    """The table writers moved to posecheck.apps.batch_output; old imports keep working."""
    if name in ("TABLE_COLUMNS", "table_rows", "write_table"):
        from posecheck.apps import batch_output

        return getattr(batch_output, name)
    raise AttributeError(f"module 'posecheck.apps.batch' has no attribute {name!r}")
