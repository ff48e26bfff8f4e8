"""The pure core of posecheck: landmarks in, reps/holds/cues out. No cv2, no mediapipe, no I/O.

Public names are re-exported here; each lives in a small module:
`landmarks` (PoseFrame), `results` (FrameResult, Rep, Hold, Cue, Event, SetSummary),
`geometry` (measure, SideSelector, SideBlend), `smoothing`, `posture`, `profiles` (ExerciseProfile,
PROFILES, get_profile), `counter` (RepCounter), `cues` (form rules) and `analyzer`
(SessionAnalyzer, analyse_poses).
"""

from __future__ import annotations

from posecheck.core.analyzer import SessionAnalyzer, analyse_poses
from posecheck.core.counter import CounterStep, RepCounter, RepFeatures, RepIndex
from posecheck.core.cues import RULES, CueRule, evaluate_rep, evaluate_set
from posecheck.core.landmarks import Landmark, PoseFrame
from posecheck.core.profiles import PROFILES, ExerciseProfile, RuleRef, get_profile, rule
from posecheck.core.results import (
    BodyMeasures,
    Cue,
    Direction,
    Event,
    EventKind,
    FrameResult,
    Hold,
    Phase,
    Position,
    Rep,
    SetSummary,
    Severity,
)

__all__ = [
    "PROFILES",
    "RULES",
    "BodyMeasures",
    "CounterStep",
    "Cue",
    "CueRule",
    "Direction",
    "Event",
    "EventKind",
    "ExerciseProfile",
    "FrameResult",
    "Hold",
    "Landmark",
    "Phase",
    "PoseFrame",
    "Position",
    "Rep",
    "RepCounter",
    "RepFeatures",
    "RepIndex",
    "RuleRef",
    "SessionAnalyzer",
    "SetSummary",
    "Severity",
    "analyse_poses",
    "evaluate_rep",
    "evaluate_set",
    "get_profile",
    "rule",
]
