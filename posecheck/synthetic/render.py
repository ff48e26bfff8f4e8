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

from posecheck.synthetic.kinematics import ELBOW_RADIUS_M, WRIST_RADIUS_M
from posecheck.synthetic.scene import (
    _EPS,
    SKIN_TONES,
    Box,
    Cone,
    Ellipsoid,
    Look,
    PinholeCamera,
    Primitive,
    Scene,
    _unit,
    arm_radii,
    body_primitives,
)

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
