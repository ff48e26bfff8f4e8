"""What a routine is: blocks of exercise (or timed) work, in order, with their targets.

Plain data shared by the plan parser, boundary detection and the video and live runners.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from posecheck.errors import ProfileError


class RoutineError(ProfileError):
    """A routine cannot be found or its file is invalid (the message names the line)."""


@dataclass(frozen=True)
class ProfileInfo:
    """What a routine needs to know about an exercise profile."""

    name: str
    kind: str  # "flexion" or "extension"
    posture: str
    hold_s: float


@dataclass(frozen=True)
class Block:
    """One step of a routine: an exercise to count (or a timed block) with its targets.

    A block ends when its rep target is met or its duration runs out, whichever comes first.
    """

    name: str
    exercise: str | None  # profile name; None for a timed block where nothing is counted
    posture: str | None
    kind: str | None  # "flexion"/"extension" from the profile; None for a timed block
    reps: int | None = None
    duration_s: float | None = None
    hold_s: float = 0.0
    rest_s: float = 0.0
    cue: str = ""
    line: int = 0  # line of the block's header in its file (0 when built in code)

    @property
    def counted(self) -> bool:
        """True when reps are counted in this block (it names an exercise)."""
        return self.exercise is not None

    @property
    def target_text(self) -> str:
        parts = []
        if self.reps is not None:
            parts.append(f"{self.reps} reps")
        if self.duration_s is not None:
            parts.append(_fmt_duration(self.duration_s))
        if self.hold_s > 0:
            parts.append(f"hold {self.hold_s:g} s")
        return ", ".join(parts)


@dataclass(frozen=True)
class Routine:
    """An ordered list of blocks, as loaded from a file or built in code."""

    name: str
    blocks: tuple[Block, ...]
    title: str = ""
    description: str = ""
    source: str = ""  # file path or "builtin:NAME"
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def planned_s(self) -> float | None:
        """Planned length in seconds, or None when a block only has a rep target."""
        total = 0.0
        for block in self.blocks:
            if block.duration_s is None:
                return None
            total += block.duration_s + block.rest_s
        return total

    def kinds(self) -> list[str | None]:
        return [b.kind for b in self.blocks]



def _fmt_duration(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"

