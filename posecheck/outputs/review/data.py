"""What the review page shows, shaped from report.json (a dict) and timeline.csv (rows): pure.

Why a separate module: the page must hold no analysis of its own, so everything here only
selects, thins and words what the analysis already wrote — the curve (decimated so a long
clip stays light), the bands, the rep table's cells and the summary sentences.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from posecheck.core.results import Cue, Severity
from posecheck.outputs.balance import NORMAL_EXTENSION_DEG, NORMAL_FLEXION_DEG
from posecheck.outputs.report import group_cues

# The curve keeps at most this many points: every frame of a clip up to ~2 minutes at 30 fps,
# and for longer ones each time bucket's lowest and highest sample (peaks survive thinning).
MAX_CURVE_POINTS = 4000


def _num(text: str | None) -> float:
    try:
        return float(text) if text not in (None, "") else math.nan
    except ValueError:
        return math.nan


def curve_from_timeline(rows: Iterable[Mapping[str, str]], hip_signal: bool) -> tuple[
        np.ndarray, np.ndarray]:
    """(t_s, hip flexion deg) per timeline row, NaN where unknown.

    The counter's own signal (`primary_deg`) when it is a hip angle, so the rep bands sit on
    the curve that made them; otherwise (a knee-driven profile) the used side's smoothed hip.
    """
    t: list[float] = []
    y: list[float] = []
    for row in rows:
        t.append(_num(row.get("t_s")))
        if hip_signal:
            y.append(_num(row.get("primary_deg")))
            continue
        side = row.get("side_used") or ""
        sides = [side] if side in ("left", "right") else ["left", "right"]
        vals = [_num(row.get(f"smoothed_{s}_deg")) for s in sides]
        finite = [v for v in vals if math.isfinite(v)]
        y.append(sum(finite) / len(finite) if finite else math.nan)
    ta, ya = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(ta)
    return ta[ok], ya[ok]


def decimate(t: np.ndarray, y: np.ndarray, max_points: int = MAX_CURVE_POINTS) -> tuple[
        np.ndarray, np.ndarray]:
    """At most ~`max_points` samples: per equal time bucket, the min and the max (in order).

    A bucket without any known value keeps one NaN so the drawn line breaks over the gap.
    """
    n = len(t)
    if n <= max_points or n < 2:
        return t, y
    buckets = max(1, max_points // 2)
    edges = np.linspace(t[0], t[-1], buckets + 1)
    which = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, buckets - 1)
    starts = np.flatnonzero(np.r_[True, which[1:] != which[:-1]])
    ends = np.r_[starts[1:], n]
    keep: list[int] = []
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        seg = y[a:b]
        finite = np.isfinite(seg)
        if not finite.any():
            keep.append(a)
            continue
        masked = np.where(finite, seg, np.nan)
        lo, hi = a + int(np.nanargmin(masked)), a + int(np.nanargmax(masked))
        keep.extend(sorted({lo, hi}))
    idx = np.asarray(keep, dtype=int)
    return t[idx], y[idx]


def _r(value: Any, nd: int = 1) -> float | None:
    if value is None:
        return None
    v = float(value)
    return round(v, nd) if math.isfinite(v) else None


def chart_data(report: Mapping[str, Any], t: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """The JSON the page's script draws: curve, rep/partial/pause bands, cue marks, normals."""
    reps = [{"i": r["index"], "start": r["start_s"], "top": r["top_s"], "end": r["end_s"]}
            for r in report.get("reps", [])]
    partials = [{"i": r["index"], "start": r["start_s"], "end": r["end_s"]}
                for r in report.get("partials", [])]
    holds = [{"start": h["start_s"], "end": h["end_s"], "met": bool(h.get("target_met"))}
             for h in report.get("holds", [])]
    cues = [{"t": c["t_s"], "sev": c.get("severity", "info"), "msg": c.get("message", "")}
            for c in report.get("cues", []) if c.get("t_s") is not None]
    return {
        "t": [round(float(v), 3) for v in t],
        "y": [_r(v) for v in y],
        "reps": reps,
        "partials": partials,
        "holds": holds,
        "cues": cues,
        "normal": {"flexion": NORMAL_FLEXION_DEG, "extension": NORMAL_EXTENSION_DEG},
    }


# ---------------------------------------------------------------- table and summary


def rep_rows(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One dict of display cells per full rep, then per partial (as the CLI summary lists)."""
    rows = []
    for kind, reps in (("rep", report.get("reps", [])), ("partial", report.get("partials", []))):
        for r in reps:
            hold = r.get("hold")
            rows.append({
                "label": f"{r['index']}" if kind == "rep" else f"partial {r['index']}",
                "start": r["start_s"],
                "end": r["end_s"],
                "top": r["top_s"],
                "pause": None if hold is None else hold["duration_s"],
                "target": None if hold is None else hold.get("target_s"),
                "met": None if hold is None else bool(hold.get("target_met")),
                "rom": r.get("rom_deg"),
                "ext": r.get("peak_extension_deg"),
                "cues": [c["message"] for c in r.get("cues", [])],
            })
    return rows


def _cue(d: Mapping[str, Any]) -> Cue:
    return Cue(rule=d.get("rule", ""), message=d.get("message", ""),
               severity=Severity(d.get("severity", "info")), t_ms=(d.get("t_s") or 0.0) * 1000,
               rep_index=d.get("rep_index"), value=d.get("value"))


def cue_texts(report: Mapping[str, Any]) -> list[str]:
    """The set's remarks as the CLI prints them: each once with its count, most severe first."""
    cues = [_cue(c) for c in report.get("cues", [])]
    by_key = {(c.rule, c.message, c.t_ms): c for c in cues}
    partials = []
    for p in report.get("partials", []):
        own = (by_key.get((c.get("rule", ""), c.get("message", ""), (c.get("t_s") or 0.0) * 1000))
               for c in p.get("cues", []))
        partials.append(_PartialCues(tuple(c for c in own if c is not None)))
    return [g.text() for g in group_cues(cues, partials)]  # type: ignore[arg-type]


class _PartialCues:
    """The one field of a partial Rep that `group_cues` reads."""

    def __init__(self, cues: tuple[Cue, ...]) -> None:
        self.cues = cues


def _span(values: Sequence[float], unit: str, nd: int = 0) -> str:
    lo, hi = min(values), max(values)
    if round(lo, nd) == round(hi, nd):
        return f"{lo:.{nd}f}{unit}"
    return f"{lo:.{nd}f}–{hi:.{nd}f}{unit}"


def summary(report: Mapping[str, Any], kind: str | None) -> dict[str, str]:
    """Plain-words lines: what went well, the most important cue, the set's hip work."""
    reps = report.get("reps", [])
    holds = report.get("holds", [])
    n = len(reps)
    well: list[str] = []
    if holds:
        met = [h for h in holds if h.get("target_met")]
        target = holds[0].get("target_s") or 0
        durations = [h["duration_s"] for h in holds]
        if len(met) == len(holds):
            well.append(f"every pause reached its {target:g} s target "
                        f"({_span(durations, ' s', 1)})")
        elif met:
            well.append(f"{len(met)} of {len(holds)} pauses reached the {target:g} s target")
    roms = [r["rom_deg"] for r in reps if r.get("rom_deg") is not None]
    if len(roms) >= 2 and max(roms) - min(roms) <= 5:
        well.append(f"a steady range of motion, {_span(roms, '°')} each rep")
    cues = cue_texts(report)
    if not cues and n:
        well.append("no form remarks")
    if not well:
        well.append(f"{n} rep{'s' if n != 1 else ''} counted" if n else "the clip was measured")
    went_well = "; ".join(well)
    out = {
        "went_well": went_well[0].upper() + went_well[1:] + ".",
        "cue": cues[0] if cues else "Nothing to correct.",
        "work": work_sentence(report, kind),
    }
    return out


def work_sentence(report: Mapping[str, Any], kind: str | None) -> str:
    """The set's flexion or extension work against the normal active ranges."""
    reps = report.get("reps", [])
    if not reps:
        return "No full reps, so no hip work to report."
    tut = sum(r.get("duration_s") or 0.0 for r in reps)
    roms = [r["rom_deg"] for r in reps if r.get("rom_deg") is not None]
    rom = f", range of motion {_span(roms, '°')}" if roms else ""
    head = f"{len(reps)} rep{'s' if len(reps) != 1 else ''}, {tut:.0f} s under tension{rom}"
    peaks = [r["peak_deg"] for r in reps if r.get("peak_deg") is not None]
    if kind == "flexion" and peaks:
        best = max(peaks)
        return (f"Flexion work: {head}; peak hip flexion {best:.0f}° "
                f"(normal ≈{NORMAL_FLEXION_DEG:.0f}°).")
    ext = [r.get("peak_extension_deg") or 0.0 for r in reps]
    best_ext = max(ext) if ext else 0.0
    reach = (f"hips reached {best_ext:.0f}° past neutral at best" if round(best_ext) >= 1
             else "hips did not pass neutral")
    label = "Extension work" if kind != "flexion" else "Hip work"
    return f"{label}: {head}; {reach} (normal extension ≈{NORMAL_EXTENSION_DEG:.0f}°)."
