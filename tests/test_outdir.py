"""Output folders: checked before any work, removed again when a run fails while they are empty."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from posecheck.cli import main
from posecheck.errors import OutputError, SourceError
from posecheck.outdir import missing_dirs, out_dir_for_run, prepare_out_dir


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
