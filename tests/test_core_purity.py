"""The core is pure: importing it loads neither OpenCV nor mediapipe (fresh process check)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import posecheck.core

PURE_EXTRA = (
    "posecheck.synthetic.kinematics",
    "posecheck.synthetic.motions",
    "posecheck.synthetic.poses",
    "posecheck.synthetic.landmarks",
)


def _core_modules() -> list[str]:
    mods = [f"posecheck.core.{m.name}" for m in pkgutil.iter_modules(posecheck.core.__path__)]
    assert {"posecheck.core.analyzer", "posecheck.core.counter", "posecheck.core.geometry"} <= set(
        mods
    )
    return ["posecheck.core", *mods, *PURE_EXTRA]


def test_core_imports_neither_cv2_nor_mediapipe() -> None:
    mods = _core_modules()
    code = (
        "import importlib, sys\n"
        f"for m in {mods!r}:\n"
        "    importlib.import_module(m)\n"
        "bad = sorted(k for k in sys.modules if k.split('.')[0] in ('cv2', 'mediapipe'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "", f"core loaded: {out.stdout.strip()}"


def test_the_check_would_notice_cv2() -> None:
    """The subprocess check is real: a module that imports cv2 shows up in sys.modules."""
    code = "import sys, cv2\nprint('cv2' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "True"
