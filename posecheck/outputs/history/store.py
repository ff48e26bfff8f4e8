"""Session history: every analysed or live session in one SQLite file, for progress over weeks.

Why SQLite: one file in the user's data dir, transactional writes, no server. The database is in
WAL mode and each session is written in one transaction, so a crash or Ctrl-C mid-write leaves
every committed session intact and the file readable. The schema is versioned with
`PRAGMA user_version` and upgraded in place by `MIGRATIONS`.

Where it lives: `--db PATH`, else `$POSECHECK_DB`, else the platform's user data dir
(platformdirs when installed, else `$XDG_DATA_HOME` or `~/.local/share`), in
`posecheck/history.sqlite3`.
Set `POSECHECK_NO_HISTORY=1` to make `record_session` a no-op (tests, CI).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from posecheck.errors import PosecheckError

DB_FILENAME = "history.sqlite3"
HIP_RANGE_DEG = (-45.0, 150.0)  # anything outside is a measurement artefact, not a hip angle


class HistoryError(PosecheckError):
    """The history database cannot be opened, read or written, or an import is invalid."""


# --------------------------------------------------------------------------- schema

# Each entry upgrades the schema from version i to i + 1, inside one transaction.
MIGRATIONS: tuple[str, ...] = (
    # 1: sessions with their derived metrics (queried without parsing JSON), reps per session.
    """
    CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        uid TEXT NOT NULL UNIQUE,
        started_at TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        exercise TEXT NOT NULL,
        kind TEXT,
        mode TEXT NOT NULL,
        source TEXT NOT NULL DEFAULT '',
        duration_s REAL,
        rep_count INTEGER NOT NULL,
        partial_count INTEGER NOT NULL,
        reps_left INTEGER NOT NULL,
        reps_right INTEGER NOT NULL,
        hold_count INTEGER NOT NULL,
        holds_met INTEGER NOT NULL,
        tut_s REAL NOT NULL,
        peak_flexion_deg REAL,
        peak_extension_deg REAL,
        rom_left_deg REAL,
        rom_right_deg REAL,
        detection_rate REAL,
        side_used TEXT,
        report_json TEXT
    );
    CREATE INDEX sessions_started ON sessions(started_at);
    CREATE INDEX sessions_exercise_started ON sessions(exercise, started_at);
    CREATE TABLE reps (
        session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        side TEXT NOT NULL,
        start_s REAL NOT NULL,
        end_s REAL NOT NULL,
        rom_deg REAL,
        peak_deg REAL,
        partial INTEGER NOT NULL,
        hold_s REAL,
        PRIMARY KEY (session_id, partial, idx)
    ) WITHOUT ROWID;
    """,
    # 2: routine runs, so the blocks of one routine session can be reported together.
    """
    CREATE TABLE routine_runs (
        id INTEGER PRIMARY KEY,
        uid TEXT NOT NULL UNIQUE,
        routine TEXT NOT NULL,
        started_at TEXT NOT NULL,
        balance_json TEXT
    );
    ALTER TABLE sessions ADD COLUMN routine_run_id INTEGER REFERENCES routine_runs(id);
    ALTER TABLE sessions ADD COLUMN block_index INTEGER;
    CREATE INDEX sessions_routine_run ON sessions(routine_run_id);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class RepRecord:
    """One rep as history keeps it (seconds on the session clock)."""

    side: str
    start_s: float
    end_s: float
    rom_deg: float | None = None
    peak_deg: float | None = None  # signed hip flexion at the rep's extreme (negative = extension)
    partial: bool = False
    hold_s: float | None = None
    hold_met: bool = False
    top_s: float | None = None
    faults: tuple[str, ...] = ()  # form rules that fired on the rep (e.g. "over_arch")

    @property
    def duration_s(self) -> float:
        return max(0.0, self.end_s - self.start_s)


@dataclass(frozen=True)
class SessionRecord:
    """One exercise session (or one block of a routine), normalised from any report shape."""

    exercise: str
    reps: tuple[RepRecord, ...]
    started_at: str  # ISO 8601, UTC
    kind: str | None = None  # "flexion" / "extension"
    mode: str = "video"  # "video", "live", "routine", "import", ...
    source: str = ""
    duration_s: float | None = None
    partials: tuple[RepRecord, ...] = ()
    detection_rate: float | None = None
    side_used: str | None = None
    report: dict[str, Any] | None = field(default=None, compare=False)
    uid: str = ""

    @property
    def rep_count(self) -> int:
        return len(self.reps)

    def metrics(self) -> dict[str, Any]:
        """The derived numbers stored as columns (see `session_metrics`)."""
        return session_metrics(self.reps, self.kind, self.side_used, self.exercise)


def over_arch_limit(exercise: str | None) -> float | None:
    """The exercise's over-arch limit (signed hip flexion, e.g. -15°), or None if it has none.

    It is the `over_arch` form rule's `min_deg` in the exercise profile: beyond it the lower
    back, not the hip, is finishing the rep (a bridge's own safe range ends there).
    """
    try:
        from posecheck.core.profiles import get_profile

        prof = get_profile(exercise) if exercise else None
    except (ImportError, PosecheckError):
        return None
    for ref in prof.rules if prof is not None else ():
        if ref.name == "over_arch":
            return ref.kwargs.get("min_deg", -15.0)
    return None


def over_arched(rep: RepRecord, limit: float | None) -> bool:
    """True when the over-arch cue fired on the rep or its peak lies past `limit`.

    A peak beyond what a hip and a back can do together (`HIP_RANGE_DEG`) is a measurement
    artefact, not an over-arch: it stays in the figures, where the balance report names it.
    """
    peak = rep.peak_deg
    known = peak is not None and math.isfinite(peak)
    if known and peak < HIP_RANGE_DEG[0]:
        return False
    if "over_arch" in rep.faults:
        return True
    return limit is not None and known and peak < limit


def session_metrics(
    reps: Iterable[RepRecord],
    kind: str | None = None,
    side_used: str | None = None,
    exercise: str | None = None,
) -> dict[str, Any]:
    """Per-session numbers the history and the balance report share.

    Time under tension is the summed duration of full reps (start to end, holds included).
    Each rep spans [peak - ROM, peak] for flexion work and [peak, peak + ROM] for extension
    work (its peak is its extreme in the exercise's direction). Peak flexion is the most flexed
    end reached; peak extension is minus the least flexed end: degrees past neutral, negative
    when the hip never reached neutral. ROM per side: a rep of one leg counts for that leg; a
    rep of both legs (a bridge seen from the side) counts for the side it was measured on
    (`side_used`), or for both when both were trusted. Rep counts per side are one-leg reps only.
    Over-arched reps (`over_arched`, limit from `exercise`) count as reps and time under tension,
    but not towards peaks or ROM: lower-back extension is a form fault, not hip range.
    """
    reps = [r for r in reps if not r.partial]
    limit = over_arch_limit(exercise)
    faulty = [r for r in reps if over_arched(r, limit)]
    clean = [r for r in reps if not over_arched(r, limit)]
    both_to = (side_used,) if side_used in ("left", "right") else ("left", "right")
    left = [r for r in clean if r.side == "left" or (r.side == "both" and "left" in both_to)]
    right = [r for r in clean if r.side == "right" or (r.side == "both" and "right" in both_to)]
    holds = [r for r in reps if r.hold_s is not None and r.hold_s > 0]
    ends: list[float] = []
    for r in clean:
        if r.peak_deg is None or not math.isfinite(r.peak_deg):
            continue
        ends.append(r.peak_deg)
        if r.rom_deg is not None and math.isfinite(r.rom_deg):
            extension = kind == "extension" or (kind is None and r.peak_deg <= 0)
            first, second = (1, -1) if extension else (-1, 1)
            # a report's ROM is on the profile's own signal, which is not always the hip: keep
            # the other end only where a hip can be (≈-45° .. 150°)
            for sign in (first, second):
                other = r.peak_deg + sign * r.rom_deg
                if HIP_RANGE_DEG[0] <= other <= HIP_RANGE_DEG[1]:
                    ends.append(other)
                    break
    return {
        "rep_count": len(reps),
        "reps_left": sum(1 for r in reps if r.side == "left"),
        "reps_right": sum(1 for r in reps if r.side == "right"),
        "hold_count": len(holds),
        "holds_met": sum(1 for r in holds if r.hold_met),
        "tut_s": round(sum(r.duration_s for r in reps), 3),
        "peak_flexion_deg": round(max(ends), 2) if ends else None,
        "peak_extension_deg": round(-min(ends), 2) if ends else None,
        "rom_left_deg": _mean_rom(left),
        "rom_right_deg": _mean_rom(right),
        "over_arched": len(faulty),
        "over_arch_peak_deg": _round(min((r.peak_deg for r in faulty if r.peak_deg is not None),
                                         default=None)),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _mean_rom(reps: list[RepRecord]) -> float | None:
    values = [r.rom_deg for r in reps if r.rom_deg is not None and math.isfinite(r.rom_deg)]
    return round(sum(values) / len(values), 2) if values else None


def _num(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _secs(d: Mapping[str, Any], name: str) -> float | None:
    """Read `name_s`, or `name_ms` / 1000, from a report dict."""
    if f"{name}_s" in d:
        return _num(d[f"{name}_s"])
    if f"{name}_ms" in d:
        ms = _num(d[f"{name}_ms"])
        return None if ms is None else ms / 1000.0
    return None


def _rep_from_dict(d: Mapping[str, Any], partial: bool = False) -> RepRecord:
    hold = d.get("hold")
    hold_s = hold_met = None
    if isinstance(hold, Mapping):
        hold_s = _num(hold.get("duration_s"))
        if hold_s is None:
            start, end = _secs(hold, "start"), _secs(hold, "end")
            hold_s = None if start is None or end is None else end - start
        hold_met = hold.get("target_met", hold.get("met"))
        if hold_met is None:
            target = _num(hold.get("target_s")) or 0.0
            hold_met = bool(target > 0 and hold_s is not None and hold_s >= target)
    return RepRecord(
        side=str(d.get("side") or "both"),
        start_s=_secs(d, "start") or 0.0,
        end_s=_secs(d, "end") or 0.0,
        top_s=_secs(d, "top"),
        rom_deg=_num(d.get("rom_deg")),
        peak_deg=_num(d.get("peak_deg")),
        partial=bool(d.get("partial", partial)),
        hold_s=hold_s,
        hold_met=bool(hold_met),
        faults=_rep_faults(d.get("cues")),
    )


def _rep_faults(cues: Any) -> tuple[str, ...]:
    """The rule names of a report rep's cues (`[{"rule": ...}, ...]`), in order, once each."""
    if not isinstance(cues, list):
        return ()
    names = (c.get("rule") for c in cues if isinstance(c, Mapping))
    return tuple(dict.fromkeys(str(n) for n in names if n))


def _to_plain(obj: Any) -> Any:
    """A report object as plain JSON data (dataclass, object with to_dict/to_json, or dict)."""
    if isinstance(obj, Mapping):
        return dict(obj)
    for method in ("to_dict", "as_dict"):
        if hasattr(obj, method):
            return getattr(obj, method)()
    if hasattr(obj, "to_json"):
        return json.loads(obj.to_json())
    if is_dataclass(obj) and not isinstance(obj, type):
        return json.loads(json.dumps(asdict(obj), default=str))
    raise HistoryError(f"cannot store a {type(obj).__name__} as a session")


def session_from_report(
    report: Any, *, mode: str | None = None, started_at: str | None = None
) -> SessionRecord:
    """Normalise a `SessionReport`, a report.json dict or a `SessionRecord` for storage."""
    if isinstance(report, SessionRecord):
        return report
    data = _to_plain(report)
    if not isinstance(data, dict) or not data.get("exercise"):
        raise HistoryError("not a posecheck session report (no 'exercise')")
    exercise = data["exercise"]
    if isinstance(exercise, Mapping):  # {"name": ..., "kind": ...}
        kind = exercise.get("kind")
        exercise = exercise.get("name")
    else:
        kind = data.get("kind")
    raw_reps = data.get("reps") or []
    if not isinstance(raw_reps, list):
        raise HistoryError("report 'reps' is not a list")
    reps = [_rep_from_dict(r) for r in raw_reps if isinstance(r, Mapping)]
    raw_partials = data.get("partials") or []
    partials = [_rep_from_dict(r, True) for r in raw_partials if isinstance(r, Mapping)]
    full = tuple(r for r in reps if not r.partial)
    partials = [*partials, *(r for r in reps if r.partial)]
    when = started_at or data.get("started_at") or data.get("created_at") or data.get("created")
    when = to_utc_iso(when) if when else _now()
    source = data.get("source") or data.get("video") or data.get("input") or ""
    duration = _num(data.get("duration_s"))
    uid = (str(data.get("session_id") or data.get("uid") or "")
           or reanalysis_uid(data, mode or str(data.get("mode") or "video")) or _digest(data))
    return SessionRecord(
        exercise=str(exercise),
        kind=str(kind) if kind else _profile_kind(str(exercise)),
        reps=full,
        partials=tuple(partials),
        started_at=when,
        mode=mode or str(data.get("mode") or "video"),
        source=str(source),
        duration_s=duration,
        detection_rate=_num(data.get("detection_rate")),
        side_used=data.get("side_used"),
        report=data,
        uid=uid,
    )


def _profile_kind(exercise: str) -> str | None:
    try:
        from posecheck.core.profiles import PROFILES
    except ImportError:
        return None
    prof = PROFILES.get(exercise)
    return str(prof.kind) if prof is not None and getattr(prof, "kind", None) else None


# What makes two analyses of a recorded file the same analysis (besides the file's bytes).
ANALYSIS_SETTINGS = ("exercise", "model", "stride", "hold_target_s", "rep_target")


def reanalysis_uid(data: Mapping[str, Any], mode: str) -> str | None:
    """For a recorded video that still exists: a uid from its content and the settings, so
    analysing the same file again with the same settings is recognised, not stored twice.

    Why content, not the path: a copied or renamed file is the same session; an edited file
    at the same path is not. None for live sessions or a source that is gone.
    """
    source = Path(str(data.get("source") or ""))
    if mode != "video" or not source.is_file():
        return None
    from posecheck.inputs.models import file_sha256  # the bundles' checked hash, cached per file

    try:
        content = file_sha256(source)
    except OSError:
        return None
    return _digest({"content": content, **{k: data.get(k) for k in ANALYSIS_SETTINGS}})


def _digest(data: Mapping[str, Any]) -> str:
    blob = json.dumps(data, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:32]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def to_utc_iso(value: Any) -> str:
    """Normalise a timestamp (ISO text or epoch seconds) to ISO 8601 UTC."""
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, timezone.utc).isoformat(timespec="seconds")
    try:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise HistoryError(f"bad timestamp: {value!r} (want ISO 8601, e.g. 2025-06-01)") from exc
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).isoformat(timespec="seconds")


# --------------------------------------------------------------------------- database


def default_db_path() -> Path:
    """`$POSECHECK_DB`, else the user data dir's posecheck/history.sqlite3."""
    env = os.environ.get("POSECHECK_DB")
    return Path(env).expanduser() if env else user_db_path()


def user_db_path() -> Path:
    """The user data dir's posecheck/history.sqlite3 (what `--help` names as the default)."""
    try:
        import platformdirs

        base = Path(platformdirs.user_data_dir("posecheck", appauthor=False))
    except ImportError:
        xdg = os.environ.get("XDG_DATA_HOME")
        root = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
        base = root / "posecheck"
    return base / DB_FILENAME


@dataclass(frozen=True)
class SessionRow:
    """A stored session's columns (what `posecheck history` lists)."""

    id: int
    started_at: str
    exercise: str
    kind: str | None
    mode: str
    source: str
    rep_count: int
    partial_count: int
    reps_left: int
    reps_right: int
    hold_count: int
    holds_met: int
    tut_s: float
    peak_flexion_deg: float | None
    peak_extension_deg: float | None
    rom_left_deg: float | None
    rom_right_deg: float | None
    detection_rate: float | None
    routine_run_id: int | None = None
    block_index: int | None = None


_ROW_COLS = ", ".join(SessionRow.__dataclass_fields__)


@dataclass(frozen=True)
class WeekRow:
    """One exercise's sessions in one ISO week (for the progress plot)."""

    week: str  # Monday of the week, YYYY-MM-DD
    exercise: str
    kind: str | None
    sessions: int
    reps: int
    peak_extension_deg: float | None  # best of the week
    peak_flexion_deg: float | None
    rom_left_deg: float | None  # mean of session means
    rom_right_deg: float | None


_Method = TypeVar("_Method", bound=Callable[..., Any])


def _db_errors(method: _Method) -> _Method:
    """A damaged file often passes the open and fails on the first read or write: one line."""

    @functools.wraps(method)
    def wrapper(self: History, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.DatabaseError as exc:
            if type(exc) is sqlite3.DatabaseError:  # not locked/busy (OperationalError)
                raise HistoryError(
                    f"history database {self.path} is damaged ({exc}); move it aside to start a "
                    "new one"
                ) from exc
            raise HistoryError(f"history database {self.path}: {exc}") from exc

    return wrapper  # type: ignore[return-value]


class History:
    """The history database. Use as a context manager, or call `close()`."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._con = sqlite3.connect(self.path, timeout=15.0, isolation_level=None)
            self._con.execute("PRAGMA busy_timeout = 15000")
            self._refuse_foreign_database()
            mode = self._con.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal" and str(self.path) != ":memory:":
                raise HistoryError(f"history database {self.path} cannot use WAL mode ({mode})")
            # FULL: a committed session survives power loss too, not just a process crash.
            self._con.execute("PRAGMA synchronous = FULL")
            self._con.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise HistoryError(f"cannot open history database {self.path}: {exc}") from exc
        except OSError as exc:
            raise HistoryError(f"cannot create history database {self.path}: {exc}") from exc

    # -- lifecycle
    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _refuse_foreign_database(self) -> None:
        """Another program's SQLite file (tables, schema v0) is never altered: a mistyped --db
        must not get posecheck tables or a new journal mode added to it."""
        version = int(self._con.execute("PRAGMA user_version").fetchone()[0])
        tables = {
            row[0]
            for row in self._con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        if version == 0 and tables:
            self._con.close()
            raise HistoryError(
                f"{self.path} is not a posecheck history database (it has tables "
                f"{', '.join(sorted(tables)[:3])}); pass another --db"
            )

    @property
    def schema_version(self) -> int:
        return int(self._con.execute("PRAGMA user_version").fetchone()[0])

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it is committed, or none of it (BEGIN IMMEDIATE)."""
        self._con.execute("BEGIN IMMEDIATE")
        try:
            yield self._con
        except BaseException:
            self._con.execute("ROLLBACK")
            raise
        else:
            self._con.execute("COMMIT")

    def _migrate(self) -> None:
        version = self.schema_version
        if version > SCHEMA_VERSION:
            raise HistoryError(
                f"history database {self.path} is schema v{version}, newer than this "
                f"posecheck (v{SCHEMA_VERSION}); upgrade posecheck"
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            with self.transaction() as con:
                for statement in _statements(MIGRATIONS[target - 1]):
                    con.execute(statement)
                con.execute(f"PRAGMA user_version = {target}")

    # -- writes
    @_db_errors
    def add_session(
        self,
        record: SessionRecord,
        *,
        routine_run_id: int | None = None,
        block_index: int | None = None,
    ) -> int | None:
        """Store one session in its own transaction; return its id, or None if already stored."""
        with self.transaction() as con:
            return self._insert(con, record, routine_run_id, block_index)

    @_db_errors
    def add_sessions(self, records: Iterable[SessionRecord]) -> int:
        """Store many sessions in one transaction (an import); return how many were new."""
        added = 0
        with self.transaction() as con:
            for record in records:
                added += self._insert(con, record, None, None) is not None
        return added

    @_db_errors
    def add_routine_run(
        self,
        routine: str,
        blocks: list[SessionRecord | None],
        *,
        started_at: str | None = None,
        balance: Mapping[str, Any] | None = None,
    ) -> int:
        """Store a routine session and its counted blocks in one transaction; return its id."""
        when = to_utc_iso(started_at) if started_at else _now()
        uid = _digest({"routine": routine, "at": when, "blocks": [b and b.uid for b in blocks]})
        with self.transaction() as con:
            cur = con.execute(
                "INSERT INTO routine_runs (uid, routine, started_at, balance_json) "
                "VALUES (?, ?, ?, ?)",
                (uid, routine, when, json.dumps(balance) if balance is not None else None),
            )
            run_id = int(cur.lastrowid or 0)
            for i, block in enumerate(blocks):
                if block is not None:
                    self._insert(con, block, run_id, i)
        return run_id

    def _insert(
        self,
        con: sqlite3.Connection,
        r: SessionRecord,
        routine_run_id: int | None,
        block_index: int | None,
    ) -> int | None:
        m = r.metrics()
        started_at = to_utc_iso(r.started_at)  # refuses a malformed date before it is stored
        uid = r.uid or _digest({"exercise": r.exercise, "at": r.started_at, "src": r.source,
                                "reps": [asdict(x) for x in r.reps]})
        cur = con.execute(
            "INSERT OR IGNORE INTO sessions (uid, started_at, recorded_at, exercise, kind, mode,"
            " source, duration_s, rep_count, partial_count, reps_left, reps_right, hold_count,"
            " holds_met, tut_s, peak_flexion_deg, peak_extension_deg, rom_left_deg, rom_right_deg,"
            " detection_rate, side_used, report_json, routine_run_id, block_index)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                uid, started_at, _now(), r.exercise, r.kind, r.mode, r.source, r.duration_s,
                m["rep_count"], len(r.partials), m["reps_left"], m["reps_right"],
                m["hold_count"], m["holds_met"], m["tut_s"], m["peak_flexion_deg"],
                m["peak_extension_deg"], m["rom_left_deg"], m["rom_right_deg"],
                r.detection_rate, r.side_used,
                json.dumps(r.report, default=str) if r.report is not None else None,
                routine_run_id, block_index,
            ),
        )
        if cur.rowcount == 0:
            return None
        sid = int(cur.lastrowid or 0)
        rows = [
            (sid, i, rep.side, rep.start_s, rep.end_s, rep.rom_deg, rep.peak_deg, int(partial),
             rep.hold_s)
            for partial, reps in ((False, r.reps), (True, r.partials))
            for i, rep in enumerate(reps, start=1)
        ]
        con.executemany("INSERT INTO reps VALUES (?,?,?,?,?,?,?,?,?)", rows)
        return sid

    # -- reads
    @_db_errors
    def count(self) -> int:
        return int(self._con.execute("SELECT count(*) FROM sessions").fetchone()[0])

    @_db_errors
    def sessions(
        self,
        *,
        exercise: str | None = None,
        since: str | None = None,
        until: str | None = None,
        kind: str | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[SessionRow]:
        """Stored sessions, oldest first (newest first with `limit` for "the last N")."""
        where, args = _filters(exercise=exercise, since=since, until=until, kind=kind)
        order = "DESC" if newest_first else "ASC"
        sql = f"SELECT {_ROW_COLS} FROM sessions{where} ORDER BY started_at {order}, id {order}"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(int(limit))
        return [SessionRow(*row) for row in self._con.execute(sql, args)]

    @_db_errors
    def reps(self, session_id: int) -> list[RepRecord]:
        rows = self._con.execute(
            "SELECT side, start_s, end_s, rom_deg, peak_deg, partial, hold_s FROM reps "
            "WHERE session_id = ? ORDER BY partial, idx",
            (session_id,),
        )
        return [
            RepRecord(side=s, start_s=a, end_s=b, rom_deg=rom, peak_deg=pk, partial=bool(p),
                      hold_s=h)
            for s, a, b, rom, pk, p, h in rows
        ]

    @_db_errors
    def weekly(self, *, exercise: str | None = None, since: str | None = None) -> list[WeekRow]:
        """Per ISO week (Monday) and exercise: sessions, reps, best peaks, mean ROM per side."""
        where, args = _filters(exercise=exercise, since=since)
        sql = (
            "SELECT date(started_at, 'weekday 0', '-6 days') AS week, exercise, max(kind),"
            " count(*), sum(rep_count), max(peak_extension_deg), max(peak_flexion_deg),"
            " avg(rom_left_deg), avg(rom_right_deg)"
            f" FROM sessions{where} GROUP BY week, exercise ORDER BY week, exercise"
        )
        out = []
        for row in self._con.execute(sql, args):
            week, ex, kind, n, reps, pext, pflex, rl, rr = row
            out.append(WeekRow(week, ex, kind, n, reps or 0, _r(pext), _r(pflex), _r(rl), _r(rr)))
        return out

    @_db_errors
    def baseline(
        self, *, exercise: str | None = None, kind: str | None = None, before: str | None = None
    ) -> dict[str, Any]:
        """The user's earlier numbers to compare a new session with: means and bests."""
        where, args = _filters(exercise=exercise, kind=kind, until=before, strict_until=True)
        row = self._con.execute(
            "SELECT count(*), avg(rep_count), avg(tut_s), avg(peak_flexion_deg),"
            " max(peak_flexion_deg), avg(peak_extension_deg), max(peak_extension_deg),"
            " avg(rom_left_deg), avg(rom_right_deg) FROM sessions" + where,
            args,
        ).fetchone()
        keys = ("sessions", "reps_mean", "tut_s_mean", "peak_flexion_mean", "peak_flexion_best",
                "peak_extension_mean", "peak_extension_best", "rom_left_mean", "rom_right_mean")
        return {k: (v if k == "sessions" else _r(v)) for k, v in zip(keys, row, strict=True)}

    def explain(self, sql: str, args: Iterable[Any] = ()) -> list[str]:
        """EXPLAIN QUERY PLAN details (tests check the queries use the indexes)."""
        return [r[-1] for r in self._con.execute("EXPLAIN QUERY PLAN " + sql, list(args))]

    def integrity_ok(self) -> bool:
        return self._con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _r(value: Any) -> float | None:
    return None if value is None else round(float(value), 2)


def _filters(
    *,
    exercise: str | None = None,
    kind: str | None = None,
    since: str | None = None,
    until: str | None = None,
    strict_until: bool = False,
) -> tuple[str, list[Any]]:
    clauses, args = [], []
    if exercise:
        clauses.append("exercise = ?")
        args.append(exercise)
    if kind:
        clauses.append("kind = ?")
        args.append(kind)
    if since:
        clauses.append("started_at >= ?")
        args.append(to_utc_iso(since))
    if until:
        clauses.append("started_at < ?" if strict_until else "started_at <= ?")
        args.append(to_utc_iso(until))
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), args


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


# --------------------------------------------------------------------------- API for E / F


def record_session(
    report: Any,
    db: str | Path | History | None = None,
    *,
    mode: str | None = None,
    started_at: str | None = None,
) -> int | None:
    """Store a finished session (a `SessionReport`, report dict or `SessionRecord`).

    Returns the new session id, or None when it was already stored or history is disabled
    (`POSECHECK_NO_HISTORY=1`). Raises `HistoryError` when the database cannot be written.
    """
    if db is None and os.environ.get("POSECHECK_NO_HISTORY"):
        return None
    record = session_from_report(report, mode=mode, started_at=started_at)
    if isinstance(db, History):
        return db.add_session(record)
    with History(db) as hist:
        return hist.add_session(record)


def import_reports(folder: str | Path, db: str | Path | History | None = None) -> tuple[int, int]:
    """Import every report.json under `folder` (recursively); return (new, already stored).

    A file that is not a posecheck report raises `HistoryError` naming it, and nothing is
    imported: the whole folder goes in one transaction.
    """
    root = Path(folder)
    if not root.is_dir():
        raise HistoryError(f"not a folder: {folder}")
    files = sorted(p for p in root.rglob("*.json") if p.is_file())
    if not files:
        raise HistoryError(f"no report .json files under {folder}")
    records = []
    for path in files:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise HistoryError(f"{path}: not a readable JSON report: {exc}") from exc
        if path.name != "report.json" and not (isinstance(data, dict) and data.get("exercise")):
            continue  # some other JSON beside the reports (a balance.json, a table, ...)
        when = None
        if not (isinstance(data, dict) and (data.get("started_at") or data.get("created_at")
                                            or data.get("created"))):
            when = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).isoformat()
        try:
            records.append(session_from_report(data, mode="import", started_at=when))
        except HistoryError as exc:
            raise HistoryError(f"{path}: {exc}") from exc
    if not records:
        raise HistoryError(f"no posecheck session reports under {folder}")
    if isinstance(db, History):
        added = db.add_sessions(records)
    else:
        with History(db) as hist:
            added = hist.add_sessions(records)
    return added, len(records) - added
