"""Renders the balance report as one offline HTML page, and the history's progress plot.

Why hand-written SVG: the page must open with no network and stay one file, so every chart is
inline SVG (no scripts, no fonts, no external URLs) and the CSS is inline too. The progress
plot of `posecheck history` is a PNG from matplotlib, since it is a file people keep.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from posecheck.errors import OutputError
from posecheck.outputs.balance import (
    NORMAL_EXTENSION_DEG,
    NORMAL_FLEXION_DEG,
    BalanceReport,
    BlockOutcome,
    WorkSummary,
)

FLEX_COLOUR = "#2f6db5"  # flexion: blue (as the overlay)
EXT_COLOUR = "#d9822b"  # extension: orange
LEFT_COLOUR = "#5b8def"
RIGHT_COLOUR = "#e0525b"
MUTED = "#8a8f98"

_CSS = """
*{box-sizing:border-box}body{font-family:"DejaVu Sans",Arial,Helvetica,sans-serif;margin:0;
background:#f4f5f7;color:#1d2330;font-size:14px}main{max-width:1120px;margin:0 auto;padding:18px}
h1{font-size:22px;margin:0}h2{font-size:15px;margin:0 0 8px 0;text-transform:uppercase;
letter-spacing:.04em;color:#4a5160}.sub{color:#5d6472;margin:2px 0 12px 0}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:12px}.card{background:#fff;border-radius:8px;
padding:12px 14px;box-shadow:0 1px 2px rgba(0,0,0,.08);margin-bottom:12px}
.flex h2{color:#2f6db5}.ext h2{color:#d9822b}table{border-collapse:collapse;width:100%}
td,th{padding:3px 6px;text-align:left;border-bottom:1px solid #eceef1;font-size:13px}
th{color:#5d6472;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
.big{font-size:26px;font-weight:700}.kpis{display:flex;gap:18px;margin-bottom:6px}
.kpi small{display:block;color:#5d6472;font-size:11px;text-transform:uppercase}
ul{margin:4px 0 0 18px;padding:0}li{margin:2px 0}.tag{display:inline-block;border-radius:3px;
padding:0 5px;font-size:11px;color:#fff}.tf{background:#2f6db5}.te{background:#d9822b}
.tt{background:#8a8f98}.good{color:#2e7d32}.bad{color:#c62828}footer{color:#8a8f98;font-size:11px}
svg text{font-family:"DejaVu Sans",Arial,sans-serif}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _pauses_text(work: WorkSummary) -> str:
    """Pauses against a target only where an exercise of the work sets one; else information."""
    from posecheck.core.profiles import PROFILES

    targeted = any(PROFILES[e].hold_target_s > 0 for e in work.exercises if e in PROFILES)
    if targeted:
        return f"{work.holds_met} of {work.holds} met the target"
    return f"{work.holds} (no target set)"


def _f(value: float | None, unit: str = "", nd: int = 0) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    text = f"{value:.{nd}f}"
    if text.startswith("-") and float(text) == 0:
        text = text[1:]  # no "-0°"
    return f"{text}{unit}"


def _signed(value: float | None, unit: str = "") -> str:
    if value is None:
        return "–"
    cls = "good" if value > 0 else "bad" if value < 0 else ""
    return f'<span class="{cls}">{value:+.0f}{unit}</span>'


# ----------------------------------------------------------------------------- SVG helpers


class _Chart:
    """A tiny SVG chart: linear axes, paths with NaN gaps, bands, lines, labels."""

    def __init__(
        self,
        width: int,
        height: int,
        x_range: tuple[float, float],
        y_range: tuple[float, float],
        margin: tuple[int, int, int, int] = (14, 12, 30, 44),  # top, right, bottom, left
    ) -> None:
        self.w, self.h = width, height
        self.mt, self.mr, self.mb, self.ml = margin
        self.x0, self.x1 = x_range
        self.y0, self.y1 = y_range
        if self.x1 <= self.x0:
            self.x1 = self.x0 + 1
        if self.y1 <= self.y0:
            self.y1 = self.y0 + 1
        self.parts: list[str] = []

    def x(self, v: float) -> float:
        return self.ml + (v - self.x0) / (self.x1 - self.x0) * (self.w - self.ml - self.mr)

    def y(self, v: float) -> float:
        return self.h - self.mb - (v - self.y0) / (self.y1 - self.y0) * (self.h - self.mt - self.mb)

    def band_x(self, a: float, b: float, colour: str, opacity: float = 0.12) -> None:
        x0, x1 = self.x(max(a, self.x0)), self.x(min(b, self.x1))
        self.parts.append(
            f'<rect x="{x0:.1f}" y="{self.mt}" width="{max(0.0, x1 - x0):.1f}" '
            f'height="{self.h - self.mt - self.mb}" fill="{colour}" fill-opacity="{opacity}"/>'
        )

    def hline(self, v: float, colour: str, label: str = "", dash: str = "4 3") -> None:
        y = self.y(v)
        self.parts.append(
            f'<line x1="{self.ml}" x2="{self.w - self.mr}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{colour}" stroke-width="1" stroke-dasharray="{dash}"/>'
        )
        if label:
            self.parts.append(
                f'<text x="{self.w - self.mr - 4}" y="{y - 3:.1f}" font-size="10" '
                f'text-anchor="end" fill="{colour}">{_e(label)}</text>'
            )

    def vline(self, v: float, colour: str, width: float = 1.0) -> None:
        x = self.x(v)
        self.parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{self.mt}" y2="{self.h - self.mb}" '
            f'stroke="{colour}" stroke-width="{width}"/>'
        )

    def path(
        self, xs: Sequence[float], ys: Sequence[float], colour: str, width: float = 1.5,
        dots: bool = False,
    ) -> None:
        d: list[str] = []
        pen_up = True
        for xv, yv in zip(xs, ys, strict=False):
            if yv is None or not math.isfinite(yv) or not math.isfinite(xv):
                pen_up = True
                continue
            d.append(f"{'M' if pen_up else 'L'}{self.x(xv):.1f},{self.y(yv):.1f}")
            pen_up = False
            if dots:
                self.parts.append(
                    f'<circle cx="{self.x(xv):.1f}" cy="{self.y(yv):.1f}" r="2.6" '
                    f'fill="{colour}"/>'
                )
        if d:
            self.parts.append(
                f'<path d="{" ".join(d)}" fill="none" stroke="{colour}" '
                f'stroke-width="{width}" stroke-linejoin="round"/>'
            )

    def text(self, x: float, y: float, s: str, colour: str = "#333", size: int = 10,
             anchor: str = "middle") -> None:
        self.parts.append(
            f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'fill="{colour}">{_e(s)}</text>'
        )

    def axes(self, y_ticks: Sequence[float], x_ticks: Sequence[tuple[float, str]],
             y_label: str = "") -> None:
        for t in y_ticks:
            y = self.y(t)
            self.parts.append(
                f'<line x1="{self.ml}" x2="{self.w - self.mr}" y1="{y:.1f}" y2="{y:.1f}" '
                'stroke="#e3e5e9" stroke-width="1"/>'
            )
            self.text(self.ml - 5, y + 3.5, f"{t:g}", MUTED, 10, "end")
        for v, lab in x_ticks:
            self.text(self.x(v), self.h - self.mb + 14, lab, MUTED, 10)
        if y_label:
            cy = (self.mt + self.h - self.mb) / 2
            self.parts.append(
                f'<text x="11" y="{cy:.1f}" font-size="10" fill="{MUTED}" text-anchor="middle" '
                f'transform="rotate(-90 11 {cy:.1f})">{_e(y_label)}</text>'
            )
        self.parts.append(
            f'<rect x="{self.ml}" y="{self.mt}" width="{self.w - self.ml - self.mr}" '
            f'height="{self.h - self.mt - self.mb}" fill="none" stroke="#c9ccd2"/>'
        )

    def svg(self, title: str) -> str:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {self.w} {self.h}" '
            f'width="100%" aria-label="{_e(title)}"><title>{_e(title)}</title>'
            + "".join(self.parts)
            + "</svg>"
        )


def _nice_ticks(lo: float, hi: float, n: int = 6) -> list[float]:
    span = max(hi - lo, 1e-9)
    raw = span / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    return [round(first + i * step, 6) for i in range(int((hi - first) / step) + 1)]


# ----------------------------------------------------------------------------- charts


def _span(start_s: float, end_s: float) -> str:
    """A block's stretch of the video in whole seconds, '–' for a block that got none."""
    if end_s <= start_s:
        return "–"
    start, end = f"{start_s:.0f}", f"{end_s:.0f}"
    return f"{start} s" if start == end else f"{start}–{end} s"


def angle_timeline_svg(blocks: Sequence[BlockOutcome]) -> str:
    """Hip angle over the whole session, blocks shaded by kind of work, reps marked."""
    series = [b.series for b in blocks if b.series is not None and len(b.series.t_s)]
    t_end = max([b.end_s for b in blocks] + [0.0])
    values = [
        v for s in series for v in (*s.left, *s.right) if v is not None and math.isfinite(v)
    ]
    lo = min([-35.0, *values]) - 5
    hi = max([60.0, *values]) + 5
    chart = _Chart(1080, 270, (0.0, t_end), (lo, hi))
    for b in blocks:
        colour = {"flexion": FLEX_COLOUR, "extension": EXT_COLOUR}.get(b.kind or "", MUTED)
        chart.band_x(b.start_s, b.end_s, colour, 0.10)
    chart.axes(_nice_ticks(lo, hi, 6), [(t, f"{t:g}s") for t in _nice_ticks(0, t_end, 10)],
               "hip flexion (°)")
    chart.hline(0.0, "#444", "neutral 0°", dash="2 2")
    if hi >= NORMAL_FLEXION_DEG:
        chart.hline(NORMAL_FLEXION_DEG, FLEX_COLOUR, f"normal flexion ≈{NORMAL_FLEXION_DEG:g}°")
    chart.hline(-NORMAL_EXTENSION_DEG, EXT_COLOUR, f"normal extension ≈{NORMAL_EXTENSION_DEG:g}°")
    for b in blocks:
        if b.series is None or not len(b.series.t_s):  # no frames of its own: no label on
            continue  # top of the next block's (a block not done)
        chart.vline(b.start_s, "#b8bcc4")
        chart.text(chart.x(b.start_s) + 4, chart.mt + 12, b.name, "#4a5160", 10, "start")
        if b.session is not None:
            for rep in b.session.reps:
                top = rep.top_s if rep.top_s is not None else (rep.start_s + rep.end_s) / 2
                x = chart.x(top)  # reps are on the session clock, as the series
                chart.parts.append(
                    f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{chart.h - chart.mb}" '
                    f'y2="{chart.h - chart.mb - 7}" stroke="#1d2330" stroke-width="1.2"/>'
                )
    for s in series:
        chart.path(s.t_s, s.left, LEFT_COLOUR, 1.3)
        chart.path(s.t_s, s.right, RIGHT_COLOUR, 1.3)
    chart.text(chart.ml + 6, chart.h - 4, "— left hip", LEFT_COLOUR, 10, "start")
    chart.text(chart.ml + 76, chart.h - 4, "— right hip", RIGHT_COLOUR, 10, "start")
    chart.text(chart.ml + 156, chart.h - 4, "| rep (top)", "#1d2330", 10, "start")
    return chart.svg("Hip angle over the session")


def range_svg(report: BalanceReport) -> str:
    """The hip's range on one axis: normal active range, and what each kind of work reached."""
    reached = [v for w in (report.flexion, report.extension) if w.reps
               for v in (w.peak_flexion_deg, -(w.peak_extension_deg or 0.0)) if v is not None]
    lo = min([-40.0, *reached]) - 8
    hi = max([130.0, *reached]) + 8
    chart = _Chart(1080, 120, (lo, hi), (0.0, 3.0), margin=(8, 12, 24, 100))
    ticks = [t for t in range(-180, 181, 15) if lo <= t <= hi]
    chart.axes([], [(t, f"{t:+g}°" if t else "0°") for t in ticks])
    x0, x1 = chart.x(-NORMAL_EXTENSION_DEG), chart.x(NORMAL_FLEXION_DEG)
    y = chart.y(2.55)
    chart.parts.append(
        f'<rect x="{x0:.1f}" y="{y:.1f}" width="{x1 - x0:.1f}" height="12" fill="#d9dce1" '
        'rx="3"/>'
    )
    chart.text(chart.ml - 6, y + 10, "normal", "#4a5160", 11, "end")
    chart.vline(0.0, "#444")
    for row, work, colour in ((1.55, report.flexion, FLEX_COLOUR),
                              (0.55, report.extension, EXT_COLOUR)):
        y = chart.y(row)
        chart.text(chart.ml - 6, y + 11, f"{work.kind} work", colour, 11, "end")
        if work.reps and work.peak_flexion_deg is not None:
            a = -(work.peak_extension_deg or 0.0)
            b = work.peak_flexion_deg
            xa, xb = chart.x(max(lo, a)), chart.x(min(hi, b))
            chart.parts.append(
                f'<rect x="{xa:.1f}" y="{y:.1f}" width="{max(2.0, xb - xa):.1f}" height="14" '
                f'fill="{colour}" rx="3"/>'
            )
            chart.text(xa - 4, y + 11, f"{a:+.0f}°" if round(a) else "0°", colour, 10, "end")
            chart.text(xb + 4, y + 11, f"{b:+.0f}°", colour, 10, "start")
        else:
            chart.text(chart.x(0) + 6, y + 11, "no reps counted", MUTED, 10, "start")
    return chart.svg("Hip range reached vs normal active range")


def side_bars_svg(work: WorkSummary) -> str:
    """ROM per side for one kind of work (two bars), with the asymmetry."""
    values = [work.rom_left_deg, work.rom_right_deg]
    top = max([v for v in values if v is not None] + [10.0]) * 1.25
    chart = _Chart(300, 150, (0.0, 2.0), (0.0, top), margin=(10, 8, 22, 34))
    chart.axes(_nice_ticks(0, top, 4), [(0.5, "left"), (1.5, "right")], "ROM (°)")
    for i, (v, colour) in enumerate(zip(values, (LEFT_COLOUR, RIGHT_COLOUR), strict=True)):
        if v is None:
            chart.text(chart.x(i + 0.5), chart.y(top / 2), "not measured", MUTED, 10)
            continue
        x = chart.x(i + 0.2)
        w = chart.x(i + 0.8) - x
        y = chart.y(v)
        chart.parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{chart.y(0) - y:.1f}" '
            f'fill="{colour}" rx="2"/>'
        )
        chart.text(x + w / 2, y - 3, f"{v:.0f}°", "#1d2330", 11)
    return chart.svg(f"{work.kind} range of motion per side")


def history_svg(weeks: Sequence[Any], kind: str) -> str:
    """Weekly best peak and mean ROM per side for one kind of work (from `History.weekly`)."""
    rows = [w for w in weeks if w.kind == kind]
    by_week: dict[str, list[Any]] = {}
    for w in rows:
        by_week.setdefault(w.week, []).append(w)
    labels = sorted(by_week)
    if not labels:
        return '<p class="sub">No earlier sessions of this kind in the history yet.</p>'
    peak_key = "peak_flexion_deg" if kind == "flexion" else "peak_extension_deg"

    def agg(key: str, fn: Any) -> list[float]:
        out = []
        for lab in labels:
            vals = [getattr(w, key) for w in by_week[lab] if getattr(w, key) is not None]
            out.append(fn(vals) if vals else math.nan)
        return out

    peak = agg(peak_key, max)
    rom_l = agg("rom_left_deg", lambda v: sum(v) / len(v))
    rom_r = agg("rom_right_deg", lambda v: sum(v) / len(v))
    vals = [v for v in (*peak, *rom_l, *rom_r) if math.isfinite(v)]
    lo, hi = min([0.0, *vals]) - 3, max([10.0, *vals]) + 5
    xs = list(range(len(labels)))
    chart = _Chart(520, 200, (-0.5, len(labels) - 0.5), (lo, hi), margin=(22, 10, 30, 38))
    chart.text(chart.ml, 13, f"{kind} work per week (history)", "#4a5160", 11, "start")
    step = max(1, len(labels) // 6)
    chart.axes(_nice_ticks(lo, hi, 4), [(i, labels[i][5:]) for i in xs[::step]], "degrees")
    colour = FLEX_COLOUR if kind == "flexion" else EXT_COLOUR
    chart.path(xs, peak, colour, 2.0, dots=True)
    chart.path(xs, rom_l, LEFT_COLOUR, 1.3, dots=True)
    chart.path(xs, rom_r, RIGHT_COLOUR, 1.3, dots=True)
    chart.text(chart.ml + 4, chart.h - 3, f"— peak {kind}", colour, 10, "start")
    chart.text(chart.ml + 120, chart.h - 3, "— ROM left", LEFT_COLOUR, 10, "start")
    chart.text(chart.ml + 200, chart.h - 3, "— ROM right", RIGHT_COLOUR, 10, "start")
    return chart.svg(f"{kind} progress per week")


# ----------------------------------------------------------------------------- page


def _exercise_table(work: WorkSummary) -> str:
    rows = []
    for e in work.per_exercise:
        reps = f"{e['reps']}"
        if e["reps_left"] or e["reps_right"]:
            reps += f" ({e['reps_left']} / {e['reps_right']})"
        peak = e["peak_flexion_deg"] if work.kind == "flexion" else e["peak_extension_deg"]
        rows.append(
            f"<tr><td>{_e(e['exercise'])}</td><td class='n'>{reps}</td>"
            f"<td class='n'>{_f(peak, '°')}</td>"
            f"<td class='n'>{_f(e['rom_left_deg'], '°')}</td>"
            f"<td class='n'>{_f(e['rom_right_deg'], '°')}</td>"
            f"<td class='n'>{_f(e['rom_asymmetry_pct'], ' %')}</td></tr>"
        )
    if not rows:
        return '<p class="sub">No reps of this kind were counted.</p>'
    peak_head = "peak flex." if work.kind == "flexion" else "peak ext."
    return (
        "<table style='margin-top:8px'><tr><th>exercise</th><th class='n'>reps (L / R)</th>"
        f"<th class='n'>{peak_head}</th><th class='n'>ROM left</th><th class='n'>ROM right</th>"
        f"<th class='n'>asym.</th></tr>{''.join(rows)}</table>"
        "<p class='sub' style='font-size:11px'>ROM per side where that hip was measured: one-leg "
        "reps on their leg, two-leg reps on the side facing the camera; asymmetry only where "
        "both hips were measured in the same exercise.</p>"
    )


def _range_kpi(work: WorkSummary, normal: float) -> str:
    """The peak against the normal range; for bridge-type extension work (no normal-range
    figure: its top is held to a safe range) the over-arched reps instead."""
    if work.kind == "flexion" or work.pct_of_normal is not None or not work.reps:
        return (f'<div class="kpi"><small>of normal ≈{normal:g}°</small><span class="big">'
                f"{_f(work.pct_of_normal, '%')}</span></div>")
    return (f'<div class="kpi"><small>over-arched reps</small><span class="big">'
            f"{work.over_arched}</span></div>")


def _work_card(work: WorkSummary, weeks: Sequence[Any] | None) -> str:
    cls = "flex" if work.kind == "flexion" else "ext"
    peak_label = "peak flexion" if work.kind == "flexion" else "peak extension"
    normal = NORMAL_FLEXION_DEG if work.kind == "flexion" else NORMAL_EXTENSION_DEG
    hist = work.history or {}
    vs = work.vs_history or {}
    rows = [
        ("Reps (left / right)", f"{work.reps} ({work.reps_left} / {work.reps_right})"
         if work.reps_left or work.reps_right else f"{work.reps}",
         _f(hist.get("reps_total_mean"), "", 1), _signed(vs.get("reps"))),
        ("Partial reps", f"{work.partials}", "", ""),
        ("Time under tension", _f(work.tut_s, " s", 1), _f(hist.get("tut_s_total_mean"), " s", 1),
         _signed(vs.get("tut_s"), " s")),
        ("Pauses at the top", _pauses_text(work), "", ""),
        ("Peak flexion", _f(work.peak_flexion_deg, "°"),
         _f(hist.get("peak_flexion_mean"), "°") if work.kind == "flexion" else "",
         _signed(vs.get("peak_deg"), "°") if work.kind == "flexion" else ""),
        ("Peak extension (past neutral)", _f(work.peak_extension_deg, "°"),
         _f(hist.get("peak_extension_mean"), "°") if work.kind == "extension" else "",
         _signed(vs.get("peak_deg"), "°") if work.kind == "extension" else ""),
        ("ROM left / right", f"{_f(work.rom_left_deg, '°')} / {_f(work.rom_right_deg, '°')}",
         f"{_f(hist.get('rom_left_mean'), '°')} / {_f(hist.get('rom_right_mean'), '°')}"
         if hist.get("sessions") else "",
         f"{_signed(vs.get('rom_left_deg'), '°')} / {_signed(vs.get('rom_right_deg'), '°')}"
         if vs else ""),
        ("Left/right asymmetry (ROM)", _f(work.rom_asymmetry_pct, " %"), "", ""),
    ]
    if work.over_arched:
        rows.append(("Over-arched reps (form fault, not in the figures)",
                     f"{work.over_arched}", "", ""))
    runs = hist.get("runs") or 0
    table = "".join(
        f"<tr><td>{_e(a)}</td><td class='n'>{b}</td><td class='n'>{c}</td>"
        f"<td class='n'>{d}</td></tr>"
        for a, b, c, d in rows
    )
    parts = [
        f'<div class="card {cls}"><h2>{work.kind} work</h2>',
        '<div class="kpis">',
        f'<div class="kpi"><small>reps</small><span class="big">{work.reps}</span></div>',
        f'<div class="kpi"><small>{peak_label}</small><span class="big">'
        f"{_f(work.peak, '°')}</span></div>",
        _range_kpi(work, normal),
        f'<div class="kpi"><small>vs your average</small><span class="big">'
        f"{_signed(vs.get('peak_deg'), '°') if vs else '–'}</span></div>",
        "</div>",
        "<table><tr><th></th><th class='n'>this session</th>"
        f"<th class='n'>{'your mean (' + str(runs) + ' earlier)' if runs else 'no history'}</th>"
        f"<th class='n'>change</th></tr>{table}</table>",
        _exercise_table(work),
        history_svg(weeks, work.kind) if weeks is not None else "",
        "</div>",
    ]
    return "".join(parts)


def render_balance_html(
    report: BalanceReport,
    blocks: Sequence[BlockOutcome],
    weeks: Sequence[Any] | None = None,
    subtitle: str = "",
) -> str:
    """The whole one-page report as an HTML string (self-contained, no external references)."""
    share = report.extension_share_tut
    balance_bar = ""
    if share is not None:
        fpct = 100 * (1 - share)
        balance_bar = (
            '<div style="display:flex;height:18px;border-radius:4px;overflow:hidden;'
            'margin:6px 0 2px 0">'
            f'<div style="width:{fpct:.1f}%;background:{FLEX_COLOUR}"></div>'
            f'<div style="width:{100 - fpct:.1f}%;background:{EXT_COLOUR}"></div></div>'
            f'<div class="sub">time under tension: <b style="color:{FLEX_COLOUR}">'
            f"flexion {fpct:.0f}%</b> · <b style='color:{EXT_COLOUR}'>extension "
            f"{100 - fpct:.0f}%</b></div>"
        )
    block_rows = []
    for b in report.blocks:
        kind = b.get("kind")
        tag = {"flexion": ("tf", "flexion"), "extension": ("te", "extension")}.get(
            kind or "", ("tt", "timed")
        )
        reps = b.get("reps")
        target = b.get("target_reps")
        reps_text = (("not done" if b.get("exercise") else "–") if reps is None
                     else f"{reps}" + (f" / {target}" if target else ""))
        if b.get("unmatched_reps"):
            reps_text += f" ({b['unmatched_reps']} not counted: other movement)"
        holds = b.get("holds_met")
        holds_text = (
            f"{holds} of {reps} ≥ {b.get('hold_target_s'):g} s"
            if holds is not None and reps and b.get("hold_target_s") else "–"
        )
        block_rows.append(
            f"<tr><td>{_e(b['name'])}</td><td><span class='tag {tag[0]}'>{tag[1]}</span></td>"
            f"<td>{_e(b.get('exercise') or '–')}</td>"
            f"<td class='n'>{_span(b['start_s'], b['end_s'])}</td>"
            f"<td class='n'>{reps_text}</td><td class='n'>{b.get('partials') or 0}</td>"
            f"<td class='n'>{holds_text}</td></tr>"
        )
    findings = "".join(f"<li>{_e(f)}</li>" for f in report.findings)
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{_e(report.title)}</title><style>{_CSS}</style></head><body><main>"
        f"<h1>{_e(report.title)}</h1>"
        f"<p class='sub'>{_e(_when(report.started_at))}"
        f"{' · ' + _e(subtitle) if subtitle else ''}</p>"
        "<div class='grid'>"
        f"<div class='card'><h2>Balance</h2>{balance_bar}<ul>{findings}</ul></div>"
        "<div class='card'><h2>Blocks</h2><table><tr><th>block</th><th>work</th><th>exercise"
        "</th><th class='n'>time</th><th class='n'>reps</th><th class='n'>partial</th>"
        f"<th class='n'>holds</th></tr>{''.join(block_rows)}</table></div></div>"
        f"<div class='card'><h2>Hip range reached</h2>{range_svg(report)}</div>"
        f"<div class='card'><h2>Hip angle</h2>{angle_timeline_svg(blocks)}</div>"
        f"<div class='grid'>{_work_card(report.flexion, weeks)}"
        f"{_work_card(report.extension, weeks)}</div>"
        "<footer>Hip flexion is clinical: 0° = thigh in line with the trunk, positive = flexion, "
        "negative = extension. Normal active range ≈120° flexion, ≈30° extension. "
        "Generated by posecheck; this page needs no network.</footer>"
        "</main></body></html>"
    )


def write_balance_html(
    path: str | Path,
    report: BalanceReport,
    blocks: Sequence[BlockOutcome],
    weeks: Sequence[Any] | None = None,
    subtitle: str = "",
) -> Path:
    path = Path(path)
    try:
        path.write_text(render_balance_html(report, blocks, weeks, subtitle), encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path


# ----------------------------------------------------------------------------- progress PNG


def write_progress_plot(path: str | Path, weeks: Sequence[Any]) -> Path:
    """`posecheck history`'s plot: peak extension and ROM per side per week, reps per exercise."""
    from matplotlib import rcParams
    from matplotlib.figure import Figure  # object API: no pyplot state, no backend switch

    path = Path(path)
    labels = sorted({w.week for w in weeks})
    index = {lab: i for i, lab in enumerate(labels)}
    exercises = sorted({w.exercise for w in weeks})
    fig = Figure(figsize=(10, 9), dpi=100)
    axes = fig.subplots(3, 1, sharex=True)
    try:
        ax_ext, ax_rom, ax_reps = axes
        colours = rcParams["axes.prop_cycle"].by_key()["color"]
        colour_of = {ex: colours[i % len(colours)] for i, ex in enumerate(exercises)}
        for ex in exercises:
            rows = [w for w in weeks if w.exercise == ex]
            xs = [index[w.week] for w in rows]
            c = colour_of[ex]
            if rows[0].kind != "flexion" and any(w.peak_extension_deg is not None for w in rows):
                ax_ext.plot(xs, [_nan(w.peak_extension_deg) for w in rows], "o-", color=c,
                            label=ex)
            ax_rom.plot(xs, [_nan(w.rom_left_deg) for w in rows], "o-", color=c,
                        label=f"{ex} left")
            ax_rom.plot(xs, [_nan(w.rom_right_deg) for w in rows], "s--", color=c, alpha=0.7,
                        label=f"{ex} right")
        ax_ext.axhline(NORMAL_EXTENSION_DEG, color=EXT_COLOUR, ls=":", lw=1,
                       label=f"normal ≈{NORMAL_EXTENSION_DEG:g}°")
        ax_ext.axhline(0, color="grey", lw=0.8)
        ax_ext.set_ylabel("peak extension (° past neutral)\nextension exercises")
        ax_ext.set_title("Weekly progress")
        ax_rom.set_ylabel("mean ROM per side (°)\nsolid left, dashed right")
        bottom = [0.0] * len(labels)
        for ex in exercises:
            heights = [0.0] * len(labels)
            for w in weeks:
                if w.exercise == ex:
                    heights[index[w.week]] = w.reps
            ax_reps.bar(range(len(labels)), heights, bottom=bottom, label=ex,
                        color=colour_of[ex])
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        ax_reps.set_ylabel("reps per week")
        step = max(1, len(labels) // 12)
        ax_reps.set_xticks(range(0, len(labels), step))
        ax_reps.set_xticklabels(labels[::step], rotation=30, ha="right", fontsize=8)
        for ax in axes:
            ax.grid(alpha=0.3)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=7, loc="upper left", ncol=2)
        fig.tight_layout()
        fig.savefig(path)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path


def _when(iso: str) -> str:
    try:
        dt = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return dt.strftime("%Y-%m-%d %H:%M") + (" UTC" if dt.utcoffset() == timedelta(0) else "")


def _nan(v: float | None) -> float:
    return math.nan if v is None else v
