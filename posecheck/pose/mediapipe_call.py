"""The mediapipe call shim: one landmarker call, as numpy arrays, on the calling thread.

`run_model` calls the landmarker's C functions directly (`_NativeCall`) when this mediapipe has
the private handles that needs (checked once per landmarker: the version check), else its
public `detect` / `detect_for_video` (`_api_result`). Both give the same `_Result`. Everything
else in `posecheck.pose` talks to mediapipe through this module and `posecheck.inputs.models`.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from posecheck.errors import PosecheckError
from posecheck.inputs.models import quiet_native_stderr
from posecheck.pose.rotation import rotate_image


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


def srgb_image(rgb: np.ndarray) -> Any:
    """An (H, W, 3) uint8 RGB array as the mediapipe.Image a landmarker reads (no copy)."""
    import mediapipe as mp

    return mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)


def make_model_input(image_bgr: np.ndarray, rotation: int) -> ModelInput:
    """Rotate a BGR frame clockwise and wrap it as the RGB image mediapipe reads."""
    rotated = rotate_image(image_bgr, rotation)
    # a rotated copy is ours: convert it in place (one ~1 MB buffer a frame fewer to allocate,
    # fault in and free); the frame itself is never written to
    rgb = cv2.cvtColor(rotated, cv2.COLOR_BGR2RGB,
                       dst=rotated if rotated is not image_bgr else None)
    return ModelInput(
        rotation=rotation,
        source_hw=(int(image_bgr.shape[0]), int(image_bgr.shape[1])),
        rotated_wh=(int(rgb.shape[1]), int(rgb.shape[0])),
        image=srgb_image(rgb),
    )


def warmed_up(model: Any) -> Any:
    """An IMAGE-mode landmarker after one call on a tiny black image: its first call pays a
    one-off set-up (and logs native warnings, kept out of the output), not a real frame."""
    with quiet_native_stderr():
        black = np.zeros((64, 64, 3), np.uint8)
        run_model(model, srgb_image(black))
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


def _num(value: float | None) -> float:
    return float(value) if value is not None else float("nan")
