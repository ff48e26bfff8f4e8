"""`posecheck models`: list the pose model bundles, check their hashes and that they load."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from posecheck.cli._common import run_command
from posecheck.errors import ModelError
from posecheck.inputs.models import (
    COMMITTED_MODELS,
    DEFAULT_MODEL,
    MODEL_NAMES,
    BundleStatus,
    bundle_status,
    models_dir,
    named_bundle,
    rebuild_command,
)

_SHA_STYLE = {"ok": "green", "mismatch": "red", "missing": "red", "unpinned": "yellow"}


def _size(status: BundleStatus) -> str:
    if status.size is None:
        return "-"
    return f"{status.size / 1e6:.1f} MB" if status.size >= 100_000 else f"{status.size} B"


def _load(status: BundleStatus) -> str:
    if status.load_seconds is not None:
        return f"[green]ok[/] {status.load_seconds:.2f} s"
    if status.error is not None and status.size is not None:
        return "[red]failed[/]"
    return "skipped" if status.size is not None else "-"


def _row(name: str, status: BundleStatus) -> list[str]:
    label = f"{name} (default)" if name == DEFAULT_MODEL else name
    path = str(status.bundle.path)
    if status.size is None and name not in COMMITTED_MODELS:
        note = f"[dim]not built ({rebuild_command(name)})[/]"
        return [label, path, "-", note, "-"]
    sha = f"[{_SHA_STYLE[status.sha256]}]{status.sha256}[/]"
    return [label, path, _size(status), sha, _load(status)]


@click.command("models")
@click.option("--no-load", is_flag=True, help="Only check files and hashes; skip loading.")
@run_command
def models(no_load: bool) -> None:
    """List the pose model bundles, verify their sha256 and load each once.

    Exits non-zero if a committed bundle (lite or full) is missing, corrupt or fails to load,
    or if a heavy bundle that was built is corrupt.
    """
    console = Console()
    table = Table(title=f"pose model bundles in {models_dir()}")
    for column in ("name", "path", "size", "sha256", "load"):
        table.add_column(column, overflow="fold")
    failures: list[str] = []
    for name in MODEL_NAMES:
        status = bundle_status(named_bundle(name), load=not no_load)
        table.add_row(*_row(name, status))
        if not status.ok and (name in COMMITTED_MODELS or status.size is not None):
            failures.append(f"{name}: {status.error}")
    console.print(table)
    for failure in failures:
        console.print(f"[red]{failure}[/]", soft_wrap=True)
    if failures:
        names = ", ".join(failure.split(":", 1)[0] for failure in failures)
        raise ModelError(f"{len(failures)} model bundle(s) failed: {names} (see above)")
