"""Where each block starts in a recorded video: given times, or found from posture and movement."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from posecheck.apps.routine.model import Block, RoutineError

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
    trunk_deg: Sequence[float] | None = None,
) -> tuple[float, ...]:
    """Block start times from how posture and movement change over the video.

    The video is cut into windows; each window gets a score per block: the share of its frames
    in a posture the block accepts, plus (counted blocks) how far the hip angle travels across
    the block's own rest/top zones, or (timed blocks) how still it is. With `trunk_deg` (trunk
    inclination per frame) a counted block scores nothing where the hip moves by the wrong
    segment (`posecheck.apps.routine.match`: bridges are not leg raises). Blocks follow each other
    in order, so the best cut is a monotone assignment of windows to blocks (dynamic
    programming). A block no window fits gets none: its start equals the next block's (or the
    video's end), and the runner reports it as not done.
    """
    import numpy as np

    from posecheck.apps.routine.match import moves_like, trunk_share
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
    trunk = None if trunk_deg is None else np.asarray(trunk_deg, dtype=float)
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
            if trunk is not None and profiles[b] is not None:
                # only the frames in the block's own posture: a change of posture turns the trunk
                own = wide[[postures[i] in accepted[b] for i in wide]]
                share = trunk_share(t[own], trunk[own], hip[own], -np.inf, np.inf)
                if not moves_like(profiles[b], share):
                    continue
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
    starts = _assign_windows(score)
    cuts = [float(edges[w]) if w < n_win else t1 + 1e-3 for w in starts]
    # refine each cut between two done blocks to the frame near it where the work changes
    # (posture, still against moving, or which segment moves: `_fits_near`)
    moving = _moving(t, hip)
    done = [b for b in range(n) if (b == n - 1 and starts[b] < n_win)
            or (b < n - 1 and starts[b] < starts[b + 1])]
    for a, b in itertools.pairwise(done):
        same = set(accepted[b]) == set(accepted[a])
        reach = window_s if not same else 2.5 * window_s
        near = np.nonzero(np.abs(t - cuts[b]) <= reach)[0]
        fits = _fits_near(near, (a, b), accepted, profiles, postures, moving,
                          (t, trunk, hip))
        if len(near) < 2 or fits is None:
            continue
        before, after = fits
        # cut before frame k: frames < k should fit block a, frames >= k block b
        gain = np.concatenate(([0.0], np.cumsum(before)))[:-1] + (
            np.cumsum(after[::-1])[::-1]
        )
        k = int(np.argmax(gain))
        lo = cuts[a] if a > 0 else t0
        new = max(float(t[near[k]]), lo + 1e-3)
        for e in range(a + 1, b + 1):  # empty blocks between them start where b does
            cuts[e] = new
    return tuple(cuts)


def _fits_near(
    near: Any,
    pair: tuple[int, int],
    accepted: Sequence[tuple[str, ...]],
    profiles: Sequence[Any],
    postures: Sequence[str | None],
    moving: Any,
    signals: tuple[Any, Any | None, Any],
) -> tuple[Any, Any] | None:
    """Per frame near a cut between blocks a and b: how well it fits a, and b (0..1).

    By posture where the two blocks' postures differ; in one posture, by stillness against
    movement (a timed block next to a counted one) or by which segment moves the hip (two
    exercises such as bridges and leg raises). None when nothing tells the two apart.
    """
    import numpy as np

    from posecheck.apps.routine.match import moves_like, trunk_share

    a, b = pair
    if not accepted[a] or not accepted[b]:
        return None
    if set(accepted[a]) != set(accepted[b]):
        return (np.array([_match(postures[i], accepted[a]) for i in near]),
                np.array([_match(postures[i], accepted[b]) for i in near]))
    if (profiles[a] is None) != (profiles[b] is None):
        before = np.array([1.0 - moving[i] if profiles[a] is None else moving[i] for i in near])
        return before, 1.0 - before
    t, trunk, hip = signals
    if trunk is None or profiles[a] is None or profiles[a].trunk_share == profiles[b].trunk_share:
        return None
    fit = {a: [], b: []}
    for i in near:
        own = np.nonzero(np.abs(t - t[i]) <= 1.0)[0]
        share = trunk_share(t[own], trunk[own], hip[own], -np.inf, np.inf)
        for x in (a, b):
            fit[x].append(0.5 if share is None else float(moves_like(profiles[x], share)))
    return np.array(fit[a]), np.array(fit[b])


def _assign_windows(score: Any) -> list[int]:
    """First window of each block in the best monotone assignment of windows to blocks.

    `score[w, b]` is how well window w fits block b. Windows go to blocks in order; a block may
    get none (its first window is then the next block's, or `n_win` after the last window).
    On ties a window stays in the block of the window before it, so a block is skipped only
    when another block fits its windows better.
    """
    import numpy as np

    n_win, n = score.shape
    best = np.array(score[0], dtype=float)
    back = np.zeros((n_win, n), dtype=int)
    for w in range(1, n_win):
        new = np.empty(n)
        for b in range(n):
            prev = b if best[b] >= best[: b + 1].max() else int(np.argmax(best[: b + 1]))
            back[w, b] = prev
            new[b] = best[prev] + score[w, b]
        best = new
    which = [0] * n_win
    b = int(np.argmax(best))
    for w in range(n_win - 1, -1, -1):
        which[w] = b
        b = int(back[w, b])
    starts = [n_win] * n
    for w in range(n_win - 1, -1, -1):
        starts[which[w]] = w
    for b in range(n - 2, -1, -1):
        starts[b] = min(starts[b], starts[b + 1])
    return starts


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

