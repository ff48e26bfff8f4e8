"""Session history: every analysed or live session in one SQLite file, for progress over weeks.

Split by concern; everything public is importable from here:

- `records`: what a session and a rep are (`SessionRecord`, `RepRecord`), built from a report
  with its summary metrics (`session_from_report`, `session_metrics`);
- `store`: the database (`History`, `record_session`, `import_reports`), its schema and where
  the file lives.
"""

from posecheck.outputs.history.records import (
    ANALYSIS_SETTINGS,
    HIP_RANGE_DEG,
    HistoryError,
    RepRecord,
    SessionRecord,
    over_arch_limit,
    over_arched,
    reanalysis_uid,
    session_from_report,
    session_metrics,
    to_utc_iso,
)
from posecheck.outputs.history.store import (
    DB_FILENAME,
    MIGRATIONS,
    SCHEMA_VERSION,
    History,
    SessionRow,
    WeekRow,
    default_db_path,
    import_reports,
    record_session,
    user_db_path,
)

__all__ = [
    "ANALYSIS_SETTINGS",
    "DB_FILENAME",
    "HIP_RANGE_DEG",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "History",
    "HistoryError",
    "RepRecord",
    "SessionRecord",
    "SessionRow",
    "WeekRow",
    "default_db_path",
    "import_reports",
    "over_arch_limit",
    "over_arched",
    "reanalysis_uid",
    "record_session",
    "session_from_report",
    "session_metrics",
    "to_utc_iso",
    "user_db_path",
]
