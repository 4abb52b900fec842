"""Index -> passages: the top-k chunks for a query, optionally within a date range."""

from __future__ import annotations

import datetime as dt

from .errors import InputError
from .types import Passage


def check_query(query: str) -> str:
    query = query.strip()
    if not query:
        raise InputError("the query is empty")
    return query


def check_k(k: int) -> int:
    if k < 1:
        raise InputError(f"k must be at least 1 (got {k})")
    return k


def check_range(since: dt.date | None, until: dt.date | None) -> None:
    if since and until and since > until:
        raise InputError(f"--since {since} is after --until {until}")


def search(index, query: str, k: int = 5, since: dt.date | None = None, until: dt.date | None = None) -> list[Passage]:
    """The ``k`` passages of ``index`` most similar to ``query``, best first."""
    query = check_query(query)
    check_k(k)
    check_range(since, until)
    return index.vector_search(index.embedder.encode([query]), k, since, until)[0]
