"""`posecheck render SCENARIO.toml --out DIR`: a rendered clip with its exact truth file."""

from __future__ import annotations

import os
from pathlib import Path

import click

from posecheck.cli._common import run_command


@click.command("render")
@click.argument("scenarios", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Directory for NAME.mp4 and NAME.truth.json.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(0, 64),
              help="Rendering processes (0 = one per CPU).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@run_command
def render(scenarios: tuple[Path, ...], out_dir: Path, workers: int, quiet: bool) -> None:
    """Render SCENARIO.toml files into synthetic exercise videos with exact ground truth.

    Each scenario names the exercise, a script of reps, the body, the camera and the scene;
    see sample_videos/*.toml. Same scenario -> identical frames.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from posecheck.synthetic.scenario import load_scenario, render_scenario

    loaded = [load_scenario(p) for p in scenarios]  # validate all before rendering any
    n_workers = workers or os.cpu_count() or 1
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        disable=quiet,
        transient=False,
    ) as progress:
        for scenario in loaded:
            task = progress.add_task(scenario.name, total=None)
            record = render_scenario(
                scenario,
                out_dir,
                workers=n_workers,
                on_start=lambda n, task=task: progress.update(task, total=n),
                on_frames=lambda k, task=task: progress.advance(task, k),
            )
            if quiet:
                continue
            progress.console.print(
                f"{out_dir / record['file']}: {record['frames']} frames "
                f"{record['width']}x{record['height']} @ {record['fps']:g} fps, codec "
                f"{record['codec']}, {record['reps']} reps, {record['partials']} partials, "
                f"{len(record['holds'])} holds"
            )
