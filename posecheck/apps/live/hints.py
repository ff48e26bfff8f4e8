"""On-screen hints about the camera set-up, from the pose alone.

Why: a person lying on the floor cannot see what the camera sees. When nobody is found, when the
body runs off the frame edge, when the camera looks along the body instead of across it, or when
the body is too small to track, the window says what to change. Pure geometry on `PoseFrame`;
`HintTracker` debounces so a hint neither flickers nor lingers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from posecheck.core.landmarks import Landmark, PoseFrame

NO_PERSON = "No one in view - lie down side-on to the camera"
CUT_OFF = "Body cut off at the edge - move the camera back"
FRONTAL = "Turn the camera to see you from the side"
TOO_SMALL = "You look small - move the camera closer"

# Landmarks that must be in the frame for a hip exercise: shoulders, hips, knees, ankles.
_BODY = (
    Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER, Landmark.LEFT_HIP, Landmark.RIGHT_HIP,
    Landmark.LEFT_KNEE, Landmark.RIGHT_KNEE, Landmark.LEFT_ANKLE, Landmark.RIGHT_ANKLE,
)


def pose_hint(pose: PoseFrame, *, edge_frac: float = 0.01, presence_min: float = 0.5) -> str | None:
    """The most important set-up problem visible in this frame, or None."""
    if not pose.present or pose.image_xy is None:
        return NO_PERSON
    w, h = pose.frame_wh
    xy = np.asarray(pose.image_xy, dtype=float)
    body = xy[list(_BODY)]
    margin_x, margin_y = edge_frac * w, edge_frac * h
    outside = (
        (body[:, 0] < margin_x) | (body[:, 0] > w - margin_x)
        | (body[:, 1] < margin_y) | (body[:, 1] > h - margin_y)
    )
    if pose.presence is not None:
        outside |= np.asarray(pose.presence, dtype=float)[list(_BODY)] < presence_min
    # One side can be hidden behind the other in a side view: need both of a pair out.
    pairs_out = outside[0::2] & outside[1::2]
    if pairs_out.any():
        return CUT_OFF
    shoulders = xy[[Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER]]
    hips = xy[[Landmark.LEFT_HIP, Landmark.RIGHT_HIP]]
    trunk = float(np.linalg.norm(shoulders.mean(axis=0) - hips.mean(axis=0)))
    width = float(max(np.linalg.norm(shoulders[0] - shoulders[1]),
                      np.linalg.norm(hips[0] - hips[1])))
    if trunk > 1e-6 and width / trunk > 0.6:
        return FRONTAL
    span = float(np.ptp(body, axis=0).max())
    if span < 0.25 * max(w, h):
        return TOO_SMALL
    return None


@dataclass
class HintTracker:
    """Shows a hint only after it held for `show_after` frames; clears after `clear_after`."""

    show_after: int = 8
    clear_after: int = 8
    current: str | None = None
    _candidate: str | None = None
    _streak: int = 0

    def update(self, hint: str | None) -> str | None:
        if hint == self.current:
            self._candidate, self._streak = None, 0
            return self.current
        if hint == self._candidate:
            self._streak += 1
        else:
            self._candidate, self._streak = hint, 1
        needed = self.clear_after if hint is None else self.show_after
        if self._streak >= needed:
            self.current, self._candidate, self._streak = hint, None, 0
        return self.current

    def reset(self) -> None:
        self.current, self._candidate, self._streak = None, None, 0
