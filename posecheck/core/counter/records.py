"""What the counter reports, and the samples and reps it keeps while counting.

`RepFeatures`, `RepSoFar`, `CounterStep` and `RepIndex` are public (re-exported by
`posecheck.core.counter`); `_State`, `_Sample` and `_Rep` are the counter's own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

from posecheck.core.results import Event, Phase, Rep
from posecheck.core.zones import Zones


class _State(Enum):
    UNARMED = "unarmed"
    REST = "rest"
    CONCENTRIC = "concentric"
    TOP = "top"
    ECCENTRIC = "eccentric"


_IN_REP = (_State.CONCENTRIC, _State.TOP, _State.ECCENTRIC)
MIN_HOLD_S = 0.25  # shorter stills at the top are turning points, not holds


@dataclass(frozen=True)
class RepFeatures:
    """Everything measured about one rep: the `Rep` record plus what the cue rules read."""

    rep: Rep
    progress_peak: float  # peak of the progress signal (direction * signal)
    hold_drop_deg: float  # how far the progress signal sank over the hold (linear fit)
    top_means: Mapping[str, float]  # mean of each extra signal while in the top zone
    at_peak: Mapping[str, float]  # each extra signal at the peak
    hold_target_s: float
    attempt: int = 0  # which movement of the set this was (reps and partials numbered together)


@dataclass(frozen=True)
class RepSoFar:
    """The rep in progress as far as it has been seen: what the in-rep cue rules judge."""

    attempt: int  # 1-based over every movement of the set, full or partial
    start_ms: float
    peak_hip_deg: float  # most extreme hip angle towards the top so far (NaN when unknown)
    past_peak: bool  # the signal has come down from its highest point by the hysteresis
    counts: bool  # it has gone far enough to be a rep or a partial, not a wobble
    holding: bool
    held_s: float  # of the hold so far (0 when not holding)
    hold_drop_deg: float  # how far the signal sank below the hold's highest point so far


@dataclass(frozen=True)
class CounterStep:
    """What one `RepCounter.update` produced."""

    t_ms: float
    phase: Phase
    events: tuple[Event, ...]
    rep_count: int
    partial_count: int
    rep_in_progress: int | None
    holding: bool
    hold_elapsed_s: float
    velocity_deg_s: float  # of the signal, NaN when unknown
    finished: tuple[RepFeatures, ...] = ()  # reps whose features were finalised on this step
    so_far: RepSoFar | None = None  # the rep in progress, when there is one
    fell_short_deg: float | None = None  # a movement just ended short of any rep: its range


class RepIndex:
    """Shared 1-based numbering, so per-leg counters number one set's reps in time order."""

    def __init__(self) -> None:
        self.reps = 0
        self.partials = 0
        self.attempts = 0  # every movement that left rest: reps, partials and dropped wobbles

    def next_attempt(self) -> int:
        self.attempts += 1
        return self.attempts

    def next_rep(self) -> int:
        self.reps += 1
        return self.reps

    def next_partial(self) -> int:
        self.partials += 1
        return self.partials


@dataclass
class _Sample:
    t: float
    p: float  # progress (smoothed)
    raw: float  # progress before smoothing (NaN when unknown): timing is fitted on it, unlagged
    tc: float  # centre time of the velocity estimate
    v: float  # velocity of progress (deg/s), NaN when unknown
    hip: float
    v_hip: float
    extras: Mapping[str, float]
    state: _State


@dataclass
class _Rep:
    start_ms: float  # rest-zone exit (crossing), refined later
    bottom_p: float
    samples: list[_Sample] = field(default_factory=list)
    reached_top: bool = False
    top_entry_ms: float = math.nan
    top_exit_ms: float = math.nan
    holds: list[tuple[float, float]] = field(default_factory=list)  # live (threshold) holds
    hold_start: float | None = None
    target_met: bool = False
    # set when the rep returned to rest
    index: int = 0
    partial: bool = False
    rest_entry_ms: float = math.nan
    zones: Zones | None = None  # the zones in force when it started
    attempt: int = 0
    peak_p: float = -math.inf  # highest progress seen since the rep started
    peak_hip: float = math.nan  # the hip angle towards the top, so far
    hold_high: float = -math.inf  # highest progress of the current hold
    shown_hold_s: float = 0.0  # the hold as timed live, for display until the rep is final
    from_top: bool = False  # began at the top with the set: its way up was not seen
