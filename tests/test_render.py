"""The ray-caster, scenario files and truth files (posecheck.synthetic.render / .scenario)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from posecheck.core.landmarks import Landmark
from posecheck.synthetic.kinematics import (
    BodyShape,
    BodyState,
    body_axes,
    rest_arms_on_floor,
    world_landmarks,
)
from posecheck.synthetic.motions import animate
from posecheck.synthetic.poses import pose_at
from posecheck.synthetic.render import (
    SKIN_TONES,
    Box,
    Cone,
    Ellipsoid,
    Look,
    PinholeCamera,
    Renderer,
    Scene,
    _hit_cone,
    _hit_ellipsoid,
    arm_radii,
    body_primitives,
    frame_seed,
)
from posecheck.synthetic.scenario import (
    ScenarioError,
    hip_flexion_2d,
    labels_entry,
    parse_scenario,
    prepare,
    render_scenario,
)

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample_videos"

TINY = """
name = "tiny"
exercise = "glute_bridge"
seed = 7
[script]
lead_in_s = 0.2
lead_out_s = 0.2
rest_s = 0.1
[[script.reps]]
up_s = 0.3
hold_s = 0.2
down_s = 0.3
[camera]
width = 96
height = 72
fps = 10
"""


# --------------------------------------------------------------------------- geometry


def _rays(n: int = 4000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ro = np.array([0.05, -2.0, 0.3])
    target = rng.normal([0.0, 0.0, 0.0], 0.25, size=(n, 3))
    rd = target - ro
    return ro, rd / np.linalg.norm(rd, axis=1, keepdims=True)


def _sd_round_cone(p: np.ndarray, c: Cone) -> np.ndarray:
    """Signed distance to a round cone, by brute force over the sphere sweep."""
    ts = np.linspace(0.0, 1.0, 401)
    centres = c.a + ts[:, None] * (c.b - c.a)
    radii = c.ra + ts * (c.rb - c.ra)
    d = np.linalg.norm(p[:, None, :] - centres[None], axis=2) - radii[None]
    return d.min(axis=1)


def test_round_cone_hits_lie_on_the_surface_and_normals_point_out() -> None:
    cone = Cone(np.array([-0.2, 0.0, 0.0]), np.array([0.25, 0.05, 0.1]), 0.12, 0.05, (1, 1, 1))
    ro, rd = _rays()
    t, n = _hit_cone(ro, rd, cone)
    hit = np.isfinite(t)
    assert 0.1 < hit.mean() < 0.9  # some rays hit, some miss
    pts = ro + t[hit, None] * rd[hit]
    assert np.abs(_sd_round_cone(pts, cone)).max() < 2e-3  # brute force is within ~1e-4
    # Just outside along the normal is outside; no miss passes through the solid.
    assert (_sd_round_cone(pts + 0.01 * n[hit], cone) > 0).all()
    miss_pts = ro + np.linspace(1.0, 3.0, 100)[None, :, None] * rd[~hit][::20, None, :]
    assert (_sd_round_cone(miss_pts.reshape(-1, 3), cone) > -1e-3).all()


def test_ellipsoid_hits_lie_on_the_surface() -> None:
    rot = np.linalg.qr(np.random.default_rng(1).normal(size=(3, 3)))[0]
    ell = Ellipsoid(np.array([0.0, 0.1, 0.05]), rot, np.array([0.3, 0.15, 0.08]), (1, 1, 1))
    ro, rd = _rays(seed=2)
    t, n = _hit_ellipsoid(ro, rd, ell)
    hit = np.isfinite(t)
    assert 0.05 < hit.mean() < 0.9
    local = ((ro + t[hit, None] * rd[hit]) - ell.center) @ rot.T / ell.radii
    np.testing.assert_allclose(np.linalg.norm(local, axis=1), 1.0, atol=1e-9)
    assert (np.einsum("ij,ij->i", n[hit], rd[hit]) < 0).all()  # front faces face the ray


def test_camera_projects_its_target_to_the_image_centre() -> None:
    cam = PinholeCamera(position=(0.3, -2.5, 0.6), target=(0.1, 0.2, 0.3), width=200, height=100)
    np.testing.assert_allclose(cam.project(np.array(cam.target)), [100.0, 50.0], atol=1e-9)
    above = cam.project(np.array([0.1, 0.2, 0.5]))
    assert above[1] < 50.0  # world up is image up


def test_pinhole_camera_matches_the_landmark_generators_camera() -> None:
    from posecheck.synthetic.landmarks import Camera

    theirs = Camera(side="right", distance_m=2.7, height_m=0.4, yaw_deg=30.0, fov_deg=55.0,
                    resolution=(320, 240), target=(0.1, 0.0, 0.3))
    ours = PinholeCamera.from_camera(theirs)
    pts = np.random.default_rng(5).normal([0.0, 0.0, 0.4], 0.4, size=(50, 3))
    np.testing.assert_allclose(ours.project(pts), theirs.project(pts), atol=1e-6)


# --------------------------------------------------------------------------- renderer


def _bridge_frame(width: int = 160, height: int = 120, seed: int = 3) -> np.ndarray:
    shape = BodyShape()
    world = world_landmarks(shape, pose_at(shape, "glute_bridge", 1.0))
    cam = PinholeCamera(position=(0.0, -2.6, 0.45), target=(0.0, 0.0, 0.25), width=width,
                        height=height)
    return Renderer(cam, Scene(), Look()).render(world, seed=seed)


def test_exposure_is_a_linear_gain_before_gamma() -> None:
    """Renders are darker than real footage (a frame's 90th-percentile grey 178-189 against
    195-247, median 217, in the 12 shared clips); an exposure of 1.4 brings them there. The
    default stays 1.0 (v5 renders unchanged) until the knee-raise sample counts right exposed."""
    shape = BodyShape()
    world = world_landmarks(shape, pose_at(shape, "glute_bridge", 1.0))
    cam = PinholeCamera(position=(0.0, -2.6, 0.45), target=(0.0, 0.0, 0.25), width=160,
                        height=120)
    quiet = {"noise_sigma": 0.0, "blur_sigma": 0.0}
    one = Renderer(cam, Scene(**quiet), Look()).render(world, seed=1)
    default = Renderer(cam, Scene(exposure=1.4, **quiet), Look()).render(world, seed=1)
    assert Scene().exposure == 1.0
    # a linear gain k on the light: out = 255 * (k * lin) ** (1 / 2.2), where nothing clips
    lin = (one.astype(float) / 255.0) ** 2.2
    want = 255.0 * np.clip(1.4 * lin, 0.0, 1.0) ** (1 / 2.2)
    assert np.abs(default.astype(float) - want).max() <= 1.5  # the 8-bit rounding of `one`
    grey = cv2.cvtColor(default, cv2.COLOR_BGR2GRAY)
    assert 195 <= np.percentile(grey, 90) <= 247
    assert np.percentile(cv2.cvtColor(one, cv2.COLOR_BGR2GRAY), 90) < 195
    parsed = parse_scenario('exercise = "glute_bridge"\n[scene]\nexposure = 1.4')
    assert parsed.scene.exposure == 1.4


def test_render_is_deterministic_and_seed_only_changes_noise() -> None:
    a, b = _bridge_frame(seed=3), _bridge_frame(seed=3)
    assert a.shape == (120, 160, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    c = _bridge_frame(seed=4)
    diff = np.abs(a.astype(int) - c.astype(int))
    assert diff.max() > 0 and diff.mean() < 4  # different noise, same picture


def test_body_is_drawn_where_its_joints_project() -> None:
    shape = BodyShape()
    world = world_landmarks(shape, pose_at(shape, "glute_bridge", 1.0))
    cam = PinholeCamera(position=(0.0, -2.6, 0.45), target=(0.0, 0.0, 0.25), width=320,
                        height=240)
    scene = Scene(noise_sigma=0.0, blur_sigma=0.0)
    with_body = Renderer(cam, scene, Look()).render(world).astype(int)
    empty = Renderer(cam, scene, Look()).render_primitives([]).astype(int)
    changed = np.abs(with_body - empty).sum(axis=2) > 30
    for j in (Landmark.LEFT_HIP, Landmark.LEFT_KNEE, Landmark.LEFT_SHOULDER, Landmark.NOSE):
        u, v = np.rint(cam.project(world[j])).astype(int)
        assert changed[v, u], f"landmark {j.name} not covered by the body"
    assert 0.03 < changed.mean() < 0.5


def _body_depth(flexion_deg: float, height_m: float = 1.75) -> tuple[float, float]:
    """Body surface behind and in front of the left hip joint centre, at its height, along the
    trunk's front axis in the joint's sagittal plane (metres)."""
    shape = BodyShape(height_m=height_m)
    state = BodyState(pelvis=(0.0, 0.0, 1.0), hip_flexion_deg={"left": flexion_deg})
    world = world_landmarks(shape, state)
    prims = body_primitives(world, Look(height_m=height_m))
    front, _, _ = body_axes(state)
    hip = world[Landmark.LEFT_HIP]

    def first_hit(origin: np.ndarray, direction: np.ndarray) -> float:
        hits = [(_hit_cone if isinstance(p, Cone) else _hit_ellipsoid)(origin, direction[None], p)
                for p in prims]
        return min(float(t[0]) for t, _ in hits)

    behind = 1.0 - first_hit(hip - front, front)
    in_front = 1.0 - first_hit(hip + front, -front)
    return behind, in_front


def test_hip_joint_sits_inside_the_pelvis_with_the_buttock_behind_it() -> None:
    """Adult anatomy: the femoral head lies 0.07-0.10 m behind the front of the thigh root and
    0.10-0.13 m in front of the back of the buttock (buttock depth ~0.21-0.24 m); the gluteal
    mass belongs to the pelvis, so it stays behind the joint when the thigh flexes. (The
    renderer before this test drew 0.09 m behind and 0.105 m in front: no buttock.)"""
    behind, in_front = _body_depth(0.0)
    assert 0.10 <= behind <= 0.13
    assert 0.06 <= in_front <= 0.10
    assert behind > in_front
    assert 0.10 <= _body_depth(90.0)[0] <= 0.13
    tall_behind, _ = _body_depth(0.0, height_m=1.90)  # scales with the body
    assert tall_behind > behind * 1.05


def test_a_rendered_point_lands_on_its_projected_truth() -> None:
    """The renderer's rays and the truth's projection are the same camera to a fraction of a
    pixel (low camera, off-centre points): a small sphere's drawn centroid is its projection."""
    cam = PinholeCamera(position=(0.3, -2.5, 0.12), target=(0.1, 0.2, 0.3), width=480,
                        height=360)
    renderer = Renderer(cam, Scene(noise_sigma=0.0, blur_sigma=0.0, mat=None, shadow_strength=0.0))
    empty = renderer.render_primitives([]).astype(int)
    for point in ([0.2, 0.1, 0.09], [-0.5, 0.3, 0.4], [0.7, -0.2, 0.05]):
        centre = np.array(point)
        ball = Ellipsoid(centre, np.eye(3), np.full(3, 0.02), (1.0, 0.0, 0.0))
        drawn = np.abs(renderer.render_primitives([ball]).astype(int) - empty).sum(axis=2) > 3
        vs, us = np.nonzero(drawn)
        assert len(us) > 20
        np.testing.assert_allclose([us.mean() + 0.5, vs.mean() + 0.5], cam.project(centre),
                                   atol=0.3)


ARM_JOINTS = {getattr(Landmark, f"{s}_{j}") for s in ("LEFT", "RIGHT")
              for j in ("ELBOW", "WRIST", "PINKY", "INDEX", "THUMB")}


def _arm_gap(world: np.ndarray, elbow_r: float, wrist_r: float, side: str) -> float:
    """Height of the lowest elbow/wrist flesh above the floor."""
    s = side.upper()
    return min(world[getattr(Landmark, f"{s}_ELBOW"), 2] - elbow_r,
               world[getattr(Landmark, f"{s}_WRIST"), 2] - wrist_r)


@pytest.mark.parametrize("exercise", ["glute_bridge", "neg_lying_still", "lying_leg_raise"])
@pytest.mark.parametrize("a", [0.0, 1.0])
def test_lying_arms_rest_on_the_floor_and_nothing_else_moves(exercise: str, a: float) -> None:
    """Lying poses point the arms along the trunk at shoulder-joint height, so the forearm
    floated 5-7 cm above the mat (a floor-level camera saw it cross the hip). Lowered by
    shoulder flexion alone, the wrist or elbow flesh touches the floor and no other joint moves."""
    shape = BodyShape(height_m=1.70)
    state = pose_at(shape, exercise.removeprefix("neg_"), a)
    elbow_r, wrist_r = arm_radii(Look(height_m=1.70))
    before = world_landmarks(shape, state)
    rested = rest_arms_on_floor(shape, state, elbow_r, wrist_r)
    after = world_landmarks(shape, rested)
    for side in ("left", "right"):
        assert _arm_gap(before, elbow_r, wrist_r, side) > 0.04  # the defect this fixes
        assert abs(_arm_gap(after, elbow_r, wrist_r, side)) < 0.002
    others = [i for i in range(33) if i not in ARM_JOINTS]
    np.testing.assert_array_equal(after[others], before[others])
    assert rested.hip_flexion_deg == state.hip_flexion_deg
    again = rest_arms_on_floor(shape, rested, elbow_r, wrist_r)
    np.testing.assert_allclose(world_landmarks(shape, again), after, atol=0.002)


@pytest.mark.parametrize("exercise", ["standing_knee_raise", "quadruped_hip_extension",
                                      "hip_thrust", "seated_march"])
def test_arms_off_the_floor_are_left_alone(exercise: str) -> None:
    """Standing, seated, on a bench or on all fours the arms are where the motion put them."""
    shape = BodyShape()
    state = pose_at(shape, exercise, 1.0)
    assert rest_arms_on_floor(shape, state, *arm_radii(Look())) == state


def test_prepared_lying_clip_rests_its_arms_on_the_floor() -> None:
    prep = prepare(parse_scenario(TINY))
    elbow_r, wrist_r = arm_radii(prep.scenario.look)
    for world in prep.worlds:
        for side in ("left", "right"):
            assert abs(_arm_gap(world, elbow_r, wrist_r, side)) < 0.002


def test_generator_and_renderer_pose_the_same_body() -> None:
    """The landmark generator (`animate`, default arm radii) and a rendered clip of a girth-1
    body agree joint for joint: both rest lying arms on the floor the same way."""
    prep = prepare(parse_scenario(TINY))
    sc = prep.scenario
    motion = animate(sc.script, sc.shape, sc.camera.fps, seed=sc.seed)
    generated = np.stack([world_landmarks(sc.shape, s) for s in motion.states])
    np.testing.assert_array_equal(generated, prep.worlds)


def _depth_inside(prim: Cone | Ellipsoid, box: Box) -> float:
    """How far (m) a body part's flesh reaches into a box (sampled along a cone's axis or at an
    ellipsoid's six axis tips; 0 = not inside)."""
    if isinstance(prim, Cone):
        t = np.linspace(0.0, 1.0, 15)[:, None]
        pts = prim.a + (prim.b - prim.a) * t
        radius = prim.ra + (prim.rb - prim.ra) * t[:, 0]
    else:
        tips = prim.axes * prim.radii[:, None]
        pts, radius = np.concatenate([prim.center + tips, prim.center - tips]), np.zeros(6)
    depth = np.min(box.half - np.abs(pts - box.center) + radius[:, None], axis=1)
    return float(max(depth.max(), 0.0))


def test_hip_thrust_body_rests_on_the_bench_not_in_it() -> None:
    """The bench edge sits under the shoulder joints, where the trunk pivots: 10 cm further
    towards the feet it cut 6-7 cm into the lowered back, and the arms rest on its top."""
    text = TINY.replace('"glute_bridge"', '"hip_thrust"').replace("fps = 10", "fps = 5")
    prep = prepare(parse_scenario(text))
    (bench,) = prep.scene.props
    worst = max(
        _depth_inside(prim, bench)
        for world in prep.worlds
        for prim in body_primitives(world, prep.scenario.look)
    )
    assert worst < 0.012
    elbow_r, _ = arm_radii(prep.scenario.look)
    top = bench.center[2] + bench.half[2]
    for world in prep.worlds:
        for j in (Landmark.LEFT_ELBOW, Landmark.RIGHT_ELBOW):
            assert world[j, 2] - elbow_r == pytest.approx(top, abs=1e-6)
            assert abs(world[j, 1] - bench.center[1]) < bench.half[1] - elbow_r


def _lab_lightness_and_ita(rgb: tuple[float, float, float]) -> tuple[float, float]:
    """CIE L* and the Individual Typology Angle of a linear sRGB (D65) colour."""
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = m @ np.asarray(rgb) / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    lightness, b = 116 * f[1] - 16, 200 * (f[1] - f[2])
    return float(lightness), float(np.degrees(np.arctan((lightness - 50) / b)))


@pytest.mark.parametrize(
    ("tone", "ita_band"),
    [("very_light", (55, 90)), ("light", (41, 55)), ("medium", (28, 41)), ("tan", (10, 28)),
     ("dark", (-30, 10)), ("deep", (-90, -30))],
)
def test_skin_tones_are_skin_coloured(tone: str, ita_band: tuple[float, float]) -> None:
    """Each named skin tone lies in its band of the dermatologists' ITA scale, at a real skin's
    lightness, and well below a white wall (the old "light" was as bright as the wall)."""
    lightness, ita = _lab_lightness_and_ita(SKIN_TONES[tone])
    assert ita_band[0] < ita < ita_band[1]
    assert 25 < lightness < 72
    assert lightness < _lab_lightness_and_ita(Scene().wall)[0] - 20


def test_frame_seed_is_independent_of_chunking() -> None:
    assert frame_seed(1, 10) == frame_seed(1, 10)
    assert len({frame_seed(1, i) for i in range(1000)}) == 1000


# --------------------------------------------------------------------------- scenarios


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('exercise = "glute_bridge"\nfoo = 1', "foo"),
        ('exercise = "yoga"', "exercise"),
        ("seed = 1", "exercise"),
        ('exercise = "glute_bridge"\n[camera]\nview = "top"', "camera.view"),
        ('exercise = "glute_bridge"\n[camera]\nwidth = "wide"', "camera.width"),
        ('exercise = "glute_bridge"\n[camera]\nfps = 0', "camera.fps"),
        ('exercise = "glute_bridge"\n[body]\nshirt = "blue"', "body.shirt"),
        ('exercise = "glute_bridge"\n[body]\nheight_m = 3.5', "body.height_m"),
        ('exercise = "glute_bridge"\n[[script.reps]]\nmistakes = ["slouch"]',
         "script.reps[0].mistakes"),
        ('exercise = "glute_bridge"\n[[script.reps]]\nup_s = -1', "script.reps[0].up_s"),
        ('exercise = "glute_bridge"\n[[script.reps]]\ntempo = 1', "script.reps[0].tempo"),
        ('exercise = "glute_bridge"\n[scene]\nmat = 3', "scene.mat"),
        ('exercise = "glute_bridge"\n[scene]\nexposure = 0', "scene.exposure"),
    ],
)
def test_bad_scenarios_fail_with_one_line_naming_the_key(text: str, key: str) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text)
    message = str(info.value)
    assert key in message and "\n" not in message


def test_not_toml_is_a_scenario_error() -> None:
    with pytest.raises(ScenarioError, match="not valid TOML"):
        parse_scenario("exercise = ")


def test_cli_reports_scenario_errors_on_one_line(tmp_path: Path) -> None:
    from posecheck.cli import main

    bad = tmp_path / "bad.toml"
    bad.write_text('exercise = "glute_bridge"\n[camera]\nview = "top"\n')
    result = CliRunner().invoke(main, ["render", str(bad), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "camera.view" in result.output and "Traceback" not in result.output


def test_every_sample_scenario_parses() -> None:
    tomls = sorted(SAMPLES.glob("*.toml"))
    assert len(tomls) >= 4
    for path in tomls:
        scenario = parse_scenario(path.read_text(), default_name=path.stem)
        assert scenario.name == path.stem


def test_camera_sees_the_whole_motion() -> None:
    prep = prepare(parse_scenario(TINY))
    xy = prep.camera.project(prep.worlds)
    assert (xy[..., 0] > 0).all() and (xy[..., 0] < prep.camera.width).all()
    assert (xy[..., 1] > 0).all() and (xy[..., 1] < prep.camera.height).all()


def test_signed_2d_hip_flexion_matches_the_sagittal_truth_side_on() -> None:
    text = TINY.replace("[camera]", '[camera]\nview = "side_right"\nheight_m = 0.25')
    prep = prepare(parse_scenario(text))
    xy = prep.camera.project(prep.worlds)
    flex, _ = hip_flexion_2d(prep.worlds, xy, prep.camera)
    truth = prep.motion.truth.hip_flexion_deg
    near = "right"
    assert np.abs(flex[near] - truth[near]).max() < 4.0  # perspective only
    assert flex[near][0] > 30  # bottom of a bridge is flexion (+)


def test_render_scenario_writes_video_and_labels_style_truth(tmp_path: Path) -> None:
    scenario = parse_scenario(TINY)
    record = render_scenario(scenario, tmp_path)
    video = tmp_path / "tiny.mp4"
    cap = cv2.VideoCapture(str(video))
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == record["frames"] == len(record["per_frame"])
    assert cap.get(cv2.CAP_PROP_FRAME_WIDTH) == 96
    on_disk = json.loads((tmp_path / "tiny.truth.json").read_text())
    assert on_disk == json.loads(json.dumps(record))
    # The labels.json keys of ../shared/clips, with the right values.
    for key in ("file", "exercise", "view", "lying", "reps", "reps_min", "reps_max", "holds",
                "fps", "frames", "width", "height"):
        assert key in on_disk
    assert on_disk["file"] == "tiny.mp4" and on_disk["exercise"] == "glute_bridge"
    assert on_disk["reps"] == on_disk["reps_min"] == on_disk["reps_max"] == 1
    assert on_disk["lying"] is True and on_disk["view"] == "side"
    assert on_disk["tops"] == [{"start_s": 0.5, "end_s": 0.7}]
    assert on_disk["holds"] == []  # like ../shared/clips labels: only pauses of >= 1 s
    frame = on_disk["per_frame"][5]
    assert set(frame) >= {"t", "phase", "rep", "hip_flexion_deg", "hip_flexion_2d_deg",
                          "joints_2d"}
    assert len(frame["joints_2d"]) == 33 and frame["t"] == pytest.approx(0.5)
    assert frame["phase"] == "top" and frame["rep"] == 1
    assert "per_frame" not in labels_entry(on_disk)


def test_same_seed_gives_identical_files(tmp_path: Path) -> None:
    scenario = parse_scenario(TINY)
    render_scenario(scenario, tmp_path / "a")
    render_scenario(scenario, tmp_path / "b", workers=2)
    for name in ("tiny.mp4", "tiny.truth.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    other = parse_scenario(TINY.replace("seed = 7", "seed = 8"))
    render_scenario(other, tmp_path / "c")
    assert (tmp_path / "c" / "tiny.mp4").read_bytes() != (tmp_path / "a" / "tiny.mp4").read_bytes()


@pytest.mark.parametrize("toml", sorted(SAMPLES.glob("*.toml")), ids=lambda p: p.stem)
def test_sample_truth_is_up_to_date(toml: Path) -> None:
    """The committed truth equals what the scenario gives today (motions may have changed:
    then run `python sample_videos/regenerate.py`)."""
    from posecheck.synthetic.scenario import load_scenario, truth_record

    committed = json.loads(toml.with_suffix(".truth.json").read_text())
    fresh = truth_record(prepare(load_scenario(toml)), committed["file"], committed["codec"])
    assert json.loads(json.dumps(fresh)) == committed, "stale: run sample_videos/regenerate.py"


def test_sample_labels_list_every_sample_clip() -> None:
    labels = json.loads((SAMPLES / "labels.json").read_text())
    files = {entry["file"] for entry in labels}
    assert files == {p.with_suffix(".mp4").name for p in SAMPLES.glob("*.toml")}
    for entry in labels:
        assert (SAMPLES / entry["file"]).exists()
        assert (SAMPLES / entry["file"]).with_suffix(".truth.json").exists()


# --------------------------------------------------------------------------- pose model


def test_rendered_clip_is_tracked_by_the_pose_model(tmp_path: Path) -> None:
    from posecheck.pose import PoseEstimator

    text = TINY.replace("width = 96", "width = 320").replace("height = 72", "height = 240")
    text = text.replace("fps = 10", "fps = 25")
    record = render_scenario(parse_scenario(text), tmp_path)
    assert record["frames"] >= 30
    cap = cv2.VideoCapture(str(tmp_path / "tiny.mp4"))
    found = errors = 0
    n = 0
    with PoseEstimator("full") as est:
        while True:
            ok, image = cap.read()
            if not ok:
                break
            frame = est.detect(image, n * 1000.0 / record["fps"], n)
            if frame.present:
                found += 1
                true_hip = np.asarray(record["per_frame"][n]["joints_2d"])[Landmark.LEFT_HIP]
                errors += np.linalg.norm(frame.image_xy[Landmark.LEFT_HIP] - true_hip) > 25
            n += 1
    assert n == record["frames"]
    assert found / n >= 0.95
    assert errors <= 0.1 * found  # found the body where it is, not somewhere else


# --------------------------------------------------------------------------- corpus


def test_corpus_covers_every_profile_with_at_least_40_clips() -> None:
    from posecheck.core.profiles import PROFILE_LIST
    from posecheck.synthetic.corpus import corpus_clips

    clips = corpus_clips()
    assert len(clips) >= 40
    assert len({c.name for c in clips}) == len(clips)
    scenarios = [c.scenario() for c in clips]
    exercises = {s.exercise for s in scenarios}
    assert {p.name for p in PROFILE_LIST} <= exercises
    assert any(s.exercise in ("squat", "pelvic_tilt") for s in scenarios)  # negatives
    assert {m for s in scenarios for r in s.script.reps for m in r.mistakes} >= {
        "short_hold", "incomplete_lockout", "over_arch", "hips_drop"}
    assert len({s.camera.view for s in scenarios}) >= 4


def test_corpus_dir_honours_the_environment(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    from posecheck.synthetic.corpus import corpus_dir

    monkeypatch.setenv("POSECHECK_CORPUS_DIR", str(tmp_path / "c"))
    assert corpus_dir() == tmp_path / "c"
    monkeypatch.delenv("POSECHECK_CORPUS_DIR")
    assert corpus_dir() == Path("~/.cache/posecheck/corpus").expanduser()


@pytest.mark.slow
def test_corpus_renders_once_and_writes_labels(tmp_path: Path) -> None:
    from posecheck.synthetic.corpus import ensure_corpus

    name = "neg_lying_still__side_l__c"
    seen: list[tuple[str, bool]] = []
    labels = ensure_corpus(tmp_path, names=[name], on_clip=lambda n, r: seen.append((n, r)))
    entries = json.loads(labels.read_text())
    assert [e["file"] for e in entries] == [f"{name}.mp4"]
    assert entries[0]["negative"] is True and entries[0]["holds"] == []
    mtime = (tmp_path / f"{name}.mp4").stat().st_mtime_ns
    ensure_corpus(tmp_path, names=[name], on_clip=lambda n, r: seen.append((n, r)))
    assert seen == [(name, True), (name, False)]  # the second call used the cache
    assert (tmp_path / f"{name}.mp4").stat().st_mtime_ns == mtime


def test_cli_renders_a_scenario(tmp_path: Path) -> None:
    from posecheck.cli import main

    scenario = tmp_path / "tiny.toml"
    scenario.write_text(TINY)
    result = CliRunner().invoke(main, ["render", str(scenario), "--out", str(tmp_path / "o"), "-q"])
    assert result.exit_code == 0, result.output
    truth = json.loads((tmp_path / "o" / "tiny.truth.json").read_text())
    assert truth["frames"] == len(truth["per_frame"]) > 0
    assert (tmp_path / "o" / "tiny.mp4").stat().st_size > 0
