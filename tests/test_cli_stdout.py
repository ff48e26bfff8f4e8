"""A standard output that cannot be written is one line on stderr, not an OSError traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parents[1] / "sample_videos" / "glute_bridge_side.mp4"


def _to_dev_full(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    with open("/dev/full", "w") as full:
        return subprocess.run([sys.executable, "-m", "posecheck", *args], stdout=full,
                              stderr=subprocess.PIPE, text=True, cwd=cwd, check=False,
                              env={**os.environ, "POSECHECK_NO_HISTORY": "1"})


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system")
@pytest.mark.parametrize("args", [["exercises", "--names"], ["history", "--help"]])
def test_output_to_a_full_device_is_a_one_line_error(args: list[str], tmp_path: Path) -> None:
    proc = _to_dev_full(*args, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr == (
        "posecheck: error: cannot write to standard output: No space left on device\n"
    )
