"""The segmented BM25 index against bm25s, the reference, rebuilt from the live chunks."""

from collections import Counter

import bm25s
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag import lexical
from rag.errors import IndexError_
from rag.lexical import build, read, tokenize, update, write

WORDS = "cat dog bird fish mat sky tree house car road river hamlin bills title".split()
QUERIES = ["cat", "dog fish", "river river tree", "Hamlin Bills", "title 42 zebra", "zebra"]


def reference_scores(texts: dict[int, str], query: str) -> dict[int, float]:
    """bm25s (Lucene BM25, k1 1.5, b 0.75) over ``texts``, rebuilt from scratch."""
    ids = sorted(texts)
    retriever = bm25s.BM25()
    retriever.index([tokenize(texts[i]) for i in ids], show_progress=False)
    tokens = [t for t in tokenize(query) if t in retriever.vocab_dict]
    scores = retriever.get_scores(tokens) if tokens else np.zeros(len(ids))
    return dict(zip(ids, map(float, scores)))


def assert_scores_match(index: lexical.LexicalIndex, texts: dict[int, str]) -> None:
    assert index.live == len(texts)
    df = Counter(term for t in texts.values() for term in set(tokenize(t)))
    whole = index.vocabulary()  # every term's figures at once, as a reader of remote shards keeps them
    assert (whole.live, whole.length, whole.df) == (index.live, index.length, dict(df))
    for query in QUERIES:
        got = index.scores(query)
        expected = reference_scores(texts, query)
        by_id = dict(zip(index.chunk_ids.tolist(), got.tolist()))
        assert set(expected) <= set(by_id)
        for chunk_id, score in by_id.items():
            assert score == pytest.approx(expected.get(chunk_id, 0.0), rel=1e-5, abs=1e-6), (query, chunk_id)


def text_strategy():
    return st.lists(st.sampled_from(WORDS), min_size=1, max_size=12).map(" ".join)


def test_bm25_scores_match_a_reference_implementation():
    """Lucene BM25 (k1=1.5, b=0.75; no (k1+1) factor, as in Lucene 8+), by hand, against ours."""
    texts = ["the cat sat on the mat", "dogs chase cats", "a bird in the sky", "cat cat cat"]
    lex = build(np.arange(len(texts)), texts)
    docs = [tokenize(t) for t in texts]
    avg = sum(map(len, docs)) / len(docs)
    expected = []
    for d in docs:
        df = sum("cat" in x for x in docs)
        idf = np.log(1 + (len(docs) - df + 0.5) / (df + 0.5))
        tf = d.count("cat")
        expected.append(idf * tf / (tf + 1.5 * (1 - 0.75 + 0.75 * len(d) / avg)))
    assert np.allclose(lex.scores("cat"), expected, atol=1e-5)


@settings(max_examples=60, deadline=None)
@given(texts=st.lists(text_strategy(), min_size=1, max_size=40), batch=st.integers(1, 7))
def test_a_built_index_scores_as_bm25s_does(texts, batch):
    old = lexical.BUILD_BATCH
    lexical.BUILD_BATCH = batch  # several segments concatenated, as a large build makes them
    try:
        index = build(np.arange(len(texts)) * 3, texts)
    finally:
        lexical.BUILD_BATCH = old
    assert_scores_match(index, {i * 3: t for i, t in enumerate(texts)})


@settings(max_examples=60, deadline=None)
@given(
    first=st.lists(text_strategy(), min_size=1, max_size=25),
    steps=st.lists(
        st.tuples(st.lists(text_strategy(), max_size=6), st.lists(st.integers(0, 200), max_size=4)), max_size=6
    ),
    merge_fraction=st.sampled_from([0.1, 0.5, 10.0]),
)
def test_updates_score_as_an_index_rebuilt_from_the_live_chunks(first, steps, merge_fraction):
    """Adds and removals in any order, with merges early, sometimes or never."""
    old = lexical.MERGE_FRACTION
    lexical.MERGE_FRACTION = merge_fraction
    try:
        texts = dict(enumerate(first))
        index = build(np.array(sorted(texts)), [texts[i] for i in sorted(texts)])
        next_id = len(first)
        for added, picks in steps:
            live = sorted(texts)
            removed = sorted({live[p % len(live)] for p in picks}) if live else []
            ids = np.arange(next_id, next_id + len(added))
            next_id += len(added)
            index = update(index, np.array(removed, dtype=np.int64), ids, added)
            for r in removed:
                del texts[r]
            texts.update(zip(ids.tolist(), added))
            if texts:
                assert_scores_match(index, texts)
            assert np.all(np.diff(index.chunk_ids) > 0)
    finally:
        lexical.MERGE_FRACTION = old


def test_an_unchanged_main_segment_is_hard_linked_not_rewritten(tmp_path):
    texts = [f"story {i} about the harbour bridge" for i in range(50)]
    first = build(np.arange(50), texts)
    write(first, tmp_path / "a")
    loaded = read(tmp_path / "a")
    second = update(loaded, np.array([4]), np.array([50]), ["a new story about ferries"])
    assert second.main is loaded.main and len(second.dead) == 1 and second.delta.n == 1
    write(second, tmp_path / "b")
    for name in ("rows.npy", "tf.npy", "terms.json"):
        assert (tmp_path / "b" / "main" / name).stat().st_ino == (tmp_path / "a" / "main" / name).stat().st_ino
    again = read(tmp_path / "b")
    assert np.allclose(again.scores("harbour ferries"), second.scores("harbour ferries"))
    assert again.scores("story")[4] == 0.0  # the removed chunk's tombstone


def test_lexical_index_round_trips_through_disk(tmp_path):
    lex = build(np.array([7, 9]), ["Damar Hamlin collapsed", "Title 42 ends"])
    write(lex, tmp_path / "lex")
    again = read(tmp_path / "lex")
    assert list(again.chunk_ids) == [7, 9]
    assert np.allclose(again.scores("Hamlin"), lex.scores("Hamlin"))
    assert not again.scores("unknownword").any()


def test_an_empty_index_scores_nothing(tmp_path):
    lex = build(np.zeros(0, np.int64), [])
    write(lex, tmp_path / "lex")
    assert read(tmp_path / "lex").scores("anything").shape == (0,)


def test_a_damaged_lexical_folder_is_a_clear_error(tmp_path):
    write(build(np.array([1]), ["some words"]), tmp_path / "lex")
    (tmp_path / "lex" / "main" / "terms.json").write_text("{not json")
    with pytest.raises(IndexError_, match="damaged"):
        read(tmp_path / "lex")


def test_a_bm25s_folder_of_the_old_format_is_recognised(tmp_path):
    retriever = bm25s.BM25()
    retriever.index([["some", "word"]], show_progress=False)
    retriever.save(str(tmp_path / "old"))
    with pytest.raises(lexical.OldFormat):
        read(tmp_path / "old")
