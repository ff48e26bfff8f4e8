"""Left/right leg identity guard: undo a pose model's clean leg swaps, flag its leg merges.

Seen from the side, a pose model often confuses the two legs while one is raised: it labels the
raised leg as the other one (a clean *swap*) or puts both knees and feet onto their midpoint (a
*merge*). Either turns one knee raise into two or three "reps". Both break the legs' continuity,
so the guard keeps a short causal track of each leg (knee, ankle, heel, toe; the hips are left
alone) and compares every frame with its constant-velocity prediction:

* the labels continue the track (each leg within FIT): passed on untouched, the track follows;
* swap: the legs are as far apart as predicted and the exchanged labels fit the prediction
  (and at most half as badly as the given ones) -> the legs' landmarks are exchanged back
  (image, depth, world, visibility, presence);
* merge: the legs were clearly apart and not closing in, and the knees and the ankles both
  jumped towards each other -> both legs are untrusted for that frame (zero visibility; the
  analyzer drops their angles). No value is invented; the track waits at its last position.

Nearness alone is never a merge (legs on top of each other standing, a leg put down, a march
passing one leg across the other). Identity is judged only on an established track (CONFIRM
frames) with the legs apart; a frame the track cannot follow is passed on while the track waits
(HOLD_MS), then it restarts. Made for 25-30 fps. The rules in full, the known limits (15 fps
merges) and what it changed: docs/core.md, "Leg identity guard"; docs/measurements.md, "Legs".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from posecheck.core.landmarks import NUM_LANDMARKS, Landmark, PoseFrame

# Points that follow each leg (the hips stay: a side view's model keeps their labels).
LEFT_LEG = (
    Landmark.LEFT_KNEE,
    Landmark.LEFT_ANKLE,
    Landmark.LEFT_HEEL,
    Landmark.LEFT_FOOT_INDEX,
)
RIGHT_LEG = (
    Landmark.RIGHT_KNEE,
    Landmark.RIGHT_ANKLE,
    Landmark.RIGHT_HEEL,
    Landmark.RIGHT_FOOT_INDEX,
)
_L = np.array(LEFT_LEG, dtype=np.intp)
_R = np.array(RIGHT_LEG, dtype=np.intp)
_LR = np.concatenate([_L, _R])
_RL = np.concatenate([_R, _L])
_TRUNK = np.array(
    [Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER, Landmark.LEFT_HIP, Landmark.RIGHT_HIP],
    dtype=np.intp,
)

# Distances are in trunk lengths (shoulder midpoint to hip midpoint in the image): it does not
# depend on what the legs do; a raised knee's leg sits 0.5-1 of it from the standing one.
APART = 0.35  # legs at least this far apart (mean over the 4 point pairs) are judged
TOGETHER = 0.2  # legs closer than this (a side view's standing legs) cannot be told apart
FIT = 0.12  # a leg continues its track when its points lie this close to the prediction (mean)
SWAP_FIT = 0.25  # exchanged labels fit when the legs' mean distance to the prediction is this
STALE_SWAP_FIT = 0.15  # ... after frames the track could not follow (legs that crossed meanwhile
# can look exchanged against the held track; a model's swap of still legs fits it closely)
SWAP_RATIO = 0.5  # ... and at most half the given labels' distance
KEEP_APART = 0.6  # a swap keeps the legs at least this fraction of their distance apart
COLLAPSE = 0.5  # a merge brings them closer than this fraction (once merging: KEEP_APART, the
# model's legs drift between merged and swapped)
MOVED = 0.15  # ... and the knees and the ankles each moved this fraction of their distance
# towards the other leg
CONFIRM = 3  # frames continuing a new track before it judges anything
HORIZON_MS = 70.0  # the velocity is extrapolated at most this far (then the track holds)
ONSET_MS = 100.0  # a merge starts within this long of a frame that continued the track
STEADY = 0.9  # ... whose legs were at least this fraction of their widest in the last TREND_MS
TREND_MS = 200.0
HOLD_MS = 250.0  # an established track waits this long for a frame that continues it (after
# its last trusted or merged frame)
MAX_GAP_MS = 300.0  # after a gap without a pose this long, the track restarts
MAX_MERGE_MS = 1000.0  # a "merge" lasting longer is believed (the legs really came together)


@dataclass(frozen=True)
class LegCheck:
    """The guard's verdict on one frame.

    pose: the frame to measure (legs exchanged back after a swap, zero leg visibility after a
        merge; the input object itself when nothing was wrong).
    swapped: the legs' labels were exchanged back.
    merged: both legs' positions are untrusted in this frame.
    """

    pose: PoseFrame
    swapped: bool = False
    merged: bool = False

    @property
    def touched(self) -> bool:
        return self.swapped or self.merged


def swap_legs(pose: PoseFrame) -> PoseFrame:
    """The pose with the left and right legs' landmarks exchanged (every per-landmark array)."""
    out = {}
    for name in ("image_xy", "image_z", "world_xyz", "visibility", "presence"):
        arr = getattr(pose, name)
        if arr is not None:
            arr = np.array(arr, copy=True)
            arr[_LR] = arr[_RL]
        out[name] = arr
    return replace(pose, **out)


def _without_legs(pose: PoseFrame) -> PoseFrame:
    """The pose with both legs marked unseen (positions kept: nothing is invented)."""
    vis = np.ones(NUM_LANDMARKS) if pose.visibility is None else pose.visibility.copy()
    vis[_LR] = 0.0
    return replace(pose, visibility=vis)


def _mean_dist(a: np.ndarray, b: np.ndarray) -> float:
    d = a - b
    return float(np.mean(np.sqrt(np.sum(d * d, axis=-1))))


class LegGuard:
    """Causal leg identity guard: `check(pose)` once per frame, in timestamp order."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._seen = 0.0  # the last frame with a pose
        self.swaps = 0
        self.merges = 0
        self._restart(0.0, None)

    def _restart(self, t: float, pts: np.ndarray | None) -> None:
        """A new track from `pts` (None: none yet, the next frame with legs starts it)."""
        self._pts: np.ndarray | None = pts  # (8, 2) trusted left then right leg points
        self._vel = np.zeros((8, 2))  # px/ms
        self._t = t  # the last trusted frame's time
        self._merge_since: float | None = None
        self._merge_last = -math.inf  # the last merged frame
        self._confirmed = 0  # clean frames since the track (re)started
        self._clean = False  # the last trusted frame continued the track uncorrected
        # the legs' smallest distance in the frames since the last trusted one that were
        # neither fitted nor merged (inf: none, the track is not stale)
        self._stale_sep = math.inf
        # (legs' distance, t) of recent trusted frames
        self._seps: list[tuple[float, float]] = (
            [] if pts is None else [(_mean_dist(pts[:4], pts[4:]), t)]
        )

    def _accept(self, t: float, pts: np.ndarray, clean: bool) -> None:
        """Move the track to `pts`. The velocity comes only from two clean frames in a row (a
        frame put right after a swap or a merge may be a little off: its velocity would carry
        the track away)."""
        assert self._pts is not None
        dt = t - self._t
        ok = clean and self._clean and self._merge_since is None and dt > 0
        self._vel = (pts - self._pts) / dt if ok else np.zeros((8, 2))
        self._pts, self._t, self._merge_since, self._clean = pts, t, None, clean
        self._stale_sep = math.inf
        self._seps = [(s, t0) for s, t0 in self._seps if t0 >= t - TREND_MS]
        self._seps.append((_mean_dist(pts[:4], pts[4:]), t))
        if clean:
            self._confirmed += 1

    def check(self, pose: PoseFrame) -> LegCheck:
        """The verdict on the next frame (frames in timestamp order)."""
        xy = pose.image_xy
        t = pose.timestamp_ms
        if xy is None:
            return LegCheck(pose)  # no pose: the track waits (MAX_GAP_MS ends it)
        pts = xy[_LR]
        trunk_pts = xy[_TRUNK]
        scale = math.hypot(*((trunk_pts[0] + trunk_pts[1] - trunk_pts[2] - trunk_pts[3]) / 2))
        if not (np.isfinite(pts).all() and math.isfinite(scale) and scale > 0):
            self._restart(t, None)
            return LegCheck(pose)
        gap, self._seen = t - self._seen, t
        if self._pts is None or gap > MAX_GAP_MS or t <= self._t:
            self._restart(t, pts)
            return LegCheck(pose)
        pred = self._pts + self._vel * min(t - self._t, HORIZON_MS)
        left, right = pts[:4], pts[4:]
        p_left, p_right = pred[:4], pred[4:]
        fit = FIT * scale
        miss_left, miss_right = _mean_dist(left, p_left), _mean_dist(right, p_right)
        if max(miss_left, miss_right) <= fit:
            self._accept(t, pts, clean=True)  # the labels continue the track
            return LegCheck(pose)
        e_id = miss_left + miss_right  # the given labels' misfit, and the exchanged ones'
        e_sw = _mean_dist(left, p_right) + _mean_dist(right, p_left)
        sep = _mean_dist(left, right)
        sep_pred = _mean_dist(p_left, p_right)
        last_left, last_right = self._pts[:4], self._pts[4:]
        sep_last = _mean_dist(last_left, last_right)
        stale = math.isfinite(self._stale_sep)
        if self._confirmed >= CONFIRM and min(sep_pred, sep_last) >= APART * scale:
            # legs clearly apart on an established track: judge the break of continuity
            merging = self._merge_since is not None
            if sep < (KEEP_APART if merging else COLLAPSE) * sep_last:
                # the knees and the ankles each jumped towards each other from where they were
                # last seen, both of them (a leg put down meets the standing one, which stays
                # where it was; feet that swing past each other leave the knees apart)
                towards = last_right[:2] - last_left[:2]
                d_last = np.linalg.norm(towards, axis=1)
                towards = towards / np.maximum(d_last[:, None], 1e-9)
                moved_l = np.sum((left[:2] - last_left[:2]) * towards, axis=1)
                moved_r = np.sum((last_right[:2] - right[:2]) * towards, axis=1)
                collapsed = bool(
                    np.all(d_last >= APART * scale)
                    and np.all(np.minimum(moved_l, moved_r) >= MOVED * d_last)
                )
                # ... out of legs that were apart and not closing in (the raised leg held or
                # still rising): legs that pass each other, fast, meet on purpose
                onset = t - self._t <= ONSET_MS and sep_last >= STEADY * max(self._seps)[0]
                if collapsed and (onset or merging):
                    if self._merge_since is None:
                        self._merge_since = t
                    if t - self._merge_since <= MAX_MERGE_MS:
                        self.merges += 1
                        self._merge_last = t
                        return LegCheck(_without_legs(pose), merged=True)
            elif sep >= KEEP_APART * sep_pred:
                # a held track (frames since it that it could not follow) takes a close fit only
                limit = STALE_SWAP_FIT if stale else SWAP_FIT
                # ... and legs that came within half their distance meanwhile may have crossed
                crossed = self._stale_sep < COLLAPSE * sep_last
                if e_sw <= 2 * limit * scale and e_sw < SWAP_RATIO * e_id and not crossed:
                    if e_sw <= 2 * fit:  # the track follows only a swap that fits it closely
                        self._accept(t, np.concatenate([right, left]), clean=False)
                    self.swaps += 1
                    return LegCheck(swap_legs(pose), swapped=True)
        if self._confirmed >= CONFIRM and sep >= sep_pred:
            # a move too fast for the prediction (a raise's first frame at 10-15 fps) that opens
            # the legs: followed when its labels fit far better than exchanged ones, or, out of
            # legs on top of each other, at least as well (an unexplained jump of legs that were
            # apart, or a leg that bounced off the other as they crossed, is not followed)
            together = min(sep_pred, sep_last) < TOGETHER * scale
            if e_id < SWAP_RATIO * e_sw or (together and e_id <= e_sw):
                self._accept(t, pts, clean=True)
                return LegCheck(pose)
        if self._confirmed >= CONFIRM and t - max(self._t, self._merge_last) <= HOLD_MS:
            self._clean = False  # not explained: passed on, the track waits for a fit
            self._stale_sep = min(self._stale_sep, sep)  # finite: the track is stale
            return LegCheck(pose)
        self._restart(t, pts)  # a change the track cannot explain: believe the frame
        return LegCheck(pose)
