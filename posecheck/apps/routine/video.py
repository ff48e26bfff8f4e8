"""Running a routine on a recorded video: one pose pass, then each block's own counter."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from posecheck.apps.routine.match import split_summary, trunk_share
from posecheck.apps.routine.model import Routine, RoutineError
from posecheck.apps.routine.outcome import (
    HipTrace,
    RoutineRun,
    counted_outcome,
    score_run,
    timed_outcome,
)
from posecheck.apps.routine.segment import detect_boundaries


@dataclass
class PoseTrack:
    """One pose pass over a video: every frame's pose plus what boundary detection reads."""

    source: str
    poses: list[Any]  # PoseFrame per analysed frame
    postures: list[str | None]  # posture label per frame (None: unknown / no pose)
    hip_deg: list[float]  # mean raw hip flexion per frame (NaN: unknown)
    fps: float | None
    stride: int
    model_name: str


def estimate_poses(
    video: str | Path,
    *,
    model: str | Path = "full",
    orientation: str | int = "auto",
    stride: int = 1,
    progress: Any = None,
) -> PoseTrack:
    """Run the pose model once over a video (landmarks only are kept, a few KB per frame)."""
    from posecheck.errors import SourceError
    from posecheck.inputs.sources import open_source
    from posecheck.pose import PoseEstimator

    poses = []
    with open_source(video, stride=stride) as source, PoseEstimator(
        model, orientation=orientation
    ) as estimator:
        fps = source.fps
        total = source.frame_count
        for n, frame in enumerate(source, start=1):
            poses.append(estimator.detect(frame.image, frame.timestamp_ms, frame.index))
            if progress is not None:
                progress(n, total)
        model_name = str(getattr(estimator, "model_name", model))
    if not poses:
        raise SourceError(f"no frames could be decoded from {video}")
    return track_from_poses(poses, str(video), fps, stride=stride, model_name=model_name)


def track_from_poses(
    poses: Sequence[Any], source: str, fps: float | None, *, stride: int = 1,
    model_name: str = "",
) -> PoseTrack:
    """A `PoseTrack` from poses already estimated (or generated from known landmarks).

    Each frame's posture and mean raw hip flexion come from one probe analyzer, as boundary
    detection reads them.
    """
    from posecheck.core.analyzer import SessionAnalyzer

    postures: list[str | None] = []
    hip: list[float] = []
    probe = SessionAnalyzer("glute_bridge")  # only its per-frame measures are used
    for pose in poses:
        m = probe.update(pose).measures
        postures.append(m.posture if m is not None and m.posture != "unknown" else None)
        hips = [] if m is None else [v for v in m.hip_flexion_deg.values() if v == v]
        hip.append(sum(hips) / len(hips) if hips else float("nan"))
    return PoseTrack(source, list(poses), postures, hip, fps, stride, model_name)


def run_routine_video(
    routine: Routine,
    video: str | Path | PoseTrack,
    boundaries_s: Sequence[float] | None = None,
    *,
    model: str | Path = "full",
    orientation: str | int = "auto",
    stride: int = 1,
    progress: Any = None,
    history: Any = None,
) -> RoutineRun:
    """Run a routine against a recorded video: one pose pass, then each block's own counter.

    Poses are estimated once for the whole video (`estimate_poses`; pass its `PoseTrack` to
    reuse it); each block's frames then go through a fresh `SessionAnalyzer` with the block's
    profile and hold target. Block boundaries are given (start times) or detected
    (`detect_boundaries`); a detected block nothing fits is not done (`RoutineRun.not_done`).
    A block is credited only with reps that move like its exercise (`routine.match`); the
    others are kept on its outcome as `unmatched`. `history` (a `posecheck.outputs.history.History`)
    adds the user's earlier numbers to the balance report; storing the run is the caller's
    choice (`History.add_routine_run`).
    """
    from posecheck.core.analyzer import SessionAnalyzer
    from posecheck.core.geometry import trunk_inclination
    from posecheck.core.profiles import get_profile
    from posecheck.outputs.report import SessionReport

    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    if isinstance(video, PoseTrack):
        track = video
    else:
        track = estimate_poses(
            video, model=model, orientation=orientation, stride=stride, progress=progress
        )
    video = track.source
    poses, postures, probe_hip = track.poses, track.postures, track.hip_deg
    fps, stride, model_name = track.fps, track.stride, track.model_name
    times = [p.timestamp_ms / 1000.0 for p in poses]
    frame_s = (1.0 / fps * stride) if fps else 0.0
    end_s = times[-1] + frame_s
    trunk = [trunk_inclination(p) if p.present else float("nan") for p in poses]
    detected = boundaries_s is None
    if boundaries_s is None:
        boundaries_s = detect_boundaries(
            times, postures, probe_hip, routine.blocks, trunk_deg=trunk
        )
    if len(boundaries_s) != len(routine.blocks):
        raise RoutineError(
            f"{len(boundaries_s)} boundaries for {len(routine.blocks)} blocks"
        )
    if not detected and boundaries_s[-1] >= end_s:
        raise RoutineError(
            f"block {len(routine.blocks)} starts at {boundaries_s[-1]:g} s, after the video ends "
            f"({end_s:.1f} s)"
        )
    spans = list(zip(boundaries_s, [*boundaries_s[1:], end_s], strict=True))
    outcomes = []
    reports = []
    not_done = []
    exercises = [b.exercise for b in routine.blocks if b.exercise]
    for i, (block, (start, stop)) in enumerate(zip(routine.blocks, spans, strict=True)):
        chunk = [p for p in poses if start <= p.timestamp_ms / 1000.0 < stop]
        if not chunk:
            not_done.append(i)
        if block.exercise is None or not chunk:
            outcomes.append(timed_outcome(block, start, stop))
            reports.append(None)
            continue
        profile = dataclasses.replace(get_profile(block.exercise), hold_target_s=block.hold_s)
        analyzer = SessionAnalyzer(profile)
        trace = HipTrace()
        for pose in chunk:
            result = analyzer.update(pose)
            trace.add(result.t_ms / 1000.0, result)
        summary, unmatched = split_summary(
            analyzer.summary(), profile,
            lambda a, b: trunk_share(times, trunk, probe_hip, a, b), exercises,
            lambda a, b: _main_posture(times, postures, a, b),
        )
        report = SessionReport.from_summary(
            summary,
            exercise=block.exercise,
            exercise_auto_detected=False,
            model=model_name,
            source=f"{video}#t={start:.2f},{stop:.2f}",
            fps=fps,
            duration_s=stop - start,
            stride=stride,
        )
        outcomes.append(counted_outcome(
            block, start, stop, report, started_at=started_at, mode="routine",
            series=trace.series(), unmatched=unmatched,
        ))
        reports.append(report)
    return RoutineRun(
        routine=routine, source=str(video), boundaries_s=tuple(boundaries_s), end_s=end_s,
        boundaries_detected=detected, blocks=tuple(outcomes), reports=tuple(reports),
        balance=score_run(outcomes, routine, started_at, history), started_at=started_at,
        not_done=tuple(not_done),
    )


def _main_posture(
    times: Sequence[float], postures: Sequence[str | None], start_s: float, end_s: float
) -> str | None:
    """The most common known posture between two times (None when none is known)."""
    from collections import Counter

    seen = Counter(p for t, p in zip(times, postures, strict=True) if start_s <= t <= end_s and p)
    return seen.most_common(1)[0][0] if seen else None
