"""batch.csv and batch.json, written as clips finish so an interrupted batch keeps its rows.

During the run batch.csv gains one line per finished clip (flushed at once) and batch.json is
replaced atomically with the rows so far (at most every JSON_EVERY_S, so thousands of clips do
not rewrite it thousands of times; an interrupt writes it in full); at the end both are
rewritten in input order with the summary. An interrupted run leaves every finished row, and
`"interrupted": true` in the JSON.
"""

from __future__ import annotations

import csv
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from posecheck.errors import OutputError

if TYPE_CHECKING:
    from posecheck.apps.batch import ClipRow

TABLE_COLUMNS = (
    "clip", "exercise", "reps", "partials", "holds", "detection_rate", "fps",
    "expected_reps", "count_error", "hold_errors_s", "passed", "error",
)  # fmt: skip
CSV_NAME, JSON_NAME = "batch.csv", "batch.json"
JSON_EVERY_S = 2.0


def table_rows(rows: Sequence[ClipRow]) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        d = r.as_dict()
        out.append({k: d[k] for k in TABLE_COLUMNS})
    return out


def _csv_cells(row: ClipRow) -> dict[str, Any]:
    d = table_rows([row])[0]
    d["hold_errors_s"] = " ".join(f"{e:+.2f}" for e in d["hold_errors_s"])
    d["passed"] = "" if d["passed"] is None else ("pass" if d["passed"] else "FAIL")
    return d


def _json_default(obj: object) -> object:
    from posecheck.outputs.report import _plain

    return _plain(obj)


class TableWriter:
    """The batch table in `out_dir`, kept current as rows arrive (see the module docstring)."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.rows: list[ClipRow] = []
        self._fh: IO[str] | None = None
        self._writer: csv.DictWriter[str] | None = None
        self._json_at = -JSON_EVERY_S
        self._guard(self._open)

    def _guard(self, fn: Any, *args: Any) -> None:
        try:
            fn(*args)
        except OSError as exc:
            raise OutputError(
                f"cannot write batch table in {self.out_dir}: {exc.strerror or exc}"
            ) from exc

    def _open(self) -> None:
        self._fh = (self.out_dir / CSV_NAME).open("w", newline="")
        self._writer = csv.DictWriter(self._fh, fieldnames=TABLE_COLUMNS)
        self._writer.writeheader()
        self._fh.flush()

    def add(self, row: ClipRow) -> None:
        """Append a finished row to batch.csv and refresh batch.json."""
        self.rows.append(row)
        self._guard(self._add, row)

    def _add(self, row: ClipRow) -> None:
        assert self._writer is not None and self._fh is not None
        self._writer.writerow(_csv_cells(row))
        self._fh.flush()
        now = time.monotonic()
        if now - self._json_at >= JSON_EVERY_S:
            self._json_at = now
            self._write_json(self.rows, None, interrupted=None)

    def _write_json(
        self, rows: Sequence[ClipRow], summary: dict[str, Any] | None, interrupted: bool | None
    ) -> None:
        doc: dict[str, Any] = {}
        if summary is not None:
            doc["summary"] = summary
        if interrupted is not None:
            doc["interrupted"] = interrupted
        doc["clips"] = [r.as_dict() for r in rows]
        tmp = self.out_dir / (JSON_NAME + ".tmp")
        tmp.write_text(json.dumps(doc, indent=2, default=_json_default) + "\n")
        os.replace(tmp, self.out_dir / JSON_NAME)

    def close(self, interrupted: bool = False) -> None:
        """Stop here: batch.csv keeps the rows so far; batch.json gets their summary."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if interrupted:
            from posecheck.apps.batch import summarise

            self._guard(self._write_json, self.rows, summarise(self.rows), True)

    def finish(self, rows: Sequence[ClipRow], summary: dict[str, Any]) -> None:
        """The final table: rows in input order, with the summary."""
        self.close()
        self._guard(write_table, self.out_dir, rows, summary)


def write_table(out_dir: Path, rows: Sequence[ClipRow], summary: dict[str, Any]) -> None:
    """batch.csv (one row per clip), batch.json (rows in full + summary) and index.html."""
    try:
        with (out_dir / CSV_NAME).open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=TABLE_COLUMNS)
            writer.writeheader()
            for row in rows:
                writer.writerow(_csv_cells(row))
        doc = {"summary": summary, "clips": [r.as_dict() for r in rows]}
        (out_dir / JSON_NAME).write_text(json.dumps(doc, indent=2, default=_json_default) + "\n")
    except OSError as exc:
        raise OutputError(f"cannot write batch table in {out_dir}: {exc.strerror or exc}") from exc
    from posecheck.outputs.review import write_batch_index

    write_batch_index(out_dir)  # index.html: the table, each clip linking to its report.html
