"""The pose of one frame as plain arrays: the hand-off between the model wrapper and the core.

Landmark order is BlazePose's 33-point topology, so arrays index directly with `Landmark`.
Nothing here knows about mediapipe or OpenCV; `posecheck.pose` builds these from model output,
`posecheck.synthetic` builds them from a kinematic body with known truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

NUM_LANDMARKS = 33


class Landmark(IntEnum):
    """BlazePose landmark indices."""

    NOSE = 0
    LEFT_EYE_INNER = 1
    LEFT_EYE = 2
    LEFT_EYE_OUTER = 3
    RIGHT_EYE_INNER = 4
    RIGHT_EYE = 5
    RIGHT_EYE_OUTER = 6
    LEFT_EAR = 7
    RIGHT_EAR = 8
    MOUTH_LEFT = 9
    MOUTH_RIGHT = 10
    LEFT_SHOULDER = 11
    RIGHT_SHOULDER = 12
    LEFT_ELBOW = 13
    RIGHT_ELBOW = 14
    LEFT_WRIST = 15
    RIGHT_WRIST = 16
    LEFT_PINKY = 17
    RIGHT_PINKY = 18
    LEFT_INDEX = 19
    RIGHT_INDEX = 20
    LEFT_THUMB = 21
    RIGHT_THUMB = 22
    LEFT_HIP = 23
    RIGHT_HIP = 24
    LEFT_KNEE = 25
    RIGHT_KNEE = 26
    LEFT_ANKLE = 27
    RIGHT_ANKLE = 28
    LEFT_HEEL = 29
    RIGHT_HEEL = 30
    LEFT_FOOT_INDEX = 31
    RIGHT_FOOT_INDEX = 32


@dataclass(frozen=True)
class SideJoints:
    """The landmarks of one body side that the hip signals use."""

    shoulder: int
    hip: int
    knee: int
    ankle: int
    heel: int
    foot_index: int


SIDE_JOINTS: dict[str, SideJoints] = {
    "left": SideJoints(
        Landmark.LEFT_SHOULDER,
        Landmark.LEFT_HIP,
        Landmark.LEFT_KNEE,
        Landmark.LEFT_ANKLE,
        Landmark.LEFT_HEEL,
        Landmark.LEFT_FOOT_INDEX,
    ),
    "right": SideJoints(
        Landmark.RIGHT_SHOULDER,
        Landmark.RIGHT_HIP,
        Landmark.RIGHT_KNEE,
        Landmark.RIGHT_ANKLE,
        Landmark.RIGHT_HEEL,
        Landmark.RIGHT_FOOT_INDEX,
    ),
}

# Bones drawn by the overlay (pairs of landmark indices).
SKELETON_EDGES: tuple[tuple[int, int], ...] = (
    (11, 12),
    (11, 13),
    (13, 15),
    (12, 14),
    (14, 16),
    (11, 23),
    (12, 24),
    (23, 24),
    (23, 25),
    (25, 27),
    (27, 29),
    (29, 31),
    (27, 31),
    (24, 26),
    (26, 28),
    (28, 30),
    (30, 32),
    (28, 32),
    (0, 11),
    (0, 12),
)


@dataclass(frozen=True)
class PoseFrame:
    """One frame's pose estimate, or its absence.

    Attributes:
        index: frame index in the source (0-based, counts every decoded frame).
        timestamp_ms: source clock in milliseconds (container PTS for files, capture clock for
            live sources); strictly increasing within a session.
        frame_wh: (width, height) of the original, unrotated frame in pixels.
        image_xy: (33, 2) landmark pixel coordinates in the original frame, or None if no pose.
        image_z: (33,) BlazePose's relative depth (same scale as x, normalised), or None.
        world_xyz: (33, 3) metric landmarks, hip-centred, mediapipe axes (x right, y down,
            z away from camera, all as seen in the *detection* orientation), or None.
        visibility: (33,) likelihood each landmark is visible (0..1), or None.
        presence: (33,) likelihood each landmark is in the frame (0..1), or None.
        rotation_deg: clockwise rotation (0/90/180/270) applied to the frame before detection.
        num_people: how many people the detector reported (the first is the one kept).
    """

    index: int
    timestamp_ms: float
    frame_wh: tuple[int, int]
    image_xy: np.ndarray | None = None
    image_z: np.ndarray | None = None
    world_xyz: np.ndarray | None = None
    visibility: np.ndarray | None = None
    presence: np.ndarray | None = None
    rotation_deg: int = 0
    num_people: int = 0
    meta: dict[str, object] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        for name, shape in (
            ("image_xy", (NUM_LANDMARKS, 2)),
            ("image_z", (NUM_LANDMARKS,)),
            ("world_xyz", (NUM_LANDMARKS, 3)),
            ("visibility", (NUM_LANDMARKS,)),
            ("presence", (NUM_LANDMARKS,)),
        ):
            value = getattr(self, name)
            if value is not None and np.shape(value) != shape:
                raise ValueError(f"PoseFrame.{name} must have shape {shape}, got {np.shape(value)}")

    @property
    def present(self) -> bool:
        """True when a person was found in this frame."""
        return self.image_xy is not None

    @property
    def timestamp_s(self) -> float:
        return self.timestamp_ms / 1000.0

    @classmethod
    def missing(cls, index: int, timestamp_ms: float, frame_wh: tuple[int, int]) -> PoseFrame:
        """A frame in which no person was found."""
        return cls(index=index, timestamp_ms=timestamp_ms, frame_wh=frame_wh)
