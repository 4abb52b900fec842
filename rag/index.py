"""An index directory: the SQLite store and the FAISS vectors kept in step.

Layout of ``DIR``::

    rag.sqlite            articles, chunks (offsets, dates), meta (model, dimension, ...)
    vectors-<gen>.faiss   the vectors; ``meta.faiss_file`` names the current one

A write builds the new vector file under a fresh name, then commits the SQLite
transaction that points ``meta.faiss_file`` at it, then deletes the old file. A crash
or a rejected input at any step leaves the previous pair readable and whole.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from . import entities, lexical, vectors
from .chunk import ChunkConfig, chunk_document
from .embed import Embedder, canonical_name
from .errors import IndexError_, ModelMismatchError
from .load import load_paths
from .retrieve import DEFAULT_MODE, Mode, check_k, check_range, search
from .store import FORMAT_VERSION, Store, connect
from .types import (
    Answer,
    Chunk,
    Document,
    Entity,
    IndexInfo,
    IngestReport,
    Passage,
    Summary,
)

DB_NAME = "rag.sqlite"
CHECKPOINT_SECONDS = 120.0  # an interrupted ingest loses at most this much embedding work
DOCS_PER_BATCH = 64
DEFAULT_INDEX = Path("indexes/default")


def content_hash(doc: Document) -> str:
    """Identity of an article's content: re-ingesting the same content adds nothing."""
    date = doc.date.isoformat() if doc.date else ""
    return hashlib.sha256(f"{date}\n{doc.title}\n{doc.text}".encode()).hexdigest()


class Index:
    """An open index directory. Use :meth:`open`; the embedding model loads on first use."""

    def __init__(self, path: Path, store: Store, model: str | None, chunking: ChunkConfig) -> None:
        self.path = path
        self.store = store
        self.meta = store.get_meta()
        self._faiss = None
        self._lexical: lexical.LexicalIndex | None = None
        if "faiss_file" in self.meta:
            self._faiss = vectors.read_index(path / self.meta["faiss_file"])
            _, n_chunks = store.counts()
            if self._faiss.ntotal != n_chunks:
                raise IndexError_(f"{path}: index is inconsistent ({self._faiss.ntotal} vectors for {n_chunks} chunks)")
        built_with = self.meta.get("model")
        wanted = canonical_name(model) if model else built_with
        if built_with and wanted != built_with:
            raise ModelMismatchError(f"{path}: index was built with model {built_with!r}; refusing to use {wanted!r} (vectors of two models cannot be mixed)")
        self.embedder = Embedder(wanted)
        self.chunking = ChunkConfig(
            int(self.meta.get("chunk_max_tokens", chunking.max_tokens)),
            int(self.meta.get("chunk_overlap_tokens", chunking.overlap_tokens)),
        )

    @classmethod
    def open(cls, path: str | Path = DEFAULT_INDEX, model: str | None = None, create: bool = False, chunking: ChunkConfig = ChunkConfig()) -> Index:
        """Open the index at ``path``; with ``create`` an empty one is made if it is missing."""
        path = Path(path)
        if not path.exists():
            if not create:
                raise IndexError_(f"{path}: no index here (build one with 'rag ingest')")
            path.mkdir(parents=True)
        elif not path.is_dir():
            raise IndexError_(f"{path}: not a directory")
        conn = connect(path / DB_NAME, create=create)
        return cls(path, Store(conn), model, chunking)

    def close(self) -> None:
        self.store.conn.close()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -----------------------------------------------------------------------

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
                vecs = self.embedder.encode(texts)
                found = entities.tag([doc.text for doc, _ in batch])
                offset = 0
                for (doc, chunks), ents in zip(batch, found):
                    pending.append((doc, chunks, vecs[offset : offset + len(chunks)], ents))
                    offset += len(chunks)
                bar.update(len(texts))
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
        tagger = entities.tagger_name()
        todo = self.store.untagged(tagger)
        if not todo:
            return 0
        bar = tqdm(total=len(todo), unit="article", desc="tagging", disable=not progress, dynamic_ncols=True)
        try:
            for start in range(0, len(todo), DOCS_PER_BATCH):
                texts = self.store.texts(todo[start : start + DOCS_PER_BATCH])
                found = dict(zip(texts, entities.tag(list(texts.values()))))
                self.store.conn.execute("BEGIN IMMEDIATE")
                try:
                    self.store.set_entities(found, tagger)
                    self.store.conn.execute("COMMIT")
                except BaseException:
                    self.store.conn.execute("ROLLBACK")
                    raise
                bar.update(len(found))
        finally:
            bar.close()
        return len(todo)

    def _write(self, docs: Sequence[Document], hashes: dict[str, str], replaced: Sequence[str], chunks: Sequence[Chunk], embeddings: np.ndarray, found: dict[str, list[Entity]]) -> None:
        conn = self.store.conn
        gen = uuid.uuid4().hex[:12]
        new_vectors, new_lexical = f"vectors-{gen}.faiss", f"lexical-{gen}"
        index = self._faiss if self._faiss is not None else vectors.new_index(self.embedder.dimension)
        conn.execute("BEGIN IMMEDIATE")
        try:
            stale = np.array(self.store.chunk_ids_of(replaced), dtype=np.int64)
            self.store.delete_articles(replaced)
            first = self.store.next_chunk_id()
            ids = np.arange(first, first + len(chunks), dtype=np.int64)
            self.store.insert(((d, hashes[d.id]) for d in docs), list(zip(ids.tolist(), chunks)))
            self.store.set_entities(found, entities.tagger_name())
            vectors.remove(index, stale)
            vectors.add(index, embeddings, ids)
            vectors.write_index(index, self.path / new_vectors)
            lex = lexical.build(*self.store.all_chunk_texts())
            lexical.write(lex, self.path / new_lexical)
            meta = {
                "faiss_file": new_vectors,
                "lexical_dir": new_lexical,
                "model": self.embedder.name,
                "dimension": str(self.embedder.dimension),
                "chunk_max_tokens": str(self.chunking.max_tokens),
                "chunk_overlap_tokens": str(self.chunking.overlap_tokens),
            }
            self.store.set_meta(meta)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            self._remove_unreferenced()
            old = self.meta.get("faiss_file")
            self._faiss = vectors.read_index(self.path / old) if old else None
            raise
        self._faiss, self._lexical = index, lex
        self.meta.update(meta)
        self._remove_unreferenced()

    def _remove_unreferenced(self) -> None:
        """Delete vector files and lexical folders that the committed meta does not name."""
        committed = self.store.get_meta()
        keep = {committed.get("faiss_file"), committed.get("lexical_dir")}
        for f in [*self.path.glob("vectors-*"), *self.path.glob("lexical-*")]:
            if f.name not in keep:
                shutil.rmtree(f, ignore_errors=True) if f.is_dir() else f.unlink(missing_ok=True)

    def lexical(self) -> lexical.LexicalIndex:
        """The BM25 index, read on first use; an index built before it existed gets one now."""
        if self._lexical is None:
            name = self.meta.get("lexical_dir")
            if name:
                self._lexical = lexical.read(self.path / name)
            else:
                self._lexical = lexical.build(*self.store.all_chunk_texts())
                name = f"lexical-{uuid.uuid4().hex[:12]}"
                lexical.write(self._lexical, self.path / name)
                self.store.conn.execute("BEGIN IMMEDIATE")
                self.store.set_meta({"lexical_dir": name})
                self.store.conn.execute("COMMIT")
                self.meta["lexical_dir"] = name
        return self._lexical

    # -- reading -----------------------------------------------------------------------

    @property
    def is_empty(self) -> bool:
        return self._faiss is None or self._faiss.ntotal == 0

    def allowed_ids(self, since: dt.date | None, until: dt.date | None) -> np.ndarray | None:
        """Chunk ids of articles dated in [since, until]; None when there is no range."""
        if not since and not until:
            return None
        return np.array(self.store.chunk_ids_between(since, until), dtype=np.int64)

    def ids_not_after(self, day: dt.date) -> np.ndarray | None:
        """Chunk ids of articles not dated after ``day``, undated ones kept; None if that is all."""
        ids = self.store.chunk_ids_not_after(day)
        return None if ids is None else np.array(ids, dtype=np.int64)

    def dense(self, query_vector: np.ndarray, k: int, allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Chunk ids and cosine similarities of the ``k`` nearest chunks."""
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
        rows = self.store.chunks([int(i) for i in ids])
        out = []
        for i, score, sim in zip(ids, scores, sims):
            r = rows.get(int(i))
            if r is not None:
                ents = tuple(e.shifted(-r.start) for e in self.store.entities_within(r.doc_id, r.start, r.end))
                out.append(Passage(r.id, r.doc_id, r.source, r.title, r.date, r.text, r.start, r.end, float(score), float(sim), entities=ents))
        return out

    def info(self) -> IndexInfo:
        articles, chunks = self.store.counts()
        size = sum(f.stat().st_size for f in self.path.iterdir() if f.is_file())
        return IndexInfo(
            path=str(self.path),
            articles=articles,
            chunks=chunks,
            vectors=0 if self._faiss is None else int(self._faiss.ntotal),
            model=self.meta.get("model", self.embedder.name),
            dimension=int(self.meta.get("dimension", 0)),
            index_type="none" if self._faiss is None else vectors.index_type(self._faiss),
            size_bytes=size,
            format_version=FORMAT_VERSION,
        )

    # -- asking ------------------------------------------------------------------------
    # ``as_of`` is the day the question is asked (default: today): later articles are left
    # out and recent ones preferred.

    def search(self, query: str, k: int = 5, since: dt.date | None = None, until: dt.date | None = None, mode: Mode = DEFAULT_MODE, as_of: dt.date | None = None) -> list[Passage]:
        return search(self, query, k, since, until, mode, as_of)

    def ask(self, question: str, k: int = 5, since: dt.date | None = None, until: dt.date | None = None, mode: Mode = DEFAULT_MODE, as_of: dt.date | None = None) -> Answer:
        from .answer import AnswerConfig, answer

        check_k(k)
        check_range(since, until)
        return answer(self, question, since, until, AnswerConfig(show_passages=k, read_passages=max(8, k), mode=mode), as_of)

    def summarize(self, query: str, max_sentences: int = 5, since: dt.date | None = None, until: dt.date | None = None, mode: Mode = DEFAULT_MODE, as_of: dt.date | None = None) -> Summary:
        from .summarize import SummaryConfig, summarize

        return summarize(self, query, max_sentences, since, until, SummaryConfig(mode=mode), as_of)
