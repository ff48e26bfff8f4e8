"""The pose model bundles: where they live, what their bytes must hash to, and whether they load.

Bundles are `pose_landmarker_<name>.task` files built by `models/build.py` (lite and full are
committed, heavy is built on demand). They are package data in `posecheck/bundles/`, found with
`importlib.resources`, so a wheel works without the checkout. Their expected sha256s are read
from `posecheck/bundles/SHA256SUMS`, which the build script writes and checks, so there is one
source of truth. Nothing is ever downloaded at run time.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from posecheck.errors import ModelError

MODEL_NAMES: tuple[str, ...] = ("lite", "full", "heavy")
COMMITTED_MODELS: tuple[str, ...] = ("lite", "full")
DEFAULT_MODEL = "full"
BUNDLE_MEMBERS: tuple[str, ...] = ("pose_detector.tflite", "pose_landmarks_detector.tflite")
MODELS_DIR_ENV = "POSECHECK_MODELS_DIR"
SUMS_FILE_NAME = "SHA256SUMS"
BUNDLES_PACKAGE_DIR = "bundles"


def packaged_models_dir() -> Path:
    """The bundles shipped inside the package (`posecheck/bundles/`), as a real directory.

    mediapipe opens a model by path, so the package must be installed as files (a wheel or an
    editable checkout), not imported from a zip; that case is a one-line ModelError.
    """
    resource = files("posecheck") / BUNDLES_PACKAGE_DIR
    if not isinstance(resource, Path):
        raise ModelError(
            f"posecheck's model bundles are inside an archive ({resource}); install posecheck "
            "as files (pip install posecheck) or set POSECHECK_MODELS_DIR"
        )
    return resource


def models_dir() -> Path:
    """The directory holding the bundles: `$POSECHECK_MODELS_DIR`, else the packaged ones."""
    override = os.environ.get(MODELS_DIR_ENV)
    return Path(override).expanduser() if override else packaged_models_dir()


def bundle_file_name(name: str) -> str:
    return f"pose_landmarker_{name}.task"


def rebuild_command(name: str) -> str:
    """The command that (re)builds a named bundle."""
    return "python models/build.py" + ("" if name in COMMITTED_MODELS else f" --variant {name}")


def expected_sha256s(directory: Path | None = None) -> dict[str, str]:
    """Pinned hashes by bundle name, from SHA256SUMS in the models dir (else the packaged one)."""
    directory = models_dir() if directory is None else directory
    sums_path = directory / SUMS_FILE_NAME
    if not sums_path.exists():
        sums_path = packaged_models_dir() / SUMS_FILE_NAME
    if not sums_path.exists():
        return {}
    by_file: dict[str, str] = {}
    for line in sums_path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and not line.startswith("#"):
            by_file[parts[1].lstrip("*")] = parts[0].lower()
    return {
        name: by_file[bundle_file_name(name)]
        for name in MODEL_NAMES
        if bundle_file_name(name) in by_file
    }


_HASHES: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path) -> str:
    """sha256 of a file, remembered per (path, size, mtime) so repeated verifies cost nothing."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _HASHES:
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        _HASHES[key] = digest.hexdigest()
    return _HASHES[key]


@dataclass(frozen=True)
class ModelBundle:
    """A pose landmarker bundle on disk; `expected_sha256` is None for a user-supplied path."""

    name: str
    path: Path
    expected_sha256: str | None = None

    @property
    def is_named(self) -> bool:
        return self.name in MODEL_NAMES and self.path.name == bundle_file_name(self.name)

    @property
    def exists(self) -> bool:
        return self.path.is_file()

    def sha256(self) -> str:
        return file_sha256(self.path)

    def verify(self) -> ModelBundle:
        """Check the file exists, is a zip with both models and (if pinned) has the right hash.

        Raises ModelError with a one-line message; returns self so calls can chain.
        """
        if not self.exists:
            hint = f"; rebuild it with: {rebuild_command(self.name)}" if self.is_named else ""
            raise ModelError(f"model '{self.name}' not found at {self.path}{hint}")
        try:
            with zipfile.ZipFile(self.path) as zf:
                members = set(zf.namelist())
        except (zipfile.BadZipFile, OSError) as exc:
            raise ModelError(
                f"model '{self.name}' at {self.path} is not a .task bundle (not a zip: {exc})"
            ) from exc
        missing = [m for m in BUNDLE_MEMBERS if m not in members]
        if missing:
            raise ModelError(
                f"model '{self.name}' at {self.path} is not a pose landmarker "
                f"bundle: missing {', '.join(missing)}"
            )
        if self.expected_sha256 is not None:
            actual = self.sha256()
            if actual != self.expected_sha256:
                raise ModelError(
                    f"model '{self.name}' at {self.path} has sha256 {actual[:12]}…, expected "
                    f"{self.expected_sha256[:12]}… (corrupt or stale; rebuild it with: "
                    f"{rebuild_command(self.name)})"
                )
        return self


def named_bundle(name: str) -> ModelBundle:
    """The registry entry for lite|full|heavy (the file may not exist yet)."""
    if name not in MODEL_NAMES:
        raise ModelError(f"unknown model '{name}': expected one of {'|'.join(MODEL_NAMES)}")
    directory = models_dir()
    return ModelBundle(
        name, directory / bundle_file_name(name), expected_sha256s(directory).get(name)
    )


def resolve_model(spec: str | Path | None, verify: bool = True) -> ModelBundle:
    """Turn `--model lite|full|heavy|PATH` into a verified bundle. None means full.

    A path is accepted as-is (its hash is not pinned). Raises ModelError (one line) if the file
    is missing, not a zip, lacks the two models or has the wrong hash; `verify=False` skips that.
    """
    if spec is None:
        bundle = named_bundle(DEFAULT_MODEL)
    elif isinstance(spec, str) and spec in MODEL_NAMES:
        bundle = named_bundle(spec)
    else:
        path = Path(spec).expanduser()
        if isinstance(spec, str) and not path.exists() and "/" not in spec and "." not in spec:
            raise ModelError(
                f"model '{spec}' not found: not one of {'|'.join(MODEL_NAMES)} and no such file"
            )
        bundle = ModelBundle(path.stem or str(path), path.resolve(), None)
    return bundle.verify() if verify else bundle


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Silence C++ log lines (e.g. TFLite's 'Sparsity tensors may not yet be fully supported').

    They are written to file descriptor 2 by native code, so `contextlib.redirect_stderr`
    cannot catch them. Use around model creation only, never around a whole run. Thread-safe:
    overlapping uses (a model loading on another thread) share one redirection, which the last
    one to leave undoes. An interrupt (Ctrl-C, SIGTERM) landing in this bookkeeping can leave
    fd 2 redirected: `restore_native_stderr` puts it back once no model work is running.
    """
    global _quiet_depth, _quiet_saved
    entered = False
    try:
        with _quiet_lock:
            if _quiet_saved is None:
                sys.stderr.flush()
                _quiet_saved = os.dup(2)
                with tempfile.TemporaryFile() as sink:
                    os.dup2(sink.fileno(), 2)
            _quiet_depth += 1
            entered = True
        yield
    finally:
        if entered:
            with _quiet_lock:
                _quiet_depth -= 1
                if _quiet_depth == 0:
                    _restore_locked()


def restore_native_stderr() -> None:
    """Put fd 2 back if no quiet section is open (one an interrupt cut short leaves it
    redirected, and the user's last message, "interrupted", would go nowhere)."""
    with _quiet_lock:
        if _quiet_depth <= 0:
            _restore_locked()


def _restore_locked() -> None:
    global _quiet_depth, _quiet_saved
    saved, _quiet_saved, _quiet_depth = _quiet_saved, None, 0
    if saved is not None:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


_quiet_lock = threading.Lock()
_quiet_depth = 0
_quiet_saved: int | None = None


def _one_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def create_landmarker(bundle: ModelBundle, running_mode: str = "image", **options: object):
    """Create a mediapipe PoseLandmarker from a verified bundle (caller must `close()` it).

    `running_mode` is "image", "video" or "live_stream"; `options` go to PoseLandmarkerOptions
    (e.g. num_poses, min_pose_detection_confidence). A bundle the runtime refuses raises
    ModelError with mediapipe's first line.
    """
    bundle.verify()
    from mediapipe.tasks.python import vision  # heavy import: only when a model is used
    from mediapipe.tasks.python.core.base_options import BaseOptions

    mode = getattr(vision.RunningMode, running_mode.upper())
    landmarker_options = vision.PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(bundle.path)),
        running_mode=mode,
        **options,
    )
    try:
        with quiet_native_stderr():
            return vision.PoseLandmarker.create_from_options(landmarker_options)
    except (RuntimeError, ValueError, OSError) as exc:
        raise ModelError(
            f"model '{bundle.name}' at {bundle.path} was refused by mediapipe: {_one_line(exc)}"
        ) from exc


def check_loads(bundle: ModelBundle) -> float:
    """Load the bundle once (IMAGE mode) to prove the runtime accepts it; return seconds taken."""
    start = time.perf_counter()
    landmarker = create_landmarker(bundle, "image")
    elapsed = time.perf_counter() - start
    with quiet_native_stderr():  # close() logs one INFO line per accelerator
        landmarker.close()
    return elapsed


@dataclass(frozen=True)
class BundleStatus:
    """What `posecheck models` shows for one bundle."""

    bundle: ModelBundle
    size: int | None  # bytes; None when missing
    sha256: str  # "ok", "mismatch", "unpinned" or "missing"
    load_seconds: float | None  # None when not loaded
    error: str | None  # one line, None when fine

    @property
    def ok(self) -> bool:
        return self.error is None


def bundle_status(bundle: ModelBundle, load: bool = True) -> BundleStatus:
    """Verify (and optionally load) one bundle without raising."""
    if not bundle.exists:
        return BundleStatus(bundle, None, "missing", None, f"not found at {bundle.path}")
    size = bundle.path.stat().st_size
    if bundle.expected_sha256 is None:
        sha = "unpinned"
    else:
        sha = "ok" if bundle.sha256() == bundle.expected_sha256 else "mismatch"
    try:
        bundle.verify()
        seconds = check_loads(bundle) if load else None
    except ModelError as exc:
        return BundleStatus(bundle, size, sha, None, str(exc))
    return BundleStatus(bundle, size, sha, seconds, None)
