"""What the ray-caster draws: the pinhole camera, the look and the scene (skin, clothes, room,
lights), and the body as round cones, ellipsoids and boxes placed on the 33 world landmarks.

World frame: metres, z up, floor z = 0 (the frame `posecheck.synthetic.kinematics` uses).
`render` intersects rays with these primitives and shades them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from posecheck.core.landmarks import NUM_LANDMARKS, Landmark
from posecheck.synthetic.kinematics import ELBOW_RADIUS_M, WRIST_RADIUS_M, arm_flesh_radii

RGB = tuple[float, float, float]

_EPS = 1e-9


# --------------------------------------------------------------------------------------------
# Camera
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PinholeCamera:
    """A perspective pinhole camera looking from `position` at `target` (world z is up).

    Image axes: u right, v down, principal point at the image centre, square pixels.
    """

    position: tuple[float, float, float]
    target: tuple[float, float, float]
    width: int = 640
    height: int = 480
    vfov_deg: float = 45.0

    @property
    def focal_px(self) -> float:
        return 0.5 * self.height / np.tan(np.radians(self.vfov_deg) / 2.0)

    @classmethod
    def from_camera(cls, camera: object) -> PinholeCamera:
        """The same camera as a `posecheck.synthetic.landmarks.Camera` (same axes and pixels),
        so landmark streams generated for it can be rendered and scored against each other."""
        w, h = camera.resolution  # type: ignore[attr-defined]
        f = float(camera.focal_px)  # type: ignore[attr-defined]
        return cls(
            position=tuple(float(v) for v in camera.position),  # type: ignore[attr-defined]
            target=tuple(float(v) for v in camera.target),  # type: ignore[attr-defined]
            width=int(w),
            height=int(h),
            vfov_deg=float(np.degrees(2.0 * np.arctan(0.5 * h / f))),
        )

    @property
    def rotation(self) -> np.ndarray:
        """World-to-camera rotation: rows are the camera's right, down and forward axes."""
        eye = np.asarray(self.position, dtype=float)
        fwd = np.asarray(self.target, dtype=float) - eye
        fwd /= np.linalg.norm(fwd)
        up = np.array([0.0, 0.0, 1.0])
        if abs(float(fwd @ up)) > 0.999:  # looking straight down/up: pick any right axis
            up = np.array([0.0, 1.0, 0.0])
        right = np.cross(fwd, up)
        right /= np.linalg.norm(right)
        down = np.cross(fwd, right)
        return np.stack([right, down, fwd])

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """World points (..., 3) -> camera coordinates (x right, y down, z forward)."""
        return (np.asarray(points, dtype=float) - np.asarray(self.position)) @ self.rotation.T

    def project(self, points: np.ndarray) -> np.ndarray:
        """World points (..., 3) -> pixel coordinates (..., 2) (u right, v down)."""
        cam = self.to_camera(points)
        f = self.focal_px
        z = np.maximum(cam[..., 2], 1e-6)
        u = f * cam[..., 0] / z + 0.5 * self.width
        v = f * cam[..., 1] / z + 0.5 * self.height
        return np.stack([u, v], axis=-1)

    def ray_directions(self) -> np.ndarray:
        """(H, W, 3) unit world-space ray directions through pixel centres."""
        f = self.focal_px
        u = (np.arange(self.width) + 0.5 - 0.5 * self.width) / f
        v = (np.arange(self.height) + 0.5 - 0.5 * self.height) / f
        uu, vv = np.meshgrid(u, v)
        d = np.stack([uu, vv, np.ones_like(uu)], axis=-1) @ self.rotation
        return d / np.linalg.norm(d, axis=-1, keepdims=True)


# --------------------------------------------------------------------------------------------
# Appearance and scene
# --------------------------------------------------------------------------------------------

# Skin albedos (linear sRGB, D65) from typical colorimeter readings of skin in each band of the
# Individual Typology Angle (ITA = atan((L* - 50) / b*), the dermatologists' skin-colour scale):
# very light (ITA > 55) L*a*b* 70/9/13, light (41-55) 65/12/16, intermediate 60/12/18, tan
# 55/12/20, brown 45/12/19, dark (ITA < -30) 35/10/15. Why: the previous palette (L* 90..53) made
# light skin as bright as the white wall (L* 92); a colour checker's "light skin" patch (L* 66)
# and "dark skin" patch (L* 38) bracket this one.
SKIN_TONES: dict[str, RGB] = {
    "very_light": (0.554, 0.375, 0.296),
    "light": (0.509, 0.302, 0.223),
    "medium": (0.435, 0.247, 0.167),
    "tan": (0.367, 0.199, 0.121),
    "dark": (0.245, 0.123, 0.071),
    "deep": (0.142, 0.072, 0.044),
}


@dataclass(frozen=True)
class Look:
    """How the body is dressed and built around its skeleton (colours are linear RGB 0..1)."""

    skin: RGB = SKIN_TONES["medium"]
    shirt: RGB = (0.10, 0.35, 0.75)
    bottoms: RGB = (0.12, 0.12, 0.14)
    shoes: RGB = (0.92, 0.92, 0.90)
    hair: RGB = (0.10, 0.07, 0.05)
    long_trousers: bool = False
    long_sleeves: bool = False
    girth: float = 1.0  # radius multiplier on top of the height scaling
    height_m: float = 1.75  # body height, scales all part radii


@dataclass(frozen=True)
class Scene:
    """The room around the body: a floor, an exercise mat and a wall behind the body."""

    floor: RGB = (0.55, 0.45, 0.35)
    wall: RGB = (0.80, 0.80, 0.76)
    mat: RGB | None = (0.20, 0.45, 0.40)
    mat_center_xy: tuple[float, float] = (0.0, 0.0)
    mat_size_xy: tuple[float, float] = (1.8, 0.6)
    wall_distance_m: float = 1.2  # from the body centre, on the far side from the camera
    body_center_xy: tuple[float, float] = (0.0, 0.0)
    key_light_deg: tuple[float, float] = (35.0, 55.0)  # azimuth from camera side, elevation
    ambient: float = 0.28
    key: float = 0.75
    fill: float = 0.25
    rim: float = 0.25
    shadow_strength: float = 0.6
    shadow_softness_m: float = 0.05
    props: tuple[Box, ...] = ()  # furniture drawn in every frame (casts no shadow)
    noise_sigma: float = 2.0  # sensor noise, 8-bit levels
    blur_sigma: float = 0.6  # anti-aliasing blur in pixels
    # A camera's exposure: linear gain on the rendered light before gamma and quantisation.
    # 1.4 would expose like real footage (a frame's 90th-percentile grey: 1.0 gives 178-189, the
    # 12 shared real clips 195-247, median 217); not the default yet: exposed, the knee-raise
    # sample still miscounts at stride 2 and in a routine (sample_videos/README.md, v6).
    exposure: float = 1.0


# --------------------------------------------------------------------------------------------
# Primitives built from landmarks
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cone:
    """A round cone: the convex hull of two spheres (a tapered capsule)."""

    a: np.ndarray
    b: np.ndarray
    ra: float
    rb: float
    color: RGB


@dataclass(frozen=True)
class Ellipsoid:
    center: np.ndarray
    axes: np.ndarray  # (3, 3): rows are the unit semi-axis directions
    radii: np.ndarray  # (3,)
    color: RGB


@dataclass(frozen=True)
class Box:
    """An axis-aligned box: furniture (a bench, a stool) that the body rests on."""

    center: np.ndarray
    half: np.ndarray  # (3,) half extents
    color: RGB


Primitive = Cone | Ellipsoid | Box


def _unit(v: np.ndarray, fallback: np.ndarray | None = None) -> np.ndarray:
    n = float(np.linalg.norm(v))
    if n < _EPS:
        return fallback if fallback is not None else np.array([1.0, 0.0, 0.0])
    return v / n


def _frame(primary: np.ndarray, secondary: np.ndarray) -> np.ndarray:
    """Orthonormal rows (primary, secondary orthogonalised, primary x secondary)."""
    p = _unit(primary)
    s = secondary - (secondary @ p) * p
    if np.linalg.norm(s) < 1e-6:
        s = np.cross(p, [0.0, 0.0, 1.0]) if abs(p[2]) < 0.9 else np.cross(p, [1.0, 0.0, 0.0])
    s = _unit(s)
    return np.stack([p, s, np.cross(p, s)])


def _lerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    return a + (b - a) * t




def arm_radii(look: Look) -> tuple[float, float]:
    """(elbow, wrist) flesh radii in metres of the arms `body_primitives` draws for `look`."""
    return arm_flesh_radii(look.height_m, look.girth)


def body_primitives(world: np.ndarray, look: Look = Look()) -> list[Primitive]:
    """The ~40 shaded parts of a body whose joints are the 33 BlazePose `world` points (metres)."""
    p = np.asarray(world, dtype=float)
    if p.shape != (NUM_LANDMARKS, 3):
        raise ValueError(f"world landmarks must have shape (33, 3), got {p.shape}")
    s = look.height_m / 1.75
    g = s * look.girth
    L = Landmark
    skin, shirt, bottoms = look.skin, look.shirt, look.bottoms
    prims: list[Primitive] = []

    sh_l, sh_r = p[L.LEFT_SHOULDER], p[L.RIGHT_SHOULDER]
    hip_l, hip_r = p[L.LEFT_HIP], p[L.RIGHT_HIP]
    mid_sh, mid_hip = (sh_l + sh_r) / 2, (hip_l + hip_r) / 2
    up = _unit(mid_sh - mid_hip)
    left = _unit((sh_l - sh_r) + (hip_l - hip_r), np.array([0.0, 1.0, 0.0]))
    trunk = _frame(up, left)  # rows: up, left, back (up x left = -forward)
    fwd = -trunk[2]

    # Torso: chest, belly and pelvis ellipsoids plus a round cone down each side.
    torso_len = float(np.linalg.norm(mid_sh - mid_hip))
    chest_c = _lerp(mid_sh, mid_hip, 0.30) + fwd * 0.01 * g
    belly_c = _lerp(mid_sh, mid_hip, 0.65)
    pelvis_c = mid_hip + up * 0.03 * s - fwd * 0.005 * g
    chest_r = np.array([0.20 * torso_len + 0.05, 0.165 * g, 0.098 * g])
    prims.append(Ellipsoid(chest_c, trunk, chest_r, shirt))
    prims.append(Cone(chest_c, belly_c, 0.092 * g, 0.088 * g, shirt))  # abdomen
    prims.append(Cone(belly_c, pelvis_c, 0.088 * g, 0.090 * g, shirt))
    prims.append(Ellipsoid(pelvis_c, trunk, np.array([0.115 * s, 0.170 * g, 0.105 * g]), bottoms))
    # Buttocks. A real femoral head sits deep in the pelvis: 0.07-0.10 m of thigh root in front
    # of it and ~0.12 m of gluteal mass behind (adult buttock depth 0.21-0.24 m), the buttock
    # crease ~0.09 m below the joint. One ellipsoid per side, attached to the pelvis (it stays
    # behind the joint when the thigh flexes); the pelvis is centred on the joints.
    glute_r = np.array([0.100 * s, 0.080 * g, 0.080 * g])
    for hip, lat in ((hip_l, left), (hip_r, -left)):
        glute_c = hip - fwd * 0.04 * g - up * 0.015 * s - lat * 0.015 * g
        prims.append(Ellipsoid(glute_c, trunk, glute_r, bottoms))
    for sh, hip in ((sh_l, hip_l), (sh_r, hip_r)):
        prims.append(Cone(sh - up * 0.03 * s, _lerp(sh, hip, 0.8), 0.068 * g, 0.078 * g, shirt))
    prims.append(Cone(sh_l, sh_r, 0.058 * g, 0.058 * g, shirt))  # shoulder girdle

    # Head and neck.
    ear_l, ear_r, nose = p[L.LEFT_EAR], p[L.RIGHT_EAR], p[L.NOSE]
    mid_ear = (ear_l + ear_r) / 2
    head_fwd = _unit(nose - mid_ear, fwd)
    head_up = mid_ear - mid_sh
    head = _frame(head_fwd, head_up)  # rows: forward, up, right-ish
    head_c = mid_ear + head_fwd * 0.015 * s + head[1] * 0.02 * s
    prims.append(Ellipsoid(head_c, head, np.array([0.100, 0.115, 0.080]) * s, skin))
    prims.append(
        Ellipsoid(
            head_c - head_fwd * 0.025 * s + head[1] * 0.035 * s,
            head,
            np.array([0.095, 0.095, 0.085]) * s,
            look.hair,
        )
    )
    prims.append(
        Cone(_lerp(mid_sh, mid_ear, 0.05), _lerp(mid_sh, head_c, 0.8), 0.052 * g, 0.048 * g, skin)
    )
    prims.append(Ellipsoid(nose, head, np.array([0.025, 0.018, 0.016]) * s, skin))
    for ear in (ear_l, ear_r):
        prims.append(Ellipsoid(ear, head, np.array([0.022, 0.032, 0.012]) * s, skin))
    # Eyes and mouth: small dark marks that tell the face from the back of the head.
    for eye_i in (L.LEFT_EYE, L.RIGHT_EYE):
        eye = p[eye_i] - head_fwd * 0.004 * s
        prims.append(Ellipsoid(eye, head, np.array([0.010, 0.008, 0.012]) * s, (0.04, 0.03, 0.03)))
    mouth = (p[L.MOUTH_LEFT] + p[L.MOUTH_RIGHT]) / 2 - head_fwd * 0.006 * s
    lip = (skin[0] * 0.75, skin[1] * 0.45, skin[2] * 0.45)
    prims.append(Ellipsoid(mouth, head, np.array([0.008, 0.006, 0.022]) * s, lip))

    # Arms and hands.
    sleeve = 1.0 if look.long_sleeves else 0.45
    for side in ("LEFT", "RIGHT"):
        sh, el, wr = (p[L[f"{side}_{j}"]] for j in ("SHOULDER", "ELBOW", "WRIST"))
        pinky, index, thumb = (p[L[f"{side}_{j}"]] for j in ("PINKY", "INDEX", "THUMB"))
        cut = _lerp(sh, el, sleeve)
        prims.append(Cone(sh, cut, 0.052 * g, _lerp(0.052, 0.041, sleeve) * g, shirt))
        if sleeve < 1.0:
            prims.append(
                Cone(cut, el, _lerp(0.052, 0.041, sleeve) * g * 0.92, ELBOW_RADIUS_M * g, skin)
            )
        fore_col = shirt if look.long_sleeves else skin
        prims.append(Cone(el, wr, ELBOW_RADIUS_M * g, WRIST_RADIUS_M * g, fore_col))
        knuckles = (pinky + index) / 2
        hand_dir = _unit(knuckles - wr, _unit(wr - el))
        hand = _frame(hand_dir, index - pinky)
        prims.append(
            Ellipsoid(_lerp(wr, knuckles, 0.55), hand, np.array([0.050, 0.038, 0.016]) * s, skin)
        )
        prims.append(Cone(_lerp(wr, thumb, 0.3), thumb, 0.012 * s, 0.010 * s, skin))

    # Legs and shoes.
    trouser_cut = 1.0 if look.long_trousers else 0.55
    for side in ("LEFT", "RIGHT"):
        hip, knee, ankle = (p[L[f"{side}_{j}"]] for j in ("HIP", "KNEE", "ANKLE"))
        heel, toe = p[L[f"{side}_HEEL"]], p[L[f"{side}_FOOT_INDEX"]]
        cut = _lerp(hip, knee, trouser_cut)
        r_cut = _lerp(0.090, 0.058, trouser_cut)
        prims.append(Cone(hip, cut, 0.092 * g, (r_cut + 0.006) * g, bottoms))
        if trouser_cut < 1.0:
            prims.append(Cone(cut, knee, r_cut * g, 0.056 * g, skin))
        shank_col = bottoms if look.long_trousers else skin
        prims.append(Cone(knee, ankle, 0.056 * g, 0.038 * g, shank_col))
        foot_len = toe - heel
        sole_up = _unit(np.cross(np.cross(foot_len, ankle - heel), foot_len), up)
        if sole_up @ (ankle - heel) < 0:
            sole_up = -sole_up
        foot = _frame(foot_len, sole_up)
        prims.append(
            Ellipsoid(
                _lerp(heel, toe, 0.5) + sole_up * 0.03 * s,
                foot,
                np.array([0.5 * np.linalg.norm(foot_len) + 0.02 * s, 0.045 * s, 0.048 * s]),
                look.shoes,
            )
        )
        prims.append(
            Cone(
                ankle,
                _lerp(heel, toe, 0.35) + sole_up * 0.04 * s,
                0.038 * g,
                0.042 * s,
                look.shoes if look.long_trousers else skin,
            )
        )
    return prims
