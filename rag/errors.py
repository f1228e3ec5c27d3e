"""The error hierarchy. Every message says what went wrong and how to fix it.

Only the CLI and the UI turn these into user-facing messages.
"""

from __future__ import annotations


class ChangeGuideError(Exception):
    """Base class for every error the engine raises on purpose."""


class ConfigError(ChangeGuideError):
    """A setting is missing or invalid."""


class IngestError(ChangeGuideError):
    """One file could not be ingested; the batch goes on without it.

    The message is a one-line reason fit to show next to the file name.
    """


class UnsupportedFormatError(IngestError):
    """The file's extension is not one we can read."""


class IndexError_(ChangeGuideError):
    """Base class for index problems (named with a trailing underscore to keep the builtin)."""


class FingerprintMismatchError(IndexError_):
    """The index was built with other embedding or chunking settings than the current ones."""


class IndexCorruptError(IndexError_):
    """The index on disk cannot be opened or is inconsistent beyond automatic repair."""


class VectorStoreError(IndexError_):
    """Chroma failed to answer a read (e.g. another process changed an embedded Chroma under it)."""


class VectorStoreUnavailableError(VectorStoreError):
    """The Chroma server the settings name cannot be reached."""


class LibraryChangedError(IndexError_):
    """Another process changed the library under a question twice running; asking again succeeds."""


class IndexNotFoundError(IndexError_):
    """There is no index in the folder, and the command does not create one."""


class DocumentNotFoundError(ChangeGuideError):
    """No document in the index has the given id or source path."""


class EmptyLibraryError(ChangeGuideError):
    """A question was asked of an index that holds no documents."""


class InvalidQuestionError(ChangeGuideError):
    """The question is empty or too long."""


class HistoryFileError(InvalidQuestionError):
    """A conversation file (`ask --history FILE`) is missing or not a list of earlier turns."""


class EvaluationError(ChangeGuideError):
    """An evaluation run cannot be read or compared."""


class QuestionSetError(EvaluationError):
    """An evaluation question set cannot be read; the message lists each bad line and field."""


class BackendUnavailableError(ChangeGuideError):
    """An optional generative backend is not installed, not configured, or not reachable."""


class MissingDependencyError(BackendUnavailableError):
    """An optional dependency is not installed; the message names the pip extra."""


class NotPermittedError(ChangeGuideError):
    """The person's role does not allow this (a reader asked to change the library or run evaluations)."""
