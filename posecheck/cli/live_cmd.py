"""`posecheck live`: coach glute bridges in real time from a webcam, a stream or a replayed file."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from posecheck.cli._common import (
    history_options,
    model_option,
    prescription_options,
    run_command,
    store_in_history,
)


@click.command("live")
@click.option("--source", default="0", show_default=True, metavar="0|PATH|URL",
              help="Camera index, video file, or stream URL (http://, rtsp://).")
@click.option("--exercise", default="glute_bridge", show_default=True,
              help="Exercise profile to count (the 'e' key cycles through the others).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Directory for report.json, timeline.csv and angle.png "
                   "[default: ./posecheck-live-DATE-TIME].")
@click.option("--record", "record_dir", type=click.Path(path_type=Path), default=None,
              help="Also save raw.mp4 and annotated.mp4 of the session in this directory.")
@click.option("--realtime", is_flag=True,
              help="Replay a video file at its real frame rate, like a camera (frames dropped "
                   "when inference falls behind). Without it a file is read as fast as it is "
                   "processed, every frame.")
@click.option("--headless", is_flag=True,
              help="No window: print progress lines (automatic when no display is found).")
@click.option("--mute", is_flag=True, help="No spoken counts.")
@click.option("--speech-wav", type=click.Path(path_type=Path), default=None,
              help="Render the spoken coaching into this WAV file instead of the speakers.")
@click.option("--countdown", "countdown_s", type=click.FloatRange(0, 60), default=None,
              help="Seconds to get into position before counting [default: 3 for a camera, "
                   "else 0].")
@click.option("--mirror", is_flag=True, help="Start mirrored (front camera); 'm' toggles.")
@click.option("--fullscreen", is_flag=True, help="Start fullscreen; 'f' toggles.")
@click.option("--duration", "max_seconds", type=click.FloatRange(0, None, min_open=True),
              default=None, help="Stop after this many seconds.")
@click.option("--reconnect-timeout", "reconnect_timeout_s", type=click.FloatRange(0, None),
              default=30.0, show_default=True,
              help="Give up (and write the report) when a lost camera stays away this long.")
@click.option("--orientation", default="auto", show_default=True,
              type=click.Choice(["auto", "0", "90", "180", "270"]),
              help="Rotate frames before detection; auto searches for the body's way up.")
@prescription_options
@model_option
@history_options
@run_command
def live(source: str, exercise: str, out_dir: Path | None, record_dir: Path | None,
         realtime: bool, headless: bool, mute: bool, speech_wav: Path | None,
         countdown_s: float | None, mirror: bool, fullscreen: bool, max_seconds: float | None,
         reconnect_timeout_s: float, orientation: str, hold_s: float | None,
         rep_target: int | None, model: str, db: Path | None, no_history: bool) -> None:
    """Count reps, time the hold at the top and coach, live.

    Keys in the window: q/Esc quit, space pause, r reset the set, e next exercise, m mirror,
    f fullscreen, s snapshot. The report, timeline and angle plot are written when the
    session ends, however it ends (q, window closed, Ctrl-C, end of file, camera gone).
    """
    from posecheck.apps.live.app import LiveConfig, default_out_dir, run_live

    out = out_dir or default_out_dir()
    config = LiveConfig(
        source=source, exercise=exercise, model=model, out_dir=out, record_dir=record_dir,
        realtime=realtime, headless=True if headless else None, mute=mute,
        speech_wav=speech_wav, countdown_s=countdown_s, mirror=mirror, fullscreen=fullscreen,
        reconnect_timeout_s=reconnect_timeout_s, max_seconds=max_seconds,
        orientation=orientation, hold_s=hold_s, rep_target=rep_target,
    )
    outcome = run_live(config)
    for record in outcome.sets:
        click.echo(f"set {record.number}: {record.report.summary_line()}")
    if not no_history:
        store_in_history((record.report for record in outcome.sets), db=db, mode="live")
    if outcome.report is not None:
        click.echo(f"report: {outcome.report.outputs.get('report', out)}")
    lat = outcome.latency.summary()
    if "age_ms_median" in lat:
        click.echo(
            f"latency: frame age median {lat['age_ms_median']:.0f} ms, p95 "
            f"{lat['age_ms_p95']:.0f} ms; inference median {lat['infer_ms_median']:.0f} ms; "
            f"{lat['frames_dropped']} of {lat['frames_captured']} frames dropped"
        )
    click.echo(f"ended: {outcome.reason}")
    if outcome.interrupted:
        sys.exit(130)
