"""`posecheck pose`: run the pose model over a video and write the landmarks of every frame."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from posecheck.cli._common import model_option, run_command

if TYPE_CHECKING:
    from posecheck.pose import PoseStats

ORIENTATIONS = ("auto", "0", "90", "180", "270")


@click.command("pose")
@click.argument("video", metavar="VIDEO")
@click.option("--out", "-o", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Landmarks file: .npz, .csv or .json.")
@click.option("--orientation", type=click.Choice(ORIENTATIONS), default="auto", show_default=True,
              help="Rotate frames clockwise by this many degrees before detection, or search "
                   "for the rotation that finds the body (auto; for lying exercises).")
@click.option("--stride", type=click.IntRange(min=1), default=1, show_default=True,
              help="Process every N-th frame.")
@click.option("--num-poses", type=click.IntRange(min=1, max=8), default=2, show_default=True,
              help="People the model may report; the largest (and most consistent) is kept.")
@model_option
@run_command
def pose(video: str, out: Path, orientation: str, stride: int, num_poses: int, model: str) -> None:
    """Detect the pose in every frame of VIDEO and write the landmarks to --out.

    Per frame the file holds the time (ms, container clock), whether a person was found, the
    rotation used, and 33 landmarks as (x, y, z, visibility) in pixels of the original frame
    plus 33 world landmarks in metres. VIDEO may also be an image folder, a glob or a stream URL.
    """
    from posecheck.inputs.sources import open_source
    from posecheck.pose import PoseEstimator, check_landmarks_path, save_pose_frames

    check_landmarks_path(out)
    stderr = Console(stderr=True)
    frames = []
    started = time.perf_counter()
    with open_source(video, stride=stride) as source, PoseEstimator(
        model, orientation=orientation, num_poses=num_poses
    ) as estimator:
        columns = (TextColumn("[bold]pose[/]"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[rate]}"), TimeRemainingColumn())
        with Progress(*columns, console=stderr, transient=True) as progress:
            task = progress.add_task("pose", total=source.frame_count, rate="")
            for frame in source:
                result = estimator.detect(frame.image, frame.timestamp_ms, frame.index)
                frames.append(result)
                stats = estimator.stats
                progress.update(task, advance=1,
                                rate=f"found {stats.frames_with_pose}/{stats.frames}")
        elapsed = time.perf_counter() - started
        stats = estimator.stats
        meta = {
            "source": source.name,
            "model": estimator.model_name,
            "orientation": estimator.orientation,
            "stride": stride,
            "fps": source.fps,
            "frame_wh": list(source.frame_wh),
            "detection_rate": stats.detection_rate,
            "per_rotation": {str(k): v for k, v in stats.per_rotation.items()},
        }
        ended_early = bool(getattr(source, "ended_early", False))
    save_pose_frames(out, frames, meta)
    _summary(Console(), video, out, stats, elapsed, ended_early)


def _summary(console: Console, video: str, out: Path, stats: PoseStats, elapsed: float,
             ended_early: bool) -> None:
    console.print(f"pose: {video}", soft_wrap=True, highlight=False)
    table = Table(show_edge=False)
    table.add_column("orientation")
    table.add_column("frames with pose", justify="right")
    table.add_column("share of frames", justify="right")
    for rotation, count in stats.per_rotation.items():
        if count:
            table.add_row(f"{rotation}°", str(count), f"{count / max(1, stats.frames):.1%}")
    table.add_row("[bold]all[/]", f"[bold]{stats.frames_with_pose}/{stats.frames}[/]",
                  f"[bold]{stats.detection_rate:.1%}[/]")
    console.print(table)
    fps = stats.frames / elapsed if elapsed > 0 else 0.0
    console.print(f"detection rate {stats.detection_rate:.1%} over {stats.frames} frames "
                  f"({stats.inferences} inferences, orientation searches: {stats.searches}, "
                  f"most people in a frame: {stats.max_people}), {fps:.1f} frames/s",
                  soft_wrap=True)
    if ended_early:
        console.print("[yellow]warning: the video ended before the frame count its header "
                      "declares (truncated or damaged file)[/]", soft_wrap=True)
    console.print(f"landmarks written to {out}", soft_wrap=True)
