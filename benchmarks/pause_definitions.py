"""Two definitions of the pause at the top, scored on people's labels and on rendered truth.

posecheck times a pause on the hip signal it counts with (docs/pauses.md). The people who
labelled the real clips read pause edges off the whole body's motion ("a pixel-motion curve",
../shared/clips/SOURCES.md). This script times each counted rep's pause a second way, from the
lower body's motion, and prints both against the labels of the real clips and against the exact
truth of the rendered corpus, so the trade-off between the two can be re-measured:

- `hip signal`: posecheck's pause (`Rep.hold`), as shipped;
- `body still`: around the rep's top, the stretch where the hips, knees and ankles together move
  slower than SHARE x their median speed through the middle of the rep (20-80 % of its range),
  inside the top 30 % of the range (falls back to the hip-signal pause where there is none);
- `trimmed`: the hip-signal pause cut to the body-still stretch (it can only shorten).

    python benchmarks/pause_definitions.py --poses DIR \
        [--rendered DIR --rendered-poses DIR]

DIR/NAME.npz are landmark files from `posecheck pose CLIP --out DIR/NAME.npz`; the rendered
corpus is `python -m posecheck.synthetic.corpus --dir DIR`. Results: docs/pauses.md.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from posecheck.apps.agreement import match_pauses
from posecheck.core.analyzer import analyse_poses
from posecheck.core.pause import smooth
from posecheck.pose import load_pose_frames

CLIPS = Path(__file__).resolve().parents[1].parent / "shared" / "clips"
REST_PAUSE_EXERCISES = ("romanian_deadlift", "back_lunge")
LOWER_BODY = (23, 24, 25, 26, 27, 28)  # hips, knees, ankles
TOP_SHARE = 0.3  # the body-still stretch lies within this share of the range below the top
SHARES = (0.3, 0.4, 0.5, 0.6)

Span = tuple[float, float]


def body_speed(npz: Path) -> tuple[np.ndarray, np.ndarray]:
    """(t_ms, speed) of the lower body, in torso lengths per second, on +-100 ms line fits."""
    d = np.load(npz)
    ok = d["present"]
    t, xy = d["t_ms"][ok], d["image_xy"][ok]
    torso = np.median(np.linalg.norm((xy[:, 11] + xy[:, 12] - xy[:, 23] - xy[:, 24]) / 2, axis=1))
    sq = np.zeros(t.size)
    for k in LOWER_BODY:
        for c in (0, 1):
            sq += smooth(t, xy[:, k, c] / torso)[1] ** 2
    return t, 1000.0 * np.sqrt(sq)


def still_spans(
    npz: Path, exercise: str, shares: Sequence[float]
) -> tuple[list[Span], dict[float, list[Span | None]]]:
    """(hip-signal pauses, per share the body-still stretch or None of each rep), in ms. The
    core runs once per clip; only the stretch depends on the share."""
    frames, _ = load_pose_frames(npz)
    results, summary = analyse_poses(frames, exercise)
    t, speed = body_speed(npz)
    pt = np.array([r.t_ms for r in results])
    pv = np.array([r.primary_deg for r in results])
    fin = np.isfinite(pv)
    pt, pv = pt[fin], pv[fin]
    holds = [(h.start_ms, h.end_ms) for h in summary.holds]
    out: dict[float, list[Span | None]] = {share: [] for share in shares}
    for rep in summary.reps:
        idx = np.flatnonzero((t >= rep.start_ms) & (t <= rep.end_ms))
        in_rep = pv[(pt >= rep.start_ms) & (pt <= rep.end_ms)]
        near = idx[np.abs(t[idx] - rep.top_ms) <= 300]
        if idx.size < 5 or in_rep.size < 5 or near.size == 0:
            for spans in out.values():
                spans.append(None)
            continue
        top_v = float(np.interp(rep.top_ms, pt, pv))
        sign = 1.0 if top_v - in_rep.min() >= in_rep.max() - top_v else -1.0
        bottom = min(sign * in_rep[0], sign * in_rep[-1])
        frac = (sign * np.interp(t, pt, pv) - bottom) / max(sign * top_v - bottom, 1e-9)
        mid = idx[(frac[idx] >= 0.2) & (frac[idx] <= 0.8)]
        ref = np.median(speed[mid]) if mid.size >= 3 else np.percentile(speed[idx], 90)
        slowest = int(near[np.argmin(speed[near])])
        for share, spans in out.items():
            spans.append(_stretch(t, (speed <= share * ref) & (frac >= 1.0 - TOP_SHARE),
                                  slowest, int(idx[0]), int(idx[-1])))
    return holds, out


def _stretch(t: np.ndarray, still: np.ndarray, seed: int, first: int, last: int) -> Span | None:
    """The run of still samples through `seed`, within [first, last]; None under 200 ms."""
    if not still[seed]:
        return None
    a = b = seed
    while a - 1 >= first and still[a - 1]:
        a -= 1
    while b + 1 <= last and still[b + 1]:
        b += 1
    return (float(t[a]), float(t[b])) if t[b] - t[a] >= 200 else None


def _body_still(holds: list[Span], still: list[Span | None]) -> list[Span]:
    """Each rep's body-still stretch; the hip-signal pause inside a rep that has none."""
    spans = [s for s in still if s is not None]
    spans += [h for h in holds if not any(s and s[0] <= h[1] and h[0] <= s[1] for s in still)]
    return sorted(spans)


def _trimmed(holds: list[Span], still: list[Span | None]) -> list[Span]:
    out = []
    for h in holds:
        s = next((s for s in still if s and s[0] <= h[1] and h[0] <= s[1]), None)
        cut = h if s is None else (max(h[0], s[0]), min(h[1], s[1]))
        if cut[1] - cut[0] >= 200:
            out.append(cut)
    return out


DEFINITIONS: dict[str, Callable[[list[Span], list[Span | None]], list[Span]]] = {
    "hip signal": lambda holds, _: holds,
    "body still": _body_still,
    "trimmed": _trimmed,
}


def score(
    labels: Path, poses: Path, shares: Sequence[float], rest_pauses: bool
) -> dict[float, dict[str, list[float | None]]]:
    """Per share and definition, the signed duration error (s) of every labelled pause (None:
    missed)."""
    errors = {share: {name: [] for name in DEFINITIONS} for share in shares}
    for entry in json.loads(labels.read_text()):
        npz = poses / f"{Path(entry['file']).stem}.npz"
        if not entry["holds"] or not npz.exists():
            continue
        if not rest_pauses and entry["exercise"] in REST_PAUSE_EXERCISES:
            continue
        holds, still = still_spans(npz, entry["exercise"], shares)
        labelled = [(h["start_s"], h["end_s"]) for h in entry["holds"]]
        for share in shares:
            for name, define in DEFINITIONS.items():
                spans = [(a / 1000.0, b / 1000.0) for a, b in define(holds, still[share])]
                matches = match_pauses(entry["file"], labelled, spans)
                errors[share][name] += [m.error_s for m in matches]
    return errors


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=Path, default=CLIPS)
    ap.add_argument("--poses", type=Path, required=True, help="landmarks of the real clips")
    ap.add_argument("--rendered", type=Path, help="rendered corpus (its labels.json)")
    ap.add_argument("--rendered-poses", type=Path, help="landmarks of the rendered corpus")
    args = ap.parse_args(argv)
    print(f"{'definition':11s} {'share':>5s} | real: found  ±0.25 s  mean | "
          "rendered: ±0.15 s  worst  mean")
    real_by_share = score(args.clips / "labels.json", args.poses, SHARES, rest_pauses=False)
    rendered_by_share = None
    if args.rendered and args.rendered_poses:
        rendered_by_share = score(
            args.rendered / "labels.json", args.rendered_poses, SHARES, rest_pauses=True
        )
    for share in SHARES:
        real = real_by_share[share]
        rendered = None if rendered_by_share is None else rendered_by_share[share]
        for name in DEFINITIONS:
            if name == "hip signal" and share != SHARES[0]:
                continue
            errs = real[name]
            got = [e for e in errs if e is not None]
            shown = "-" if name == "hip signal" else f"{share:.1f}"
            line = (f"{name:11s} {shown:>5s} | {len(got):7d}/{len(errs)} "
                    f"{sum(abs(e) <= 0.25 for e in got):5d}/{len(errs)} {np.mean(got):+6.3f}")
            if rendered is not None:
                r = [e for e in rendered[name] if e is not None]
                line += (f" | {sum(abs(e) <= 0.15 for e in r):9d}/{len(rendered[name])} "
                         f"{max(map(abs, r)):6.2f} {np.mean(r):+6.3f}")
            print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
