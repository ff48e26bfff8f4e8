"""The records of the session history: what one session and one rep are, taken from a report.

`session_from_report` turns a `SessionReport`, a report.json dict or a record into a
`SessionRecord` with its summary metrics; `store` writes them to the database.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from posecheck.errors import PosecheckError

HIP_RANGE_DEG = (-45.0, 150.0)  # anything outside is a measurement artefact, not a hip angle


class HistoryError(PosecheckError):
    """The history database cannot be opened, read or written, or an import is invalid."""


@dataclass(frozen=True)
class RepRecord:
    """One rep as history keeps it (seconds on the session clock)."""

    side: str
    start_s: float
    end_s: float
    rom_deg: float | None = None
    peak_deg: float | None = None  # signed hip flexion at the rep's extreme (negative = extension)
    partial: bool = False
    hold_s: float | None = None
    hold_met: bool = False
    top_s: float | None = None
    faults: tuple[str, ...] = ()  # form rules that fired on the rep (e.g. "over_arch")

    @property
    def duration_s(self) -> float:
        return max(0.0, self.end_s - self.start_s)


@dataclass(frozen=True)
class SessionRecord:
    """One exercise session (or one block of a routine), normalised from any report shape."""

    exercise: str
    reps: tuple[RepRecord, ...]
    started_at: str  # ISO 8601, UTC
    kind: str | None = None  # "flexion" / "extension"
    mode: str = "video"  # "video", "live", "routine", "import", ...
    source: str = ""
    duration_s: float | None = None
    partials: tuple[RepRecord, ...] = ()
    detection_rate: float | None = None
    side_used: str | None = None
    report: dict[str, Any] | None = field(default=None, compare=False)
    uid: str = ""

    @property
    def rep_count(self) -> int:
        return len(self.reps)

    def metrics(self) -> dict[str, Any]:
        """The derived numbers stored as columns (see `session_metrics`)."""
        return session_metrics(self.reps, self.kind, self.side_used, self.exercise)


def over_arch_limit(exercise: str | None) -> float | None:
    """The exercise's over-arch limit (signed hip flexion, e.g. -15°), or None if it has none.

    It is the `over_arch` form rule's `min_deg` in the exercise profile: beyond it the lower
    back, not the hip, is finishing the rep (a bridge's own safe range ends there).
    """
    try:
        from posecheck.core.profiles import get_profile

        prof = get_profile(exercise) if exercise else None
    except (ImportError, PosecheckError):
        return None
    for ref in prof.rules if prof is not None else ():
        if ref.name == "over_arch":
            return ref.kwargs.get("min_deg", -15.0)
    return None


def over_arched(rep: RepRecord, limit: float | None) -> bool:
    """True when the over-arch cue fired on the rep or its peak lies past `limit`.

    A peak beyond what a hip and a back can do together (`HIP_RANGE_DEG`) is a measurement
    artefact, not an over-arch: it stays in the figures, where the balance report names it.
    """
    peak = rep.peak_deg
    known = peak is not None and math.isfinite(peak)
    if known and peak < HIP_RANGE_DEG[0]:
        return False
    if "over_arch" in rep.faults:
        return True
    return limit is not None and known and peak < limit


def session_metrics(
    reps: Iterable[RepRecord],
    kind: str | None = None,
    side_used: str | None = None,
    exercise: str | None = None,
) -> dict[str, Any]:
    """Per-session numbers the history and the balance report share.

    Time under tension is the summed duration of full reps (start to end, holds included).
    Each rep spans [peak - ROM, peak] for flexion work and [peak, peak + ROM] for extension
    work (its peak is its extreme in the exercise's direction). Peak flexion is the most flexed
    end reached; peak extension is minus the least flexed end: degrees past neutral, negative
    when the hip never reached neutral. ROM per side: a rep of one leg counts for that leg; a
    rep of both legs (a bridge seen from the side) counts for the side it was measured on
    (`side_used`), or for both when both were trusted. Rep counts per side are one-leg reps only.
    Over-arched reps (`over_arched`, limit from `exercise`) count as reps and time under tension,
    but not towards peaks or ROM: lower-back extension is a form fault, not hip range.
    """
    reps = [r for r in reps if not r.partial]
    limit = over_arch_limit(exercise)
    faulty = [r for r in reps if over_arched(r, limit)]
    clean = [r for r in reps if not over_arched(r, limit)]
    both_to = (side_used,) if side_used in ("left", "right") else ("left", "right")
    left = [r for r in clean if r.side == "left" or (r.side == "both" and "left" in both_to)]
    right = [r for r in clean if r.side == "right" or (r.side == "both" and "right" in both_to)]
    holds = [r for r in reps if r.hold_s is not None and r.hold_s > 0]
    ends: list[float] = []
    for r in clean:
        if r.peak_deg is None or not math.isfinite(r.peak_deg):
            continue
        ends.append(r.peak_deg)
        if r.rom_deg is not None and math.isfinite(r.rom_deg):
            extension = kind == "extension" or (kind is None and r.peak_deg <= 0)
            first, second = (1, -1) if extension else (-1, 1)
            # a report's ROM is on the profile's own signal, which is not always the hip: keep
            # the other end only where a hip can be (≈-45° .. 150°)
            for sign in (first, second):
                other = r.peak_deg + sign * r.rom_deg
                if HIP_RANGE_DEG[0] <= other <= HIP_RANGE_DEG[1]:
                    ends.append(other)
                    break
    return {
        "rep_count": len(reps),
        "reps_left": sum(1 for r in reps if r.side == "left"),
        "reps_right": sum(1 for r in reps if r.side == "right"),
        "hold_count": len(holds),
        "holds_met": sum(1 for r in holds if r.hold_met),
        "tut_s": round(sum(r.duration_s for r in reps), 3),
        "peak_flexion_deg": round(max(ends), 2) if ends else None,
        "peak_extension_deg": round(-min(ends), 2) if ends else None,
        "rom_left_deg": _mean_rom(left),
        "rom_right_deg": _mean_rom(right),
        "over_arched": len(faulty),
        "over_arch_peak_deg": _round(min((r.peak_deg for r in faulty if r.peak_deg is not None),
                                         default=None)),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _mean_rom(reps: list[RepRecord]) -> float | None:
    values = [r.rom_deg for r in reps if r.rom_deg is not None and math.isfinite(r.rom_deg)]
    return round(sum(values) / len(values), 2) if values else None


def _num(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _secs(d: Mapping[str, Any], name: str) -> float | None:
    """Read `name_s`, or `name_ms` / 1000, from a report dict."""
    if f"{name}_s" in d:
        return _num(d[f"{name}_s"])
    if f"{name}_ms" in d:
        ms = _num(d[f"{name}_ms"])
        return None if ms is None else ms / 1000.0
    return None


def _rep_from_dict(d: Mapping[str, Any], partial: bool = False) -> RepRecord:
    hold = d.get("hold")
    hold_s = hold_met = None
    if isinstance(hold, Mapping):
        hold_s = _num(hold.get("duration_s"))
        if hold_s is None:
            start, end = _secs(hold, "start"), _secs(hold, "end")
            hold_s = None if start is None or end is None else end - start
        hold_met = hold.get("target_met", hold.get("met"))
        if hold_met is None:
            target = _num(hold.get("target_s")) or 0.0
            hold_met = bool(target > 0 and hold_s is not None and hold_s >= target)
    return RepRecord(
        side=str(d.get("side") or "both"),
        start_s=_secs(d, "start") or 0.0,
        end_s=_secs(d, "end") or 0.0,
        top_s=_secs(d, "top"),
        rom_deg=_num(d.get("rom_deg")),
        peak_deg=_num(d.get("peak_deg")),
        partial=bool(d.get("partial", partial)),
        hold_s=hold_s,
        hold_met=bool(hold_met),
        faults=_rep_faults(d.get("cues")),
    )


def _rep_faults(cues: Any) -> tuple[str, ...]:
    """The rule names of a report rep's cues (`[{"rule": ...}, ...]`), in order, once each."""
    if not isinstance(cues, list):
        return ()
    names = (c.get("rule") for c in cues if isinstance(c, Mapping))
    return tuple(dict.fromkeys(str(n) for n in names if n))


def _to_plain(obj: Any) -> Any:
    """A report object as plain JSON data (dataclass, object with to_dict/to_json, or dict)."""
    if isinstance(obj, Mapping):
        return dict(obj)
    for method in ("to_dict", "as_dict"):
        if hasattr(obj, method):
            return getattr(obj, method)()
    if hasattr(obj, "to_json"):
        return json.loads(obj.to_json())
    if is_dataclass(obj) and not isinstance(obj, type):
        return json.loads(json.dumps(asdict(obj), default=str))
    raise HistoryError(f"cannot store a {type(obj).__name__} as a session")


def session_from_report(
    report: Any, *, mode: str | None = None, started_at: str | None = None
) -> SessionRecord:
    """Normalise a `SessionReport`, a report.json dict or a `SessionRecord` for storage."""
    if isinstance(report, SessionRecord):
        return report
    data = _to_plain(report)
    if not isinstance(data, dict) or not data.get("exercise"):
        raise HistoryError("not a posecheck session report (no 'exercise')")
    exercise = data["exercise"]
    if isinstance(exercise, Mapping):  # {"name": ..., "kind": ...}
        kind = exercise.get("kind")
        exercise = exercise.get("name")
    else:
        kind = data.get("kind")
    raw_reps = data.get("reps") or []
    if not isinstance(raw_reps, list):
        raise HistoryError("report 'reps' is not a list")
    reps = [_rep_from_dict(r) for r in raw_reps if isinstance(r, Mapping)]
    raw_partials = data.get("partials") or []
    partials = [_rep_from_dict(r, True) for r in raw_partials if isinstance(r, Mapping)]
    full = tuple(r for r in reps if not r.partial)
    partials = [*partials, *(r for r in reps if r.partial)]
    when = started_at or data.get("started_at") or data.get("created_at") or data.get("created")
    when = to_utc_iso(when) if when else _now()
    source = data.get("source") or data.get("video") or data.get("input") or ""
    duration = _num(data.get("duration_s"))
    uid = (str(data.get("session_id") or data.get("uid") or "")
           or reanalysis_uid(data, mode or str(data.get("mode") or "video")) or _digest(data))
    return SessionRecord(
        exercise=str(exercise),
        kind=str(kind) if kind else _profile_kind(str(exercise)),
        reps=full,
        partials=tuple(partials),
        started_at=when,
        mode=mode or str(data.get("mode") or "video"),
        source=str(source),
        duration_s=duration,
        detection_rate=_num(data.get("detection_rate")),
        side_used=data.get("side_used"),
        report=data,
        uid=uid,
    )


def _profile_kind(exercise: str) -> str | None:
    try:
        from posecheck.core.profiles import PROFILES
    except ImportError:
        return None
    prof = PROFILES.get(exercise)
    return str(prof.kind) if prof is not None and getattr(prof, "kind", None) else None


# What makes two analyses of a recorded file the same analysis (besides the file's bytes).
ANALYSIS_SETTINGS = ("exercise", "model", "stride", "hold_target_s", "rep_target")


def reanalysis_uid(data: Mapping[str, Any], mode: str) -> str | None:
    """For a recorded video that still exists: a uid from its content and the settings, so
    analysing the same file again with the same settings is recognised, not stored twice.

    Why content, not the path: a copied or renamed file is the same session; an edited file
    at the same path is not. None for live sessions or a source that is gone.
    """
    source = Path(str(data.get("source") or ""))
    if mode != "video" or not source.is_file():
        return None
    from posecheck.inputs.models import file_sha256  # the bundles' checked hash, cached per file

    try:
        content = file_sha256(source)
    except OSError:
        return None
    return _digest({"content": content, **{k: data.get(k) for k in ANALYSIS_SETTINGS}})


def _digest(data: Mapping[str, Any]) -> str:
    blob = json.dumps(data, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:32]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def to_utc_iso(value: Any) -> str:
    """Normalise a timestamp (ISO text or epoch seconds) to ISO 8601 UTC."""
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, timezone.utc).isoformat(timespec="seconds")
    try:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise HistoryError(f"bad timestamp: {value!r} (want ISO 8601, e.g. 2025-06-01)") from exc
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).isoformat(timespec="seconds")
