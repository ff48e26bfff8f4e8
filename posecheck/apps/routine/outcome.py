"""A routine run's outcome: each block's session and hip trace, scored into the balance report.

The video and the live runner differ in how they find a block's frames; once a block has a
session report and a hip trace, both score it here the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from posecheck.apps.routine.model import Block, Routine
from posecheck.core.results import FrameResult
from posecheck.outputs.balance import (
    AngleSeries,
    BalanceReport,
    BlockOutcome,
    balance_report,
    hip_reps_from_series,
    history_baselines,
)
from posecheck.outputs.history import session_from_report

NAN = float("nan")


@dataclass(frozen=True)
class RoutineRun:
    """The outcome of a routine run: per-block sessions, their reports and the balance report."""

    routine: Routine
    source: str
    boundaries_s: tuple[float, ...]  # start of each block on the source clock
    end_s: float
    boundaries_detected: bool
    blocks: tuple[Any, ...]  # posecheck.outputs.balance.BlockOutcome per block
    reports: tuple[Any, ...]  # posecheck.outputs.report.SessionReport per block (None: timed block)
    balance: Any  # posecheck.outputs.balance.BalanceReport
    started_at: str = ""
    not_reached: tuple[int, ...] = ()  # blocks a live run never got to (0-based)
    skipped: tuple[int, ...] = ()  # blocks the person cut short ('e' in the live loop)
    repeated: tuple[int, ...] = ()  # blocks the person started over ('r')
    not_done: tuple[int, ...] = ()  # video blocks no part of the video fits (0-based)

    def to_dict(self) -> dict[str, Any]:
        rows = []
        for i, (block, outcome, report) in enumerate(
            zip(self.routine.blocks, self.blocks, self.reports, strict=True)
        ):
            rows.append(
                {
                    "name": block.name,
                    "exercise": block.exercise,
                    "kind": block.kind,
                    "target": block.target_text,
                    "start_s": round(outcome.start_s, 3),
                    "end_s": round(outcome.end_s, 3),
                    "rep_count": outcome.rep_count if report is not None else None,
                    "reached": i not in self.not_reached,
                    "skipped": i in self.skipped,
                    "repeats": self.repeated.count(i),
                    "done": i not in self.not_done,
                    "unmatched_reps": [u.to_dict() for u in outcome.unmatched],
                    "report": report.to_dict() if report is not None else None,
                }
            )
        return {
            "routine": self.routine.name,
            "title": self.routine.title,
            "source": self.source,
            "started_at": self.started_at,
            "boundaries_s": [round(b, 3) for b in self.boundaries_s],
            "boundaries_detected": self.boundaries_detected,
            "blocks": rows,
            "balance": self.balance.to_dict(),
        }


class HipTrace:
    """A block's (left, right) hip flexion per frame, collected while the block runs."""

    def __init__(self) -> None:
        self.t_s: list[float] = []
        self.left: list[float] = []
        self.right: list[float] = []

    def add(self, t_s: float, result: FrameResult) -> None:
        hip_left, hip_right = _block_hips(result)
        self.t_s.append(t_s)
        self.left.append(hip_left)
        self.right.append(hip_right)

    def series(self) -> AngleSeries:
        return AngleSeries(self.t_s, self.left, self.right)


def _block_hips(result: FrameResult) -> tuple[float, float]:
    """A frame's (left, right) hip flexion as this block's work, NaN outside its posture.

    Peaks and ranges come from the exercise's own posture only: frames of getting into position
    (or of the previous exercise, just after a cut) are not the block's work.
    """
    if not result.posture_ok:
        return NAN, NAN
    hips = result.hip_smoothed_deg
    return hips.get("left", NAN), hips.get("right", NAN)



def timed_outcome(block: Block, start_s: float, end_s: float) -> BlockOutcome:
    """A block where nothing was counted (timed, not reached, or no frames)."""
    return BlockOutcome(block.name, block.exercise, block.kind, start_s, end_s)


def counted_outcome(
    block: Block,
    start_s: float,
    end_s: float,
    report: Any,
    *,
    started_at: str,
    mode: str,
    series: AngleSeries | None,
    shift_s: float = 0.0,
    unmatched: tuple[Any, ...] = (),
) -> BlockOutcome:
    """A counted block's outcome from its `SessionReport` and hip trace.

    `shift_s` moves the report's rep times onto the routine clock (a live set counts from the
    camera's clock); per-side reps come from the trace when there is one. `unmatched` are the
    reps left out because they do not move like the block's exercise (`routine.match`).
    """
    data = report.to_dict()
    data.update(started_at=started_at, kind=block.kind)
    if shift_s:
        for key in ("reps", "partials"):
            for rep in data.get(key) or []:
                for field_name in ("start_s", "top_s", "end_s"):
                    if rep.get(field_name) is not None:
                        rep[field_name] = rep[field_name] - shift_s
    record = session_from_report(data, mode=mode)
    if series is not None:
        record = hip_reps_from_series(record, series)
    return BlockOutcome(
        block.name, block.exercise, block.kind, start_s, end_s, session=record,
        target_reps=block.reps, hold_target_s=block.hold_s, series=series,
        unmatched=unmatched,
    )


def score_run(
    outcomes: list[BlockOutcome], routine: Routine, started_at: str, history: Any
) -> BalanceReport:
    """The balance report of a run, with the user's earlier numbers when a history is given."""
    baselines = history_baselines(history, before=started_at) if history is not None else None
    return balance_report(
        outcomes, title=routine.title, started_at=started_at, history=baselines
    )
