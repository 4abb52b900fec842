"""One index served to many threads at once: any number of readers and one writer.

Readers share the current :meth:`Index.snapshot`; a write goes through the single
writer and, once committed, readers move to a fresh snapshot, so every query sees the
index either before a write or after it, never half of it. A snapshot is closed when
the last query using it ends. Commits made by another process (a ``rag ingest`` beside
the server, or another worker of it) are noticed through SQLite's ``data_version`` at
the next query, and within a second by a follower thread when no query comes, so that
an idle service neither answers from nor pins an old snapshot.

The HTTP server (:mod:`rag.server`) is a thin layer over this; so could another be.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .embed import Backend
from .errors import NotFoundError, RagError
from .index import Index
from .qa.span import SpanScorer
from .query import Query
from .shards import ShardedIndex, read_manifest
from .store import DB_NAME, connect
from .types import Answer, Document, IndexInfo, IngestReport, Passage, Summary

if TYPE_CHECKING:
    from .cluster import ClusterIndex

FOLLOW_SECONDS = 1.0


@dataclass
class _Held:
    index: Index | ShardedIndex | ClusterIndex
    version: tuple[int, ...]  # each database's data_version just before this snapshot was taken
    users: int = 0
    retired: bool = False


class Service:
    """Thread-safe reads and serialised writes over the index at ``path``."""

    def __init__(
        self,
        path: str | Path,
        model: str | None = None,
        backend: Backend = Backend.AUTO,
        create: bool = False,
        lock_wait: float = 0.0,
        follow_seconds: float = FOLLOW_SECONDS,
        ray: str | None = None,
    ) -> None:
        """``lock_wait``: how long a write waits for another process's write to finish.
        ``ray``: read through one actor per shard on the Ray cluster at this address
        (:mod:`rag.cluster.reading`); each snapshot is then a generation the actors hold.
        Writes still run here."""
        self.path = Path(path)
        self.manifest = read_manifest(self.path)
        self._writer: Index | ShardedIndex
        if self.manifest is not None:
            self._writer = ShardedIndex.open(self.path, model, backend, lock_wait=lock_wait)
        else:
            self._writer = Index.open(
                self.path, model=model, create=create, backend=backend, shared=True, lock_wait=lock_wait
            )
        self.embedder = self._writer.embedder
        self.embedder.spread = False  # concurrent queries: see Embedder
        SpanScorer.spread = False  # ... and SpanScorer, which reads for every question the process asks
        self._write_lock = threading.Lock()
        self._swap_lock = threading.Lock()
        databases = [f / DB_NAME for f in self.manifest.folders(self.path)] if self.manifest else [self.path / DB_NAME]
        self._watch = [connect(db, create=False, shared=True) for db in databases]
        self._log = [
            connect(db, create=False, shared=True) for db in databases
        ]  # checkpoints, from the writer or the follower
        self._log_lock = threading.Lock()
        if not self._writer.is_empty:
            self._writer.lexical()  # commits a BM25 index of the current format if it lacks one, before readers snapshot it
        self._cluster: ClusterIndex | None = None
        if ray:
            from .cluster import open_on_cluster

            self._cluster = open_on_cluster(self.path, ray, embedder=self.embedder)
            self._cluster.release()  # readers use the snapshots taken below
        self._current = self._take()
        if not self._current.index.is_empty:
            self.embedder.encode_queries(["load the model now, not at the first question"])
            self.embedder.encode_for_ranking(["and its int8 copy"])
        self._closing = threading.Event()
        self._follower = threading.Thread(target=self._follow, args=(follow_seconds,), name="rag-follow", daemon=True)
        self._follower.start()

    def close(self) -> None:
        self._closing.set()
        self._follower.join()
        with self._swap_lock:
            self._retire(self._current)
        for conn in [*self._watch, *self._log]:
            conn.close()
        if self._cluster is not None:
            self._cluster.close()
        self._writer.close()

    def _follow(self, every: float) -> None:
        while not self._closing.wait(every):
            try:
                with self._swap_lock:
                    changed = self._swap_if_changed()
                if changed:
                    self._compact_log()
            except RagError:  # a damaged index: the next query reports it
                pass

    # -- snapshots ---------------------------------------------------------------------

    def _version(self) -> tuple[int, ...]:
        """Each database's data_version: any commit to any shard changes it."""
        return tuple(int(conn.execute("PRAGMA data_version").fetchone()[0]) for conn in self._watch)

    def _take(self, like: Index | ShardedIndex | ClusterIndex | None = None) -> _Held:
        version = self._version()  # read first: a commit landing meanwhile is seen next time
        if self._cluster is not None:
            return _Held(self._cluster.snapshot(), version)  # the actors share what no commit changed
        if self.manifest is not None:
            assert like is None or isinstance(like, ShardedIndex)
            return _Held(ShardedIndex.snapshot(self.path, embedder=self.embedder, like=like), version)
        assert like is None or isinstance(like, Index)
        return _Held(Index.snapshot(self.path, embedder=self.embedder, like=like), version)

    def _retire(self, held: _Held) -> None:
        held.retired = True
        if held.users == 0:
            held.index.close()

    def _swap(self) -> None:
        """Called with the swap lock held: readers from now on get a fresh snapshot."""
        old, self._current = self._current, self._take(like=self._current.index)
        self._retire(old)

    def _swap_if_changed(self) -> bool:
        """Called with the swap lock held; returns whether anything was committed."""
        if self._version() == self._current.version:
            return False
        self._swap()
        return True

    @contextmanager
    def reading(self) -> Iterator[Index | ShardedIndex | ClusterIndex]:
        """The current snapshot, kept open (and unchanged) until the block ends."""
        with self._swap_lock:
            self._swap_if_changed()
            held = self._current
            held.users += 1
        try:
            yield held.index
        finally:
            with self._swap_lock:
                held.users -= 1
                if held.retired:
                    self._retire(held)

    @contextmanager
    def _writing(self) -> Iterator[Index | ShardedIndex]:
        with self._write_lock:
            self._compact_log()  # readers off the log, so this write can start it afresh
            try:
                yield self._writer
            finally:  # also after a failure: a checkpoint may have committed part of it
                with self._swap_lock:
                    changed = self._swap_if_changed()
                if changed:
                    self._compact_log()

    def _compact_log(self) -> None:
        """Keep SQLite's write-ahead log from growing with every commit. A reader pins the
        log while it reads, and a server always has one; so once the current snapshot has
        seen all of the log, copy it into the database, then move readers to a snapshot
        taken after that copy, which reads the database alone and so lets the next write
        start the log afresh. Every service on the index does this when it sees a commit
        (the writer's at once, the others' followers within a second), because any one's
        snapshot pins the log for all."""
        with self._log_lock:
            logs = [conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone() for conn in self._log]
        if any(frames == copied and frames > 0 for _, frames, copied in logs):  # (an empty log has no reader to move)
            with self._swap_lock:
                self._swap()

    # -- the operations ----------------------------------------------------------------

    def ask(self, query: Query) -> Answer:
        with self.reading() as index:
            return index.ask(query)

    def search(self, query: Query) -> list[Passage]:
        with self.reading() as index:
            return index.search(query)

    def summarize(self, query: Query, timeline: bool = False) -> Summary:
        with self.reading() as index:
            return index.summarize(query, timeline=timeline)

    def article(self, doc_id: str) -> Document:
        with self.reading() as index:
            doc = index.article(doc_id)
        if doc is None:
            raise NotFoundError(f"no article with article id {doc_id!r} in the index")
        return doc

    def info(self) -> IndexInfo:
        with self.reading() as index:
            return index.info()

    def add(self, docs: Sequence[Document], warnings: Sequence[str] = ()) -> tuple[IngestReport, IndexInfo]:
        """Store ``docs``; once this returns they are committed and every later query sees them."""
        with self._writing() as writer:
            report = writer.add_documents(docs, warnings=warnings)
        return report, self.info()

    def remove(self, doc_ids: Sequence[str]) -> tuple[list[str], IndexInfo]:
        with self._writing() as writer:
            removed = writer.remove(doc_ids)
        return removed, self.info()
