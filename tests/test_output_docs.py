"""report.json and timeline.csv as documented: real output checked against docs/.

`docs/report.schema.json` is a JSON Schema (draft 2020-12) for report.json; `docs/timeline.md`
has one table row per timeline.csv column with its type and allowed values. Both are checked
against a real `posecheck analyse` run of the bundled sample (lite model, every 2nd frame, no
video: a few seconds), so neither the outputs nor the docs can drift unnoticed.
"""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from posecheck.cli import main
from posecheck.outputs.report import TIMELINE_COLUMNS

REPO = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((REPO / "docs" / "report.schema.json").read_text())
SAMPLE = REPO / "sample_videos" / "glute_bridge_side.mp4"


def documented_columns() -> list[tuple[str, str, str]]:
    """(name, type, values) per row of docs/timeline.md's column table, in order."""
    rows = re.findall(r"^\| `(\w+)` \| (\w+) \| ([^|]+) \|", (REPO / "docs" / "timeline.md")
                      .read_text(), re.M)
    return [(name, kind, values.strip()) for name, kind, values in rows]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("analysed")
    result = CliRunner().invoke(main, ["analyse", str(SAMPLE), "--model", "lite", "--stride", "2",
                                       "--no-video", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    Draft202012Validator.check_schema(SCHEMA)


def test_a_real_report_matches_the_schema(outputs: Path) -> None:
    report = json.loads((outputs / "report.json").read_text())
    errors = sorted(Draft202012Validator(SCHEMA).iter_errors(report), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)
    assert report["rep_count"] == 5  # the sample's five bridges, so reps and holds were checked


def test_the_schema_documents_every_field_it_requires() -> None:
    assert set(SCHEMA["required"]) == set(SCHEMA["properties"])
    assert all(prop.get("description") or "$ref" in prop for prop in SCHEMA["properties"].values())


def test_the_timeline_table_lists_the_writer_columns_in_order() -> None:
    assert [name for name, _, _ in documented_columns()] == list(TIMELINE_COLUMNS)


def _cell_ok(cell: str, kind: str, values: str) -> bool:
    if cell == "":
        return "empty" in values
    if kind == "bool":
        return cell in ("0", "1")
    if kind == "enum":
        return cell in {v.strip() for v in values.split(",")} - {"empty"}
    if kind == "int":
        return cell.isdigit() and (int(cell) >= 1 or "≥ 0" in values)
    if kind == "float":
        number = float(cell)
        return math.isfinite(number) and (number >= 0 or "degrees" in values)
    raise AssertionError(f"docs/timeline.md: unknown type {kind!r}")


def test_a_real_timeline_matches_the_column_table(outputs: Path) -> None:
    columns = documented_columns()
    with (outputs / "timeline.csv").open(newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == [name for name, _, _ in columns]
    assert len(rows) > 300  # 664 frames at stride 2
    for row in rows[1:]:
        for cell, (name, kind, values) in zip(row, columns, strict=True):
            assert _cell_ok(cell, kind, values), f"{name}={cell!r} is not {kind} ({values})"
