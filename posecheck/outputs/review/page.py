"""`report.html`: one offline page to review a clip — video, synchronised hip curve, rep table.

Why hand-written JS + SVG rather than a charting library: the page needs one line chart with
bands, a cursor and click-to-seek; ~200 lines of plain script do that in ~9 kB, where a
vendored library would add 50–250 kB to every page and a licence to carry. The curve is drawn
by the script at the screen's own width (readable text on a phone); the summary and the rep
table are plain HTML, readable even with scripts off. The video is linked by relative path, so
the folder can be zipped and sent; nothing is fetched from the network.
"""

from __future__ import annotations

import csv
import html
import json
import os
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

from posecheck.errors import OutputError, PosecheckError
from posecheck.outputs.review import data

PAGE_NAME = "report.html"

_CSS = """
*{box-sizing:border-box}body{font:15px/1.45 "DejaVu Sans",Arial,Helvetica,sans-serif;margin:0;
background:#f4f5f7;color:#1d2330}main{max-width:1000px;margin:0 auto;padding:14px}
h1{font-size:21px;margin:0 0 2px}.sub{color:#5d6472;margin:0 0 10px;font-size:13px}
.card{background:#fff;border-radius:8px;padding:10px 12px;margin-bottom:12px;
box-shadow:0 1px 2px rgba(0,0,0,.08)}.summary dl{margin:0;display:grid;
grid-template-columns:max-content 1fr;gap:4px 12px}.summary dt{font-weight:700;color:#4a5160}
.summary dd{margin:0}video{width:100%;max-height:55vh;background:#000;border-radius:6px;
display:block}#chart{width:100%;cursor:crosshair;user-select:none}#chart svg{display:block}
.rep{fill:#dbe8f6}.partial{fill:#fbe3c8}.pause{fill-opacity:.75}.met{fill:#bfe3b4}
.short{fill:#f6e08a}.grid{stroke:#e3e6ea}.zero{stroke:#9aa1ab;stroke-dasharray:3 3}
.normal{stroke:#b3261e;stroke-dasharray:6 4;stroke-width:1.2}.curve{fill:none;stroke:#1d2330;
stroke-width:2;stroke-linejoin:round}.cursor{stroke:#d93025;stroke-width:2}
svg text{font-family:"DejaVu Sans",Arial,sans-serif;font-size:11px;fill:#5d6472}
.ytick{text-anchor:end}.xtick{text-anchor:middle}.nlabel{text-anchor:end;fill:#b3261e;
paint-order:stroke;stroke:#fff;stroke-width:3px}
.replabel{text-anchor:middle;fill:#2f6db5;font-weight:700}.axis{fill:#5d6472;text-anchor:middle;font-size:12px}
.cue{fill:#c62828}.cue.warning{fill:#e8a317}.cue.info{fill:#3d85c6}
.legend{font-size:12px;color:#5d6472;margin:4px 0 0}.sw{display:inline-block;width:11px;
height:11px;border-radius:2px;vertical-align:-1px;margin:0 3px 0 10px}
.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;font-size:14px}
th,td{padding:6px 7px;text-align:left;border-bottom:1px solid #eceef1;white-space:nowrap}
td.cues{white-space:normal;min-width:12em}th{color:#5d6472;font-weight:600;font-size:12px}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}tbody tr{cursor:pointer}
tbody tr:hover{background:#f0f4fa}tbody tr.on{background:#dbe8f6}.ok{color:#2e7d32}
.bad{color:#c62828}.keys{color:#8a8f98;font-size:12px}kbd{border:1px solid #ccd;
border-radius:3px;padding:0 4px;font-size:11px;background:#fafafa}
tr.cuerow{display:none}tr.cuerow td{white-space:normal;color:#8a1c1c;padding-top:0}
@media (max-width:560px){main{padding:8px}h1{font-size:18px}body{font-size:14px}
.summary dl{grid-template-columns:1fr}.summary dt{margin-top:4px}th,td{padding:6px 4px}
table{font-size:13px}.cues,.top,.wide{display:none}.card{padding:10px 8px}
tr.cuerow{display:table-row}tr.hascue td{border-bottom:0}}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _f(value: float | None, nd: int = 1, unit: str = "") -> str:
    return "–" if value is None else f"{value:.{nd}f}{unit}"


def _pause_cell(row: dict[str, Any]) -> str:
    if row["pause"] is None:
        return "<td class=n>–</td>"
    if not row["target"]:
        return f"<td class=n>{row['pause']:.1f} s</td>"
    mark = "<span class=ok>✓</span>" if row["met"] else "<span class=bad>✗</span>"
    return f"<td class=n>{row['pause']:.1f} / {row['target']:g} s {mark}</td>"


def _table(report: dict[str, Any]) -> str:
    """The rep table; on a phone each rep's cues move to a full-width line under its numbers."""
    rows = data.rep_rows(report)
    if not rows:
        return "<p>No reps were counted in this clip.</p>"
    head = ("<tr><th>rep</th><th class=n>start</th><th class='n top'>top</th>"
            "<th class=n>pause / target</th><th class=n>ROM</th>"
            "<th class=n>peak ext<span class=wide>ension</span></th><th class=cues>cues</th></tr>")
    body = []
    for r in rows:
        cues = "; ".join(_e(c) for c in r["cues"])
        span = f"data-start={r['start']} data-end={r['end']}"
        body.append(
            f"<tr tabindex=0 {span}{' class=hascue' if cues else ''}>"
            f"<td>{_e(r['label'])}</td><td class=n>{_f(r['start'], 2, ' s')}</td>"
            f"<td class='n top'>{_f(r['top'], 2, ' s')}</td>{_pause_cell(r)}"
            f"<td class=n>{_f(r['rom'], 0, '°')}</td><td class=n>{_f(r['ext'], 0, '°')}</td>"
            f"<td class=cues>{cues or '–'}</td></tr>")
        if cues:
            body.append(f"<tr class=cuerow {span}><td colspan=7>{cues}</td></tr>")
    return f"<div class=scroll><table id=reps><thead>{head}</thead><tbody>" \
           f"{''.join(body)}</tbody></table></div>"


def _title(report: dict[str, Any]) -> str:
    name = str(report.get("exercise", "exercise")).replace("_", " ")
    n = int(report.get("rep_count", len(report.get("reps", []))))
    parts = [f"{n} rep{'s' if n != 1 else ''} of {name}"]
    if report.get("partial_count"):
        parts.append(f"{report['partial_count']} partial")
    return ", ".join(parts)


def render_review_html(report: dict[str, Any], curve: dict[str, Any], *, kind: str | None,
                       video_href: str | None, video_offset_s: float = 0.0) -> str:
    """The whole page as text: `curve` is `data.chart_data(...)`, `video_href` a relative URL."""
    summ = data.summary(report, kind)
    source = Path(str(report.get("source", ""))).name
    auto = " (exercise auto-detected)" if report.get("exercise_auto_detected") else ""
    sub = (f"{_e(source)}{auto} · {float(report.get('duration_s') or 0):.1f} s · pose found in "
           f"{float(report.get('detection_rate') or 0):.0%} of frames · posecheck "
           f"{_e(report.get('software_version', ''))}")
    if report.get("interrupted"):
        sub += " · <b>run interrupted: partial results</b>"
    if video_href:
        media = (f"<video id=video controls preload=metadata playsinline src=\"{_e(video_href)}\">"
                 "</video><p id=video-note class=keys hidden>This browser cannot play this video "
                 "file (its codec); the curve and the table still work.</p>")
    else:
        media = "<p class=keys>No video beside this report (analysed with --no-video).</p>"
    payload = json.dumps({"chart": curve, "offset": round(video_offset_s, 3)},
                         separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    script = resources.files("posecheck.outputs.review").joinpath("review.js").read_text("utf-8")
    legend = ("<p class=legend><span class=sw style=background:#dbe8f6></span>rep"
              "<span class=sw style=background:#bfe3b4></span>pause, target met"
              "<span class=sw style=background:#f6e08a></span>pause, short"
              "<span class=sw style=background:#fbe3c8></span>partial"
              "<span class=sw style=background:#c62828></span>form cue"
              "<span class=sw style=\"background:none;border-top:2px dashed #b3261e;"
              "border-radius:0\"></span>normal range</p>")
    return f"""<!doctype html>
<html lang=en><head><meta charset=utf-8>
<meta name=viewport content="width=device-width,initial-scale=1">
<title>{_e(source)}: {_e(_title(report))}</title><style>{_CSS}</style></head>
<body><main>
<h1>{_e(_title(report)).capitalize()}</h1><p class=sub>{sub}</p>
<section class="card summary"><dl>
<dt>Went well</dt><dd>{_e(summ['went_well'])}</dd>
<dt>Most important</dt><dd>{_e(summ['cue'])}</dd>
<dt>Hip work</dt><dd>{_e(summ['work'])}</dd></dl></section>
<section class=card>{media}
<div id=chart title="click to jump the video to this moment"></div>{legend}</section>
<section class=card>{_table(report)}
<p class=keys>Click a rep to play it · <kbd>←</kbd> <kbd>→</kbd> previous / next rep ·
<kbd>space</kbd> play / pause · click the curve to jump there</p></section>
</main>
<script type="application/json" id=review-data>{payload}</script>
<script>{script}</script>
</body></html>
"""


def _profile_info(exercise: str) -> tuple[str | None, bool]:
    """(flexion/extension kind, does the counter's signal measure the hip) of a profile."""
    from posecheck.core.profiles import get_profile

    try:
        profile = get_profile(exercise)
    except PosecheckError:
        return None, True
    return profile.kind, profile.signal.startswith("hip")


def write_review_page(out_dir: str | Path, *, report_name: str = "report.json",
                      timeline_name: str = "timeline.csv", page_name: str = PAGE_NAME,
                      video: str | Path | None = None, video_offset_s: float | None = None,
                      ) -> Path:
    """Read report.json + timeline.csv in `out_dir` and write the review page beside them.

    `video` is the file to show (linked relative to the page); None means the annotated video
    named in the report, else the analysed source when it is a file. The offset is the
    timeline time at the video's first frame: by default the timeline's first row for the
    annotated video (it starts at the first analysed frame) and 0 for the source.
    """
    out = Path(out_dir)
    try:
        report = json.loads((out / report_name).read_text("utf-8"))
        with (out / timeline_name).open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, ValueError) as exc:
        raise OutputError(f"cannot build {out / page_name}: {exc}") from exc
    kind, hip_signal = _profile_info(str(report.get("exercise", "")))
    t, y = data.curve_from_timeline(rows, hip_signal)
    first_t = float(t[0]) if len(t) else 0.0
    if video is None:
        annotated = (report.get("outputs") or {}).get("video")
        source = Path(str(report.get("source", "")))
        if annotated and Path(annotated).is_file():
            video = annotated
            if video_offset_s is None:
                video_offset_s = first_t  # it starts at the first analysed frame
        elif source.is_file():
            video = source
    href = None
    if video is not None:
        rel = os.path.relpath(Path(video).resolve(), out.resolve())
        href = quote(Path(rel).as_posix())
    t, y = data.decimate(t, y)
    page = render_review_html(report, data.chart_data(report, t, y), kind=kind,
                              video_href=href, video_offset_s=video_offset_s or 0.0)
    path = out / page_name
    try:
        path.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path
