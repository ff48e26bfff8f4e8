"""The review pages (report.html, batch index.html): content, offline-ness and size, without a
browser. The real-browser checks are in test_review_browser.py."""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import numpy as np

from posecheck.outputs.report import TIMELINE_COLUMNS
from posecheck.outputs.review import write_batch_index, write_review_page
from posecheck.outputs.review.data import decimate, summary


def _rep(i: int, start: float, *, hold: float | None = 2.0, ext: float = 4.0,
         cues: list[dict] | None = None) -> dict:
    return {
        "index": i, "side": "both", "partial": False, "start_s": start, "top_s": start + 2.8,
        "end_s": start + 3.6, "duration_s": 3.6, "rom_deg": 50.0 + i % 2, "peak_deg": -ext,
        "peak_extension_deg": ext, "cues": cues or [],
        "hold": None if hold is None else {"rep_index": i, "start_s": start + 0.8,
                                           "end_s": start + 0.8 + hold, "duration_s": hold,
                                           "target_s": 2.0, "target_met": hold >= 1.9},
    }


def write_session(folder: Path, minutes: float, fps: float = 30.0) -> Path:
    """A synthetic analyse output: bridges every 4 s, a cue on rep 2, report + timeline."""
    folder.mkdir(parents=True, exist_ok=True)
    n = int(minutes * 60 * fps)
    t = np.arange(n) / fps
    y = 20 + 25 * np.cos(2 * np.pi * t / 4.0) + np.random.default_rng(0).normal(0, 0.3, n)
    cue = {"rule": "over_arch", "message": "Don't over-arch (21° of extension)",
           "severity": "error", "t_s": 6.0, "rep_index": 2, "value": 21.0}
    reps = [_rep(i + 1, 4.0 * i + 0.5, cues=[cue] if i == 1 else None,
                 hold=0.6 if i == 2 else 2.0) for i in range(int(minutes * 15))]
    report = {"exercise": "glute_bridge", "exercise_auto_detected": False,
              "source": "clip <1>.mp4", "reps": reps, "partials": [],
              "holds": [r["hold"] for r in reps], "cues": [cue], "detection_rate": 1.0,
              "duration_s": minutes * 60, "rep_count": len(reps), "partial_count": 0,
              "software_version": "test", "outputs": {}}
    (folder / "report.json").write_text(json.dumps(report))
    with (folder / "timeline.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(TIMELINE_COLUMNS)
        for i in range(n):
            v = "" if 100 <= i < 110 else f"{y[i]:.2f}"  # a short gap without a pose
            row = {c: "" for c in TIMELINE_COLUMNS}
            row.update(t_s=f"{t[i]:.3f}", frame=str(i), side_used="left", primary_deg=v,
                       smoothed_left_deg=v)
            w.writerow([row[c] for c in TIMELINE_COLUMNS])
    return folder


def test_page_is_offline_and_holds_the_set(tmp_path: Path) -> None:
    folder = write_session(tmp_path / "s", minutes=0.5)
    page = write_review_page(folder).read_text()
    # nothing to fetch: no URL but the SVG namespace name the script uses, no src but the video
    assert set(re.findall(r"https?://[^\s\"'<>]+", page)) == {"http://www.w3.org/2000/svg"}
    assert re.findall(r"\b(?:src|href)=", page) == []  # no video beside it: no link at all
    assert "<link" not in page and "@import" not in page and "url(" not in page
    assert page.count("<tr tabindex=0") == 7 and "data-start=4.5 data-end=8.1" in page
    assert "clip &lt;1&gt;.mp4" in page and "clip <1>" not in page  # escaped
    assert "Don&#x27;t over-arch" in page  # the most important cue, in the summary
    assert "0.6 / 2 s" in page and "normal extension ≈30°" in page
    data = json.loads(re.search(r'id=review-data>(.*?)</script>', page, re.S).group(1))
    assert data["chart"]["normal"] == {"flexion": 120.0, "extension": 30.0}
    assert None in data["chart"]["y"]  # the gap breaks the curve


def test_video_is_linked_relative_to_the_page(tmp_path: Path) -> None:
    folder = write_session(tmp_path / "out" / "clip", minutes=0.2)
    video = tmp_path / "videos" / "my clip.mp4"
    video.parent.mkdir()
    video.write_bytes(b"")
    page = write_review_page(folder, video=video, video_offset_s=1.5).read_text()
    assert 'src="../../videos/my%20clip.mp4"' in page and '"offset":1.5' in page


def test_page_size_stays_small_for_long_clips(tmp_path: Path) -> None:
    """The measured sizes (30 fps; the README quotes them): < 300 kB a minute, < 2 MB for 30."""
    one = write_review_page(write_session(tmp_path / "a", minutes=1)).stat().st_size
    long = write_review_page(write_session(tmp_path / "b", minutes=30)).stat().st_size
    assert one < 300_000 and long < 2_000_000, (one, long)


def test_decimation_keeps_peaks_and_gaps() -> None:
    t = np.arange(54_000) / 30.0
    y = np.sin(t)
    y[5000:5100] = np.nan
    y[20_000] = 99.0  # a one-frame spike must survive
    td, yd = decimate(t, y, max_points=4000)
    assert len(td) <= 4000 and np.all(np.diff(td) > 0)
    assert np.nanmax(yd) == 99.0 and math.isclose(np.nanmin(yd), np.nanmin(y))
    assert np.isnan(yd[(td >= 5000 / 30) & (td < 5100 / 30)]).any()
    assert decimate(t[:100], y[:100])[0].size == 100  # short clips keep every frame


def test_summary_words() -> None:
    report = {"reps": [_rep(1, 0.0), _rep(2, 4.0)], "holds": [], "cues": [], "partials": []}
    report["holds"] = [r["hold"] for r in report["reps"]]
    words = summary(report, "extension")
    assert words["went_well"].startswith("Every pause reached its 2 s target")
    assert words["cue"] == "Nothing to correct."
    assert "Extension work: 2 reps" in words["work"] and "4° past neutral" in words["work"]
    assert "peak hip flexion" in summary(report, "flexion")["work"]


def test_batch_index_links_each_clip_page(tmp_path: Path) -> None:
    write_session(tmp_path / "clips" / "a", minutes=0.1)
    write_review_page(tmp_path / "clips" / "a")
    with (tmp_path / "batch.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["clip", "reps", "passed", "error"])
        w.writeheader()
        w.writerow({"clip": "a.mp4", "reps": "5", "passed": "pass", "error": ""})
        w.writerow({"clip": "b.mp4", "reps": "", "passed": "", "error": "cannot <open>"})
    page = write_batch_index(tmp_path).read_text()
    assert '<a href="clips/a/report.html">a.mp4</a>' in page
    assert "b.mp4" in page and "cannot &lt;open&gt;" in page and "1 of 1 labelled" in page
