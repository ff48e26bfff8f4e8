"""Balance report: flexion vs extension work, per-side ROM, asymmetry, normal ranges, history;
and its one-page HTML, opened offline in headless Chromium."""

from __future__ import annotations

import json
import math
import re
import subprocess
from pathlib import Path

import pytest
from helpers import require_chromium

from posecheck.outputs.balance import (
    NORMAL_EXTENSION_DEG,
    NORMAL_FLEXION_DEG,
    AngleSeries,
    BlockOutcome,
    asymmetry_pct,
    balance_report,
    hip_reps_from_series,
    history_baselines,
)
from posecheck.outputs.history import History, RepRecord, SessionRecord
from posecheck.outputs.html_report import render_balance_html, write_balance_html

WHEN = "2025-06-02T08:00:00+00:00"


def _rep(side: str, t: float, peak: float, rom: float, hold: float | None = None) -> RepRecord:
    return RepRecord(side=side, start_s=t, end_s=t + 2.0, top_s=t + 1.0, rom_deg=rom,
                     peak_deg=peak, hold_s=hold, hold_met=hold is not None and hold >= 2.0)


def _session(exercise: str, kind: str, reps: list[RepRecord], side_used: str | None = "left",
             when: str = WHEN) -> SessionRecord:
    return SessionRecord(exercise=exercise, kind=kind, reps=tuple(reps), started_at=when,
                         side_used=side_used)


def _blocks() -> list[BlockOutcome]:
    """Knee raises (flexion, alternating legs, right leg 20% less ROM), bridges (extension,
    two legs seen from the left, top 5° past neutral), a timed breathing block."""
    knee = [_rep("left" if i % 2 == 0 else "right", 2.0 * i, 90.0 if i % 2 == 0 else 72.0,
                 85.0 if i % 2 == 0 else 68.0) for i in range(10)]
    bridge = [_rep("both", 30.0 + 4 * i, -5.0, 45.0, hold=2.5 if i < 3 else 1.0)
              for i in range(4)]
    return [
        BlockOutcome("Breathe", None, None, 0.0, 0.0),
        BlockOutcome("Knee raises", "standing_knee_raise", "flexion", 0.0, 25.0,
                     session=_session("standing_knee_raise", "flexion", knee, None),
                     target_reps=10),
        BlockOutcome("Bridges", "glute_bridge", "extension", 25.0, 50.0,
                     session=_session("glute_bridge", "extension", bridge), target_reps=4,
                     hold_target_s=2.0),
    ]


# ----------------------------------------------------------------- numbers


def test_flexion_and_extension_work_numbers() -> None:
    report = balance_report(_blocks(), title="T", started_at=WHEN)
    flex, ext = report.flexion, report.extension
    assert (flex.reps, flex.reps_left, flex.reps_right) == (10, 5, 5)
    assert (ext.reps, ext.reps_left, ext.reps_right) == (4, 0, 0)  # two-leg reps
    assert flex.tut_s == pytest.approx(20.0) and ext.tut_s == pytest.approx(8.0)
    assert report.extension_share_tut == pytest.approx(8.0 / 28.0, abs=1e-3)
    assert report.extension_share_reps == pytest.approx(4 / 14, abs=1e-3)
    # flexion reps span [peak - ROM, peak]; extension reps [peak, peak + ROM]
    assert flex.peak_flexion_deg == 90.0 and flex.peak_extension_deg == pytest.approx(-4.0)
    assert ext.peak_extension_deg == 5.0 and ext.peak_flexion_deg == 40.0
    assert flex.pct_of_normal == pytest.approx(100 * 90 / NORMAL_FLEXION_DEG, abs=0.1)
    # a bridge's top is a lockout held to its own safe range, not a mobility score
    assert ext.pct_of_normal is None and ext.per_exercise[0]["safe_extension_deg"] == 15.0
    assert (ext.holds, ext.holds_met) == (4, 3)
    # per side: knee raises measured both hips; bridges only the left (seen) hip
    (knee,) = flex.per_exercise
    assert (knee["rom_left_deg"], knee["rom_right_deg"]) == (85.0, 68.0)
    assert knee["rom_asymmetry_pct"] == pytest.approx(20.0)
    (bridge,) = ext.per_exercise
    assert (bridge["rom_left_deg"], bridge["rom_right_deg"]) == (45.0, None)
    assert bridge["rom_asymmetry_pct"] is None
    assert flex.rom_asymmetry_pct == pytest.approx(20.0) and ext.rom_asymmetry_pct is None
    assert report.blocks[0]["reps"] is None and report.blocks[2]["holds_met"] == 3


def test_findings_name_the_imbalances() -> None:
    text = " ".join(balance_report(_blocks(), started_at=WHEN).findings)
    assert "leans to flexion work (71% flexion / 29% extension)" in text
    assert "Peak hip flexion 90° (75% of the normal ≈120°)" in text
    assert ("Glute bridge: the top reached 5° past neutral, inside its safe range (up to 15°; "
            "beyond that the lower back arches)") in text
    assert "of the normal ≈30°" not in text
    assert "standing_knee_raise: the right hip's range of motion is 20% smaller" in text


def test_findings_for_one_sided_and_short_of_neutral_and_artefacts() -> None:
    only_ext = [BlockOutcome("B", "glute_bridge", "extension", 0, 10, session=_session(
        "glute_bridge", "extension", [_rep("both", 0, 8.0, 40.0)]))]
    text = " ".join(balance_report(only_ext, started_at=WHEN).findings)
    assert "Only extension work was counted" in text
    assert "stopped 8° short of neutral" in text
    wild = [BlockOutcome("K", "quadruped_hip_extension", "extension", 0, 10, session=_session(
        "quadruped_hip_extension", "extension", [_rep("left", 0, -60.0, 120.0)]))]
    text = " ".join(balance_report(wild, started_at=WHEN).findings)
    assert "60° of extension is beyond what a hip does" in text
    assert "quadruped_hip_extension angles look like a measurement artefact" in text
    assert balance_report([], started_at=WHEN).findings == (
        "No reps were counted in this session.",)


def test_asymmetry_pct() -> None:
    assert asymmetry_pct(50.0, 40.0) == pytest.approx(20.0)
    assert asymmetry_pct(40.0, 50.0) == pytest.approx(20.0)
    assert asymmetry_pct(0.0, 0.0) == 0.0
    assert asymmetry_pct(None, 3.0) is None


def test_hip_reps_from_series_reads_the_hip_trace() -> None:
    t = [i / 10 for i in range(100)]
    left = [45 - 50 * math.sin(math.pi * x / 5) ** 2 for x in t]  # 45° -> -5° -> 45°
    right = [math.nan] * 100
    record = _session("glute_bridge", "extension",
                      [RepRecord(side="both", start_s=0.0, end_s=9.9, rom_deg=999.0,
                                 peak_deg=999.0)])
    out = hip_reps_from_series(record, AngleSeries(t, left, right))
    (rep,) = out.reps
    assert rep.peak_deg == pytest.approx(-5.0, abs=0.1)
    assert rep.rom_deg == pytest.approx(50.0, abs=0.1)


def test_json_is_plain_and_finite() -> None:
    data = json.loads(balance_report(_blocks(), started_at=WHEN).to_json())
    assert data["normal"] == {"flexion_deg": 120.0, "extension_deg": 30.0}
    assert data["flexion"]["per_exercise"][0]["exercise"] == "standing_knee_raise"
    assert "NaN" not in json.dumps(data)


# ----------------------------------------------------------------- history comparison


def test_compared_with_the_users_history(tmp_path: Path) -> None:
    with History(tmp_path / "h.sqlite3") as hist:
        # two earlier routine runs and one later session (must not count as "earlier")
        for day, ext_peak in (("2025-05-19", -1.0), ("2025-05-26", 1.0)):
            hist.add_routine_run("balanced_hip", [
                _session("standing_knee_raise", "flexion",
                         [_rep("left", 0, 80.0, 75.0), _rep("right", 2, 80.0, 75.0)], None,
                         when=f"{day}T08:00:00+00:00"),
                None,  # a timed block stores nothing
                _session("glute_bridge", "extension", [_rep("both", 5, -ext_peak, 40.0)] * 3,
                         when=f"{day}T08:10:00+00:00"),
            ], started_at=f"{day}T08:00:00+00:00")
        hist.add_session(_session("glute_bridge", "extension", [_rep("both", 0, -20.0, 40.0)],
                                  when="2025-07-01T08:00:00+00:00"))
        base = history_baselines(hist, before=WHEN)
    assert base["extension"]["runs"] == 2 and base["flexion"]["runs"] == 2
    assert base["extension"]["peak_extension_mean"] == pytest.approx(0.0)
    assert base["flexion"]["peak_flexion_mean"] == pytest.approx(80.0)
    assert base["extension"]["reps_total_mean"] == pytest.approx(3.0)
    report = balance_report(_blocks(), started_at=WHEN, history=base)
    assert report.extension.vs_history["peak_deg"] == pytest.approx(5.0)
    assert report.flexion.vs_history["peak_deg"] == pytest.approx(10.0)
    assert report.flexion.vs_history["reps"] == pytest.approx(8.0)
    assert any("Extension peak 5° more than your average over 2 earlier sessions" in f
               for f in report.findings)


# ----------------------------------------------------------------- HTML


def _html(tmp_path: Path) -> Path:
    blocks = _blocks()
    t = [i / 10 for i in range(500)]
    series = AngleSeries(t, [40 + 45 * math.sin(x) for x in t], [30 + 40 * math.cos(x) for x in t])
    blocks[1] = BlockOutcome(**{**blocks[1].__dict__, "series": series})
    with History(tmp_path / "h.sqlite3") as hist:
        for week in range(6):
            hist.add_session(_session("glute_bridge", "extension",
                                      [_rep("both", 0, -week, 40.0 + week)],
                                      when=f"2025-04-{1 + 5 * week:02d}T08:00:00+00:00"))
        weeks = hist.weekly()
        report = balance_report(blocks, title="Balanced hip routine", started_at=WHEN,
                                history=history_baselines(hist, before=WHEN))
    return write_balance_html(tmp_path / "balance.html", report, blocks, weeks,
                              subtitle="balanced_hip · test")


def test_html_is_one_self_contained_page(tmp_path: Path) -> None:
    html = _html(tmp_path).read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert "<script" not in html and "<link" not in html and "@import" not in html
    assert not re.search(r"\b(src|href)\s*=", html)
    assert "url(" not in html
    # the only URL is the SVG namespace name, which is never fetched
    assert set(re.findall(r"https?://[^\s\"'<>]+", html)) == {"http://www.w3.org/2000/svg"}
    assert html.count("<svg") == 3  # range, angle over time, extension history
    for text in ("Flexion work", "Extension work", "Hip range reached", "Hip angle",
                 "standing_knee_raise", "of normal ≈120°", "normal extension ≈30°"):
        assert text.lower() in html.lower()


def test_html_escapes_user_text(tmp_path: Path) -> None:
    blocks = [BlockOutcome("<b>x</b>", None, None, 0, 5)]
    html = render_balance_html(balance_report(blocks, title="<script>", started_at=WHEN),
                               blocks)
    assert "<script>" not in html and "&lt;script&gt;" in html and "&lt;b&gt;x" in html


def _chromium() -> str:
    return require_chromium()


CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
    # no network at all: every host resolves to nothing and any proxy use fails
    "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
)


def test_html_opens_offline_in_headless_chromium(tmp_path: Path) -> None:
    import cv2

    exe = _chromium()
    page = _html(tmp_path)
    shot = tmp_path / "shot.png"
    common = [exe, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    subprocess.run([*common, "--window-size=1200,1800", f"--screenshot={shot}",
                    page.as_uri()], check=True, capture_output=True, timeout=120)
    image = cv2.imread(str(shot))
    assert image is not None and image.shape[:2] == (1800, 1200)
    # a rendered page, not a blank or an error page: several colours, the orange/blue bars
    assert image.std() > 20
    b, g, r = (image[..., i].astype(int) for i in range(3))
    assert ((r > 180) & (g > 100) & (g < 160) & (b < 90)).sum() > 500  # extension orange
    assert ((b > 150) & (r < 80)).sum() > 500  # flexion blue
    dom = subprocess.run([*common, "--dump-dom", page.as_uri()], check=True,
                         capture_output=True, text=True, timeout=120).stdout
    assert "Balanced hip routine" in dom and "Peak hip flexion 90°" in dom


def test_artefact_peaks_are_not_a_baseline(tmp_path: Path) -> None:
    with History(tmp_path / "h.sqlite3") as hist:
        hist.add_session(_session("glute_bridge", "extension", [_rep("both", 0, -4.0, 40.0)],
                                  when="2025-05-01T08:00:00+00:00"))
        hist.add_session(_session("quadruped_hip_extension", "extension",
                                  [_rep("left", 0, -64.0, 120.0)],
                                  when="2025-05-02T08:00:00+00:00"))
        base = history_baselines(hist, before=WHEN)["extension"]
    assert base["runs"] == 2
    assert base["peak_extension_mean"] == pytest.approx(4.0)  # the 64° reading is left out
    assert base["peak_extension_best"] == pytest.approx(64.0)  # raw stats stay raw


# ----------------------------------------------------------------- over-arching (issue 19)


def _bridge_report() -> dict:
    """A bridge set as report.json has it: a clean rep 4° past neutral, an over-arched rep
    (21°, the over_arch cue fired) and one 18° past neutral with no cue (a hip trace's peak)."""
    def rep(i: int, peak: float, rom: float, cues: list[str]) -> dict:
        return {"index": i, "side": "both", "start_s": 4.0 * i, "end_s": 4.0 * i + 3.0,
                "peak_deg": peak, "rom_deg": rom, "cues": [{"rule": c} for c in cues]}

    return {"exercise": "glute_bridge", "started_at": WHEN, "side_used": "left",
            "reps": [rep(0, -4.0, 45.0, ["tempo_fast"]), rep(1, -21.0, 62.0, ["over_arch"]),
                     rep(2, -18.0, 60.0, [])]}


def test_over_arched_reps_are_form_faults_not_progress(tmp_path: Path) -> None:
    """The balance page and the weekly history leave over-arched reps out of the range figures,
    and say so; the reps still count as reps."""
    from posecheck.outputs.history import session_from_report

    record = session_from_report(_bridge_report())
    assert [r.faults for r in record.reps] == [("tempo_fast",), ("over_arch",), ()]
    m = record.metrics()
    assert (m["rep_count"], m["over_arched"], m["over_arch_peak_deg"]) == (3, 2, -21.0)
    assert m["peak_extension_deg"] == 4.0 and m["rom_left_deg"] == 45.0
    assert m["tut_s"] == pytest.approx(9.0)
    report = balance_report([BlockOutcome("Bridges", "glute_bridge", "extension", 0, 12,
                                          session=record)], started_at=WHEN)
    ext = report.extension
    assert (ext.reps, ext.over_arched, ext.peak_extension_deg) == (3, 2, 4.0)
    assert ext.pct_of_normal is None
    text = " ".join(report.findings)
    assert "Glute bridge: the top reached 4° past neutral, inside its safe range" in text
    assert ("Glute bridge: 2 reps over-arched (up to 21° past neutral), beyond the safe 15°: "
            "the lower back finished the rep. A form fault, left out of the range figures.") in text
    html = render_balance_html(report, [], None)
    assert "Over-arched reps" in html and "of normal ≈30°" not in html
    with History(tmp_path / "h.sqlite3") as hist:
        hist.add_session(record)
        (week,) = hist.weekly()
        assert week.peak_extension_deg == 4.0 and week.rom_left_deg == 45.0


def test_extension_range_exercises_still_compare_with_the_normal_range() -> None:
    """A prone leg lift is hip extension range: it is compared with ≈30°, bridges beside it
    are not pooled into that figure."""
    lifts = _session("prone_leg_lift", "extension", [_rep("left", 0, -12.0, 14.0)])
    bridge = _session("glute_bridge", "extension", [_rep("both", 10, -14.0, 50.0)])
    report = balance_report([
        BlockOutcome("Lifts", "prone_leg_lift", "extension", 0, 10, session=lifts),
        BlockOutcome("Bridges", "glute_bridge", "extension", 10, 20, session=bridge),
    ], started_at=WHEN)
    assert report.extension.pct_of_normal == pytest.approx(100 * 12 / NORMAL_EXTENSION_DEG)
    text = " ".join(report.findings)
    assert "Peak hip extension 12° past neutral (40% of the normal ≈30°)." in text
    assert "Glute bridge: the top reached 14° past neutral, inside its safe range" in text
    assert "over-arched" not in text
