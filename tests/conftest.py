"""Shared fixtures. Real clips live in ../shared/clips beside the repo and are never copied in."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import settings

# CI is a gate, so its property tests replay the same examples every run (a failure there is
# reproducible, never luck); locally hypothesis explores new examples and remembers failures.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI", "").lower() == "true":
    settings.load_profile("ci")

CLIPS_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "clips"


def clips_dir_or_skip() -> Path:
    """The shared clips directory; skip when it is absent, unless CI=true (then fail)."""
    if CLIPS_DIR.is_dir():
        return CLIPS_DIR
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but the shared clips are missing: {CLIPS_DIR}")
    pytest.skip(f"shared clips not available at {CLIPS_DIR}")


@pytest.fixture(scope="session")
def shared_clips() -> Path:
    """Path to ../shared/clips (skips locally when absent; required when CI=true)."""
    return clips_dir_or_skip()


@pytest.fixture(scope="session")
def clip_labels(shared_clips: Path) -> dict[str, dict]:
    """labels.json keyed by file name."""
    labels = json.loads((shared_clips / "labels.json").read_text())
    return {entry["file"]: entry for entry in labels}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--runslow",
        action="store_true",
        default=False,
        help="also run the slow tier (rendered corpus, long live replays)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The slow tier runs with --runslow or POSECHECK_SLOW=1; the fast tier is what CI runs."""
    if config.getoption("--runslow") or os.environ.get("POSECHECK_SLOW") == "1":
        return
    skip_slow = pytest.mark.skip(reason="slow tier: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)


@pytest.fixture(autouse=True)
def _no_history_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """CLI tests must never write to the user's history database in the home directory."""
    monkeypatch.setenv("POSECHECK_NO_HISTORY", "1")
