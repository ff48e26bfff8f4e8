"""Running a routine live: a controller on the live loop's frames switches block by block."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from posecheck.apps.routine.model import Routine
from posecheck.apps.routine.outcome import (
    HipTrace,
    RoutineRun,
    counted_outcome,
    score_run,
    timed_outcome,
)


class LiveRoutineController:
    """Drives F's live loop through a routine: switches exercise at block boundaries.

    It only uses the live session's public surface: `on_frame`, `handle(Action...)`,
    `actions`, `request_stop()` and `settings.exercises` (the 'e' key's cycle, kept pointing at
    the next block's exercise). A block ends when its rep target is met or its time runs out;
    rests and timed blocks pause counting. The person's own keys keep their meaning within the
    routine: 'e' (next exercise) skips the rest of the block, 'r' (new set) repeats the block
    from zero.
    """

    def __init__(self, routine: Routine) -> None:
        self.routine = routine
        self.index = -1
        self.phase = "block"
        self.phase_start_s = 0.0
        self.t0_s: float | None = None
        self.spans: list[list[float]] = [[0.0, 0.0] for _ in routine.blocks]
        self.set_of_block: dict[int, int] = {}  # block index -> index into session.sets
        self.series: dict[int, HipTrace] = {}  # block index -> its hip trace (routine clock)
        self._open_block: int | None = None  # counted block whose set is still open
        self._seen_actions = 0
        self.started: set[int] = set()
        self.skipped: list[int] = []
        self.repeated: list[int] = []
        self.done = False

    @property
    def first_exercise(self) -> str:
        return next((b.exercise for b in self.routine.blocks if b.exercise), "glute_bridge")

    def _next_exercise(self, index: int) -> str | None:
        return next((b.exercise for b in self.routine.blocks[index + 1:] if b.exercise), None)

    def __call__(self, session: Any, frame: Any, result: Any) -> None:
        t = frame.timestamp_ms / 1000.0
        if self.t0_s is None:
            self.t0_s = t
            self._start(session, 0, t)
        if self.done:
            return
        self._user_actions(session, t)
        if self.done:
            return
        rel = t - self.t0_s
        block = self.routine.blocks[self.index]
        self.spans[self.index][1] = rel
        if self.phase == "block" and result is not None and block.exercise is not None:
            trace = self.series.setdefault(self.index, HipTrace())
            trace.add(result.t_ms / 1000.0 - self.t0_s, result)
        elapsed = t - self.phase_start_s
        if self.phase == "block":
            reps_met = (
                block.reps is not None and result is not None and result.rep_count >= block.reps
            )
            time_up = block.duration_s is not None and elapsed >= block.duration_s
            if reps_met or time_up:
                if block.rest_s > 0 and self.index + 1 < len(self.routine.blocks):
                    self._pause(session, True)
                    self.phase, self.phase_start_s = "rest", t
                    session.coach.say(f"rest {block.rest_s:g} seconds", frame.timestamp_ms)
                else:
                    self._start(session, self.index + 1, t)
        elif elapsed >= self.routine.blocks[self.index].rest_s:
            self._start(session, self.index + 1, t)

    def _user_actions(self, session: Any, t: float) -> None:
        """Keys the person pressed since the last frame: 'e' skips a block, 'r' repeats it."""
        from posecheck.apps.live.keys import Action

        new = list(session.actions[self._seen_actions:])
        self._seen_actions = len(session.actions)
        for action in new:
            if action is Action.NEXT_EXERCISE:
                # the session closed the open set and opened one on the next block's exercise
                self._map_closed_set(session)
                self.skipped.append(self.index)
                self._start(session, self.index + 1, t, switched=True)
                if self.done:
                    return
            elif action is Action.RESET:
                # the session closed the set and counts from zero: the block starts over
                self.repeated.append(self.index)
                if self._open_block is not None:
                    self.set_of_block.pop(self._open_block, None)
                self.series.pop(self.index, None)
                self.phase, self.phase_start_s = "block", t
                if self.routine.blocks[self.index].exercise is not None:
                    self._pause(session, False)

    def _act(self, session: Any, action: Any) -> None:
        session.handle(action)
        self._seen_actions = len(session.actions)

    def _pause(self, session: Any, paused: bool) -> None:
        from posecheck.apps.live.keys import Action

        if bool(session.paused) != paused:
            self._act(session, Action.PAUSE)

    def _map_closed_set(self, session: Any, before: int | None = None) -> None:
        if self._open_block is None:
            return
        grew = before is None or len(session.sets) > before
        if grew and session.sets and (len(session.sets) - 1) not in self.set_of_block.values():
            self.set_of_block[self._open_block] = len(session.sets) - 1
        self._open_block = None

    def _start(self, session: Any, index: int, t: float, switched: bool = False) -> None:
        from posecheck.apps.live.keys import Action

        if index >= len(self.routine.blocks):
            self.done = True
            session.request_stop("routine complete")
            return
        block = self.routine.blocks[index]
        self.index, self.phase, self.phase_start_s = index, "block", t
        self.spans[index][0] = self.spans[index][1] = t - (
            self.t0_s if self.t0_s is not None else t
        )
        self.started.add(index)
        if block.exercise is None:
            self._pause(session, True)
        else:
            # the session opened its first set on the first counted block's exercise; after a
            # skip it already opened one on this block's exercise
            fresh = self._open_block is None and (switched or not session.sets)
            if not (fresh and block.exercise == session.exercise):
                before = len(session.sets)
                if block.exercise == session.exercise:
                    self._act(session, Action.RESET)
                else:
                    session.settings.exercises = (session.exercise, block.exercise)
                    self._act(session, Action.NEXT_EXERCISE)
                self._map_closed_set(session, before)
            self._open_block = index
            self._pause(session, False)
        nxt = self._next_exercise(index) or session.exercise
        session.settings.exercises = (session.exercise, nxt)  # what 'e' switches to
        session.coach.say(block.name, t * 1000.0)

    def finish(self, outcome: Any) -> None:
        """After the loop: the last open set was closed by the session itself."""
        if self._open_block is not None and outcome.sets:
            last = len(outcome.sets) - 1
            if last not in self.set_of_block.values():
                self.set_of_block[self._open_block] = last


def run_routine_live(
    routine: Routine,
    source: str = "0",
    *,
    model: str | Path = "full",
    history: Any = None,
    headless: bool = False,
    mute: bool = False,
    out_dir: Path | None = None,
    keys: Any = None,
) -> RoutineRun:
    """Run a routine through the live loop (camera, stream, or a file played as live).

    `keys` injects a key source (tests); by default the window's keys are read.
    """
    from posecheck.apps.live.app import LiveConfig, run_live

    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    ctrl = LiveRoutineController(routine)
    config = LiveConfig(
        source=source,
        exercise=ctrl.first_exercise,
        model=str(model),
        out_dir=out_dir,
        headless=True if headless else None,
        mute=mute,
        on_frame=ctrl,
        keys=keys,
    )
    outcome = run_live(config)
    ctrl.finish(outcome)
    t0 = ctrl.t0_s or 0.0
    end_s = max((s[1] for s in ctrl.spans), default=0.0)
    outcomes, reports = [], []
    for i, block in enumerate(routine.blocks):
        start, stop = ctrl.spans[i] if i in ctrl.started else (end_s, end_s)
        set_index = ctrl.set_of_block.get(i)
        if block.exercise is None or set_index is None:
            outcomes.append(timed_outcome(block, start, stop))
            reports.append(None)
            continue
        report = outcome.sets[set_index].report
        trace = ctrl.series.get(i)
        outcomes.append(counted_outcome(
            block, start, stop, report, started_at=started_at, mode="live",
            series=trace.series() if trace is not None else None, shift_s=t0,
        ))
        reports.append(report)
    not_reached = tuple(i for i in range(len(routine.blocks)) if i not in ctrl.started)
    return RoutineRun(
        routine=routine, source=source, boundaries_s=tuple(s[0] for s in ctrl.spans),
        end_s=end_s, boundaries_detected=True, blocks=tuple(outcomes), reports=tuple(reports),
        balance=score_run(outcomes, routine, started_at, history), started_at=started_at,
        not_reached=not_reached, skipped=tuple(ctrl.skipped), repeated=tuple(ctrl.repeated),
    )
