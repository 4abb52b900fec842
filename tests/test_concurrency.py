"""Writers one at a time across processes; snapshots that a commit does not change."""

import datetime as dt
import time

import pytest

from rag import Index
from rag.errors import IndexBusyError, RagError
from rag.retrieve import Mode
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
            writer.add_documents(
                [_doc("harbour-festival", "The festival was replaced by a quiet regatta of paper boats.")]
            )
            writer.add_documents([_doc("kites", "A kite festival filled the sky over the harbour.")])
        assert snap.info().articles == before.articles and snap.info().chunks == before.chunks
        hits = snap.search("paper boats regatta kite festival", k=20, as_of=dt.date(2024, 12, 31))
        assert "kites" not in {h.doc_id for h in hits}
        assert all("paper boats" not in h.text for h in hits)
        fresh = Index.snapshot(sample_index, like=snap)  # a later commit: nothing of snap's is shared
        same = Index.snapshot(sample_index, like=fresh)  # no commit between: fresh's data is
    finally:
        snap.close()
    try:
        assert fresh.info().articles == before.articles + 1
        for view in (fresh, same):
            assert view.search("kite festival in the sky", k=1, as_of=dt.date(2024, 12, 31))[0].doc_id == "kites"
            assert (
                view.search("kite festival in the sky", k=1, mode=Mode.LEXICAL, as_of=dt.date(2024, 12, 31))[0].doc_id
                == "kites"
            )
    finally:
        fresh.close()
        same.close()


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
            service.add(
                [_doc(f"wal-{n}", f"Bulletin {n}: the Ostrand ferry ran {n * 7} extra crossings this week. " * 30)]
            )
            with service.reading() as index:  # a reader is always there, as in a server
                index.search("ferry crossings", k=1)
            sizes.append((sample_index / "rag.sqlite-wal").stat().st_size)
    finally:
        service.close()
    assert max(sizes[3:]) <= 1.5 * max(sizes[:3]), sizes


def test_two_services_on_one_index_keep_the_write_ahead_log_bounded(sample_index):
    """Two workers of a server: one writes, the other is never asked anything; the idle
    one follows the commits, so its old snapshot does not pin the log."""
    from rag.service import Service

    writer, idle = Service(sample_index), Service(sample_index, follow_seconds=0.05)
    try:
        sizes = []
        for n in range(8):
            writer.add(
                [_doc(f"wal2-{n}", f"Bulletin {n}: the Ostrand ferry ran {n * 7} extra crossings this week. " * 30)]
            )
            time.sleep(1.0)  # the idle one follows within 0.05 s, or a little later on a busy machine
            sizes.append((sample_index / "rag.sqlite-wal").stat().st_size)
        with idle.reading() as index:
            assert index.store.article("wal2-7") is not None
    finally:
        writer.close()
        idle.close()
    # Without the follower it grows by every commit (8x); a commit that still finds a
    # reader on the log appends once more, so up to about 2x here (1.1x on an idle
    # machine). A follower held up past a sleep lets one or two more commits append
    # (3.3x once, in a fresh-clone CI run): 4x still tells that from not following.
    assert max(sizes) <= 4 * sizes[0], sizes
