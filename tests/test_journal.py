"""The journal of a sharded write: saved and read back exactly, or refused in one line."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag import journal
from rag.errors import IndexError_
from rag.ingest import StoreChange
from rag.types import Chunk, Document, Entity, IndexType

_text = st.text(min_size=0, max_size=40)
_day = st.one_of(st.none(), st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 1, 1)))


@st.composite
def _parts(draw) -> list[journal.Part]:
    parts = []
    for shard in range(draw(st.integers(1, 3))):
        docs = [
            Document(f"d{shard}-{i}", draw(_text), draw(_day), draw(_text), draw(_text))
            for i in range(draw(st.integers(0, 3)))
        ]
        chunks = [Chunk(d.id, 0, len(d.text), d.text, d.date) for d in docs]
        vecs = np.asarray(
            draw(st.lists(st.floats(-1, 1, width=32), min_size=4 * len(chunks), max_size=4 * len(chunks)))
        )
        change = StoreChange(
            docs,
            {d.id: draw(_text) for d in docs},
            draw(st.lists(_text, max_size=3)),
            chunks,
            vecs.astype(np.float32).reshape(len(chunks), 4),
            {d.id: [Entity(0, draw(st.integers(0, 9)), draw(st.sampled_from(["PERSON", "GPE"])))] for d in docs},
            ids=np.arange(len(chunks), dtype=np.int64) + 10 * shard,
        )
        parts.append(journal.Part(shard, change, draw(st.sampled_from([None, IndexType.FLAT, IndexType.IVF_SQ8]))))
    return parts


@settings(max_examples=30, deadline=None)
@given(parts=_parts(), new_template=st.booleans())
def test_a_journal_reads_back_what_was_written(tmp_path_factory, parts, new_template):
    root = tmp_path_factory.mktemp("j")
    journal.write(root, journal.Journal("w1", parts, new_template))
    back = journal.read(root)
    assert back is not None and back.id == "w1" and back.new_template is new_template
    for a, b in zip(parts, back.parts, strict=True):
        assert (a.shard, a.kind) == (b.shard, b.kind)
        for field in ("docs", "replaced", "chunks"):
            assert list(getattr(a.change, field)) == list(getattr(b.change, field))
        assert (a.change.hashes, a.change.found) == (b.change.hashes, b.change.found)
        assert np.array_equal(a.change.ids, b.change.ids)
        assert np.array_equal(a.change.embeddings, b.change.embeddings)
        assert b.change.embeddings.dtype == np.float32
    journal.clear(root)
    assert journal.read(root) is None


def test_a_journal_of_another_format_is_refused_in_one_line(tmp_path):
    (tmp_path / journal.JOURNAL).mkdir()
    (tmp_path / journal.JOURNAL / "journal.json").write_text('{"format": 99, "id": "x", "parts": []}')
    with pytest.raises(IndexError_, match="cannot be read") as err:
        journal.read(tmp_path)
    assert "\n" not in str(err.value)
