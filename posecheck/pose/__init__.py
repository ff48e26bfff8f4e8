"""Orientation-aware pose estimation: mediapipe's PoseLandmarker wrapped to return `PoseFrame`s.

The package, by concern (each module's docstring says more):

* `estimator`      `PoseEstimator`: rotation search, tracking, refinement; `PoseStats`;
* `census`         counting the people in view and re-locking the tracker (a mixin);
* `landmarkers`    making, warming, flushing and closing landmarkers; the side model's threads;
* `people`         one result's people: plausibility, whom to follow, how many are in view;
* `mediapipe_call` the mediapipe call shim (direct C call, public-API fallback);
* `rotation`       quarter-turn geometry between a frame and its rotated copy;
* `files`          landmark files (.npz / .csv / .json).

Import from `posecheck.pose`: the names below are the package's interface.
"""

from __future__ import annotations

import os

# mediapipe's C++ side logs INFO/WARNING lines (TFLite delegate, feedback tensors) to stderr.
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from posecheck.pose.estimator import Orientation, PoseEstimator, PoseStats, RunningMode
from posecheck.pose.files import (
    LANDMARK_FORMATS,
    check_landmarks_path,
    load_pose_frames,
    pose_frames_to_arrays,
    save_pose_frames,
)
from posecheck.pose.landmarkers import _SideModel
from posecheck.pose.mediapipe_call import (
    ModelInput,
    _api_result,
    make_model_input,
    run_model,
    warmed_up,
)
from posecheck.pose.people import (
    DUPLICATE_IOU,
    PLAUSIBLE_MARGIN,
    PLAUSIBLE_RATIO,
    TYPICAL_BONES_M,
    UPRIGHT_ENOUGH,
    _Candidate,
    choose_person,
    count_people,
    implausibility,
    no_less_plausible,
    upright_rotation,
)
from posecheck.pose.rotation import (
    ROTATIONS,
    rotate_image,
    rotate_points,
    rotated_wh,
    unrotate_points,
)

__all__ = [
    "DUPLICATE_IOU",
    "LANDMARK_FORMATS",
    "PLAUSIBLE_MARGIN",
    "PLAUSIBLE_RATIO",
    "ROTATIONS",
    "TYPICAL_BONES_M",
    "UPRIGHT_ENOUGH",
    "ModelInput",
    "Orientation",
    "PoseEstimator",
    "PoseStats",
    "RunningMode",
    "_Candidate",
    "_SideModel",
    "_api_result",
    "check_landmarks_path",
    "choose_person",
    "count_people",
    "implausibility",
    "load_pose_frames",
    "make_model_input",
    "no_less_plausible",
    "pose_frames_to_arrays",
    "rotate_image",
    "rotate_points",
    "rotated_wh",
    "run_model",
    "save_pose_frames",
    "unrotate_points",
    "upright_rotation",
    "warmed_up",
]
