"""Sentences a summary cannot use on their own: page boilerplate, and sentences that lean
on the one before them.

News pages carry text that is not news (editor's notes, calls to follow or subscribe,
credits, the headlines of other stories run into the text: "Who is the next
speaker?:Kevin McCarthy was once..."). And a sentence that opens with a personal
pronoun or a connective ("He said", "Before that", "However") means something only
after the sentence it followed, which a summary of several articles rarely shows.
And a line that does not end as a sentence ends (a headline, a caption, a label: "2023
Oscars winners: See who took home gold tonight") is a fragment, not a statement. All are
detected by their form alone, so the summariser can avoid them and eval/ can count them
in any summary.
"""

from __future__ import annotations

import re

from .lexicon import AUXILIARIES, CONNECTIVES, DEMONSTRATIVES, FIRST_PERSON, FURNITURE, NAVIGATION_LABELS, PRONOUNS

_FURNITURE_RE = re.compile(r"\b(?:" + "|".join(FURNITURE) + r")\b", re.IGNORECASE)
# A linked headline run into the text: a colon with no space after it, between a word
# (or a question mark or quote) and a capital: "speaker?:Kevin", "vulnerability':Lawmakers".
_HEADLINE_GLUE = re.compile(r"[\w?!'\"”’)]:[A-Z“\"'‘]")
# A label before a colon that introduces a link, a list or a live feed ("The latest:",
# "Related:", "What we know:"): navigation, not a statement. Up to four words.
_LABEL_LEAD = re.compile(r"^(?:[A-Z][\w'’]*(?: [\w'’]+){0,3}):\s")

_CONNECTIVE_RE = re.compile(
    r"^(?:" + "|".join(re.escape(c) for c in sorted(CONNECTIVES, key=len, reverse=True)) + r")\b[,\s]", re.IGNORECASE
)
# A statement ends with a full stop, "!" or "?", perhaps inside closing quotes or brackets.
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*$")
_FIRST_WORD = re.compile(r"[“\"'‘(]*([A-Za-z]+)")
_NEXT_WORD = re.compile(r"\s+([A-Za-z]+)")


def is_boilerplate(text: str) -> bool:
    """Whether ``text`` is page furniture rather than reporting (see the module's docstring)."""
    s = text.strip()
    if _FURNITURE_RE.search(s) or _HEADLINE_GLUE.search(s):
        return True
    m = _LABEL_LEAD.match(s)
    return m is not None and m.group(0)[:-2].strip().lower() in NAVIGATION_LABELS


def is_fragment(text: str) -> bool:
    """Whether ``text`` lacks a sentence's closing punctuation: headlines, captions and
    labels run into an article's text, which state no fact on their own."""
    return not _SENTENCE_END.search(text.strip())


def _first_person(s: str, m: re.Match[str]) -> bool:
    """Whether ``s`` opens, outside quotation marks, with a first-person pronoun written
    as one: "I", "We", "My" (not "US", the country, nor the "I" of "I-95")."""
    word = m.group(1)
    if m.start(1) != 0 or word.lower() not in FIRST_PERSON or (word.isupper() and word != "I"):
        return False
    return s[m.end(1) : m.end(1) + 1] in ("", " ", "'", "’")


def needs_context(text: str) -> bool:
    """Whether ``text`` opens with a word that points back at a sentence before it
    ("He said ...", "Before that, ...", "However, ...", "That does not include ...":
    a demonstrative that is the subject, not "This week ..."; "Had that been the case
    ...": one after an inverted auxiliary), or is a quoted speaker's, unquoted ("I
    probably would have ...": the quotation opened before)."""
    s = text.strip()
    m = _FIRST_WORD.match(s)
    if not m:
        return False
    first = m.group(1).lower()
    if first in PRONOUNS or _first_person(s, m):
        return True
    after = _NEXT_WORD.match(s, m.end(1))
    second = after.group(1).lower() if after is not None else ""
    if first in DEMONSTRATIVES:
        return second in AUXILIARIES
    if first in AUXILIARIES and (second in PRONOUNS or second in DEMONSTRATIVES):
        return True
    return bool(_CONNECTIVE_RE.match(s[m.start(1) :] + " "))
