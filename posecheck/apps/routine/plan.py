"""Routine plans: load and validate a routine's small TOML file.

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
import re
from importlib import resources
from pathlib import Path
from typing import Any

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10 with tomli installed
    import tomli as tomllib  # type: ignore[no-redef]

from posecheck.apps.routine.model import Block, ProfileInfo, Routine, RoutineError

POSTURES = ("standing", "supine", "prone", "quadruped", "seated")
ROUTINE_KEYS = ("name", "title", "description", "rest_s", "block")
BLOCK_KEYS = ("name", "exercise", "posture", "reps", "duration_s", "hold_s", "rest_s", "cue")
MAX_REPS = 1000
MAX_DURATION_S = 3600.0


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
        if path.is_dir():
            raise RoutineError(f"{text_name} is a folder, not a routine .toml file")
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

