"""Scenario files: a TOML description of a rendered clip, and the truth file written beside it.

A scenario names the exercise, a script of reps (tempo, depth, holds, partials, mistakes), the
body (height, build, skin, clothes), the camera (view preset, distance, height, resolution, fps)
and the scene. `render_scenario` turns it into `NAME.mp4` plus `NAME.truth.json`: a
`../shared/clips/labels.json`-style entry (file, exercise, view, lying, reps, reps_min, reps_max,
holds, fps, frames, width, height) extended with the exact truth (per clip: partials, holds,
expected cues, reps in detail; per frame: time, phase, rep index, signed hip flexion per side,
the projected 2D joints and the projected shoulder-hip-knee angle).

Everything is deterministic from the scenario (its `seed` drives body sway and sensor noise).
The 2D truth is projected through exactly the camera the frames are rendered with.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from posecheck.core.landmarks import Landmark
from posecheck.errors import PosecheckError
from posecheck.synthetic.kinematics import (
    LENGTH_NAMES,
    BodyShape,
    world_landmarks,
)
from posecheck.synthetic.motions import MISTAKES, Motion, MotionScript, RepSpec, animate
from posecheck.synthetic.poses import EXERCISES
from posecheck.synthetic.render import (
    SKIN_TONES,
    Box,
    Look,
    PinholeCamera,
    Scene,
    arm_radii,
    render_clip,
)

RENDERER_VERSION = "posecheck-raycast-5"
LABEL_HOLD_MIN_S = 1.0  # ../shared/clips/labels.json lists pauses at the top of >= 1 s only


class ScenarioError(PosecheckError):
    """A scenario file is missing, not TOML, or has a bad key."""


# --------------------------------------------------------------------------------------------
# Validation helpers: every error names the key, on one line
# --------------------------------------------------------------------------------------------

_MISSING = object()


class _Table:
    """A TOML table being read; remembers which keys were used so unknown keys are errors."""

    def __init__(self, data: Any, where: str):
        if not isinstance(data, Mapping):
            raise ScenarioError(f"{where}: must be a table")
        self.data = dict(data)
        self.where = where
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.where}.{name}" if self.where else name

    def get(self, name: str, kind: type | tuple[type, ...], default: Any = _MISSING) -> Any:
        self.used.add(name)
        if name not in self.data:
            if default is _MISSING:
                raise ScenarioError(f"scenario key {self.key(name)} is required")
            return default
        value = self.data[name]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if isinstance(value, bool) and bool not in kinds:
            raise ScenarioError(f"scenario key {self.key(name)} must be {_kind_name(kinds)}")
        if not isinstance(value, kinds):
            raise ScenarioError(
                f"scenario key {self.key(name)} must be {_kind_name(kinds)}, got {value!r}"
            )
        return value

    def number(
        self,
        name: str,
        default: Any = _MISSING,
        *,
        lo: float | None = None,
        hi: float | None = None,
    ) -> float:
        value = self.get(name, float, default)
        if value is None:
            return value
        if (
            not math.isfinite(value)
            or (lo is not None and value < lo)
            or (hi is not None and value > hi)
        ):
            raise ScenarioError(
                f"scenario key {self.key(name)} must be within {lo}..{hi}, got {value}"
            )
        return value

    def integer(
        self, name: str, default: Any = _MISSING, *, lo: int | None = None, hi: int | None = None
    ) -> int:
        value = self.get(name, int, default)
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise ScenarioError(
                f"scenario key {self.key(name)} must be within {lo}..{hi}, got {value}"
            )
        return value

    def choice(
        self, name: str, choices: tuple[str, ...] | list[str], default: Any = _MISSING
    ) -> str:
        value = self.get(name, str, default)
        if value not in choices:
            raise ScenarioError(
                f"scenario key {self.key(name)} must be one of {', '.join(choices)}; got {value!r}"
            )
        return value

    def table(self, name: str) -> _Table:
        self.used.add(name)
        return _Table(self.data.get(name, {}), self.key(name))

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise ScenarioError(f"unknown scenario key {self.key(unknown[0])}")


def _kind_name(kinds: tuple[type, ...]) -> str:
    names = {
        bool: "true/false",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a table",
        type(None): "none",
    }
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _colour(
    table: _Table,
    name: str,
    default: tuple[float, float, float] | None,
    named: Mapping[str, tuple[float, float, float]] | None = None,
) -> tuple[float, float, float] | None:
    """A colour as "#rrggbb" (sRGB), [r, g, b] 0..255, or a name from `named`; returns linear."""
    value = table.get(name, (str, list, bool), None)
    if value is None:
        return default
    if value is False:
        return None
    if isinstance(value, str):
        if named and value in named:
            return named[value]
        if len(value) == 7 and value.startswith("#"):
            try:
                rgb = [int(value[i : i + 2], 16) for i in (1, 3, 5)]
            except ValueError:
                rgb = []
            if len(rgb) == 3:
                return _srgb_to_linear(rgb)
    elif (
        isinstance(value, list)
        and len(value) == 3
        and all(
            isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 255 for v in value
        )
    ):
        return _srgb_to_linear(value)
    extra = f", or one of {', '.join(named)}" if named else ""
    raise ScenarioError(
        f'scenario key {table.key(name)} must be a colour: "#rrggbb" or [r, g, b] 0..255{extra}'
    )


def _srgb_to_linear(rgb: list[float] | list[int]) -> tuple[float, float, float]:
    r, g, b = ((float(v) / 255.0) ** 2.2 for v in rgb)
    return (r, g, b)


# --------------------------------------------------------------------------------------------
# Scenario
# --------------------------------------------------------------------------------------------

VIEWS: dict[str, tuple[float, str]] = {
    # preset -> (camera azimuth from +x, counter-clockwise, degrees; labels "view")
    "side_left": (90.0, "side"),
    "side_right": (-90.0, "side"),
    "floor_left": (90.0, "side"),
    "floor_right": (-90.0, "side"),
    "three_quarter_left": (45.0, "three_quarter"),
    "three_quarter_right": (-45.0, "three_quarter"),
    "front": (0.0, "front"),
}


@dataclass(frozen=True)
class CameraSpec:
    view: str = "side_left"
    azimuth_deg: float | None = None  # overrides the preset's
    height_m: float | None = None  # lens height; default by view and posture
    distance_m: float | None = None  # horizontal distance to the body centre; default: fit
    fill: float = 0.75  # fraction of the frame the body spans when the distance is fitted
    width: int = 640
    height: int = 480
    fps: float = 30.0
    vfov_deg: float = 45.0


@dataclass(frozen=True)
class Scenario:
    """A parsed, validated scenario."""

    name: str
    exercise: str
    script: MotionScript
    shape: BodyShape
    look: Look
    camera: CameraSpec
    scene: Scene
    seed: int = 0
    notes: str = ""
    source_text: str = field(default="", compare=False, repr=False)

    @property
    def digest(self) -> str:
        """sha256 of the scenario text and renderer version: a cache key for rendered clips."""
        h = hashlib.sha256(RENDERER_VERSION.encode())
        h.update(self.source_text.encode())
        return h.hexdigest()


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario TOML file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"scenario file not found: {p}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"cannot read scenario {p}: {exc}") from None
    try:
        return parse_scenario(text, default_name=p.stem)
    except ScenarioError as exc:  # which of several files is bad: say so in the one line
        raise ScenarioError(f"{p}: {exc}") from None


def parse_scenario(text: str, default_name: str = "scenario") -> Scenario:
    """Validate scenario TOML text; raises `ScenarioError` naming the first bad key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"scenario is not valid TOML: {exc}") from None
    top = _Table(data, "")
    name = top.get("name", str, default_name)
    if not name or any(c in name for c in "/\\") or name.startswith("."):
        raise ScenarioError(f"scenario key name must be a plain file stem, got {name!r}")
    exercise = top.choice("exercise", sorted(EXERCISES))
    seed = top.integer("seed", 0, lo=0, hi=2**31 - 1)
    notes = top.get("notes", str, "")
    script = _parse_script(top.table("script"), exercise)
    shape, look = _parse_body(top.table("body"))
    camera = _parse_camera(top.table("camera"))
    scene = _parse_scene(top.table("scene"))
    top.finish()
    return Scenario(name, exercise, script, shape, look, camera, scene, seed, notes, text)


def _parse_script(t: _Table, exercise: str) -> MotionScript:
    reps_data = t.get("reps", list, [])
    reps: list[RepSpec] = []
    for i, entry in enumerate(reps_data):
        r = _Table(entry, f"script.reps[{i}]")
        count = r.integer("count", 1, lo=1, hi=100)
        mistakes = r.get("mistakes", list, [])
        for m in mistakes:
            if m not in MISTAKES:
                raise ScenarioError(
                    f"scenario key {r.key('mistakes')} has unknown mistake {m!r}; "
                    f"known: {', '.join(MISTAKES)}"
                )
        spec = RepSpec(
            up_s=r.number("up_s", 1.0, lo=0.05, hi=30.0),
            top_hold_s=r.number("hold_s", 0.5, lo=0.0, hi=120.0),
            down_s=r.number("down_s", 1.0, lo=0.05, hi=30.0),
            depth=r.number("depth", 1.0, lo=0.0, hi=1.5),
            partial=r.get("partial", bool, False),
            mistakes=tuple(mistakes),
            side=r.choice("side", ("left", "right"), None) if "side" in r.data else None,
        )
        r.finish()
        reps.extend([spec] * count)
    script = MotionScript(
        exercise=exercise,
        reps=tuple(reps),
        rest_s=t.number("rest_s", 0.8, lo=0.0, hi=60.0),
        lead_in_s=t.number("lead_in_s", 1.0, lo=0.0, hi=60.0),
        lead_out_s=t.number("lead_out_s", 1.0, lo=0.0, hi=60.0),
        side=t.choice("side", ("left", "right"), "left"),
    )
    t.finish()
    if script.duration_s > 600:
        raise ScenarioError(f"scenario key script is too long ({script.duration_s:.0f} s > 600 s)")
    return script


def _parse_body(t: _Table) -> tuple[BodyShape, Look]:
    height = t.number("height_m", 1.70, lo=1.2, hi=2.2)
    lengths = {k: t.number(k, None, lo=0.01, hi=1.5) for k in LENGTH_NAMES if k in t.data}
    shape = BodyShape(height_m=height, **lengths)
    d = Look()
    look = Look(
        skin=_colour(t, "skin", d.skin, SKIN_TONES) or d.skin,
        shirt=_colour(t, "shirt", d.shirt) or d.shirt,
        bottoms=_colour(t, "bottoms", d.bottoms) or d.bottoms,
        shoes=_colour(t, "shoes", d.shoes) or d.shoes,
        hair=_colour(t, "hair", d.hair) or d.hair,
        long_trousers=t.get("long_trousers", bool, False),
        long_sleeves=t.get("long_sleeves", bool, False),
        girth=t.number("girth", 1.0, lo=0.7, hi=1.5),
        height_m=height,
    )
    t.finish()
    return shape, look


def _parse_camera(t: _Table) -> CameraSpec:
    spec = CameraSpec(
        view=t.choice("view", tuple(VIEWS), "side_left"),
        azimuth_deg=t.number("azimuth_deg", None, lo=-360.0, hi=360.0),
        height_m=t.number("height_m", None, lo=0.02, hi=3.0),
        distance_m=t.number("distance_m", None, lo=0.5, hi=20.0),
        fill=t.number("fill", 0.75, lo=0.2, hi=1.0),
        width=t.integer("width", 640, lo=32, hi=3840),
        height=t.integer("height", 480, lo=32, hi=2160),
        fps=t.number("fps", 30.0, lo=1.0, hi=120.0),
        vfov_deg=t.number("vfov_deg", 45.0, lo=10.0, hi=120.0),
    )
    t.finish()
    return spec


def _parse_scene(t: _Table) -> Scene:
    d = Scene()
    key = t.get("key_light_deg", list, list(d.key_light_deg))
    if len(key) != 2 or not all(isinstance(v, int | float) for v in key):
        raise ScenarioError("scenario key scene.key_light_deg must be [azimuth, elevation]")
    scene = Scene(
        floor=_colour(t, "floor", d.floor) or d.floor,
        wall=_colour(t, "wall", d.wall) or d.wall,
        mat=_colour(t, "mat", d.mat),
        wall_distance_m=t.number("wall_distance_m", d.wall_distance_m, lo=0.3, hi=20.0),
        key_light_deg=(float(key[0]), float(key[1])),
        ambient=t.number("ambient", d.ambient, lo=0.0, hi=1.0),
        shadow_strength=t.number("shadow_strength", d.shadow_strength, lo=0.0, hi=1.0),
        noise_sigma=t.number("noise_sigma", d.noise_sigma, lo=0.0, hi=20.0),
        exposure=t.number("exposure", d.exposure, lo=0.1, hi=10.0),
    )
    t.finish()
    return scene


# --------------------------------------------------------------------------------------------
# From scenario to frames and truth
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    """A scenario made concrete: the motion, every frame's world landmarks and the camera."""

    scenario: Scenario
    motion: Motion
    worlds: np.ndarray  # (n, 33, 3)
    camera: PinholeCamera
    scene: Scene


def prepare(scenario: Scenario) -> Prepared:
    """Animate the script (lying arms resting on the floor), place the camera to frame the whole
    motion, centre the mat."""
    try:
        motion = animate(
            scenario.script,
            scenario.shape,
            scenario.camera.fps,
            seed=scenario.seed,
            arm_radii=arm_radii(scenario.look),
        )
    except ValueError as exc:
        raise ScenarioError(f"scenario script cannot be animated: {exc}") from None
    worlds = np.stack([world_landmarks(scenario.shape, s) for s in motion.states])
    camera, center = place_camera(scenario.camera, worlds)
    lo, hi = worlds.reshape(-1, 3).min(axis=0), worlds.reshape(-1, 3).max(axis=0)
    sc = scenario.scene
    scene = replace(
        sc,
        props=furniture(scenario.exercise, worlds, scenario.shape),
        body_center_xy=(float(center[0]), float(center[1])),
        mat_center_xy=(float((lo[0] + hi[0]) / 2), float((lo[1] + hi[1]) / 2)),
        mat_size_xy=(float(max(hi[0] - lo[0] + 0.4, 1.6)), float(max(hi[1] - lo[1] + 0.3, 0.6))),
    )
    return Prepared(scenario, motion, worlds, camera, scene)


def furniture(exercise: str, worlds: np.ndarray, shape: BodyShape) -> tuple[Box, ...]:
    """The bench or stool an exercise needs under the body (placed from the first frame)."""
    first = worlds[0]
    back = float(shape.L["back_depth"])
    # Hip thrust: the bench edge is under the shoulder joints, where the trunk pivots
    # (`solve_bridge`); 10 cm further towards the feet it cut 6-7 cm into the lowered back.
    if exercise == "hip_thrust":  # upper back on the bench edge, bench extends behind the head
        sh = (first[Landmark.LEFT_SHOULDER] + first[Landmark.RIGHT_SHOULDER]) / 2
        top = float(sh[2]) - back
        x1, x0 = float(sh[0]), float(sh[0]) - 0.50
        return (Box(np.array([(x0 + x1) / 2, sh[1], top / 2]),
                    np.array([(x1 - x0) / 2, 0.65, top / 2]), (0.05, 0.05, 0.06)),)
    if exercise == "seated_march":  # a stool under the pelvis
        hip = (first[Landmark.LEFT_HIP] + first[Landmark.RIGHT_HIP]) / 2
        top = float(hip[2]) - back
        return (Box(np.array([hip[0] - 0.02, hip[1], top / 2]),
                    np.array([0.20, 0.22, top / 2]), (0.40, 0.22, 0.10)),)
    return ()


def _lying(worlds: np.ndarray) -> bool:
    """Most frames have the trunk closer to horizontal than vertical."""
    up = (
        worlds[:, Landmark.LEFT_SHOULDER]
        + worlds[:, Landmark.RIGHT_SHOULDER]
        - worlds[:, Landmark.LEFT_HIP]
        - worlds[:, Landmark.RIGHT_HIP]
    )
    vertical = np.abs(up[:, 2]) / np.maximum(np.linalg.norm(up, axis=1), 1e-9)
    return bool(np.median(vertical) < 0.5)


def place_camera(spec: CameraSpec, worlds: np.ndarray) -> tuple[PinholeCamera, np.ndarray]:
    """A camera looking at the centre of everything the body does, far enough to frame it."""
    pts = worlds.reshape(-1, 3)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    center = (lo + hi) / 2
    lying = _lying(worlds)
    az = np.radians(spec.azimuth_deg if spec.azimuth_deg is not None else VIEWS[spec.view][0])
    direction = np.array([np.cos(az), np.sin(az), 0.0])  # body -> camera, horizontal
    if spec.height_m is not None:
        cam_z = spec.height_m
    elif spec.view.startswith("floor"):
        cam_z = 0.12
    else:
        cam_z = 0.45 if lying else 1.0
    target_z = float(center[2])
    if spec.distance_m is not None:
        dist = spec.distance_m
    else:
        # Extent across the view (horizontal) and vertical, with a margin for flesh and clothes.
        across = np.cross([0.0, 0.0, 1.0], direction)
        proj = (pts - center) @ across
        half_w = float(np.abs(proj).max()) + 0.12
        half_h = float(hi[2] - lo[2]) / 2 + 0.12
        depth = float(np.abs((pts - center) @ direction).max())
        tan_v = np.tan(np.radians(spec.vfov_deg) / 2)
        tan_h = tan_v * spec.width / spec.height
        dist = max(half_w / (spec.fill * tan_h), half_h / (0.85 * tan_v)) + depth
    position = center + direction * dist
    position[2] = cam_z
    target = np.array([center[0], center[1], target_z])
    camera = PinholeCamera(
        position=tuple(float(v) for v in position),  # type: ignore[arg-type]
        target=tuple(float(v) for v in target),  # type: ignore[arg-type]
        width=spec.width,
        height=spec.height,
        vfov_deg=spec.vfov_deg,
    )
    return camera, center


def _angle_2d(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Interior angle at b (degrees, 180 = straight) of 2D points, vectorised over frames."""
    u, v = a - b, c - b
    cos = np.einsum("ij,ij->i", u, v) / np.maximum(
        np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1), 1e-9
    )
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def hip_flexion_2d(worlds: np.ndarray, xy: np.ndarray, cam: PinholeCamera) -> dict[str, np.ndarray]:
    """Signed hip flexion per side as seen in the image (degrees; + flexion, - extension).

    The angle between the image thigh (hip -> knee) and the image trunk line continued past the
    hip (shoulder -> hip), positive when the knee is on the side the chest faces (the body's
    front, projected into the image). Side views: equals the sagittal angle up to perspective.
    """
    L = Landmark
    up = (
        worlds[:, L.LEFT_SHOULDER]
        + worlds[:, L.RIGHT_SHOULDER]
        - worlds[:, L.LEFT_HIP]
        - worlds[:, L.RIGHT_HIP]
    )
    left = worlds[:, L.LEFT_HIP] - worlds[:, L.RIGHT_HIP]
    front = np.cross(left, up)
    front /= np.maximum(np.linalg.norm(front, axis=1, keepdims=True), 1e-9)
    out, signs = {}, {}
    for side in ("left", "right"):
        sh, hip, knee = (getattr(L, f"{side.upper()}_{j}") for j in ("SHOULDER", "HIP", "KNEE"))
        front_2d = cam.project(worlds[:, hip] + 0.1 * front) - xy[:, hip]
        trunk = xy[:, hip] - xy[:, sh]
        thigh = xy[:, knee] - xy[:, hip]
        cross = trunk[:, 0] * thigh[:, 1] - trunk[:, 1] * thigh[:, 0]
        dot = np.einsum("ij,ij->i", trunk, thigh)
        ang = np.degrees(np.arctan2(cross, dot))  # signed, trunk -> thigh, image orientation
        towards_front = trunk[:, 0] * front_2d[:, 1] - trunk[:, 1] * front_2d[:, 0]
        signs[side] = np.where(towards_front >= 0, 1, -1)
        out[side] = ang * signs[side]
    return out, signs


def truth_record(prep: Prepared, file_name: str, codec: str = "") -> dict[str, Any]:
    """The labels.json-style entry of a rendered clip, with per-clip and per-frame truth."""
    sc, motion, cam = prep.scenario, prep.motion, prep.camera
    truth = motion.truth
    n = len(motion)
    xy = cam.project(prep.worlds)  # (n, 33, 2)
    angle_2d = {
        side: _angle_2d(
            xy[:, getattr(Landmark, f"{side.upper()}_SHOULDER")],
            xy[:, getattr(Landmark, f"{side.upper()}_HIP")],
            xy[:, getattr(Landmark, f"{side.upper()}_KNEE")],
        )
        for side in ("left", "right")
    }
    flex_2d, flex_sign = hip_flexion_2d(prep.worlds, xy, cam)
    eye = np.asarray(cam.position)
    dist_l = np.linalg.norm(prep.worlds[:, Landmark.LEFT_HIP] - eye, axis=1).mean()
    dist_r = np.linalg.norm(prep.worlds[:, Landmark.RIGHT_HIP] - eye, axis=1).mean()
    near_side = "left" if dist_l <= dist_r else "right"
    performed = len(sc.script.reps)
    full = (
        truth.rep_count if not truth.negative else sum(1 for r in sc.script.reps if not r.partial)
    )
    per_frame = [
        {
            "i": i,
            "t": round(float(truth.t[i]), 4),
            "phase": truth.phase[i],
            "rep": int(truth.rep_index[i]),
            "partial": bool(truth.partial[i]),
            "hip_flexion_deg": {
                s: round(float(truth.hip_flexion_deg[s][i]), 3) for s in ("left", "right")
            },
            "hip_flexion_2d_deg": {s: round(float(flex_2d[s][i]), 3) for s in ("left", "right")},
            "flexion_sign_2d": {s: int(flex_sign[s][i]) for s in ("left", "right")},
            "hip_angle_2d_deg": {s: round(float(angle_2d[s][i]), 3) for s in ("left", "right")},
            "joints_2d": np.round(xy[i], 1).tolist(),
        }
        for i in range(n)
    ]
    reps = [
        {
            "index": r.index,
            "side": r.side,
            "start_s": round(r.start_s, 4),
            "top_s": round(r.top_s, 4),
            "top_end_s": round(r.top_end_s, 4),
            "end_s": round(r.end_s, 4),
            "partial": r.partial,
            "hold_s": round(r.hold_s, 4),
            "peak_hip_flexion_deg": {k: round(v, 3) for k, v in r.peak_hip_deg.items()},
            "mistakes": list(r.mistakes),
        }
        for r in truth.reps
    ]
    return {
        "file": file_name,
        "exercise": sc.exercise,
        "view": VIEWS[sc.camera.view][1],
        "lying": _lying(prep.worlds),
        "reps": full,
        "reps_min": full,
        "reps_max": full,
        "holds": [{"start_s": round(a, 4), "end_s": round(b, 4)} for a, b in truth.holds
                  if b - a >= LABEL_HOLD_MIN_S - 1e-9],
        "fps": float(sc.camera.fps),
        "frames": n,
        "width": cam.width,
        "height": cam.height,
        # Truth extras.
        "source": "rendered",
        "negative": bool(truth.negative),
        "movements": performed,
        "partials": truth.partial_count,
        "tops": [{"start_s": round(a, 4), "end_s": round(b, 4)} for a, b in truth.holds],
        "near_side": near_side,
        "side_counts": truth.side_counts,
        "expected_cues": [{"rep": i, "cue": m} for i, m in truth.expected_cues],
        "truth_reps": reps,
        "scenario": sc.name,
        "scenario_sha256": sc.digest,
        "seed": sc.seed,
        "codec": codec,
        "renderer": RENDERER_VERSION,
        "camera": {
            "view": sc.camera.view,
            "position": [round(v, 4) for v in cam.position],
            "target": [round(v, 4) for v in cam.target],
            "vfov_deg": cam.vfov_deg,
            "focal_px": round(cam.focal_px, 4),
        },
        "notes": sc.notes,
        "per_frame": per_frame,
    }


def labels_entry(record: Mapping[str, Any]) -> dict[str, Any]:
    """A truth record without the per-frame list (what a labels.json list holds)."""
    return {k: v for k, v in record.items() if k != "per_frame"}


def render_scenario(
    scenario: Scenario,
    out_dir: str | Path,
    *,
    workers: int = 1,
    on_start: Callable[[int], None] | None = None,
    on_frames: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Render `scenario` to `out_dir/NAME.mp4` and `NAME.truth.json`; returns the truth record."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        from posecheck.errors import OutputError

        raise OutputError(f"cannot create output directory {out}: {exc}") from None
    prep = prepare(scenario)
    if on_start:
        on_start(len(prep.worlds))
    video = out / f"{scenario.name}.mp4"
    try:
        codec = render_clip(
            prep.worlds,
            prep.camera,
            prep.scene,
            scenario.look,
            str(video),
            scenario.camera.fps,
            scenario.seed,
            workers=workers,
            on_frames=on_frames,
        )
    except OSError as exc:
        from posecheck.errors import OutputError

        raise OutputError(str(exc)) from None
    record = truth_record(prep, video.name, codec)
    (out / f"{scenario.name}.truth.json").write_text(dump_truth(record), encoding="utf-8")
    return record


def dump_truth(record: Mapping[str, Any]) -> str:
    """JSON text of a truth record: readable header, one compact line per frame."""
    head = json.dumps(labels_entry(record), indent=1)
    frames = ",\n".join(json.dumps(f, separators=(",", ":")) for f in record.get("per_frame", []))
    return head[:-2] + ',\n "per_frame": [\n' + frames + "\n ]\n}\n"
