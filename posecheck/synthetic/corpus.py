"""The rendered test corpus: exercises x cameras x bodies x mistakes, rendered on demand.

Too big to commit and too slow to render per test (a 10 s clip is ~10-20 s of CPU), so the
corpus lives in a cache directory outside the repo (`POSECHECK_CORPUS_DIR`, default
`~/.cache/posecheck/corpus`). `ensure_corpus` renders only the clips whose scenario or
generating code changed (`NAME.key` records both hashes) and writes `labels.json` beside them,
in the format of `../shared/clips/labels.json` plus truth extras, so
`posecheck batch DIR --labels DIR/labels.json` scores it. The slow test tier and the accuracy
benchmark use it.

    python -m posecheck.synthetic.corpus [--dir DIR] [--workers N] [--list] [NAME ...]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from posecheck.synthetic.scenario import (
    Scenario,
    labels_entry,
    parse_scenario,
    render_scenario,
)

DEFAULT_DIR = Path("~/.cache/posecheck/corpus")

# Bodies: height, build, skin and clothes vary together so every clip differs in several ways.
BODIES: dict[str, str] = {
    "a": 'height_m = 1.70\nskin = "medium"\nshirt = "#2f6fd0"\nbottoms = "#26262c"\n'
         'shoes = "#f0f0ee"',
    "b": 'height_m = 1.86\ngirth = 1.1\nskin = "dark"\nshirt = "#c8322d"\nbottoms = "#1c2440"\n'
         'shoes = "#202020"\nhair = "#0d0d0d"\nlong_trousers = true',
    "c": 'height_m = 1.58\ngirth = 0.92\nskin = "light"\nshirt = "#2e8b57"\nbottoms = "#3a3a3a"\n'
         'shoes = "#d8d8d8"\nhair = "#6b4a2b"',
}

# Camera blocks. Standing per-leg exercises are filmed from 20 deg behind the side: exactly
# side-on, the pose model labels whichever knee is raised as "right" (see sample_videos/README).
CAMERAS: dict[str, str] = {
    "side_l": 'view = "side_left"',
    "side_r": 'view = "side_right"',
    "floor_r": 'view = "floor_right"',
    "tq_l": 'view = "three_quarter_left"',
    "rear_side_r": 'view = "side_right"\nazimuth_deg = -110.0',
    "rear_side_l": 'view = "side_left"\nazimuth_deg = 110.0',
}

# Exercise -> (hold at the top in s, reps, cameras). Holds follow the profiles' targets.
EXERCISES: dict[str, tuple[float, int, tuple[str, ...]]] = {
    "glute_bridge": (2.0, 3, ("side_l", "floor_r", "tq_l", "side_r")),
    "single_leg_bridge": (1.0, 3, ("side_l", "side_r")),
    "hip_thrust": (1.0, 3, ("side_l", "side_r")),
    "frog_pump": (0.5, 4, ("side_l", "side_r")),
    "standing_knee_raise": (0.4, 6, ("rear_side_r", "rear_side_l")),
    "seated_march": (0.3, 6, ("side_r", "side_l")),
    "lying_leg_raise": (0.5, 3, ("side_l", "side_r")),
    "romanian_deadlift": (0.5, 3, ("side_l", "tq_l")),
    "back_lunge": (0.3, 4, ("rear_side_r", "side_l")),
    "prone_leg_lift": (0.5, 4, ("side_l", "side_r")),
    "quadruped_hip_extension": (0.5, 4, ("side_l", "side_r")),
}
NEGATIVES: dict[str, tuple[int, tuple[str, ...]]] = {
    "squat": (3, ("side_l", "tq_l")),
    "pelvic_tilt": (4, ("side_l", "floor_r")),
    "lying_still": (1, ("side_l", "floor_r")),
    "get_down_and_up": (1, ("side_r",)),
}
BRIDGE_MISTAKES = ("short_hold", "incomplete_lockout", "over_arch", "hips_drop", "fast_tempo")


@dataclass(frozen=True)
class CorpusClip:
    """One corpus scenario, as TOML text (its hash is the cache key)."""

    name: str
    text: str

    def scenario(self) -> Scenario:
        return parse_scenario(self.text, default_name=self.name)


def _toml(name: str, exercise: str, seed: int, reps: list[str], body: str, camera: str,
          notes: str, script_extra: str = "") -> str:
    return (
        f'name = "{name}"\nexercise = "{exercise}"\nseed = {seed}\nnotes = "{notes}"\n\n'
        f"[script]\nlead_in_s = 0.8\nlead_out_s = 0.8\nrest_s = 0.5\n{script_extra}\n"
        + "".join(f"[[script.reps]]\n{r}\n\n" for r in reps)
        + f"[body]\n{body}\n\n[camera]\n{camera}\nwidth = 480\nheight = 360\nfps = 25\n"
    )


def _rep(hold: float, up: float = 0.8, down: float = 0.9, count: int = 1, extra: str = "") -> str:
    return f"count = {count}\nup_s = {up}\nhold_s = {hold}\ndown_s = {down}\n{extra}".rstrip()


def corpus_clips() -> list[CorpusClip]:
    """Every corpus scenario (deterministic order and names)."""
    clips: list[CorpusClip] = []
    bodies = list(BODIES)
    seed = 100
    for exercise, (hold, reps, cams) in EXERCISES.items():
        for k, cam in enumerate(cams):
            body = bodies[(len(clips) + k) % len(bodies)]
            seed += 1
            name = f"{exercise}__{cam}__{body}"
            rep_list = [_rep(hold, count=reps)]
            if exercise in ("standing_knee_raise", "glute_bridge") and k == 0:
                # One partial rep in the middle of the set.
                rep_list = [_rep(hold, count=reps - 1),
                            _rep(0.2, 0.6, 0.6, extra="depth = 0.45\npartial = true"),
                            _rep(hold)]
            clips.append(CorpusClip(name, _toml(
                name, exercise, seed, rep_list, BODIES[body], CAMERAS[cam],
                f"{reps} reps, hold {hold} s, camera {cam}, body {body}")))
    for i, mistake in enumerate(BRIDGE_MISTAKES):
        for cam in ("side_l", "floor_r"):
            body = bodies[(i + len(cam)) % len(bodies)]
            seed += 1
            name = f"glute_bridge_{mistake}__{cam}__{body}"
            reps = [_rep(2.0), _rep(2.0, extra=f'mistakes = ["{mistake}"]'), _rep(2.0)]
            clips.append(CorpusClip(name, _toml(
                name, "glute_bridge", seed, reps, BODIES[body], CAMERAS[cam],
                f"3 reps, the second with {mistake}, camera {cam}, body {body}")))
    for exercise, (reps, cams) in NEGATIVES.items():
        for k, cam in enumerate(cams):
            body = bodies[(k + len(exercise)) % len(bodies)]
            seed += 1
            name = f"neg_{exercise}__{cam}__{body}"
            hold = 3.0 if exercise in ("lying_still", "get_down_and_up") else 0.5
            up = 2.0 if exercise == "get_down_and_up" else 0.9
            clips.append(CorpusClip(name, _toml(
                name, exercise, seed, [_rep(hold, up, up, count=reps)], BODIES[body],
                CAMERAS[cam], f"negative: {reps} x {exercise}, camera {cam}, body {body}")))
    return clips


def corpus_dir(directory: str | Path | None = None) -> Path:
    """The cache directory: argument, else $POSECHECK_CORPUS_DIR, else ~/.cache/posecheck/corpus."""
    chosen = directory or os.environ.get("POSECHECK_CORPUS_DIR") or DEFAULT_DIR
    return Path(chosen).expanduser()


def _code_digest() -> str:
    """sha256 of the modules that decide what a clip looks like and what its truth is, so a
    change to the body model, the motions or the renderer re-renders the corpus."""
    from posecheck.synthetic import kinematics, motions, poses, render, scenario, scene

    h = hashlib.sha256()
    for module in (kinematics, motions, poses, scene, render, scenario):
        h.update(Path(module.__file__ or "").read_bytes())
    return h.hexdigest()


def cache_key(scenario: Scenario) -> str:
    """What a cached clip must have been rendered from: the scenario text and today's code."""
    return hashlib.sha256((scenario.digest + _code_digest()).encode()).hexdigest()


def _up_to_date(directory: Path, scenario: Scenario) -> dict | None:
    truth = directory / f"{scenario.name}.truth.json"
    video = directory / f"{scenario.name}.mp4"
    key = directory / f"{scenario.name}.key"
    if not (truth.exists() and video.exists() and key.exists()):
        return None
    try:
        if key.read_text().strip() != cache_key(scenario):
            return None
        return json.loads(truth.read_text())
    except (OSError, ValueError):
        return None


def ensure_corpus(
    directory: str | Path | None = None,
    *,
    names: Iterable[str] | None = None,
    workers: int = 1,
    on_clip: Callable[[str, bool], None] | None = None,
) -> Path:
    """Render missing or stale corpus clips; write labels.json; return its path.

    `names` limits the clips (default: all); `on_clip(name, rendered)` reports progress.
    """
    out = corpus_dir(directory)
    out.mkdir(parents=True, exist_ok=True)
    wanted = set(names) if names is not None else None
    clips = [c for c in corpus_clips() if wanted is None or c.name in wanted]
    if wanted is not None and len(clips) != len(wanted):
        known = {c.name for c in corpus_clips()}
        raise KeyError(f"unknown corpus clip(s): {', '.join(sorted(wanted - known))}")
    entries = []
    for clip in clips:
        scenario = clip.scenario()
        record = _up_to_date(out, scenario)
        rendered = record is None
        if record is None:
            (out / f"{clip.name}.toml").write_text(clip.text)
            record = render_scenario(scenario, out, workers=workers)
            (out / f"{clip.name}.key").write_text(cache_key(scenario) + "\n")
        entries.append(labels_entry(record))
        if on_clip:
            on_clip(clip.name, rendered)
    labels = out / "labels.json"
    if wanted is None:
        labels.write_text(json.dumps(entries, indent=1) + "\n")
    else:  # merge into an existing labels.json so partial renders do not drop other clips
        old = json.loads(labels.read_text()) if labels.exists() else []
        merged = {e["file"]: e for e in old}
        merged.update({e["file"]: e for e in entries})
        order = [c.name + ".mp4" for c in corpus_clips()]
        labels.write_text(json.dumps([merged[f] for f in order if f in merged], indent=1) + "\n")
    return labels


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m posecheck.synthetic.corpus",
                                 description="Render the synthetic test corpus (cached).")
    ap.add_argument("names", nargs="*", help="clip names (default: all)")
    ap.add_argument("--dir", default=None, help="cache directory")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--list", action="store_true", help="list clip names and exit")
    args = ap.parse_args(argv)
    if args.list:
        for c in corpus_clips():
            print(c.name)
        return 0
    labels = ensure_corpus(
        args.dir, names=args.names or None, workers=args.workers,
        on_clip=lambda n, r: print(f"{'rendered' if r else 'cached  '} {n}", flush=True),
    )
    print(labels)
    return 0


if __name__ == "__main__":
    sys.exit(main())
