"""Old import paths of the modules grouped into folders (issue 20), kept working.

`import posecheck.report` returns `posecheck.outputs.report` itself, the same module object, so
`from posecheck.report import SessionReport` and `monkeypatch.setattr("posecheck.report.X", ...)`
act on the module the code uses. Whole packages move with their submodules
(`posecheck.live.session` is `posecheck.apps.live.session`). New code imports the new paths.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
from types import ModuleType

MOVED = {
    **{f"posecheck.{m}": f"posecheck.apps.{m}" for m in (
        "analyse", "batch", "batch_local", "batch_ray", "batch_output", "agreement", "live",
        "routine")},
    **{f"posecheck.{m}": f"posecheck.outputs.{m}" for m in (
        "overlay", "report", "html_report", "balance", "outdir", "history", "review")},
    **{f"posecheck.{m}": f"posecheck.inputs.{m}" for m in ("sources", "input_checks", "models")},
}


def new_name(name: str) -> str | None:
    """The module's path today, for an old path (or a submodule of one); None if not moved."""
    for old, new in MOVED.items():
        if name == old or name.startswith(old + "."):
            return new + name[len(old):]
    return None


class _Alias:
    """Finder and loader in one (the protocols, without importlib.abc: it costs 7 ms a start)."""

    def find_spec(self, name, path=None, target=None):
        if not name.startswith("posecheck.") or new_name(name) is None:
            return None
        return importlib.machinery.ModuleSpec(name, self)

    def create_module(self, spec):
        return None

    def exec_module(self, module: ModuleType) -> None:
        # The import system returns what sys.modules holds after this: the real module.
        sys.modules[module.__name__] = importlib.import_module(new_name(module.__name__))


def install() -> None:
    """Put the alias finder first, before a stale `posecheck/live/` folder of bytecode caches
    could be found as an empty namespace package."""
    if not any(isinstance(f, _Alias) for f in sys.meta_path):
        sys.meta_path.insert(0, _Alias())
