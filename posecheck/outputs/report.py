"""What an analysis leaves behind: the session report, the per-frame timeline and the angle plot.

Everything here is fed `FrameResult`s one at a time and keeps only per-frame scalars (never
frames), so memory stays flat however long the input: the timeline is streamed to disk row by
row and the plot keeps four floats per frame.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import re
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import IO, Any

from posecheck import __version__
from posecheck.core.results import Cue, FrameResult, Hold, Rep, SetSummary, Severity
from posecheck.errors import OutputError


def shown_side(result: FrameResult) -> str | None:
    """The side a person looks at: the working leg on exercises done a leg at a time, else the
    core's choice; when it used both, the leg that moves.

    With both sides trusted (confidence within half of the best), that is the hip furthest
    from neutral: the raised knee of a march, the front leg of a lunge; either leg of a bridge.
    """
    side = result.working_side or result.side_used
    if side == "both":
        conf = result.measures.side_confidence if result.measures else {}
        best = max(conf.get("left", 0.0), conf.get("right", 0.0))
        trusted = [s for s in ("left", "right") if conf.get(s, 0.0) >= 0.5 * best] or ["left"]

        def excursion(s: str) -> float:
            v = result.hip_smoothed_deg.get(s, math.nan)
            return abs(v) if math.isfinite(v) else -1.0

        side = max(trusted, key=lambda s: (excursion(s), conf.get(s, 0.0)))
    return side if side in ("left", "right") else None


def shown_angle(result: FrameResult, side: str | None = None) -> float:
    """Signed clinical hip flexion of the shown side (smoothed when known), NaN when unknown."""
    side = shown_side(result) if side is None else side
    if side is None:
        return math.nan
    value = result.hip_smoothed_deg.get(side, math.nan)
    if not math.isfinite(value) and result.measures is not None:
        value = result.measures.hip_flexion_deg.get(side, math.nan)
    return float(value)


def _round(value: float | None, nd: int = 3) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), nd)


def _plain(obj: object) -> object:
    """JSON for what the core may hand over as numpy scalars (np.float64, np.bool_, ...)."""
    item = getattr(obj, "item", None)
    if callable(item):
        value = item()
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return value
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    return str(obj)


def hold_to_dict(hold: Hold) -> dict[str, Any]:
    return {
        "rep_index": hold.rep_index,
        "start_s": _round(hold.start_ms / 1000.0),
        "end_s": _round(hold.end_ms / 1000.0),
        "duration_s": _round(hold.duration_s),
        "target_s": hold.target_s,
        "target_met": bool(hold.met),
    }


def cue_to_dict(cue: Cue) -> dict[str, Any]:
    return {
        "rule": cue.rule,
        "message": cue.message,
        "severity": str(cue.severity),
        "t_s": _round(cue.t_ms / 1000.0),
        "rep_index": cue.rep_index,
        "value": _round(cue.value, 2),
    }


def unfinished_note(rep: Rep) -> str:
    """A rep cut off by the end of the input, in words: it is not counted, and says so."""
    held = f", held {rep.hold.duration_s:.1f} s so far" if rep.hold is not None else ""
    return f"1 rep unfinished at the end (not counted{held})"


def rep_to_dict(rep: Rep) -> dict[str, Any]:
    return {
        "index": rep.index,
        "side": rep.side,
        "partial": rep.partial,
        "start_s": _round(rep.start_ms / 1000.0),
        "top_s": _round(rep.top_ms / 1000.0),
        "end_s": _round(rep.end_ms / 1000.0),
        "duration_s": _round((rep.end_ms - rep.start_ms) / 1000.0),
        "rom_deg": _round(rep.rom_deg, 1),
        "peak_deg": _round(rep.peak_deg, 1),
        "peak_extension_deg": _round(max(0.0, -rep.peak_deg), 1),
        "concentric_s": _round(rep.concentric_ms / 1000.0),
        "eccentric_s": _round(rep.eccentric_ms / 1000.0),
        "extension_phase_s": _round(rep.extension_phase_ms / 1000.0),
        "flexion_phase_s": _round(rep.flexion_phase_ms / 1000.0),
        "hold": hold_to_dict(rep.hold) if rep.hold is not None else None,
        "cues": [cue_to_dict(c) for c in rep.cues],
    }


@dataclass(frozen=True)
class SessionReport:
    """The outcome of analysing one source: counts, events and how the analysis went.

    `reps`, `partials`, `holds` and `cues` are the core's own records (times in ms);
    `to_dict()`/`to_json()` give the report.json form (times in seconds).
    """

    exercise: str
    exercise_auto_detected: bool
    model: str
    source: str
    reps: tuple[Rep, ...]
    partials: tuple[Rep, ...]
    holds: tuple[Hold, ...]
    cues: tuple[Cue, ...]
    detection_rate: float
    side_used: str | None
    fps: float | None  # the source's frame rate
    frames: int  # frames analysed (after stride)
    frames_with_pose: int = 0
    duration_s: float = 0.0  # source time covered by the analysed frames
    stride: int = 1
    processing_fps: float | None = None  # analysed frames per second of wall time
    side_counts: dict[str, int] = field(default_factory=dict)
    interrupted: bool = False
    software_version: str = __version__
    outputs: dict[str, str] = field(default_factory=dict)  # kind -> path of files written
    exercise_scores: dict[str, float] = field(default_factory=dict)  # auto-detection evidence
    rep_target: int | None = None  # reps prescribed (--reps), None when not given
    hold_target_s: float | None = None  # the hold each rep was timed against (0 = none)
    frames_skipped: int = 0  # frames the file declares but that could not be decoded (damage)
    warnings: tuple[str, ...] = ()  # input outside what was validated (inputs.input_checks)
    unfinished: Rep | None = None  # a rep under way when the input ended: not counted

    @property
    def rep_count(self) -> int:
        return len(self.reps)

    @property
    def partial_count(self) -> int:
        return len(self.partials)

    @property
    def hold_count(self) -> int:
        return len(self.holds)

    @property
    def holds_met(self) -> int:
        return sum(1 for h in self.holds if h.met)

    @classmethod
    def from_summary(cls, summary: SetSummary, **kwargs: Any) -> SessionReport:
        """Build from the core's `SetSummary` plus what only the caller knows (source, model...)."""
        base: dict[str, Any] = {
            "exercise": summary.exercise,
            "reps": tuple(summary.reps),
            "partials": tuple(summary.partials),
            "holds": tuple(summary.holds),
            "cues": tuple(summary.cues),
            "detection_rate": summary.detection_rate,
            "side_used": summary.side_used,
            "frames": summary.frames,
            "frames_with_pose": summary.frames_with_pose,
            "side_counts": dict(summary.side_counts),
            "unfinished": summary.unfinished,
        }
        base.update(kwargs)
        return cls(**base)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("reps", "partials"):
                value = [rep_to_dict(r) for r in value]
            elif f.name == "unfinished":
                value = rep_to_dict(value) if value is not None else None
            elif f.name == "holds":
                value = [hold_to_dict(h) for h in value]
            elif f.name == "cues":
                value = [cue_to_dict(c) for c in value]
            elif isinstance(value, float):
                value = _round(value, 4)
            out[f.name] = value
        out["rep_count"] = self.rep_count
        out["partial_count"] = self.partial_count
        out["hold_count"] = self.hold_count
        out["holds_met"] = self.holds_met
        return out

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, default=_plain)

    def summary_line(self) -> str:
        """One human line: what a person wants to know first."""
        auto = " (auto-detected)" if self.exercise_auto_detected else ""
        target = f" / {self.rep_target}" if self.rep_target else ""
        parts = [f"{self.exercise}{auto}: {self.rep_count}{target} reps"]
        if self.partials:
            parts.append(f"{self.partial_count} partial")
        if self.unfinished is not None:
            parts.append(unfinished_note(self.unfinished))
        if self.holds:
            target = self.holds[0].target_s
            if target > 0:
                met = f"{self.holds_met} met the {target:g} s target"
                parts.append(f"{_plural(self.hold_count, 'pause')} ({met})")
            else:  # no target: the pauses are information, not a score
                mean = sum(h.duration_s for h in self.holds) / len(self.holds)
                parts.append(f"{_plural(self.hold_count, 'pause')} (mean {mean:.1f} s)")
        parts.append(f"pose in {self.detection_rate:.0%} of frames")
        if self.frames_skipped:
            plural = "s" if self.frames_skipped > 1 else ""
            parts.append(f"{self.frames_skipped} damaged frame{plural} skipped")
        return ", ".join(parts)

    def cue_groups(self) -> list[CueGroup]:
        """The set's form remarks for people: each once, with its count and reps."""
        return group_cues(self.cues, self.partials)

    def write_json(self, path: str | Path) -> Path:
        path = Path(path)
        try:
            path.write_text(self.to_json() + "\n")
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
        return path


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# ---------------------------------------------------------------- cues, grouped for people

SEVERITY_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


@dataclass(frozen=True)
class CueGroup:
    """One form remark as a coach makes it once for a set, with the reps it was made on.

    report.json keeps every rep's own cue (data); people read the remark once with a count.
    """

    rule: str
    severity: Severity
    message: str  # the remark; a measured number that varies is shown as its range ("14–16°")
    count: int
    reps: tuple[int, ...] = ()  # full reps (1-based) it was made on
    partials: tuple[int, ...] = ()  # partial reps it was made on

    @property
    def where(self) -> str:
        """`rep 4`, `reps 1, 2, 3, 5`, `rep 3, partial 1` (empty for set-level remarks)."""
        parts = []
        for word, indices in (("rep", self.reps), ("partial", self.partials)):
            if indices:
                plural = "s" if len(indices) > 1 else ""
                parts.append(f"{word}{plural} {', '.join(str(i) for i in indices)}")
        return ", ".join(parts)

    def text(self) -> str:
        """`message ×4 — reps 1, 2, 3, 5`: the line a person reads."""
        times = f" ×{self.count}" if self.count > 1 else ""
        where = f" — {self.where}" if self.where else ""
        return f"{self.message}{times}{where}"


def group_cues(cues: Sequence[Cue], partials: Sequence[Rep] = ()) -> list[CueGroup]:
    """Repeated remarks once each, most severe first (then in the order they were first made).

    Remarks group by rule and wording with the numbers taken out, so "differ by 16°" and
    "differ by 14°" are one remark ("differ by 14–16°"). A cue is counted against a partial
    rep when that partial carries it (a partial's `rep_index` counts partials).
    """
    on_partial = {c for p in partials for c in p.cues}
    groups: dict[tuple[str, str], list[Cue]] = {}
    for cue in cues:
        groups.setdefault((cue.rule, _NUMBER.sub("#", cue.message)), []).append(cue)
    out = []
    for (rule, _), members in groups.items():
        partial_idx = [c.rep_index for c in members if c in on_partial and c.rep_index]
        rep_idx = [c.rep_index for c in members if c not in on_partial and c.rep_index]
        out.append(CueGroup(
            rule=rule,
            severity=min((Severity(c.severity) for c in members), key=SEVERITY_RANK.__getitem__),
            message=_merge_numbers([c.message for c in members]),
            count=len(members),
            reps=tuple(sorted(set(rep_idx))),
            partials=tuple(sorted(set(partial_idx))),
        ))
    return sorted(out, key=lambda g: SEVERITY_RANK[g.severity])  # stable: first-made order


def _merge_numbers(messages: list[str]) -> str:
    """One wording for messages that differ only in their numbers: each number as a range."""
    slots = [_NUMBER.findall(m) for m in messages]
    merged = []
    for values in zip(*slots, strict=True):
        lo = min(values, key=float)
        hi = max(values, key=float)
        merged.append(lo if float(lo) == float(hi) else f"{lo}–{hi}")
    pieces = iter(merged)
    return _NUMBER.sub(lambda _: next(pieces), messages[0])


# ---------------------------------------------------------------- timeline.csv

TIMELINE_COLUMNS = (
    "t_s",
    "frame",
    "pose_present",
    "side_used",
    "raw_left_deg",
    "raw_right_deg",
    "smoothed_left_deg",
    "smoothed_right_deg",
    "primary_deg",
    "bridged",
    "class",
    "direction",
    "phase",
    "posture_ok",
    "rep_count",
    "partial_count",
    "rep_index",
    "holding",
    "hold_elapsed_s",
    "working_side",
    "movement",
    "cue",
    "cue_movement",
)


def _fmt(value: float) -> str:
    return f"{value:.2f}" if math.isfinite(value) else ""


def timeline_row(result: FrameResult) -> list[str]:
    """One CSV row of scalars from one FrameResult (empty cell = unknown)."""
    raw = result.measures.hip_flexion_deg if result.measures is not None else {}
    sm = result.hip_smoothed_deg
    cue = result.latest_cue
    return [
        f"{result.t_ms / 1000.0:.3f}",
        str(result.index),
        "1" if result.pose_present else "0",
        result.side_used or "",
        _fmt(raw.get("left", math.nan)),
        _fmt(raw.get("right", math.nan)),
        _fmt(sm.get("left", math.nan)),
        _fmt(sm.get("right", math.nan)),
        _fmt(result.primary_deg),
        "1" if result.bridged else "0",
        str(result.position),
        str(result.direction),
        str(result.phase),
        "0" if result.posture_wrong else "1",
        str(result.rep_count),
        str(result.partial_count),
        "" if result.rep_in_progress is None else str(result.rep_in_progress),
        "1" if result.holding else "0",
        f"{result.hold_elapsed_s:.2f}",
        result.working_side or "",
        "" if result.attempt is None else str(result.attempt),
        cue.rule if cue is not None else "",
        "" if cue is None or cue.attempt is None else str(cue.attempt),
    ]


class TimelineWriter:
    """Streams one CSV row per frame to disk (flushes as it goes; holds nothing per frame)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.rows = 0
        self.error: str | None = None  # set when a write failed (the file is incomplete)
        try:
            self._fh: IO[str] | None = self.path.open("w", newline="")
        except OSError as exc:
            raise OutputError(f"cannot write {self.path}: {exc.strerror or exc}") from exc
        self._csv = csv.writer(self._fh)
        self._csv.writerow(TIMELINE_COLUMNS)

    def write(self, result: FrameResult) -> None:
        """One row; a failed write (full disk) ends the file but never the analysis: the
        failure is kept in `error` for the caller to report once the results are safe."""
        if self.error is not None:
            return
        assert self._fh is not None, "TimelineWriter is closed"
        try:
            self._csv.writerow(timeline_row(result))
            self.rows += 1
            if self.rows % 25 == 0:
                self._fh.flush()  # someone tailing the file (or an interrupted run) sees progress
        except OSError as exc:
            self._fail(exc)

    def _fail(self, exc: OSError) -> None:
        self.error = f"cannot write {self.path}: {exc.strerror or exc}"
        with contextlib.suppress(OSError):
            if self._fh is not None:
                self._fh.close()
        self._fh = None

    def close(self) -> None:
        if self._fh is not None:
            try:
                self._fh.close()
            except OSError as exc:
                self._fail(exc)
            self._fh = None

    def __enter__(self) -> TimelineWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------- angle.png


class AngleTrace:
    """Per-frame scalars for the angle plot: time, shown angle, per-side smoothed angles, pose."""

    def __init__(self) -> None:
        self.t_s = array("d")
        self.shown = array("f")
        self.left = array("f")
        self.right = array("f")
        self.present = array("b")

    def __len__(self) -> int:
        return len(self.t_s)

    def add(self, result: FrameResult) -> None:
        self.t_s.append(result.t_ms / 1000.0)
        self.shown.append(shown_angle(result))
        self.left.append(result.hip_smoothed_deg.get("left", math.nan))
        self.right.append(result.hip_smoothed_deg.get("right", math.nan))
        self.present.append(1 if result.pose_present else 0)


def write_angle_plot(path: str | Path, trace: AngleTrace, report: SessionReport) -> Path:
    """Hip angle over time with reps (shaded), partials, holds (green) and cues (markers)."""
    # The object API, not pyplot: no global backend switch (a notebook keeps its own), no
    # figure manager to leak, safe off the main thread.
    import numpy as np
    from matplotlib.figure import Figure

    path = Path(path)
    t = np.frombuffer(trace.t_s, dtype=np.float64) if len(trace) else np.zeros(0)
    fig = Figure(figsize=(12, 4.2), dpi=110)
    ax = fig.subplots()
    if len(trace):
        lines = (  # (samples, colour, width, alpha, label)
            (trace.left, "#6fa8dc", 0.8, 0.5, "left (smoothed)"),
            (trace.right, "#e69138", 0.8, 0.5, "right (smoothed)"),
            (trace.shown, "black", 1.6, 1.0, f"hip flexion, side used ({report.side_used or '-'})"),
        )
        for samples, colour, width, alpha, label in lines:
            ax.plot(t, np.frombuffer(samples, dtype=np.float32), color=colour, lw=width,
                    alpha=alpha, label=label)
        absent = np.frombuffer(trace.present, dtype=np.int8) == 0
        if absent.any():
            ax.plot(t[absent], np.full(int(absent.sum()), 0.0), "|", color="grey", ms=6,
                    alpha=0.6, label="no pose")
    ax.axhline(0.0, color="grey", lw=0.8, ls="--")
    ymin, ymax = ax.get_ylim()

    def mark(x_s: float, y: float, text: str, colour: str, size: int = 8) -> None:
        ax.text(x_s, y, text, ha="center", va="bottom", fontsize=size, color=colour)

    for rep in report.reps:
        ax.axvspan(rep.start_ms / 1000, rep.end_ms / 1000, color="#cfe2f3", alpha=0.6, lw=0)
        ax.axvline(rep.top_ms / 1000, color="#3d85c6", lw=0.8)
        mark(rep.top_ms / 1000, ymax, f"R{rep.index}", "#3d85c6")
    for rep in report.partials:
        ax.axvspan(rep.start_ms / 1000, rep.end_ms / 1000, facecolor="none",
                   edgecolor="#e69138", hatch="//", lw=0)
        mark(rep.top_ms / 1000, ymax, f"P{rep.index}", "#e69138")
    for hold in report.holds:
        colour = "#6aa84f" if hold.met else "#f1c232"
        ax.axvspan(hold.start_ms / 1000, hold.end_ms / 1000, color=colour, alpha=0.45, lw=0)
        mark((hold.start_ms + hold.end_ms) / 2000, ymin, f"{hold.duration_s:.1f}s", "#274e13", 7)
    for cue in report.cues:
        ax.plot(cue.t_ms / 1000, ymax, "v", color="#cc0000", ms=6, clip_on=False)
    if report.cues:
        ax.plot([], [], "v", color="#cc0000", label="form cue")
    ax.set_ylim(ymin, ymax)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("hip angle (deg)   + flexion / - extension")
    auto = " (auto-detected)" if report.exercise_auto_detected else ""
    ax.set_title(
        f"{Path(report.source).name}: {report.exercise}{auto}, "
        f"{report.rep_count} reps, {report.partial_count} partial, "
        f"{report.hold_count} holds",
        fontsize=10,
        pad=14,
    )
    if ax.get_legend_handles_labels()[0]:  # an empty set has nothing to label
        ax.legend(loc="upper right", fontsize=7, framealpha=0.8)
    ax.grid(alpha=0.25)
    # Fixed margins for this fixed size: tight_layout() draws the whole figure once more just to
    # measure it (~40 % of the plot's time, which every analysed clip pays after its frames).
    fig.subplots_adjust(left=0.06, right=0.988, bottom=0.12, top=0.875)
    try:
        fig.savefig(path)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path


def prefetch_plotting() -> None:
    """Import matplotlib in a background thread while frames are processed (~1 s saved)."""
    import importlib
    import threading

    def load() -> None:
        try:
            importlib.import_module("matplotlib.figure")
            importlib.import_module("matplotlib.backends.backend_agg")
        except Exception:  # the real import reports it
            pass

    threading.Thread(target=load, name="posecheck-prefetch", daemon=True).start()


def report_fields() -> list[str]:
    """Names of SessionReport's fields (for docs and tests)."""
    return [f.name for f in fields(SessionReport)]


__all__ = [
    "AngleTrace",
    "CueGroup",
    "SessionReport",
    "TimelineWriter",
    "group_cues",
    "rep_to_dict",
    "shown_angle",
    "shown_side",
    "timeline_row",
    "write_angle_plot",
]
