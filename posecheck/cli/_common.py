"""Shared CLI plumbing: one-line errors, model option, aliases."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import click

from posecheck.errors import PosecheckError

F = TypeVar("F", bound=Callable[..., Any])


def run_command(func: F) -> F:
    """Turn user errors into `posecheck: error: ...` on stderr and exit code 2, Ctrl-C into 130."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except PosecheckError as exc:
            click.echo(f"posecheck: error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("posecheck: interrupted", err=True)
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


def model_option(func: F) -> F:
    """`--model lite|full|heavy|PATH`, accepted wherever a model is used."""
    return click.option(
        "--model",
        "model",
        default="full",
        show_default=True,
        metavar="lite|full|heavy|PATH",
        help="Pose model bundle: a bundled name or a path to a .task file.",
    )(func)


def stride_option(func: F) -> F:
    """`--stride N`: analyse every Nth frame (timestamps stay those of the source)."""
    return click.option(
        "--stride",
        type=click.IntRange(min=1),
        default=1,
        show_default=True,
        help="Analyse every Nth frame.",
    )(func)


def history_options(func: F) -> F:
    """`--db PATH` / `--no-history`: where finished sessions are stored for `posecheck history`."""
    func = click.option(
        "--no-history", is_flag=True, help="Do not store this session in the history database."
    )(func)
    return click.option(
        "--db",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="History database [default: $POSECHECK_DB, else "
        f"{default_db_hint()}].",
    )(func)


def store_in_history(reports: Iterable[Any], *, db: Path | None, mode: str) -> None:
    """Store finished sessions; a history failure is a warning, never a lost analysis."""
    from posecheck.outputs.history import HistoryError, record_session

    for report in reports:
        try:
            stored = record_session(report, db, mode=mode)
        except HistoryError as exc:
            click.echo(f"posecheck: warning: session not stored in history: {exc}", err=True)
            continue
        if stored is None and not (db is None and os.environ.get("POSECHECK_NO_HISTORY")):
            click.echo("posecheck: note: this file was analysed with the same settings before: "
                       "the history keeps the earlier session", err=True)


def prescription_options(func: F) -> F:
    """`--hold SECONDS` and `--reps N`: what a physiotherapist prescribes, without a routine."""
    func = click.option(
        "--reps", "rep_target", type=click.IntRange(min=1), default=None, metavar="N",
        help="Reps prescribed: shown as done / N.",
    )(func)
    return click.option(
        "--hold", "hold_s", type=click.FloatRange(0, 600), default=None, metavar="SECONDS",
        help="Hold at the top to time each rep against [default: the exercise's own; 0 = none].",
    )(func)


def default_db_hint() -> str:
    """Where the history lives by default, for --help (this user's path, home as ~)."""
    from posecheck.outputs.history import user_db_path

    text, home = str(user_db_path()), str(Path.home())
    return "~" + text[len(home):] if text.startswith(home + os.sep) else text
