"""benchmarks/pause_definitions.py: the body-speed signal and the two span rules it compares."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "pause_definitions.py"
_spec = importlib.util.spec_from_file_location("pause_definitions", _PATH)
assert _spec is not None and _spec.loader is not None
pause_definitions = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pause_definitions)


def _landmarks(tmp_path: Path, knee_speed: float) -> Path:
    """A body with a torso 0.2 long, still except both knees moving right at `knee_speed`."""
    t = np.arange(0.0, 2000.0, 1000.0 / 30)
    xy = np.full((t.size, 33, 2), 0.5)
    xy[:, 11:13, 1] = 0.3  # shoulders 0.2 above the hips
    xy[:, 25:27, 0] += knee_speed * t[:, None] / 1000.0
    path = tmp_path / "body.npz"
    np.savez(path, t_ms=t, present=np.ones(t.size, bool), image_xy=xy)
    return path


@pytest.mark.parametrize("knee_speed", [0.0, 0.1, 0.4])
def test_body_speed_is_in_torso_lengths_per_second(tmp_path: Path, knee_speed: float) -> None:
    _, speed = pause_definitions.body_speed(_landmarks(tmp_path, knee_speed))
    # two knees, each at knee_speed / 0.2 torso lengths per second: the root of their squares
    assert speed[5:-5] == pytest.approx(np.sqrt(2) * knee_speed / 0.2, abs=1e-6)


def test_trimmed_only_shortens_and_drops_what_is_left_too_short() -> None:
    holds = [(1000.0, 2000.0), (5000.0, 6000.0), (8000.0, 9000.0)]
    still = [(1200.0, 2500.0), (5900.0, 7000.0), None]
    assert pause_definitions._trimmed(holds, still) == [(1200.0, 2000.0), (8000.0, 9000.0)]


def test_body_still_keeps_the_hip_pause_of_a_rep_with_no_still_stretch() -> None:
    holds = [(1000.0, 2000.0), (5000.0, 6000.0)]
    still = [(900.0, 1800.0), None, (7000.0, 7400.0)]
    got = pause_definitions._body_still(holds, still)
    assert got == [(900.0, 1800.0), (5000.0, 6000.0), (7000.0, 7400.0)]
