"""The ray batch engine: same table as local, a killed worker's clip retried, SIGINT keeps rows.

One local Ray cluster (127.0.0.1, 2 CPUs) serves the whole module: Ray's start-up is the slow
part. The clips are sample_videos/ at the lite model and stride 2 (the engines must agree, which
does not depend on the model); the slow tier repeats the comparison at full settings and on
../shared/clips.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from posecheck.apps.batch import ClipRow, run_batch

SAMPLES = Path(__file__).resolve().parents[1] / "sample_videos"
FAST = {"model": "lite", "stride": 4}
# Everything the table shows except `fps`, which is wall-clock speed.
COMPARED = (
    "clip", "exercise", "reps", "partials", "holds", "hold_spans_s", "detection_rate",
    "frames", "expected_reps", "count_error", "hold_errors_s", "passed", "error",
)  # fmt: skip


def _ray_or_skip() -> Any:
    try:
        import ray
    except ImportError:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but Ray is not installed: pip install -e '.[test,ray]'")
        pytest.skip("Ray not installed (pip install 'posecheck[ray]')")
    return ray


def table(rows: list[ClipRow] | list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    dicts = [r if isinstance(r, dict) else r.as_dict() for r in rows]
    return [tuple(json.dumps(d[k]) for k in COMPARED) for d in dicts]


@pytest.fixture(scope="module")
def ray_address() -> Iterator[str]:
    """A local 2-CPU Ray cluster on 127.0.0.1, shared by the module and shut down after it."""
    import logging

    ray = _ray_or_skip()
    ray.init(
        num_cpus=2, _node_ip_address="127.0.0.1", include_dashboard=False,
        logging_level=logging.ERROR, log_to_driver=False,
    )  # fmt: skip
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def local_rows() -> list[ClipRow]:
    rows, _ = run_batch([SAMPLES], labels=SAMPLES / "labels.json", workers=2, **FAST)
    return rows


def test_cli_ray_table_equals_local(
    ray_address: str, local_rows: list[ClipRow], tmp_path: Path
) -> None:
    """`posecheck batch sample_videos/*.mp4 --labels ... --engine ray`: the local table, row for
    row, the same exit status, and the same batch.csv apart from the fps column."""
    from click.testing import CliRunner

    from posecheck.cli import main as cli

    clips = sorted(str(p) for p in SAMPLES.glob("*.mp4"))
    args = ["--labels", str(SAMPLES / "labels.json"), "--model", "lite", "--stride", "4",
            "--json", "--out", str(tmp_path)]  # fmt: skip
    result = CliRunner().invoke(cli, ["batch", *clips, *args, "--engine", "ray"])
    local_failed = any(r.error is not None or r.passed is False for r in local_rows)
    assert result.exit_code == int(local_failed), result.output
    doc = json.loads(result.output)
    assert table(doc["clips"]) == table(local_rows)
    written = list(csv.DictReader((tmp_path / "batch.csv").open()))
    assert [(r["clip"], r["reps"], r["passed"]) for r in written] == [
        (r.clip, str(r.reps), "pass" if r.passed else "FAIL") for r in local_rows
    ]


def _kill_busy_workers(stop: threading.Event, killed: list[int], times: int = 1) -> None:
    """SIGKILL Ray workers found scoring a clip (title ray::ClipWorker.score), `times` of them."""
    while not stop.is_set() and len(killed) < times:
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or int(pid) in killed:
                continue
            try:
                title = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if title.startswith(b"ray::ClipWorker.score"):
                os.kill(int(pid), signal.SIGKILL)
                killed.append(int(pid))
                break
        stop.wait(0.05)


def test_killed_worker_clip_is_retried_and_no_row_lost(
    ray_address: str, local_rows: list[ClipRow]
) -> None:
    stop, killed = threading.Event(), []
    killer = threading.Thread(target=_kill_busy_workers, args=(stop, killed))
    killer.start()
    seen: list[str] = []
    try:
        rows, summary = run_batch(
            [SAMPLES], labels=SAMPLES / "labels.json", engine="ray",
            on_row=lambda r: seen.append(r.clip), **FAST,
        )  # fmt: skip
    finally:
        stop.set()
        killer.join()
    assert killed, "no worker was caught mid-clip"
    assert sorted(seen) == [r.clip for r in local_rows]  # each clip once: none lost or doubled
    assert table(rows) == table(local_rows)  # the killed worker's clip was re-run and scored
    assert summary["errors"] == 0


def test_clip_that_keeps_killing_its_worker_becomes_an_error_row(ray_address: str) -> None:
    """Retries are bounded: a clip whose worker dies on every attempt (1 + RETRIES) is an error
    row, and the batch still ends."""
    from posecheck.apps.batch_ray import RETRIES

    stop, killed = threading.Event(), []
    killer = threading.Thread(target=_kill_busy_workers, args=(stop, killed, RETRIES + 1))
    killer.start()
    try:
        rows, summary = run_batch(
            [SAMPLES / "neg_pelvic_tilt.mp4"], exercise="glute_bridge", engine="ray", **FAST
        )
    finally:
        stop.set()
        killer.join()
    assert len(killed) == RETRIES + 1
    assert len(rows) == 1 and summary["errors"] == 1
    assert rows[0].error is not None and f"worker died {RETRIES + 1} times" in rows[0].error


def test_sigint_keeps_finished_rows_and_exits_non_zero(
    ray_address: str, local_rows: list[ClipRow], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "posecheck", "batch", str(SAMPLES), "--labels",
           str(SAMPLES / "labels.json"), "--model", "lite", "--stride", "4", "--out", str(out),
           "--engine", "ray", "--address", ray_address]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    csv_path = out / "batch.csv"
    try:
        while proc.poll() is None:  # until the first clip's row is on disk
            if csv_path.exists() and len(csv_path.read_text().splitlines()) >= 2:
                break
            threading.Event().wait(0.1)
        assert proc.poll() is None, "the batch finished before it could be interrupted"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0
    assert "Traceback" not in err and "interrupted" in err
    written = list(csv.DictReader(csv_path.open()))
    assert 1 <= len(written) < 4
    expected = {r.clip: r for r in local_rows}
    for row in written:
        assert int(row["reps"]) == expected[row["clip"]].reps
    doc = json.loads((out / "batch.json").read_text())
    assert doc["interrupted"] is True
    assert table(doc["clips"]) == table([expected[r["clip"]] for r in written])


@pytest.mark.slow
@pytest.mark.parametrize("where", ["samples", "shared"])
def test_ray_table_equals_local_full_model(
    ray_address: str, where: str, request: pytest.FixtureRequest
) -> None:
    """Slow tier: full model, stride 1, on sample_videos and on ../shared/clips."""
    folder = SAMPLES if where == "samples" else request.getfixturevalue("shared_clips")
    kw: dict[str, Any] = {"labels": folder / "labels.json", "workers": 2}
    local, local_summary = run_batch([folder], engine="local", **kw)
    remote, remote_summary = run_batch([folder], engine="ray", **kw)
    assert table(remote) == table(local)
    assert remote_summary == local_summary
