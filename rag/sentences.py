"""Sentence splitting with character offsets.

A small rule-based splitter: a sentence ends at ``.``, ``!`` or ``?`` (with any closing
quotes or brackets) followed by white space and an upper-case letter, digit or opening
quote, or at a blank line. It does not end after a known abbreviation ("Mr.", "Jan."),
a single initial ("John F. Kennedy") or a dotted acronym ("U.S.") unless the next word
is a typical sentence opener. Offsets let chunks and answers cite the exact source text.
"""

from __future__ import annotations

import re

from .lexicon import ABBREVIATIONS, SENTENCE_OPENERS

_BOUNDARY = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9])|\n[ \t]*\n")
_NEXT_WORD = re.compile(r"\s+[\"'“‘(\[]?([\w'’-]+)")


def _word_before(text: str, end: int) -> str:
    """The run of word characters, dots, apostrophes and hyphens ending at ``end``: a scan
    back from the period, where an end-anchored regex search would rescan the text from 0."""
    start = end
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_.'’-"):
        start -= 1
    return text[start:end]


def _is_false_boundary(text: str, dot: int, after: int) -> bool:
    """Whether the period at ``dot`` ends an abbreviation, initial or acronym, not a sentence."""
    word = _word_before(text, dot)
    if not word:
        return False
    lower = word.lower().rstrip(".")
    nxt = _NEXT_WORD.match(text, after)
    next_word = nxt.group(1).lower() if nxt else ""
    if len(word) == 1 and word.isupper():
        return True  # an initial: "John F. Kennedy"
    if lower in ABBREVIATIONS or "." in word:
        # "U.S. The" and "Jan. He" are real ends; "U.S. President" and "Jan. 5" are not.
        return next_word not in SENTENCE_OPENERS
    return False


def split_spans(text: str) -> list[tuple[int, int]]:
    """Return ``(start, end)`` offsets of the sentences of ``text``, white space trimmed."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        if m.group(0)[0] in ".!?":
            if m.group(0)[0] == "." and _is_false_boundary(text, m.start(), m.end()):
                continue
            end = m.end()
        else:
            end = m.start()
        _append(text, start, end, spans)
        start = m.end()
    _append(text, start, len(text), spans)
    return spans


def _append(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


def split(text: str) -> list[str]:
    """The sentences of ``text`` as strings."""
    return [text[a:b] for a, b in split_spans(text)]
