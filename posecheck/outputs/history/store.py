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
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from posecheck.outputs.history.records import (
    HistoryError,
    RepRecord,
    SessionRecord,
    _digest,
    _now,
    session_from_report,
    to_utc_iso,
)

DB_FILENAME = "history.sqlite3"


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
