"""`posecheck exercises`: the exercise profiles, as a table."""

from __future__ import annotations

import click

from posecheck.cli._common import run_command


@click.command("exercises")
@click.option("--names", is_flag=True, help="Print only the profile names, one per line.")
@click.option("-v", "--verbose", is_flag=True, help="Show each form rule's parameters.")
@run_command
def exercises(names: bool, verbose: bool) -> None:
    """List the exercise profiles: what drives each counter, its zones, hold target and rules."""
    from rich.console import Console
    from rich.table import Table

    from posecheck.core.profiles import PROFILES

    if names:
        for name in PROFILES:
            click.echo(name)
        return
    table = Table(title="posecheck exercises", show_lines=False)
    for col in ("name", "kind", "posture", "signal", "zones", "hold", "rules"):
        table.add_column(col, overflow="fold", no_wrap=col in ("name", "hold"))
    for p in PROFILES.values():
        signal = p.signal if p.laterality == "bilateral" else f"{p.signal} ({p.laterality})"
        postures = "/".join(p.postures)
        hold = f"{p.hold_target_s:g} s" if p.hold_target_s > 0 else "-"
        rules = ", ".join(r.describe() if verbose else r.name for r in p.rules) or "-"
        table.add_row(p.name, p.kind, postures, signal, p.zones_text(), hold, rules)
    Console(soft_wrap=False).print(table)
