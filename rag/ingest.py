"""Writing articles into an index: chunk, embed, tag, store, in checkpointed commits.

Each function takes the index's :class:`rag.commit.Commits` (and what it needs of the
index: the embedder, the chunking) and runs under its write lock, so that a write from
another process between two checkpoints is caught up with, never overwritten.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

import faiss
import numpy as np
from tqdm.auto import tqdm

from . import entities, lexical, vectors
from .chunk import ChunkConfig, chunk_document
from .commit import Commits
from .embed import Embedder
from .types import Chunk, Document, Entity, IndexType, IngestReport

CHECKPOINT_SECONDS = 120.0  # an interrupted ingest loses at most this much embedding work
DOCS_PER_BATCH = 64  # articles chunked, embedded and tagged together
REEMBED_BATCH = 512  # chunks per call when every stored chunk is embedded again


def content_hash(doc: Document) -> str:
    """Identity of an article's content: re-ingesting the same content adds nothing."""
    date = doc.date.isoformat() if doc.date else ""
    return hashlib.sha256(f"{date}\n{doc.title}\n{doc.text}".encode()).hexdigest()


@dataclass
class Writer:
    """What a write needs of an index: its commits, embedder and chunking."""

    commits: Commits
    embedder: Embedder
    chunking: ChunkConfig

    def vector_fields(self) -> dict[str, object]:
        """What new vectors are recorded as made with (see :meth:`Commits.commit`)."""
        return {
            "model": self.embedder.name,
            "chunk_max_tokens": self.chunking.max_tokens,
            "chunk_overlap_tokens": self.chunking.overlap_tokens,
        }


def add_documents(
    w: Writer,
    docs: Sequence[Document],
    progress: bool = False,
    warnings: Sequence[str] = (),
    checkpoint_seconds: float = CHECKPOINT_SECONDS,
    encoder: Encoder | None = None,
) -> IngestReport:
    """Embed and store ``docs``, committing a checkpoint every ``checkpoint_seconds``
    (``encoder``: where the chunks are embedded, by default the index's embedder).

    Each checkpoint is an atomic write of the articles embedded so far, so an
    interrupted ingest keeps them, and running it again embeds only the rest
    (articles already stored with the same content are skipped).
    """
    with w.commits.writing():
        store = w.commits.store
        hashes = {d.id: content_hash(d) for d in docs}
        known = store.content_hashes([d.id for d in docs])
        fresh = [d for d in docs if known.get(d.id) != hashes[d.id]]
        skipped = len(docs) - len(fresh)
        tag_missing(w, progress)
        if not fresh:
            return IngestReport(0, 0, skipped, 0, list(warnings))
        total = embed_in_checkpoints(
            w.embedder,
            w.chunking,
            fresh,
            lambda done: _write_pending(w, done, hashes, known),
            progress,
            checkpoint_seconds,
        )
        replaced = sum(1 for d in fresh if d.id in known)
        return IngestReport(len(fresh) - replaced, replaced, skipped, total, list(warnings))


Embedded = tuple[Document, list[Chunk], np.ndarray, list[Entity]]  # an article, its chunks, their vectors, its entities


class Encoder(Protocol):
    """What embeds an ingest's chunks and tags its articles' names elsewhere than in this
    process: a :class:`rag.cluster.ClusterEmbedder` of the index's model on a Ray
    cluster (by default the index's :class:`rag.embed.Embedder` and
    :func:`rag.entities.tag` do it here)."""

    docs_per_batch: int  # articles whose chunks it is handed at once

    def encode_and_tag(
        self,
        texts: list[str],
        articles: list[str],
        chunks_per_article: list[int],
        on_batch: Callable[[int], None] | None = None,
    ) -> tuple[np.ndarray, list[list[Entity]]]: ...


def embed_in_checkpoints(
    embedder: Embedder,
    chunking: ChunkConfig,
    docs: Sequence[Document],
    write: Callable[[list[Embedded]], None],
    progress: bool = False,
    checkpoint_seconds: float = CHECKPOINT_SECONDS,
    encoder: Encoder | None = None,
) -> int:
    """Chunk ``docs``, embed and tag them (with ``encoder``, by default here) a batch
    at a time, handing what is done to ``write`` every ``checkpoint_seconds`` and at the
    end; returns the chunks embedded. One index writes each checkpoint as one commit, a
    sharded one as a commit per shard."""
    per_batch = encoder.docs_per_batch if encoder is not None else DOCS_PER_BATCH
    config = ChunkConfig(min(chunking.max_tokens, embedder.max_tokens), chunking.overlap_tokens)
    per_doc = [chunk_document(d, embedder.count_tokens, config) for d in docs]
    total = sum(map(len, per_doc))
    bar = tqdm(total=total, unit="chunk", desc="embedding", disable=not progress, dynamic_ncols=True)
    pending: list[Embedded] = []
    last = time.monotonic()
    try:
        for start in range(0, len(docs), per_batch):
            batch = list(zip(docs[start : start + per_batch], per_doc[start : start + per_batch]))
            texts = [c.text for _, chunks in batch for c in chunks]
            if encoder is None:
                vecs = embedder.encode(texts, on_batch=bar.update)
                found = entities.tag([doc.text for doc, _ in batch])
            else:
                vecs, found = encoder.encode_and_tag(
                    texts, [doc.text for doc, _ in batch], [len(chunks) for _, chunks in batch], on_batch=bar.update
                )
            offset = 0
            for (doc, chunks), ents in zip(batch, found):
                pending.append((doc, chunks, vecs[offset : offset + len(chunks)], ents))
                offset += len(chunks)
            if time.monotonic() - last >= checkpoint_seconds and start + per_batch < len(docs):
                write(pending)
                pending, last = [], time.monotonic()
        if pending:
            write(pending)
    finally:
        bar.close()
    return total


def _write_pending(
    w: Writer,
    pending: list[Embedded],
    hashes: dict[str, str],
    known: dict[str, str],
) -> None:
    if not pending:
        return
    docs = [d for d, _, _, _ in pending]
    chunks = [c for _, cs, _, _ in pending for c in cs]
    vecs = np.concatenate([v for _, _, v, _ in pending]) if chunks else np.zeros((0, w.embedder.dimension), np.float32)
    found = {d.id: ents for d, _, _, ents in pending}
    write_change(w, StoreChange(docs, hashes, [d.id for d in docs if d.id in known], chunks, vecs, found))


# How a write turns the committed vectors into the next: (writer, chunk ids removed,
# chunk ids added, their vectors) -> the new index. A shard of a sharded index uses its own.
VectorUpdate = Callable[[Writer, np.ndarray, np.ndarray, np.ndarray], faiss.Index]


@dataclass(frozen=True)
class StoreChange:
    """One write to an index: the articles ``replaced`` removed, ``docs`` stored with
    their ``chunks`` (under ``ids``, by default the next ones of the index), their
    ``embeddings`` (one row a chunk) and their entities (``found``, by article id)."""

    docs: Sequence[Document]
    hashes: dict[str, str]  # content hash by article id
    replaced: Sequence[str]
    chunks: Sequence[Chunk]
    embeddings: np.ndarray
    found: dict[str, list[Entity]]
    ids: np.ndarray | None = None
    update_vectors: VectorUpdate | None = None  # how the vectors change; by default this index's way
    write_id: str | None = None  # the sharded write this is part of, recorded in the meta (see rag.journal)


def write_change(w: Writer, c: StoreChange) -> None:
    """Commit one change (:class:`StoreChange`)."""
    with staged_change(w, c):
        pass


def staged_change(w: Writer, c: StoreChange) -> AbstractContextManager[None]:
    """:func:`write_change` made ready on entering and committed when the block ends
    (:meth:`rag.commit.Commits.staged`): the shards of a sharded index stage their parts
    of one write, then commit them together."""
    store = w.commits.store

    def change() -> tuple[faiss.Index, lexical.LexicalIndex]:
        stale = np.array(store.chunk_ids_of(c.replaced), dtype=np.int64)
        store.delete_articles(c.replaced)
        if c.ids is None:
            first = store.next_chunk_id()
            new_ids = np.arange(first, first + len(c.chunks), dtype=np.int64)
        else:
            new_ids = np.asarray(c.ids, np.int64)
        store.insert(((d, c.hashes[d.id]) for d in c.docs), list(zip(new_ids.tolist(), c.chunks)))
        store.set_entities(c.found, entities.tagger_name())
        if c.write_id is not None:
            store.update_meta(write_id=c.write_id)
        return (c.update_vectors or _updated_vectors)(w, stale, new_ids, c.embeddings), _updated_lexical(
            w.commits, stale, new_ids, [chunk.text for chunk in c.chunks]
        )

    return w.commits.staged(change, w.vector_fields())


def _updated_vectors(w: Writer, stale: np.ndarray, ids: np.ndarray, embeddings: np.ndarray) -> faiss.Index:
    """The vector index with ``stale`` removed and ``embeddings`` added under ``ids``:
    changed in place, or rebuilt when its type no longer suits its size."""
    commits = w.commits
    index = commits.vectors
    n_after = (0 if index is None else index.ntotal - len(stale)) + len(ids)
    if index is not None and not vectors.needs_rebuild(index, commits.index_type, n_after):
        return changed_copy(commits, stale, ids, embeddings)
    all_ids, vecs = vectors.kept_and_added(index, stale, ids, embeddings)
    return vectors.build(commits.index_type, vecs, all_ids, w.embedder.dimension if index is None else index.d)


def changed_copy(commits: Commits, stale: np.ndarray, ids: np.ndarray, embeddings: np.ndarray) -> faiss.Index:
    """The committed vectors with ``stale`` removed and ``embeddings`` added, in a private
    copy read from their file: the open index (memory-mapped, read-only) serves searches
    as it was until the commit."""
    assert commits.meta.faiss_file is not None
    index = vectors.remove(vectors.read_index(commits.path / commits.meta.faiss_file), stale)
    vectors.add(index, embeddings, ids)
    return index


def _updated_lexical(
    commits: Commits, stale: np.ndarray, ids: np.ndarray, texts: Sequence[str]
) -> lexical.LexicalIndex:
    """The BM25 index with chunks ``stale`` removed and ``ids`` added: the committed one
    with a new delta (see :mod:`rag.lexical`), or built from every stored chunk when
    there is none of the current format. Runs after the store's change, in its transaction."""
    current = commits.committed_lexical()
    if current is None or not lexical.can_update(current, ids):
        return commits.lexical_from_store()
    return lexical.update(current, stale, ids, texts)


def tag_missing(w: Writer, progress: bool = False) -> int:
    """Tag the articles stored without entities (an index from before tagging, or
    tagged by another tagger version); returns how many. Commits every batch, so an
    interruption keeps what was done and the vectors are never touched."""
    with w.commits.writing():
        store = w.commits.store
        tagger = entities.tagger_name()
        todo = store.untagged(tagger)
        if not todo:
            return 0
        bar = tqdm(total=len(todo), unit="article", desc="tagging", disable=not progress, dynamic_ncols=True)
        try:
            for start in range(0, len(todo), DOCS_PER_BATCH):
                texts = store.texts(todo[start : start + DOCS_PER_BATCH])
                found = dict(zip(texts, entities.tag(list(texts.values()))))
                with store.transaction():
                    store.set_entities(found, tagger)
                bar.update(len(found))
        finally:
            bar.close()
        return len(todo)


def remove(w: Writer, doc_ids: Sequence[str] = (), sources: Sequence[str] = ()) -> list[str]:
    """Remove articles by id or by source (path or URL); returns the ids removed.

    Raises InputError when a given id or source matches nothing, before changing anything."""
    with w.commits.writing():
        ids = w.commits.store.article_ids(doc_ids, sources)
        if ids:
            write_change(w, removal(w, ids))
        return ids


def removal(w: Writer, ids: Sequence[str]) -> StoreChange:
    """Removing the stored articles ``ids``: an ingest that replaces them with nothing."""
    current = w.commits.vectors
    dimension = w.embedder.dimension if current is None else current.d
    return StoreChange([], {}, ids, [], np.zeros((0, dimension), np.float32), {})


def reembed(w: Writer, progress: bool = False) -> int:
    """Embed every stored chunk again with the embedder's backend and replace all the
    vectors in one commit (after choosing another backend, say); returns the count."""
    with w.commits.writing():
        ids, texts = w.commits.store.all_chunk_texts()
        if not texts:
            return 0
        bar = tqdm(total=len(texts), unit="chunk", desc="embedding", disable=not progress, dynamic_ncols=True)
        parts = []
        try:
            for start in range(0, len(texts), REEMBED_BATCH):
                parts.append(w.embedder.encode(texts[start : start + REEMBED_BATCH], on_batch=bar.update))
        finally:
            bar.close()
        vecs = np.concatenate(parts)
        w.commits.commit(
            lambda: (vectors.build(w.commits.index_type, vecs, ids, vecs.shape[1]), None), w.vector_fields()
        )
        return len(ids)


def set_index_type(w: Writer, kind: IndexType) -> bool:
    """Record the vector index type to keep (``auto`` picks by size) and rebuild the
    vectors now if they are not of it; returns whether they were rebuilt."""
    with w.commits.writing():
        commits = w.commits
        if commits.meta.index_type is kind:
            return False
        commits.index_type = kind
        current = commits.vectors
        rebuild = current is not None and vectors.needs_rebuild(current, kind, current.ntotal)

        def change() -> tuple[faiss.Index | None, lexical.LexicalIndex | None]:
            if not rebuild or current is None:
                return None, None
            ids, vecs = vectors.contents(current)
            return vectors.build(kind, vecs, ids, current.d), None

        commits.commit(change, w.vector_fields())
        return rebuild
