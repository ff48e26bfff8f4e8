"""The estimator: one person's landmarks per frame, whatever way up the body lies.

Floor exercises film a *lying* body, which BlazePose's detector (trained on mostly upright
people) often misses as filmed. With `orientation="auto"` the estimator looks at the frame
turned by 0/90/180/270 degrees, keeps the rotation that finds an upright body, sticks with it
while the tracker follows it, and searches again (a bounded number of extra inferences a frame)
once it has been lost for a few frames. Landmarks are mapped back to the original pixels exactly.

Each rotation has its own VIDEO-mode tracker (its own clock and tracking state), which follows
ONE person: mediapipe re-uses the last frame's region of interest only then. Only the tracked
rotation's tracker is fed; searches and refinements probe other rotations with the stateless
IMAGE-mode landmarker, and a tracker taken up again after a gap is first cleared with a black
frame (a stale region would bend the fit). People are counted by the census (`census.py`).

Among rotations, anatomically plausible skeletons win first (`people.implausibility`), then
uprightness: BlazePose can return a confident, upright but wrongly folded body. Figures behind
these choices: docs/measurements.md, "Pose".
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from posecheck.core.landmarks import PoseFrame
from posecheck.errors import PosecheckError
from posecheck.inputs.models import quiet_native_stderr, resolve_model, restore_native_stderr
from posecheck.pose.census import _Census, _PendingCensus
from posecheck.pose.landmarkers import _Landmarkers, _SideModel
from posecheck.pose.mediapipe_call import ModelInput, _Result, make_model_input, run_model
from posecheck.pose.people import (
    UPRIGHT_ENOUGH,
    _Candidate,
    _people,
    choose_person,
    count_people,
    no_less_plausible,
    upright_rotation,
)
from posecheck.pose.rotation import ROTATIONS

RunningMode = Literal["video", "image"]
Orientation = Literal["auto", 0, 90, 180, 270]


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


class PoseEstimator(_Census, _Landmarkers):
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
        search_budget: rotations tried per frame while a search goes on (all four on its first
            frame, one a frame after `SLOW_SEARCH_AFTER`): the extra cost when nobody is seen.
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
        """Detect on `inputs.sources.Frame`s (anything with index, timestamp_ms, image)."""
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
        restore_native_stderr()  # an interrupt may have cut a quiet section short

    def __enter__(self) -> PoseEstimator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
