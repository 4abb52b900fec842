"""Passages -> windows: each retrieved chunk shown with the whole sentences around it.

Chunks are sized for the embedding model (at most 160 word-pieces, about 110 words), so
that each vector says one thing. The passage a reader is shown (a search result, an
answer's citations) is wider: the chunk and the sentences before and after it, taken
alternately, up to ``WINDOW_WORDS`` words (the 200-word windows of common frameworks).
The name a question asks for is often one sentence away from the words it matches
("... blocked McCarthy" / "the California representative"). The answer extractor still
reads the chunks: its sentence scores lean on the chunk's similarity to the question,
which the added sentences do not share (eval/README.md, "Passage windows").

Windows of one article never overlap: a chunk whose middle is already shown in a
better-ranked window of its article adds nothing, and a new window grows only into
text not yet shown. Overlapping chunks (they share ``overlap_tokens``) would otherwise
show the same sentences twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from .sentences import split_spans
from .types import Passage

WINDOW_WORDS = 200
_SLICE_CHARS = 1000  # text split either side of a chunk: a window adds at most ~100 words (~650 characters) a side


def _sentences_near(text: str, a: int, b: int, whole_start: bool, whole_end: bool) -> list[tuple[int, int, int]]:
    """``(start, end, words)`` of the sentences of ``text[a:b]``.

    Only a slice is split, not the whole article (some are 60,000 characters). A slice
    cut at an arbitrary place may cut its first or last sentence: those are dropped
    unless the slice starts (``whole_start``) or ends (``whole_end``) at a boundary.
    """
    spans = [(s + a, e + a) for s, e in split_spans(text[a:b])]
    if not whole_start and spans:
        spans = spans[1:]
    if not whole_end and spans:
        spans = spans[:-1]
    return [(s, e, len(text[s:e].split())) for s, e in spans]


def sentence_window(text: str, start: int, end: int, words: int, lo: int = 0, hi: int | None = None) -> tuple[int, int]:
    """The span of ``text`` made of ``[start, end)`` and the whole sentences around it,
    taken alternately before and after, up to ``words`` words, within ``[lo, hi)``
    (sentence boundaries: the edges of other windows, or the text's ends)."""
    hi = len(text) if hi is None else hi
    start, end = max(start, lo), min(end, hi)
    if end <= start:
        return start, end
    a, b = max(lo, start - _SLICE_CHARS), min(hi, end + _SLICE_CHARS)
    before = [s for s in _sentences_near(text, a, start, a == lo, True) if s[1] <= start]
    after = [s for s in _sentences_near(text, end, b, True, b == hi) if s[0] >= end]
    total = len(text[start:end].split())
    grew = True
    while grew:
        grew = False
        if before and total + before[-1][2] <= words:
            start, total = before[-1][0], total + before[-1][2]
            before.pop()
            grew = True
        if after and total + after[0][2] <= words:
            end, total = after[0][1], total + after[0][2]
            after.pop(0)
            grew = True
    return start, end


@dataclass(frozen=True)
class Placed:
    """What the windows make of one ranked passage: it is shown as ``shown`` (its window,
    or itself where its article's text does not hold it), or it lies inside the window of
    ranked passage ``into`` and only adds its ``also_in`` there."""

    shown: Passage | None = None
    into: int = -1
    also_in: tuple[str, ...] = ()


def placements(ranked: Sequence[Passage], texts: Mapping[str, str], words: int = WINDOW_WORDS) -> dict[int, Placed]:
    """Where each of ``ranked`` goes (by its rank), for the passages whose article text
    ``texts`` holds. How a passage is placed depends only on the better-ranked passages
    of its own article, so the shards of an index, each holding whole articles, place
    their own passages and :func:`shown` merges them as one index would."""
    out: dict[int, Placed] = {}
    by_doc: dict[str, list[tuple[int, int, int]]] = {}  # an article's shown spans and the rank that made each
    for rank, p in enumerate(ranked):
        text = texts.get(p.doc_id)
        if text is None:
            continue
        spans = by_doc.setdefault(p.doc_id, [])
        if text[p.start : p.end] != p.text:
            place = None
        else:
            mid = (p.start + p.end) // 2
            inside = next((i for a, b, i in spans if a <= mid < b), None)
            if inside is not None:
                out[rank] = Placed(into=inside, also_in=p.also_in)
                continue
            lo = max((b for a, b, _ in spans if b <= mid), default=0)
            hi = min((a for a, b, _ in spans if a > mid), default=len(text))
            place = sentence_window(text, p.start, p.end, words, lo, hi)
        if place is not None and place != (p.start, p.end):
            a, b = place
            p = replace(
                p, text=text[a:b], start=a, end=b, entities=(), matched=(max(p.start, a), min(p.end, b))
            )  # the caller looks entities up anew
        spans.append((p.start, p.end, rank))
        out[rank] = Placed(shown=p)
    return out


def shown(ranked: Sequence[Passage], placed: Mapping[int, Placed], k: int) -> list[Passage]:
    """The first ``k`` windows of ``ranked`` passages (best first) as ``placed`` puts them;
    a passage not placed (its article's text missing) is shown as it is."""
    kept: list[Passage] = []
    at: dict[int, int] = {}  # rank -> its window's place in kept
    for rank, p in enumerate(ranked):
        if len(kept) == k:
            break
        place = placed.get(rank, Placed(shown=p))
        if place.shown is None:
            i = at[place.into]
            w = kept[i]
            added = tuple(d for d in place.also_in if d not in w.also_in and d != w.doc_id)
            if added:
                kept[i] = replace(w, also_in=w.also_in + added)
            continue
        at[rank] = len(kept)
        kept.append(place.shown)
    return kept


def windows(ranked: Iterable[Passage], texts: Mapping[str, str], k: int, words: int = WINDOW_WORDS) -> list[Passage]:
    """The first ``k`` windows of ``ranked`` passages (best first), ``texts`` holding
    their articles' texts. A passage whose article text is missing is kept as it is."""
    ranked = list(ranked)
    return shown(ranked, placements(ranked, texts, words), k)
