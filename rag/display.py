"""How results read on a terminal: excerpts cut at word boundaries, lines as wide as the
terminal, and passages that hardly matter kept to one dim line. ``--json`` output never
goes through here: it carries every passage whole."""

from __future__ import annotations

import shutil
import textwrap

import typer

from .types import Passage, SummarySentence

EXCERPT_CHARS = 400  # of each passage printed; --json gives it whole
MAX_WIDTH = 100  # wider lines are hard to read, whatever the terminal
MIN_WIDTH = 40
INDENT = "    "
# A passage scored under this share of the best one is listed by its heading alone: the
# ranker's score is a probability of holding the answer, and at a tenth of the best the
# passage is there to fill k, not to be read.
LOW_SCORE_SHARE = 0.1
LOW_MARK = "  (low score)"


def width() -> int:
    """Columns to wrap text to: the terminal's (80 when it is not one), within limits."""
    return max(MIN_WIDTH, min(shutil.get_terminal_size((80, 24)).columns, MAX_WIDTH))


def excerpt(p: Passage, size: int = EXCERPT_CHARS) -> str:
    """At most about ``size`` characters of a passage, from the start of the text that
    matched (a window's first sentences are only its context), cut between words, with
    "…" where it is cut."""
    text = p.text
    if len(text) <= size:
        return " ".join(text.split())
    start = min(max(0, p.match_span[0] - p.start), len(text) - size)
    if start > 0 and not text[start - 1].isspace():  # never start inside a word...
        nxt = text.find(" ", start, start + size)
        start = nxt + 1 if nxt >= 0 else start  # (unless the window is one word)
    end = min(len(text), start + size)
    if end < len(text) and not text[end].isspace():  # ...nor end inside one
        prev = text.rfind(" ", start, end)
        end = prev if prev > start else end
    cut = " ".join(text[start:end].split())
    return ("…" if start > 0 else "") + cut + ("…" if end < len(text) else "")


def is_low(p: Passage, best: float) -> bool:
    return best > 0 and p.score < LOW_SCORE_SHARE * best


def _fit(line: str, columns: int) -> str:
    return line if len(line) <= columns else line[: columns - 1] + "…"


def print_passages(passages: list[Passage]) -> None:
    """Numbered passages, best first: a heading and a wrapped excerpt each; those that
    hardly matter (:data:`LOW_SCORE_SHARE`) as a dim heading without text."""
    best = max((p.score for p in passages), default=0.0)
    wrap = width() - len(INDENT)
    for n, p in enumerate(passages, 1):
        date = p.date.isoformat() if p.date else "undated"
        heading = f"{n:>2}. [{p.score:.3f}] {p.doc_id} ({date}) {p.source}"
        if is_low(p, best):
            typer.secho(_fit(heading, width() - len(LOW_MARK)) + LOW_MARK, dim=True)
            continue
        typer.echo(_fit(heading, width()))
        typer.echo(
            textwrap.indent(textwrap.fill(excerpt(p), wrap, break_long_words=False, break_on_hyphens=False), INDENT)
        )


def print_summary(sentences: list[SummarySentence], timeline: bool = False) -> None:
    """A summary's sentences as a wrapped list, each with its article, date and the other
    articles that report it; with ``timeline``, under a heading for each day reported."""
    heading: object = None
    indent = "  " if timeline else ""
    for s in sentences:
        if timeline and s.event_date != heading:
            heading = s.event_date
            typer.echo(s.event_date.isoformat() if s.event_date else "undated")
        date = s.date.isoformat() if s.date else "undated"
        also = f"; also in {', '.join(s.also_in)}" if s.also_in else ""
        line = f"- {s.text} [{s.doc_id}, {date}{also}]"
        typer.echo(
            textwrap.fill(
                line,
                width(),
                initial_indent=indent,
                subsequent_indent=indent + "  ",
                break_long_words=False,
                break_on_hyphens=False,
            )
        )
