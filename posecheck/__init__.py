"""posecheck: a pose-estimation form checker for hip flexion/extension exercises.

The Python API mirrors the CLI::

    import posecheck
    report = posecheck.analyse_video("bridge.mp4", exercise="glute_bridge")
    report.rep_count, report.holds, report.to_json()

Names are imported lazily, so `import posecheck` (and the CLI's start-up) stays light. The
modules grouped into `apps/`, `inputs/` and `outputs/` keep their old paths too (`_moved.py`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from posecheck import _moved

__version__ = "0.1.0"

__all__ = ["SessionReport", "__version__", "analyse_video", "run_batch"]

_LAZY = {
    "analyse_video": ("posecheck.apps.analyse", "analyse_video"),
    "analyze_video": ("posecheck.apps.analyse", "analyse_video"),
    "SessionReport": ("posecheck.outputs.report", "SessionReport"),
    "run_batch": ("posecheck.apps.batch", "run_batch"),
}

if TYPE_CHECKING:
    from posecheck.apps.analyse import analyse_video
    from posecheck.apps.batch import run_batch
    from posecheck.outputs.report import SessionReport


_moved.install()


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'posecheck' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
