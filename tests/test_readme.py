"""The README's Python code blocks run as printed, as a user would run them.

Each block is saved as a script in a temporary folder that also holds an empty `posecheck/`
folder, the way a script saved beside a clone named `posecheck` sits, and is run from the
repository root (the README's relative paths are the clone's). That folder used to shadow the
installed package ("no attribute 'analyse_video'"); the editable install's path entry fixes it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BLOCKS = re.findall(r"^```python\n(.*?)^```", (REPO / "README.md").read_text(), re.S | re.M)


def test_the_readme_has_its_two_python_snippets() -> None:
    assert len(BLOCKS) == 2


@pytest.mark.parametrize("index", range(len(BLOCKS)), ids=lambda i: f"block{i + 1}")
def test_readme_python_block_runs_as_printed(index: int, tmp_path: Path) -> None:
    (tmp_path / "posecheck").mkdir()  # a clone folder named like the package, beside the script
    script = tmp_path / f"readme_block{index + 1}.py"
    script.write_text(BLOCKS[index])
    proc = subprocess.run(
        [sys.executable, str(script)], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    # both snippets print the rep count and the holds of five two-second bridges
    count, holds = proc.stdout.strip().split(" ", 1)
    assert count == "5"
    assert [float(h) for h in holds.strip("[]").split(",")] == pytest.approx([2.0] * 5, abs=0.15)
