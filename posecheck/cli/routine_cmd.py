"""`posecheck routine NAME|FILE`: run a routine live or against a recorded video."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from posecheck.cli._common import default_db_hint, model_option, run_command


def _print_routine(routine: object) -> None:
    from posecheck.apps.routine import Routine

    assert isinstance(routine, Routine)
    planned = routine.planned_s
    length = f", about {planned / 60:.0f} min" if planned else ""
    click.echo(f"{routine.title} ({routine.name}: {len(routine.blocks)} blocks{length})")
    if routine.description:
        click.echo(f"  {routine.description}")
    for i, b in enumerate(routine.blocks, start=1):
        what = f"{b.exercise} [{b.kind}]" if b.exercise else f"timed, {b.posture or 'any'}"
        rest = f", rest {b.rest_s:g} s" if b.rest_s else ""
        click.echo(f"  {i}. {b.name}: {what}, {b.target_text}{rest}")


def _write(path: Path, text: str) -> None:
    from posecheck.errors import OutputError

    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _warn(message: str) -> None:
    click.echo(f"posecheck: warning: {message}", err=True)


def _open_history(db: str | None, no_history: bool) -> object | None:
    """The history to compare with and store into, or None (with a warning when it is unusable).

    A damaged database often opens and fails on the first read, after the whole video has been
    analysed; reading the baselines now finds that before any work, and the run goes on
    without history, as `analyse` does.
    """
    from posecheck.outputs.balance import history_baselines
    from posecheck.outputs.history import History, HistoryError

    if no_history or (db is None and os.environ.get("POSECHECK_NO_HISTORY")):
        return None
    hist = None
    try:
        hist = History(db)
        history_baselines(hist)
    except HistoryError as exc:
        if hist is not None:
            hist.close()
        _warn(f"history not used, this run will not be stored: {exc}")
        return None
    return hist


def _run(rt: object, out: Path, video: str | None, source: str | None,
         bounds: list[float] | None, *, model: str, db: str | None, no_history: bool,
         headless: bool, mute: bool) -> tuple[dict, object]:
    """Run the routine and write routine.json, balance.json and balance.html into `out`.

    The history is best effort: storing the run (a locked or damaged database) only warns,
    and balance.html is written either way (without the weekly plot when it cannot be read).
    """
    from posecheck.outputs.history import HistoryError
    from posecheck.outputs.html_report import write_balance_html

    hist = _open_history(db, no_history)
    try:
        if video is not None:
            from posecheck.apps.routine import run_routine_video

            run = run_routine_video(rt, video, bounds, model=model, history=hist)
        else:
            from posecheck.apps.routine import run_routine_live

            run = run_routine_live(rt, source or "0", model=model, history=hist,
                                   headless=headless, mute=mute, out_dir=out)
        data = run.to_dict()
        _write(out / "routine.json", json.dumps(data, indent=2) + "\n")
        _write(out / "balance.json", run.balance.to_json() + "\n")
        weeks = None
        if hist is not None:
            try:
                hist.add_routine_run(
                    rt.name,
                    [b.session for b in run.blocks],
                    started_at=run.started_at,
                    balance=run.balance.to_dict(),
                )
                weeks = hist.weekly()
            except HistoryError as exc:
                _warn(f"session not stored in history: {exc}")
        where = video if video is not None else (source or "camera 0")
        write_balance_html(out / "balance.html", run.balance, run.blocks, weeks,
                           subtitle=f"{rt.name} · {where}")
    finally:
        if hist is not None:
            hist.close()
    return data, run


def _unmatched_lines(name: str, unmatched: tuple) -> list[str]:
    """One line per kind of rep a block's counter found but did not credit to the block."""
    from collections import Counter

    from posecheck.apps.routine.match import movement_word

    groups = Counter((u.looks_like, movement_word(u.trunk_share)) for u in unmatched)
    lines = []
    for (like, how), count in groups.items():
        what = " or ".join(x.replace("_", " ") + "s" for x in like) or "no block of the routine"
        lines.append(f"{count} rep{'s' if count != 1 else ''} not counted: {how}, "
                     f"like {what}, not {name.lower()}")
    return lines


@click.command("routine")
@click.argument("name", required=False, metavar="NAME|FILE")
@click.option("--list", "list_only", is_flag=True, help="List the shipped routines and exit.")
@click.option("--show", is_flag=True, help="Print the routine's blocks and exit.")
@click.option("--video", default=None, metavar="FILE", help="Run against a recorded video.")
@click.option(
    "--source",
    default=None,
    metavar="SPEC",
    help="Run live: camera index, stream URL or file played as live [default: 0].",
)
@click.option(
    "--boundaries",
    default=None,
    metavar="S,S,...",
    help="With --video: start time (s) of each block, e.g. 0,30,60 [default: detected].",
)
@click.option("--out", "out_dir", default=None, metavar="DIR",
              help="Output directory [default: ./posecheck-out/routine-<name>].")
@click.option("--db", default=None, metavar="PATH",
              help=f"History database [default: $POSECHECK_DB, else {default_db_hint()}].")
@click.option("--no-history", is_flag=True, help="Do not store this session in the history.")
@click.option("--json", "as_json", is_flag=True, help="Print routine.json on stdout.")
@click.option("--headless", is_flag=True, help="Live: no window (progress lines instead).")
@click.option("--mute", is_flag=True, help="Live: no spoken cues.")
@model_option
@run_command
def routine(
    name: str | None,
    list_only: bool,
    show: bool,
    video: str | None,
    source: str | None,
    boundaries: str | None,
    out_dir: str | None,
    db: str | None,
    no_history: bool,
    as_json: bool,
    headless: bool,
    mute: bool,
    model: str,
) -> None:
    """Run a routine (a shipped NAME or a .toml FILE), block by block, then report the balance
    between flexion and extension work.

    Shipped: daily_reset (about ten minutes to loosen tight hip flexors after sitting, then
    wake the glutes) and balanced_hip (flexion and extension work, alternating). `--show`
    lists a routine's blocks.
    """
    from posecheck.apps.routine import builtin_routines, load_routine, parse_boundaries
    from posecheck.errors import PosecheckError

    if list_only:
        for rname in builtin_routines():
            r = load_routine(rname)
            click.echo(f"{rname:14s} {r.title}: {len(r.blocks)} blocks")
        return
    if not name:
        raise PosecheckError("give a routine NAME or FILE (see `posecheck routine --list`)")
    rt = load_routine(name)
    if show:
        _print_routine(rt)
        return
    if video is not None and source is not None:
        raise PosecheckError("give either --video or --source, not both")
    if boundaries is not None and video is None:
        raise PosecheckError("--boundaries needs --video")
    bounds = parse_boundaries(boundaries, len(rt.blocks)) if boundaries is not None else None
    out = Path(out_dir) if out_dir else Path("posecheck-out") / f"routine-{rt.name}"

    from posecheck.outputs.outdir import out_dir_for_run

    with out_dir_for_run(out):  # made now; removed again if the run fails before writing
        data, run = _run(rt, out, video, source, bounds, model=model, db=db,
                         no_history=no_history, headless=headless, mute=mute)
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    how = "followed live" if video is None else (
        "detected" if run.boundaries_detected else "given")
    click.echo(f"{rt.title}: {len(rt.blocks)} blocks (boundaries {how})")
    for i, (block, outcome) in enumerate(zip(rt.blocks, run.blocks, strict=True)):
        span = f"{outcome.start_s:6.1f}-{outcome.end_s:6.1f} s"
        if i in run.not_reached:
            click.echo(f"  {'':17s} {block.name}: not reached")
            continue
        if i in run.not_done:
            click.echo(f"  {'':17s} {block.name}: not done (nothing in the video moves like it)")
            continue
        if outcome.session is None:
            click.echo(f"  {span}  {block.name}: timed")
            continue
        target = f" / {block.reps}" if block.reps else ""
        click.echo(f"  {span}  {block.name}: {outcome.rep_count}{target} reps"
                   f" ({len(outcome.session.partials)} partial)")
        for line in _unmatched_lines(block.name, outcome.unmatched):
            click.echo(f"  {'':17s}   {line}")
    for line in run.balance.findings:
        click.echo(f"  - {line}")
    click.echo(f"  wrote: {out / 'balance.html'}, {out / 'balance.json'}, {out / 'routine.json'}")
