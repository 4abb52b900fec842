"""rag: dated, cited answers and summaries over a collection of news articles.

>>> from rag import Index
>>> with Index.open("indexes/demo", create=True) as index:
...     index.add(["samples/"])
...     print(index.ask("When did the bridge open?").display)
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("rag")
except PackageNotFoundError:  # run from a source tree that was not installed
    __version__ = "0+unknown"

from .errors import IndexError_, InputError, ModelMismatchError, RagError
from .index import Index
from .query import Mode, Query
from .types import (
    Answer,
    Document,
    IndexInfo,
    IngestReport,
    Passage,
    Summary,
    SummarySentence,
)

__all__ = [
    "Answer",
    "Document",
    "Index",
    "IndexError_",
    "IndexInfo",
    "IngestReport",
    "InputError",
    "ModelMismatchError",
    "Mode",
    "Passage",
    "Query",
    "RagError",
    "Summary",
    "SummarySentence",
]
