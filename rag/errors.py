"""Errors that users see as a one-line message.

Every failure caused by the user's input or by the state of an index on disk is a
``RagError``; the CLI prints its message and exits non-zero instead of a traceback.
"""

from __future__ import annotations


class RagError(Exception):
    """Base class: a problem the user can fix, reported in one line."""


class InputError(RagError):
    """A file, article, question or option that cannot be used as given."""


class InputErrors(InputError):
    """Several unusable inputs found in one pass (a folder with more than one bad file),
    so that one run reports them all; ``problems`` holds one line for each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            problems[0] if len(problems) == 1 else f"{len(problems)} inputs cannot be used: " + "; ".join(problems)
        )


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


def error_code(exc: RagError) -> tuple[str, int]:
    """The machine-readable code of an error and its HTTP status, the same for the CLI's
    ``--json`` errors and the HTTP API's."""
    if isinstance(exc, NotFoundError):
        return "not_found", 404
    if isinstance(exc, InputError):
        return "bad_input", 400
    if isinstance(exc, IndexBusyError):
        return "busy", 409
    if isinstance(exc, IndexError_):
        return "index_unavailable", 503
    return "bad_request", 400
