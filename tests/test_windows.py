from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from rag.sentences import split_spans
from rag.types import Passage
from rag.windows import sentence_window, windows

ARTICLE = (
    "The bridge opened on Monday. "
    "Crowds walked across it at dawn. "
    "The mayor cut a ribbon. "
    "Traffic began at noon. "
    "Engineers had worked for six years."
)
SPANS = split_spans(ARTICLE)


def _chunk(first: int, last: int, doc: str = "d", cid: int = 0, score: float = 1.0) -> Passage:
    """A passage of sentences ``first`` to ``last`` of ARTICLE, as retrieval gives it."""
    start, end = SPANS[first][0], SPANS[last][1]
    return Passage(cid, doc, "s", "", None, ARTICLE[start:end], start, end, score)


def _words(a: int, b: int) -> int:
    return len(ARTICLE[a:b].split())


def test_a_window_adds_whole_sentences_before_and_after_up_to_the_word_budget():
    middle = SPANS[2]
    assert sentence_window(ARTICLE, *middle, words=5) == middle  # "The mayor cut a ribbon." is 5 words already
    start, end = sentence_window(ARTICLE, *middle, words=15)
    assert (start, end) == (SPANS[1][0], SPANS[3][1])  # one sentence each side: 6 + 5 + 4 words
    assert _words(start, end) <= 15


def test_a_window_keeps_growing_on_one_side_when_the_other_is_exhausted():
    first = SPANS[0]
    start, end = sentence_window(ARTICLE, *first, words=18)
    assert (start, end) == (0, SPANS[2][1])


def test_a_window_stays_inside_its_bounds():
    start, end = sentence_window(ARTICLE, *SPANS[2], words=100, lo=SPANS[1][0], hi=SPANS[3][1])
    assert (start, end) == (SPANS[1][0], SPANS[3][1])


def test_a_window_remembers_the_chunk_that_matched():
    chunk = _chunk(2, 2)
    (window,) = windows([chunk], {"d": ARTICLE}, k=1, words=15)
    assert (window.start, window.end) == (SPANS[1][0], SPANS[3][1])
    assert window.match_span == (chunk.start, chunk.end)
    assert chunk.match_span == (chunk.start, chunk.end)


def test_a_chunk_already_shown_in_a_better_window_adds_no_passage_but_its_copies():
    best = _chunk(1, 2, cid=1, score=0.9)
    inside = replace(_chunk(2, 2, cid=2, score=0.8), also_in=("wire-copy",))
    other = _chunk(0, 0, doc="e", cid=3, score=0.7)
    out = windows([best, inside, other], {"d": ARTICLE, "e": ARTICLE}, k=3, words=12)
    assert [p.chunk_id for p in out] == [1, 3]
    assert out[0].also_in == ("wire-copy",)


def test_a_passage_whose_article_text_is_unknown_is_kept_as_it_is():
    p = _chunk(2, 2)
    assert windows([p], {}, k=1) == [p]


def test_windows_are_cut_at_k():
    ranked = [_chunk(i, i, doc=f"d{i}", cid=i) for i in range(5)]
    assert len(windows(ranked, {f"d{i}": ARTICLE for i in range(5)}, k=2, words=6)) == 2


@settings(max_examples=200, deadline=None)
@given(
    picks=st.lists(st.tuples(st.integers(0, len(SPANS) - 1), st.integers(0, 2)), min_size=1, max_size=8),
    budget=st.integers(1, 40),
    k=st.integers(1, 6),
)
def test_windows_of_one_article_never_overlap_and_hold_whole_text(picks, budget, k):
    ranked = [_chunk(first, min(first + extra, len(SPANS) - 1), cid=i) for i, (first, extra) in enumerate(picks)]
    out = windows(ranked, {"d": ARTICLE}, k, words=budget)
    assert 1 <= len(out) <= k
    placed = sorted((p.start, p.end) for p in out)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(placed, placed[1:]))
    for p in out:
        assert p.text == ARTICLE[p.start : p.end]
        chunk = next(c for c in ranked if c.chunk_id == p.chunk_id)
        grown = len(p.text.split()) - len(ARTICLE[max(chunk.start, p.start) : min(chunk.end, p.end)].split())
        assert grown == 0 or len(p.text.split()) <= budget  # sentences are added only within the budget


@settings(max_examples=200, deadline=None)
@given(
    picks=st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, len(SPANS) - 1), st.integers(0, 2), st.booleans()),
        min_size=1,
        max_size=10,
    ),
    owners=st.lists(st.integers(0, 2), min_size=4, max_size=4),
    budget=st.integers(1, 40),
    k=st.integers(1, 6),
)
def test_windows_placed_by_the_shards_holding_each_article_equal_one_index_windows(picks, owners, budget, k):
    from rag.windows import placements, shown

    ranked = [
        replace(
            _chunk(first, min(first + extra, len(SPANS) - 1), doc=f"d{doc}", cid=i),
            also_in=(f"copy{i}",) if copied else (),
        )
        for i, (doc, first, extra, copied) in enumerate(picks)
    ]
    texts = {f"d{d}": ARTICLE for d in range(4)}
    placed: dict = {}
    for shard in range(3):  # each shard holds the texts of the articles it owns
        placed.update(placements(ranked, {d: t for d, t in texts.items() if owners[int(d[1:])] == shard}, budget))
    assert shown(ranked, placed, k) == windows(ranked, texts, k, words=budget)
