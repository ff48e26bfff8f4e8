"""`posecheck batch PATHS...`: score many clips in parallel, optionally against labels."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from posecheck.cli._common import model_option, run_command, stride_option


def _fmt(value: object, spec: str = "") -> str:
    if value is None:
        return "-"
    return format(value, spec) if spec else str(value)


def render_table(rows: list[Any], summary: dict[str, Any], labelled: bool) -> Any:
    """One row per clip; why a clip failed is listed under the table (see `problem_lines`)."""
    from rich.table import Table

    table = Table(title="posecheck batch")
    for name, justify in (("clip", "left"), ("exercise", "left"), ("reps", "right"),
                          ("partials", "right"), ("holds", "right"), ("detection", "right"),
                          ("fps", "right")):  # fmt: skip
        table.add_column(name, justify=justify, no_wrap=name == "clip")  # type: ignore[arg-type]
    if labelled:
        table.add_column("expected", justify="right")
        table.add_column("hold err s", justify="right")
        table.add_column("result")
    for r in rows:
        cells = [
            r.clip,
            _fmt(r.exercise) + (" (auto)" if r.auto_detected else ""),
            _fmt(r.reps),
            _fmt(r.partials),
            _fmt(r.holds),
            "-" if r.detection_rate is None else f"{r.detection_rate:.0%}",
            _fmt(r.fps, ".1f"),
        ]
        if labelled:
            if r.error is not None:
                result = "[red]ERROR[/red]"
            elif r.passed is None:
                result = "-"
            else:
                result = "[green]pass[/green]" if r.passed else "[red]FAIL[/red]"
            cells += [
                _fmt(r.expected_reps),
                " ".join(f"{e:+.2f}" for e in r.hold_errors_s) or "-",
                result,
            ]
        elif r.error is not None:
            cells[1] = "[red]ERROR[/red]"
        table.add_row(*cells)
    return table


def problem_lines(rows: list[Any]) -> list[str]:
    """Why each failed or broken clip failed, one line each."""
    lines = []
    for r in rows:
        if r.error is not None:
            lines.append(f"{r.clip}: error: {r.error}")
        elif r.passed is False:
            why = []
            if r.count_error:
                why.append(f"counted {r.reps} reps, expected {r.expected_reps}")
            why += r.hold_problems
            lines.append(f"{r.clip}: " + "; ".join(why))
    return lines


def summary_text(summary: dict[str, Any]) -> str:
    parts = [f"{summary['clips']} clips"]
    if summary.get("labelled"):
        parts.append(f"{summary['passed']}/{summary['labelled']} labelled clips pass")
    if "exact_count_rate" in summary:
        parts.append(f"exact count {summary['exact_count_rate']:.0%}")
        parts.append(f"mean abs count error {summary['mean_abs_count_error']:.2f}")
        parts.append(f"off by <=1 {summary['off_by_one_rate']:.0%}")
    if "hold_timing_mae_s" in summary:
        parts.append(
            f"hold timing error {summary['hold_timing_mae_s']:.2f} s mean, "
            f"{summary['hold_timing_max_s']:.2f} s max "
            f"({summary['holds_matched']}/{summary['holds_labelled']} holds matched)"
        )
    if summary.get("errors"):
        parts.append(f"{summary['errors']} clip(s) could not be analysed")
    return ", ".join(parts)


@click.command("batch")
@click.argument("paths", nargs=-1, required=True, metavar="PATHS...")
@click.option(
    "--labels",
    default=None,
    metavar="labels.json",
    help="Expected counts, adds pass/fail: a JSON list of {file, exercise, reps (or "
    "reps_min/reps_max), holds: [{start_s, end_s}]}.",
)
@click.option(
    "--workers",
    "-j",
    type=click.IntRange(min=1),
    default=None,
    help="Workers [default: one a core; local: capped by cores and memory, ~450 MB each].",
)
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="local: processes on this machine; ray: actors on a Ray cluster (posecheck[ray]).",
)
@click.option(
    "--address",
    default=None,
    metavar="ADDR",
    help="Ray cluster to join (host:port, ray://..., auto) [default: $RAY_ADDRESS, else a "
    "local cluster on 127.0.0.1].",
)
@click.option(
    "--exercise",
    "-e",
    default=None,
    metavar="NAME",
    help="Analyse every clip as this exercise (default: labelled / guessed).",
)
@click.option(
    "--out",
    "out_dir",
    default=None,
    metavar="DIR",
    help="Write batch.csv, batch.json and per-clip reports here.",
)
@stride_option
@click.option("--json", "as_json", is_flag=True, help="Print the table as JSON on stdout.")
@model_option
@run_command
def batch(
    paths: tuple[str, ...],
    labels: str | None,
    workers: int | None,
    engine: str,
    address: str | None,
    exercise: str | None,
    out_dir: str | None,
    stride: int,
    as_json: bool,
    model: str,
) -> None:
    """Analyse many clips (files or folders) in parallel and print one table.

    Exit status is 1 when a labelled clip fails or a clip cannot be analysed, 130 when
    interrupted (with --out, batch.csv/batch.json keep every clip finished by then).
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from posecheck.apps.batch import expand_paths, load_labels, run_batch
    from posecheck.outputs.report import _plain

    if address is not None and engine != "ray":
        raise click.UsageError("--address needs --engine ray")
    label_map = load_labels(labels) if labels is not None else None  # LabelsError up front
    err = Console(stderr=True)
    progress = Progress(
        TextColumn("[bold]{task.fields[name]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    with progress:
        clips = progress.add_task("", total=len(expand_paths(paths)), name="clips ")
        frames = progress.add_task("", total=None, name="frames")

        def on_row(row: Any) -> None:
            progress.update(clips, advance=1, description=row.clip)

        def on_frames(done: int, total: int) -> None:
            progress.update(frames, completed=done, total=total)

        def on_notice(line: str) -> None:
            err.print(f"posecheck: note: {line}", highlight=False, markup=False)

        rows, summary = run_batch(
            list(paths),
            labels=label_map,
            exercise=exercise,
            workers=workers,
            model=model,
            out_dir=out_dir,
            stride=stride,
            on_row=on_row,
            on_frames=on_frames,
            on_notice=on_notice,
            engine=engine,
            address=address,
        )
    if as_json:
        click.echo(
            json.dumps(
                {"summary": summary, "clips": [r.as_dict() for r in rows]},
                indent=2,
                default=_plain,
            )
        )
    else:
        console = Console() if sys.stdout.isatty() else Console(width=160)
        console.print(render_table(rows, summary, labelled=label_map is not None))
        for line in problem_lines(rows):
            console.print(f"  {line}", highlight=False, markup=False)
        console.print(summary_text(summary))
        if out_dir is not None:
            out = Path(out_dir)
            console.print(f"wrote {out / 'batch.csv'}, {out / 'batch.json'} and "
                          f"{out / 'index.html'} (open it to review each clip)")
    failed = any(r.error is not None or r.passed is False for r in rows)
    if failed:
        sys.exit(1)
