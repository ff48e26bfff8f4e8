"""The committed pose bundles: pinned, well-formed, loadable, and they find a real body."""

from __future__ import annotations

import importlib.util
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from posecheck.cli import main as cli_main
from posecheck.errors import ModelError
from posecheck.inputs.models import (
    BUNDLE_MEMBERS,
    COMMITTED_MODELS,
    MODELS_DIR_ENV,
    ModelBundle,
    bundle_status,
    check_loads,
    create_landmarker,
    expected_sha256s,
    named_bundle,
    packaged_models_dir,
    resolve_model,
)

REPO = Path(__file__).resolve().parents[1]
BUILD_SCRIPT = REPO / "models" / "build.py"
PACKAGED = packaged_models_dir()
BRIDGE_CLIP = REPO.parent / "shared" / "clips" / "glute_bridge_darebee_side.mp4"


def _load_build_module():
    path = BUILD_SCRIPT
    spec = importlib.util.spec_from_file_location("posecheck_models_build", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _load_build_module()


def _assert_one_line(exc: pytest.ExceptionInfo[ModelError]) -> str:
    message = str(exc.value)
    assert message and "\n" not in message
    return message


@pytest.fixture
def models_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty models dir (with the real SHA256SUMS) selected through the env override."""
    (tmp_path / "SHA256SUMS").write_text((PACKAGED / "SHA256SUMS").read_text())
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path))
    return tmp_path


@pytest.fixture(scope="module")
def bridge_frame() -> np.ndarray:
    """One real frame (RGB) of a side-view glute bridge, body lying as filmed."""
    if not BRIDGE_CLIP.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{BRIDGE_CLIP} is required when CI=true")
        pytest.skip(f"{BRIDGE_CLIP} not present")
    import cv2

    cap = cv2.VideoCapture(str(BRIDGE_CLIP))
    cap.set(cv2.CAP_PROP_POS_FRAMES, 60)
    ok, frame = cap.read()
    cap.release()
    assert ok
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


# -- registry and pinned hashes --


def test_sha256sums_pins_every_bundle_and_build_reads_the_same_file() -> None:
    pins = expected_sha256s()
    assert set(pins) == {"lite", "full", "heavy"}
    assert all(len(digest) == 64 for digest in pins.values())
    build_pins = build.read_sums()
    assert {f"pose_landmarker_{name}.task": digest for name, digest in pins.items()} == build_pins


@pytest.mark.parametrize("name", COMMITTED_MODELS)
def test_committed_bundle_verifies(name: str) -> None:
    bundle = resolve_model(name)
    assert bundle.path == PACKAGED / f"pose_landmarker_{name}.task"
    assert bundle.expected_sha256 == expected_sha256s()[name]
    assert bundle.sha256() == bundle.expected_sha256
    build.check_bundle_layout(bundle.path)  # two STORED, 4-byte aligned members


def test_default_is_full_and_a_path_is_accepted_unpinned() -> None:
    assert resolve_model(None).name == "full"
    by_path = resolve_model(str(PACKAGED / "pose_landmarker_lite.task"))
    assert by_path.expected_sha256 is None
    assert by_path.path == PACKAGED / "pose_landmarker_lite.task"


def test_env_override_moves_the_models_dir(models_dir: Path) -> None:
    assert named_bundle("full").path == models_dir / "pose_landmarker_full.task"


# -- errors: each a ModelError with one line --


def test_missing_named_bundle_says_how_to_rebuild(models_dir: Path) -> None:
    with pytest.raises(ModelError) as exc:
        resolve_model("full")
    message = _assert_one_line(exc)
    assert "model 'full' not found at" in message
    assert message.endswith("rebuild it with: python models/build.py")
    with pytest.raises(ModelError) as exc:
        resolve_model("heavy")
    assert _assert_one_line(exc).endswith("python models/build.py --variant heavy")


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as exc:
        resolve_model(tmp_path / "nope.task")
    assert "not found" in _assert_one_line(exc)


def test_unknown_name() -> None:
    with pytest.raises(ModelError) as exc:
        resolve_model("medium")
    assert "lite|full|heavy" in _assert_one_line(exc)


def test_not_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "model.task"
    path.write_bytes(b"this is not a zip file")
    with pytest.raises(ModelError) as exc:
        resolve_model(path)
    assert "not a zip" in _assert_one_line(exc)


def test_zip_without_the_members(tmp_path: Path) -> None:
    path = tmp_path / "model.task"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("pose_detector.tflite", b"x")
        zf.writestr("readme.txt", b"y")
    with pytest.raises(ModelError) as exc:
        resolve_model(str(path))
    assert "missing pose_landmarks_detector.tflite" in _assert_one_line(exc)


def test_wrong_hash_for_a_named_bundle(models_dir: Path) -> None:
    lite = (PACKAGED / "pose_landmarker_lite.task").read_bytes()
    (models_dir / "pose_landmarker_full.task").write_bytes(lite)  # valid bundle, wrong model
    with pytest.raises(ModelError) as exc:
        resolve_model("full")
    message = _assert_one_line(exc)
    assert "sha256" in message and "python models/build.py" in message


def test_runtime_refusal_is_a_model_error(tmp_path: Path) -> None:
    path = tmp_path / "garbage.task"
    with zipfile.ZipFile(path, "w") as zf:
        for member in BUNDLE_MEMBERS:
            zf.writestr(member, b"\0" * 4096)
    bundle = resolve_model(path)  # structurally fine
    with pytest.raises(ModelError) as exc:
        check_loads(bundle)
    assert "refused by mediapipe" in _assert_one_line(exc)


# -- the runtime accepts the bundles and they find a body --


@pytest.mark.parametrize("name", COMMITTED_MODELS)
def test_bundle_loads(name: str) -> None:
    assert check_loads(resolve_model(name)) > 0


@pytest.mark.clips
@pytest.mark.parametrize("name", COMMITTED_MODELS)
def test_bundle_finds_the_lying_body(name: str, bridge_frame: np.ndarray) -> None:
    import mediapipe as mp

    landmarker = create_landmarker(resolve_model(name), "image")
    try:
        result = landmarker.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=bridge_frame))
    finally:
        landmarker.close()
    assert len(result.pose_landmarks) == 1 and len(result.pose_world_landmarks) == 1
    points = np.array([(p.x, p.y) for p in result.pose_landmarks[0]])
    assert points.shape == (33, 2)
    # Side view of a person lying along the frame: wide, not tall, hips inside the frame.
    span = points.max(axis=0) - points.min(axis=0)
    assert span[0] > 0.3 and span[0] > span[1]
    hips = points[[23, 24]]
    assert np.all((hips > 0.05) & (hips < 0.95))


# -- the CLI and the build script --


def _link_committed(models_dir: Path) -> None:
    for name in COMMITTED_MODELS:
        file_name = f"pose_landmarker_{name}.task"
        (models_dir / file_name).symlink_to(PACKAGED / file_name)


def test_cli_models_lists_bundles_and_exits_zero(models_dir: Path) -> None:
    _link_committed(models_dir)
    result = CliRunner(env={"COLUMNS": "200"}).invoke(cli_main, ["models"])
    assert result.exit_code == 0, result.output
    assert "full (default)" in result.output and "lite" in result.output
    assert result.output.count("ok") >= 4  # two sha256 ok + two loads ok
    assert "not built (python models/build.py --variant heavy)" in result.output


def test_cli_models_fails_on_a_corrupt_committed_bundle(models_dir: Path) -> None:
    _link_committed(models_dir)
    (models_dir / "pose_landmarker_lite.task").unlink()
    (models_dir / "pose_landmarker_lite.task").write_bytes(b"corrupt")
    result = CliRunner(env={"COLUMNS": "200"}).invoke(cli_main, ["models", "--no-load"])
    assert result.exit_code == 2
    assert "mismatch" in result.output
    assert "posecheck: error: 1 model bundle(s) failed: lite" in result.output


def test_bundle_status_of_a_missing_optional_bundle(models_dir: Path) -> None:
    status = bundle_status(named_bundle("heavy"))
    assert status.sha256 == "missing" and status.size is None and not status.ok


def test_build_check_passes_on_the_committed_bundles() -> None:
    proc = subprocess.run(
        [sys.executable, str(BUILD_SCRIPT), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "OK        pose_landmarker_full.task" in proc.stdout
    assert "OK        pose_landmarker_lite.task" in proc.stdout


def test_build_check_fails_on_a_changed_or_missing_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(build, "BUNDLES_DIR", tmp_path)
    monkeypatch.setattr(build, "SUMS_FILE", PACKAGED / "SHA256SUMS")
    (tmp_path / "pose_landmarker_full.task").write_bytes(b"not a zip")
    assert build.check(["full"]) == 1  # changed
    assert build.check(["lite"]) == 1  # committed but missing
    assert build.check(["heavy"]) == 0  # optional and not built
    with pytest.raises(build.BuildError, match="not a zip"):
        build.check_bundle_layout(tmp_path / "pose_landmarker_full.task")


def test_write_bundle_is_aligned_stored_and_timestamp_free() -> None:
    members = [("a.tflite", b"x" * 5), ("bb.tflite", bytes(range(256)) * 3)]
    blob = build.write_bundle(members)
    assert blob == build.write_bundle(members)  # deterministic
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        assert zf.testzip() is None
        for info, (name, data) in zip(zf.infolist(), members, strict=True):
            assert info.filename == name and zf.read(name) == data
            assert info.compress_type == zipfile.ZIP_STORED
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert blob.index(data) % build.ALIGNMENT == 0


def test_model_bundle_is_a_plain_value() -> None:
    bundle = ModelBundle("x", Path("/nonexistent/x.task"))
    assert not bundle.exists and bundle.expected_sha256 is None
    with pytest.raises(ModelError):
        bundle.verify()


def test_the_wheel_ships_every_committed_bundle_and_its_hashes() -> None:
    """pyproject's package-data lists the committed bundles and SHA256SUMS, and not heavy."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    shipped = set(config["tool"]["setuptools"]["package-data"]["posecheck"])
    wanted = {f"bundles/pose_landmarker_{name}.task" for name in COMMITTED_MODELS}
    assert wanted | {"bundles/SHA256SUMS"} <= shipped
    assert not any("heavy" in entry or entry.endswith("*.task") for entry in shipped)
    assert all((PACKAGED.parent / entry).is_file() for entry in wanted)


_QUIET_CHILD = """
import os, sys
import posecheck.inputs.models as m
real_dup2 = os.dup2
def interrupted_dup2(a, b):
    real_dup2(a, b)
    raise KeyboardInterrupt  # Ctrl-C / SIGTERM landing right after the redirection
os.dup2 = interrupted_dup2
try:
    with m.quiet_native_stderr():
        pass
except KeyboardInterrupt:
    pass
os.dup2 = real_dup2
os.write(2, b"lost while redirected\\n")
m.restore_native_stderr()
print("posecheck: interrupted", file=sys.stderr, flush=True)
with m.quiet_native_stderr():
    os.write(2, b"native log line\\n")
print("still heard", file=sys.stderr, flush=True)
"""


def test_an_interrupted_quiet_section_does_not_swallow_the_last_message() -> None:
    """An interrupt inside `quiet_native_stderr`'s own bookkeeping left fd 2 pointing at its
    sink, so `analyse`'s "interrupted" went nowhere; `restore_native_stderr` (run by the
    estimator's close) puts it back, and later quiet sections still work."""
    done = subprocess.run([sys.executable, "-c", _QUIET_CHILD], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == ["posecheck: interrupted", "still heard"]
