"""The HTTP API's request and response bodies: what FastAPI validates and what the
OpenAPI document at ``/openapi.json`` publishes. The shapes are the CLI's ``--json``
output; the limits are :mod:`rag.query`'s, the same on every face."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from .errors import InputError
from .load import parse_date
from .query import DEFAULT_MODE, MAX_K, MAX_QUERY_CHARS, Mode
from .types import IndexInfo

MAX_ARTICLES = 1000  # per POST /articles: a bigger batch is better sent in parts, each acknowledged


def _iso_day(value: object) -> object:
    """Dates are strict ISO strings, as on the command line: no timestamps, no guessing."""
    if value is None or isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        raise ValueError("expected a date string YYYY-MM-DD")
    try:
        return parse_date(value, "date")
    except InputError as exc:
        raise ValueError(str(exc).removeprefix("date: ")) from None


def _not_bool(value: object) -> object:
    """JSON's true is not the integer 1 here, as JSON Schema says."""
    if isinstance(value, bool):
        raise ValueError("expected an integer, not a boolean")
    return value


Day = Annotated[
    dt.date | None, BeforeValidator(_iso_day), Field(default=None, description="YYYY-MM-DD", examples=["2023-01-05"])
]
# At least one character that is not white space, by Python's reckoning and JSON Schema's
# alike: a request the schema accepts is never refused as empty.
SOME_TEXT = r"[^\s\x1c-\x1f\x85]"
QueryText = Annotated[str, Field(min_length=1, max_length=MAX_QUERY_CHARS, pattern=SOME_TEXT)]
K = Annotated[int, Field(ge=1, le=MAX_K, description="Passages to return."), BeforeValidator(_not_bool)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Filtered(_In):
    """What every query takes besides its text: the CLI's --since, --until, --as-of, --mode."""

    since: Day = None
    until: Day = None
    as_of: Day = None
    mode: Mode = DEFAULT_MODE


class AskIn(_Filtered):
    question: QueryText
    k: K = 5


class SearchIn(_Filtered):
    query: QueryText
    k: K = 5


class SummarizeIn(_Filtered):
    query: QueryText
    max_sentences: Annotated[int, Field(ge=1, le=MAX_K), BeforeValidator(_not_bool)] = 5
    timeline: Annotated[
        bool, Field(strict=True, description="order the sentences by the day of what they report, grouped")
    ] = False


class ArticleIn(_In):
    id: Annotated[str, Field(min_length=1, max_length=500)]
    text: Annotated[str, Field(min_length=1, pattern=SOME_TEXT)]
    date: Day = None
    source: Annotated[str | None, Field(max_length=2000)] = None
    title: Annotated[str | None, Field(max_length=2000)] = None


class ArticlesIn(_In):
    articles: Annotated[list[ArticleIn], Field(min_length=1, max_length=MAX_ARTICLES)]


class PassageOut(BaseModel):
    doc_id: str
    source: str
    date: str | None
    text: str
    score: float
    similarity: float
    also_in: list[str]
    start: int
    end: int
    match_start: int
    match_end: int


class AskOut(BaseModel):
    question: str
    answer: str | None
    date: str | None
    confidence: float
    passages: list[PassageOut]


class SearchOut(BaseModel):
    query: str
    passages: list[PassageOut]


class SentenceOut(BaseModel):
    text: str
    doc_id: str
    date: str | None
    event_date: str | None = Field(
        description="the day of what the sentence reports (its first date mention), else its article's"
    )
    also_in: list[str] = Field(description="other articles that report the same")


class TimelineDayOut(BaseModel):
    date: str | None
    sentences: list[SentenceOut]


class SummaryOut(BaseModel):
    query: str
    sentences: list[SentenceOut]
    timeline: list[TimelineDayOut] | None = Field(
        None, description="with timeline: the sentences grouped by event_date"
    )


class IngestOut(BaseModel):
    added: int
    replaced: int
    skipped: int
    chunks: int
    warnings: list[str]
    index: IndexInfo


class RemoveOut(BaseModel):
    removed: list[str]
    index: IndexInfo


class ArticleOut(BaseModel):
    id: str
    source: str
    title: str
    date: str | None
    text: str


class HealthOut(BaseModel):
    status: str
    worker: int = Field(description="Process id of the worker that answered (a server may run several)")


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorOut(BaseModel):
    error: ErrorBody
