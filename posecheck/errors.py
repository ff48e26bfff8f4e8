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


class LabelsError(PosecheckError):
    """A labels file is missing or malformed."""


class EngineError(PosecheckError):
    """A batch engine cannot run: Ray not installed, or no Ray cluster at the given address."""
