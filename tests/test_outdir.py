"""Output folders: checked before any work, removed again when a run fails while they are empty."""

from __future__ import annotations

import csv
import errno
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import short_sample_clip

from posecheck.cli import main
from posecheck.errors import OutputError, SourceError
from posecheck.outputs.outdir import missing_dirs, out_dir_for_run, prepare_out_dir


def test_a_failed_run_leaves_no_empty_folders(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b" / "c"
    with pytest.raises(SourceError), out_dir_for_run(out):
        assert out.is_dir()
        raise SourceError("no such file")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_run_keeps_folders_that_hold_files_or_existed(tmp_path: Path) -> None:
    out = tmp_path / "kept" / "run"
    with pytest.raises(KeyboardInterrupt), out_dir_for_run(out):
        (out / "report.json").write_text("{}")
        raise KeyboardInterrupt
    assert (out / "report.json").exists()
    with pytest.raises(SourceError), out_dir_for_run(tmp_path):
        raise SourceError("x")
    assert tmp_path.is_dir()


@pytest.mark.parametrize("where", ["file", "under_file"])
def test_a_folder_that_cannot_be_made_is_a_one_line_error(tmp_path: Path, where: str) -> None:
    blocker = tmp_path / "taken"
    blocker.write_text("")
    target = blocker if where == "file" else blocker / "sub"
    with pytest.raises(OutputError, match=r"^cannot write to --record directory .*taken"):
        prepare_out_dir(target, "--record directory")


def test_missing_dirs_lists_deepest_first(tmp_path: Path) -> None:
    assert missing_dirs(tmp_path / "x" / "y") == [tmp_path / "x" / "y", tmp_path / "x"]
    assert missing_dirs(tmp_path) == []


def test_analyse_of_a_missing_video_leaves_no_posecheck_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["analyse", "nope.mp4"])
    assert result.exit_code == 2
    assert list(tmp_path.iterdir()) == []  # no posecheck-out/nope/


def test_live_record_dir_is_checked_before_the_camera_opens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("taken").write_text("")
    result = CliRunner().invoke(main, ["live", "--source", "57", "--headless", "--mute",
                                       "--record", "taken/rec", "--out", "o"])
    assert result.exit_code == 2
    assert result.output.strip() == (
        "posecheck: error: cannot write to --record directory taken/rec: Not a directory"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]  # o/ removed again


# -- results first, then the files: a file that cannot be written is named, nothing is lost ----


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return short_sample_clip(tmp_path_factory.mktemp("clip") / "short.mp4")


def test_an_unwritable_report_json_keeps_the_summary_and_names_the_file(
    short_clip: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    (out / "report.json").mkdir(parents=True)  # as root a read-only file is writable: a folder
    result = CliRunner().invoke(main, ["analyse", str(short_clip), "-e", "glute_bridge",
                                       "--model", "lite", "--no-video", "--out", str(out)])
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert lines[0].startswith("glute_bridge: 0 reps, 1 rep unfinished")  # the summary came first
    assert lines[-1] == f"posecheck: error: cannot write {out / 'report.json'}: Is a directory"
    assert "Traceback" not in result.output
    assert (out / "timeline.csv").stat().st_size > 0 and (out / "angle.png").exists()


def test_a_full_disk_ends_the_timeline_not_the_analysis(tmp_path: Path) -> None:
    from helpers import frame_result

    from posecheck.outputs.report import TimelineWriter

    class FullDisk:
        def write(self, text: str) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

        def flush(self) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

        def close(self) -> None:
            pass

    writer = TimelineWriter(tmp_path / "timeline.csv")
    writer._fh = FullDisk()  # type: ignore[assignment]
    writer._csv = csv.writer(writer._fh)
    for i in range(30):
        writer.write(frame_result(t_ms=i * 33.0))
    writer.close()
    assert writer.error == f"cannot write {tmp_path / 'timeline.csv'}: No space left on device"


def test_several_unwritten_files_are_one_line() -> None:
    from posecheck.apps.analyse import not_written_message

    message = not_written_message(["cannot write /o/timeline.csv: No space left on device",
                                   "cannot write /o/annotated.mp4: ffmpeg stopped",
                                   "cannot write /o/report.json: No space left on device"])
    assert message == ("cannot write /o/timeline.csv: No space left on device; "
                       "not written either: annotated.mp4, report.json")
