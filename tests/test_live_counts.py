"""The same core runs live: a clip replayed at its real frame rate through `posecheck live`
(capture thread, newest-frame handoff, capture clock) counts what `analyse` counts on the file,
and the holds at the top agree within 0.25 s."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import cut_clip

from posecheck.apps.analyse import analyse_video
from posecheck.apps.live.app import LiveConfig, run_live
from posecheck.core.counter import MIN_HOLD_S  # the core's shortest recorded hold
from posecheck.core.profiles import PROFILES

REPO = Path(__file__).resolve().parents[1]


def compare(clip: Path, tmp_path: Path, model: str = "lite",
            exercise: str = "glute_bridge") -> None:
    expected = analyse_video(clip, exercise, model=model)
    outcome = run_live(LiveConfig(source=str(clip), realtime=True, model=model, headless=True,
                                  exercise=exercise,
                                  mute=True, out_dir=tmp_path, summary_s=0.0,
                                  stream=open(tmp_path / "progress.txt", "w")))  # noqa: SIM115
    got = outcome.report
    assert got is not None and outcome.reason == "end of video"
    assert outcome.latency.captured == expected.frames  # every frame of the file was captured
    assert got.rep_count == expected.rep_count, (
        f"live {got.rep_count} vs analyse {expected.rep_count}; "
        f"dropped {outcome.latency.dropped} of {outcome.latency.captured}")
    # Holds by rep. The core records a hold only from MIN_HOLD_S on, so a hold seen on one side
    # only agrees within 0.25 s when it is shorter than MIN_HOLD_S + 0.25 s.
    live = {h.rep_index: h for h in got.holds}
    file = {h.rep_index: h for h in expected.holds}
    for rep in sorted(set(live) | set(file)):
        a, b = live.get(rep), file.get(rep)
        if a is None or b is None:
            only = a or b
            assert only is not None and only.duration_s < MIN_HOLD_S + 0.25, (rep, only)
            continue
        assert a.duration_s == pytest.approx(b.duration_s, abs=0.25), rep
        assert a.start_ms / 1000 == pytest.approx(b.start_ms / 1000, abs=0.25), rep


def test_realtime_replay_counts_like_analyse(shared_clips: Path, tmp_path: Path) -> None:
    compare(shared_clips / "glute_bridge_darebee_side.mp4", tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["glute_bridge_mistakes.mp4", "glute_bridge_side.mp4"])
def test_realtime_replay_counts_like_analyse_on_rendered_samples(name: str,
                                                                 tmp_path: Path) -> None:
    clip = REPO / "sample_videos" / name
    assert clip.exists(), f"{clip} not rendered (sample_videos/regenerate.py)"
    compare(clip, tmp_path, model="full")


BRIDGE_FAMILY = ("glute_bridge", "single_leg_bridge", "hip_thrust")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "exercise"),
    [
        ("single_leg_bridge_gym_oblique.mp4", "single_leg_bridge"),
        # Not here: hip_thrust_box_splitscreen_tiktok.mp4 (count equal, one hold 0.79 vs 0.50 s)
        # and glute_bridge_tutorial_montage_douyin.mp4 (live 1 or 3 vs analyse 3 with 18 % of
        # frames dropped): both agree only when the machine keeps up with the camera.
    ],
)
def test_realtime_replay_counts_like_analyse_on_the_other_shared_bridge_clips(
    name: str, exercise: str, shared_clips: Path, clip_labels: dict[str, dict], tmp_path: Path
) -> None:
    assert clip_labels[name]["exercise"] in BRIDGE_FAMILY
    compare(shared_clips / name, tmp_path, model="full", exercise=exercise)


def live_and_file(clip: Path, tmp_path: Path, exercise: str, model: str):
    """`live` reading the file frame by frame (the loop a camera uses, without --realtime's
    dropped frames) and `analyse` on the same file."""
    expected = analyse_video(clip, exercise, model=model, write_video=False)
    outcome = run_live(LiveConfig(source=str(clip), realtime=False, model=model, headless=True,
                                  exercise=exercise, mute=True, out_dir=tmp_path / "live",
                                  summary_s=0.0,
                                  stream=open(tmp_path / "progress.txt", "w")))  # noqa: SIM115
    assert outcome.report is not None and outcome.reason == "end of video"
    return outcome.report, expected


def assert_same_set(got, expected) -> None:
    """Same counts; the same holds, and the same unfinished rep, within ±0.1 s (issue 18)."""
    assert (got.rep_count, got.partial_count) == (expected.rep_count, expected.partial_count)
    assert len(got.holds) == len(expected.holds)
    for a, b in zip(got.holds, expected.holds, strict=True):
        assert a.duration_s == pytest.approx(b.duration_s, abs=0.1)
        assert a.start_ms / 1000 == pytest.approx(b.start_ms / 1000, abs=0.1)
    assert (got.unfinished is None) == (expected.unfinished is None)
    if got.unfinished is not None and got.unfinished.hold is not None:
        assert expected.unfinished.hold is not None
        assert got.unfinished.hold.duration_s == pytest.approx(
            expected.unfinished.hold.duration_s, abs=0.1)


SAMPLE_EXERCISES = {
    "glute_bridge_side.mp4": "glute_bridge",
    "glute_bridge_mistakes.mp4": "glute_bridge",
    "knee_raise_side.mp4": "standing_knee_raise",
    "neg_pelvic_tilt.mp4": "glute_bridge",
}


@pytest.mark.parametrize("name", sorted(SAMPLE_EXERCISES))
def test_live_counts_and_times_like_analyse_on_the_samples(name: str, tmp_path: Path) -> None:
    got, expected = live_and_file(REPO / "sample_videos" / name, tmp_path,
                                  SAMPLE_EXERCISES[name], "lite")
    assert_same_set(got, expected)


def test_live_and_analyse_agree_on_an_input_cut_mid_hold(tmp_path: Path) -> None:
    """The issue's repro: 3 s of glute_bridge_side end 1.4 s into the first hold. Neither
    counts that rep; both report it unfinished with the same hold so far."""
    clip = cut_clip(REPO / "sample_videos" / "glute_bridge_side.mp4", tmp_path / "cut.mp4", 3.0)
    got, expected = live_and_file(clip, tmp_path, "glute_bridge", "full")
    assert got.rep_count == 0 and got.unfinished is not None
    assert got.unfinished.hold is not None and got.unfinished.hold.duration_s > 1.0
    assert_same_set(got, expected)


@pytest.mark.slow
def test_live_counts_and_times_like_analyse_on_the_shared_clips(
    shared_clips: Path, clip_labels: dict[str, dict], tmp_path: Path
) -> None:
    for name, label in sorted(clip_labels.items()):
        exercise = label["exercise"] if label["exercise"] in PROFILES else "glute_bridge"
        (tmp_path / name).mkdir()
        got, expected = live_and_file(shared_clips / name, tmp_path / name, exercise, "full")
        assert_same_set(got, expected)
