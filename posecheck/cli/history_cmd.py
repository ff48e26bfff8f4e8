"""`posecheck history`: the stored sessions as a table plus a progress plot; `import DIR`."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

from posecheck.cli._common import default_db_hint, run_command

DEFAULT_PLOT = Path("posecheck-out") / "progress.png"


def _deg(value: float | None) -> str:
    if value is None:
        return ""
    return f"{round(value) + 0:.0f}°"  # + 0: no "-0°"


@click.group("history", invoke_without_command=True,
             epilog=f"The database: --db PATH, else $POSECHECK_DB, else {default_db_hint()}.")
@click.option("--db", default=None, metavar="PATH",
              help=f"History database [default: $POSECHECK_DB, else {default_db_hint()}].")
@click.option("--exercise", "-e", default=None, metavar="NAME", help="Only this exercise.")
@click.option("--since", default=None, metavar="DATE", help="Only sessions from DATE (ISO).")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True,
              help="Show the last N sessions.")
@click.option("--plot", "plot_path", default=str(DEFAULT_PLOT), show_default=True,
              metavar="PNG", help="Where to write the progress plot.")
@click.option("--no-plot", is_flag=True, help="Do not write the progress plot.")
@click.option("--json", "as_json", is_flag=True, help="Print sessions and weekly rows as JSON.")
@click.pass_context
@run_command
def history(
    ctx: click.Context,
    db: str | None,
    exercise: str | None,
    since: str | None,
    limit: int,
    plot_path: str,
    no_plot: bool,
    as_json: bool,
) -> None:
    """Every analysed or live session, with progress per week (peak extension, ROM per side,
    reps per exercise).

    Every run of analyse, live and routine adds to it (--no-history skips that); analysing
    the same file again with the same settings is recognised and not stored twice.
    """
    ctx.obj = {"db": db}
    if ctx.invoked_subcommand is not None:
        return
    from rich.console import Console
    from rich.table import Table

    from posecheck.outputs.history import History, to_utc_iso

    if since is not None:
        to_utc_iso(since)  # a bad date is a one-line error before any database is made
    with History(db) as hist:
        rows = hist.sessions(exercise=exercise, since=since, limit=limit, newest_first=True)
        rows.reverse()
        weeks = hist.weekly(exercise=exercise, since=since)
        total = hist.count()
        path = hist.path
    if as_json:
        click.echo(json.dumps({"db": str(path), "sessions": [asdict(r) for r in rows],
                               "weeks": [asdict(w) for w in weeks]}, indent=2))
        return
    console = Console()
    if not console.is_terminal:  # piped or captured: do not squeeze the table to 80 columns
        console = Console(width=160)
    if not rows:
        if total:
            console.print(f"No stored session matches (exercise={exercise or 'any'}, "
                          f"since={since or 'any'}); {total} sessions in {path}.")
        else:
            console.print(f"No sessions stored yet in {path}.")
        return
    table = Table(title=f"posecheck history ({len(rows)} of {total} sessions, {path})")
    for col, justify in (("date", "left"), ("exercise", "left"), ("kind", "left"),
                         ("mode", "left"), ("reps", "right"), ("L/R", "right"),
                         ("holds met", "right"), ("TUT", "right"), ("peak flex", "right"),
                         ("peak ext", "right"), ("ROM L", "right"), ("ROM R", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for r in rows:
        table.add_row(
            r.started_at[:16].replace("T", " "), r.exercise, r.kind or "", r.mode,
            str(r.rep_count), f"{r.reps_left}/{r.reps_right}" if r.reps_left or r.reps_right
            else "", f"{r.holds_met}/{r.hold_count}" if r.hold_count else "",
            f"{r.tut_s:.0f}s", _deg(r.peak_flexion_deg), _deg(r.peak_extension_deg),
            _deg(r.rom_left_deg), _deg(r.rom_right_deg),
        )
    console.print(table)
    if not no_plot and weeks:
        from posecheck.apps.analyse import prepare_out_dir
        from posecheck.outputs.html_report import write_progress_plot

        out = Path(plot_path)
        if out.suffix.lower() != ".png":  # matplotlib would add it; say where the file really is
            out = out.with_name(out.name + ".png")
        prepare_out_dir(out.parent if str(out.parent) else Path("."))
        write_progress_plot(out, weeks)
        console.print(f"progress plot: {out}")


@history.command("import")
@click.argument("folder", metavar="DIR")
@click.option("--db", default=None, metavar="PATH", help="History database (as above).")
@click.pass_context
@run_command
def import_cmd(ctx: click.Context, folder: str, db: str | None) -> None:
    """Import every report.json under DIR (one transaction; already stored ones are skipped)."""
    from posecheck.outputs.history import import_reports

    db = db or (ctx.obj or {}).get("db")
    added, skipped = import_reports(folder, db)
    click.echo(f"imported {added} sessions from {folder} ({skipped} already stored)")
