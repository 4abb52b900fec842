"""An index directory: the SQLite store and the FAISS vectors kept in step.

Layout of ``DIR``::

    rag.sqlite            articles, chunks (offsets, dates), meta (model, dimension, ...)
    vectors-<gen>.faiss   the vectors; ``meta.faiss_file`` names the current one

A write builds the new vector file under a fresh name, then commits the SQLite
transaction that points ``meta.faiss_file`` at it, then deletes the old file. A crash
or a rejected input at any step leaves the previous pair readable and whole. Writers
hold ``write.lock`` (see :mod:`rag.lock`) for the whole write, one at a time across
processes. A reader that must not see a write land halfway through its work (a server
answering while articles arrive) opens a :meth:`Index.snapshot`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import faiss
import numpy as np
from tqdm.auto import tqdm

from . import entities, lexical, vectors
from .chunk import ChunkConfig, chunk_document
from .embed import Backend, Embedder, canonical_name
from .errors import IndexError_, ModelMismatchError, RagError
from .load import load_paths
from .lock import WriteLock
from .query import DEFAULT_K, DEFAULT_MODE, Mode, Query, as_query
from .retrieve import search
from .store import FORMAT_VERSION, Store, connect
from .types import (
    Answer,
    ArticleEntry,
    Chunk,
    Document,
    Entity,
    IndexInfo,
    IngestReport,
    Passage,
    Summary,
)

if TYPE_CHECKING:  # imported where used: answer and summarize import this module's callers
    from .answer import AnswerConfig
    from .summarize import SummaryConfig

DB_NAME = "rag.sqlite"
CHECKPOINT_SECONDS = 120.0  # an interrupted ingest loses at most this much embedding work
DOCS_PER_BATCH = 64
DEFAULT_INDEX = Path("indexes/default")
REPAIR_HINT = "`rag check --repair` rebuilds it from the database"
SNAPSHOT_TRIES = 5  # a snapshot whose files a concurrent commit deleted is taken again


def content_hash(doc: Document) -> str:
    """Identity of an article's content: re-ingesting the same content adds nothing."""
    date = doc.date.isoformat() if doc.date else ""
    return hashlib.sha256(f"{date}\n{doc.title}\n{doc.text}".encode()).hexdigest()


FILTERS_KEPT = 8


@dataclass
class _DateFilter:
    keep: np.ndarray  # a mask over the chunks of ``_chunk_dates``, in id order
    ids: np.ndarray  # the same over chunk ids (FAISS's selector)
    rows: tuple[lexical.LexicalIndex, np.ndarray] | None = None  # the same over a lexical index's rows


class Index:
    """An open index directory. Use :meth:`open`; the embedding model loads on first use."""

    def __init__(
        self,
        path: Path,
        store: Store,
        model: str | None,
        chunking: ChunkConfig,
        backend: Backend = Backend.AUTO,
        embedder: Embedder | None = None,
        read_only: bool = False,
        like: Index | None = None,
        skip_vectors: bool = False,
    ) -> None:
        self.path = path
        self.store = store
        self.read_only = read_only
        self._lock = WriteLock(path)
        self.meta = store.meta()
        self._faiss = None
        self._lexical: lexical.LexicalIndex | None = None
        self._dates: tuple[np.ndarray, np.ndarray] | None = None  # chunk ids, day ordinals (0: undated)
        self._filters: dict[tuple, _DateFilter] = {}  # the last few date ranges asked for, oldest first
        self._filters_lock = threading.Lock()
        self.index_kind = self.meta.index_type
        if like is not None and like.meta == self.meta and like.path == path:
            # The same commit's files (each write names new ones): share what is loaded.
            self._faiss, self._lexical, self._dates = like._faiss, like._lexical, like._dates
            with like._filters_lock:
                self._filters = dict(like._filters)
        elif self.meta.faiss_file and not skip_vectors:
            try:
                self._faiss = vectors.read_index(path / self.meta.faiss_file, mmap=True)
            except IndexError_ as exc:
                raise IndexError_(f"{exc}; {REPAIR_HINT}") from None
            _, n_chunks = store.counts()
            if self._faiss.ntotal != n_chunks:
                raise IndexError_(f"{path}: index is inconsistent ({self._faiss.ntotal} vectors for {n_chunks} chunks); {REPAIR_HINT}")
        built_with = self.meta.model
        if embedder is not None:
            model = embedder.name
        wanted = canonical_name(model) if model else built_with
        if built_with and wanted != built_with:
            raise ModelMismatchError(f"{path}: index was built with model {built_with!r}; refusing to use {wanted!r} (vectors of two models cannot be mixed)")
        self.embedder = embedder if embedder is not None else Embedder(wanted, backend=backend)
        self.chunking = ChunkConfig(
            self.meta.chunk_max_tokens or chunking.max_tokens,
            self.meta.chunk_overlap_tokens if self.meta.chunk_overlap_tokens is not None else chunking.overlap_tokens,
        )

    @classmethod
    def open(
        cls,
        path: str | Path = DEFAULT_INDEX,
        model: str | None = None,
        create: bool = False,
        chunking: ChunkConfig = ChunkConfig(),
        backend: Backend = Backend.AUTO,
        shared: bool = False,
        lock_wait: float = 0.0,
        skip_vectors: bool = False,
    ) -> Index:
        """Open the index at ``path``; with ``create`` an empty one is made if it is missing.
        ``backend`` is how articles added through it are embedded (queries: see Embedder).
        A ``shared`` index may be used from several threads, one at a time. A write waits
        up to ``lock_wait`` seconds for another process's write to finish. With
        ``skip_vectors`` the vector file is not read (to rebuild it: :func:`rag.check.repair`)."""
        path = Path(path)
        if not path.exists():
            if not create:
                raise IndexError_(f"{path}: no index here (build one with 'rag ingest')")
            path.mkdir(parents=True)
        elif not path.is_dir():
            raise IndexError_(f"{path}: not a directory")
        conn = connect(path / DB_NAME, create=create, shared=shared, check=True)
        try:
            index = cls(path, Store(conn), model, chunking, backend, skip_vectors=skip_vectors)
        except BaseException:
            conn.close()
            raise
        index._lock.wait = lock_wait
        return index

    @classmethod
    def snapshot(cls, path: str | Path = DEFAULT_INDEX, model: str | None = None, embedder: Embedder | None = None, like: Index | None = None) -> Index:
        """A read-only view of the index as of its last commit, that stays so while
        writers commit: its SQLite reads run in one read transaction and its vector and
        lexical files stay open after a commit deletes them. It may be shared by threads;
        ``embedder`` lets many snapshots share one loaded model. When nothing was
        committed since the earlier snapshot ``like``, its loaded vectors, lexical index
        and chunk dates are shared rather than read again (at a million chunks, a second
        or more for the first query after each new snapshot)."""
        path = Path(path)
        if not path.is_dir():
            raise IndexError_(f"{path}: no index here (build one with 'rag ingest')")
        for attempt in range(SNAPSHOT_TRIES):
            conn = connect(path / DB_NAME, create=False, shared=True)
            store = Store(conn)
            store.begin_read()  # deferred: the first read below fixes what this view sees
            try:
                index = cls(path, store, model, ChunkConfig(), embedder=embedder, read_only=True, like=like)
                index.lexical()
                return index
            except IndexError_:
                committed = store.meta()
                named = [name for name in (committed.faiss_file, committed.lexical_dir) if name]
                store.close()
                if attempt + 1 == SNAPSHOT_TRIES or all((path / name).exists() for name in named):
                    raise  # damaged, not merely replaced by a commit in between
            except BaseException:
                conn.close()
                raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -----------------------------------------------------------------------

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """Hold the write lock; on taking it, catch up with what other writers committed
        since this index was opened, so that this write builds on the latest files."""
        if self.read_only:
            raise RagError(f"{self.path}: a snapshot is read-only; open the index to change it")
        outermost = not self._lock.held
        with self._lock:
            if outermost:
                self._refresh()
            yield

    def _refresh(self) -> None:
        committed = self.store.meta()
        if committed.faiss_file != self.meta.faiss_file:
            self._faiss = vectors.read_index(self.path / committed.faiss_file, mmap=True) if committed.faiss_file else None
        if committed.lexical_dir != self.meta.lexical_dir:
            self._lexical = None
        if committed != self.meta:
            self._dates = None
            self._filters = {}
            self.meta = committed
            self.index_kind = committed.index_type

    def add(self, paths: Sequence[str | Path], progress: bool = False) -> IngestReport:
        """Load, chunk, embed and store every article under ``paths``, all or nothing."""
        loaded = load_paths(list(paths))
        return self.add_documents(loaded.documents, progress=progress, warnings=loaded.warnings)

    def add_documents(self, docs: Sequence[Document], progress: bool = False, warnings: Sequence[str] = (), checkpoint_seconds: float = CHECKPOINT_SECONDS) -> IngestReport:
        """Embed and store ``docs``, committing a checkpoint every ``checkpoint_seconds``.

        Each checkpoint is an atomic write of the articles embedded so far, so an
        interrupted ingest keeps them, and running it again embeds only the rest
        (articles already stored with the same content are skipped).
        """
        with self._writing():
            return self._add_documents(docs, progress, warnings, checkpoint_seconds)

    def _add_documents(self, docs: Sequence[Document], progress: bool, warnings: Sequence[str], checkpoint_seconds: float) -> IngestReport:
        hashes = {d.id: content_hash(d) for d in docs}
        known = self.store.content_hashes([d.id for d in docs])
        fresh = [d for d in docs if known.get(d.id) != hashes[d.id]]
        skipped = len(docs) - len(fresh)
        self.tag_missing(progress)
        if not fresh:
            return IngestReport(0, 0, skipped, 0, list(warnings))
        config = ChunkConfig(min(self.chunking.max_tokens, self.embedder.max_tokens), self.chunking.overlap_tokens)
        per_doc = [chunk_document(d, self.embedder.count_tokens, config) for d in fresh]
        total = sum(map(len, per_doc))
        bar = tqdm(total=total, unit="chunk", desc="embedding", disable=not progress, dynamic_ncols=True)
        pending: list[tuple[Document, list[Chunk], np.ndarray, list[Entity]]] = []
        last = time.monotonic()
        try:
            for start in range(0, len(fresh), DOCS_PER_BATCH):
                batch = list(zip(fresh[start : start + DOCS_PER_BATCH], per_doc[start : start + DOCS_PER_BATCH]))
                texts = [c.text for _, chunks in batch for c in chunks]
                vecs = self.embedder.encode(texts, on_batch=bar.update)
                found = entities.tag([doc.text for doc, _ in batch])
                offset = 0
                for (doc, chunks), ents in zip(batch, found):
                    pending.append((doc, chunks, vecs[offset : offset + len(chunks)], ents))
                    offset += len(chunks)
                if time.monotonic() - last >= checkpoint_seconds and start + DOCS_PER_BATCH < len(fresh):
                    self._write_pending(pending, hashes, known)
                    pending, last = [], time.monotonic()
            self._write_pending(pending, hashes, known)
        finally:
            bar.close()
        replaced = sum(1 for d in fresh if d.id in known)
        return IngestReport(len(fresh) - replaced, replaced, skipped, total, list(warnings))

    def _write_pending(self, pending: list[tuple[Document, list[Chunk], np.ndarray, list[Entity]]], hashes: dict[str, str], known: dict[str, str]) -> None:
        if not pending:
            return
        docs = [d for d, _, _, _ in pending]
        chunks = [c for _, cs, _, _ in pending for c in cs]
        vecs = np.concatenate([v for _, _, v, _ in pending]) if chunks else np.zeros((0, self.embedder.dimension), np.float32)
        found = {d.id: ents for d, _, _, ents in pending}
        self._write(docs, hashes, [d.id for d in docs if d.id in known], chunks, vecs, found)

    def tag_missing(self, progress: bool = False) -> int:
        """Tag the articles stored without entities (an index from before tagging, or
        tagged by another tagger version); returns how many. Commits every batch, so an
        interruption keeps what was done and the vectors are never touched."""
        with self._writing():
            return self._tag_missing(progress)

    def _tag_missing(self, progress: bool) -> int:
        tagger = entities.tagger_name()
        todo = self.store.untagged(tagger)
        if not todo:
            return 0
        bar = tqdm(total=len(todo), unit="article", desc="tagging", disable=not progress, dynamic_ncols=True)
        try:
            for start in range(0, len(todo), DOCS_PER_BATCH):
                texts = self.store.texts(todo[start : start + DOCS_PER_BATCH])
                found = dict(zip(texts, entities.tag(list(texts.values()))))
                with self.store.transaction():
                    self.store.set_entities(found, tagger)
                bar.update(len(found))
        finally:
            bar.close()
        return len(todo)

    def _write(self, docs: Sequence[Document], hashes: dict[str, str], replaced: Sequence[str], chunks: Sequence[Chunk], embeddings: np.ndarray, found: dict[str, list[Entity]]) -> None:
        def change() -> tuple[faiss.Index, lexical.LexicalIndex]:
            stale = np.array(self.store.chunk_ids_of(replaced), dtype=np.int64)
            self.store.delete_articles(replaced)
            first = self.store.next_chunk_id()
            ids = np.arange(first, first + len(chunks), dtype=np.int64)
            self.store.insert(((d, hashes[d.id]) for d in docs), list(zip(ids.tolist(), chunks)))
            self.store.set_entities(found, entities.tagger_name())
            return self._updated_vectors(stale, ids, embeddings), self._updated_lexical(stale, ids, [c.text for c in chunks])

        self._commit(change)

    def remove(self, doc_ids: Sequence[str] = (), sources: Sequence[str] = ()) -> list[str]:
        """Remove articles by id or by source (path or URL); returns the ids removed.

        Raises InputError when a given id or source matches nothing, before changing anything."""
        with self._writing():
            ids = self.store.article_ids(doc_ids, sources)
            if ids:  # an ingest that replaces these articles with nothing
                dimension = self.embedder.dimension if self._faiss is None else self._faiss.d
                self._write([], {}, ids, [], np.zeros((0, dimension), np.float32), {})
            return ids

    def reembed(self, progress: bool = False) -> int:
        """Embed every stored chunk again with this index's backend and replace all the
        vectors in one commit (after choosing another backend, say); returns the count."""
        with self._writing():
            return self._reembed(progress)

    def _reembed(self, progress: bool) -> int:
        ids, texts = self.store.all_chunk_texts()
        if not texts:
            return 0
        bar = tqdm(total=len(texts), unit="chunk", desc="embedding", disable=not progress, dynamic_ncols=True)
        parts = []
        try:
            for start in range(0, len(texts), 512):
                parts.append(self.embedder.encode(texts[start : start + 512], on_batch=bar.update))
        finally:
            bar.close()
        vecs = np.concatenate(parts)
        self._commit(lambda: (vectors.build(self.index_kind, vecs, ids, vecs.shape[1]), None))
        return len(ids)

    def set_index_type(self, kind: vectors.IndexType) -> bool:
        """Record the vector index type to keep (``auto`` picks by size) and rebuild the
        vectors now if they are not of it; returns whether they were rebuilt."""
        with self._writing():
            return self._set_index_type(kind)

    def _set_index_type(self, kind: vectors.IndexType) -> bool:
        if self.meta.index_type is kind:
            return False
        self.index_kind = kind
        rebuild = self._faiss is not None and vectors.needs_rebuild(self._faiss, kind, self._faiss.ntotal)

        def change() -> tuple[faiss.Index | None, lexical.LexicalIndex | None]:
            if not rebuild:
                return None, None
            ids, vecs = vectors.contents(self._faiss)
            return vectors.build(kind, vecs, ids, self._faiss.d), None

        self._commit(change)
        return rebuild

    def _updated_vectors(self, stale: np.ndarray, ids: np.ndarray, embeddings: np.ndarray) -> faiss.Index:
        """The vector index with ``stale`` removed and ``embeddings`` added under ``ids``:
        changed in place, or rebuilt when its type no longer suits its size."""
        index = self._faiss
        n_after = (0 if index is None else index.ntotal - len(stale)) + len(ids)
        if index is not None and not vectors.needs_rebuild(index, self.index_kind, n_after):
            # A private copy takes the change: the open index (memory-mapped, read-only) serves
            # searches as it was until the commit.
            index = vectors.remove(vectors.read_index(self.path / self.meta.faiss_file), stale)
            vectors.add(index, embeddings, ids)
            return index
        if index is None:
            return vectors.build(self.index_kind, embeddings, ids, self.embedder.dimension)
        have, vecs = vectors.contents(index)
        keep = ~np.isin(have, stale)
        return vectors.build(self.index_kind, np.concatenate([vecs[keep], embeddings]), np.concatenate([have[keep], ids]), index.d)

    def _updated_lexical(self, stale: np.ndarray, ids: np.ndarray, texts: Sequence[str]) -> lexical.LexicalIndex:
        """The BM25 index with chunks ``stale`` removed and ``ids`` added: the committed one
        with a new delta (see :mod:`rag.lexical`), or built from every stored chunk when
        there is none of the current format. Runs after the store's change, in its transaction."""
        current = self._committed_lexical()
        if current is None or not lexical.can_update(current, ids):
            return lexical.build(*self.store.all_chunk_texts())
        return lexical.update(current, stale, ids, texts)

    def _committed_lexical(self) -> lexical.LexicalIndex | None:
        if self._lexical is None:
            name = self.meta.lexical_dir
            if not name:
                return None
            try:
                self._lexical = lexical.read(self.path / name)
            except lexical.OldFormat:
                return None
            except IndexError_ as exc:
                raise IndexError_(f"{exc}; {REPAIR_HINT}") from None
        return self._lexical

    def _commit(self, change) -> None:
        """Run ``change`` (SQLite writes, returning the new vector and lexical indexes, or
        None for one that stays) in a transaction, write the new files under fresh names,
        point the meta at them and commit; on any failure leave the previous pair whole."""
        gen = uuid.uuid4().hex[:12]
        try:
            with self.store.transaction():
                index, lex = change()
                meta: dict[str, object] = {"index_type": self.index_kind}
                if index is not None:
                    meta.update(
                        faiss_file=f"vectors-{gen}.faiss",
                        model=self.embedder.name,
                        dimension=index.d,
                        chunk_max_tokens=self.chunking.max_tokens,
                        chunk_overlap_tokens=self.chunking.overlap_tokens,
                    )
                    vectors.write_index(index, self.path / f"vectors-{gen}.faiss")
                if lex is not None:
                    meta["lexical_dir"] = f"lexical-{gen}"
                    lexical.write(lex, self.path / f"lexical-{gen}")
                self.store.update_meta(**meta)
        except BaseException:
            self._remove_unreferenced()  # the open vectors were never changed: only new files
            self.index_kind = self.meta.index_type
            raise
        if index is not None:
            self._faiss = index
        if lex is not None:
            self._lexical = lex
        self._dates = None
        self._filters = {}
        self.meta = self.store.meta()  # with what the change wrote there too (the next chunk id)
        self._remove_unreferenced()

    def _remove_unreferenced(self) -> None:
        """Delete vector files and lexical folders that the committed meta does not name."""
        committed = self.store.meta()
        keep = {committed.faiss_file, committed.lexical_dir}
        for f in [*self.path.glob("vectors-*"), *self.path.glob("lexical-*")]:
            if f.name not in keep:
                shutil.rmtree(f, ignore_errors=True) if f.is_dir() else f.unlink(missing_ok=True)

    def rebuild_lexical(self) -> None:
        """Build the BM25 index again from the stored chunks and commit it (the one on disk
        damaged or lost: it holds nothing the database does not)."""
        with self._writing():
            self._commit(lambda: (None, lexical.build(*self.store.all_chunk_texts())))

    def lexical(self) -> lexical.LexicalIndex:
        """The BM25 index, read on first use; an index built before it existed, or before
        its current format, gets one now."""
        if self._committed_lexical() is None:
            if self.read_only:
                self._lexical = lexical.build(*self.store.all_chunk_texts())
            else:
                with self._writing():
                    if self._committed_lexical() is not None:  # another writer made one meanwhile
                        return self._lexical
                    self._commit(lambda: (None, lexical.build(*self.store.all_chunk_texts())))
        return self._lexical

    # -- reading -----------------------------------------------------------------------

    @property
    def is_empty(self) -> bool:
        return self._faiss is None or self._faiss.ntotal == 0

    def _chunk_dates(self) -> tuple[np.ndarray, np.ndarray]:
        """Every chunk's id and date (proleptic ordinal, 0 when undated), read once per
        write: date filters become one vectorised comparison, not a SQL query per ask."""
        if self._dates is None:
            self._dates = self.store.chunk_dates()
        return self._dates

    def allowed_ids(self, since: dt.date | None, until: dt.date | None) -> np.ndarray | None:
        """A mask over chunk ids: articles dated in [since, until]; None when there is no range."""
        if not since and not until:
            return None
        return self._date_filter(since, until, keep_undated=False).ids

    def ids_not_after(self, day: dt.date) -> np.ndarray | None:
        """A mask over chunk ids: articles not dated after ``day``, undated ones kept; None if that is all."""
        latest = self.store.latest_chunk_date()  # an indexed lookup: no chunk dates read
        if latest is None or latest <= day:
            return None
        return self._date_filter(None, day, keep_undated=True).ids

    def lexical_rows(self, allowed: np.ndarray) -> np.ndarray:
        """``allowed`` (a mask from :meth:`allowed_ids` or :meth:`ids_not_after`) as a mask
        over the rows of :meth:`lexical`."""
        lex = self.lexical()
        with self._filters_lock:
            found = next((f for f in self._filters.values() if f.ids is allowed), None)
        if found is not None and found.rows is not None and found.rows[0] is lex:
            return found.rows[1]
        ids, _ = self._chunk_dates()
        if found is not None and np.array_equal(lex.chunk_ids, ids):
            rows = found.keep  # the lexical index lists the same commit's chunks in the same (id) order
        else:
            rows = allowed[np.minimum(lex.chunk_ids, len(allowed) - 1)] & (lex.chunk_ids < len(allowed))
        if found is not None:
            found.rows = (lex, rows)
        return rows

    def _date_filter(self, since: dt.date | None, until: dt.date | None, keep_undated: bool) -> _DateFilter:
        """The chunks a date range keeps, for FAISS and for BM25. The last few are kept:
        most queries name the same days (as of today, say), and at a million chunks
        building the masks takes ~5 ms of an ask."""
        key = (since, until, keep_undated)
        with self._filters_lock:
            found = self._filters.get(key)
        if found is not None:
            return found
        ids, days = self._chunk_dates()
        keep = np.ones(len(days), dtype=bool) if keep_undated else days > 0
        if since:
            keep &= days >= since.toordinal()
        if until:
            keep &= days <= until.toordinal()  # undated ones are day 0: kept by ``keep_undated``
        mask = np.zeros(int(ids.max()) + 1 if len(ids) else 0, dtype=bool)
        mask[ids[keep]] = True
        found = _DateFilter(keep, mask)
        with self._filters_lock:
            self._filters[key] = found
            while len(self._filters) > FILTERS_KEPT:
                self._filters.pop(next(iter(self._filters)))
        return found

    def dense(self, query_vector: np.ndarray, k: int, allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Chunk ids and cosine similarities of the ``k`` nearest chunks (``allowed``: a mask over ids)."""
        if self.is_empty:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        scores, ids = vectors.search(self._faiss, query_vector[None, :], k, allowed)
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]

    def similarities(self, ids: np.ndarray, query_vector: np.ndarray) -> np.ndarray:
        """Cosine similarity of the query with the stored vectors of ``ids``."""
        if len(ids) == 0:
            return np.zeros(0, dtype=np.float32)
        return vectors.reconstruct(self._faiss, ids) @ query_vector

    def passages(self, ids: Sequence[int], scores: Sequence[float], sims: Sequence[float]) -> list[Passage]:
        """Passages of chunk ``ids``, without entities (see :meth:`with_entities`)."""
        rows = self.store.chunks([int(i) for i in ids])
        out = []
        for i, score, sim in zip(ids, scores, sims):
            r = rows.get(int(i))
            if r is not None:
                out.append(Passage(r.id, r.doc_id, r.source, r.title, r.date, r.text, r.start, r.end, float(score), float(sim)))
        return out

    def with_entities(self, passages: Sequence[Passage]) -> list[Passage]:
        """The passages with the named entities inside them: looked up only for the few
        passages a search returns, not for every candidate it ranked."""
        return [
            replace(p, entities=tuple(e.shifted(-p.start) for e in self.store.entities_within(p.doc_id, p.start, p.end)))
            for p in passages
        ]

    def article(self, doc_id: str) -> Document | None:
        """The stored article ``doc_id`` (its text as ingested), or None."""
        return self.store.article(doc_id)

    def texts(self, doc_ids: Sequence[str]) -> dict[str, str]:
        """The full texts of these articles, by id (those the index holds)."""
        return self.store.texts(doc_ids)

    def articles(self, since: dt.date | None = None, until: dt.date | None = None, source: str | None = None) -> list[ArticleEntry]:
        """What is indexed: each article's id, date, source, title and chunk count, oldest
        first (undated last), optionally only those in a date range or whose source
        contains ``source``."""
        return self.store.listing(since, until, source)

    def info(self) -> IndexInfo:
        articles, chunks = self.store.counts()
        size = sum(f.stat().st_size for f in self.path.iterdir() if f.is_file())
        return IndexInfo(
            path=str(self.path),
            articles=articles,
            chunks=chunks,
            vectors=0 if self._faiss is None else int(self._faiss.ntotal),
            model=self.meta.model or self.embedder.name,
            dimension=self.meta.dimension,
            index_type="none" if self._faiss is None else vectors.index_type(self._faiss),
            size_bytes=size,
            format_version=FORMAT_VERSION,
        )

    # -- asking ------------------------------------------------------------------------
    # Each takes a Query, or its text and fields (validated as one); ``as_of`` is the day
    # the question is asked (default today): later articles are left out, recent ones preferred.

    def search(self, query: Query | str, k: int = DEFAULT_K, since: dt.date | None = None, until: dt.date | None = None, mode: Mode = DEFAULT_MODE, as_of: dt.date | None = None) -> list[Passage]:
        """The ``k`` passages that best match the query, best first, each a window of
        whole sentences around the chunk that matched. Raises InputError for an invalid
        query (see :class:`rag.Query`)."""
        return search(self, as_query(query, k, since, until, mode, as_of))

    def ask(self, question: Query | str, k: int = DEFAULT_K, since: dt.date | None = None, until: dt.date | None = None, mode: Mode = DEFAULT_MODE, as_of: dt.date | None = None, config: AnswerConfig | None = None) -> Answer:
        """A short answer with its date, the sentence it came from and the ``k`` passages
        read; ``text`` is None when the index holds no answer. Raises InputError for an
        invalid query."""
        from .answer import AnswerConfig, answer

        return answer(self, as_query(question, k, since, until, mode, as_of), config or AnswerConfig())

    def summarize(self, query: Query | str, max_sentences: int = DEFAULT_K, since: dt.date | None = None, until: dt.date | None = None, mode: Mode = DEFAULT_MODE, as_of: dt.date | None = None, timeline: bool = False, config: SummaryConfig | None = None) -> Summary:
        """At most ``max_sentences`` cited sentences on the topic from several articles,
        without repeats, in date order (``timeline``: grouped by the day of what they
        report); none when the index holds nothing on it. Raises InputError for an
        invalid query."""
        from .summarize import SummaryConfig, summarize

        return summarize(self, as_query(query, max_sentences, since, until, mode, as_of), config or SummaryConfig(), timeline)

