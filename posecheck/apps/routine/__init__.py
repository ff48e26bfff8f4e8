"""Routines: an ordered list of exercise blocks, written as data in a small TOML file.

The package is split by concept; everything public is importable from here:

- `model`: `Block`, `Routine` and `RoutineError` (plain data);
- `plan`: loading and validating a routine's TOML (`load_routine`, `parse_routine`);
- `segment`: where each block starts in a video (`parse_boundaries`, `detect_boundaries`);
- `outcome`: scoring a run's blocks into the balance report (`RoutineRun`);
- `video` and `live`: the two runners (`run_routine_video`, `run_routine_live`).
"""

from __future__ import annotations

from posecheck.apps.routine.live import LiveRoutineController, run_routine_live
from posecheck.apps.routine.model import Block, ProfileInfo, Routine, RoutineError
from posecheck.apps.routine.outcome import RoutineRun
from posecheck.apps.routine.plan import (
    BLOCK_KEYS,
    MAX_DURATION_S,
    MAX_REPS,
    POSTURES,
    ROUTINE_KEYS,
    builtin_routines,
    load_routine,
    parse_routine,
    profile_infos,
)
from posecheck.apps.routine.segment import BOUNDARY_WINDOW_S, detect_boundaries, parse_boundaries
from posecheck.apps.routine.video import PoseTrack, estimate_poses, run_routine_video

__all__ = [
    "BLOCK_KEYS",
    "BOUNDARY_WINDOW_S",
    "MAX_DURATION_S",
    "MAX_REPS",
    "POSTURES",
    "ROUTINE_KEYS",
    "Block",
    "LiveRoutineController",
    "PoseTrack",
    "ProfileInfo",
    "Routine",
    "RoutineError",
    "RoutineRun",
    "builtin_routines",
    "detect_boundaries",
    "estimate_poses",
    "load_routine",
    "parse_boundaries",
    "parse_routine",
    "profile_infos",
    "run_routine_live",
    "run_routine_video",
]
