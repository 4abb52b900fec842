"""The commit protocol of an index directory: one writer at a time, each write a new
generation of files, never a half-written one visible.

A write builds its new vector file and BM25 folder under fresh names (``vectors-<gen>``,
``lexical-<gen>``), then commits the SQLite transaction that points the meta at them,
then deletes the files no commit names. A crash or a rejected input at any step leaves
the previous generation readable and whole. Writers hold ``write.lock`` (see
:mod:`rag.lock`) for the whole write; on taking it they catch up with what other
processes committed since, so that every write builds on the latest files.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import faiss

from . import lexical, vectors
from .corpus import DateFilters
from .errors import IndexError_, RagError
from .lexical import LexicalIndex
from .lock import WriteLock
from .store import DB_NAME, FORMAT_VERSION, Store, connect
from .types import IndexInfo, IndexMeta

REPAIR_HINT = "`rag check --repair` rebuilds it from the database"
SNAPSHOT_TRIES = 5  # a snapshot whose files a concurrent commit deleted is taken again

# A change runs inside the write transaction: its SQLite writes, then the new vector and
# BM25 indexes it made (None for one that stays as it is).
T = TypeVar("T")

Change = Callable[[], tuple[faiss.Index | None, lexical.LexicalIndex | None]]


def read_vectors(path: Path, meta: IndexMeta) -> faiss.Index | None:
    if not meta.faiss_file:
        return None
    try:
        return vectors.read_index(path / meta.faiss_file, mmap=True)
    except IndexError_ as exc:
        raise IndexError_(f"{exc}; {REPAIR_HINT}") from None


class Commits:
    """The committed generation of an index as this process last saw it (``meta``, its
    vectors and BM25 index, loaded), and the way to write the next one."""

    def __init__(self, path: Path, store: Store, read_only: bool = False) -> None:
        self.path = path
        self.store = store
        self.read_only = read_only
        self.lock = WriteLock(path)
        self.meta = store.meta()
        self.vectors: faiss.Index | None = None
        self.lexical_index: lexical.LexicalIndex | None = None
        self.filters = DateFilters(store)
        self.index_type = self.meta.index_type  # to keep; set_index_type changes it before committing

    def load_vectors(self) -> None:
        """Read the committed vectors, which must be one per stored chunk."""
        self.vectors = read_vectors(self.path, self.meta)
        _, n_chunks = self.store.counts()
        if self.vectors is not None and self.vectors.ntotal != n_chunks:
            raise IndexError_(
                f"{self.path}: index is inconsistent ({self.vectors.ntotal} vectors for {n_chunks} chunks); {REPAIR_HINT}"
            )

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the write lock; on taking it, catch up with what other writers committed
        since this index was opened, so that this write builds on the latest files."""
        if self.read_only:
            raise RagError(f"{self.path}: a snapshot is read-only; open the index to change it")
        outermost = not self.lock.held
        with self.lock:
            if outermost:
                self.refresh()
            yield

    def refresh(self) -> None:
        committed = self.store.meta()
        if committed.faiss_file != self.meta.faiss_file:
            self.vectors = read_vectors(self.path, committed)
        if committed.lexical_dir != self.meta.lexical_dir:
            self.lexical_index = None
        if committed != self.meta:
            self.filters = DateFilters(self.store)
            self.meta = committed
            self.index_type = committed.index_type

    def committed_lexical(self) -> lexical.LexicalIndex | None:
        """The BM25 index the meta names, read on first use; None when there is none of
        the current format."""
        if self.lexical_index is None:
            if not self.meta.lexical_dir:
                return None
            try:
                self.lexical_index = lexical.read(self.path / self.meta.lexical_dir)
            except lexical.OldFormat:
                return None
            except IndexError_ as exc:
                raise IndexError_(f"{exc}; {REPAIR_HINT}") from None
        return self.lexical_index

    def lexical(self) -> lexical.LexicalIndex:
        """The BM25 index; an index built before it existed, or before its current
        format, gets one now (committed, unless this is a read-only snapshot)."""
        if self.committed_lexical() is None:
            if self.read_only:
                self.lexical_index = self.lexical_from_store()
            else:
                with self.writing():
                    if self.committed_lexical() is None:  # another writer may have made one meanwhile
                        self.rebuild_lexical()
        assert self.lexical_index is not None
        return self.lexical_index

    def lexical_from_store(self) -> LexicalIndex:
        """A BM25 index of every stored chunk: all it holds is in the database."""
        return lexical.build(*self.store.all_chunk_texts())

    def rebuild_lexical(self) -> None:
        """Commit a BM25 index built again from the stored chunks (none yet, one of an
        older format, or one damaged on disk)."""
        with self.writing():
            self.commit(lambda: (None, self.lexical_from_store()), {})

    def commit(self, change: Change, vector_fields: dict[str, object]) -> None:
        """Run ``change`` in a transaction, write the new files under fresh names, point
        the meta at them (with ``vector_fields``, what the vectors were made with, when
        there are new ones) and commit; on any failure leave the previous files whole."""
        with self.staged(change, vector_fields):
            pass

    @contextmanager
    def staged(self, change: Change, vector_fields: dict[str, object]) -> Iterator[None]:
        """:meth:`commit`, held open: the change made and its files written on entering,
        committed when the block ends, undone (rolled back, its files deleted) when the
        block raises. Several indexes' writes staged together commit together or not at
        all (a sharded index's write), but for a crash between their COMMITs."""
        gen = uuid.uuid4().hex[:12]
        new_vectors = False
        lex: lexical.LexicalIndex | None = None
        try:
            with self.store.transaction():
                index, lex = change()
                meta: dict[str, object] = {"index_type": self.index_type}
                if index is not None:
                    meta.update(vector_fields, faiss_file=f"vectors-{gen}.faiss", dimension=index.d)
                    vectors.write_index(index, self.path / f"vectors-{gen}.faiss")
                    new_vectors = True
                del index  # read back from its file once committed: staged shards do not each hold a copy
                if lex is not None:
                    meta["lexical_dir"] = f"lexical-{gen}"
                    lexical.write(lex, self.path / f"lexical-{gen}")
                self.store.update_meta(**meta)
                yield
        except BaseException:
            self.remove_unreferenced()  # the open vectors were never changed: only new files
            self.index_type = self.meta.index_type
            raise
        self.meta = self.store.meta()  # with what the change wrote there too (the next chunk id)
        if new_vectors:
            self.vectors = read_vectors(self.path, self.meta)
        if lex is not None:
            self.lexical_index = lex
        self.filters = DateFilters(self.store)
        self.remove_unreferenced()

    def remove_unreferenced(self) -> None:
        """Delete vector files and lexical folders that the committed meta does not name."""
        committed = self.store.meta()
        keep = {committed.faiss_file, committed.lexical_dir}
        for f in [*self.path.glob("vectors-*"), *self.path.glob("lexical-*")]:
            if f.name not in keep:
                shutil.rmtree(f, ignore_errors=True) if f.is_dir() else f.unlink(missing_ok=True)

    def share(self, other: Commits) -> None:
        """Take the loaded files of ``other``, a view of the same commit (a snapshot taken
        after another with nothing committed between): reading them again would cost a
        second or more at a million chunks."""
        self.vectors, self.lexical_index, self.filters = (
            other.vectors,
            other.lexical_index,
            other.filters.copy(self.store),
        )

    def info(self, model: str) -> IndexInfo:
        """Counts, the model (``model`` where the index has none yet), vector index type
        and size on disk."""
        articles, chunks = self.store.counts()
        return IndexInfo(
            path=str(self.path),
            articles=articles,
            chunks=chunks,
            vectors=0 if self.vectors is None else int(self.vectors.ntotal),
            model=self.meta.model or model,
            dimension=self.meta.dimension,
            index_type="none" if self.vectors is None else vectors.index_type(self.vectors),
            size_bytes=sum(f.stat().st_size for f in self.path.iterdir() if f.is_file()),
            format_version=FORMAT_VERSION,
        )


def take_snapshot(path: Path, view: Callable[[Store], T]) -> T:
    """``view`` of a store in one read transaction: the index as of its last commit, for
    as long as the view lives. A commit between reading the meta and opening the files
    it names deletes them; then the snapshot is taken again, up to SNAPSHOT_TRIES times.
    Files missing with no commit in between are damage, and raised as such."""
    if not path.is_dir():
        raise IndexError_(f"{path}: no index here (build one with 'rag ingest')")
    for attempt in range(SNAPSHOT_TRIES):
        store = Store(connect(path / DB_NAME, create=False, shared=True))
        store.begin_read()  # deferred: the first read below fixes what this view sees
        try:
            return view(store)
        except IndexError_:
            committed = store.meta()
            store.close()
            named = [name for name in (committed.faiss_file, committed.lexical_dir) if name]
            if attempt + 1 == SNAPSHOT_TRIES or all((path / name).exists() for name in named):
                raise  # damaged, not merely replaced by a commit in between
        except BaseException:
            store.close()
            raise
    raise AssertionError("unreachable")
