"""Orientation-aware pose estimation: mediapipe's PoseLandmarker wrapped to return `PoseFrame`s.

Bridges and other floor exercises film a *lying* body, which BlazePose's detector (trained on
mostly upright people) often misses as filmed. With `orientation="auto"` the estimator rotates
the frame by 0/90/180/270 degrees, keeps the rotation that finds an upright body, sticks with it
while the landmarker tracks, and searches again (a bounded number of extra inferences per frame)
once the pose has been lost for a few frames. Landmarks are mapped back to the pixels of the
original frame exactly.

VIDEO-mode landmarkers track across frames and need strictly increasing integer timestamps, so
each rotation gets its own tracker (created lazily) with its own clock and tracking state.

Speed: in VIDEO mode each tracker follows ONE person (`num_poses=1`), because mediapipe re-uses
the previous frame's landmarks as the next region of interest only when it tracks `num_poses`
people; with 2 it runs the person detector on every frame (half the speed). How many people are
in view is instead counted by a cheap census: every `census_every_ms` (and when tracking starts
or jumps) one IMAGE-mode pass with `num_poses` people. The census also picks whom to follow, as
`choose_person` does (the one overlapping the previous choice, else the largest), and re-locks the
tracker onto that person if the tracker had jumped to someone else.

A tracker that skipped frames still holds the region of interest of the last frame it saw, and
with `num_poses=1` mediapipe would fit the body to that stale region instead of detecting it
(a lying bridge read through a region left over from a standing knee raise: up to 11 degrees
off at the top). So only the tracked rotation's tracker is ever fed; searches and refinements
probe other rotations with the stateless IMAGE-mode landmarker the census uses, and a tracker
taken up again after a gap is first cleared with one black frame.

Which rotation wins a search, and whether a refinement switches, is decided among anatomically
plausible skeletons first (`implausibility`: metric thigh, shank and torso lengths of the world
landmarks) and only then by uprightness: BlazePose can return a confident, upright but wrongly
folded body (a three-quarter-view bridge read at 270 degrees had 0.13-0.27 m thighs and 25-29 px
joint error, while 180 fitted it at 6-8 px). The check costs nothing per frame: it only runs when
a search or refinement compares candidates.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

# mediapipe's C++ side logs INFO/WARNING lines (TFLite delegate, feedback tensors) to stderr.
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2

from posecheck.core.landmarks import NUM_LANDMARKS, Landmark, PoseFrame
from posecheck.errors import PosecheckError
from posecheck.models import create_landmarker, quiet_native_stderr, resolve_model
from posecheck.sources import rotate_clockwise

ROTATIONS: tuple[int, ...] = (0, 90, 180, 270)
RunningMode = Literal["video", "image"]
Orientation = Literal["auto", 0, 90, 180, 270]

def rotate_image(image: np.ndarray, rotation_deg: int) -> np.ndarray:
    """Rotate clockwise by 0/90/180/270 degrees (what the detector sees)."""
    return rotate_clockwise(image, rotation_deg)


def rotated_wh(frame_wh: tuple[int, int], rotation_deg: int) -> tuple[int, int]:
    """(width, height) of a (width, height) frame after a clockwise rotation."""
    w, h = frame_wh
    return (h, w) if rotation_deg % 180 else (w, h)


def rotate_points(xy: np.ndarray, frame_wh: tuple[int, int], rotation_deg: int) -> np.ndarray:
    """Map continuous pixel coordinates of the original frame into the rotated frame.

    Coordinates are continuous (pixel i spans [i, i+1)), so the map is exact for any point.
    """
    w, h = frame_wh
    x, y = np.asarray(xy, dtype=np.float64).T
    r = rotation_deg % 360
    if r == 0:
        out = (x, y)
    elif r == 90:
        out = (h - y, x)
    elif r == 180:
        out = (w - x, h - y)
    elif r == 270:
        out = (y, w - x)
    else:
        raise ValueError(f"rotation must be 0, 90, 180 or 270, got {rotation_deg}")
    return np.stack(out, axis=-1)


def unrotate_points(xy: np.ndarray, frame_wh: tuple[int, int], rotation_deg: int) -> np.ndarray:
    """Map continuous pixel coordinates of the rotated frame back to the original frame.

    `frame_wh` is the size of the ORIGINAL frame.
    """
    w, h = frame_wh
    xr, yr = np.asarray(xy, dtype=np.float64).T
    r = rotation_deg % 360
    if r == 0:
        out = (xr, yr)
    elif r == 90:
        out = (yr, h - xr)
    elif r == 180:
        out = (w - xr, h - yr)
    elif r == 270:
        out = (w - yr, xr)
    else:
        raise ValueError(f"rotation must be 0, 90, 180 or 270, got {rotation_deg}")
    return np.stack(out, axis=-1)


@dataclass(frozen=True)
class ModelInput:
    """A frame turned the way a tracker looks at it, already in the model's RGB layout.

    Made ahead of time (`PoseEstimator.prepare`, e.g. in the decode thread) so the model's thread
    spends its time in the model: at 720p the rotation and colour conversion cost ~1 ms a frame.
    """

    rotation: int
    source_hw: tuple[int, int]  # (height, width) of the frame it was made from
    rotated_wh: tuple[int, int]
    image: Any  # mediapipe.Image over the rotated RGB pixels


def make_model_input(image_bgr: np.ndarray, rotation: int) -> ModelInput:
    """Rotate a BGR frame clockwise and wrap it as the RGB image mediapipe reads."""
    import mediapipe as mp

    rotated = rotate_image(image_bgr, rotation)
    # a rotated copy is ours: convert it in place (one ~1 MB buffer a frame fewer to allocate,
    # fault in and free); the frame itself is never written to
    rgb = cv2.cvtColor(rotated, cv2.COLOR_BGR2RGB,
                       dst=rotated if rotated is not image_bgr else None)
    return ModelInput(
        rotation=rotation,
        source_hw=(int(image_bgr.shape[0]), int(image_bgr.shape[1])),
        rotated_wh=(int(rgb.shape[1]), int(rgb.shape[0])),
        image=mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb),
    )


def warmed_up(model: Any) -> Any:
    """An IMAGE-mode landmarker after one call on a tiny black image: its first call pays a
    one-off set-up (and logs native warnings, kept out of the output), not a real frame."""
    import mediapipe as mp

    with quiet_native_stderr():
        black = np.zeros((64, 64, 3), np.uint8)
        run_model(model, mp.Image(image_format=mp.ImageFormat.SRGB, data=black))
    return model


@dataclass
class _Result:
    """One landmarker call's people as arrays: `pose_landmarks[i]` is (n, 5) x, y, z (normalised
    to the image the model saw), visibility, presence (NaN when unset); `pose_world_landmarks[i]`
    is (n, 3) metres. What `_people` reads, whichever way the call was made."""

    pose_landmarks: list[np.ndarray]
    pose_world_landmarks: list[np.ndarray]


def _struct_dtype(struct: Any) -> np.dtype:
    """A numpy view of a mediapipe landmark ctypes struct (floats and flags; the name pointer
    is left out), built from its own field offsets."""
    import ctypes

    kinds = {ctypes.c_float: np.float32, ctypes.c_bool: np.uint8}
    names = [name for name, kind in struct._fields_ if kind in kinds]
    return np.dtype({
        "names": names,
        "formats": [kinds[kind] for name, kind in struct._fields_ if kind in kinds],
        "offsets": [getattr(struct, name).offset for name in names],
        "itemsize": ctypes.sizeof(struct),
    })


def _landmark_rows(landmarks_c: Any, dtype: np.dtype, with_scores: bool) -> np.ndarray:
    """(n, 5) or (n, 3) float64 rows of one pose's C landmark array (copied: the C result is
    freed right after)."""
    import ctypes

    n = int(landmarks_c.landmarks_count)
    address = ctypes.cast(landmarks_c.landmarks, ctypes.c_void_p).value
    if not n or not address:
        return np.zeros((0, 5 if with_scores else 3))
    raw = np.frombuffer((ctypes.c_char * (n * dtype.itemsize)).from_address(address), dtype)
    columns = [raw["x"], raw["y"], raw["z"]]
    if with_scores:  # unset scores read as None through mediapipe's Python API: NaN here
        columns += [np.where(raw["has_visibility"] != 0, raw["visibility"], np.nan),
                    np.where(raw["has_presence"] != 0, raw["presence"], np.nan)]
    return np.column_stack(columns).astype(np.float64)


class _NativeCall:
    """A landmarker's detect / detect_for_video as a direct C call on the calling thread.

    mediapipe's Python API hands every C call (the detection and the freeing of its result) to
    a per-landmarker executor thread and waits for it, then builds 66 landmark objects: two
    thread hand-offs and ~0.05 ms of Python on the model's thread per frame, and the executor
    thread's own CPU. Each landmarker here is called from one thread at a time, which is all
    that executor guarantees, so calling the same C functions directly gives the same results
    (poses identical, checked on the shared clips). Built from mediapipe's private attributes:
    if they are not there (another mediapipe version), `make` returns None and the public API
    is used.
    """

    def __init__(self, landmarker: Any) -> None:
        import ctypes

        from mediapipe.tasks.python.components.containers import landmark_c
        from mediapipe.tasks.python.core import mediapipe_c_utils
        from mediapipe.tasks.python.vision import pose_landmarker

        dispatcher = landmarker._lib
        lib = dispatcher._lib
        self._dispatcher = dispatcher
        self._handle = landmarker._handle
        self._detect = lib.MpPoseLandmarkerDetectImage
        self._detect_video = lib.MpPoseLandmarkerDetectForVideo
        self._close_result = lib.MpPoseLandmarkerCloseResult
        self._free_error = lib.MpErrorFree
        self._handle_status = mediapipe_c_utils.handle_status
        self._result_type = pose_landmarker.MpPoseLandmarkerResultC
        self._byref = ctypes.byref
        self._char_p = ctypes.c_char_p
        self._norm_dtype = _struct_dtype(landmark_c.MpNormalizedLandmarkC)
        self._world_dtype = _struct_dtype(landmark_c.MpLandmarkC)
        for func in (self._detect, self._detect_video, self._close_result):
            if func.argtypes is None:  # mediapipe registers the signatures it calls with
                raise AttributeError(f"{func.__name__} has no signature")

    @classmethod
    def make(cls, landmarker: Any) -> _NativeCall | None:
        try:
            return cls(landmarker)
        except (AttributeError, ImportError, TypeError, KeyError, ValueError):
            return None

    def __call__(self, image: Any, timestamp_ms: int | None = None) -> _Result:
        """Run the model on an mp.Image (VIDEO mode when a timestamp is given)."""
        if self._dispatcher._is_closed:
            raise PosecheckError("the pose model is closed")
        byref = self._byref
        result = self._result_type()
        error = self._char_p()
        if timestamp_ms is None:
            status = self._detect(self._handle, image._image_ptr, None, byref(result),
                                  byref(error))
        else:
            status = self._detect_video(self._handle, image._image_ptr, None, timestamp_ms,
                                        byref(result), byref(error))
        try:
            self._handle_status(status, error)
        finally:
            if error.value is not None:
                self._free_error(error)
        try:
            poses = [_landmark_rows(result.pose_landmarks[i], self._norm_dtype, True)
                     for i in range(result.pose_landmarks_count)]
            worlds = [_landmark_rows(result.pose_world_landmarks[i], self._world_dtype, False)
                      for i in range(result.pose_world_landmarks_count)]
        finally:
            self._close_result(byref(result))
        return _Result(poses, worlds)


def _api_result(result: Any) -> _Result:
    """mediapipe's Python result as `_Result` arrays (the path without `_NativeCall`)."""
    poses = [np.array([(lm.x, lm.y, lm.z, _num(lm.visibility), _num(lm.presence)) for lm in lms],
                      dtype=np.float64).reshape(-1, 5)
             for lms in result.pose_landmarks or []]
    worlds = [np.array([(p.x, p.y, p.z) for p in lms], dtype=np.float64).reshape(-1, 3)
              for lms in result.pose_world_landmarks or []]
    return _Result(poses, worlds)


_NO_NATIVE = object()


def run_model(landmarker: Any, image: Any, timestamp_ms: int | None = None) -> _Result:
    """One landmarker call (IMAGE mode, or VIDEO mode with `timestamp_ms`), as arrays."""
    native = getattr(landmarker, "_posecheck_native", _NO_NATIVE)
    if native is _NO_NATIVE:
        native = _NativeCall.make(landmarker)
        with contextlib.suppress(AttributeError):
            landmarker._posecheck_native = native
    if native is not None:
        return native(image, timestamp_ms)
    if timestamp_ms is None:
        return _api_result(landmarker.detect(image))
    return _api_result(landmarker.detect_for_video(image, timestamp_ms))


class _SideModel:
    """A second stateless (IMAGE-mode) landmarker on its own thread.

    The tracker must run frame after frame on one thread, but the machine has more cores: the
    people census and half of a search's probes run here meanwhile. It loads in the background
    from the moment the estimator is made; IMAGE mode has no state, so a call gives what the
    main landmarker would give, whichever thread runs it. Another thread makes landmarkers
    ahead of need (`make`), so the main thread finds them ready and the census does not queue
    behind them.
    """

    def __init__(self, create: Callable[[], object]) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="posecheck-side-model")
        self._maker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="posecheck-maker")
        self._model: Future[object] = self._pool.submit(self._load, create)

    @staticmethod
    def _load(create: Callable[[], object]) -> object:
        return warmed_up(create())

    @property
    def failed(self) -> bool:
        """The load failed: everything runs on the main thread instead."""
        return self._model.done() and self._model.exception() is not None

    def detect(self, model_input: ModelInput) -> Future[Any]:
        """Run the model on one prepared image; the mediapipe result, later."""
        return self._pool.submit(lambda: run_model(self._model.result(), model_input.image))

    def make(self, create: Callable[[], object]) -> Future[object]:
        """Create a landmarker on the maker thread (~50 ms the main thread does not wait for)."""
        return self._maker.submit(create)

    def close(self) -> None:
        self._maker.shutdown(wait=True, cancel_futures=True)
        self._pool.shutdown(wait=True, cancel_futures=True)
        if not self.failed:  # loaded (the shutdown waited for the load)
            with quiet_native_stderr():
                self._model.result().close()  # type: ignore[attr-defined]


@dataclass
class _PendingCensus:
    """A census running on the side model, to be read at frame `due` (a fixed lag, so a run's
    results never depend on thread timing)."""

    due: int
    job: Future[Any]
    model_input: ModelInput  # made from the counted frame (its size maps the people back)
    person_bbox: np.ndarray  # whom the tracker followed on the counted frame
    prev_bbox: np.ndarray | None


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
# body wrongly shows in its bone lengths. Medians (m) over the well-fitted frames (< 10 px joint
# error) of the rendered corpus: thigh 0.39 (p1 0.33), shank 0.38 (p1 0.31), shoulder-centre to
# hip-centre 0.48 (p1 0.42). A three-quarter-view bridge read at the wrong rotation had thighs of
# 0.13-0.27 m.
TYPICAL_BONES_M = {"thigh": 0.39, "shank": 0.38, "torso": 0.48}
# A skeleton counts as no less plausible than a reference if its implausibility is at most
# PLAUSIBLE_RATIO x the reference's + PLAUSIBLE_MARGIN (then the head-up one wins). Relative,
# because fits that are fine wobble more when the reference is itself loose. Measured over all 4
# rotations probed on frames of 11 rendered clips and the 12 shared clips: the three-quarter
# bridge's choices with > 15 px joint error fell from 146 to 18 (15 unavoidable), and on the
# shared clips only 3 probed frames of the montage chose differently; a plain +0.15 margin also
# flipped a standing lunger (darebee knee drive, frame 0) to a sideways rotation.
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


@dataclass
class PoseStats:
    """What the estimator did: frames seen, frames with a pose, and where it found them."""

    frames: int = 0
    frames_with_pose: int = 0
    per_rotation: dict[int, int] = field(default_factory=lambda: dict.fromkeys(ROTATIONS, 0))
    inferences: int = 0  # tracker and probe (search/refine) calls; census and flushes apart
    searches: int = 0
    refinements: int = 0
    max_people: int = 0
    censuses: int = 0
    relocks: int = 0
    flushes: int = 0

    @property
    def detection_rate(self) -> float:
        return self.frames_with_pose / self.frames if self.frames else 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "frames": self.frames,
            "frames_with_pose": self.frames_with_pose,
            "detection_rate": self.detection_rate,
            "per_rotation": dict(self.per_rotation),
            "inferences": self.inferences,
            "searches": self.searches,
            "refinements": self.refinements,
            "max_people": self.max_people,
            "censuses": self.censuses,
            "relocks": self.relocks,
            "flushes": self.flushes,
        }


def _parse_orientation(orientation: object) -> int | None:
    if isinstance(orientation, str):
        if orientation.strip().lower() == "auto":
            return None
        if orientation.strip().isdigit():
            orientation = int(orientation)
    if (isinstance(orientation, int) and not isinstance(orientation, bool)
            and orientation in ROTATIONS):
        return orientation
    raise PosecheckError(f"orientation must be auto, 0, 90, 180 or 270, got {orientation!r}")


def _is_bgr(image: np.ndarray | None) -> bool:
    """An (H, W, 3) array: what `detect` and `prepare` accept."""
    return image is not None and image.ndim == 3 and image.shape[2] == 3


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


class PoseEstimator:
    """Find one person's 33 BlazePose landmarks per frame, whatever way up they lie.

    Args:
        model: bundled model name ("lite", "full", "heavy") or a path to a .task bundle.
        running_mode: "video" tracks across frames (needs increasing timestamps); "image" treats
            every frame alone.
        orientation: "auto" to search rotations, or a fixed clockwise rotation in degrees.
        min_pose_detection_confidence, min_tracking_confidence: mediapipe thresholds.
        num_poses: people counted (`PoseFrame.num_people`); one is followed (see
            `choose_person`). In video mode the tracker itself follows one person and a census
            every `census_every_ms` counts up to `num_poses` (1 turns the census off).
        lost_after: frames without a pose at the current rotation before searching again.
        search_budget: rotations tried per frame while a search goes on (the first frame of a
            search tries all four; after `SLOW_SEARCH_AFTER` frames, one per frame);
            bounds the extra cost on frames where nobody is visible.
        refine_every: at most one extra inference per this many frames to turn a body tracked
            sideways head-up (auto only); the gap doubles after each refinement that does not
            help, so a body that stays sideways costs ~nothing once locked.
        census_every_ms: period of the people census in video mode; it doubles (up to 4x)
            while each census agrees with the tracker (one person, no re-lock), and comes back
            to this as soon as one does not.
        side_model: in video mode, load a second IMAGE-mode landmarker on its own thread for
            the periodic census (read `CENSUS_LAG` frames later) and half of a search's first
            probes, so they overlap the tracker instead of stalling it. Off when every core is
            already busy (a batch with a worker per core).
    """

    CENSUS_LAG = 2  # frames between a periodic census's frame and the frame that reads it

    SLOW_SEARCH_AFTER = 30  # frames (~1 s) of fruitless search before trying one rotation a frame

    def __init__(
        self,
        model: str | Path | None = "full",
        *,
        running_mode: RunningMode = "video",
        orientation: Orientation | str = "auto",
        min_pose_detection_confidence: float = 0.5,
        min_pose_presence_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        num_poses: int = 2,
        lost_after: int = 2,
        search_budget: int = 1,
        refine_every: int = 30,
        census_every_ms: float = 1000.0,
        side_model: bool = True,
    ) -> None:
        if running_mode not in ("video", "image"):
            raise PosecheckError(f"running_mode must be 'video' or 'image', got {running_mode!r}")
        if num_poses < 1:
            raise PosecheckError(f"num_poses must be >= 1, got {num_poses}")
        self.running_mode: RunningMode = running_mode
        self.fixed_rotation = _parse_orientation(orientation)
        self.orientation = "auto" if self.fixed_rotation is None else self.fixed_rotation
        self.num_poses = int(num_poses)
        self.min_pose_detection_confidence = float(min_pose_detection_confidence)
        self.min_pose_presence_confidence = float(min_pose_presence_confidence)
        self.min_tracking_confidence = float(min_tracking_confidence)
        self.lost_after = max(1, int(lost_after))
        self.search_budget = max(1, min(len(ROTATIONS), int(search_budget)))
        self.refine_every = max(1, int(refine_every))
        self.census_every_ms = float(census_every_ms)

        self.bundle = resolve_model(model)  # verified: ModelError if missing or corrupt
        self.model_name = self.bundle.name
        self.model_path = Path(self.bundle.path)
        self._landmarkers: dict[int, object] = {}  # VIDEO trackers by rotation
        # landmarkers being made ahead on the maker thread: trackers by rotation, and "probe"
        self._spare: dict[int | str, Future[object]] = {}
        self._probe_landmarker: object | None = None  # IMAGE mode: stateless, any rotation
        self._warmed: set[object] = set()
        self._black: np.ndarray | None = None
        self._closed = False
        self._reset_state()
        self._side: _SideModel | None = None
        # Fail now, with a ModelError, if the bundle does not load.
        if self.running_mode == "video":
            if side_model and self._tracking:  # these load while the tracker below is made
                self._side = _SideModel(self._create_probe_model)
                self._make_ahead()
            try:
                self._landmarker(self._preferred)
            except BaseException:
                self.close()
                raise
        else:
            self._probe_model()

    @property
    def _tracking(self) -> bool:
        """Video mode with a census: trackers follow one person, the census counts."""
        return self.running_mode == "video" and self.num_poses > 1

    def _reset_state(self) -> None:
        self._last_ts: dict[int, int] = {}
        self._fed_at: dict[int, int] = {}  # rotation -> frame number its tracker last saw
        self._has_roi: dict[int, bool] = {}  # rotation -> its tracker found someone last time
        self._rotation: int | None = self.fixed_rotation
        self._preferred: int = self.fixed_rotation or 0
        self._misses = 0
        self._search_cursor = 0
        self._searching_since: int | None = None
        self._prepared_count = 0  # frames `prepare` has seen (it runs ahead of `detect`)
        self._prev_bbox: np.ndarray | None = None
        self._last_refine = -self.refine_every
        self._refine_gap = self.refine_every
        self._last_census_ms = -np.inf
        self._census_gap_ms = self.census_every_ms
        self._census_due = True
        self._counted_now = False  # a search's probe counted the people of this frame
        self._num_people = 1
        self._pending: _PendingCensus | None = None
        self._turn_expected = False  # the other rotations' trackers are being made ahead
        self.stats = PoseStats()

    def reset(self) -> None:
        """Forget the clip: new tracking state and stats, same resolved model (for reuse across
        clips, e.g. by a batch worker). VIDEO trackers are re-created (~0.1 s each, lazily)
        because mediapipe has no way to clear a tracker's state."""
        if self._closed:
            raise PosecheckError("PoseEstimator is closed")
        if self.stats.frames == 0:
            # nothing seen since it was made or reset: its trackers are as fresh as new ones (a
            # batch worker resets before each clip, the first included: ~60 ms of tracker
            # re-creation a worker waited for at its start)
            self._prepared_count = 0
            return
        if self.running_mode == "video":
            with quiet_native_stderr():
                for lm in self._landmarkers.values():
                    lm.close()  # type: ignore[attr-defined]
            self._landmarkers.clear()
            self._warmed = {k for k in self._warmed if k == "probe"}
        self._reset_state()
        self._make_ahead()

    # -- landmarkers ---

    def _landmarker(self, rotation: int) -> object:
        """The VIDEO-mode tracker of one rotation (follows one person)."""
        if self._closed:
            raise PosecheckError("PoseEstimator is closed")
        lm = self._landmarkers.get(rotation)
        if lm is None:
            lm = self._landmarkers[rotation] = self._claim_spare(rotation) or self._create_tracker()
        return lm

    def _claim_spare(self, key: int | str) -> object | None:
        """A landmarker made ahead on the maker thread (waiting for it if still being made);
        None if there is none or it failed there (the caller makes it, and raises, itself)."""
        spare = self._spare.pop(key, None)
        try:
            return spare.result() if spare is not None else None
        except Exception:
            return None

    def _create_tracker(self) -> object:
        return create_landmarker(
            self.bundle,
            "video",
            num_poses=1,
            min_pose_detection_confidence=self.min_pose_detection_confidence,
            min_pose_presence_confidence=self.min_pose_presence_confidence,
            min_tracking_confidence=self.min_tracking_confidence,
            output_segmentation_masks=False,
        )

    def _make_ahead(self, trackers: bool = False) -> None:
        """With orientation search, make the landmarkers a search needs on the maker thread:
        the IMAGE-mode probe (a clip's first frame is a search) at once, and the other
        rotations' `trackers` when `_expect_a_turn` asks, so neither the first frame nor a
        turn or a cut stalls ~50 ms per landmarker."""
        if self._side is None or self.fixed_rotation is not None:
            return
        if self._probe_landmarker is None and "probe" not in self._spare:
            self._spare["probe"] = self._side.make(
                lambda: warmed_up(self._create_probe_model()))
        if not trackers:
            return
        for rotation in ROTATIONS:
            if rotation not in self._landmarkers and rotation not in self._spare:
                self._spare[rotation] = self._side.make(self._create_tracker)

    def _expect_a_turn(self) -> None:
        """The body was lost, a search goes on, or the body is tracked sideways: another
        rotation's tracker may be needed within a few frames, so the maker thread makes the
        missing ones now (once per clip). Not before: a clip tracked at one rotation from
        start to end needs none of them, and each costs ~60 ms of CPU to make; made at its
        second frame, as they were, the tracker that frame needed queued behind the others
        (a lying clip's frame 2 took ~0.2 s). When they are made changes no pose: a spare is
        a fresh tracker whenever it is made."""
        if not self._turn_expected:
            self._turn_expected = True
            self._make_ahead(trackers=True)

    def _close_spares(self) -> None:
        for future in self._spare.values():
            future.cancel()
            if future.done() and not future.cancelled() and future.exception() is None:
                future.result().close()  # type: ignore[attr-defined]
        self._spare.clear()

    def _probe_model(self) -> object:
        """The IMAGE-mode landmarker (stateless: any rotation, any clip) that counts people and
        probes rotations; in image mode it does all the work."""
        if self._closed:
            raise PosecheckError("PoseEstimator is closed")
        if self._probe_landmarker is None:
            self._probe_landmarker = self._claim_spare("probe") or self._create_probe_model()
        return self._probe_landmarker

    def _create_probe_model(self) -> object:
        return create_landmarker(
            self.bundle,
            "image",
            num_poses=self.num_poses,
            min_pose_detection_confidence=self.min_pose_detection_confidence,
            min_pose_presence_confidence=self.min_pose_presence_confidence,
            min_tracking_confidence=self.min_tracking_confidence,
            output_segmentation_masks=False,
        )

    def _tracker_ts(self, rotation: int, timestamp_ms: float) -> int:
        """A timestamp for this rotation's tracker, strictly after the last one it saw."""
        ts = round(timestamp_ms)
        last = self._last_ts.get(rotation)
        if last is not None and ts <= last:
            ts = last + 1
        self._last_ts[rotation] = ts
        return ts

    def _flush(self, rotation: int, timestamp_ms: float, rotated_wh: tuple[int, int]) -> None:
        """Clear a tracker's stale region of interest: on a black frame it loses the body, so
        its next call runs the person detector (one inference, ~10 ms, vs ~50 ms to re-create
        it)."""
        import mediapipe as mp

        w, h = rotated_wh
        if self._black is None or self._black.shape[:2] != (h, w):
            self._black = np.zeros((h, w, 3), np.uint8)
        ts = self._tracker_ts(rotation, timestamp_ms - 1)
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=self._black)
        run_model(self._landmarker(rotation), image, ts)
        self._has_roi[rotation] = False
        self.stats.flushes += 1

    def _infer(
        self, image_bgr: np.ndarray, timestamp_ms: float, rotation: int, census: bool = False,
        *, probe: bool = False, prepared: ModelInput | None = None,
    ) -> list[_Candidate]:
        """People found at one rotation, in original pixels: by that rotation's tracker, or
        (`probe`, `census`, image mode) by the stateless IMAGE-mode landmarker. `prepared` is
        used when it was made from this frame at this rotation."""
        h, w = image_bgr.shape[:2]
        prepared = self._input(image_bgr, rotation, prepared, census)
        mp_image = prepared.image
        rw, rh = prepared.rotated_wh
        video = self.running_mode == "video" and not (census or probe)
        warm_key: object = rotation if video else "probe"
        if video:
            landmarker = self._landmarker(rotation)
            fed = self._fed_at.get(rotation)
            if fed is not None and fed < self.stats.frames - 1 and self._has_roi.get(rotation):
                self._flush(rotation, timestamp_ms, (rw, rh))
            self._fed_at[rotation] = self.stats.frames
            ts = self._tracker_ts(rotation, timestamp_ms)
        else:
            landmarker = self._probe_model()

        def call() -> _Result:
            return run_model(landmarker, mp_image, ts if video else None)

        if warm_key in self._warmed:
            result = call()
        else:
            # The first inference logs one-off native warnings (tensor alignment, ROI projection)
            # straight to fd 2; keep them out of the CLI's output.
            with quiet_native_stderr():
                result = call()
            self._warmed.add(warm_key)
        if video:
            self._has_roi[rotation] = bool(result.pose_landmarks)
        return _people(result, rotation, (rw, rh), (w, h))

    def _input(
        self, image_bgr: np.ndarray, rotation: int, prepared: ModelInput | None, census: bool
    ) -> ModelInput:
        """The model input for one call (the prepared one when it fits), counted in the stats."""
        if census:
            self.stats.censuses += 1
        else:
            self.stats.inferences += 1
        if (prepared is None or prepared.rotation != rotation
                or prepared.source_hw != image_bgr.shape[:2]):
            prepared = make_model_input(image_bgr, rotation)
        return prepared

    # -- per frame ---

    def _rotation_order(self) -> list[int]:
        """Every rotation, the preferred one first: the order a search tries them in."""
        return [self._preferred] + [r for r in (0, 90, 270, 180) if r != self._preferred]

    def _search_order(self, first_frame: bool, long_search: bool = False) -> list[int]:
        """Rotations to try this frame while searching: all on the first, then a rotating subset
        (one a frame once the search is long: an empty scene then costs what the raw model does)."""
        order = self._rotation_order()
        if first_frame:
            return order
        k = 1 if long_search else self.search_budget
        start = self._search_cursor % len(order)
        self._search_cursor += k
        picked = [order[(start + j) % len(order)] for j in range(k)]
        return list(dict.fromkeys(picked))

    def prepare(self, image_bgr: np.ndarray) -> ModelInput | None:
        """The model's input for a frame that will be passed to `detect` soon, at the rotation
        the tracker is expected to use then, or while searching the one the search is expected
        to probe (None for a malformed image).

        Safe to call from another thread (the decode thread) while `detect` runs: it only reads
        the current rotation, and `detect` ignores an input made at a rotation it no longer uses.
        """
        if not _is_bgr(image_bgr) or image_bgr.dtype != np.uint8:
            return None
        self._prepared_count += 1
        rotation = self._rotation
        if rotation is None:
            rotation = self._expected_probe(self._prepared_count - self.stats.frames)
        return make_model_input(image_bgr, rotation)

    def _expected_probe(self, ahead: int) -> int:
        """The rotation a search will probe (first) on the frame `ahead` frames after the one
        `detect` has last begun, if the search goes on until then.

        A search's later frames probe one rotation each, in turn; an input prepared at another
        rotation is made again on the model's thread (~1 ms at 432x768: rotation, colour
        conversion, mediapipe's copy), which on the montage's long empty stretches was most
        search frames. Only a guess: read from another thread, the count may be one off, and a
        search may end first; a wrong guess costs what it did before, and the poses are the
        same whichever thread made the input.
        """
        order = self._rotation_order()
        if self._searching_since is None:
            # the next frame begins a search (all rotations, the preferred one here first); the
            # cursor starts again at 0 on the frame after it, one step a frame
            return order[max(0, ahead - 2) % len(order)]
        # the cursor has moved on for the frame detect() is at (search_budget 1, or long)
        return order[(self._search_cursor + max(0, ahead - 1)) % len(order)]

    def detect(
        self, image_bgr: np.ndarray, timestamp_ms: float, index: int,
        prepared: ModelInput | None = None,
    ) -> PoseFrame:
        """Estimate the pose in one BGR frame. Timestamps must increase in video mode.

        `prepared`: the frame's model input made ahead by `prepare` (used when still right).
        """
        if not _is_bgr(image_bgr):
            raise PosecheckError("detect() needs a BGR image of shape (H, W, 3)")
        if image_bgr.dtype != np.uint8:
            image_bgr = np.clip(image_bgr, 0, 255).astype(np.uint8)
        h, w = image_bgr.shape[:2]
        frame_wh = (int(w), int(h))
        self.stats.frames += 1
        self._counted_now = False
        if self._rotation is None and self.stats.frames >= 2:
            self._expect_a_turn()  # a search goes on: it probes with the other trackers

        chosen: list[_Candidate] = []
        if self._rotation is not None:
            chosen = self._infer(image_bgr, timestamp_ms, self._rotation, prepared=prepared)
            if not chosen and self.fixed_rotation is None:
                self._expect_a_turn()
                self._misses += 1
                if self._misses >= self.lost_after:
                    self._rotation = None  # lost: search from the next frame on
                    self._searching_since = None
            else:
                self._misses = 0
        elif self.fixed_rotation is None:
            chosen = self._search(image_bgr, timestamp_ms, index, prepared)

        if not chosen:
            self._census_due = True  # count again (and check whom we follow) once found
            return PoseFrame.missing(index, float(timestamp_ms), frame_wh)
        person = chosen[choose_person(chosen, self._prev_bbox)]
        if self.fixed_rotation is None and person.uprightness() < UPRIGHT_ENOUGH:
            self._expect_a_turn()  # a refinement may turn it head-up
            chosen, person = self._refine(image_bgr, timestamp_ms, index, chosen, person)
        if self._tracking:
            person = self._census(image_bgr, timestamp_ms, person, prepared)
            num_people = self._num_people
        else:
            num_people = count_people(chosen)
        self._prev_bbox = person.bbox()
        self.stats.frames_with_pose += 1
        self.stats.per_rotation[person.rotation] += 1
        self.stats.max_people = max(self.stats.max_people, num_people)
        return PoseFrame(
            index=index,
            timestamp_ms=float(timestamp_ms),
            frame_wh=frame_wh,
            image_xy=person.image_xy,
            image_z=person.image_z,
            world_xyz=person.world_xyz,
            visibility=person.visibility,
            presence=person.presence,
            rotation_deg=person.rotation,
            num_people=num_people,
        )

    def _census(
        self, image_bgr: np.ndarray, timestamp_ms: float, person: _Candidate,
        prepared: ModelInput | None = None,
    ) -> _Candidate:
        """Count the people in view now and then; return the person to report this frame.

        Runs when due (every `census_every_ms`, after a frame without a pose) or when the
        tracked body does not overlap the previous frame's choice (the tracker jumped, or a
        scene cut). The census chooses as `choose_person` does; if that is not the tracked body,
        the tracker is re-locked onto it. The census runs on the side model and is read
        `CENSUS_LAG` frames later, except after a jump, which is answered at once (the tracker
        may already follow someone else). A body found again after frames without one is counted
        on the side model too: the search that found it already chose the person nearest the
        last one followed, and a wrong choice is re-locked two frames later, where counting on
        the main thread cost ~20 ms a re-acquisition (~2 % of a clip with many cuts).
        """
        jumped = self._prev_bbox is not None and _iou(person.bbox(), self._prev_bbox) <= 0.1
        pending = self._pending
        if pending is not None and self.stats.frames >= pending.due:
            self._pending = None
            if not (self._census_due or jumped or self._counted_now):  # else counted again now
                person = self._read_census(image_bgr, timestamp_ms, person, pending)
        due = self._census_due or timestamp_ms - self._last_census_ms >= self._census_gap_ms
        if self._counted_now or not (due or jumped):
            return person
        urgent = jumped
        self._census_due = False
        self._last_census_ms = timestamp_ms
        if self._side is not None and not self._side.failed and not urgent:
            model_input = self._input(image_bgr, person.rotation, prepared, census=True)
            self._pending = _PendingCensus(
                due=self.stats.frames + self.CENSUS_LAG,
                job=self._side.detect(model_input),
                model_input=model_input,
                person_bbox=person.bbox(),
                prev_bbox=self._prev_bbox,
            )
            return person
        people = self._infer(image_bgr, timestamp_ms, person.rotation, census=True,
                             prepared=prepared)
        target = self._judge_census(people, self._prev_bbox, person.bbox())
        if target is None:
            return person
        self._relock(image_bgr, timestamp_ms, target)
        return target

    def _judge_census(
        self, people: list[_Candidate], prev_bbox: np.ndarray | None, followed: np.ndarray
    ) -> _Candidate | None:
        """Count the census's people; the person to follow instead, or None if the tracker
        already follows the right one."""
        self._num_people = max(1, count_people(people))
        target = people[choose_person(people, prev_bbox)] if people else None
        if target is None or _iou(target.bbox(), followed) > 0.3:
            # agreed: count less often while it stays so (a crowd keeps the base period)
            single = self._num_people <= 1
            self._census_gap_ms = (min(2 * self._census_gap_ms, 4 * self.census_every_ms)
                                   if single else self.census_every_ms)
            return None
        self._census_gap_ms = self.census_every_ms
        return target

    def _read_census(
        self, image_bgr: np.ndarray, timestamp_ms: float, person: _Candidate,
        pending: _PendingCensus,
    ) -> _Candidate:
        """Apply a census made `CENSUS_LAG` frames ago: count, and re-lock if it disagrees."""
        model_input = pending.model_input
        try:
            result = pending.job.result()
        except Exception:  # the side model failed to load: skip this count, the next runs here
            return person
        h, w = model_input.source_hw
        people = _people(result, model_input.rotation, model_input.rotated_wh, (w, h))
        target = self._judge_census(people, pending.prev_bbox, pending.person_bbox)
        if target is None:
            return person
        found = self._relock(image_bgr, timestamp_ms, target)
        return found[choose_person(found, target.bbox())] if found else person

    def _relock(
        self, image_bgr: np.ndarray, timestamp_ms: float, target: _Candidate
    ) -> list[_Candidate]:
        """Point the tracker at `target`: a fresh tracker sees only that person's region once,
        so its detector can pick nobody else; later frames are tracked from there."""
        rotation = target.rotation
        h, w = image_bgr.shape[:2]
        if self._has_roi.get(rotation):
            self._flush(rotation, timestamp_ms, rotated_wh((w, h), rotation))
        x0, y0, x1, y1 = target.bbox()
        mx, my = 0.25 * (x1 - x0) + 8, 0.25 * (y1 - y0) + 8
        xa, ya = int(max(0, x0 - mx)), int(max(0, y0 - my))
        xb, yb = int(min(w, x1 + mx + 1)), int(min(h, y1 + my + 1))
        masked = np.zeros_like(image_bgr)
        masked[ya:yb, xa:xb] = image_bgr[ya:yb, xa:xb]
        found = self._infer(masked, timestamp_ms, rotation)
        if self.fixed_rotation is None:
            self._rotation = self._preferred = rotation
        self._misses = 0
        self.stats.relocks += 1
        return found

    def _refine(
        self, image_bgr: np.ndarray, timestamp_ms: float, index: int,
        chosen: list[_Candidate], person: _Candidate,
    ) -> tuple[list[_Candidate], _Candidate]:
        """Now and then, try the rotation that would show a tracked, non-upright body head-up.

        A search keeps the first rotation that finds the body; after a scene cut or a turn the
        body may be tracked sideways. One extra inference every `refine_every` frames fixes that.
        """
        if index - self._last_refine < self._refine_gap:
            return chosen, person
        self._last_refine = index
        target = upright_rotation(person)
        if target == person.rotation:
            return chosen, person
        alternative = self._infer(image_bgr, timestamp_ms, target, probe=True)
        candidate = alternative[choose_person(alternative, person.bbox())] if alternative else None
        if (candidate is None or candidate.uprightness() <= person.uprightness()
                or not no_less_plausible(candidate, person)):
            # it did not help (or its skeleton is worse: a rotated copy of the body, issue 7):
            # try less and less often while locked
            self._refine_gap *= 2
            return chosen, person
        self._rotation = self._preferred = target
        self._misses = 0
        self._refine_gap = self.refine_every
        self.stats.refinements += 1
        return alternative, candidate

    def _search(
        self, image_bgr: np.ndarray, timestamp_ms: float, index: int,
        prepared: ModelInput | None = None,
    ) -> list[_Candidate]:
        first = self._searching_since is None
        if first:
            self._searching_since = index
            self._search_cursor = 0
            self._refine_gap = self.refine_every
            self.stats.searches += 1
        video = self.running_mode == "video"
        long_search = index - (self._searching_since or index) > self.SLOW_SEARCH_AFTER
        # The first frame compares all rotations with the stateless IMAGE-mode model (it counts
        # people too, and leaves no tracker holding a region). Later frames probe one rotation
        # each with that rotation's VIDEO tracker: on a frame with nobody in it, that costs the
        # person detector alone (~9.5 ms, full model) where an IMAGE-mode call costs ~15 ms, and
        # a tracker that finds the body simply goes on tracking it. (Taking a plausible head-up
        # body from the preferred rotation's tracker without the comparison saved ~10 probes on
        # the montage but changed which misfits its close-ups were read as, and its count.)
        order = self._search_order(first, long_search)
        results: dict[int, list[_Candidate]] = {}
        side_jobs: dict[int, tuple[Future[Any], ModelInput]] = {}
        if first and self._side is not None and not self._side.failed and len(order) > 1:
            # these run on the side model meanwhile (still loading only at a clip's start, where
            # it is ready by the time the main thread has probed its half)
            for rotation in order[len(order) // 2:]:
                model_input = self._input(image_bgr, rotation, prepared, census=False)
                side_jobs[rotation] = (self._side.detect(model_input), model_input)
        for rotation in order:
            if rotation not in side_jobs:
                results[rotation] = self._infer(image_bgr, timestamp_ms, rotation,
                                                probe=first or not video, prepared=prepared)
        h, w = image_bgr.shape[:2]
        for rotation, (job, model_input) in side_jobs.items():
            try:
                result = job.result()
            except Exception:  # the side model failed to load: probe here (IMAGE mode: same)
                results[rotation] = self._infer(image_bgr, timestamp_ms, rotation, probe=True,
                                                prepared=prepared)
                continue
            results[rotation] = _people(result, rotation, model_input.rotated_wh, (w, h))
        found = {r: results[r] for r in order if results[r]}
        if not found:
            return []

        best = {r: people[choose_person(people, self._prev_bbox)] for r, people in found.items()}

        def score(rotation: int) -> tuple[float, float]:
            person = best[rotation]
            return (round(person.uprightness(), 1), float(np.mean(person.visibility)))

        # The most upright of the anatomically plausible: a wrongly folded fit can be the more
        # upright and confident one (a three-quarter-view bridge at 270 degrees, issue 5).
        plausible = [r for r in found if all(no_less_plausible(best[r], best[o]) for o in found)]
        rotation = max(plausible or found, key=score)
        self._rotation = rotation
        self._preferred = rotation
        self._misses = 0
        self._searching_since = None
        if self._tracking and first:  # the probe counted everyone at this rotation: a census
            self._num_people = count_people(found[rotation])
            self._last_census_ms = timestamp_ms
            self._census_due = False
            self._counted_now = True
        return found[rotation]

    def run(self, frames: Iterable[object]) -> Iterable[PoseFrame]:
        """Detect on `posecheck.sources.Frame`s (anything with index, timestamp_ms, image)."""
        for frame in frames:
            yield self.detect(frame.image, frame.timestamp_ms, frame.index)  # type: ignore[attr-defined]

    @property
    def rotation(self) -> int | None:
        """The rotation currently tracked (None while searching)."""
        return self._rotation

    def close(self) -> None:
        """Release every landmarker. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self._side is not None:
            self._side.close()  # waits for a tracker being made, so it can be closed below
            self._side = None
        with quiet_native_stderr():  # close() logs an INFO line per accelerator
            self._close_spares()
            for lm in self._landmarkers.values():
                lm.close()  # type: ignore[attr-defined]
            if self._probe_landmarker is not None:
                self._probe_landmarker.close()  # type: ignore[attr-defined]
        self._landmarkers.clear()
        self._probe_landmarker = None

    def __enter__(self) -> PoseEstimator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _num(value: float | None) -> float:
    return float(value) if value is not None else float("nan")


# -- landmark files (.npz / .csv / .json) ------------------------------------------------------

LANDMARK_FORMATS = (".npz", ".csv", ".json")


def pose_frames_to_arrays(frames: list[PoseFrame]) -> dict[str, np.ndarray]:
    """Stack PoseFrames into per-frame arrays; missing poses are NaN (present=False)."""
    n = len(frames)
    arrays = {
        "index": np.array([f.index for f in frames], dtype=np.int64),
        "t_ms": np.array([f.timestamp_ms for f in frames], dtype=np.float64),
        "present": np.array([f.present for f in frames], dtype=bool),
        "rotation": np.array([f.rotation_deg for f in frames], dtype=np.int16),
        "num_people": np.array([f.num_people for f in frames], dtype=np.int16),
        "image_xy": np.full((n, NUM_LANDMARKS, 2), np.nan),
        "image_z": np.full((n, NUM_LANDMARKS), np.nan),
        "visibility": np.full((n, NUM_LANDMARKS), np.nan),
        "presence": np.full((n, NUM_LANDMARKS), np.nan),
        "world_xyz": np.full((n, NUM_LANDMARKS, 3), np.nan),
    }
    for i, f in enumerate(frames):
        if f.present:
            for key in ("image_xy", "image_z", "visibility", "presence", "world_xyz"):
                value = getattr(f, key)
                if value is not None:
                    arrays[key][i] = value
    return arrays


def _csv_header() -> list[str]:
    cols = ["index", "t_ms", "present", "rotation", "num_people"]
    for name in (lm.name.lower() for lm in Landmark):
        cols += [f"{name}_x", f"{name}_y", f"{name}_z", f"{name}_vis"]
    for name in (lm.name.lower() for lm in Landmark):
        cols += [f"{name}_wx", f"{name}_wy", f"{name}_wz"]
    return cols


def check_landmarks_path(path: str | Path) -> Path:
    """Fail before any work if `path` is not a writable .npz/.csv/.json destination."""
    from posecheck.errors import OutputError

    path = Path(path)
    if path.suffix.lower() not in LANDMARK_FORMATS:
        raise OutputError(f"landmarks file must end in {', '.join(LANDMARK_FORMATS)}: {path}")
    if path.is_dir():
        raise OutputError(f"output path is a directory: {path}")
    if not path.resolve().parent.is_dir():
        raise OutputError(f"output directory does not exist: {path.resolve().parent}")
    return path


def save_pose_frames(path: str | Path, frames: list[PoseFrame],
                     meta: dict[str, object] | None = None) -> Path:
    """Write landmarks per frame as .npz, .csv or .json (chosen by suffix).

    Per frame: index, t_ms, present, rotation, num_people, 33 x (x, y, z, visibility) in pixels
    of the original frame (z is BlazePose's relative depth), and 33 x (x, y, z) world metres.
    """
    import csv
    import json

    from posecheck.errors import OutputError

    path = check_landmarks_path(path)
    suffix = path.suffix.lower()
    a = pose_frames_to_arrays(frames)
    meta = dict(meta or {})
    try:
        if suffix == ".npz":
            np.savez_compressed(path, **a, meta=np.array(json.dumps(meta, default=str)))
        elif suffix == ".csv":
            with path.open("w", newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow(_csv_header())
                for i in range(len(frames)):
                    image = np.column_stack([a["image_xy"][i], a["image_z"][i],
                                             a["visibility"][i]]).ravel()
                    row = [int(a["index"][i]), f"{a['t_ms'][i]:.3f}", int(a["present"][i]),
                           int(a["rotation"][i]), int(a["num_people"][i])]
                    row += ["" if np.isnan(v) else f"{v:.6g}" for v in image]
                    row += ["" if np.isnan(v) else f"{v:.6g}" for v in a["world_xyz"][i].ravel()]
                    writer.writerow(row)
        else:
            records = []
            for i, f in enumerate(frames):
                rec: dict[str, object] = {
                    "index": f.index, "t_ms": round(f.timestamp_ms, 3), "present": f.present,
                    "rotation": f.rotation_deg, "num_people": f.num_people,
                }
                if f.present:
                    image = np.column_stack([a["image_xy"][i], a["image_z"][i],
                                             a["visibility"][i]])
                    rec["landmarks"] = np.round(image, 4).tolist()
                    rec["world"] = np.round(a["world_xyz"][i], 5).tolist()
                records.append(rec)
            path.write_text(json.dumps({"meta": meta, "frames": records}, default=str))
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path


def load_pose_frames(path: str | Path) -> tuple[list[PoseFrame], dict[str, object]]:
    """Read a .npz written by `save_pose_frames` back into PoseFrames (and its meta)."""
    import json

    from posecheck.errors import SourceError

    path = Path(path)
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise SourceError(f"cannot read landmarks file {path}: {exc}") from exc
    meta = json.loads(str(data["meta"])) if "meta" in data else {}
    wh = meta.get("frame_wh") or (0, 0)
    frame_wh = (int(wh[0]), int(wh[1]))  # type: ignore[index]
    frames = []
    for i in range(len(data["index"])):
        if bool(data["present"][i]):
            frames.append(PoseFrame(
                index=int(data["index"][i]), timestamp_ms=float(data["t_ms"][i]),
                frame_wh=frame_wh, image_xy=data["image_xy"][i], image_z=data["image_z"][i],
                world_xyz=data["world_xyz"][i], visibility=data["visibility"][i],
                presence=data["presence"][i], rotation_deg=int(data["rotation"][i]),
                num_people=int(data["num_people"][i]),
            ))
        else:
            frames.append(PoseFrame.missing(int(data["index"][i]), float(data["t_ms"][i]),
                                            frame_wh))
    return frames, meta
