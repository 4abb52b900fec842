"""One query as every face takes it, validated once where it comes in.

The CLI, the HTTP API and the Python API build a :class:`Query` from what the user gave
and pass it down whole: retrieval, answering and summarising read its fields and never
check them again. The limits below are the same on every face; messages name the
query's fields (``since``, ``k``), which are also the HTTP fields and the CLI's flags
without their dashes.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import Enum

from .errors import InputError

# MiniLM reads at most 256 word-pieces (the model card's max_seq_length); 1,000
# characters of English news are about 220 of them, so a longer question would be cut
# unread rather than answered.
MAX_QUERY_CHARS = 1000
MAX_K = 100  # passages (ask, search) or sentences (summarize): past this a result is a dump, not an answer
DEFAULT_K = 5


class Mode(str, Enum):
    DENSE = "dense"
    LEXICAL = "lexical"
    HYBRID = "hybrid"


DEFAULT_MODE = Mode.HYBRID


@dataclass(frozen=True)
class Query:
    """What to look for, how much of it, and in which days.

    ``k`` is the number of passages shown (ask, search) or of sentences (summarize).
    ``since``/``until`` keep only articles dated in that range (inclusive). ``as_of``
    is the day the question is asked (default today): later articles are left out and
    recent ones preferred. Construction raises :class:`InputError` for an empty or
    over-long text, ``k`` outside 1..MAX_K, or ``since`` after ``until``."""

    text: str
    k: int = DEFAULT_K
    since: dt.date | None = None
    until: dt.date | None = None
    mode: Mode = DEFAULT_MODE
    as_of: dt.date | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.text, str):
            raise InputError(f"the query must be text (got {type(self.text).__name__})")
        text = self.text.strip()
        if not text:
            raise InputError("the query is empty")
        if not re.search(r"\w", text):  # "?": nothing to search for, and no question to analyse
            raise InputError("the query has no words")
        if len(text) > MAX_QUERY_CHARS:
            raise InputError(f"the query is {len(text):,} characters long; at most {MAX_QUERY_CHARS:,} are read")
        object.__setattr__(self, "text", text)
        if isinstance(self.k, bool) or not isinstance(self.k, int):
            raise InputError(f"k must be a whole number (got {self.k!r})")
        if self.k < 1:
            raise InputError(f"k must be at least 1 (got {self.k})")
        if self.k > MAX_K:
            raise InputError(f"k must be at most {MAX_K} (got {self.k})")
        for name in ("since", "until", "as_of"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, dt.date) or isinstance(value, dt.datetime)):
                raise InputError(f"{name} must be a date (got {value!r})")
        check_range(self.since, self.until)
        try:
            object.__setattr__(self, "mode", Mode(self.mode))
        except ValueError:
            raise InputError(f"mode must be one of {', '.join(m.value for m in Mode)} (got {self.mode!r})") from None


def check_range(since: dt.date | None, until: dt.date | None) -> None:
    """A date range must not end before it starts (a query's, or a listing's)."""
    if since and until and since > until:
        raise InputError(f"since ({since}) is after until ({until})")


def as_query(
    query: Query | str,
    k: int = DEFAULT_K,
    since: dt.date | None = None,
    until: dt.date | None = None,
    mode: Mode = DEFAULT_MODE,
    as_of: dt.date | None = None,
) -> Query:
    """``query`` itself when it is a Query (the other arguments must then be left at
    their defaults), else a Query of that text and those fields."""
    if not isinstance(query, Query):
        return Query(query, k, since, until, mode, as_of)
    if (k, since, until, mode, as_of) != (DEFAULT_K, None, None, DEFAULT_MODE, None):
        raise InputError("pass either a Query or the query's fields, not both")
    return query
