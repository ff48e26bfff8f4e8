"""`posecheck exercises`: the exercise profiles, as a table on a terminal, as TSV in a pipe.

Why TSV: a rich table piped to a file is laid out for an 80-column terminal that is not there,
folding every cell over several lines; one tab-separated line per profile greps and cuts.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from posecheck.cli._common import run_command


@click.command("exercises")
@click.option("--names", is_flag=True, help="Print only the profile names, one per line.")
@click.option("-v", "--verbose", is_flag=True, help="Show each form rule's parameters.")
@click.option("--tsv", is_flag=True,
              help="Tab-separated lines with a header (the default when output is not a terminal).")
@run_command
def exercises(names: bool, verbose: bool, tsv: bool) -> None:
    """List the exercise profiles: what drives each counter, its zones, hold target and rules."""
    from posecheck.core.profiles import PROFILES

    if names:
        for name in PROFILES:
            click.echo(name)
        return
    rows = [_row(p, verbose) for p in PROFILES.values()]
    if tsv or not sys.stdout.isatty():
        for row in (COLUMNS, *rows):
            click.echo("\t".join(cell.replace("\t", " ") for cell in row))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="posecheck exercises", show_lines=False)
    for col in COLUMNS:
        table.add_column(col, overflow="fold", no_wrap=col in ("name", "hold"))
    for row in rows:
        table.add_row(*row)
    Console(soft_wrap=False).print(table)


COLUMNS = ("name", "kind", "posture", "signal", "zones", "hold", "rules")


def _row(p: Any, verbose: bool) -> tuple[str, ...]:
    """One profile's cells, in COLUMNS order."""
    signal = p.signal if p.laterality == "bilateral" else f"{p.signal} ({p.laterality})"
    postures = "/".join(p.postures)
    hold = f"{p.hold_target_s:g} s" if p.hold_target_s > 0 else "-"
    rules = ", ".join(r.describe() if verbose else r.name for r in p.rules) or "-"
    return (p.name, p.kind, postures, signal, p.zones_text(), hold, rules)
