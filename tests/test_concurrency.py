"""Writers one at a time across processes; snapshots that a commit does not change."""

import datetime as dt

import pytest

from rag import Index
from rag.errors import IndexBusyError, RagError
from rag.types import Document

from .conftest import write_lock_held_elsewhere


def _doc(doc_id: str, text: str) -> Document:
    return Document(doc_id, text, dt.date(2024, 6, 1), "test")


def test_a_second_writer_is_refused_while_another_process_writes(sample_index):
    with write_lock_held_elsewhere(sample_index), Index.open(sample_index) as index:
        before = index.info()
        with pytest.raises(IndexBusyError, match="another writer"):
            index.add_documents([_doc("late", "A late article about the harbour.")])
        assert index.info() == before
    with Index.open(sample_index) as index:  # the kernel dropped the dead holder's lock
        assert index.add_documents([_doc("late", "A late article about the harbour.")]).added == 1


def test_a_writer_builds_on_what_another_writer_committed_since_it_opened(sample_index):
    with Index.open(sample_index) as first, Index.open(sample_index) as second:
        first.add_documents([_doc("one", "The first writer adds an article about kites.")])
        second.add_documents([_doc("two", "The second writer adds an article about boats.")])
    with Index.open(sample_index) as index:
        info = index.info()
        assert index.store.article("one") and index.store.article("two")
        assert info.chunks == info.vectors
        assert index.search("kites", k=1)[0].doc_id == "one"


def test_a_snapshot_keeps_its_view_while_a_writer_commits(sample_index):
    snap = Index.snapshot(sample_index)
    try:
        before = snap.info()
        with Index.open(sample_index) as writer:
            writer.add_documents([_doc("harbour-festival", "The festival was replaced by a quiet regatta of paper boats.")])
            writer.add_documents([_doc("kites", "A kite festival filled the sky over the harbour.")])
        assert snap.info().articles == before.articles and snap.info().chunks == before.chunks
        hits = snap.search("paper boats regatta kite festival", k=20, as_of=dt.date(2024, 12, 31))
        assert "kites" not in {h.doc_id for h in hits}
        assert all("paper boats" not in h.text for h in hits)
    finally:
        snap.close()
    fresh = Index.snapshot(sample_index)
    try:
        assert fresh.info().articles == before.articles + 1
        assert fresh.search("kite festival in the sky", k=1, as_of=dt.date(2024, 12, 31))[0].doc_id == "kites"
    finally:
        fresh.close()


def test_a_snapshot_refuses_to_write(built_index):
    snap = Index.snapshot(built_index)
    try:
        with pytest.raises(RagError, match="read-only"):
            snap.add_documents([_doc("x", "Text.")])
    finally:
        snap.close()


def test_a_service_keeps_the_write_ahead_log_from_growing_with_each_commit(sample_index):
    from rag.service import Service

    service = Service(sample_index)
    try:
        sizes = []
        for n in range(8):
            service.add([_doc(f"wal-{n}", f"Bulletin {n}: the Ostrand ferry ran {n * 7} extra crossings this week. " * 30)])
            with service.reading() as index:  # a reader is always there, as in a server
                index.search("ferry crossings", k=1)
            sizes.append((sample_index / "rag.sqlite-wal").stat().st_size)
    finally:
        service.close()
    assert max(sizes[3:]) <= 1.5 * max(sizes[:3]), sizes
