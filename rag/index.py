"""An index directory (``rag.sqlite``; ``vectors-<gen>.faiss`` and ``lexical-<gen>/``,
the vectors and BM25 index of the last commit; ``write.lock``), and :class:`Index`, the
one object a program opens to use it. It delegates: writing to :mod:`rag.ingest` under
the commit protocol of :mod:`rag.commit`, reading to :mod:`rag.corpus`, asking to
:mod:`rag.retrieve`, :mod:`rag.answer` and :mod:`rag.summarize`. A reader that must not
see a write land halfway (a server answering while articles arrive) takes a snapshot.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from . import ingest, lexical
from .answer import AnswerConfig, answer
from .chunk import ChunkConfig
from .commit import Commits, take_snapshot
from .corpus import Corpus, Loaded
from .embed import Backend, Embedder, embedder_for
from .load import load_paths
from .query import DEFAULT_K, DEFAULT_MODE, Mode, Query, as_query, check_range
from .retrieve import search
from .store import Store, open_store
from .summarize import SummaryConfig, summarize
from .types import Answer, ArticleEntry, Document, IndexInfo, IndexMeta, IndexType, IngestReport, Passage, Summary

DEFAULT_INDEX = Path("indexes/default")


class Asking:
    """Searching, asking and summarising over an index's :attr:`corpus`, the same for one
    index and for a sharded one (:class:`rag.shards.ShardedIndex`). Each takes a Query,
    or its text and fields (validated as one)."""

    @property
    def corpus(self) -> Corpus:
        raise NotImplementedError

    def search(
        self,
        query: Query | str,
        k: int = DEFAULT_K,
        since: dt.date | None = None,
        until: dt.date | None = None,
        mode: Mode = DEFAULT_MODE,
        as_of: dt.date | None = None,
    ) -> list[Passage]:
        """The ``k`` passages that best match the query, best first, each a window of
        whole sentences around the chunk that matched. ``as_of`` (default today) leaves
        out later articles and prefers recent ones."""
        return search(self.corpus, as_query(query, k, since, until, mode, as_of))

    def ask(
        self,
        question: Query | str,
        k: int = DEFAULT_K,
        since: dt.date | None = None,
        until: dt.date | None = None,
        mode: Mode = DEFAULT_MODE,
        as_of: dt.date | None = None,
        config: AnswerConfig | None = None,
    ) -> Answer:
        """A short answer with its date, the sentence it came from and the ``k`` passages
        read; ``text`` is None when the index holds no answer."""
        return answer(self.corpus, as_query(question, k, since, until, mode, as_of), config or AnswerConfig())

    def summarize(
        self,
        query: Query | str,
        max_sentences: int = DEFAULT_K,
        since: dt.date | None = None,
        until: dt.date | None = None,
        mode: Mode = DEFAULT_MODE,
        as_of: dt.date | None = None,
        timeline: bool = False,
        config: SummaryConfig | None = None,
    ) -> Summary:
        """At most ``max_sentences`` cited sentences on the topic from several articles,
        without repeats, in date order (``timeline``: grouped by the day of what they
        report); none when the index holds nothing on it."""
        return summarize(
            self.corpus, as_query(query, max_sentences, since, until, mode, as_of), config or SummaryConfig(), timeline
        )


class Index(Asking):
    """An open index directory. Use :meth:`open` (or :meth:`snapshot`); the embedding
    model loads on first use. Every method raises :class:`rag.RagError` subclasses with a
    one-line message for what the user can fix: :class:`rag.InputError` for bad input,
    :class:`rag.IndexError_` for a missing, damaged or incompatible index."""

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
        self._commits = Commits(path, store, read_only)
        meta = self._commits.meta
        if like is not None and like.meta == meta and like.path == path:
            self._commits.share(like._commits)  # the same commit's files (each write names new ones)
        elif not skip_vectors:
            self._commits.load_vectors()
        self.embedder = embedder_for(path, meta.model, model, embedder, backend)
        self.chunking = ChunkConfig(
            meta.chunk_max_tokens or chunking.max_tokens,
            meta.chunk_overlap_tokens if meta.chunk_overlap_tokens is not None else chunking.overlap_tokens,
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
        embedder: Embedder | None = None,
    ) -> Index:
        """Open the index at ``path``; with ``create`` an empty one is made if it is missing.
        ``backend`` is how articles added through it are embedded (queries: see Embedder).
        A ``shared`` index may be used from several threads, one at a time. A write waits
        up to ``lock_wait`` seconds for another process's write to finish. With
        ``skip_vectors`` the vector file is not read (to rebuild it: :func:`rag.check.repair`).
        ``embedder`` lets several indexes (the shards of one) share one loaded model."""
        path = Path(path)
        store = open_store(path, create=create, shared=shared)
        try:
            index = cls(path, store, model, chunking, backend, embedder=embedder, skip_vectors=skip_vectors)
        except BaseException:
            store.close()
            raise
        index._commits.lock.wait = lock_wait
        return index

    @classmethod
    def snapshot(
        cls,
        path: str | Path = DEFAULT_INDEX,
        model: str | None = None,
        embedder: Embedder | None = None,
        like: Index | None = None,
    ) -> Index:
        """A read-only view of the index as of its last commit, that stays so while
        writers commit: its SQLite reads run in one read transaction and its vector and
        lexical files stay open after a commit deletes them. It may be shared by threads;
        ``embedder`` lets many snapshots share one loaded model. When nothing was
        committed since the earlier snapshot ``like``, its loaded vectors, lexical index
        and chunk dates are shared rather than read again (at a million chunks, a second
        or more for the first query after each new snapshot)."""

        def view(store: Store) -> Index:
            index = cls(Path(path), store, model, ChunkConfig(), embedder=embedder, read_only=True, like=like)
            index.lexical()
            return index

        return take_snapshot(Path(path), view)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def meta(self) -> IndexMeta:
        """The meta of the last commit this index has seen."""
        return self._commits.meta

    @property
    def is_empty(self) -> bool:
        """Whether the index holds no vectors (nothing ingested, or everything removed)."""
        return self._commits.vectors is None or self._commits.vectors.ntotal == 0

    @property
    def corpus(self) -> Loaded:
        """What retrieval reads (:mod:`rag.corpus`), as of the last commit seen: for
        :func:`rag.retrieve.retrieve`, :func:`rag.answer.answer` and the like."""
        c = self._commits
        return Loaded(self.store, self.embedder, c.vectors, c.lexical, c.filters)

    # -- writing: rag.ingest under rag.commit's protocol ------------------------------------

    def _writer(self) -> ingest.Writer:
        return ingest.Writer(self._commits, self.embedder, self.chunking)

    def add(self, paths: Sequence[str | Path], progress: bool = False) -> IngestReport:
        """Load, chunk, embed and store every article under ``paths``, all or nothing."""
        loaded = load_paths(list(paths))
        return self.add_documents(loaded.documents, progress=progress, warnings=loaded.warnings)

    def add_documents(
        self,
        docs: Sequence[Document],
        progress: bool = False,
        warnings: Sequence[str] = (),
        checkpoint_seconds: float = ingest.CHECKPOINT_SECONDS,
        encoder: ingest.Encoder | None = None,
    ) -> IngestReport:
        """Embed and store ``docs``: unchanged articles skipped, changed ones replaced, a
        checkpoint committed every ``checkpoint_seconds``; ``encoder`` embeds them
        elsewhere (:class:`rag.cluster.ClusterEmbedder`)."""
        return ingest.add_documents(self._writer(), docs, progress, warnings, checkpoint_seconds, encoder)

    def tag_missing(self, progress: bool = False) -> int:
        """Tag the articles stored without entities (or by another tagger); returns how many."""
        return ingest.tag_missing(self._writer(), progress)

    def remove(self, doc_ids: Sequence[str] = (), sources: Sequence[str] = ()) -> list[str]:
        """Remove articles by id or by source (path or URL); returns the ids removed.
        Raises InputError when a given id or source matches nothing, before changing anything."""
        return ingest.remove(self._writer(), doc_ids, sources)

    def reembed(self, progress: bool = False) -> int:
        """Embed every stored chunk again with this index's backend, in one commit; returns the count."""
        return ingest.reembed(self._writer(), progress)

    def set_index_type(self, kind: IndexType) -> bool:
        """Record the vector index type to keep (``auto`` picks by size) and rebuild the
        vectors now if they are not of it; returns whether they were rebuilt."""
        return ingest.set_index_type(self._writer(), kind)

    def rebuild_lexical(self) -> None:
        """Build the BM25 index again from the stored chunks and commit it."""
        self._commits.rebuild_lexical()

    def lexical(self) -> lexical.LexicalIndex:
        """The BM25 index, read on first use (built, and committed, where there is none)."""
        return self._commits.lexical()

    def article(self, doc_id: str) -> Document | None:
        """The stored article ``doc_id`` (its text as ingested), or None."""
        return self.store.article(doc_id)

    def articles(
        self, since: dt.date | None = None, until: dt.date | None = None, source: str | None = None
    ) -> list[ArticleEntry]:
        """What is indexed: each article's id, date, source, title and chunk count, oldest
        first (undated last), optionally only those in a date range or whose source
        contains ``source``. Raises InputError when ``since`` is after ``until``."""
        check_range(since, until)
        return self.store.listing(since, until, source)

    def info(self) -> IndexInfo:
        """Counts, model, vector index type and size on disk."""
        return self._commits.info(self.embedder.name)
