"""The balance report: flexion work and extension work of one session, side by side.

Why: the seeds are about the balance between hip flexion and extension (tight flexors, sleepy
glutes). For each kind of work this gathers reps, time under tension, peak flexion, peak
extension and range of motion per side, the left/right asymmetry, and compares them with the
normal active ranges (≈120° flexion, ≈30° extension) and with the user's own history.
Pure: plain records in, a plain JSON-friendly record out; rendering is `html_report`.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from posecheck.outputs.history import (
    RepRecord,
    SessionRecord,
    over_arch_limit,
    over_arched,
    session_metrics,
    to_utc_iso,
)

NORMAL_FLEXION_DEG = 120.0  # normal active hip flexion (clinical range of motion)
NORMAL_EXTENSION_DEG = 30.0  # normal active hip extension past neutral
PLAUSIBLE_FLEXION_DEG = 140.0  # beyond these a reading is an artefact, not a hip
PLAUSIBLE_EXTENSION_DEG = 45.0
ASYMMETRY_FLAG_PCT = 15.0  # a left/right ROM difference above this is worth a note
KINDS = ("flexion", "extension")


@dataclass(frozen=True)
class AngleSeries:
    """A hip-angle trace for the plots: times (s) and signed hip flexion per side (deg, NaN)."""

    t_s: Sequence[float]
    left: Sequence[float]
    right: Sequence[float]


@dataclass(frozen=True)
class BlockOutcome:
    """What one routine block (or one plain session) produced, for the report and the plots."""

    name: str
    exercise: str | None
    kind: str | None
    start_s: float
    end_s: float
    session: SessionRecord | None = None  # None for a timed block; rep times on the same clock
    target_reps: int | None = None
    hold_target_s: float = 0.0
    series: AngleSeries | None = None  # on the routine clock
    # reps its counter found that do not move like its exercise (`routine.match.Unmatched`)
    unmatched: tuple[Any, ...] = ()

    @property
    def rep_count(self) -> int:
        return self.session.rep_count if self.session is not None else 0


@dataclass(frozen=True)
class WorkSummary:
    """Flexion work or extension work of one session."""

    kind: str
    exercises: tuple[str, ...]
    sessions: int
    reps: int
    reps_left: int
    reps_right: int
    partials: int
    tut_s: float
    holds: int
    holds_met: int
    peak_flexion_deg: float | None
    peak_extension_deg: float | None
    rom_left_deg: float | None
    rom_right_deg: float | None
    rom_asymmetry_pct: float | None  # |L - R| / max(L, R) in %, per exercise, rep-weighted
    rep_asymmetry_pct: float | None
    # the peak vs the normal active range, in percent; extension: only exercises with no safe
    # range of their own (a bridge's extension is checked against its over-arch limit instead)
    pct_of_normal: float | None
    per_exercise: tuple[dict[str, Any], ...] = ()  # see `exercise_sides`
    history: dict[str, Any] = field(default_factory=dict)  # the user's earlier numbers
    vs_history: dict[str, float | None] = field(default_factory=dict)  # this minus earlier mean
    over_arched: int = 0  # reps past their exercise's over-arch limit: form faults, not range

    @property
    def peak(self) -> float | None:
        """The peak that matters for this kind of work."""
        return self.peak_flexion_deg if self.kind == "flexion" else self.peak_extension_deg


@dataclass(frozen=True)
class BalanceReport:
    """One session's balance between flexion and extension work."""

    title: str
    started_at: str
    flexion: WorkSummary
    extension: WorkSummary
    blocks: tuple[dict[str, Any], ...]
    findings: tuple[str, ...]
    extension_share_reps: float | None  # extension reps / all reps
    extension_share_tut: float | None  # extension time under tension / all
    normal: dict[str, float] = field(
        default_factory=lambda: {
            "flexion_deg": NORMAL_FLEXION_DEG, "extension_deg": NORMAL_EXTENSION_DEG
        }
    )

    def work(self, kind: str) -> WorkSummary:
        return self.flexion if kind == "flexion" else self.extension

    def to_dict(self) -> dict[str, Any]:
        return _clean(asdict(self))

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 2) if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def hip_reps_from_series(record: SessionRecord, series: AngleSeries) -> SessionRecord:
    """The record with each rep's peak and ROM measured on the hip angle itself.

    A profile's counter may run on another signal (a lunge's knee) and report ROM in its units;
    the balance report is about the hip, so each rep's extreme (least flexed for extension
    work, most flexed for flexion work) and range are read from the smoothed hip trace of the
    leg that did the rep (one-leg reps), or of the side used (two-leg reps).
    """
    import numpy as np

    limit = over_arch_limit(record.exercise)
    t = np.asarray(series.t_s, dtype=float)
    sides = {"left": np.asarray(series.left, dtype=float),
             "right": np.asarray(series.right, dtype=float)}
    out = []
    for rep in record.reps:
        mask = (t >= rep.start_s) & (t <= rep.end_s)
        names = _measured_sides(rep, record.side_used)
        ranges = []
        peaks = []
        for name in names:
            vals = sides[name][mask]
            vals = vals[np.isfinite(vals)]
            if len(vals) < 2:
                continue
            peaks.append(float(vals.min() if record.kind == "extension" else vals.max()))
            ranges.append(float(vals.max() - vals.min()))
        if peaks:
            peak = min(peaks) if record.kind == "extension" else max(peaks)
            rep = dataclasses.replace(rep, peak_deg=round(peak, 2),
                                      rom_deg=round(sum(ranges) / len(ranges), 2))
        out.append(_mark_over_arch(rep, limit))
    return dataclasses.replace(record, reps=tuple(out))


def _mark_over_arch(rep: RepRecord, limit: float | None) -> RepRecord:
    """The rep with an "over_arch" fault when its peak lies past the exercise's limit."""
    if "over_arch" in rep.faults or not over_arched(rep, limit):
        return rep
    return dataclasses.replace(rep, faults=(*rep.faults, "over_arch"))


def marked_reps(session: SessionRecord) -> list[RepRecord]:
    """A session's reps, each over-arched one marked as such (cue fired or peak past limit)."""
    limit = over_arch_limit(session.exercise)
    return [_mark_over_arch(r, limit) for r in session.reps]


def progress_reps(session: SessionRecord) -> list[RepRecord]:
    """The reps whose hip numbers count as range: over-arched reps are form faults."""
    return [r for r in marked_reps(session) if "over_arch" not in r.faults]


def asymmetry_pct(left: float | None, right: float | None) -> float | None:
    """|L - R| as a percentage of the larger side; None unless both sides are known."""
    if left is None or right is None:
        return None
    big = max(abs(left), abs(right))
    if big == 0:
        return 0.0
    return round(100.0 * abs(left - right) / big, 1)


def _measured_sides(rep: RepRecord, side_used: str | None) -> tuple[str, ...]:
    """Which hips a rep's ROM was measured on: its leg, or for a two-leg rep the side seen."""
    if rep.side in ("left", "right"):
        return (rep.side,)
    return (side_used,) if side_used in ("left", "right") else ("left", "right")


def _mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def exercise_sides(kind: str, sessions: Sequence[SessionRecord]) -> list[dict[str, Any]]:
    """Per exercise: reps, peak, ROM per measured side and the left/right asymmetry.

    Asymmetry is only given where both sides were measured in the same exercise (one-leg work,
    or both hips trusted): comparing one exercise's left with another's right would be noise.
    """
    out = []
    for exercise in dict.fromkeys(s.exercise for s in sessions):
        group = [s for s in sessions if s.exercise == exercise]
        reps = [r for s in group for r in marked_reps(s)]
        m = session_metrics(reps, kind)
        rom: dict[str, list[float]] = {"left": [], "right": []}
        for s in group:
            for r in progress_reps(s):
                if r.rom_deg is not None and math.isfinite(r.rom_deg):
                    for side in _measured_sides(r, s.side_used):
                        rom[side].append(r.rom_deg)
        left, right = _mean(rom["left"]), _mean(rom["right"])
        out.append(
            {
                "exercise": exercise,
                "reps": m["rep_count"],
                "reps_left": m["reps_left"],
                "reps_right": m["reps_right"],
                "peak_flexion_deg": m["peak_flexion_deg"],
                "peak_extension_deg": m["peak_extension_deg"],
                "rom_left_deg": left,
                "rom_right_deg": right,
                "rom_asymmetry_pct": asymmetry_pct(left, right),
                "safe_extension_deg": _safe_extension(exercise),
                "over_arched": m["over_arched"],
                "over_arch_peak_deg": _neg(m["over_arch_peak_deg"]),
            }
        )
    return out


def _safe_extension(exercise: str | None) -> float | None:
    """Degrees past neutral where the exercise's safe range ends (its over-arch limit)."""
    limit = over_arch_limit(exercise)
    return None if limit is None else -limit


def _neg(value: float | None) -> float | None:
    return None if value is None else -value


def summarise_work(
    kind: str, sessions: Sequence[SessionRecord], history: Mapping[str, Any] | None = None
) -> WorkSummary:
    """Pool the sessions of one kind of work (all reps together, per side where measured)."""
    reps = [r for s in sessions for r in marked_reps(s)]
    pooled = session_metrics(reps, kind)
    per_ex = exercise_sides(kind, sessions)
    rom: dict[str, list[float]] = {"left": [], "right": []}
    for s in sessions:
        for r in progress_reps(s):
            if r.rom_deg is not None and math.isfinite(r.rom_deg):
                for side in _measured_sides(r, s.side_used):
                    rom[side].append(r.rom_deg)
    rom_l, rom_r = _mean(rom["left"]), _mean(rom["right"])
    weighted = [(e["rom_asymmetry_pct"], e["reps"]) for e in per_ex
                if e["rom_asymmetry_pct"] is not None and e["reps"]]
    rom_asym = (
        round(sum(a * n for a, n in weighted) / sum(n for _, n in weighted), 1)
        if weighted else None
    )
    one_leg = pooled["reps_left"] + pooled["reps_right"] > 0
    peak = pooled["peak_flexion_deg"] if kind == "flexion" else pooled["peak_extension_deg"]
    normal = NORMAL_FLEXION_DEG if kind == "flexion" else NORMAL_EXTENSION_DEG
    mobility = _mobility_peak(kind, per_ex)
    hist = dict(history or {})
    vs: dict[str, float | None] = {}
    if hist.get("sessions"):
        vs = {
            "reps": _delta(pooled["rep_count"], hist.get("reps_total_mean")),
            "tut_s": _delta(pooled["tut_s"], hist.get("tut_s_total_mean")),
            "peak_deg": _delta(
                peak,
                hist.get("peak_flexion_mean" if kind == "flexion" else "peak_extension_mean"),
            ),
            "rom_left_deg": _delta(rom_l, hist.get("rom_left_mean")),
            "rom_right_deg": _delta(rom_r, hist.get("rom_right_mean")),
        }
    return WorkSummary(
        kind=kind,
        exercises=tuple(e["exercise"] for e in per_ex),
        sessions=len(sessions),
        reps=pooled["rep_count"],
        reps_left=pooled["reps_left"],
        reps_right=pooled["reps_right"],
        partials=sum(len(s.partials) for s in sessions),
        tut_s=pooled["tut_s"],
        holds=pooled["hold_count"],
        holds_met=pooled["holds_met"],
        peak_flexion_deg=pooled["peak_flexion_deg"],
        peak_extension_deg=pooled["peak_extension_deg"],
        rom_left_deg=rom_l,
        rom_right_deg=rom_r,
        rom_asymmetry_pct=rom_asym,
        rep_asymmetry_pct=(
            asymmetry_pct(pooled["reps_left"], pooled["reps_right"]) if one_leg else None
        ),
        pct_of_normal=None if mobility is None else round(100.0 * mobility / normal, 1),
        over_arched=pooled["over_arched"],
        per_exercise=tuple(per_ex),
        history=hist,
        vs_history=vs,
    )


def _mobility_peak(kind: str, per_exercise: Sequence[Mapping[str, Any]]) -> float | None:
    """The peak to compare with the normal active range, or None when no exercise measures it.

    Flexion: every exercise's peak. Extension: only exercises without a safe range of their
    own; a bridge's top is held to its safe range (`safe_extension_deg`), not to ≈30°.
    """
    key = f"peak_{kind}_deg"
    values = [e[key] for e in per_exercise if e[key] is not None
              and (kind == "flexion" or e["safe_extension_deg"] is None)]
    return max(values) if values else None


def _delta(now: float | None, before: float | None) -> float | None:
    if now is None or before is None:
        return None
    return round(now - before, 2)


def balance_report(
    blocks: Sequence[BlockOutcome],
    *,
    title: str = "Balance report",
    started_at: str | None = None,
    history: Mapping[str, Mapping[str, Any]] | None = None,
) -> BalanceReport:
    """Build the balance report of one session from its blocks.

    `history` maps "flexion"/"extension" to the user's earlier numbers for that kind of work
    (see `history_baselines`); without it the report compares with normal ranges only.
    """
    by_kind: dict[str, list[SessionRecord]] = {k: [] for k in KINDS}
    for b in blocks:
        if b.session is not None and b.kind in by_kind:
            by_kind[b.kind].append(b.session)
    history = history or {}
    flex = summarise_work("flexion", by_kind["flexion"], history.get("flexion"))
    ext = summarise_work("extension", by_kind["extension"], history.get("extension"))
    total_reps = flex.reps + ext.reps
    total_tut = flex.tut_s + ext.tut_s
    block_rows = tuple(
        {
            "name": b.name,
            "exercise": b.exercise,
            "kind": b.kind,
            "start_s": round(b.start_s, 2),
            "end_s": round(b.end_s, 2),
            "reps": b.rep_count if b.session is not None else None,
            "target_reps": b.target_reps,
            "partials": len(b.session.partials) if b.session is not None else None,
            "holds_met": (
                sum(1 for r in b.session.reps if r.hold_met) if b.session is not None else None
            ),
            "hold_target_s": b.hold_target_s,
            "unmatched_reps": len(b.unmatched),
        }
        for b in blocks
    )
    report = BalanceReport(
        title=title,
        started_at=started_at or datetime.now(timezone.utc).isoformat(timespec="seconds"),
        flexion=flex,
        extension=ext,
        blocks=block_rows,
        findings=(),
        extension_share_reps=round(ext.reps / total_reps, 3) if total_reps else None,
        extension_share_tut=round(ext.tut_s / total_tut, 3) if total_tut else None,
    )
    return BalanceReport(**{**report.__dict__, "findings": tuple(findings(report))})


def findings(report: BalanceReport) -> list[str]:
    """Short plain-language observations, most important first."""
    out: list[str] = []
    flex, ext = report.flexion, report.extension
    if flex.reps == 0 and ext.reps == 0:
        return ["No reps were counted in this session."]
    if flex.reps == 0:
        out.append("Only extension work was counted: add a flexion exercise for balance.")
    elif ext.reps == 0:
        out.append("Only flexion work was counted: add an extension exercise for balance.")
    elif report.extension_share_tut is not None:
        share = report.extension_share_tut
        if not 0.3 <= share <= 0.7:
            more = "extension" if share > 0.5 else "flexion"
            out.append(
                f"Time under tension leans to {more} work "
                f"({100 * (1 - share):.0f}% flexion / {100 * share:.0f}% extension)."
            )
        else:
            out.append(
                f"Flexion and extension work are balanced ({100 * (1 - share):.0f}% flexion / "
                f"{100 * share:.0f}% extension time under tension)."
            )
    if flex.reps and flex.peak_flexion_deg is not None:
        out.append(
            f"Peak hip flexion {flex.peak_flexion_deg:.0f}° "
            f"({flex.pct_of_normal:.0f}% of the normal ≈{NORMAL_FLEXION_DEG:.0f}°)."
        )
    for work, limit, name in ((flex, PLAUSIBLE_FLEXION_DEG, "flexion"),
                              (ext, PLAUSIBLE_EXTENSION_DEG, "extension")):
        peak = work.peak_flexion_deg if name == "flexion" else work.peak_extension_deg
        if work.reps and peak is not None and peak > limit:
            worst = max(
                work.per_exercise,
                key=lambda e, k=f"peak_{name}_deg": e[k] if e[k] is not None else -math.inf,
            )
            out.append(
                f"{peak:.0f}° of {name} is beyond what a hip does (≈{limit:.0f}°): the "
                f"{worst['exercise']} angles look like a measurement artefact (camera view?)."
            )
    if ext.reps:
        out.extend(extension_findings(ext))
    for work in (flex, ext):
        for e in work.per_exercise:
            asym = e["rom_asymmetry_pct"]
            if asym is not None and asym > ASYMMETRY_FLAG_PCT:
                weaker = "left" if e["rom_left_deg"] < e["rom_right_deg"] else "right"
                out.append(
                    f"{e['exercise']}: the {weaker} hip's range of motion is {asym:.0f}% "
                    "smaller than the other's."
                )
        delta = work.vs_history.get("peak_deg")
        if delta is not None and work.reps and abs(delta) >= 3:
            word = "more" if delta > 0 else "less"
            runs = work.history.get("runs") or 0
            out.append(
                f"{work.kind.capitalize()} peak {abs(delta):.0f}° {word} than your average "
                f"over {runs} earlier session{'s' if runs != 1 else ''}."
            )
    return out


def extension_findings(ext: WorkSummary) -> list[str]:
    """What the extension work reached, each exercise against the right yardstick.

    An exercise with an over-arch limit (a bridge) is read against its own safe range: its top
    is a lockout, not a mobility test, and reps past the limit are form faults, left out of the
    figures. Others (a prone leg lift) are compared with the normal active range (≈30°).
    """
    out: list[str] = []
    mobility = _mobility_peak("extension", ext.per_exercise)
    if mobility is not None and mobility <= 0:
        out.append(
            f"The hip stopped {-mobility:.0f}° short of neutral in extension "
            f"work (normal extension ≈{NORMAL_EXTENSION_DEG:.0f}° past neutral): "
            "tight hip flexors?"
        )
    elif mobility is not None and ext.pct_of_normal is not None:
        out.append(
            f"Peak hip extension {mobility:.0f}° past neutral "
            f"({ext.pct_of_normal:.0f}% of the normal ≈{NORMAL_EXTENSION_DEG:.0f}°)."
        )
    for e in ext.per_exercise:
        safe = e["safe_extension_deg"]
        if safe is None:
            continue
        out.extend(_safe_range_findings(_title(e["exercise"]), e, safe))
    return out


def _safe_range_findings(title: str, e: Mapping[str, Any], safe: float) -> list[str]:
    """One exercise's extension against its own safe range (neutral to its over-arch limit)."""
    out = []
    peak = e["peak_extension_deg"]
    if peak is not None and peak < 0:
        out.append(f"{title}: the hips stopped {-peak:.0f}° short of neutral at the top "
                   "(thigh in line with the trunk).")
    elif peak is not None:
        out.append(f"{title}: the top reached {peak:.0f}° past neutral, inside its safe range "
                   f"(up to {safe:.0f}°; beyond that the lower back arches).")
    n, worst = e["over_arched"], e["over_arch_peak_deg"]
    if n:
        how_far = f" (up to {worst:.0f}° past neutral)" if worst is not None else ""
        out.append(f"{title}: {n} rep{'s' if n != 1 else ''} over-arched{how_far}, beyond the "
                   f"safe {safe:.0f}°: the lower back finished the rep. A form fault, left out "
                   "of the range figures.")
    return out


def _title(exercise: str) -> str:
    """The exercise's title ("Glute bridge"), or its name when it has no profile."""
    from posecheck.core.profiles import PROFILES

    prof = PROFILES.get(exercise)
    return prof.title if prof is not None else exercise.replace("_", " ").capitalize()


def history_baselines(hist: Any, before: str | None = None) -> dict[str, dict[str, Any]]:
    """The user's earlier numbers per kind of work, from a `posecheck.outputs.history.History`.

    Means are per earlier session: a routine run counts once with its blocks pooled (reps and
    time under tension summed, the best peak), a lone exercise session counts on its own.
    """
    out: dict[str, dict[str, Any]] = {}
    before = to_utc_iso(before) if before is not None else None
    for kind in KINDS:
        base = hist.baseline(kind=kind, before=before)
        rows = hist.sessions(kind=kind, until=before) if base.get("sessions") else []
        if before is not None:
            rows = [r for r in rows if r.started_at < before]
        groups: dict[Any, list[Any]] = {}
        for r in rows:
            groups.setdefault(r.routine_run_id or f"s{r.id}", []).append(r)
        if groups:
            # one earlier "session" = one routine run (its blocks pooled) or one lone session,
            # so the numbers compare like with like with this session's pooled work
            runs = list(groups.values())
            base["runs"] = len(runs)
            base["reps_total_mean"] = _group_mean(runs, lambda g: sum(r.rep_count for r in g))
            base["tut_s_total_mean"] = _group_mean(runs, lambda g: sum(r.tut_s for r in g))
            # peaks beyond what a hip does are artefacts (see `findings`): not a baseline
            for key, limit in (("peak_flexion", PLAUSIBLE_FLEXION_DEG),
                               ("peak_extension", PLAUSIBLE_EXTENSION_DEG)):
                base[f"{key}_mean"] = _group_mean(
                    runs,
                    lambda g, k=key, lim=limit: max(
                        (v for r in g if (v := getattr(r, f"{k}_deg")) is not None and v <= lim),
                        default=None,
                    ),
                )
        out[kind] = base
    return out


def _group_mean(groups: Sequence[Sequence[Any]], fn: Any) -> float | None:
    vals = [v for g in groups if (v := fn(g)) is not None]
    return round(sum(vals) / len(vals), 2) if vals else None
