"""How well the pauses posecheck times agree with pauses people labelled, over many clips.

Each labelled pause is matched to the counted pause that overlaps it most (each counted pause
used once). A labelled pause with no overlapping counted pause is missed; a matched one has an
error, counted duration minus labelled duration. The three figures: the share found, the share
within `tolerance_s` (of all labelled pauses), and the mean signed error of those found.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Span = tuple[float, float]


@dataclass(frozen=True)
class PauseMatch:
    """One labelled pause and what was counted for it (None: missed)."""

    clip: str
    label: Span
    counted: Span | None

    @property
    def error_s(self) -> float | None:
        if self.counted is None:
            return None
        return (self.counted[1] - self.counted[0]) - (self.label[1] - self.label[0])


@dataclass(frozen=True)
class PauseAgreement:
    matches: tuple[PauseMatch, ...]
    tolerance_s: float

    @property
    def labelled(self) -> int:
        return len(self.matches)

    @property
    def found(self) -> int:
        return sum(m.counted is not None for m in self.matches)

    @property
    def within(self) -> int:
        return sum(
            m.error_s is not None and abs(m.error_s) <= self.tolerance_s for m in self.matches
        )

    @property
    def mean_error_s(self) -> float:
        errors = [m.error_s for m in self.matches if m.error_s is not None]
        return sum(errors) / len(errors) if errors else float("nan")

    def summary(self) -> str:
        n = max(self.labelled, 1)
        return (
            f"pauses found {self.found}/{self.labelled} ({self.found / n:.0%}), "
            f"within ±{self.tolerance_s:g} s {self.within}/{self.labelled} "
            f"({self.within / n:.0%}), mean signed error {self.mean_error_s:+.3f} s"
        )


def match_pauses(clip: str, labelled: Iterable[Span], counted: Sequence[Span]) -> list[PauseMatch]:
    """Pair each labelled pause with the unused counted pause that overlaps it most."""
    used: set[int] = set()
    out = []
    for start, end in labelled:
        best, best_overlap = None, 0.0
        for i, (cs, ce) in enumerate(counted):
            overlap = min(end, ce) - max(start, cs)
            if i not in used and overlap > best_overlap:
                best, best_overlap = i, overlap
        if best is not None:
            used.add(best)
        out.append(PauseMatch(clip, (start, end), None if best is None else counted[best]))
    return out


def agreement(matches: Iterable[PauseMatch], tolerance_s: float = 0.25) -> PauseAgreement:
    return PauseAgreement(tuple(matches), tolerance_s)
