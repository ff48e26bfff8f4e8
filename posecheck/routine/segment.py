"""Where each block starts in a recorded video: given times, or found from posture and movement."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from posecheck.routine.model import Block, RoutineError

BOUNDARY_WINDOW_S = 2.0  # detection scores windows this long


def parse_boundaries(text: str, n_blocks: int) -> tuple[float, ...]:
    """`0,30,60` -> block start times (s); one per block, increasing, the first usually 0."""
    try:
        values = tuple(float(v) for v in text.replace(" ", "").split(",") if v != "")
    except ValueError:
        raise RoutineError(f"--boundaries must be comma-separated seconds, got {text!r}") from None
    if len(values) != n_blocks:
        raise RoutineError(
            f"--boundaries gives {len(values)} start times but the routine has {n_blocks} blocks"
        )
    if any(v < 0 for v in values) or any(b <= a for a, b in itertools.pairwise(values)):
        raise RoutineError(f"--boundaries must be increasing times >= 0, got {text!r}")
    return values


def _accepted_postures(block: Block) -> tuple[str, ...]:
    if block.exercise is not None:
        from posecheck.core.profiles import get_profile

        return get_profile(block.exercise).postures
    return (block.posture,) if block.posture else ()


def detect_boundaries(
    times_s: Sequence[float],
    postures: Sequence[str | None],
    hip_deg: Sequence[float],
    blocks: Sequence[Block],
    window_s: float = BOUNDARY_WINDOW_S,
) -> tuple[float, ...]:
    """Block start times from how posture and movement change over the video.

    The video is cut into windows; each window gets a score per block: the share of its frames
    in a posture the block accepts, plus (counted blocks) how far the hip angle travels across
    the block's own rest/top zones, or (timed blocks) how still it is. Blocks follow each other
    in order, so the best cut is a monotone assignment of windows to blocks (dynamic
    programming, every block at least one window).
    """
    import numpy as np

    from posecheck.core.profiles import get_profile

    n = len(blocks)
    t = np.asarray(times_s, dtype=float)
    if len(t) == 0:
        raise RoutineError("no frames to find block boundaries in")
    if n == 1:
        return (float(t[0]),)
    t0, t1 = float(t[0]), float(t[-1])
    edges = np.arange(t0, t1 + 1e-9, window_s)
    n_win = len(edges)
    if n_win < n:
        raise RoutineError(f"the video is too short ({t1 - t0:.1f} s) for {n} blocks")
    which = np.minimum(((t - t0) // window_s).astype(int), n_win - 1)
    hip = np.asarray(hip_deg, dtype=float)
    score = np.zeros((n_win, n))
    accepted = [_accepted_postures(b) for b in blocks]
    profiles = [get_profile(b.exercise) if b.exercise else None for b in blocks]
    for w in range(n_win):
        idx = np.nonzero(which == w)[0]
        if len(idx) == 0:
            continue
        # motion over a wider window so one slow rep fits
        wide = np.nonzero(np.abs(t - (edges[w] + window_s / 2)) <= 2 * window_s)[0]
        vals = hip[wide][np.isfinite(hip[wide])]
        for b in range(n):
            known = [postures[i] for i in idx if postures[i]]
            if known and accepted[b]:
                score[w, b] += sum(p in accepted[b] for p in known) / len(known)
            if len(vals) < 3:
                continue
            lo, hi = np.percentile(vals, [5, 95])
            prof = profiles[b]
            if prof is None:
                score[w, b] += 0.5 * max(0.0, 1.0 - (hi - lo) / 15.0)
            else:
                z_lo, z_hi = sorted((prof.rest_deg, prof.top_deg))
                travel = max(0.0, min(hi, z_hi) - max(lo, z_lo)) / (z_hi - z_lo)
                score[w, b] += 0.5 * travel
    # best[w, b]: best total for windows 0..w with window w in block b
    best = np.full((n_win, n), -np.inf)
    back = np.zeros((n_win, n), dtype=int)
    best[0, 0] = score[0, 0]
    for w in range(1, n_win):
        for b in range(n):
            stay = best[w - 1, b]
            move = best[w - 1, b - 1] if b > 0 else -np.inf
            back[w, b] = b if stay >= move else b - 1
            best[w, b] = max(stay, move) + score[w, b]
    starts = [0] * n
    b = n - 1
    for w in range(n_win - 1, 0, -1):
        prev = back[w, b]
        if prev != b:
            starts[b] = w
        b = prev
    cuts = [float(edges[s]) for s in starts]
    # refine each cut to the frame near it where the posture changes or, between a still
    # (timed) block and a counted one in the same posture, where the movement starts or stops
    moving = _moving(t, hip)
    for b in range(1, n):
        same = set(accepted[b]) == set(accepted[b - 1])
        one_timed = (profiles[b] is None) != (profiles[b - 1] is None)
        if not accepted[b] or not accepted[b - 1] or (same and not one_timed):
            continue
        reach = window_s if not same else 2.5 * window_s
        near = np.nonzero(np.abs(t - cuts[b]) <= reach)[0]
        if len(near) < 2:
            continue
        if same:
            before = np.array([1.0 - moving[i] if profiles[b - 1] is None else moving[i]
                               for i in near])
            after = 1.0 - before
        else:
            before = np.array([_match(postures[i], accepted[b - 1]) for i in near])
            after = np.array([_match(postures[i], accepted[b]) for i in near])
        # cut before frame k: frames < k should fit block b-1, frames >= k block b
        gain = np.concatenate(([0.0], np.cumsum(before)))[:-1] + (
            np.cumsum(after[::-1])[::-1]
        )
        k = int(np.argmax(gain))
        lo = cuts[b - 1] if b - 1 > 0 else t0
        cuts[b] = max(float(t[near[k]]), lo + 1e-3)
    return tuple(cuts)


def _moving(t: Any, hip: Any, half_window_s: float = 0.5, still_deg: float = 4.0) -> Any:
    """Per frame: 1 when the hip angle spans more than `still_deg` within ±half a second."""
    import numpy as np

    out = np.zeros(len(t))
    lo = hi = 0
    for i, ti in enumerate(t):
        while t[lo] < ti - half_window_s:
            lo += 1
        while hi < len(t) and t[hi] <= ti + half_window_s:
            hi += 1
        vals = hip[lo:hi][np.isfinite(hip[lo:hi])]
        out[i] = 1.0 if len(vals) >= 2 and vals.max() - vals.min() > still_deg else 0.0
    return out


def _match(posture: str | None, accepted: tuple[str, ...]) -> float:
    """1 when a frame's posture fits a block, 0 when it does not, 0.5 when unknown."""
    if posture is None:
        return 0.5
    return 1.0 if posture in accepted else 0.0

