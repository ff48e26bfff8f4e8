"""Does a stretch of video move like a block's exercise? Which segment moves the hip.

Why: a bridge and a lying leg raise share a posture and the same hip angles (a bridge read
backwards is a leg raise), so a block's counter alone credits one with the other. What tells
them apart is which segment makes the hip angle change: a bridge lifts the pelvis, so the trunk
turns with it; a leg raise moves the thigh under a still trunk. The share is compared with the
profile's `trunk_share`; reps outside it are not the block's work and are reported instead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from posecheck.core.profiles import ExerciseProfile, get_profile

MIN_HIP_RANGE_DEG = 10.0  # below this the hip hardly moved: the share says nothing


def trunk_share(
    t_s: Any, trunk_deg: Any, hip_deg: Any, start_s: float, end_s: float
) -> float | None:
    """The trunk's turn over the hip angle's change within [start_s, end_s], or None.

    Both are 5th-95th percentile ranges of raw per-frame angles, so a stray frame cannot decide;
    None when the hip moved less than `MIN_HIP_RANGE_DEG` or too few frames were measured.
    """
    import numpy as np

    t = np.asarray(t_s, dtype=float)
    mask = (t >= start_s) & (t <= end_s)
    trunk = np.asarray(trunk_deg, dtype=float)[mask]
    hip = np.asarray(hip_deg, dtype=float)[mask]
    ok = np.isfinite(trunk) & np.isfinite(hip)
    if ok.sum() < 5:
        return None
    hip_lo, hip_hi = np.percentile(hip[ok], [5, 95])
    if hip_hi - hip_lo < MIN_HIP_RANGE_DEG:
        return None
    lo, hi = np.percentile(trunk[ok], [5, 95])
    return float((hi - lo) / (hip_hi - hip_lo))


def moves_like(profile: ExerciseProfile | str, share: float | None) -> bool:
    """True unless the share is known and outside the exercise's `trunk_share` range."""
    expected = get_profile(profile).trunk_share
    if share is None or expected is None:
        return True
    lo, hi = expected
    return lo <= share <= hi


def movement_word(share: float | None) -> str:
    """How the hip moved, in a coach's words (for a rep that was not credited)."""
    if share is None:
        return "the movement could not be read"
    return "the pelvis lifted" if share >= 0.3 else "the leg moved, the trunk stayed still"


@dataclass(frozen=True)
class Unmatched:
    """A rep a block's counter found that does not move like the block's exercise."""

    start_s: float
    end_s: float
    partial: bool
    trunk_share: float | None
    looks_like: tuple[str, ...]  # other exercises of the routine it does move like (posture too)

    def to_dict(self) -> dict[str, Any]:
        share = None if self.trunk_share is None else round(self.trunk_share, 2)
        return {
            "start_s": round(self.start_s, 2), "end_s": round(self.end_s, 2),
            "partial": self.partial, "trunk_share": share, "looks_like": list(self.looks_like),
            "movement": movement_word(self.trunk_share),
        }


def split_summary(
    summary: Any,
    profile: ExerciseProfile,
    share_of: Any,
    others: Sequence[str],
    postures: Any,
) -> tuple[Any, tuple[Unmatched, ...]]:
    """A block's `SetSummary` with only the reps that move like its exercise, and the rest.

    `share_of(start_s, end_s)` gives a span's trunk share; `postures(start_s, end_s)` its most
    common posture (for naming which other exercise an unmatched rep looks like). Kept reps are
    renumbered, with their holds and cues, so the report reads as if only they were counted.
    """
    kept: dict[bool, list[Any]] = {False: [], True: []}
    dropped: list[Unmatched] = []
    dropped_cues: set[int] = set()
    for rep in (*summary.reps, *summary.partials):
        start, end = rep.start_ms / 1000.0, rep.end_ms / 1000.0
        share = share_of(start, end)
        if moves_like(profile, share):
            kept[rep.partial].append(rep)
            continue
        posture = postures(start, end)
        like = tuple(o for o in others if o != profile.name and moves_like(o, share)
                     and (posture is None or posture in get_profile(o).postures))
        dropped.append(Unmatched(start, end, rep.partial, share, like))
        dropped_cues.update(id(c) for c in rep.cues)
    if not dropped:
        return summary, ()
    reps = tuple(_renumber(r, i) for i, r in enumerate(kept[False], start=1))
    partials = tuple(_renumber(r, i) for i, r in enumerate(kept[True], start=1))
    in_reps = {id(c) for r in (*summary.reps, *summary.partials) for c in r.cues}
    set_cues = tuple(c for c in summary.cues if id(c) not in in_reps and id(c) not in dropped_cues)
    counts: dict[str, int] = {}
    for r in reps:
        counts[r.side] = counts.get(r.side, 0) + 1
    out = dataclasses.replace(
        summary, reps=reps, partials=partials,
        holds=tuple(r.hold for r in reps if r.hold is not None),
        cues=(*(c for r in (*reps, *partials) for c in r.cues), *set_cues),
        side_counts=counts,
    )
    return out, tuple(dropped)


def _renumber(rep: Any, index: int) -> Any:
    """A rep with a new 1-based index, carried into its hold and cues."""
    if rep.index == index:
        return rep
    hold = dataclasses.replace(rep.hold, rep_index=index) if rep.hold is not None else None
    cues = tuple(dataclasses.replace(c, rep_index=index) for c in rep.cues)
    return dataclasses.replace(rep, index=index, hold=hold, cues=cues)
