"""`posecheck analyse VIDEO`: annotated video, report.json, timeline.csv, angle.png, report.html."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from posecheck.cli._common import (
    history_options,
    model_option,
    prescription_options,
    run_command,
    store_in_history,
    stride_option,
)

if TYPE_CHECKING:
    from rich.console import Console

    from posecheck.outputs.report import SessionReport


def default_out_dir(video: str) -> Path:
    """Where results go without --out: ./posecheck-out/<video name>/."""
    return Path("posecheck-out") / (Path(video).stem or "stream")


CUE_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def print_summary(report: SessionReport, console: Console) -> None:
    """A short human summary: the counts, each rep in one line, the cues, the files.

    Cues are grouped (a remark made on five reps is one line with its count and reps), most
    severe first; report.json keeps each rep's own cues. Lines are not wrapped at the console's
    width, so a piped summary keeps one item a line.
    """
    from rich.markup import escape

    def out(text: str) -> None:
        console.print(text, soft_wrap=True)

    out(f"[bold]{escape(report.summary_line())}[/bold]")
    for warning in report.warnings:
        out(f"  [yellow]warning:[/yellow] {escape(warning)}")
    for rep in report.reps:
        hold = f", hold {rep.hold.duration_s:.1f} s" if rep.hold is not None else ""
        ext = f", peak {-rep.peak_deg:.0f}° extension" if round(-rep.peak_deg) >= 1 else ""
        out(
            f"  rep {rep.index}: {rep.start_ms / 1000:.2f}-{rep.end_ms / 1000:.2f} s, "
            f"top {rep.top_ms / 1000:.2f} s, ROM {rep.rom_deg:.0f}°{ext}{hold}"
        )
    for rep in report.partials:
        out(
            f"  partial {rep.index}: {rep.start_ms / 1000:.2f}-{rep.end_ms / 1000:.2f} s, "
            f"ROM {rep.rom_deg:.0f}°"
        )
    groups = report.cue_groups()
    if groups:
        out("  form cues, most important first:")
    for group in groups:
        style = CUE_STYLE.get(str(group.severity), "white")
        out(f"    [{style}]{group.severity!s:8s}[/{style}] {escape(group.text())}")
    speed = f", {report.processing_fps:.1f} fps" if report.processing_fps else ""
    out(
        f"  {report.frames} frames analysed (stride {report.stride}), side {report.side_used}, "
        f"model {report.model}{speed}"
    )
    if report.outputs:
        out("  wrote: " + ", ".join(report.outputs[k] for k in sorted(report.outputs)))


@click.command("analyse")
@click.argument("video", metavar="VIDEO")
@click.option(
    "--exercise",
    "-e",
    default=None,
    metavar="NAME",
    help="Exercise profile (see `posecheck exercises`); guessed when omitted.",
)
@click.option(
    "--out",
    "out_dir",
    default=None,
    metavar="DIR",
    help="Output directory [default: ./posecheck-out/<video name>].",
)
@click.option("--no-video", is_flag=True, help="Skip the annotated video (faster).")
@click.option("--no-html", is_flag=True, help="Skip report.html, the review page.")
@stride_option
@click.option("--json", "as_json", is_flag=True, help="Print report.json on stdout.")
@prescription_options
@model_option
@history_options
@run_command
def analyse(
    video: str,
    exercise: str | None,
    out_dir: str | None,
    no_video: bool,
    no_html: bool,
    stride: int,
    as_json: bool,
    hold_s: float | None,
    rep_target: int | None,
    model: str,
    db: Path | None,
    no_history: bool,
) -> None:
    """Count reps and time holds in a recorded VIDEO; write an annotated copy and reports."""
    from rich.console import Console

    from posecheck.apps.analyse import analyse_video
    from posecheck.errors import ResultsNotWritten

    err = Console(stderr=True)
    not_written: ResultsNotWritten | None = None
    try:
        report = analyse_video(
            video,
            exercise,
            model=model,
            out_dir=out_dir or default_out_dir(video),
            write_video=not no_video,
            write_html=not no_html,
            stride=stride,
            progress=err.is_terminal,
            hold_s=hold_s,
            rep_target=rep_target,
        )
    except ResultsNotWritten as exc:  # the results exist: show and store them, then fail
        not_written, report = exc, exc.report  # type: ignore[assignment]
    if not no_history and report.frames:
        store_in_history([report], db=db, mode="video")
    if as_json:
        click.echo(report.to_json())
    else:
        print_summary(report, Console())
    if not_written is not None:
        raise not_written
    if report.interrupted:
        click.echo("posecheck: interrupted: results written for the frames processed", err=True)
        sys.exit(130)
