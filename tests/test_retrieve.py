"""Dense, lexical and hybrid retrieval, dates and recency, against a reference ranking."""

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag import Index
from rag.candidates import blend
from rag.lexical import top_rows
from rag.retrieve import Mode, collapse_duplicates, recency_boost, retrieve
from rag.sentences import split_spans
from rag.types import Document, Passage
from rag.windows import WINDOW_WORDS


def test_top_rows_and_blend():
    assert list(top_rows(np.array([0.0, 3.0, 1.0, 2.0]), 2)) == [1, 3]
    assert list(top_rows(np.zeros(3), 2)) == []
    assert np.allclose(blend(np.array([0.5, 0.2]), np.array([2.0, 4.0]), 0.5), [0.5, 0.6])


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    size=st.sampled_from([50, 5_000, 200_000]),
    n=st.integers(1, 80),
    filtered=st.booleans(),
    zeros=st.floats(0.0, 0.99),
)
def test_top_rows_are_the_n_best_allowed_positive_rows(seed, size, n, filtered, zeros):
    """Against a plain sort; sizes over SAMPLE_FROM take the sampled floor."""
    rng = np.random.default_rng(seed)
    scores = np.where(rng.random(size) < zeros, 0.0, rng.exponential(2.0, size)).astype(np.float32)
    scores[rng.integers(0, size, size // 10)] = 1.5  # ties
    allowed = rng.random(size) < 0.7 if filtered else None
    rows = top_rows(scores, n, allowed)
    eligible = np.flatnonzero((scores > 0) & (allowed if filtered else True))
    expected = np.sort(scores[eligible])[::-1][:n]
    assert np.array_equal(scores[rows], expected)  # the same scores, best first (ties may swap rows)
    assert len(set(rows.tolist())) == len(rows) and (allowed is None or allowed[rows].all())


def _reference_collapse(ranked: list[Passage], k: int, threshold: float = 0.5) -> list[Passage]:
    """collapse_duplicates before its shortcut for word-for-word copies."""
    from dataclasses import replace

    from rag.retrieve import shingles

    kept, kept_shingles = [], []
    for p in ranked:
        sh = shingles(p.text)
        twin = next(
            (i for i, other in enumerate(kept_shingles) if len(sh & other) / len(sh | other) >= threshold), None
        )
        if twin is not None:
            if p.doc_id != kept[twin].doc_id and p.doc_id not in kept[twin].also_in:
                kept[twin] = replace(kept[twin], also_in=kept[twin].also_in + (p.doc_id,))
            continue
        if len(kept) == k:
            break
        kept.append(p)
        kept_shingles.append(sh)
    return kept


STORIES = [
    "The council approved the new budget on Tuesday after a long debate about schools and roads.",
    "The council approved the new budget on Tuesday after a long debate about schools and roads. Reporting by Ann Lee.",
    "A storm closed the airport for two days and stranded thousands of travellers.",
    "A storm closed the airport for two days.",
    "The museum reopened its east wing with a show of maps.",
]


@settings(max_examples=200, deadline=None)
@given(
    picks=st.lists(st.tuples(st.integers(0, len(STORIES) - 1), st.sampled_from("abcdef")), max_size=25),
    k=st.integers(1, 6),
)
def test_collapsing_copies_gives_what_comparing_shingles_gives(picks, k):
    ranked = [
        Passage(i, doc, "s", "", None, STORIES[story], 0, 1, 1.0 - i / 100) for i, (story, doc) in enumerate(picks)
    ]
    assert collapse_duplicates(ranked, k) == _reference_collapse(ranked, k)


def _passage(day: dt.date | None) -> Passage:
    return Passage(0, "d", "s", "", day, "t", 0, 1, 0.0)


def test_recency_boost_prefers_recent_articles_and_cued_questions():
    as_of = dt.date(2023, 1, 5)
    boost = recency_boost([_passage(as_of), _passage(dt.date(2022, 1, 5)), _passage(None)], "Who won?", as_of)
    assert boost[0] > boost[1] > boost[2] == 0.0
    cued = recency_boost([_passage(as_of)], "Who won this week?", as_of)
    assert cued[0] > boost[0]


@pytest.fixture(scope="module")
def index(built_index):
    with Index.open(built_index) as idx:
        yield idx


@pytest.mark.parametrize("mode", list(Mode))
def test_every_mode_finds_the_article_that_names_the_query(index, mode):
    hits = index.search("Shackleton crater Kourou", k=3, mode=mode)
    assert hits[0].doc_id == "tessera-lunar-landing"
    assert all(-1.0 <= h.similarity <= 1.0 for h in hits)


def test_as_of_leaves_out_articles_published_later(index):
    hits = index.search("harbour bridge", k=10, as_of=dt.date(2024, 3, 4))
    assert hits and all(h.date <= dt.date(2024, 3, 4) for h in hits)
    assert index.search("harbour bridge", as_of=dt.date(2000, 1, 1)) == []


def test_lexical_mode_returns_nothing_when_no_word_matches(index):
    assert index.search("zyzzyva", mode=Mode.LEXICAL) == []


def test_copies_of_a_story_collapse_into_the_best_ranked_one():
    story = "The council approved the new budget on Tuesday after a long debate about schools and roads."
    ranked = [
        Passage(1, "a", "s", "", None, story, 0, 1, 0.9),
        Passage(2, "b", "s", "", None, story + " Reporting by Ann Lee.", 0, 1, 0.8),
        Passage(3, "c", "s", "", None, "A storm closed the airport for two days.", 0, 1, 0.7),
    ]
    out = collapse_duplicates(ranked, 2)
    assert [p.doc_id for p in out] == ["a", "c"]
    assert out[0].also_in == ("b",)


def test_undated_articles_are_found_unless_a_date_is_asked_for(sample_index):
    from rag.types import Document

    with Index.open(sample_index) as index:
        index.add_documents(
            [Document("undated", "The lighthouse keeper Oskar Brandt retired after forty years.", None, "x")]
        )
        assert index.search("lighthouse keeper Oskar Brandt", k=1)[0].doc_id == "undated"
        dated = index.search("lighthouse keeper Oskar Brandt", k=10, as_of=dt.date(2030, 1, 1))
        assert "undated" not in {p.doc_id for p in dated}


def test_articles_dated_after_today_are_left_out_by_default(sample_index):
    from rag.types import Document

    with Index.open(sample_index) as index:
        index.add_documents(
            [
                Document(
                    "future",
                    "The lighthouse keeper Oskar Brandt will retire.",
                    dt.date.today() + dt.timedelta(days=30),
                    "x",
                )
            ]
        )
        assert "future" not in {p.doc_id for p in index.search("lighthouse keeper Oskar Brandt", k=10)}


@pytest.mark.parametrize("mode", list(Mode))
def test_a_date_range_asked_again_after_a_write_sees_the_write(sample_index, mode):
    """Date masks are kept between queries; a commit must not leave a stale one behind."""
    from rag.types import Document

    query, day = "lighthouse keeper Oskar Brandt retired", dt.date(2025, 6, 1)
    with Index.open(sample_index) as index:
        before = index.search(query, k=10, mode=mode, as_of=day, since=dt.date(2020, 1, 1))
        index.add_documents(
            [
                Document(
                    "keeper", "The lighthouse keeper Oskar Brandt retired after forty years.", dt.date(2025, 5, 30), "x"
                )
            ]
        )
        after = index.search(query, k=10, mode=mode, as_of=day, since=dt.date(2020, 1, 1))
        assert "keeper" not in {p.doc_id for p in before} and after[0].doc_id == "keeper"
        index.remove(["keeper"])
        assert "keeper" not in {
            p.doc_id for p in index.search(query, k=10, mode=mode, as_of=day, since=dt.date(2020, 1, 1))
        }


TOWNS = ["Arlen", "Brisk", "Corvale", "Dunmere", "Eskby", "Farrow", "Gildon", "Harth", "Istow", "Jorvik"]
LONG_ARTICLE = " ".join(
    f"The council of {town} voted on its {item} budget on day {n}. Residents of {town} said the vote on the {item} was close."
    for n, (town, item) in enumerate((t, i) for t in TOWNS for i in ("library", "harbour", "school", "tram"))
)


def test_search_shows_each_chunk_in_a_window_of_whole_sentences(tmp_path):
    with Index.open(tmp_path / "index", create=True) as idx:
        idx.add_documents([Document("long", LONG_ARTICLE, dt.date(2024, 1, 2), "long.txt")])
        query = "Gildon harbour budget vote"
        chunks = retrieve(idx.corpus, query, idx.embedder.encode_queries([query])[0], 5)
        hits = idx.search(query, k=5)
    assert len(chunks) > len(hits) > 1  # overlapping chunks fold into fewer, wider windows
    assert hits[0].chunk_id == chunks[0].chunk_id
    assert hits[0].start < chunks[0].start and chunks[0].end < hits[0].end
    sentence_edges = {a for a, _ in split_spans(LONG_ARTICLE)} | {b for _, b in split_spans(LONG_ARTICLE)}
    for h in hits:
        assert h.text == LONG_ARTICLE[h.start : h.end]
        assert h.start in sentence_edges and h.end in sentence_edges
        assert len(h.text.split()) <= WINDOW_WORDS
    placed = sorted((h.start, h.end) for h in hits)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(placed, placed[1:]))
