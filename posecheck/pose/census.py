"""The people census: now and then count everyone in view with the stateless IMAGE-mode model,
and re-lock the one-person tracker when it follows someone other than the census's choice.

`_Census` is a mixin of `PoseEstimator` (the state it reads is set up there). Why a census at
all: a tracker follows one person at full speed, while tracking two people would run the person
detector on every frame (see `docs/measurements.md`, "Pose: one-person trackers and the census").
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import numpy as np

from posecheck.pose.landmarkers import _SideModel
from posecheck.pose.mediapipe_call import ModelInput
from posecheck.pose.people import _Candidate, _iou, _people, choose_person, count_people
from posecheck.pose.rotation import rotated_wh


@dataclass
class _PendingCensus:
    """A census running on the side model, to be read at frame `due` (a fixed lag, so a run's
    results never depend on thread timing)."""

    due: int
    job: Future[Any]
    model_input: ModelInput  # made from the counted frame (its size maps the people back)
    person_bbox: np.ndarray  # whom the tracker followed on the counted frame
    prev_bbox: np.ndarray | None


class _Census:
    """Counting people and re-locking the tracker (a mixin)."""

    # set up by PoseEstimator (its class, __init__ and _reset_state)
    CENSUS_LAG: int
    census_every_ms: float
    fixed_rotation: int | None
    stats: Any  # PoseStats
    _side: _SideModel | None
    _pending: _PendingCensus | None
    _prev_bbox: np.ndarray | None
    _census_due: bool
    _counted_now: bool
    _last_census_ms: float
    _census_gap_ms: float
    _num_people: int
    _rotation: int | None
    _preferred: int
    _misses: int
    _has_roi: dict[int, bool]
    # the estimator's own steps the census uses
    _infer: Callable[..., list[_Candidate]]
    _input: Callable[..., ModelInput]
    _flush: Callable[..., None]

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
