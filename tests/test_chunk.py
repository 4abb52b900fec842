import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from rag.chunk import ChunkConfig, chunk_document, whitespace_tokens
from rag.types import Document

_word = st.text(alphabet="abcdefgh", min_size=1, max_size=8)
_sentence = st.lists(_word, min_size=1, max_size=40).map(lambda ws: " ".join(ws).capitalize() + ".")
_doc = st.lists(_sentence, min_size=1, max_size=30).map(" ".join)
_config = st.tuples(st.integers(8, 60), st.integers(0, 30)).filter(lambda t: t[1] < t[0]).map(lambda t: ChunkConfig(*t))


def _doc_of(text: str) -> Document:
    return Document(id="d", text=text, date=dt.date(2024, 1, 1), source="s")


@given(_doc, _config)
@settings(max_examples=200)
def test_chunks_fit_the_budget_and_their_offsets(text, config):
    for c in chunk_document(_doc_of(text), whitespace_tokens, config):
        assert c.text == text[c.start : c.end]
        assert len(c.text.split()) <= config.max_tokens
        assert c.date == dt.date(2024, 1, 1) and c.doc_id == "d"


@given(_doc, _config)
@settings(max_examples=200)
def test_chunks_cover_the_whole_text_in_order(text, config):
    chunks = chunk_document(_doc_of(text), whitespace_tokens, config)
    covered = set()
    for a, b in zip(chunks, chunks[1:]):
        assert a.start < b.start and a.end < b.end
    for c in chunks:
        covered.update(range(c.start, c.end))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


def test_neighbouring_chunks_share_a_sentence_when_overlap_allows():
    text = " ".join(f"Sentence number {i} is here." for i in range(20))
    chunks = chunk_document(_doc_of(text), whitespace_tokens, ChunkConfig(max_tokens=20, overlap_tokens=5))
    assert len(chunks) > 2
    assert all(b.start < a.end for a, b in zip(chunks, chunks[1:]))


def test_a_sentence_longer_than_the_budget_is_cut_at_words():
    text = " ".join(["word"] * 50) + "."
    chunks = chunk_document(_doc_of(text), whitespace_tokens, ChunkConfig(max_tokens=16, overlap_tokens=0))
    assert [len(c.text.split()) for c in chunks] == [16, 16, 16, 2]
