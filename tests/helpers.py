"""Builders shared by test modules (pytest puts tests/ on sys.path: `from helpers import ...`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from posecheck.core.results import BodyMeasures, Direction, FrameResult, Phase, Position

NAN = math.nan


def frame_result(
    angle: float = 30.0,
    t_ms: float = 0.0,
    *,
    sides: Sequence[str] = ("left", "right"),
    raw_offset: float = 0.0,
    rep_count: int = 2,
    **overrides: object,
) -> FrameResult:
    """A supine bridge frame mid-rise: hip flexion `angle` on `sides` (NaN on the others).

    `raw_offset` sets the raw measure apart from the smoothed one (to tell which is read);
    the rep in progress is the one after `rep_count`. Any field can be overridden.
    """

    def per_side(value: float) -> dict[str, float]:
        return {s: value if s in sides else NAN for s in ("left", "right")}

    measures = BodyMeasures(
        hip_flexion_deg=per_side(angle + raw_offset),
        hip_flexion_3d_deg=per_side(angle),
        knee_flexion_deg=per_side(90.0),
        side_confidence={"left": 0.9, "right": 0.5 if "right" in sides else 0.2},
        trunk_inclination_deg=85.0,
        pelvis_height=0.2,
        asymmetry_deg=0.0 if len(sides) == 2 else NAN,
        facing=1,
        posture="supine",
    )
    base = FrameResult(
        index=int(t_ms // 40),
        t_ms=t_ms,
        pose_present=True,
        side_used="left",
        measures=measures,
        hip_smoothed_deg=per_side(angle),
        primary_deg=angle,
        bridged=False,
        position=Position.FLEXED,
        direction=Direction.EXTENDING,
        phase=Phase.CONCENTRIC,
        posture_ok=True,
        rep_count=rep_count,
        partial_count=1,
        side_counts={"left": rep_count},
        rep_in_progress=rep_count + 1,
        holding=False,
        hold_elapsed_s=0.0,
        hold_target_s=2.0,
    )
    return replace(base, **overrides)
