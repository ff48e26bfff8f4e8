"""SessionAnalyzer end to end on the exact-label generator (posecheck.synthetic): issue 4's bounds.

Measured with benchmarks/hold_timing.py (generator -> landmarks -> analyzer; per cell 4-6 seeds x
4 reps holding 0.5, 1, 2 and 3 s, 10 % dropouts, camera either side; landmark noise 0 / 0.5 / 2 %
of the thigh x 10 / 15 / 24 / 30 / 60 fps x ramps 0.4 / 0.6 / 1 / 2 s x 5 easings; |hold error|
in s; after the upper-half fit replaced the 150 ms override stopgap):

- Counts: exact in every cell (0 miscounts) and in the random scripts of
  `test_bridge_counts_equal_truth`: 1-3 reps, rise/lower 0.6-2 s, every easing per rep, holds
  0-3 s, partials at 35-42 % depth reported as partial, noise up to 2 %, dropouts up to 10 %,
  10-60 fps, camera on either side.
- Holds within ±0.1 s (the documented region): landmark noise <= 0.5 %, dropouts <= 10 % in
  runs of at most 3 frames (at 10 fps: single frames), 10-60 fps, rise/lower 0.4-0.6 s, cosine or
  linear easing (any mix per rep), holds 0-3 s, 1-3 reps, any rests. Cell worsts 0.008-0.091 s
  (p99 = worst at this sample size); searches of 80 and 150 random scripts in the region found no
  hold or hold start off by more than 0.1 s. A search of 300 (session 6) found two at 10 fps,
  noiseless, where the samples cannot tell: merged dropout runs (5 frames) that hid a whole
  lowering, and a 3-frame run leaving two samples on a 0.5 s linear lowering, read as eased
  (0.28 s for a 0.5 s hold); the region now excludes them, and 300 + 600 more found none. At 1 % it
  breaks: 0.4 s ramps cosine/trapezoid <= 0.099 s but linear 0.06-0.15, minimum jerk 0.09-0.13;
  0.6 s linear ramps lose a 0.5 s hold at 15 fps.
- What bounds it is the easing, not the noise alone. With the easing known the Cramér-Rao
  spread of one hold edge (`hold_timing.py --limit`; σ = 2.0-2.3° of hip angle at 2 %, 0.5° at
  0.5 %) is at 2 %: 0.010-0.035 s for 0.4-0.6 s ramps, 0.018-0.048 s for 1 s, 0.023-0.073 s for
  2 s (60 -> 10 fps); at 0.5 % <= 0.018 s everywhere. It scales as σ / (slope · sqrt(fps)). A
  hold's 99th percentile is about 2.6 · sqrt(2) edge spreads, so with the easing known ±0.1 s
  would hold at 2 % up to 1 s ramps from 30 fps and 0.4 s ramps at 10 fps. The
  estimator has to find the easing too, and under noise the family is not identified: a
  minimum-jerk move is read as a shorter cosine one and the reverse, each edge off by a share
  of the ramp's duration (signed means: 0.5 %: 2-4 %, 2 %: 5-15 %; minimum jerk reads long,
  cosine and trapezoid short, linear short at 2 %), so the hold error grows with the ramp:
  0.5 %, 1 s ramps: cosine 0.10-0.16, minimum jerk 0.10-0.24, trapezoid 0.08-0.15, linear
  <= 0.06, asymmetric 0.05-0.16; 2 s ramps: minimum jerk 0.13-0.24, cosine 0.2-0.29 and a 0.5 s
  hold lost once (15 fps), trapezoid 0.08-0.24, linear <= 0.09, asymmetric 0.23-0.52 (it is
  outside the fitted family). Minimum jerk 0.6 s at 10-15 fps 0.12-0.13, trapezoid 0.4-0.6 s
  at 15 fps 0.11-0.12 (just outside: not in the region).
- 2 % (the issue's noise bound): no normal-tempo script region meets ±0.1 s at the 99th
  percentile. 0.4 s ramps: cosine/trapezoid 0.08-0.13 s, minimum jerk 0.14-0.16, linear 0.14-0.5
  (0.5 s holds lost at 10 fps), asymmetric 0.12-0.16; 0.6 s: cosine/trapezoid 0.09-0.5 (30 fps
  0.094-0.097), minimum jerk 0.17-0.22, linear: 0.5 s holds lost (46-79 % of reps > 0.1 s below
  60 fps); 1-2 s ramps: 0.2-2 s, 0.5-1 s holds lost in up to half the reps (their plateau is not
  told from an eased turning point). Against the limit above, the gap is the easing's
  identifiability, not the noise as such.
- Noiseless, every easing of the fitted family (cosine, minimum jerk, linear) within 0.003 s at
  24-60 fps, 0.6-2 s ramps (2 s minimum jerk was 0.198 s under the stopgap), trapezoid <= 0.09 s.
  `test_bridge_holds_outside_the_region_stay_within_measured` replays cells against their worst.
"""

from __future__ import annotations

import itertools
import math
import os
from dataclasses import replace

import numpy as np
import pytest
from helpers import expected_pause_start_s, rounded_top_sides_s, truth_pause_s
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from posecheck.core.analyzer import PlantedLeg, SessionAnalyzer, analyse_poses, planted_leg_vote
from posecheck.core.landmarks import Landmark, PoseFrame
from posecheck.core.pause import MIN_PAUSE_S
from posecheck.core.results import Cue, Direction, EventKind, Phase, Position
from posecheck.errors import ProfileError
from posecheck.synthetic.kinematics import BodyShape
from posecheck.synthetic.landmarks import Camera, to_pose_frames
from posecheck.synthetic.motions import EASINGS, Motion, MotionScript, RepSpec, animate

SHAPE = BodyShape()
NAN = math.nan
FPS = [10, 15, 24, 30, 60]
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def frames_for(
    script: MotionScript,
    fps: float = 30,
    *,
    noise: float = 0.0,
    dropout: float = 0.0,
    side: str = "left",
    seed: int = 0,
) -> tuple[Motion, list[PoseFrame]]:
    motion = animate(script, SHAPE, fps, seed=seed)
    cam = Camera.framing(motion, side)
    frames = to_pose_frames(motion, SHAPE, cam, noise_frac=noise, dropout=dropout, seed=seed)
    return motion, frames


def hold_tolerance_s(fps: float) -> float:
    """0.1 s from 24 fps up; 2.5 frames below (a slow eased stop is flat within the noise for
    about a frame)."""
    return max(0.1, 2.5 / fps)


def hold_s(rep) -> float:
    return rep.hold.duration_s if rep.hold is not None else 0.0


def _longest_gap(frames: list[PoseFrame]) -> int:
    """The longest run of consecutive frames without a pose."""
    longest = run = 0
    for f in frames:
        run = 0 if f.present else run + 1
        longest = max(longest, run)
    return longest


@st.composite
def rep_specs(
    draw,
    allow_partial: bool = True,
    mistakes: bool = True,
    easings=tuple(EASINGS),
    ramps=(0.6, 2.0),
):
    partial = allow_partial and draw(st.integers(0, 3)) == 0
    up = draw(st.floats(*ramps))
    down = draw(st.floats(*ramps))
    easing = draw(st.sampled_from(easings))
    if partial:
        hold, depth = draw(st.floats(0.0, 0.5)), draw(st.floats(0.35, 0.42))
        return RepSpec(up, hold, down, depth=depth, partial=True, easing=easing)
    hold = draw(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0]))
    mist = (
        draw(st.sampled_from([(), (), ("incomplete_lockout",), ("over_arch",)])) if mistakes else ()
    )
    return RepSpec(up, hold, down, mistakes=mist, easing=easing)


@st.composite
def bridge_scripts(draw, allow_partial: bool = True):
    reps = draw(st.lists(rep_specs(allow_partial), min_size=1, max_size=3))
    return MotionScript("glute_bridge", reps=tuple(reps), rest_s=draw(st.floats(0.5, 1.5)))


@settings(max_examples=25, **SETTINGS)
@given(
    script=bridge_scripts(),
    fps=st.sampled_from(FPS),
    noise=st.floats(0.0, 0.02),
    dropout=st.floats(0.0, 0.10),
    side=st.sampled_from(["left", "right"]),
    seed=st.integers(0, 10_000),
)
def test_bridge_counts_equal_truth(script, fps, noise, dropout, side, seed) -> None:
    motion, frames = frames_for(script, fps, noise=noise, dropout=dropout, side=side, seed=seed)
    _, summary = analyse_poses(frames, "glute_bridge")
    truth = motion.truth
    assert summary.rep_count == truth.rep_count
    assert len(summary.partials) == truth.partial_count
    assert all(r.partial for r in summary.partials)


def bench_set(
    noise: float, fps: float, ramp: float, easing: str, seed: int, holds=(0.5, 1.0, 2.0, 3.0)
):
    """benchmarks/hold_timing.py's set: holds of 0.5, 1, 2 and 3 s between `ramp` s ramps, 1 s
    rests, 10 % dropouts, the camera on the left for even seeds: its table's cells, rep for rep."""
    reps = tuple(RepSpec(ramp, h, ramp, easing=easing) for h in holds)
    script = MotionScript("glute_bridge", reps=reps, rest_s=1.0)
    side = "left" if seed % 2 == 0 else "right"
    motion, frames = frames_for(script, fps, noise=noise, dropout=0.10, side=side, seed=seed)
    _, summary = analyse_poses(frames, "glute_bridge")
    truth = motion.truth.full_reps
    assert summary.rep_count == len(truth) and not summary.partials
    return [abs(hold_s(g) - w.hold_s) for g, w in zip(summary.reps, truth, strict=True)]


# The ±0.1 s region (module doc): landmark noise <= 0.5 %, 10 % dropouts, 10-60 fps, ramps
# 0.4-0.6 s, cosine or linear easing, holds 0.5-3 s; measured worst of each cell (4 seeds x 4
# holds) 0.014-0.091 s. Replayed here at the noise bound, first two seeds.
@pytest.mark.parametrize("easing", ["cosine", "linear"])
@pytest.mark.parametrize("fps", [10, 15, 60])
@pytest.mark.parametrize("ramp", [0.4, 0.6])
def test_bridge_holds_within_a_tenth(easing, fps, ramp) -> None:
    for seed in (0, 1):
        assert max(bench_set(0.005, fps, ramp, easing, seed)) <= 0.1


@settings(max_examples=int(os.environ.get("POSECHECK_HOLD_EXAMPLES", 10)), **SETTINGS)
@given(
    reps=st.lists(
        rep_specs(
            allow_partial=False, mistakes=False, easings=("cosine", "linear"), ramps=(0.4, 0.6)
        ),
        min_size=1,
        max_size=3,
    ),
    rest=st.floats(0.5, 1.5),
    fps=st.sampled_from(FPS),
    noise=st.floats(0.0, 0.005),
    dropout=st.floats(0.0, 0.10),
    side=st.sampled_from(["left", "right"]),
    seed=st.integers(0, 10_000),
)
def test_bridge_holds_in_the_region_any_script(reps, rest, fps, noise, dropout, side, seed) -> None:
    """The region over any script in it (holds 0-3 s, 1-3 reps, each its own ramps and easing,
    any rests), at its full noise, dropout and frame-rate bounds: every hold within ±0.1 s, and
    where it starts too (POSECHECK_HOLD_EXAMPLES=150 repeats the search the module doc cites).

    Where the samples cannot tell, the region ends (both found by hypothesis at 10 fps, noiseless):
    the generator's dropout runs of 1-3 frames may merge into longer ones, and a gap of 5 frames
    swallowed a whole 0.44 s lowering (the hold ended at the last sample at the top: 0.86 s for
    1.0 s); and at 10 fps a run of 2-3 missing frames leaves two samples on a 0.5 s ramp, too few
    to tell an abrupt stop from an eased one, whose corners lie 0.13 s apart (a linear lowering
    read as eased: 0.28 s for 0.5 s). So: runs of at most 3 frames, and of 1 at 10 fps."""
    script = MotionScript("glute_bridge", reps=tuple(reps), rest_s=rest)
    motion, frames = frames_for(script, fps, noise=noise, dropout=dropout, side=side, seed=seed)
    assume(_longest_gap(frames) <= (1 if fps <= 10 else 3))
    _, summary = analyse_poses(frames, "glute_bridge")
    truth = motion.truth.full_reps
    assert summary.rep_count == len(truth)
    full = [r for r in reps if not r.partial]
    for got, want, spec in zip(summary.reps, truth, full, strict=True):
        pause = truth_pause_s(want, spec.easing)
        rounded = sum(rounded_top_sides_s(want.top_s - want.start_s, want.end_s - want.top_end_s,
                                          spec.easing, threshold=False))
        if want.hold_s == 0 and abs(rounded - MIN_PAUSE_S) < 0.1:
            continue  # a rounded top at the threshold of a pause may read either way
        assert hold_s(got) == pytest.approx(pause, abs=0.1)
        if got.hold is not None:
            start = expected_pause_start_s(want, spec.easing)
            assert got.hold.start_ms / 1000 == pytest.approx(start, abs=0.1)


# Outside the region: the worst |hold error| benchmarks/hold_timing.py measured in the cell (6
# seeds x 4 holds at 2 %, 4 seeds at 0.5 %; the first two seeds replayed here). These bounds may
# only go down. (noise, fps, ramp s, easing): worst s. Re-measured when the held top was allowed
# to rise slowly (docs/measurements.md, "Counter: hold timing"): every cell the same or lower
# (was 0.155, 0.138, 0.162, 0.326, 0.517, 0.235, 0.253).
MEASURED_WORST = {
    (0.02, 10, 0.4, "minimum_jerk"): 0.151,  # 2 %: no normal-tempo region meets ±0.1 s
    (0.02, 30, 0.4, "linear"): 0.134,
    (0.02, 60, 0.6, "cosine"): 0.127,
    (0.02, 24, 1.0, "minimum_jerk"): 0.296,
    (0.02, 30, 2.0, "minimum_jerk"): 0.517,
    (0.005, 24, 1.0, "minimum_jerk"): 0.140,
    (0.005, 30, 2.0, "cosine"): 0.227,
    (0.0, 24, 2.0, "minimum_jerk"): 0.010,  # measured 0.003 (was 0.198 under the stopgap)
}


@pytest.mark.parametrize(("noise", "fps", "ramp", "easing"), list(MEASURED_WORST))
def test_bridge_holds_outside_the_region_stay_within_measured(noise, fps, ramp, easing) -> None:
    worst = MEASURED_WORST[(noise, fps, ramp, easing)]
    for seed in (0, 1):
        assert max(bench_set(noise, fps, ramp, easing, seed)) <= worst + 1e-3


# The bridge's 2 s target hold at 2 % landmark noise (~2.5 deg a frame), 2 s ramps: reps whose
# hold the movement fit's old gates lost (read as none: rest noise read low, plateau F 5.6-9.6 <
# 10) and now finds. Measured over 20 seeds: 2 s holds lost 1 -> 0 at 24 fps (linear), 9 -> 3 at
# 10 fps (linear 7 -> 3, minimum jerk and trapezoid 1 -> 0); worst |error| of a 2 s hold in the
# cells that keep them all 0.75 s (10 fps asymmetric). (fps, easing, seed)
FOUND_2S_HOLDS = [
    (24, "linear", 0),
    (10, "minimum_jerk", 6),
    (10, "trapezoid", 13),
    (10, "linear", 5),
    (10, "linear", 6),
]


@pytest.mark.parametrize(("fps", "easing", "seed"), FOUND_2S_HOLDS)
def test_bridge_2s_hold_found_at_2_percent_noise(fps, easing, seed) -> None:
    errs = bench_set(0.02, fps, 2.0, easing, seed, holds=(0.5, 2.0))
    assert errs[1] <= 0.75


# The other profiles the generator animates.
OTHERS = [
    "back_lunge",
    "single_leg_bridge",
    "hip_thrust",
    "frog_pump",
    "standing_knee_raise",
    "seated_march",
    "lying_leg_raise",
    "romanian_deadlift",
    "prone_leg_lift",
    "quadruped_hip_extension",
]


@pytest.mark.parametrize("exercise", OTHERS)
@pytest.mark.parametrize(
    ("side", "noise", "dropout", "fps"), [("left", 0.01, 0.05, 30), ("right", 0.003, 0.1, 15)]
)
def test_other_profiles_count_and_time(exercise, side, noise, dropout, fps) -> None:
    reps = (RepSpec(1.0, 1.0, 1.0), RepSpec(0.8, 0.0, 1.2), RepSpec(1.2, 2.0, 0.9))
    script = MotionScript(exercise, reps=reps, side="left")
    motion, frames = frames_for(script, fps, noise=noise, dropout=dropout, side=side, seed=3)
    _, summary = analyse_poses(frames, exercise)
    truth = motion.truth
    assert summary.rep_count == truth.rep_count
    assert len(summary.partials) == 0
    if truth.side_counts.keys() != {"both"}:
        assert summary.side_counts == truth.side_counts
    if noise <= 0.005:
        for got, want in zip(summary.reps, truth.full_reps, strict=True):
            # the prone lift moves 20°, not 50-90°: the same noise blurs its stops 2.5x more
            tol = hold_tolerance_s(fps) * (2.0 if exercise == "prone_leg_lift" else 1.0)
            assert hold_s(got) == pytest.approx(truth_pause_s(want), abs=tol)


@pytest.mark.parametrize(
    "script",
    [
        MotionScript("squat", reps=(RepSpec(1.0, 0.5, 1.0),) * 3),
        MotionScript("standing_knee_raise", reps=()),  # standing still
        MotionScript("standing_knee_raise", reps=(RepSpec(0.8, 0.5, 0.8),) * 3),
        MotionScript("pelvic_tilt", reps=(RepSpec(0.8, 0.5, 0.8),) * 4),
        MotionScript("lying_still", reps=(RepSpec(1.0, 1.0, 1.0),) * 2),
        MotionScript("get_down_and_up", reps=(RepSpec(2.0, 2.0, 2.0),)),
    ],
    ids=["squat", "standing", "knee_raise", "pelvic_tilt", "lying_still", "get_down"],
)
@pytest.mark.parametrize("noise", [0.0, 0.02])
def test_negatives_give_zero_glute_bridges(script, noise) -> None:
    _, frames = frames_for(script, 30, noise=noise, dropout=0.05 if noise else 0.0, seed=5)
    _, summary = analyse_poses(frames, "glute_bridge")
    assert summary.rep_count == 0
    assert len(summary.partials) == 0


def test_frame_results_describe_the_movement() -> None:
    script = MotionScript("glute_bridge", reps=(RepSpec(1.0, 2.0, 1.0),))
    motion, frames = frames_for(script, 30)
    results, summary = analyse_poses(frames, "glute_bridge")
    t = motion.truth.t
    at = {
        name: results[round(sec * 30)]
        for name, sec in (("bottom", 0.5), ("rising", 1.5), ("top", 3.0), ("lowering", 4.5))
    }
    assert at["bottom"].position is Position.FLEXED and at["bottom"].phase is Phase.REST
    assert at["rising"].direction is Direction.EXTENDING
    assert at["top"].position is Position.NEUTRAL and at["top"].phase is Phase.HOLD
    assert at["top"].holding and at["top"].hold_target_s == 2.0
    assert at["lowering"].direction is Direction.FLEXING
    assert at["rising"].rep_in_progress == 1
    assert results[-1].rep_count == 1 and results[-1].side_counts == {"both": 1}
    assert all(r.posture_ok for r in results[10:])
    assert all(math.isfinite(r.primary_deg) for r in results)
    assert results[0].side_used in ("left", "right", "both")
    kinds = [e.kind for r in results for e in r.events]
    for k in (
        EventKind.REP_STARTED,
        EventKind.HOLD_STARTED,
        EventKind.HOLD_TARGET_MET,
        EventKind.HOLD_ENDED,
        EventKind.REP_COMPLETED,
    ):
        assert k in kinds
    rep = summary.reps[0]
    assert rep.peak_deg == pytest.approx(0.0, abs=3.0)
    assert rep.rom_deg == pytest.approx(50.0, abs=4.0)
    assert rep.start_ms / 1000 == pytest.approx(motion.truth.reps[0].start_s, abs=0.1)
    assert rep.end_ms / 1000 == pytest.approx(motion.truth.reps[0].end_s, abs=0.1)
    assert summary.detection_rate == 1.0 and summary.frames == len(t)
    assert summary.holds == (rep.hold,) and rep.hold is not None
    assert rep.hold.duration_s == pytest.approx(2.0, abs=0.05)


def test_expected_cues_fire_on_the_right_reps() -> None:
    reps = (
        RepSpec(1.0, 2.0, 1.0),
        RepSpec(1.0, 2.0, 1.0, mistakes=("over_arch",)),
        RepSpec(1.0, 2.0, 1.0, mistakes=("incomplete_lockout",)),
        RepSpec(1.0, 2.0, 1.0, mistakes=("short_hold",)),
        RepSpec(1.0, 2.0, 1.0, mistakes=("fast_tempo",)),
    )
    _motion, frames = frames_for(MotionScript("glute_bridge", reps=reps), 30)
    _, summary = analyse_poses(frames, "glute_bridge")
    got = [{c.rule for c in r.cues} for r in summary.reps]
    assert got[0] == set()
    assert "over_arch" in got[1]
    assert "incomplete_lockout" in got[2]
    assert "hold_short" in got[3]
    assert "tempo_fast" in got[4]
    assert {(c.rep_index, c.rule) for c in summary.cues} >= {(2, "over_arch")}


def test_the_cue_on_show_is_about_the_latest_rep() -> None:
    """A clean rep clears the remark about an earlier one (the live panel and the overlay show
    `latest_cue`): someone who fixed their hold must not keep reading 'hold longer'."""
    reps = (
        RepSpec(1.0, 2.0, 1.0, mistakes=("short_hold",)),
        RepSpec(1.0, 2.0, 1.0),
        RepSpec(1.0, 2.0, 1.0, mistakes=("short_hold",)),
    )
    _motion, frames = frames_for(MotionScript("glute_bridge", reps=reps), 30)
    analyzer = SessionAnalyzer("glute_bridge")
    on_show: dict[int, Cue | None] = {}  # what shows between reps, after each rep count
    for frame in frames:
        result = analyzer.update(frame)
        if result.attempt is None:
            on_show[result.rep_count] = result.latest_cue
        else:  # during a rep, only a remark about that rep
            assert result.latest_cue is None or result.latest_cue.attempt == result.attempt
    assert on_show[0] is None
    assert on_show[1] is not None and on_show[1].rule == "hold_short"
    assert on_show[2] is None
    assert on_show[3] is not None and on_show[3].rule == "hold_short"


def test_pose_lost_mid_rep_abandons_it() -> None:
    script = MotionScript("glute_bridge", reps=(RepSpec(1.0, 3.0, 1.0), RepSpec(1.0, 1.0, 1.0)))
    motion, frames = frames_for(script, 30)
    top = motion.truth.reps[0]
    gone = [
        PoseFrame.missing(f.index, f.timestamp_ms, f.frame_wh)
        if top.top_s + 0.5 <= f.timestamp_ms / 1000 <= top.top_s + 2.0
        else f
        for f in frames
    ]
    results, summary = analyse_poses(gone, "glute_bridge")
    assert summary.rep_count == 1
    kinds = [e.kind for r in results for e in r.events]
    assert EventKind.POSE_LOST in kinds and EventKind.POSE_FOUND in kinds
    assert any(r.phase is Phase.NO_POSE for r in results)
    assert summary.detection_rate < 1.0


def test_summary_is_stable_and_reset_starts_over() -> None:
    script = MotionScript("glute_bridge", reps=(RepSpec(1.0, 1.0, 1.0),) * 2, lead_out_s=0.0)
    _, frames = frames_for(script, 30)
    an = SessionAnalyzer("glute_bridge")
    for f in frames:
        an.update(f)
    first = an.summary()
    assert first == an.summary()  # asking does not change the set
    assert first.rep_count == 2
    an.reset()
    assert an.summary().rep_count == 0 and an.summary().frames == 0


def test_unknown_profile_is_a_profile_error() -> None:
    with pytest.raises(ProfileError):
        SessionAnalyzer("plank")


def _sides_disagree(frames: list[PoseFrame], offset_deg: float, right_dims_ms: float):
    """The right thigh read `offset_deg` off the left (its knee and foot turned about the hip in
    the image, as a far or foreshortened side reads) and both sides well seen until
    `right_dims_ms`, when the right side's visibility drops: the selector goes "both" -> "left"."""
    turn = math.radians(offset_deg)
    rot = np.array([[math.cos(turn), -math.sin(turn)], [math.sin(turn), math.cos(turn)]])
    leg = [Landmark.RIGHT_KNEE, Landmark.RIGHT_ANKLE, Landmark.RIGHT_HEEL]
    leg.append(Landmark.RIGHT_FOOT_INDEX)
    right = [lm for lm in Landmark if lm.name.startswith("RIGHT")]
    out = []
    for f in frames:
        if f.image_xy is None:
            out.append(f)
            continue
        xy = f.image_xy.copy()
        hip = xy[Landmark.RIGHT_HIP]
        xy[leg] = hip + (xy[leg] - hip) @ rot.T
        vis = np.full(len(Landmark), 0.95)
        if f.timestamp_ms >= right_dims_ms:
            vis[right] = 0.8
        out.append(replace(f, image_xy=xy, visibility=vis))
    return out


def test_a_side_switch_mid_hold_is_no_step_in_the_signal() -> None:
    """The two hips of a still body read degrees apart; when the trusted side changes the counter's
    signal must not jump by half that (a step inside a hold moves its fitted edges)."""
    script = MotionScript("glute_bridge", reps=(RepSpec(0.6, 3.0, 0.6),), rest_s=1.0)
    motion, frames = frames_for(script, 30, side="left")
    rep = motion.truth.full_reps[0]
    top, top_end = rep.top_s * 1000, rep.top_end_s * 1000
    analyzer = SessionAnalyzer("glute_bridge")
    results = [analyzer.update(f) for f in _sides_disagree(frames, 6.0, top + 1000)]
    sides = [r.side_used for r in results]
    assert "both" in sides and sides[-1] == "left"  # the switch happened, inside the hold
    held = [r.primary_deg for r in results if top + 200 <= r.t_ms <= top_end - 200]
    assert max(abs(b - a) for a, b in itertools.pairwise(held)) < 0.25  # 6° apart: a 3° step
    assert max(held) - min(held) > 1.5  # and the fade is under way, as a slope


def test_planted_leg_is_the_bent_knee_whatever_the_free_hip_does() -> None:
    """A one-leg bridge follows the planted leg: a straight free leg lifted from the floor (hip
    0° -> 50°, in and out of the bridge's top zone) never drives the signal; of two bent knees
    the less flexed hip is planted (a free knee hugged to the chest is the more flexed)."""
    straight_free = {"left": 10.0, "right": 120.0}
    for free_hip in (0.0, 25.0, 50.0, 80.0):
        assert planted_leg_vote({"left": free_hip, "right": 60.0}, straight_free) == "right"
    assert planted_leg_vote({"left": 110.0, "right": 55.0}, {"left": 120, "right": 95}) == "right"
    assert planted_leg_vote({"left": 5.0, "right": 55.0}, {"left": 90, "right": 95}) == "left"
    assert planted_leg_vote({"left": NAN, "right": NAN}, {"left": 90, "right": 95}) is None


def test_planted_leg_changes_only_after_a_sustained_vote() -> None:
    leg = PlantedLeg(switch_ms=300.0)
    right = ({"left": 10.0, "right": 60.0}, {"left": 10.0, "right": 120.0})
    left = ({"left": 60.0, "right": 10.0}, {"left": 120.0, "right": 10.0})
    assert leg.update(0.0, *right) == "right"
    t = 0.0
    for _ in range(8):  # a 0.27 s blip of the other leg does not switch
        t += 33.3
        assert leg.update(t, *left) == "right"
    assert leg.update(t + 33.3, *right) == "right"
    t += 33.3
    got = [leg.update(t + 33.3 * k, *left) for k in range(1, 12)]
    assert got[:9] == ["right"] * 9 and got[-1] == "left"


def test_single_leg_bridge_rep_is_credited_to_the_planted_leg() -> None:
    for side in ("left", "right"):
        script = MotionScript("single_leg_bridge", reps=(RepSpec(1.0, 1.0, 1.0),), side=side)
        _, frames = frames_for(script, 30, side="left", seed=1)
        _, summary = analyse_poses(frames, "single_leg_bridge")
        assert summary.rep_count == 1
        assert summary.side_counts == {side: 1}


# ------------------------------------------------------------------------ leg identity guard


def _legs_damaged(frames: list[PoseFrame], motion: Motion) -> list[PoseFrame]:
    """What the pose model did to the far leg's raises of the rendered knee raise: at the top it
    merges both legs onto their midpoint for a third of a second, with clean swaps in between."""
    from posecheck.core.legs import LEFT_LEG, RIGHT_LEG, swap_legs

    legs_l, legs_r = list(LEFT_LEG), list(RIGHT_LEG)
    out = []
    tops = [(r.top_s, r.top_end_s) for r in motion.truth.reps]
    for f in frames:
        t = f.timestamp_s
        top = next(((a, b) for a, b in tops if a + 0.05 <= t <= b + 0.35), None)
        if top is None or f.image_xy is None:
            out.append(f)
            continue
        k = round((t - top[0]) * 30)
        if k % 4 == 3:  # every fourth frame a clean swap
            out.append(swap_legs(f))
            continue
        xy = f.image_xy.copy()
        mid = (xy[legs_l] + xy[legs_r]) / 2
        xy[legs_l], xy[legs_r] = mid + 1.5, mid - 1.5
        out.append(replace(f, image_xy=xy))
    return out


def test_leg_swaps_and_merges_at_the_top_of_knee_raises_do_not_add_reps(monkeypatch) -> None:
    from posecheck.core import legs

    script = MotionScript(
        "standing_knee_raise", reps=(RepSpec(0.6, 0.4, 0.6),) * 4, rest_s=0.3, side="left"
    )
    motion, frames = frames_for(script, 30, noise=0.004, side="right")
    damaged = _legs_damaged(frames, motion)
    an = SessionAnalyzer("standing_knee_raise")
    for f in damaged:
        an.update(f)
    s = an.summary()
    assert (s.rep_count, len(s.partials)) == (4, 0)
    assert s.side_counts == {"left": 2, "right": 2}
    assert an.legs_swapped > 0 and an.legs_merged > 0
    # the damage is what the guard removes: without it the same frames count wrong
    monkeypatch.setattr(legs.LegGuard, "check", lambda self, pose: legs.LegCheck(pose))
    _, off = analyse_poses(damaged, "standing_knee_raise")
    assert (off.rep_count, len(off.partials)) != (4, 0)


def test_the_leg_guard_leaves_clean_frames_alone() -> None:
    """On the generator's clean frames (a knee raise, a back lunge: legs pass each other) the
    guard touches nothing and the analysis is what it was without it."""
    for name in ("standing_knee_raise", "back_lunge"):
        script = MotionScript(name, reps=(RepSpec(0.7, 0.3, 0.7),) * 4, rest_s=0.3)
        _, frames = frames_for(script, 30, noise=0.004)
        an = SessionAnalyzer(name)
        for f in frames:
            an.update(f)
        assert (an.legs_swapped, an.legs_merged) == (0, 0), name
        assert an.summary().rep_count == 4
