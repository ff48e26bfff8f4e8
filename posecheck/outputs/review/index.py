"""`index.html` for `batch --out DIR`: the clip table, each clip linking to its review page.

Built from batch.csv alone (the batch engine's rows may change shape; its CSV is the
contract), so a clinic opening the folder sees pass/fail against labels and one click to the
clip. Static HTML, no script: it only links.
"""

from __future__ import annotations

import contextlib
import csv
import html
from pathlib import Path
from urllib.parse import quote

from posecheck.errors import OutputError
from posecheck.outputs.review.page import PAGE_NAME

INDEX_NAME = "index.html"
_COLUMNS = (("clip", "clip"), ("exercise", "exercise"), ("reps", "reps"),
            ("partials", "partials"), ("holds", "holds"), ("detection_rate", "pose found"),
            ("expected_reps", "expected"), ("hold_errors_s", "hold error s"),
            ("passed", "result"))
_CSS = """body{font:15px/1.45 "DejaVu Sans",Arial,sans-serif;margin:0;background:#f4f5f7;
color:#1d2330}main{max-width:1000px;margin:0 auto;padding:14px}h1{font-size:21px;margin:0 0 4px}
.sub{color:#5d6472;margin:0 0 10px}.scroll{overflow-x:auto;background:#fff;border-radius:8px;
box-shadow:0 1px 2px rgba(0,0,0,.08)}table{border-collapse:collapse;width:100%}
th,td{padding:7px 9px;text-align:left;border-bottom:1px solid #eceef1;white-space:nowrap}
th{color:#5d6472;font-size:12px}.pass{color:#2e7d32;font-weight:700}.FAIL,.err{color:#c62828;
font-weight:700}a{color:#2f6db5}"""


def _cell(key: str, row: dict[str, str]) -> str:
    value = row.get(key, "") or ""
    if key == "detection_rate" and value:
        with contextlib.suppress(ValueError):
            value = f"{float(value):.0%}"
    if key == "passed":
        if row.get("error"):
            return f"<td class=err title=\"{html.escape(row['error'])}\">error</td>"
        return f"<td class={html.escape(value or 'none')}>{html.escape(value or '–')}</td>"
    return f"<td>{html.escape(value or '–')}</td>"


def write_batch_index(out_dir: str | Path, csv_name: str = "batch.csv") -> Path:
    """Write `index.html` in a batch output folder from its batch.csv; returns the path.

    Each clip links to clips/<clip stem>/report.html when that page exists.
    """
    out = Path(out_dir)
    try:
        with (out / csv_name).open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise OutputError(f"cannot read {out / csv_name}: {exc.strerror or exc}") from exc
    body = []
    for row in rows:
        clip = row.get("clip", "")
        page = Path("clips") / Path(clip).stem / PAGE_NAME
        cells = [_cell(key, row) for key, _ in _COLUMNS]
        if (out / page).is_file():
            cells[0] = (f"<td><a href=\"{quote(page.as_posix())}\">{html.escape(clip)}</a>"
                        "</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    labelled = [r for r in rows if r.get("passed")]
    passed = sum(1 for r in labelled if r.get("passed") == "pass")
    sub = f"{len(rows)} clips"
    if labelled:
        sub += f", {passed} of {len(labelled)} labelled clips pass"
    head = "".join(f"<th>{html.escape(title)}</th>" for _, title in _COLUMNS)
    page_text = f"""<!doctype html>
<html lang=en><head><meta charset=utf-8>
<meta name=viewport content="width=device-width,initial-scale=1">
<title>posecheck batch</title><style>{_CSS}</style></head><body><main>
<h1>posecheck batch</h1><p class=sub>{html.escape(sub)} · click a clip to review it</p>
<div class=scroll><table><thead><tr>{head}</tr></thead><tbody>
{chr(10).join(body)}
</tbody></table></div></main></body></html>
"""
    path = out / INDEX_NAME
    try:
        path.write_text(page_text, encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path
