"""Shared CLI plumbing: one-line errors, model option, aliases."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
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
