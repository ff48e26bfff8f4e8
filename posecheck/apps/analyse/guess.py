"""Guessing the exercise from a clip's first frames, so the main pass counts with it from the start.

`score_exercises` weighs each profile by posture, how far its signal travels and the cues that
tell look-alikes apart; `guess_exercise` samples the frames and runs the pose model on them.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np

from posecheck.core.results import BodyMeasures


def _side_values(d: dict[str, float]) -> list[float]:
    return [v for v in (d.get("left", math.nan), d.get("right", math.nan)) if math.isfinite(v)]


def profile_signal(signal_name: str, m: BodyMeasures | None) -> float:
    """A profile's driving signal computed from a frame's raw measures (for auto-detection)."""
    if m is None:
        return math.nan
    hips = _side_values(m.hip_flexion_deg)
    knees = _side_values(m.knee_flexion_deg)
    if signal_name == "hip_flexion":
        return float(np.mean(hips)) if hips else math.nan
    if signal_name == "hip_flexion_min":
        return min(hips) if hips else math.nan
    if signal_name == "hip_flexion_max":
        return max(hips) if hips else math.nan
    if signal_name == "knee_flexion_min":
        return min(knees) if knees else math.nan
    if signal_name == "hip_flexion_planted":
        from posecheck.core.analyzer import planted_leg_vote

        leg = planted_leg_vote(m.hip_flexion_deg, m.knee_flexion_deg)
        return m.hip_flexion_deg[leg] if leg is not None else math.nan
    return math.nan


def score_exercises(measures: list[BodyMeasures]) -> tuple[str, dict[str, float]]:
    """Best guess of the exercise from sampled frames: posture first, then the moving signal.

    Candidates are the profiles whose posture matches the most common posture seen. Each is
    scored by how far its own signal travels across the gap between its rest and top zones
    (5th-95th percentile, so a stray frame cannot decide) plus whether it reaches both zones;
    then weighed by what tells look-alikes apart: the knee gate (a bridge has bent knees, a leg
    raise straight ones) and left/right asymmetry (one-leg and alternating exercises have it,
    bilateral ones do not). Ties keep the registry order, which puts the glute bridge first.
    Returns (name, scores).
    """
    from posecheck.core.profiles import PROFILES

    postures = Counter(m.posture for m in measures)
    postures.pop("unknown", None)
    if not postures:
        return "glute_bridge", {}
    posture = postures.most_common(1)[0][0]
    profiles = list(PROFILES.values())
    candidates = [p for p in profiles if posture in p.postures] or profiles
    asym = np.array([m.asymmetry_deg for m in measures], dtype=float)
    asym = asym[np.isfinite(asym)]
    asymmetric = bool(len(asym) and np.percentile(asym, 90) > 25.0)
    knee_max = np.array(
        [max(_side_values(m.knee_flexion_deg), default=math.nan) for m in measures], dtype=float
    )
    knee_max = knee_max[np.isfinite(knee_max)]
    scores: dict[str, float] = {}
    for prof in candidates:
        signal = "hip_flexion_max" if prof.laterality == "per_leg" else prof.signal
        values = np.array([profile_signal(signal, m) for m in measures], dtype=float)
        values = values[np.isfinite(values)]
        if len(values) < 3:
            scores[prof.name] = 0.0
            continue
        lo, hi = np.percentile(values, [5, 95])
        zone_lo, zone_hi = sorted((prof.rest_deg, prof.top_deg))
        overlap = max(0.0, min(hi, zone_hi) - max(lo, zone_lo)) / (zone_hi - zone_lo)
        top_end, rest_end = (hi, lo) if prof.direction > 0 else (lo, hi)
        reach = int(prof.progress(top_end) >= prof.progress(prof.top_deg)) + int(
            prof.progress(rest_end) <= prof.progress(prof.rest_deg)
        )
        weight = 1.0 if prof.posture == posture else 0.8
        if prof.knee_gate_deg is not None and len(knee_max):
            gate_lo, gate_hi = prof.knee_gate_deg
            if not gate_lo <= float(np.median(knee_max)) <= gate_hi:
                weight *= 0.3
        if prof.laterality == "bilateral":
            weight *= 0.85 if asymmetric else 1.0
        else:
            weight *= 1.0 if asymmetric else 0.7
        scores[prof.name] = round(float(weight * (overlap + 0.5 * reach)), 3)
    best = max(candidates, key=lambda p: scores[p.name])  # first of equals wins
    return best.name, scores


def guess_exercise(
    path: str | Path,
    *,
    model: str | Path = "full",
    samples: int = 40,
    window_s: float = 30.0,
    fps: float | None = None,
    total: int | None = None,
) -> tuple[str, dict[str, float]]:
    """Sample up to `samples` frames from the first `window_s` seconds and guess the exercise.

    A separate quick pass (a few dozen inferences) so the main pass can draw and count with the
    chosen profile from its first frame without buffering any images.
    """
    from posecheck.core.geometry import measure
    from posecheck.inputs.sources import open_source
    from posecheck.pose import PoseEstimator

    window = int(window_s * (fps or 30.0))
    if total:
        window = min(window, total)
    stride = max(1, window // samples)
    found: list[BodyMeasures] = []
    seen = 0
    with open_source(path, stride=stride) as source, PoseEstimator(model) as estimator:
        for frame in source:
            if seen >= samples:
                break
            seen += 1
            pose = estimator.detect(frame.image, frame.timestamp_ms, frame.index)
            if pose.present:
                found.append(measure(pose))
    return score_exercises(found)
