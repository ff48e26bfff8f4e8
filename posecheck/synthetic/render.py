"""A small analytic ray-caster that draws a person from 33 BlazePose world landmarks.

Why a ray-caster and not a mesh: every body part is a round cone (limbs, neck, torso sides) or an
ellipsoid (chest, pelvis, head, hands, shoes) placed directly on the landmarks, so any motion the
kinematic model produces renders without rigging, and the 2D truth is the exact projection of the
same points through the same camera. MediaPipe needs 3D shading or colour contrast between body
parts to find a person (a flat silhouette is never found), so parts are Lambert-shaded with a key,
fill and rim light and dressed in contrasting colours; floor, mat and wall get soft shadows.

Speed comes from intersecting each primitive only with the rays inside its projected bounding box,
and from caching everything static (rays, background hits, background shading, shadow lookup
coordinates) per camera. Pure numpy; OpenCV only blurs (shadow softness, anti-aliasing).

World frame: metres, z up, floor z = 0 (the frame `posecheck.synthetic.kinematics` uses).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from posecheck.core.landmarks import NUM_LANDMARKS, Landmark
from posecheck.synthetic.kinematics import ELBOW_RADIUS_M, WRIST_RADIUS_M, arm_flesh_radii

__all__ = [
    "ELBOW_RADIUS_M",
    "FOURCCS",
    "SKIN_TONES",
    "WRIST_RADIUS_M",
    "Box",
    "Cone",
    "Ellipsoid",
    "Look",
    "PinholeCamera",
    "Renderer",
    "Scene",
    "arm_radii",
    "body_primitives",
    "frame_seed",
    "open_writer",
    "render_clip",
]

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


# --------------------------------------------------------------------------------------------
# Ray intersection (vectorised over a block of rays sharing one origin)
# --------------------------------------------------------------------------------------------


def _hit_cone(ro: np.ndarray, rd: np.ndarray, c: Cone) -> tuple[np.ndarray, np.ndarray]:
    """Nearest hit distance (inf = miss) and unit normal of rays `ro + t rd` with a round cone.

    Analytic: the conical body is a quadric; the two end caps are spheres.
    """
    pa, pb = c.a, c.b
    ra, rb = c.ra, c.rb
    ba = pb - pa
    oa = ro - pa
    rr = ra - rb
    m0 = float(ba @ ba)
    if m0 <= (rr * rr) + 1e-10:  # one sphere swallows the other
        big = (pa, ra) if ra >= rb else (pb, rb)
        return _hit_sphere(ro, rd, big[0], big[1])
    m1 = float(ba @ oa)
    m3 = rd @ oa
    m2 = rd @ ba
    m5 = float(oa @ oa)
    d2 = m0 - rr * rr
    k2 = d2 - m2 * m2
    k1 = d2 * m3 - m1 * m2 + m2 * rr * ra
    k0 = d2 * m5 - m1 * m1 + m1 * rr * ra * 2.0 - m0 * ra * ra
    h = k1 * k1 - k0 * k2
    n = rd.shape[0]
    t = np.full(n, np.inf)
    normal = np.zeros((n, 3))
    ok = h >= 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        tb = (-np.sqrt(np.where(ok, h, 0.0)) - k1) / k2
    y = m1 - ra * rr + tb * m2
    body = ok & (y > 0.0) & (y < d2) & (tb > 0) & np.isfinite(tb)
    if body.any():
        tb_b = tb[body]
        pts = oa + tb_b[:, None] * rd[body]
        nb = d2 * pts - np.outer(y[body], ba)
        normal[body] = nb / np.linalg.norm(nb, axis=1, keepdims=True)
        t[body] = tb_b
    rest = ok & ~body
    if rest.any():
        for center, radius in ((pa, ra), (pb, rb)):
            ts, ns = _hit_sphere(ro, rd[rest], center, radius)
            idx = np.flatnonzero(rest)
            better = ts < t[idx]
            t[idx[better]] = ts[better]
            normal[idx[better]] = ns[better]
    return t, normal


def _hit_sphere(
    ro: np.ndarray, rd: np.ndarray, center: np.ndarray, radius: float
) -> tuple[np.ndarray, np.ndarray]:
    oc = ro - center
    b = rd @ oc
    c = float(oc @ oc) - radius * radius
    h = b * b - c
    t = np.full(rd.shape[0], np.inf)
    ok = h >= 0
    t_hit = -b[ok] - np.sqrt(h[ok])
    t[np.flatnonzero(ok)[t_hit > 0]] = t_hit[t_hit > 0]
    hit = np.isfinite(t)
    normal = np.zeros((rd.shape[0], 3))
    normal[hit] = (oc + t[hit, None] * rd[hit]) / radius
    return t, normal


def _hit_ellipsoid(ro: np.ndarray, rd: np.ndarray, e: Ellipsoid) -> tuple[np.ndarray, np.ndarray]:
    """Scale the ellipsoid to a unit sphere, intersect there, map the normal back."""
    m = e.axes / e.radii[:, None]  # world -> unit-sphere coordinates
    o = m @ (ro - e.center)
    d = rd @ m.T
    a = np.einsum("ij,ij->i", d, d)
    b = d @ o
    c = float(o @ o) - 1.0
    h = b * b - a * c
    t = np.full(rd.shape[0], np.inf)
    ok = h >= 0
    t_hit = (-b[ok] - np.sqrt(h[ok])) / a[ok]
    t[np.flatnonzero(ok)[t_hit > 0]] = t_hit[t_hit > 0]
    hit = np.isfinite(t)
    normal = np.zeros((rd.shape[0], 3))
    if hit.any():
        q = o + t[hit, None] * d[hit]  # point on the unit sphere
        nw = q @ m  # gradient of |M(x-c)|^2 is M^T M (x-c) -> M^T q
        normal[hit] = nw / np.linalg.norm(nw, axis=1, keepdims=True)
    return t, normal


def _hit_box(ro: np.ndarray, rd: np.ndarray, box: Box) -> tuple[np.ndarray, np.ndarray]:
    """Slab test: entry distance and the normal of the face entered."""
    safe = np.where(np.abs(rd) < 1e-12, 1e-12, rd)
    t1 = (box.center - box.half - ro) / safe
    t2 = (box.center + box.half - ro) / safe
    near, far = np.minimum(t1, t2), np.maximum(t1, t2)
    t_in, t_out = near.max(axis=1), far.min(axis=1)
    hit = (t_out >= t_in) & (t_in > 0)
    t = np.where(hit, t_in, np.inf)
    axis = near.argmax(axis=1)
    normal = np.zeros_like(rd)
    rows = np.arange(rd.shape[0])
    normal[rows, axis] = -np.sign(safe[rows, axis])
    return t, normal


def _bounding_sphere(prim: Primitive) -> tuple[np.ndarray, float]:
    if isinstance(prim, Box):
        return prim.center, float(np.linalg.norm(prim.half))
    if isinstance(prim, Cone):
        c = (prim.a + prim.b) / 2
        return c, float(np.linalg.norm(prim.b - prim.a)) / 2 + max(prim.ra, prim.rb)
    return prim.center, float(prim.radii.max())


# --------------------------------------------------------------------------------------------
# Renderer
# --------------------------------------------------------------------------------------------


def _light_dir(camera: PinholeCamera, scene: Scene) -> tuple[np.ndarray, np.ndarray]:
    """Key and fill light directions (pointing towards the lights), relative to the camera."""
    cam = np.asarray(camera.position, float)
    body = np.array([*scene.body_center_xy, 0.0])
    to_cam = cam - body
    to_cam[2] = 0.0
    to_cam = _unit(to_cam, np.array([0.0, -1.0, 0.0]))
    side = np.cross([0.0, 0.0, 1.0], to_cam)
    az, el = np.radians(scene.key_light_deg)
    horiz = np.cos(az) * to_cam + np.sin(az) * side
    key = _unit(np.cos(el) * horiz + np.sin(el) * np.array([0.0, 0.0, 1.0]))
    fill_h = np.cos(-az * 1.5) * to_cam + np.sin(-az * 1.5) * side
    fill = _unit(0.8 * fill_h + 0.6 * np.array([0.0, 0.0, 1.0]))
    return key, fill


@dataclass
class _Static:
    """Everything that does not change from frame to frame for one camera and scene."""

    rays: np.ndarray  # (H, W, 3)
    bg_t: np.ndarray  # (H, W)
    bg_lit: np.ndarray  # (H, W, 3) shaded background without shadows
    bg_shadowable: np.ndarray  # (H, W, 3) part of bg_lit that the key light contributes
    shadow_uv: np.ndarray  # (H, W, 2) background hit points in light-space metres
    key: np.ndarray
    fill: np.ndarray
    light_basis: np.ndarray  # (2, 3)


class Renderer:
    """Renders frames of one body for one camera and scene; caches the static parts."""

    def __init__(self, camera: PinholeCamera, scene: Scene = Scene(), look: Look = Look()):
        self.camera = camera
        self.scene = scene
        self.look = look
        self._static = self._prepare()

    def _prepare(self) -> _Static:
        cam, sc = self.camera, self.scene
        rays = cam.ray_directions()
        eye = np.asarray(cam.position, float)
        key, fill = _light_dir(cam, sc)

        # Floor z = 0.
        with np.errstate(divide="ignore", invalid="ignore"):
            t_floor = np.where(rays[..., 2] < -1e-9, -eye[2] / rays[..., 2], np.inf)
        # Wall: vertical plane on the far side of the body from the camera.
        body = np.array([*sc.body_center_xy, 0.0])
        away = body - eye
        away[2] = 0.0
        away = _unit(away, np.array([0.0, 1.0, 0.0]))
        wall_pt = body + away * sc.wall_distance_m
        denom = rays @ away
        with np.errstate(divide="ignore", invalid="ignore"):
            t_wall = np.where(denom > 1e-9, ((wall_pt - eye) @ away) / denom, np.inf)
        is_wall = t_wall < t_floor
        bg_t = np.minimum(t_floor, t_wall)
        hit = eye + np.where(np.isfinite(bg_t), bg_t, 0.0)[..., None] * rays
        normal = np.where(is_wall[..., None], -away, np.array([0.0, 0.0, 1.0]))
        albedo = np.where(is_wall[..., None], np.array(sc.wall), np.array(sc.floor))
        if sc.mat is not None:
            mx, my = sc.mat_center_xy
            sx, sy = sc.mat_size_xy
            on_mat = (
                ~is_wall
                & (np.abs(hit[..., 0] - mx) <= sx / 2)
                & (np.abs(hit[..., 1] - my) <= sy / 2)
            )
            albedo = np.where(on_mat[..., None], np.array(sc.mat), albedo)
        # Slight brightness falloff with distance so the floor is not a flat plane of colour.
        falloff = 1.0 / (1.0 + 0.04 * np.where(np.isfinite(bg_t), bg_t, 50.0))
        diff_key = np.clip(normal @ key, 0.0, None)
        diff_fill = np.clip(normal @ fill, 0.0, None)
        base = albedo * (sc.ambient + sc.fill * diff_fill)[..., None] * falloff[..., None]
        keyed = albedo * (sc.key * diff_key)[..., None] * falloff[..., None]
        sky = ~np.isfinite(bg_t)
        base[sky] = np.array(sc.wall) * 0.9
        keyed[sky] = 0.0
        # Light-space coordinates for the shadow map.
        e1 = _unit(np.cross(key, [0.0, 0.0, 1.0]) if abs(key[2]) < 0.99 else np.array([1.0, 0, 0]))
        e2 = np.cross(key, e1)
        basis = np.stack([e1, e2])
        uv = hit @ basis.T
        return _Static(rays, bg_t, base, keyed, uv, key, fill, basis)

    # -- shadows ----------------------------------------------------------------------------

    def _shadow(self, prims: list[Primitive]) -> np.ndarray:
        """(H, W) key-light occlusion 0..1 of background points, from a blurred shadow map."""
        st, sc = self._static, self.scene
        if not prims:
            return np.zeros(st.bg_t.shape, np.float32)
        cell = 0.015
        basis = st.light_basis
        prims = [p for p in prims if not isinstance(p, Box)]
        if not prims:
            return np.zeros(st.bg_t.shape, np.float32)
        centers = []
        for prim in prims:
            c, r = _bounding_sphere(prim)
            centers.append((c @ basis.T, r))
        lo = np.min([c - r for c, r in centers], axis=0) - 4 * sc.shadow_softness_m
        hi = np.max([c + r for c, r in centers], axis=0) + 4 * sc.shadow_softness_m
        nu, nv = (np.ceil((hi - lo) / cell).astype(int) + 1).tolist()
        occ = np.zeros((nv, nu), np.float32)
        for prim, (c2, r) in zip(prims, centers, strict=True):
            i0, j0 = np.floor((c2 - r - lo) / cell).astype(int)
            i1, j1 = np.ceil((c2 + r - lo) / cell).astype(int) + 1
            us = lo[0] + cell * np.arange(max(i0, 0), min(i1, nu))
            vs = lo[1] + cell * np.arange(max(j0, 0), min(j1, nv))
            if us.size == 0 or vs.size == 0:
                continue
            uu, vv = np.meshgrid(us, vs)
            q = np.stack([uu, vv], axis=-1)
            if isinstance(prim, Cone):
                a, b = prim.a @ basis.T, prim.b @ basis.T
                ab = b - a
                tt = np.clip(((q - a) @ ab) / max(float(ab @ ab), _EPS), 0.0, 1.0)
                d = np.linalg.norm(q - (a + tt[..., None] * ab), axis=-1)
                inside = d <= prim.ra + (prim.rb - prim.ra) * tt
            else:
                pa = basis @ prim.axes.T  # (2, 3): light-space components of each axis
                cov = (pa * prim.radii**2) @ pa.T
                x = q - c2
                inside = np.einsum("...i,ij,...j->...", x, np.linalg.inv(cov), x) <= 1.0
            occ[max(j0, 0) : min(j1, nv), max(i0, 0) : min(i1, nu)] += inside
        occ = np.minimum(occ, 1.0)
        sigma = sc.shadow_softness_m / cell
        occ = cv2.GaussianBlur(occ, (0, 0), sigmaX=sigma, sigmaY=sigma)
        mu = ((st.shadow_uv[..., 0] - lo[0]) / cell).astype(np.float32)
        mv = ((st.shadow_uv[..., 1] - lo[1]) / cell).astype(np.float32)
        return cv2.remap(
            occ, mu, mv, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0.0
        )

    # -- frame ------------------------------------------------------------------------------

    def render(self, world: np.ndarray, seed: int | None = None) -> np.ndarray:
        """One BGR uint8 frame of the body posed at `world` (33, 3); `seed` fixes the noise."""
        prims = body_primitives(world, self.look) + list(self.scene.props)
        return self.render_primitives(prims, seed)

    def render_primitives(self, prims: list[Primitive], seed: int | None = None) -> np.ndarray:
        """One BGR uint8 frame of arbitrary primitives over the static background."""
        st, sc, cam = self._static, self.scene, self.camera
        h, w = cam.height, cam.width
        eye = np.asarray(cam.position, float)
        zbuf = st.bg_t.copy()
        nbuf = np.zeros((h, w, 3))
        cbuf = np.zeros((h, w, 3))
        body = np.zeros((h, w), bool)
        for prim in prims:
            box = self._bbox(prim)
            if box is None:
                continue
            x0, y0, x1, y1 = box
            rd = st.rays[y0:y1, x0:x1].reshape(-1, 3)
            if isinstance(prim, Cone):
                t, n = _hit_cone(eye, rd, prim)
            elif isinstance(prim, Box):
                t, n = _hit_box(eye, rd, prim)
            else:
                t, n = _hit_ellipsoid(eye, rd, prim)
            zb = zbuf[y0:y1, x0:x1].reshape(-1)
            win = t < zb
            if not win.any():
                continue
            zb[win] = t[win]
            zbuf[y0:y1, x0:x1] = zb.reshape(y1 - y0, x1 - x0)
            nb = nbuf[y0:y1, x0:x1].reshape(-1, 3)
            nb[win] = n[win]
            nbuf[y0:y1, x0:x1] = nb.reshape(y1 - y0, x1 - x0, 3)
            cb = cbuf[y0:y1, x0:x1].reshape(-1, 3)
            cb[win] = prim.color
            cbuf[y0:y1, x0:x1] = cb.reshape(y1 - y0, x1 - x0, 3)
            bb = body[y0:y1, x0:x1].reshape(-1)
            bb[win] = True
            body[y0:y1, x0:x1] = bb.reshape(y1 - y0, x1 - x0)

        shadow = self._shadow(prims) * sc.shadow_strength
        img = st.bg_lit + st.bg_shadowable * (1.0 - shadow)[..., None]
        if body.any():
            n = nbuf[body]
            v = -st.rays[body]
            n = np.where((np.einsum("ij,ij->i", n, v) < 0)[:, None], -n, n)
            lam = (
                sc.ambient
                + sc.key * np.clip(n @ st.key, 0, None)
                + sc.fill * np.clip(n @ st.fill, 0, None)
            )
            ndv = np.clip(np.einsum("ij,ij->i", n, v), 0.0, 1.0)
            rim = sc.rim * (1.0 - ndv) ** 3
            half = _unit_rows(st.key[None, :] + v)
            spec = 0.08 * np.clip(np.einsum("ij,ij->i", n, half), 0, 1) ** 24
            img[body] = cbuf[body] * lam[:, None] + (rim + spec)[:, None]
        img = np.clip(img * sc.exposure, 0.0, 1.0) ** (1 / 2.2) * 255.0
        rgb = img.astype(np.float32)
        if sc.blur_sigma > 0:
            rgb = cv2.GaussianBlur(rgb, (0, 0), sigmaX=sc.blur_sigma, sigmaY=sc.blur_sigma)
        if sc.noise_sigma > 0:
            rng = np.random.default_rng(seed)
            rgb += rng.normal(0.0, sc.noise_sigma, size=rgb.shape).astype(np.float32)
        out = np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(out[..., ::-1])  # RGB -> BGR for OpenCV

    def _bbox(self, prim: Primitive) -> tuple[int, int, int, int] | None:
        """Conservative pixel box of a primitive (its bounding sphere's), clipped to the image."""
        cam = self.camera
        c, r = _bounding_sphere(prim)
        w, h = cam.width, cam.height
        corners = c + r * np.array([[i, j, k] for i in (-1, 1) for j in (-1, 1) for k in (-1, 1)])
        cc = cam.to_camera(corners)
        if (cc[:, 2] <= 1e-3).all():
            return None
        if (cc[:, 2] <= 0.05).any():
            return 0, 0, w, h
        uv = cam.project(corners)
        (ulo, vlo), (uhi, vhi) = uv.min(axis=0), uv.max(axis=0)
        x0, x1 = int(np.floor(ulo)) - 1, int(np.ceil(uhi)) + 2
        y0, y1 = int(np.floor(vlo)) - 1, int(np.ceil(vhi)) + 2
        x0, y0 = max(x0, 0), max(y0, 0)
        x1, y1 = min(x1, w), min(y1, h)
        if x0 >= x1 or y0 >= y1:
            return None
        return x0, y0, x1, y1


def _unit_rows(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), _EPS)


# --------------------------------------------------------------------------------------------
# Clips: parallel rendering in chunks of frames, written in order to an MP4
# --------------------------------------------------------------------------------------------

# Tried in order; this OpenCV build's FFmpeg has no software H.264 encoder, so `mp4v` is what
# normally opens (MPEG-4 Part 2, decodes everywhere; output is byte-identical run to run).
FOURCCS: tuple[str, ...] = ("avc1", "mp4v")


def frame_seed(seed: int, index: int) -> int:
    """Noise seed of one frame: independent of how frames are split between processes."""
    return (int(seed) * 1_000_003 + int(index)) & 0x7FFFFFFF


def _render_chunk(args: tuple[PinholeCamera, Scene, Look, np.ndarray, int, int]) -> np.ndarray:
    camera, scene, look, worlds, seed, first = args
    renderer = Renderer(camera, scene, look)
    return np.stack([renderer.render(w, frame_seed(seed, first + i)) for i, w in enumerate(worlds)])


@contextlib.contextmanager
def _quiet_stderr(active: bool = True) -> Iterator[None]:
    """Silence C-level stderr (fd 2) while probing encoders that may not exist."""
    if not active:
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def open_writer(path: str, fps: float, size_wh: tuple[int, int]) -> tuple[cv2.VideoWriter, str]:
    """An MP4 writer with the first codec this OpenCV build can encode; returns (writer, fourcc)."""
    for code in FOURCCS:
        with _quiet_stderr(code != FOURCCS[-1]):  # FFmpeg logs each encoder it fails to open
            writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*code), fps, size_wh)
        if writer.isOpened():
            return writer, code
        writer.release()
        if os.path.exists(path):
            os.remove(path)
    raise OSError(f"cannot open an MP4 writer for {path} (tried {', '.join(FOURCCS)})")


def render_clip(
    worlds: np.ndarray,
    camera: PinholeCamera,
    scene: Scene,
    look: Look,
    path: str,
    fps: float,
    seed: int,
    *,
    workers: int = 1,
    chunk: int = 24,
    on_frames: Callable[[int], None] | None = None,
) -> str:
    """Render every pose in `worlds` (N, 33, 3) and write them to `path`; returns the fourcc used.

    Frames are rendered in chunks by `workers` processes (1 = in this process) and written in
    order, so the file does not depend on the number of workers.
    """
    worlds = np.asarray(worlds, dtype=float)
    writer, code = open_writer(path, fps, (camera.width, camera.height))
    jobs = [
        (camera, scene, look, worlds[i : i + chunk], seed, i) for i in range(0, len(worlds), chunk)
    ]
    try:
        if workers <= 1:
            results: Iterable[np.ndarray] = map(_render_chunk, jobs)
            for frames in results:
                for f in frames:
                    writer.write(f)
                if on_frames:
                    on_frames(len(frames))
        else:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor

            ctx = mp.get_context("spawn" if sys.platform == "darwin" else "fork")
            with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
                for frames in pool.map(_render_chunk, jobs):
                    for f in frames:
                        writer.write(f)
                    if on_frames:
                        on_frames(len(frames))
    finally:
        writer.release()
    return code
