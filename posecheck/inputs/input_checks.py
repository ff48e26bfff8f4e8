"""Warnings for input far from what posecheck was validated on, so results are read with care.

Why: tiny frames, irregular timestamps, several people or an unsure exercise guess used to give
confident-looking counts (extra holds at 96x64, a two-person clip read as a deadlift). These
checks do not change the analysis; they add one line each to the summary and to report.json.
Pure: numbers in, sentences out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

MIN_SIDE_PX = 200  # validated down to 432x768 (montage) and 640x480 (rendered samples)
GAP_FACTOR = 2.5  # a frame arriving this many periods late is a gap
MAX_GAP_SHARE = 0.05
MAX_CROWD_SHARE = 0.10
UNSURE_SCORE = 0.75  # auto-detection scores: 2.0 is a clean full-range match
CLOSE_RUNNER_UP = 0.9


@dataclass
class InputStats:
    """What the frame loop saw, counted as it went (no frames kept)."""

    frames: int = 0
    frames_with_pose: int = 0
    crowded: int = 0  # frames where the detector saw more than one person
    gaps: int = 0  # frames that came GAP_FACTOR periods or more after the previous one
    last_t_ms: float | None = None

    def add(self, t_ms: float, period_ms: float | None, present: bool, people: int) -> None:
        if self.last_t_ms is not None and period_ms and t_ms - self.last_t_ms > (
            GAP_FACTOR * period_ms
        ):
            self.gaps += 1
        self.last_t_ms = t_ms
        self.frames += 1
        self.frames_with_pose += present
        self.crowded += people > 1


def degraded_input_warnings(
    stats: InputStats,
    frame_wh: tuple[int, int] | None,
    scores: Mapping[str, float],
    kinds: Mapping[str, str],
) -> list[str]:
    """One sentence per way the input is outside what was validated (empty when none)."""
    out: list[str] = []
    if frame_wh is not None and min(frame_wh) < MIN_SIDE_PX:
        w, h = frame_wh
        out.append(f"frames are only {w}x{h} px (validated from {MIN_SIDE_PX} px a side): "
                   "counts and holds may be wrong")
    if stats.frames > 1 and stats.gaps > MAX_GAP_SHARE * stats.frames:
        out.append(f"irregular timing: {stats.gaps} of {stats.frames} frames came after a gap "
                   "(variable frame rate or dropped frames): hold times may be off")
    if stats.frames_with_pose and stats.crowded > MAX_CROWD_SHARE * stats.frames_with_pose:
        share = stats.crowded / stats.frames_with_pose
        out.append(f"more than one person in {share:.0%} of frames: one is followed, "
                   "and it may not be the one exercising")
    if scores:
        ranked = sorted(scores.items(), key=lambda kv: -kv[1])
        best, best_score = ranked[0]
        runner = next(((n, s) for n, s in ranked[1:] if kinds.get(n) != kinds.get(best)), None)
        if best_score < UNSURE_SCORE:
            out.append(f"the exercise was guessed as {best} with little confidence (score "
                       f"{best_score:.2f} of 2): pass -e NAME")
        elif runner is not None and runner[1] >= CLOSE_RUNNER_UP * best_score:
            out.append(f"the exercise was guessed as {best}, but {runner[0]} scored almost as "
                       f"high ({best_score:.2f} vs {runner[1]:.2f}): pass -e NAME")
    return out
