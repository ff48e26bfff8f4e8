"""The landmarkers a `PoseEstimator` owns: a VIDEO-mode tracker per rotation, one stateless
IMAGE-mode probe, and the side model's threads that load and make them ahead of need.

`_Landmarkers` is a mixin of `PoseEstimator` (the state it reads is set up there); it keeps the
making, warming, flushing and closing of landmarkers apart from the per-frame decisions.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from posecheck.errors import PosecheckError
from posecheck.inputs.models import ModelBundle, create_landmarker, quiet_native_stderr
from posecheck.pose.mediapipe_call import ModelInput, run_model, srgb_image, warmed_up
from posecheck.pose.rotation import ROTATIONS


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


class _Landmarkers:
    """Making, warming, flushing and closing the estimator's landmarkers (a mixin)."""

    # set up by PoseEstimator.__init__ / _reset_state
    bundle: ModelBundle
    num_poses: int
    fixed_rotation: int | None
    min_pose_detection_confidence: float
    min_pose_presence_confidence: float
    min_tracking_confidence: float
    _closed: bool
    _side: _SideModel | None
    _landmarkers: dict[int, object]
    _spare: dict[int | str, Future[object]]
    _probe_landmarker: object | None
    _black: np.ndarray | None
    _last_ts: dict[int, int]
    _has_roi: dict[int, bool]
    _turn_expected: bool
    stats: Any  # PoseStats

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
        w, h = rotated_wh
        if self._black is None or self._black.shape[:2] != (h, w):
            self._black = np.zeros((h, w, 3), np.uint8)
        ts = self._tracker_ts(rotation, timestamp_ms - 1)
        run_model(self._landmarker(rotation), srgb_image(self._black), ts)
        self._has_roi[rotation] = False
        self.stats.flushes += 1
