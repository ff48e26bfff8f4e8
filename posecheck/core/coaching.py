"""What the person is told now: the cue on show, so that a remark is about the rep in front of them.

The cue rules say what a rep earned; this decides when a cue shows. A rule that can be judged
during the rep shows as soon as it fires; the rest show when the rep is over. A cue stays until
the next rep starts or `CUE_SHOW_MS` has passed, and never over a rep it is not about. The same
decisions drive the banner, the speech (CUE events), the annotated video and the report's times.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from posecheck.core.results import Cue, Severity

CUE_SHOW_MS = 5000.0  # a cue on show goes after this long, if no rep has replaced it
_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


def worst(cues: Iterable[Cue]) -> Cue | None:
    """The most severe cue, the first of equals (the profile's rule order)."""
    return min(cues, key=lambda c: _RANK.get(c.severity, 3), default=None)


class CueBoard:
    """The cue on show, and which rules each movement (attempt) has already been told."""

    def __init__(self, show_ms: float = CUE_SHOW_MS) -> None:
        self.show_ms = show_ms
        self.reset()

    def reset(self) -> None:
        self._shown: Cue | None = None
        self._since = 0.0
        self._attempt: int | None = None  # the latest movement to start
        self._told: dict[int, dict[str, Cue]] = {}  # attempt -> rule -> cue as first shown

    def shown(self, t_ms: float) -> Cue | None:
        if self._shown is not None and t_ms - self._since > self.show_ms:
            self._shown = None
        return self._shown

    def attempt_started(self, attempt: int) -> None:
        """A new movement: remarks about earlier ones leave the screen."""
        if self._attempt is not None and attempt <= self._attempt:
            return
        self._attempt = attempt
        if self._shown is not None and self._shown.attempt != attempt:
            self._shown = None

    def during_rep(self, cues: Iterable[Cue], t_ms: float) -> list[Cue]:
        """Cues fired while the rep is under way; returns the ones newly shown. A rule already
        told keeps its time, and the cue on show follows its figure (an arch that deepens)."""
        cues = list(cues)
        current = self._shown
        for c in cues:
            if current is not None and (c.rule, c.attempt) == (current.rule, current.attempt):
                self._shown = replace(current, message=c.message, value=c.value)
        new = [
            c for c in cues if c.attempt is not None and c.rule not in self._told.get(c.attempt, {})
        ]
        for c in new:
            self._told.setdefault(c.attempt or 0, {})[c.rule] = c
        top = worst(new)
        if top is not None and top.attempt == self._attempt:
            current = self.shown(t_ms)
            if current is None or current.attempt != top.attempt or worst([top, current]) is top:
                self._show(top, t_ms)
        return new if top is not None and top.attempt == self._attempt else []

    def with_told_times(self, cues: tuple[Cue, ...], attempt: int) -> tuple[Cue, ...]:
        """A rep's cues, each already told during it keeping the time it was first shown."""
        told = self._told.get(attempt, {})
        return tuple(replace(c, t_ms=told[c.rule].t_ms) if c.rule in told else c for c in cues)

    def rep_over(self, cues: tuple[Cue, ...], attempt: int, t_ms: float) -> list[Cue]:
        """A rep is final, with `cues` (as `with_told_times` gave them): returns the ones newly
        told now. The worst is shown unless a newer movement has begun; a rep that ends clean
        takes its earlier remark off the screen."""
        told = self._told.pop(attempt, {})
        if self._attempt is not None and attempt < self._attempt:
            return []  # the next rep is under way: this one's remarks go to the report
        fresh = [c for c in cues if c.rule not in told]
        top = worst(cues)
        if top is not None:
            self._show(top, t_ms)
        elif self._shown is not None and self._shown.attempt == attempt:
            self._shown = None
        return fresh

    def about_the_set(self, cue: Cue, t_ms: float) -> bool:
        """A remark about no rep in particular (e.g. no rep reached the top): shown when
        nothing else is on show. True when shown."""
        if self.shown(t_ms) is not None:
            return False
        self._show(cue, t_ms)
        return True

    def _show(self, cue: Cue, t_ms: float) -> None:
        self._shown, self._since = cue, t_ms
