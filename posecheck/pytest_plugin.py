"""pytest plugin for posecheck (registered through the `pytest11` entry point).

For checking clips' counts in your own tests::

    from posecheck.pytest_plugin import assert_counts

    def test_my_bridges(posecheck_analyse):
        report = posecheck_analyse("clips/bridges.mp4", exercise="glute_bridge")
        assert_counts(report, reps=5, holds=[2.0, 2.0])

and `pytest --posecheck-labels clips/labels.json` turns every labelled clip into a test item
(scored exactly as `posecheck batch --labels` scores it); with test paths given as well, those
run too. `--posecheck-model` and `--posecheck-stride` choose the model and the frame stride.

Kept light at import (no cv2/mediapipe/numpy): every pytest run in the environment loads it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from posecheck.apps.batch import ClipJob, ClipLabel, ClipRow
    from posecheck.outputs.report import SessionReport

HOLD_TOLERANCE_S = 0.25


# ---------------------------------------------------------------- assertion helper


class CountMismatch(AssertionError):
    """A clip's counts differ from what was expected (the message says how)."""


def _times(values: Sequence[float]) -> str:
    return ", ".join(f"{v:.2f} s" for v in values) if values else "none"


def _expect_text(value: int | tuple[int, int]) -> str:
    if isinstance(value, tuple):
        return f"{value[0]}-{value[1]}" if value[0] != value[1] else str(value[0])
    return str(value)


def _in(value: int, expected: int | tuple[int, int]) -> bool:
    if isinstance(expected, tuple):
        return expected[0] <= value <= expected[1]
    return value == expected


def assert_counts(
    report: SessionReport,
    reps: int | tuple[int, int] | None = None,
    holds: int | Sequence[float] | Sequence[tuple[float, float]] | None = None,
    partials: int | tuple[int, int] | None = None,
    *,
    hold_tolerance_s: float = HOLD_TOLERANCE_S,
) -> None:
    """Check a report's counts; on failure say expected vs counted, with the times found.

    Args:
        reps: exact count, or an inclusive (min, max) range.
        holds: a count, or the expected durations in seconds (matched in order, each within
            `hold_tolerance_s`), or (start_s, end_s) spans (matched by overlap).
        partials: exact count or (min, max).
    """
    problems: list[str] = []
    tops = [r.top_ms / 1000.0 for r in report.reps]
    if reps is not None and not _in(report.rep_count, reps):
        problems.append(
            f"reps: expected {_expect_text(reps)}, counted {report.rep_count} "
            f"(tops at {_times(tops)})"
        )
    if partials is not None and not _in(report.partial_count, partials):
        ptimes = [r.top_ms / 1000.0 for r in report.partials]
        problems.append(
            f"partial reps: expected {_expect_text(partials)}, counted {report.partial_count} "
            f"(at {_times(ptimes)})"
        )
    if holds is not None:
        problems.extend(_check_holds(report, holds, hold_tolerance_s))
    if problems:
        name = Path(report.source).name
        header = f"{name} ({report.exercise}): counts differ from expected"
        detail = [
            f"  reps counted: {report.rep_count} at {_times(tops)}",
            "  holds counted: "
            + (
                ", ".join(
                    f"{h.start_ms / 1000:.2f}-{h.end_ms / 1000:.2f} s ({h.duration_s:.2f} s)"
                    for h in report.holds
                )
                or "none"
            ),
            f"  pose found in {report.detection_rate:.0%} of {report.frames} frames",
        ]
        raise CountMismatch("\n".join([header, *("  " + p for p in problems), *detail]))


def _check_holds(
    report: SessionReport,
    holds: int | Sequence[float] | Sequence[tuple[float, float]],
    tol: float,
) -> list[str]:
    counted = [(h.start_ms / 1000.0, h.end_ms / 1000.0) for h in report.holds]
    if isinstance(holds, int):
        if len(counted) != holds:
            return [f"holds: expected {holds}, counted {len(counted)}"]
        return []
    expected = list(holds)
    if not expected:
        return [] if not counted else [f"holds: expected none, counted {len(counted)}"]
    if isinstance(expected[0], (tuple, list)):
        from posecheck.apps.batch import ClipRow, score_holds

        row = ClipRow(clip="", path="", hold_spans_s=counted)
        label = _label_with_holds(expected)  # type: ignore[arg-type]
        return [] if score_holds(row, label, tol) else [f"holds: {p}" for p in row.hold_problems]
    wanted = [float(d) for d in expected]  # type: ignore[arg-type]
    durations = [e - s for s, e in counted]
    if len(durations) != len(wanted):
        return [
            f"holds: expected {len(wanted)} ({', '.join(f'{d:.2f} s' for d in wanted)}), "
            f"counted {len(durations)} ({', '.join(f'{d:.2f} s' for d in durations) or 'none'})"
        ]
    return [
        f"hold {i + 1}: expected {want:.2f} s, counted {got:.2f} s ({got - want:+.2f} s)"
        for i, (want, got) in enumerate(zip(wanted, durations, strict=True))
        if abs(got - want) > tol
    ]


def _label_with_holds(spans: Sequence[tuple[float, float]]) -> ClipLabel:
    from posecheck.apps.batch import ClipLabel

    return ClipLabel("", "", None, None, None, tuple((float(s), float(e)) for s, e in spans))


# ---------------------------------------------------------------- options and fixtures


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("posecheck", "posecheck clip checks")
    group.addoption(
        "--posecheck-labels",
        action="append",
        default=[],
        metavar="labels.json",
        help="Turn every clip in this labels file into a test item (repeatable).",
    )
    group.addoption(
        "--posecheck-model",
        default="full",
        metavar="lite|full|heavy|PATH",
        help="Pose model for posecheck clip checks (default: full).",
    )
    group.addoption(
        "--posecheck-stride",
        type=int,
        default=1,
        metavar="N",
        help="Analyse every Nth frame in posecheck clip checks (default: 1).",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "posecheck_clip: a labelled clip scored by posecheck")
    labels = [str(Path(p).resolve()) for p in config.getoption("posecheck_labels") or []]
    config._posecheck_labels = set(labels)  # type: ignore[attr-defined]
    if not labels:
        return
    explicit = getattr(config, "args_source", None) == pytest.Config.ArgsSource.ARGS
    if not explicit:
        # `pytest --posecheck-labels x.json` alone checks the clips, not the whole test suite;
        # `pytest tests --posecheck-labels x.json` runs both.
        config.args[:] = []
    for path in labels:
        if path not in config.args:
            config.args.append(path)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    wanted = getattr(parent.config, "_posecheck_labels", set())
    if str(file_path.resolve()) in wanted:
        import os

        # Outside the rootdir pytest would name it "" (ids like "::clip.mp4"): say where it is.
        rel = os.path.relpath(file_path, parent.config.rootpath).replace(os.sep, "/")
        return LabelsFile.from_parent(parent, path=file_path, nodeid=rel)
    return None


@pytest.fixture(scope="session")
def posecheck_analyse(request: pytest.FixtureRequest) -> Callable[..., SessionReport]:
    """`posecheck_analyse(path, exercise=None, **kwargs) -> SessionReport`, cached per session.

    Uses --posecheck-model and --posecheck-stride unless given; writes no files unless
    `out_dir=` is passed.
    """
    from posecheck.apps.analyse import analyse_video

    cache: dict[tuple[Any, ...], SessionReport] = {}
    model = request.config.getoption("posecheck_model")
    stride = request.config.getoption("posecheck_stride")

    def run(path: str | Path, exercise: str | None = None, **kwargs: Any) -> SessionReport:
        kwargs.setdefault("model", model)
        kwargs.setdefault("stride", stride)
        key = (str(Path(path).resolve()), exercise, tuple(sorted(kwargs.items())))
        if key not in cache or "out_dir" in kwargs:
            cache[key] = analyse_video(path, exercise, **kwargs)
        return cache[key]

    return run


@pytest.fixture
def posecheck_assert_counts() -> Callable[..., None]:
    """The `assert_counts` helper as a fixture (no import needed in test modules)."""
    return assert_counts


# ---------------------------------------------------------------- labelled clips as items


class LabelsFile(pytest.File):
    """A labels.json: one item per labelled clip (missing clip files fail, not skip)."""

    def collect(self) -> Iterator[pytest.Item]:
        from posecheck.apps.batch import load_labels, make_jobs

        labels = load_labels(self.path)  # LabelsError -> a collection error with one line
        for name in labels:
            clip = self.path.parent / name
            (job,) = make_jobs([clip], labels, None)
            yield LabelledClip.from_parent(self, name=name, job=job)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> str:  # type: ignore[override]
        from posecheck.errors import PosecheckError

        if isinstance(excinfo.value, PosecheckError):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))


class LabelledClip(pytest.Item):
    def __init__(self, *, job: ClipJob, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job = job
        self.row: ClipRow | None = None
        self.add_marker("posecheck_clip")

    def runtest(self) -> None:
        from posecheck.apps.batch import run_job, score_row

        if not Path(self.job.path).exists():
            raise CountMismatch(f"clip not found: {self.job.path}")
        model = self.config.getoption("posecheck_model")
        stride = self.config.getoption("posecheck_stride")
        row = run_job(self.job, model, None, stride)
        score_row(row, self.job)
        self.row = row
        if row.error is not None:
            raise CountMismatch(f"{row.clip}: could not be analysed: {row.error}")
        if not row.passed:
            raise CountMismatch(describe_row(row))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> str:  # type: ignore[override]
        if isinstance(excinfo.value, CountMismatch):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"posecheck clip {self.name}"


def describe_row(row: ClipRow) -> str:
    """Expected vs counted for a failed labelled clip, with the times of the reps found."""
    what = f"{row.exercise}" + (
        f" (negative: labelled {row.labelled_exercise})" if row.negative else ""
    )
    expected = (row.expected_reps or "?").replace(" (negative)", "")
    lines = [
        f"{row.clip} as {what}: expected {expected} reps, counted {row.reps}"
        + (f" (+{row.partials} partial)" if row.partials else ""),
        f"  reps found, tops at: {_times(row.rep_tops_s)}",
    ]
    if row.hold_spans_s or row.labelled_holds:
        lines.append(
            "  holds counted: "
            + (
                ", ".join(f"{s:.2f}-{e:.2f} s ({e - s:.2f} s)" for s, e in row.hold_spans_s)
                or "none"
            )
        )
    lines += [f"  {p}" for p in row.hold_problems]
    if row.detection_rate is not None:
        lines.append(f"  pose found in {row.detection_rate:.0%} of {row.frames} frames")
    return "\n".join(lines)
