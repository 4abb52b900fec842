"""Finding dates in text and resolving relative ones against the article's date.

News writes "on Monday", "yesterday" or "two years ago" and means a day relative to
publication. Each mention is resolved to an ISO date of the granularity the words
carry (day, month or year). Weekday names are read tense-aware: "left on Monday"
looks back from the article's date, "will arrive on Tuesday" looks forward, and the
article's own weekday is the article's date either way.

Absolute expressions ("January 2019", "Sept. 1, 2025", "1 September 2025") are parsed
with ``dateutil`` once this module has found and delimited them.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import Enum

from dateutil import parser as du_parser
from dateutil.relativedelta import relativedelta

from .lexicon import MONTHS, SMALL_NUMBERS, WEEKDAYS


class Granularity(str, Enum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


@dataclass(frozen=True)
class DateMention:
    """A date expression found in text: where it is, and what it resolves to."""

    start: int
    end: int
    text: str
    value: dt.date
    granularity: Granularity
    relative: bool

    @property
    def iso(self) -> str:
        """ISO form at the mention's own precision: 2025-09-01, 2019-01 or 2019."""
        if self.granularity is Granularity.YEAR:
            return f"{self.value.year:04d}"
        if self.granularity is Granularity.MONTH:
            return f"{self.value.year:04d}-{self.value.month:02d}"
        return self.value.isoformat()


_MONTH_RE = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Jan\.?|Feb\.?|Mar\.?|Apr\.?|Jun\.?|Jul\.?|Aug\.?|Sept\.?|Sep\.?|Oct\.?|Nov\.?|Dec\.?)"
)
_WEEKDAY_RE = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_PART_OF_DAY = r"(?:\s+(?:morning|afternoon|evening|night))?"
_NUM_RE = r"(?:\d+|" + "|".join(SMALL_NUMBERS) + ")"
_UNIT_RE = r"(?:day|week|month|year|decade)s?"

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("iso", re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")),
    ("mdy", re.compile(rf"\b({_MONTH_RE})\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b")),
    ("dmy", re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH_RE})\s+(\d{{4}})\b")),
    ("my", re.compile(rf"\b({_MONTH_RE})\s+(?:of\s+)?(\d{{4}})\b")),
    ("md", re.compile(rf"\b({_MONTH_RE})\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?!\s*,?\s*\d)")),
    ("dm", re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH_RE})\b(?!\s*,?\s*\d)")),
    ("ago", re.compile(rf"\b({_NUM_RE})\s+({_UNIT_RE})\s+ago\b", re.IGNORECASE)),
    ("rel_unit", re.compile(r"\b(last|next|this|earlier this|later this)\s+(week|month|year)\b", re.IGNORECASE)),
    ("rel_day", re.compile(r"\b(today|yesterday|tomorrow|tonight)\b", re.IGNORECASE)),
    ("weekday", re.compile(rf"\b(?:(last|next|this|on)\s+)?({_WEEKDAY_RE})(?:'s|’s)?{_PART_OF_DAY}\b")),
    ("month", re.compile(rf"\b((?i:in|since|last|next|this|until|by))\s+({_MONTH_RE})(?![\w.])")),
    ("year", re.compile(r"(?<![\w$.,-])((?:19|20)\d{2})(?![\w%-]|[.,]\d)")),
]

_FUTURE = re.compile(
    r"\b(will|shall|'ll|’ll|would|expected to|set to|scheduled|due to|plans? to|planning to|going to|"
    r"to be held|upcoming|next)\b",
    re.IGNORECASE,
)
_CLAUSE_BREAK = re.compile(r"[,;:()]|\b(?:after|before|since|while|when|because|and|but|then)\b", re.IGNORECASE)


def _month(name: str) -> int:
    return MONTHS[name.lower().rstrip(".")]


def _is_future(text: str, start: int, end: int) -> bool:
    """Whether the clause holding text[start:end] speaks of the future."""
    head = text[max(0, start - 120) : start]
    breaks = list(_CLAUSE_BREAK.finditer(head))
    clause = head[breaks[-1].end() :] if breaks else head
    return bool(_FUTURE.search(clause))


def _shift_weekday(ref: dt.date, weekday: int, future: bool, strict: bool) -> dt.date:
    if future:
        days = (weekday - ref.weekday()) % 7
        if strict and days == 0:
            days = 7
        return ref + dt.timedelta(days=days)
    days = (ref.weekday() - weekday) % 7
    if strict and days == 0:
        days = 7
    return ref - dt.timedelta(days=days)


def _resolve(kind: str, m: re.Match[str], text: str, ref: dt.date | None) -> tuple[dt.date, Granularity, bool] | None:
    g = m.groups()
    try:
        if kind == "iso":
            return dt.date(int(g[0]), int(g[1]), int(g[2])), Granularity.DAY, False
        if kind in ("mdy", "dmy"):
            value = du_parser.parse(m.group(0).replace(".", ""), default=dt.datetime(2000, 1, 1)).date()
            return value, Granularity.DAY, False
        if kind == "my":
            return dt.date(int(g[1]), _month(g[0]), 1), Granularity.MONTH, False
        if kind == "year":
            return dt.date(int(g[0]), 1, 1), Granularity.YEAR, False
        if ref is None:
            return None
        future = _is_future(text, m.start(), m.end())
        if kind in ("md", "dm"):
            month, day = (_month(g[0]), int(g[1])) if kind == "md" else (_month(g[1]), int(g[0]))
            value = dt.date(ref.year, month, day)
            if future and value < ref - dt.timedelta(days=31):
                value = dt.date(ref.year + 1, month, day)
            elif not future and value > ref + dt.timedelta(days=31):
                value = dt.date(ref.year - 1, month, day)
            return value, Granularity.DAY, True
        if kind == "ago":
            n = int(g[0]) if g[0].isdigit() else SMALL_NUMBERS[g[0].lower()]
            unit = g[1].lower().rstrip("s")
            delta = {
                "day": relativedelta(days=n),
                "week": relativedelta(weeks=n),
                "month": relativedelta(months=n),
                "year": relativedelta(years=n),
                "decade": relativedelta(years=10 * n),
            }[unit]
            gran = {"day": Granularity.DAY, "week": Granularity.DAY, "month": Granularity.MONTH}.get(
                unit, Granularity.YEAR
            )
            return ref - delta, gran, True
        if kind == "rel_unit":
            which, unit = g[0].lower(), g[1].lower()
            step = {"last": -1, "next": 1}.get(which, 0)
            if unit == "week":
                monday = ref - dt.timedelta(days=ref.weekday())
                return monday + dt.timedelta(weeks=step), Granularity.WEEK, True
            if unit == "month":
                first = ref.replace(day=1) + relativedelta(months=step)
                return first, Granularity.MONTH, True
            return dt.date(ref.year + step, 1, 1), Granularity.YEAR, True
        if kind == "rel_day":
            offset = {"today": 0, "tonight": 0, "yesterday": -1, "tomorrow": 1}[g[0].lower()]
            return ref + dt.timedelta(days=offset), Granularity.DAY, True
        if kind == "weekday":
            qualifier = (g[0] or "").lower()
            weekday = WEEKDAYS[g[1].lower()]
            if qualifier == "last":
                return _shift_weekday(ref, weekday, future=False, strict=True), Granularity.DAY, True
            if qualifier == "next":
                return _shift_weekday(ref, weekday, future=True, strict=True), Granularity.DAY, True
            return _shift_weekday(ref, weekday, future=future, strict=False), Granularity.DAY, True
        if kind == "month":
            qualifier, month = g[0].lower(), _month(g[1])
            if qualifier == "last" or (qualifier != "next" and not future):
                year = ref.year if month <= ref.month else ref.year - 1
                if qualifier == "last" and month == ref.month:
                    year -= 1
            else:
                year = ref.year if month >= ref.month else ref.year + 1
                if qualifier == "next" and month == ref.month:
                    year += 1
            return dt.date(year, month, 1), Granularity.MONTH, True
    except (ValueError, OverflowError, KeyError, TypeError, du_parser.ParserError):
        return None
    return None


def find_dates(text: str, ref: dt.date | None) -> list[DateMention]:
    """All date mentions in ``text``, longest match first, non-overlapping, in text order.

    ``ref`` is the article's publication date; without it, relative expressions are
    left out rather than guessed.
    """
    taken: list[tuple[int, int]] = []
    found: list[DateMention] = []
    for kind, pattern in _PATTERNS:
        for m in pattern.finditer(text):
            s, e = m.span()
            if kind == "weekday" and m.group(1) and m.group(1).lower() == "on":
                s = m.start(2)
            if kind == "month":
                s = m.start(2)
            if any(s < b and a < e for a, b in taken):
                continue
            resolved = _resolve(kind, m, text, ref)
            if resolved is None:
                continue
            value, gran, relative = resolved
            taken.append((s, e))
            found.append(DateMention(s, e, text[s:e], value, gran, relative))
    found.sort(key=lambda d: d.start)
    return found
