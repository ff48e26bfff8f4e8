"""People in one landmarker result: candidates in original-frame pixels, how plausible their
skeletons are, which one to follow, and how many distinct people are in view."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from posecheck.core.landmarks import NUM_LANDMARKS, Landmark
from posecheck.pose.rotation import ROTATIONS, unrotate_points

if TYPE_CHECKING:
    from posecheck.pose.mediapipe_call import _Result

# -- one detected person ------------------------------------------------------------------------


@dataclass
class _Candidate:
    """One person from one landmarker call, already in original-frame pixels."""

    rotation: int
    image_xy: np.ndarray
    image_z: np.ndarray
    world_xyz: np.ndarray
    visibility: np.ndarray
    presence: np.ndarray
    rotated_xy: np.ndarray  # pixels in the rotated frame the model saw

    def bbox(self) -> np.ndarray:
        """(x0, y0, x1, y1) of the landmarks that are likely in frame."""
        pts = self.image_xy[self.presence > 0.5]
        if len(pts) < 4:
            pts = self.image_xy
        return np.concatenate([pts.min(axis=0), pts.max(axis=0)])

    def area(self) -> float:
        x0, y0, x1, y1 = self.bbox()
        return float(max(0.0, x1 - x0) * max(0.0, y1 - y0))

    def torso(self) -> np.ndarray:
        """Hip-centre to shoulder-centre vector in the frame the model saw (x right, y down)."""
        xy = self.rotated_xy
        return (xy[[Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER]].mean(axis=0)
                - xy[[Landmark.LEFT_HIP, Landmark.RIGHT_HIP]].mean(axis=0))

    def uprightness(self) -> float:
        """Cosine between the hip->shoulder direction and 'up' in the frame the model saw.

        BlazePose is most reliable on upright people, so among rotations that find a body the
        one that shows it head-up is preferred.
        """
        v = self.torso()
        n = float(np.hypot(*v))
        return float(-v[1] / n) if n > 1e-6 else 0.0

    def implausibility(self) -> float:
        """How far the skeleton's metric proportions are from a person's (0 = typical): the sum
        of |log(length / typical)| of thigh, shank (both sides' mean) and torso. NaN without
        usable world landmarks. The detector's scores do not tell a wrongly folded fit from a
        good one (a garbage skeleton can be confidently upright); its bone lengths do."""
        return implausibility(self.world_xyz)


UPRIGHT_ENOUGH = 0.5  # cosine: the torso within 60 degrees of vertical, head up

# BlazePose's world landmarks are metric and scaled to a typical adult, so a fit that folded the
# body wrongly shows in its bone lengths. Medians (m) over the well-fitted frames of the rendered
# corpus (docs/measurements.md, "Pose: plausible skeletons").
TYPICAL_BONES_M = {"thigh": 0.39, "shank": 0.38, "torso": 0.48}
# A skeleton counts as no less plausible than a reference if its implausibility is at most
# PLAUSIBLE_RATIO x the reference's + PLAUSIBLE_MARGIN (then the head-up one wins). Relative,
# because fits that are fine wobble more when the reference is itself loose.
PLAUSIBLE_RATIO = 2.0
PLAUSIBLE_MARGIN = 0.1


def implausibility(world_xyz: np.ndarray | None) -> float:
    """See `_Candidate.implausibility`; `world_xyz` is (33, 3) metres."""
    if world_xyz is None or not np.all(np.isfinite(world_xyz)):
        return float("nan")
    w = np.asarray(world_xyz, dtype=np.float64)
    hips = w[[Landmark.LEFT_HIP, Landmark.RIGHT_HIP]]
    knees = w[[Landmark.LEFT_KNEE, Landmark.RIGHT_KNEE]]
    ankles = w[[Landmark.LEFT_ANKLE, Landmark.RIGHT_ANKLE]]
    shoulders = w[[Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER]]
    lengths = {
        "thigh": float(np.linalg.norm(hips - knees, axis=1).mean()),
        "shank": float(np.linalg.norm(knees - ankles, axis=1).mean()),
        "torso": float(np.linalg.norm(shoulders.mean(axis=0) - hips.mean(axis=0))),
    }
    if min(lengths.values()) < 1e-3:
        return float("nan")
    return float(sum(abs(np.log(lengths[k] / TYPICAL_BONES_M[k])) for k in TYPICAL_BONES_M))


def no_less_plausible(candidate: _Candidate, reference: _Candidate) -> bool:
    """Whether `candidate`'s skeleton is not clearly worse than `reference`'s (unknown: yes)."""
    q, q_ref = candidate.implausibility(), reference.implausibility()
    if not (np.isfinite(q) and np.isfinite(q_ref)):
        return True
    return q <= PLAUSIBLE_RATIO * q_ref + PLAUSIBLE_MARGIN


def upright_rotation(person: _Candidate) -> int:
    """The absolute clockwise rotation that would show this person's torso pointing up."""
    best, best_up = person.rotation, -np.inf
    for delta in ROTATIONS:
        vx, vy = person.torso()
        for _ in range(delta // 90):  # each clockwise quarter turn maps (x, y) -> (-y, x)
            vx, vy = -vy, vx
        if -vy > best_up:
            best, best_up = (person.rotation + delta) % 360, -vy
    return best


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def choose_person(candidates: list[_Candidate], previous_bbox: np.ndarray | None) -> int:
    """Index of the person to keep: the one overlapping the previous choice, else the largest."""
    if previous_bbox is not None:
        overlaps = [_iou(c.bbox(), previous_bbox) for c in candidates]
        best = int(np.argmax(overlaps))
        if overlaps[best] > 0.1:
            return best
    return int(np.argmax([c.area() for c in candidates]))


# IMAGE mode sometimes reports one body twice (a second, shifted fit): bounding boxes of such
# pairs overlapped by IoU 0.39-0.77 on the shared montage and the rendered three-quarter bridge,
# while the split-screen clip's panels (really separate people in view) overlap 0.
DUPLICATE_IOU = 0.35


def count_people(people: list[_Candidate]) -> int:
    """People in view: candidates that do not overlap an already counted one (largest first)."""
    kept: list[np.ndarray] = []
    for c in sorted(people, key=lambda c: -c.area()):
        box = c.bbox()
        if all(_iou(box, k) <= DUPLICATE_IOU for k in kept):
            kept.append(box)
    return len(kept)


def _people(
    result: _Result, rotation: int, rotated_wh: tuple[int, int], frame_wh: tuple[int, int]
) -> list[_Candidate]:
    """The people of one mediapipe result, mapped back to the original frame's pixels."""
    rw, rh = rotated_wh
    people: list[_Candidate] = []
    worlds = result.pose_world_landmarks
    for i, arr in enumerate(result.pose_landmarks):
        if len(arr) != NUM_LANDMARKS:
            continue
        rotated_xy = arr[:, :2] * (rw, rh)
        world = (worlds[i] if i < len(worlds) and len(worlds[i]) == NUM_LANDMARKS
                 else np.full((NUM_LANDMARKS, 3), np.nan))
        people.append(_Candidate(
            rotation=rotation,
            image_xy=unrotate_points(rotated_xy, frame_wh, rotation),
            image_z=arr[:, 2],
            world_xyz=world,
            visibility=arr[:, 3],
            presence=arr[:, 4],
            rotated_xy=rotated_xy,
        ))
    return people
