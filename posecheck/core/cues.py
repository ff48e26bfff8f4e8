"""Form cues: small rules over per-rep features, each with a user-facing message and a severity.

Rules are data: a profile names the rules it wants with their parameters (`RuleRef`), and this
module maps each name to a check. A per-rep check reads one finished `RepFeatures`; a rule that
can be judged while the rep is under way also has a live check on `RepSoFar` (over-arching,
hips sinking in the hold, a top that fell short once it is passed), so the cue comes while it
happens; both read the same figures, so a live cue is one the finished rep also earns. A per-set
check reads all reps of a set (left/right balance needs both legs). A check returns
`(message, value)` when the rule fires and None otherwise: what a coach would say, in a few words.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from posecheck.core.counter import RepFeatures, RepSoFar
from posecheck.core.profiles import ExerciseProfile, RuleRef
from posecheck.core.results import HOLD_TIMING_TOLERANCE_S, Cue, Rep, Severity
from posecheck.errors import ProfileError

Finding = tuple[str, float] | None
LOCKOUT_HELD_S = 0.5  # a top held this long is where the rep stops: judge its lockout then
RepCheck = Callable[[RepFeatures, ExerciseProfile, dict[str, float]], Finding]
SetCheck = Callable[[Sequence[Rep], ExerciseProfile, dict[str, float]], Finding]
LiveCheck = Callable[[RepSoFar, ExerciseProfile, dict[str, float]], Finding]


@dataclass(frozen=True)
class CueRule:
    name: str
    severity: Severity
    summary: str  # one line for `posecheck exercises` and the docs
    params: tuple[str, ...]  # accepted parameter names
    rep_check: RepCheck | None = None
    set_check: SetCheck | None = None
    live_check: LiveCheck | None = None  # judged during the rep, as soon as it shows
    on_partials: bool = False  # also judge partial reps


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def _lockout(f: RepFeatures, prof: ExerciseProfile, p: dict[str, float]) -> Finding:
    return _short_top(f.rep.peak_deg, prof, p)


def _lockout_live(s: RepSoFar, prof: ExerciseProfile, p: dict[str, float]) -> Finding:
    """Once the top is reached: the movement came back down, or it has held still there."""
    at_top = s.past_peak or s.held_s >= LOCKOUT_HELD_S
    return _short_top(s.peak_hip_deg, prof, p) if at_top and s.counts else None


def _short_top(peak: float, prof: ExerciseProfile, p: dict[str, float]) -> Finding:
    if not _finite(peak):
        return None
    limit = p.get("lockout_deg", prof.top_deg)
    if prof.direction < 0 and peak > limit:
        return f"Drive the hips all the way up (top reached {peak:.0f}° of hip flexion)", peak
    if prof.direction > 0 and peak < limit:
        return f"Raise the leg higher (reached {peak:.0f}° of hip flexion)", peak
    return None


def _hold_short(f: RepFeatures, prof: ExerciseProfile, p: dict[str, float]) -> Finding:
    target = p.get("target_s", f.hold_target_s)
    if target <= 0:
        return None
    held = f.rep.hold.duration_s if f.rep.hold is not None else 0.0
    if held + HOLD_TIMING_TOLERANCE_S >= target:
        return None
    return f"Pause at the top for {target:g} s (held {held:.1f} s)", held


def _over_arch(f: RepFeatures, prof: ExerciseProfile, p: dict[str, float]) -> Finding:
    return _arched(f.rep.peak_deg, p)


def _over_arch_live(s: RepSoFar, prof: ExerciseProfile, p: dict[str, float]) -> Finding:
    return _arched(s.peak_hip_deg, p)


def _arched(peak: float, p: dict[str, float]) -> Finding:
    limit = p.get("min_deg", -15.0)
    if _finite(peak) and peak < limit:
        return (
            f"Don't over-arch: stop when shoulders, hips and knees line up "
            f"({-peak:.0f}° of extension)",
            peak,
        )
    return None


def _feet(f: RepFeatures, prof: ExerciseProfile, p: dict[str, float]) -> Finding:
    knee = f.top_means.get("knee_flexion", math.nan)
    if not _finite(knee):
        return None
    lo, hi = p.get("knee_min_deg", 70.0), p.get("knee_max_deg", 110.0)
    if knee < lo:
        return f"Feet too far away: walk them closer to the hips (knee {knee:.0f}°)", knee
    if knee > hi:
        return f"Feet too close: move them a little further out (knee {knee:.0f}°)", knee
    return None


def _tempo(f: RepFeatures, prof: ExerciseProfile, p: dict[str, float]) -> Finding:
    up = f.rep.concentric_ms / 1000.0
    down = f.rep.eccentric_ms / 1000.0
    min_up, min_down = p.get("min_concentric_s", 0.0), p.get("min_eccentric_s", 0.0)
    if 0 < down < min_down:
        return f"Lower under control (down in {down:.1f} s)", down
    if 0 < up < min_up:
        return f"Slow down on the way up (up in {up:.1f} s)", up
    return None


def _hips_drop(f: RepFeatures, prof: ExerciseProfile, p: dict[str, float]) -> Finding:
    return _sagging(f.hold_drop_deg, p) if f.rep.hold is not None else None


def _hips_drop_live(s: RepSoFar, prof: ExerciseProfile, p: dict[str, float]) -> Finding:
    return _sagging(s.hold_drop_deg, p) if s.holding else None


def _sagging(drop: float, p: dict[str, float]) -> Finding:
    if _finite(drop) and drop > p.get("max_drop_deg", 8.0):
        return f"Hips sagging during the hold: squeeze and keep them up ({drop:.0f}°)", drop
    return None


def _asymmetry(f: RepFeatures, prof: ExerciseProfile, p: dict[str, float]) -> Finding:
    asym = f.top_means.get("asymmetry", math.nan)
    if _finite(asym) and asym > p.get("max_deg", 12.0):
        return f"Keep the hips level: left and right differ by {asym:.0f}°", asym
    return None


def _asymmetry_sides(reps: Sequence[Rep], prof: ExerciseProfile, p: dict[str, float]) -> Finding:
    counts = {"left": 0, "right": 0}
    roms: dict[str, list[float]] = {"left": [], "right": []}
    for r in reps:
        if r.side in counts and not r.partial:
            counts[r.side] += 1
            roms[r.side].append(r.rom_deg)
    if min(counts.values()) == 0 and max(counts.values()) < 2:
        return None
    ratio_limit = p.get("max_ratio", 1.5)
    lo, hi = sorted(counts.values())
    if lo == 0 or hi / lo > ratio_limit:
        return f"Balance the legs: {counts['left']} left vs {counts['right']} right", float(hi - lo)
    mean = {s: sum(v) / len(v) for s, v in roms.items()}
    small, big = sorted(mean.values())
    if small > 0 and big / small > ratio_limit:
        weak = min(mean, key=lambda s: mean[s])
        return f"The {weak} leg moves through less range ({small:.0f}° vs {big:.0f}°)", big - small
    return None


RULES: dict[str, CueRule] = {
    r.name: r
    for r in (
        CueRule(
            "incomplete_lockout",
            Severity.WARNING,
            "top of the rep short of full hip extension (or flexion)",
            ("lockout_deg",),
            rep_check=_lockout,
            live_check=_lockout_live,
            on_partials=True,
        ),
        CueRule(
            "hold_short",
            Severity.WARNING,
            "pause at the top shorter than the profile's hold target",
            ("target_s",),
            rep_check=_hold_short,
        ),
        CueRule(
            "over_arch",
            Severity.ERROR,
            "hip extension beyond a safe range (lower back arching)",
            ("min_deg",),
            rep_check=_over_arch,
            live_check=_over_arch_live,
            on_partials=True,
        ),
        CueRule(
            "feet_placement",
            Severity.INFO,
            "knee angle at the top outside the range (feet too close / too far)",
            ("knee_min_deg", "knee_max_deg"),
            rep_check=_feet,
        ),
        CueRule(
            "tempo_fast",
            Severity.INFO,
            "concentric or eccentric phase quicker than the minimum",
            ("min_concentric_s", "min_eccentric_s"),
            rep_check=_tempo,
        ),
        CueRule(
            "hips_drop",
            Severity.WARNING,
            "hips sinking during the hold",
            ("max_drop_deg",),
            rep_check=_hips_drop,
            live_check=_hips_drop_live,
        ),
        CueRule(
            "asymmetry",
            Severity.INFO,
            "left/right hip angles differ at the top (front view)",
            ("max_deg",),
            rep_check=_asymmetry,
        ),
        CueRule(
            "asymmetry_sides",
            Severity.INFO,
            "one leg does fewer reps or less range than the other",
            ("max_ratio",),
            set_check=_asymmetry_sides,
        ),
    )
}


def get_rule(ref: RuleRef | str) -> CueRule:
    name = ref if isinstance(ref, str) else ref.name
    try:
        return RULES[name]
    except KeyError:
        raise ProfileError(f"unknown form rule {name!r}; choose from: {', '.join(RULES)}") from None


def validate_rules(profile: ExerciseProfile) -> None:
    """Raise ProfileError if a profile names an unknown rule or parameter."""
    for ref in profile.rules:
        known = get_rule(ref)
        extra = set(ref.kwargs) - set(known.params)
        if extra:
            raise ProfileError(
                f"profile {profile.name!r}: rule {ref.name!r} has no parameter(s) "
                f"{', '.join(sorted(extra))}"
            )


def _findings(
    profile: ExerciseProfile,
    check_of: Callable[[CueRule], Callable[..., Finding] | None],
    arg: object,
) -> Iterator[tuple[CueRule, str, float]]:
    """(rule, message, value) for each of the profile's rules whose check (`check_of(rule)`,
    None to skip the rule) fires on `arg`, in the profile's rule order."""
    for ref in profile.rules:
        r = get_rule(ref)
        check = check_of(r)
        if check is None:
            continue
        found = check(arg, profile, ref.kwargs)
        if found is not None:
            yield r, *found


def evaluate_rep(profile: ExerciseProfile, feats: RepFeatures) -> tuple[Cue, ...]:
    """The cues one finished rep earns, in the profile's rule order."""
    rep = feats.rep
    return tuple(
        Cue(r.name, msg, r.severity, rep.end_ms, rep.index, value, feats.attempt)
        for r, msg, value in _findings(
            profile, lambda r: r.rep_check if r.on_partials or not rep.partial else None, feats
        )
    )


def evaluate_live(profile: ExerciseProfile, so_far: RepSoFar, t_ms: float) -> tuple[Cue, ...]:
    """The cues the rep in progress has earned so far."""
    return tuple(
        Cue(r.name, msg, r.severity, t_ms, None, value, so_far.attempt)
        for r, msg, value in _findings(profile, lambda r: r.live_check, so_far)
    )


def evaluate_set(profile: ExerciseProfile, reps: Sequence[Rep], t_ms: float) -> tuple[Cue, ...]:
    """Cues about the set as a whole (e.g. left/right balance)."""
    return tuple(
        Cue(r.name, msg, r.severity, t_ms, None, value)
        for r, msg, value in _findings(profile, lambda r: r.set_check, reps)
    )
