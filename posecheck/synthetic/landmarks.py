"""A pinhole camera that turns a generated `Motion` into the `PoseFrame`s a pose model would give.

The test generator of the core: exact landmarks, then (optionally) the kinds of damage real
detections have: pixel noise, missing frames, frames never delivered (irregular timestamps),
timestamp jitter and brief left/right swaps. Each frame's `meta` records which truth frame it is.
Pure numpy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from posecheck.core.landmarks import NUM_LANDMARKS, Landmark, PoseFrame
from posecheck.synthetic.kinematics import BodyShape, body_axes, world_landmarks
from posecheck.synthetic.motions import Motion

# Which body side each landmark belongs to: +1 left, -1 right, 0 midline.
_SIDE_OF = np.array(
    [0.0] + [1.0 if "LEFT" in lm.name else -1.0 for lm in list(Landmark)[1:]], dtype=float
)
_SIDE_OF[Landmark.MOUTH_LEFT] = 1.0
_SIDE_OF[Landmark.MOUTH_RIGHT] = -1.0
# Index permutation that exchanges every left landmark with its right twin.
SWAP_LR = np.arange(NUM_LANDMARKS)
for _lm in Landmark:
    if "LEFT" in _lm.name:
        _twin = Landmark[_lm.name.replace("LEFT", "RIGHT")]
        SWAP_LR[_lm], SWAP_LR[_twin] = _twin, _lm


@dataclass(frozen=True)
class Camera:
    """An upright pinhole camera looking at `target`.

    side: which side of the body it sees ("left" = it stands on the body's +y side).
    distance_m: horizontal distance to the target; height_m: lens height above the floor.
    yaw_deg: swing around the target about the vertical, towards the body's front (+) or back
        (-): 0 = pure side view, ~45 = three-quarter view.
    fov_deg: horizontal field of view (focal length in pixels follows from it and the width).
    """

    side: str = "left"
    distance_m: float = 3.0
    height_m: float = 0.5
    yaw_deg: float = 0.0
    fov_deg: float = 60.0
    resolution: tuple[int, int] = (640, 480)
    target: tuple[float, float, float] = (0.0, 0.0, 0.5)

    def __post_init__(self) -> None:
        if self.side not in ("left", "right"):
            raise ValueError("Camera.side must be 'left' or 'right'")

    @property
    def focal_px(self) -> float:
        return self.resolution[0] / 2 / np.tan(np.radians(self.fov_deg) / 2)

    @property
    def position(self) -> np.ndarray:
        sgn = 1.0 if self.side == "left" else -1.0
        yaw = np.radians(self.yaw_deg)
        # Start on the body's side (+y or -y), swing towards +x (the body's front) by yaw.
        offset = np.array([np.sin(yaw), sgn * np.cos(yaw), 0.0])
        pos = np.array([self.target[0], self.target[1], 0.0]) + self.distance_m * offset
        pos[2] = self.height_m
        return pos

    def axes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(right, down, forward) unit vectors of the image in world coordinates."""
        fwd = np.asarray(self.target, dtype=float) - self.position
        fwd /= np.linalg.norm(fwd)
        right = np.cross(fwd, [0.0, 0.0, 1.0])
        right /= np.linalg.norm(right)
        down = np.cross(fwd, right)
        return right, down, fwd

    def to_camera(self, points3d: np.ndarray) -> np.ndarray:
        """World points -> camera coordinates (x right, y down, z forward), metres."""
        right, down, fwd = self.axes()
        rel = np.asarray(points3d, dtype=float) - self.position
        return np.stack([rel @ right, rel @ down, rel @ fwd], axis=-1)

    def project(self, points3d: np.ndarray) -> np.ndarray:
        """(n, 3) world points -> (n, 2) pixels (x right, y down, origin top-left)."""
        cam = self.to_camera(points3d)
        f = self.focal_px
        w, h = self.resolution
        z = np.maximum(cam[..., 2], 1e-6)
        return np.stack([f * cam[..., 0] / z + w / 2, f * cam[..., 1] / z + h / 2], axis=-1)

    def with_(self, **changes: object) -> Camera:
        from dataclasses import replace

        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def framing(
        cls,
        motion: Motion,
        side: str = "left",
        *,
        height_m: float | None = None,
        yaw_deg: float = 0.0,
        resolution: tuple[int, int] = (640, 480),
        fov_deg: float = 60.0,
        fill: float = 0.8,
    ) -> Camera:
        """A camera that keeps the whole motion inside `fill` of the frame.

        height_m None = level with the body's centre (least perspective distortion)."""
        pts = np.concatenate(
            [world_landmarks(motion.shape, s) for s in motion.states[:: max(len(motion) // 40, 1)]]
        )
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        centre = (lo + hi) / 2
        extent_h = float(
            np.hypot(hi[0] - lo[0], (hi[1] - lo[1]) * abs(np.sin(np.radians(yaw_deg))))
        )
        extent_v = float(hi[2] - lo[2])
        w, h = resolution
        f = w / 2 / np.tan(np.radians(fov_deg) / 2)
        depth = max(extent_h * f / (fill * w), extent_v * f / (fill * h)) + 0.3
        z = float(centre[2]) if height_m is None else height_m
        return cls(
            side=side,
            distance_m=float(max(depth, 1.0)),
            height_m=z,
            yaw_deg=yaw_deg,
            fov_deg=fov_deg,
            resolution=resolution,
            target=(float(centre[0]), float(centre[1]), float(centre[2])),
        )


@dataclass
class FrameTruth:
    """What a generated `PoseFrame` really shows (kept in `PoseFrame.meta['truth']`)."""

    frame: int  # index into the motion
    t_s: float  # true (unjittered) time
    swapped: bool = False
    missing: bool = False
    extra: dict[str, object] = field(default_factory=dict)


def to_pose_frames(
    motion: Motion,
    shape: BodyShape | None,
    camera: Camera,
    *,
    noise_frac: float = 0.0,
    dropout: float = 0.0,
    skip: float = 0.0,
    jitter_ms: float = 0.0,
    side_swaps: int = 0,
    seed: int = 0,
) -> list[PoseFrame]:
    """The frames a pose model would report for `motion` filmed by `camera`.

    noise_frac: σ of landmark noise as a fraction of the thigh length (image: of the thigh's
        length in pixels at the hips' depth; world: of the thigh in metres).
    dropout: fraction of frames delivered without a pose (`PoseFrame.missing`), in runs of 1-3.
    skip: fraction of frames never delivered at all (the next timestamp jumps).
    jitter_ms: σ of timestamp jitter; clipped to ±40 % of a frame so the clock stays increasing.
    side_swaps: number of brief (1-3 frame) episodes where left and right landmarks are swapped.
    World landmarks follow mediapipe: hip-centred metres, x right, y down, z away from the camera.
    """
    shape = shape or motion.shape
    rng = np.random.default_rng(seed)
    n = len(motion)
    w, h = camera.resolution
    right, down, fwd = camera.axes()
    thigh = float(shape.L["thigh"])
    dt_ms = 1000.0 * (motion.times_s[1] - motion.times_s[0]) if n > 1 else 33.3

    missing = np.zeros(n, dtype=bool)
    target = round(dropout * n)
    while missing.sum() < target:
        start = int(rng.integers(0, n))
        missing[start : start + int(rng.integers(1, 4))] = True
    skipped = rng.random(n) < skip
    skipped[0] = False
    swapped = np.zeros(n, dtype=bool)
    for _ in range(side_swaps):
        start = int(rng.integers(0, n))
        swapped[start : start + int(rng.integers(1, 4))] = True
    jitter = np.clip(rng.normal(0.0, jitter_ms, n), -0.4 * dt_ms, 0.4 * dt_ms) if jitter_ms else 0.0
    stamps = motion.times_s * 1000.0 + jitter

    frames: list[PoseFrame] = []
    for i, state in enumerate(motion.states):
        if skipped[i]:
            continue
        truth = FrameTruth(frame=i, t_s=float(motion.times_s[i]), swapped=bool(swapped[i]))
        if missing[i]:
            truth.missing = True
            f = PoseFrame.missing(i, float(stamps[i]), (w, h))
            f.meta["truth"] = truth
            frames.append(f)
            continue
        lm = world_landmarks(shape, state)
        xy = camera.project(lm)
        cam = camera.to_camera(lm)
        hip_mid = (lm[Landmark.LEFT_HIP] + lm[Landmark.RIGHT_HIP]) / 2
        rel = lm - hip_mid
        world = np.stack([rel @ right, rel @ down, rel @ fwd], axis=-1)
        hip_depth = float(np.mean(cam[[Landmark.LEFT_HIP, Landmark.RIGHT_HIP], 2]))
        image_z = (cam[:, 2] - hip_depth) * camera.focal_px / max(hip_depth, 1e-6) / w
        if noise_frac > 0:
            thigh_px = thigh * camera.focal_px / max(hip_depth, 1e-6)
            xy = xy + rng.normal(0.0, noise_frac * thigh_px, xy.shape)
            world = world + rng.normal(0.0, noise_frac * thigh, world.shape)
        # Visibility: the side turned to the camera is seen well, the far side less.
        _, _, left_axis = body_axes(state)
        towards = float(np.dot(left_axis, -fwd))  # +1 when the left side faces the camera
        vis = np.clip(0.8 + 0.18 * _SIDE_OF * towards, 0.05, 0.995)
        vis = np.clip(vis + rng.normal(0.0, 0.01, NUM_LANDMARKS), 0.0, 1.0)
        inside = (xy[:, 0] >= 0) & (xy[:, 0] < w) & (xy[:, 1] >= 0) & (xy[:, 1] < h)
        presence = np.where(inside, 0.99, 0.15)
        vis = np.where(inside, vis, np.minimum(vis, 0.1))
        if swapped[i]:
            xy, world, image_z, vis, presence = (
                a[SWAP_LR] for a in (xy, world, image_z, vis, presence)
            )
        f = PoseFrame(
            index=i,
            timestamp_ms=float(stamps[i]),
            frame_wh=(w, h),
            image_xy=xy,
            image_z=image_z,
            world_xyz=world,
            visibility=vis,
            presence=presence,
            rotation_deg=0,
            num_people=1,
        )
        f.meta["truth"] = truth
        frames.append(f)
    return frames


def projected_hip_flexion(
    motion: Motion, camera: Camera, shape: BodyShape | None = None
) -> dict[str, np.ndarray]:
    """Per-frame signed 2D shoulder-hip-knee angle of the *exact* projected joints: what a
    perfect 2D detector could measure from this camera. Positive when the projected thigh lies
    on the projected front side of the trunk line."""
    shape = shape or motion.shape
    out: dict[str, list[float]] = {"left": [], "right": []}
    for state in motion.states:
        lm = world_landmarks(shape, state)
        front, _, _ = body_axes(state)
        for side in ("left", "right"):
            ids = [Landmark[f"{side.upper()}_{j}"] for j in ("SHOULDER", "HIP", "KNEE")]
            pts = np.vstack([lm[ids], lm[ids[1]] + 0.05 * front])
            s, hp, k, fr = camera.project(pts)
            down, thigh, fwd = hp - s, k - hp, fr - hp

            def cross(a: np.ndarray, b: np.ndarray) -> float:
                return float(a[0] * b[1] - a[1] * b[0])

            ang = np.degrees(np.arctan2(cross(down, thigh), float(down @ thigh)))
            out[side].append(ang * (1.0 if cross(down, fwd) >= 0 else -1.0))
    return {s: np.array(v) for s, v in out.items()}
