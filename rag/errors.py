"""Errors that users see as a one-line message.

Every failure caused by the user's input or by the state of an index on disk is a
``RagError``; the CLI prints its message and exits non-zero instead of a traceback.
"""

from __future__ import annotations


class RagError(Exception):
    """Base class: a problem the user can fix, reported in one line."""


class InputError(RagError):
    """A file, article, question or option that cannot be used as given."""


class IndexError_(RagError):
    """An index directory that is missing, damaged or incompatible."""


class ModelMismatchError(IndexError_):
    """The index was built with another embedding model; vectors must not be mixed."""


class NotFoundError(InputError):
    """An article id or source that the index does not hold."""


class IndexBusyError(RagError):
    """Another writer holds the index; this write was refused before it changed anything."""


def first_line(exc: BaseException) -> str:
    """The first line of a library's error message (its type when it has none), for
    wrapping the many exception types of torch, transformers and ONNX Runtime in one line."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
