"""Which way a body faces in the image: the anatomical vote that signs every 2D angle.

In a side view the shoulder-hip-knee angle has a magnitude but no sign until we know which side
of the trunk line is the body's front. That depends on the camera side and on which way the
person faces, and must not depend on "up" in the image (people lie down). So the front is
derived from anatomy that only bends one way, per frame, as a weighted vote: the knee flexes
backwards (shank behind the thigh), the foot points forwards from the shank, and the nose is in
front of the ears. The vote gives the body's *chirality* in the image: `facing` = +1 when, with
the trunk turned upright in the image, the front points to +x.

`geometry` (angles) and `posture` (lying face up or down) both read it; it imports neither.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from posecheck.core.landmarks import SIDE_JOINTS, Landmark, PoseFrame

SIDES: tuple[str, str] = ("left", "right")


def _cross2(a: np.ndarray, b: np.ndarray) -> float:
    return float(a[0] * b[1] - a[1] * b[0])


def _norm(v: np.ndarray) -> float:
    return float(np.hypot(v[0], v[1])) if v.shape[-1] == 2 else float(np.linalg.norm(v))


def _vis(pose: PoseFrame, idx: int) -> float:
    v = 1.0 if pose.visibility is None else float(pose.visibility[idx])
    if pose.presence is not None:
        v *= float(pose.presence[idx])
    return v if np.isfinite(v) else 0.0


@dataclass(frozen=True)
class Facing:
    """The body's chirality in the image and how sure we are."""

    sign: int  # +1 / -1
    confidence: float  # |weighted vote| / total weight, 0..1
    weight: float  # total evidence weight (0 = no evidence at all)


def estimate_facing(pose: PoseFrame) -> Facing:
    """Vote for the body's chirality in the image from knees, feet and the nose (see module doc).

    Each cue votes with the sign of a 2D cross product, weighted by how bent/clear it is and by
    its landmarks' visibility: knee (only when bent beyond ~10 deg, full weight from 25 deg),
    foot (heel->toe against the shank), nose against the ears. Returns sign 0-weight when no
    cue is measurable.
    """
    xy = pose.image_xy
    if xy is None:
        return Facing(1, 0.0, 0.0)
    vote = 0.0
    total = 0.0
    sh_mid = (xy[Landmark.LEFT_SHOULDER] + xy[Landmark.RIGHT_SHOULDER]) / 2
    hip_mid = (xy[Landmark.LEFT_HIP] + xy[Landmark.RIGHT_HIP]) / 2
    trunk = sh_mid - hip_mid
    for s in SIDES:
        j = SIDE_JOINTS[s]
        thigh = xy[j.knee] - xy[j.hip]
        shank = xy[j.ankle] - xy[j.knee]
        foot = xy[j.foot_index] - xy[j.heel]
        # Knee flexes backwards: cross(thigh, shank) has the chirality's sign.
        nt, ns, nf = _norm(thigh), _norm(shank), _norm(foot)
        if nt > 0 and ns > 0 and np.isfinite(nt + ns):
            sin_k = _cross2(thigh, shank) / (nt * ns)
            strength = min(1.0, max(0.0, (abs(sin_k) - 0.17) / (0.42 - 0.17)))
            w = strength * min(_vis(pose, j.knee), _vis(pose, j.ankle), _vis(pose, j.hip))
            vote += w * math.copysign(1.0, sin_k)
            total += w
        # Foot points forwards: cross(shank, foot) has the opposite sign.
        if ns > 0 and nf > 0 and np.isfinite(ns + nf):
            sin_f = _cross2(shank, foot) / (ns * nf)
            w = 0.8 * min(1.0, abs(sin_f) / 0.5) * min(_vis(pose, j.heel), _vis(pose, j.foot_index))
            vote -= w * math.copysign(1.0, sin_f)
            total += w
    # Nose in front of the ears.
    ears = (xy[Landmark.LEFT_EAR] + xy[Landmark.RIGHT_EAR]) / 2
    nose = xy[Landmark.NOSE] - ears
    nn, ntr = _norm(nose), _norm(trunk)
    if nn > 0 and ntr > 0 and np.isfinite(nn + ntr):
        sin_n = _cross2(trunk, nose) / (nn * ntr)
        w = 0.6 * min(1.0, abs(sin_n) / 0.5) * _vis(pose, Landmark.NOSE)
        vote += w * math.copysign(1.0, sin_n)
        total += w
    if total <= 1e-9:
        return Facing(1, 0.0, 0.0)
    return Facing(1 if vote >= 0 else -1, abs(vote) / total, total)
