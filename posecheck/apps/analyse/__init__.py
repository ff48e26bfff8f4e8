"""Analyse a recorded video: `analyse_video(path, exercise=...)` returns a `SessionReport`.

The package is split by concern; everything public is importable from here:

- `run`: the pipeline (decode -> pose -> core -> overlay -> encode), its output file names and
  the Ctrl-C / SIGTERM handling;
- `video`: the annotated video's writers and the queue-stage thread they run on;
- `guess`: guessing the exercise from the first frames.
"""

# ruff: noqa: F401  (re-exported by name: the single module had them all; `*` still gives two)
from posecheck.apps.analyse.guess import guess_exercise, profile_signal, score_exercises
from posecheck.apps.analyse.run import (
    HTML_NAME,
    MAX_HOLD_S,
    PLOT_NAME,
    REPORT_NAME,
    TIMELINE_NAME,
    VIDEO_NAME,
    NoPersonError,
    ProgressFn,
    _rich_progress,
    analyse_video,
    check_prescription,
    not_written_message,
    out_dir_for_run,
    prepare_out_dir,
    prescribed,
    sigterm_as_interrupt,
)
from posecheck.apps.analyse.video import (
    BACKGROUND_NICENESS,
    FfmpegWriter,
    VideoSink,
    ffmpeg_with_x264,
    lower_priority,
    opencv_single_threaded,
)

__all__ = ["analyse_video", "prepare_out_dir"]
