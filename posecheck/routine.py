"""Routines as data: an ordered list of exercise blocks, written in a small TOML file.

Why data: the seeds' daily reset and the balanced flexion/extension routine are just orderings
of exercise profiles with targets, so a user can write their own without code. A routine file:

    name = "my_routine"            # optional, defaults to the file name
    title = "My hips"              # optional
    rest_s = 15                    # optional default rest after each block

    [[block]]
    name = "Prone breathing"       # a timed block: no exercise, nothing counted
    posture = "prone"
    duration_s = 180

    [[block]]
    exercise = "glute_bridge"      # a profile name (`posecheck exercises`)
    reps = 10                      # and/or duration_s
    hold_s = 2                     # hold target at the top (default: the profile's)
    rest_s = 30

Every validation error is one line naming the file and the line: `my.toml:12: block 2: ...`.
"""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10 with tomli installed
    import tomli as tomllib  # type: ignore[no-redef]

from posecheck.core.results import FrameResult
from posecheck.errors import ProfileError

NAN = float("nan")

POSTURES = ("standing", "supine", "prone", "quadruped", "seated")
ROUTINE_KEYS = ("name", "title", "description", "rest_s", "block")
BLOCK_KEYS = ("name", "exercise", "posture", "reps", "duration_s", "hold_s", "rest_s", "cue")
MAX_REPS = 1000
MAX_DURATION_S = 3600.0


class RoutineError(ProfileError):
    """A routine cannot be found or its file is invalid (the message names the line)."""


@dataclass(frozen=True)
class ProfileInfo:
    """What a routine needs to know about an exercise profile."""

    name: str
    kind: str  # "flexion" or "extension"
    posture: str
    hold_s: float


@dataclass(frozen=True)
class Block:
    """One step of a routine: an exercise to count (or a timed block) with its targets.

    A block ends when its rep target is met or its duration runs out, whichever comes first.
    """

    name: str
    exercise: str | None  # profile name; None for a timed block where nothing is counted
    posture: str | None
    kind: str | None  # "flexion"/"extension" from the profile; None for a timed block
    reps: int | None = None
    duration_s: float | None = None
    hold_s: float = 0.0
    rest_s: float = 0.0
    cue: str = ""
    line: int = 0  # line of the block's header in its file (0 when built in code)

    @property
    def counted(self) -> bool:
        """True when reps are counted in this block (it names an exercise)."""
        return self.exercise is not None

    @property
    def target_text(self) -> str:
        parts = []
        if self.reps is not None:
            parts.append(f"{self.reps} reps")
        if self.duration_s is not None:
            parts.append(_fmt_duration(self.duration_s))
        if self.hold_s > 0:
            parts.append(f"hold {self.hold_s:g} s")
        return ", ".join(parts)


@dataclass(frozen=True)
class Routine:
    """An ordered list of blocks, as loaded from a file or built in code."""

    name: str
    blocks: tuple[Block, ...]
    title: str = ""
    description: str = ""
    source: str = ""  # file path or "builtin:NAME"
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def planned_s(self) -> float | None:
        """Planned length in seconds, or None when a block only has a rep target."""
        total = 0.0
        for block in self.blocks:
            if block.duration_s is None:
                return None
            total += block.duration_s + block.rest_s
        return total

    def kinds(self) -> list[str | None]:
        return [b.kind for b in self.blocks]


# --------------------------------------------------------------------------- profiles


def profile_infos() -> dict[str, ProfileInfo]:
    """The exercise profiles a block may name, from `posecheck.core.profiles`."""
    from posecheck.core import profiles

    infos = {}
    for name, prof in profiles.PROFILES.items():
        hold = getattr(prof, "hold_target_s", None)
        if hold is None:
            hold = getattr(prof, "hold_s", 0.0)
        infos[name] = ProfileInfo(
            name=name,
            kind=str(getattr(prof, "kind", "")),
            posture=str(getattr(prof, "posture", "")),
            hold_s=float(hold or 0.0),
        )
    return infos


# --------------------------------------------------------------------------- loading


def builtin_routines() -> list[str]:
    """Names of the routines shipped in `posecheck/routines/`."""
    folder = resources.files("posecheck") / "routines"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_routine(name_or_path: str | Path) -> Routine:
    """Load a shipped routine by name, or a user's routine from a TOML file."""
    text_name = str(name_or_path)
    path = Path(text_name)
    if path.suffix == ".toml" or path.exists() or "/" in text_name:
        if not path.is_file():
            raise RoutineError(f"routine file not found: {text_name}")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise RoutineError(f"cannot read routine file {text_name}: {exc}") from exc
        return parse_routine(text, source=text_name, default_name=path.stem)
    names = builtin_routines()
    if text_name not in names:
        hint = _did_you_mean(text_name, names)
        raise RoutineError(
            f"unknown routine '{text_name}'{hint} (shipped: {', '.join(names)}; "
            "or give a .toml file)"
        )
    res = resources.files("posecheck") / "routines" / f"{text_name}.toml"
    return parse_routine(
        res.read_text(encoding="utf-8"), source=f"builtin:{text_name}", default_name=text_name
    )


def parse_routine(
    text: str,
    source: str = "<routine>",
    default_name: str = "routine",
    profiles: dict[str, ProfileInfo] | None = None,
) -> Routine:
    """Parse and validate a routine's TOML text; raise `RoutineError` naming the line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RoutineError(_toml_error(exc, source)) from None
    where = _KeyLines(text)
    profiles = profile_infos() if profiles is None else profiles

    def fail(message: str, line: int) -> RoutineError:
        return RoutineError(f"{source}:{line or 1}: {message}")

    for key in data:
        if key not in ROUTINE_KEYS:
            hint = _did_you_mean(key, ROUTINE_KEYS)
            raise fail(f"unknown key '{key}'{hint}", where.key(None, key))
    name = _opt_str(data, "name", default_name, None, where, fail)
    title = _opt_str(data, "title", "", None, where, fail)
    description = _opt_str(data, "description", "", None, where, fail)
    default_rest = _opt_num(data, "rest_s", 0.0, None, where, fail, upper=MAX_DURATION_S)
    raw_blocks = data.get("block")
    if raw_blocks is None:
        raise fail("a routine needs at least one [[block]]", len(text.splitlines()))
    if not isinstance(raw_blocks, list) or not all(isinstance(b, dict) for b in raw_blocks):
        raise fail("'block' must be written as [[block]] tables", where.key(None, "block"))
    blocks = tuple(
        _parse_block(i, raw, default_rest, profiles, where, fail)
        for i, raw in enumerate(raw_blocks)
    )
    return Routine(
        name=name, blocks=blocks, title=title or name, description=description, source=source
    )


def _parse_block(
    i: int,
    raw: dict[str, Any],
    default_rest: float,
    profiles: dict[str, ProfileInfo],
    where: _KeyLines,
    fail: Any,
) -> Block:
    label = f"block {i + 1}"
    header = where.block(i)

    def bfail(message: str, key: str | None = None) -> RoutineError:
        line = where.key(i, key) if key else header
        return fail(f"{label}: {message}", line or header)

    for key in raw:
        if key not in BLOCK_KEYS:
            raise bfail(f"unknown key '{key}'{_did_you_mean(key, BLOCK_KEYS)}", key)

    def ffail(message: str, line: int) -> RoutineError:  # errors from the shared helpers
        return fail(f"{label}: {message}", line)

    exercise = _opt_str(raw, "exercise", "", i, where, ffail) or None
    posture = _opt_str(raw, "posture", "", i, where, ffail) or None
    reps_raw = raw.get("reps")
    if reps_raw is not None and (isinstance(reps_raw, bool) or not isinstance(reps_raw, int)):
        raise bfail("'reps' must be a whole number", "reps")
    if reps_raw is not None and not 1 <= reps_raw <= MAX_REPS:
        raise bfail(f"'reps' must be between 1 and {MAX_REPS}", "reps")
    duration = _opt_num(raw, "duration_s", None, i, where, ffail, upper=MAX_DURATION_S)
    if duration is not None and duration <= 0:
        raise bfail("'duration_s' must be more than 0", "duration_s")
    rest = _opt_num(raw, "rest_s", default_rest, i, where, ffail, upper=MAX_DURATION_S)
    cue = _opt_str(raw, "cue", "", i, where, ffail)
    if posture is not None and posture not in POSTURES:
        raise bfail(
            f"unknown posture '{posture}'{_did_you_mean(posture, POSTURES)} "
            f"(one of {', '.join(POSTURES)})",
            "posture",
        )

    if exercise is None:
        if "hold_s" in raw or reps_raw is not None:
            key = "reps" if reps_raw is not None else "hold_s"
            raise bfail(f"'{key}' needs an 'exercise' (a block without one is only timed)", key)
        if duration is None:
            raise bfail("a block needs an 'exercise' or, for a timed block, 'duration_s'")
        name = _opt_str(raw, "name", "", i, where, ffail) or "Timed block"
        return Block(
            name=name, exercise=None, posture=posture, kind=None, duration_s=duration,
            rest_s=rest, cue=cue, line=header,
        )

    info = profiles.get(exercise)
    if info is None:
        raise bfail(
            f"unknown exercise '{exercise}'{_did_you_mean(exercise, list(profiles))} "
            "(see `posecheck exercises`)",
            "exercise",
        )
    if posture is not None and info.posture and posture != info.posture:
        raise bfail(f"'{exercise}' is done {info.posture}, not {posture}", "posture")
    if reps_raw is None and duration is None:
        raise bfail("a block needs a target: 'reps' or 'duration_s' (or both)")
    hold = _opt_num(raw, "hold_s", info.hold_s, i, where, ffail, upper=600.0)
    name = _opt_str(raw, "name", "", i, where, ffail) or exercise.replace("_", " ").capitalize()
    return Block(
        name=name, exercise=exercise, posture=info.posture or posture, kind=info.kind or None,
        reps=reps_raw, duration_s=duration, hold_s=hold, rest_s=rest, cue=cue, line=header,
    )


# --------------------------------------------------------------------------- helpers


def _opt_str(
    data: dict[str, Any], key: str, default: str, block: int | None, where: _KeyLines, fail: Any
) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise fail(f"'{key}' must be a string", where.key(block, key))
    return value.strip()


def _opt_num(
    data: dict[str, Any],
    key: str,
    default: float | None,
    block: int | None,
    where: _KeyLines,
    fail: Any,
    upper: float,
) -> Any:
    if key not in data:
        return default
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise fail(f"'{key}' must be a number of seconds", where.key(block, key))
    if not 0 <= value <= upper:
        raise fail(f"'{key}' must be between 0 and {upper:g}", where.key(block, key))
    return float(value)


def _did_you_mean(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _fmt_duration(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def _toml_error(exc: Exception, source: str) -> str:
    msg = str(exc)
    match = re.search(r"\(at line (\d+), column (\d+)\)", msg)
    if match:
        line, col = match.groups()
        msg = msg[: match.start()].strip()
        return f"{source}:{line}: invalid TOML: {msg} (column {col})"
    match = re.search(r"\(at end of document\)", msg)
    msg = msg.replace("(at end of document)", "").strip()
    return f"{source}:{1 if not match else 'end'}: invalid TOML: {msg}"


_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\"' -]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*(?:\"([^\"]+)\"|'([^']+)'|([A-Za-z0-9_-]+))\s*=")


class _KeyLines:
    """Line numbers of top-level keys and of keys inside each `[[block]]`.

    tomllib gives values but not positions, so validation errors find their line here. Only
    the layout the module docstring documents is located exactly; anything else falls back to
    the block's header line.
    """

    def __init__(self, text: str) -> None:
        self._keys: dict[tuple[int | None, str], int] = {}
        self._blocks: list[int] = []
        section: int | None = None
        in_other_table = False
        for lineno, line in enumerate(text.splitlines(), start=1):
            head = _HEADER.match(line)
            if head and not line.lstrip().startswith("#"):
                table = head.group(2).strip().strip("\"'")
                if head.group(1) == "[[" and table == "block":
                    self._blocks.append(lineno)
                    section, in_other_table = len(self._blocks) - 1, False
                else:
                    section, in_other_table = None, True
                    self._keys.setdefault((None, table.split(".")[0]), lineno)
                continue
            key = _KEY.match(line)
            if key and not in_other_table:
                name = next(g for g in key.groups() if g)
                self._keys.setdefault((section, name), lineno)

    def key(self, block: int | None, key: str) -> int:
        line = self._keys.get((block, key))
        if line is None and block is not None:
            return self.block(block)
        return line or 1

    def block(self, index: int) -> int:
        return self._blocks[index] if index < len(self._blocks) else 1


# --------------------------------------------------------------------------- running on a video

BOUNDARY_WINDOW_S = 2.0  # detection scores windows this long


@dataclass(frozen=True)
class RoutineRun:
    """The outcome of a routine run: per-block sessions, their reports and the balance report."""

    routine: Routine
    source: str
    boundaries_s: tuple[float, ...]  # start of each block on the source clock
    end_s: float
    boundaries_detected: bool
    blocks: tuple[Any, ...]  # posecheck.balance.BlockOutcome per block
    reports: tuple[Any, ...]  # posecheck.report.SessionReport per block (None: timed block)
    balance: Any  # posecheck.balance.BalanceReport
    started_at: str = ""
    not_reached: tuple[int, ...] = ()  # blocks a live run never got to (0-based)
    skipped: tuple[int, ...] = ()  # blocks the person cut short ('e' in the live loop)
    repeated: tuple[int, ...] = ()  # blocks the person started over ('r')

    def to_dict(self) -> dict[str, Any]:
        rows = []
        for i, (block, outcome, report) in enumerate(
            zip(self.routine.blocks, self.blocks, self.reports, strict=True)
        ):
            rows.append(
                {
                    "name": block.name,
                    "exercise": block.exercise,
                    "kind": block.kind,
                    "target": block.target_text,
                    "start_s": round(outcome.start_s, 3),
                    "end_s": round(outcome.end_s, 3),
                    "rep_count": outcome.rep_count if report is not None else None,
                    "reached": i not in self.not_reached,
                    "skipped": i in self.skipped,
                    "repeats": self.repeated.count(i),
                    "report": report.to_dict() if report is not None else None,
                }
            )
        return {
            "routine": self.routine.name,
            "title": self.routine.title,
            "source": self.source,
            "started_at": self.started_at,
            "boundaries_s": [round(b, 3) for b in self.boundaries_s],
            "boundaries_detected": self.boundaries_detected,
            "blocks": rows,
            "balance": self.balance.to_dict(),
        }


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


@dataclass
class PoseTrack:
    """One pose pass over a video: every frame's pose plus what boundary detection reads."""

    source: str
    poses: list[Any]  # PoseFrame per analysed frame
    postures: list[str | None]  # posture label per frame (None: unknown / no pose)
    hip_deg: list[float]  # mean raw hip flexion per frame (NaN: unknown)
    fps: float | None
    stride: int
    model_name: str


def _block_hips(result: FrameResult) -> tuple[float, float]:
    """A frame's (left, right) hip flexion as this block's work, NaN outside its posture.

    Peaks and ranges come from the exercise's own posture only: frames of getting into position
    (or of the previous exercise, just after a cut) are not the block's work.
    """
    if not result.posture_ok:
        return NAN, NAN
    hips = result.hip_smoothed_deg
    return hips.get("left", NAN), hips.get("right", NAN)


def estimate_poses(
    video: str | Path,
    *,
    model: str | Path = "full",
    orientation: str | int = "auto",
    stride: int = 1,
    progress: Any = None,
) -> PoseTrack:
    """Run the pose model once over a video (landmarks only are kept, a few KB per frame)."""
    from posecheck.core.analyzer import SessionAnalyzer
    from posecheck.errors import SourceError
    from posecheck.pose import PoseEstimator
    from posecheck.sources import open_source

    poses = []
    postures: list[str | None] = []
    hip: list[float] = []
    probe = SessionAnalyzer("glute_bridge")  # only its per-frame measures are used
    with open_source(video, stride=stride) as source, PoseEstimator(
        model, orientation=orientation
    ) as estimator:
        fps = source.fps
        total = source.frame_count
        for n, frame in enumerate(source, start=1):
            pose = estimator.detect(frame.image, frame.timestamp_ms, frame.index)
            poses.append(pose)
            m = probe.update(pose).measures
            postures.append(m.posture if m is not None and m.posture != "unknown" else None)
            hips = [] if m is None else [v for v in m.hip_flexion_deg.values() if v == v]
            hip.append(sum(hips) / len(hips) if hips else float("nan"))
            if progress is not None:
                progress(n, total)
        model_name = str(getattr(estimator, "model_name", model))
    if not poses:
        raise SourceError(f"no frames could be decoded from {video}")
    return PoseTrack(str(video), poses, postures, hip, fps, stride, model_name)


def run_routine_video(
    routine: Routine,
    video: str | Path | PoseTrack,
    boundaries_s: Sequence[float] | None = None,
    *,
    model: str | Path = "full",
    orientation: str | int = "auto",
    stride: int = 1,
    progress: Any = None,
    history: Any = None,
) -> RoutineRun:
    """Run a routine against a recorded video: one pose pass, then each block's own counter.

    Poses are estimated once for the whole video (`estimate_poses`; pass its `PoseTrack` to
    reuse it); each block's frames then go through a fresh `SessionAnalyzer` with the block's
    profile and hold target. Block boundaries are given (start times) or detected
    (`detect_boundaries`). `history` (a `posecheck.history.History`) adds the user's earlier
    numbers to the balance report; storing the run is the caller's choice
    (`History.add_routine_run`).
    """
    import dataclasses
    from datetime import datetime, timezone

    from posecheck.balance import (
        AngleSeries,
        BlockOutcome,
        balance_report,
        hip_reps_from_series,
        history_baselines,
    )
    from posecheck.core.analyzer import SessionAnalyzer
    from posecheck.core.profiles import get_profile
    from posecheck.history import session_from_report
    from posecheck.report import SessionReport

    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    track = video if isinstance(video, PoseTrack) else estimate_poses(
        video, model=model, orientation=orientation, stride=stride, progress=progress
    )
    video = track.source
    poses, postures, probe_hip = track.poses, track.postures, track.hip_deg
    fps, stride, model_name = track.fps, track.stride, track.model_name
    times = [p.timestamp_ms / 1000.0 for p in poses]
    frame_s = (1.0 / fps * stride) if fps else 0.0
    end_s = times[-1] + frame_s
    detected = boundaries_s is None
    if boundaries_s is None:
        boundaries_s = detect_boundaries(times, postures, probe_hip, routine.blocks)
    if len(boundaries_s) != len(routine.blocks):
        raise RoutineError(
            f"{len(boundaries_s)} boundaries for {len(routine.blocks)} blocks"
        )
    if boundaries_s[-1] >= end_s:
        raise RoutineError(
            f"block {len(routine.blocks)} starts at {boundaries_s[-1]:g} s, after the video ends "
            f"({end_s:.1f} s)"
        )
    spans = list(zip(boundaries_s, [*boundaries_s[1:], end_s], strict=True))
    outcomes = []
    reports = []
    for block, (start, stop) in zip(routine.blocks, spans, strict=True):
        chunk = [p for p in poses if start <= p.timestamp_ms / 1000.0 < stop]
        if block.exercise is None or not chunk:
            outcomes.append(BlockOutcome(block.name, block.exercise, block.kind, start, stop))
            reports.append(None)
            continue
        profile = dataclasses.replace(get_profile(block.exercise), hold_target_s=block.hold_s)
        analyzer = SessionAnalyzer(profile)
        ts, left, right = [], [], []
        for pose in chunk:
            result = analyzer.update(pose)
            ts.append(result.t_ms / 1000.0)
            hip_left, hip_right = _block_hips(result)
            left.append(hip_left)
            right.append(hip_right)
        report = SessionReport.from_summary(
            analyzer.summary(),
            exercise=block.exercise,
            exercise_auto_detected=False,
            model=model_name,
            source=f"{video}#t={start:.2f},{stop:.2f}",
            fps=fps,
            duration_s=stop - start,
            stride=stride,
        )
        data = report.to_dict()
        data["started_at"] = started_at
        data["kind"] = block.kind
        series = AngleSeries(ts, left, right)
        record = hip_reps_from_series(session_from_report(data, mode="routine"), series)
        outcomes.append(
            BlockOutcome(
                block.name, block.exercise, block.kind, start, stop, session=record,
                target_reps=block.reps, hold_target_s=block.hold_s, series=series,
            )
        )
        reports.append(report)
    baselines = history_baselines(history, before=started_at) if history is not None else None
    balance = balance_report(
        outcomes, title=routine.title, started_at=started_at, history=baselines
    )
    return RoutineRun(
        routine=routine, source=str(video), boundaries_s=tuple(boundaries_s), end_s=end_s,
        boundaries_detected=detected, blocks=tuple(outcomes), reports=tuple(reports),
        balance=balance, started_at=started_at,
    )


# --------------------------------------------------------------------------- running live


class LiveRoutineController:
    """Drives F's live loop through a routine: switches exercise at block boundaries.

    It only uses the live session's public surface: `on_frame`, `handle(Action...)`,
    `actions`, `request_stop()` and `settings.exercises` (the 'e' key's cycle, kept pointing at
    the next block's exercise). A block ends when its rep target is met or its time runs out;
    rests and timed blocks pause counting. The person's own keys keep their meaning within the
    routine: 'e' (next exercise) skips the rest of the block, 'r' (new set) repeats the block
    from zero.
    """

    def __init__(self, routine: Routine) -> None:
        self.routine = routine
        self.index = -1
        self.phase = "block"
        self.phase_start_s = 0.0
        self.t0_s: float | None = None
        self.spans: list[list[float]] = [[0.0, 0.0] for _ in routine.blocks]
        self.set_of_block: dict[int, int] = {}  # block index -> index into session.sets
        self.series: dict[int, tuple[list[float], list[float], list[float]]] = {}
        self._open_block: int | None = None  # counted block whose set is still open
        self._seen_actions = 0
        self.started: set[int] = set()
        self.skipped: list[int] = []
        self.repeated: list[int] = []
        self.done = False

    @property
    def first_exercise(self) -> str:
        return next((b.exercise for b in self.routine.blocks if b.exercise), "glute_bridge")

    def _next_exercise(self, index: int) -> str | None:
        return next((b.exercise for b in self.routine.blocks[index + 1:] if b.exercise), None)

    def __call__(self, session: Any, frame: Any, result: Any) -> None:
        t = frame.timestamp_ms / 1000.0
        if self.t0_s is None:
            self.t0_s = t
            self._start(session, 0, t)
        if self.done:
            return
        self._user_actions(session, t)
        if self.done:
            return
        rel = t - self.t0_s
        block = self.routine.blocks[self.index]
        self.spans[self.index][1] = rel
        if self.phase == "block" and result is not None and block.exercise is not None:
            ts, left, right = self.series.setdefault(self.index, ([], [], []))
            ts.append(result.t_ms / 1000.0 - self.t0_s)
            hip_left, hip_right = _block_hips(result)
            left.append(hip_left)
            right.append(hip_right)
        elapsed = t - self.phase_start_s
        if self.phase == "block":
            reps_met = (
                block.reps is not None and result is not None and result.rep_count >= block.reps
            )
            time_up = block.duration_s is not None and elapsed >= block.duration_s
            if reps_met or time_up:
                if block.rest_s > 0 and self.index + 1 < len(self.routine.blocks):
                    self._pause(session, True)
                    self.phase, self.phase_start_s = "rest", t
                    session.coach.say(f"rest {block.rest_s:g} seconds", frame.timestamp_ms)
                else:
                    self._start(session, self.index + 1, t)
        elif elapsed >= self.routine.blocks[self.index].rest_s:
            self._start(session, self.index + 1, t)

    def _user_actions(self, session: Any, t: float) -> None:
        """Keys the person pressed since the last frame: 'e' skips a block, 'r' repeats it."""
        from posecheck.live.keys import Action

        new = list(session.actions[self._seen_actions:])
        self._seen_actions = len(session.actions)
        for action in new:
            if action is Action.NEXT_EXERCISE:
                # the session closed the open set and opened one on the next block's exercise
                self._map_closed_set(session)
                self.skipped.append(self.index)
                self._start(session, self.index + 1, t, switched=True)
                if self.done:
                    return
            elif action is Action.RESET:
                # the session closed the set and counts from zero: the block starts over
                self.repeated.append(self.index)
                if self._open_block is not None:
                    self.set_of_block.pop(self._open_block, None)
                self.series.pop(self.index, None)
                self.phase, self.phase_start_s = "block", t
                if self.routine.blocks[self.index].exercise is not None:
                    self._pause(session, False)

    def _act(self, session: Any, action: Any) -> None:
        session.handle(action)
        self._seen_actions = len(session.actions)

    def _pause(self, session: Any, paused: bool) -> None:
        from posecheck.live.keys import Action

        if bool(session.paused) != paused:
            self._act(session, Action.PAUSE)

    def _map_closed_set(self, session: Any, before: int | None = None) -> None:
        if self._open_block is None:
            return
        grew = before is None or len(session.sets) > before
        if grew and session.sets and (len(session.sets) - 1) not in self.set_of_block.values():
            self.set_of_block[self._open_block] = len(session.sets) - 1
        self._open_block = None

    def _start(self, session: Any, index: int, t: float, switched: bool = False) -> None:
        from posecheck.live.keys import Action

        if index >= len(self.routine.blocks):
            self.done = True
            session.request_stop("routine complete")
            return
        block = self.routine.blocks[index]
        self.index, self.phase, self.phase_start_s = index, "block", t
        self.spans[index][0] = self.spans[index][1] = t - (
            self.t0_s if self.t0_s is not None else t
        )
        self.started.add(index)
        if block.exercise is None:
            self._pause(session, True)
        else:
            # the session opened its first set on the first counted block's exercise; after a
            # skip it already opened one on this block's exercise
            fresh = self._open_block is None and (switched or not session.sets)
            if not (fresh and block.exercise == session.exercise):
                before = len(session.sets)
                if block.exercise == session.exercise:
                    self._act(session, Action.RESET)
                else:
                    session.settings.exercises = (session.exercise, block.exercise)
                    self._act(session, Action.NEXT_EXERCISE)
                self._map_closed_set(session, before)
            self._open_block = index
            self._pause(session, False)
        nxt = self._next_exercise(index) or session.exercise
        session.settings.exercises = (session.exercise, nxt)  # what 'e' switches to
        session.coach.say(block.name, t * 1000.0)

    def finish(self, outcome: Any) -> None:
        """After the loop: the last open set was closed by the session itself."""
        if self._open_block is not None and outcome.sets:
            last = len(outcome.sets) - 1
            if last not in self.set_of_block.values():
                self.set_of_block[self._open_block] = last


def run_routine_live(
    routine: Routine,
    source: str = "0",
    *,
    model: str | Path = "full",
    history: Any = None,
    headless: bool = False,
    mute: bool = False,
    out_dir: Path | None = None,
    keys: Any = None,
) -> RoutineRun:
    """Run a routine through the live loop (camera, stream, or a file played as live).

    `keys` injects a key source (tests); by default the window's keys are read.
    """
    from datetime import datetime, timezone

    from posecheck.balance import (
        AngleSeries,
        BlockOutcome,
        balance_report,
        hip_reps_from_series,
        history_baselines,
    )
    from posecheck.history import session_from_report
    from posecheck.live.app import LiveConfig, run_live

    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    ctrl = LiveRoutineController(routine)
    config = LiveConfig(
        source=source,
        exercise=ctrl.first_exercise,
        model=str(model),
        out_dir=out_dir,
        headless=True if headless else None,
        mute=mute,
        on_frame=ctrl,
        keys=keys,
    )
    outcome = run_live(config)
    ctrl.finish(outcome)
    t0 = ctrl.t0_s or 0.0
    end_s = max((s[1] for s in ctrl.spans), default=0.0)
    outcomes, reports = [], []
    for i, block in enumerate(routine.blocks):
        start, stop = ctrl.spans[i] if i in ctrl.started else (end_s, end_s)
        set_index = ctrl.set_of_block.get(i)
        if block.exercise is None or set_index is None:
            outcomes.append(BlockOutcome(block.name, block.exercise, block.kind, start, stop))
            reports.append(None)
            continue
        report = outcome.sets[set_index].report
        data = report.to_dict()
        data.update(started_at=started_at, kind=block.kind)
        for key in ("reps", "partials"):  # onto the routine clock (first frame = 0)
            for rep in data.get(key) or []:
                for field_name in ("start_s", "top_s", "end_s"):
                    if rep.get(field_name) is not None:
                        rep[field_name] = rep[field_name] - t0
        trace = ctrl.series.get(i)
        series = AngleSeries(*trace) if trace else None
        record = session_from_report(data, mode="live")
        if series is not None:
            record = hip_reps_from_series(record, series)
        outcomes.append(
            BlockOutcome(
                block.name, block.exercise, block.kind, start, stop, session=record,
                target_reps=block.reps, hold_target_s=block.hold_s, series=series,
            )
        )
        reports.append(report)
    baselines = history_baselines(history, before=started_at) if history is not None else None
    balance = balance_report(outcomes, title=routine.title, started_at=started_at,
                             history=baselines)
    not_reached = tuple(i for i in range(len(routine.blocks)) if i not in ctrl.started)
    return RoutineRun(
        routine=routine, source=source, boundaries_s=tuple(s[0] for s in ctrl.spans),
        end_s=end_s, boundaries_detected=True, blocks=tuple(outcomes), reports=tuple(reports),
        balance=balance, started_at=started_at, not_reached=not_reached,
        skipped=tuple(ctrl.skipped), repeated=tuple(ctrl.repeated),
    )
