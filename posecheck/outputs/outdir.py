"""Output folders: made and proven writable before any work, and not left behind empty.

Why: a bad input found after the folder was made (a missing video, an unopenable camera, a
damaged database) used to leave an empty `posecheck-out/<name>/` behind, and a `--record`
folder that cannot be made was only found out mid-session, with a traceback. `prepare_out_dir`
checks up front; `out_dir_for_run` also removes the folders it made when the run fails before
writing anything into them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from posecheck.errors import OutputError


def missing_dirs(path: Path) -> list[Path]:
    """`path` and its ancestors that do not exist yet, deepest first."""
    missing = []
    for candidate in (path, *path.parents):
        if candidate.exists() or candidate.is_symlink():
            break
        missing.append(candidate)
    return missing


def prepare_out_dir(out_dir: str | Path, what: str = "output directory") -> Path:
    """Create the directory and prove it is writable, before any work is done.

    Raises OutputError (one line, naming `what` and the path): it exists as a file, lies
    under a file, or cannot be written.
    """
    path = Path(out_dir)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".posecheck-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise OutputError(f"cannot write to {what} {path}: {exc.strerror or exc}") from exc
    return path


def remove_if_empty(made: list[Path]) -> None:
    """Remove the folders a run made (deepest first) as long as each is empty."""
    for folder in made:
        try:
            folder.rmdir()
        except OSError:
            return


@contextlib.contextmanager
def out_dir_for_run(out_dir: str | Path, what: str = "output directory") -> Iterator[Path]:
    """`prepare_out_dir` for the length of a run; on any exception (a bad input, Ctrl-C before
    the first frame) the folders it made are removed again if nothing was written into them."""
    path = Path(out_dir)
    made = missing_dirs(path.absolute())
    prepare_out_dir(path, what)
    try:
        yield path
    except BaseException:
        remove_if_empty(made)
        raise
