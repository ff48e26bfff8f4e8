"""What the core hands to the overlay, the report writers and the live loop.

One record per concept: `FrameResult` per analysed frame, `Rep`/`Hold`/`Cue` per event of a set,
`Event` for things that happen at an instant. All plain, frozen, JSON-friendly dataclasses.
Angles are degrees, times are milliseconds on the source clock unless the name says `_s`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class StrEnum(str, Enum):
    """str-valued enum that serialises as its value (Python 3.10 has no enum.StrEnum)."""

    def __str__(self) -> str:
        return str(self.value)


class Position(StrEnum):
    """Where the hip is: flexed, near neutral (thigh in line with trunk), or extended."""

    FLEXED = "flexed"
    NEUTRAL = "neutral"
    EXTENDED = "extended"
    UNKNOWN = "unknown"


class Direction(StrEnum):
    """How the hip is moving: flexing (thigh-trunk angle closing) or extending (opening)."""

    FLEXING = "flexing"
    EXTENDING = "extending"
    STILL = "still"
    UNKNOWN = "unknown"


class Phase(StrEnum):
    """Where the current rep is, in the profile's terms."""

    REST = "rest"  # in the rest zone, waiting for a rep
    CONCENTRIC = "concentric"  # moving from rest towards the top zone (a bridge: extending)
    HOLD = "hold"  # at the top, still
    TOP = "top"  # in the top zone, moving
    ECCENTRIC = "eccentric"  # returning to rest
    NO_POSE = "no_pose"
    WRONG_POSTURE = "wrong_posture"


# Hold boundaries are measured to about ±0.1 s (see `posecheck.core.counter`), so a hold that
# falls short of its target by less than that is counted as met: a coach counting "1-1000,
# 2-1000" would not fail a 1.95 s pause, and the report must not disagree with the cue rules.
HOLD_TIMING_TOLERANCE_S = 0.1


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class EventKind(StrEnum):
    REP_STARTED = "rep_started"
    REP_COMPLETED = "rep_completed"
    PARTIAL_REP = "partial_rep"
    HOLD_STARTED = "hold_started"
    HOLD_TARGET_MET = "hold_target_met"
    HOLD_ENDED = "hold_ended"
    CUE = "cue"
    POSE_LOST = "pose_lost"
    POSE_FOUND = "pose_found"


@dataclass(frozen=True)
class Event:
    kind: EventKind
    t_ms: float
    rep_index: int | None = None  # 1-based index of the rep it belongs to
    side: str | None = None
    message: str = ""


@dataclass(frozen=True)
class Cue:
    """A form remark a coach would make about one rep."""

    rule: str
    message: str
    severity: Severity
    t_ms: float
    rep_index: int | None = None
    value: float | None = None  # the measured feature that triggered it
    attempt: int | None = None  # the movement it is about (reps and partials numbered together)


@dataclass(frozen=True)
class Hold:
    """Time spent still at the top of one rep."""

    rep_index: int
    start_ms: float
    end_ms: float
    target_s: float

    @property
    def duration_s(self) -> float:
        return (self.end_ms - self.start_ms) / 1000.0

    @property
    def met(self) -> bool:
        """Target reached, within the timing tolerance of the hold measurement."""
        return self.target_s > 0 and self.duration_s + HOLD_TIMING_TOLERANCE_S >= self.target_s


@dataclass(frozen=True)
class Rep:
    """One completed (or partial) repetition of the profile's movement."""

    index: int  # 1-based among reps of its kind (full or partial)
    side: str  # "left", "right" or "both"
    start_ms: float
    top_ms: float  # time of the peak of the primary signal
    end_ms: float
    rom_deg: float  # range of the primary signal within the rep
    peak_deg: float  # most extreme signed hip flexion reached (negative = extension)
    concentric_ms: float  # rest -> top
    eccentric_ms: float  # top -> rest
    extension_phase_ms: float  # time the hip was extending during the rep
    flexion_phase_ms: float  # time the hip was flexing during the rep
    partial: bool = False
    hold: Hold | None = None
    cues: tuple[Cue, ...] = ()


@dataclass(frozen=True)
class BodyMeasures:
    """Geometry of one frame, before smoothing. NaN where a value cannot be computed."""

    hip_flexion_deg: dict[str, float]  # per side, from image landmarks (side view)
    hip_flexion_3d_deg: dict[str, float]  # per side, from world landmarks
    knee_flexion_deg: dict[str, float]  # per side, 0 = straight
    side_confidence: dict[str, float]
    trunk_inclination_deg: float  # trunk axis vs image vertical: 0 upright, 90 lying
    pelvis_height: float  # hip height above the shoulder-knee line, in thigh lengths
    asymmetry_deg: float  # |left - right| hip flexion
    facing: int  # +1 / -1: which way the body faces in the image (+1 = towards +x)
    posture: str  # "standing", "supine", "prone", "quadruped", "seated", "unknown"


@dataclass(frozen=True)
class FrameResult:
    """Everything the core knows after one frame: what an overlay draws and a timeline row holds."""

    index: int
    t_ms: float
    pose_present: bool
    side_used: str | None  # "left", "right", "both", or None when no pose
    measures: BodyMeasures | None
    hip_smoothed_deg: dict[str, float]  # per side, NaN when unknown
    primary_deg: float  # the smoothed signal driving the counter (NaN when unknown)
    bridged: bool  # primary_deg was carried across a short gap, not measured
    position: Position
    direction: Direction
    phase: Phase
    posture_ok: bool
    rep_count: int
    partial_count: int
    side_counts: dict[str, int]
    rep_in_progress: int | None  # 1-based index of the rep being performed, if any
    holding: bool
    # the hold on show: so far while holding, as timed once it ends, then the report's figure
    # once the rep is final; 0 from the next rep's start until it holds
    hold_elapsed_s: float
    hold_target_s: float
    events: tuple[Event, ...] = ()
    latest_cue: Cue | None = None  # the cue on show: about the rep under way or just ended
    attempt: int | None = None  # the movement under way (reps and partials numbered together)
    working_side: str | None = None  # the leg whose angle to show (the working leg)
    posture_wrong: bool = False  # the posture has mismatched long enough to say so


@dataclass(frozen=True)
class SetSummary:
    """The outcome of a set: what a report is made of."""

    exercise: str
    reps: tuple[Rep, ...]
    partials: tuple[Rep, ...]
    holds: tuple[Hold, ...]
    cues: tuple[Cue, ...]
    side_counts: dict[str, int] = field(default_factory=dict)
    frames: int = 0
    frames_with_pose: int = 0
    side_used: str | None = None
    unfinished: Rep | None = None  # a rep under way when the set ended: not counted

    @property
    def rep_count(self) -> int:
        return len(self.reps)

    @property
    def detection_rate(self) -> float:
        return self.frames_with_pose / self.frames if self.frames else 0.0
