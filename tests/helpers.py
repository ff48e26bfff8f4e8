"""Builders shared by test modules (pytest puts tests/ on sys.path: `from helpers import ...`)."""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from posecheck.core.results import BodyMeasures, Direction, FrameResult, Phase, Position

NAN = math.nan


def frame_result(
    angle: float = 30.0,
    t_ms: float = 0.0,
    *,
    sides: Sequence[str] = ("left", "right"),
    raw_offset: float = 0.0,
    rep_count: int = 2,
    **overrides: object,
) -> FrameResult:
    """A supine bridge frame mid-rise: hip flexion `angle` on `sides` (NaN on the others).

    `raw_offset` sets the raw measure apart from the smoothed one (to tell which is read);
    the rep in progress is the one after `rep_count`. Any field can be overridden.
    """

    def per_side(value: float) -> dict[str, float]:
        return {s: value if s in sides else NAN for s in ("left", "right")}

    measures = BodyMeasures(
        hip_flexion_deg=per_side(angle + raw_offset),
        hip_flexion_3d_deg=per_side(angle),
        knee_flexion_deg=per_side(90.0),
        side_confidence={"left": 0.9, "right": 0.5 if "right" in sides else 0.2},
        trunk_inclination_deg=85.0,
        pelvis_height=0.2,
        asymmetry_deg=0.0 if len(sides) == 2 else NAN,
        facing=1,
        posture="supine",
    )
    base = FrameResult(
        index=int(t_ms // 40),
        t_ms=t_ms,
        pose_present=True,
        side_used="left",
        measures=measures,
        hip_smoothed_deg=per_side(angle),
        primary_deg=angle,
        bridged=False,
        position=Position.FLEXED,
        direction=Direction.EXTENDING,
        phase=Phase.CONCENTRIC,
        posture_ok=True,
        rep_count=rep_count,
        partial_count=1,
        side_counts={"left": rep_count},
        rep_in_progress=rep_count + 1,
        holding=False,
        hold_elapsed_s=0.0,
        hold_target_s=2.0,
    )
    return replace(base, **overrides)


def rounded_top_sides_s(
    up_s: float, down_s: float, easing: str = "cosine", threshold: bool = True
) -> tuple[float, float]:
    """The pause `posecheck.core.pause` defines for a top that turns round with no hold, as
    (part before the peak, part after): on each side, the time the eased ramp spends within
    TOP_BAND of its range while slower than SLOW_SHARE of its top speed (0 for constant speed:
    a sharp turn is no pause). Under MIN_PAUSE_S in all, the top turned straight round: (0, 0)
    (unless `threshold` is False)."""
    import numpy as np

    from posecheck.core.pause import MIN_PAUSE_S, SLOW_SHARE, TOP_BAND
    from posecheck.synthetic.motions import EASINGS

    u = np.linspace(0.0, 1.0, 4001)
    e = EASINGS[easing](u)
    speed = np.gradient(e, u)
    ok = (e >= 1.0 - TOP_BAND) & (speed <= SLOW_SHARE * speed.max() + 1e-9)
    if not ok[-1]:
        return 0.0, 0.0
    run = int(np.argmin(ok[::-1])) if not ok.all() else len(ok)  # the last run, ending at u = 1
    share = (run - 1) / (len(ok) - 1)
    if threshold and share * (up_s + down_s) < MIN_PAUSE_S:
        return 0.0, 0.0
    return share * up_s, share * down_s


def expected_pause_s(hold_s: float, up_s: float, down_s: float, easing: str = "cosine") -> float:
    """The pause a rep should report: its held plateau, or for a top that turns round at once
    its rounded top (`rounded_top_sides_s`)."""
    return hold_s if hold_s > 0 else sum(rounded_top_sides_s(up_s, down_s, easing))


def expected_pause_start_s(rep, easing: str = "cosine") -> float:
    """Where a generated rep's (`synthetic.motions.TruthRep`) pause starts, in seconds."""
    if rep.hold_s > 0:
        return rep.top_s
    before, _ = rounded_top_sides_s(rep.top_s - rep.start_s, rep.end_s - rep.top_end_s, easing)
    return rep.top_s - before


def truth_pause_s(rep, easing: str = "cosine") -> float:
    """`expected_pause_s` of a generated rep."""
    return expected_pause_s(
        rep.hold_s, rep.top_s - rep.start_s, rep.end_s - rep.top_end_s, easing
    )


# -- optional system packages ----------------------------------------------------------------


def require_tool(*names: str, package: str, gives: str) -> str:
    """Path of the first of `names` on PATH: a program from an optional Debian package.

    Skips when it is absent, so the README's test command passes on a machine without the
    optional packages; fails instead when CI=true, where .ci/run installs them all (as the
    shared clips fixture does).
    """
    for name in names:
        exe = shutil.which(name)
        if exe:
            return exe
    why = f"{names[0]} not installed (apt-get install {package}: {gives})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but {why}")
    pytest.skip(why)


def require_espeak() -> str:
    return require_tool("espeak-ng", package="espeak-ng", gives="spoken cues")


def require_ffmpeg() -> str:
    return require_tool("ffmpeg", package="ffmpeg", gives="H.264 output, test fixtures")


def require_xvfb() -> str:
    return require_tool("Xvfb", package="xvfb", gives="the live window tests")


def require_chromium() -> str:
    return require_tool(
        "chromium", "chromium-browser", package="chromium", gives="the balance page render test"
    )


# -- tiny real clips ---------------------------------------------------------------------------


def short_sample_clip(out: Path, frames: int = 45, size: tuple[int, int] = (320, 240)) -> Path:
    """The first `frames` of the bundled side-view bridge sample, downscaled, as mp4v in `out`
    (a real body for the model in ~1.5 s of video: cheap end-to-end runs, never in the repo)."""
    sample = Path(__file__).resolve().parents[1] / "sample_videos" / "glute_bridge_side.mp4"
    return clip_head(sample, out, frames=frames, size=size)


def damaged_clip(path: Path, wh: tuple[int, int] = (64, 48), frames: int = 60,
                 blocks: tuple[float, ...] = (0.3, 0.6)) -> Path:
    """A noise clip (mp4v) with 512-byte blocks of its frame data zeroed: a few frames that
    cannot be decoded in the middle of a file whose header still declares them all."""
    import cv2
    import numpy as np

    w, h = wh
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (w, h))
    rng = np.random.default_rng(0)
    for _ in range(frames):
        writer.write(rng.integers(0, 255, (h, w, 3), dtype=np.uint8))
    writer.release()
    data = bytearray(path.read_bytes())
    mdat, moov = data.find(b"mdat") - 4, data.find(b"moov") - 4
    assert mdat < moov, "expected mdat before moov in OpenCV's mp4 output"
    for fraction in blocks:
        offset = int(mdat + (moov - mdat) * fraction)
        data[offset : offset + 512] = bytes(512)
    path.write_bytes(bytes(data))
    return path


def cut_clip(src: Path, out: Path, seconds: float) -> Path:
    """The first `seconds` of a clip, re-encoded: an input that ends mid-rep."""
    return clip_head(src, out, seconds=seconds)


def clip_head(
    src: Path,
    out: Path,
    *,
    frames: int | None = None,
    seconds: float | None = None,
    size: tuple[int, int] | None = None,
) -> Path:
    """The first `frames` (or `seconds`) of `src`, resized to `size` when given, as mp4v at the
    clip's own frame rate in `out`."""
    import cv2

    cap = cv2.VideoCapture(str(src))
    fps = cap.get(cv2.CAP_PROP_FPS)
    count = frames if frames is not None else round((seconds or 0.0) * fps)
    writer = None
    for _ in range(count):
        ok, frame = cap.read()
        assert ok, f"{src} has fewer than {count} frames"
        if size is not None:
            frame = cv2.resize(frame, size)
        if writer is None:
            writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps,
                                     (frame.shape[1], frame.shape[0]))
        writer.write(frame)
    if writer is not None:
        writer.release()
    cap.release()
    return out
