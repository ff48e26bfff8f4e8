"""Errors a user can cause. The CLI prints `str(error)` as one line and exits non-zero."""

from __future__ import annotations


class PosecheckError(Exception):
    """Base for every error caused by input (files, sources, models, options), not by a bug."""

    exit_code = 2


class SourceError(PosecheckError):
    """A frame source cannot be opened or read (missing, corrupt, empty, not a video, no camera)."""


class ModelError(PosecheckError):
    """A pose model bundle is missing, corrupt or cannot be loaded."""


class ProfileError(PosecheckError):
    """An unknown exercise or an invalid profile/routine definition."""


class OutputError(PosecheckError):
    """An output path cannot be written."""


class ResultsNotWritten(OutputError):
    """The analysis finished, but some of its files could not be written (a read-only file, a
    full disk). `report` holds the results, so a caller can still show or store them."""

    def __init__(self, message: str, report: object) -> None:
        super().__init__(message)
        self.report = report


class LabelsError(PosecheckError):
    """A labels file is missing or malformed."""


class EngineError(PosecheckError):
    """A batch engine cannot run: Ray not installed, or no Ray cluster at the given address."""
