"""A sharded index: one directory holding N shards, each a complete index of the usual
format (SQLite + FAISS + BM25), and ``shards.json``, the manifest.

An article goes to the shard its content hash names (:func:`shard_of`), so its chunks,
their windows and any copy of it under another id stay together, and ingesting the same
content again finds it where it was. Chunk ids are allocated across all shards from one
counter, in ingest order, so a sharded index numbers its chunks exactly as one index of
the same articles would; each shard holds an ascending subset of them.

Reading is exact: :class:`rag.merged.ShardedCorpus` answers the reads of
:class:`rag.corpus.Corpus` by asking every shard and merging, with BM25's corpus-wide figures (N, document
frequencies, average length) summed over the shards, a date filter's share of vectors
counted over all of them, and an IVF trained once for the whole index and copied into
every shard (``ivf.faiss``), so each shard probes the same clusters one index would.
Retrieval, answers and summaries run over it unchanged.

Writing holds the directory's write lock and every shard's. A write is staged in each
shard it touches (:meth:`rag.commit.Commits.staged`: transaction open, new files
written), so a failure or an interrupt while staging leaves every shard as it was; then
its parts are saved in a journal (:mod:`rag.journal`) and the shards commit in turn. A
crash between two shards' COMMITs leaves the journal, and the next open of the index
applies the parts the crash cut off: every write is stored in all its shards or in none.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import faiss
import numpy as np

from . import journal, vectors
from .embed import Backend, Embedder
from .errors import IndexBusyError, IndexError_, InputError, NotFoundError
from .index import Asking, Index
from .ingest import (
    CHECKPOINT_SECONDS,
    Embedded,
    Encoder,
    StoreChange,
    Writer,
    changed_copy,
    content_hash,
    embed_in_checkpoints,
    removal,
    staged_change,
    write_change,
)
from .load import load_paths
from .lock import WriteLock
from .merged import InProcess, ShardedCorpus
from .types import ArticleEntry, Chunk, Document, Entity, IndexInfo, IndexType, IngestReport

MANIFEST = "shards.json"
MANIFEST_FORMAT = 1
TEMPLATE = "ivf.faiss"  # the trained, empty IVF every shard's vectors were added to
MAX_SHARDS = 256
# Shards a write stages at once, a thread each (1: one after another). On this 2-core
# machine, a checkpoint of 60 articles into 4 shards of 131k chunks staged and committed
# in ~0.56 s against ~0.72 s one after another (eval/README.md).
STAGING_THREADS = 8


@dataclass(frozen=True)
class Manifest:
    shards: int
    format: int = MANIFEST_FORMAT

    def folders(self, root: Path) -> list[Path]:
        return [root / f"shard-{i:03d}" for i in range(self.shards)]


def read_manifest(path: Path) -> Manifest | None:
    """The manifest of a sharded index at ``path``; None for a single index or none."""
    f = path / MANIFEST
    if not f.exists():
        return None
    try:
        data = json.loads(f.read_text())
        manifest = Manifest(int(data["shards"]), int(data["format"]))
    except (OSError, ValueError, KeyError, TypeError):
        raise IndexError_(f"{f}: shard manifest is damaged or unreadable") from None
    if manifest.format != MANIFEST_FORMAT:
        raise IndexError_(f"{f}: shard manifest format {manifest.format} is not one this rag reads ({MANIFEST_FORMAT})")
    if not 1 <= manifest.shards <= MAX_SHARDS:
        raise IndexError_(f"{f}: shard manifest names {manifest.shards} shards")
    return manifest


def is_sharded(path: str | Path) -> bool:
    return (Path(path) / MANIFEST).exists()


def shard_of(content: str, shards: int) -> int:
    """The shard of an article with content hash ``content`` (hex SHA-256)."""
    return int(content[:16], 16) % shards


class ShardedIndex(Asking):
    """An open sharded index directory: the methods of :class:`rag.Index` that read and
    add articles, over its shards (see the module's docstring). Use :meth:`open` or
    :meth:`create`; :func:`open_index` opens either kind."""

    def __init__(self, path: Path, manifest: Manifest, shards: list[Index], embedder: Embedder) -> None:
        self.path = path
        self.manifest = manifest
        self.shards = shards
        self.embedder = embedder
        self.lock = WriteLock(path)
        models = {s.meta.model for s in shards if s.meta.model}
        if len(models) > 1:
            raise IndexError_(f"{path}: shards were built with different models ({', '.join(sorted(models))})")

    @classmethod
    def open(
        cls,
        path: str | Path,
        model: str | None = None,
        backend: Backend = Backend.AUTO,
        lock_wait: float = 0.0,
    ) -> ShardedIndex:
        """The sharded index at ``path``; its shards may be used from several threads, one
        at a time (as :meth:`rag.Index.open` with ``shared``): a write stages each shard in
        a thread of its own."""

        def one(i: int, folder: Path, embedder: Embedder | None) -> Index:
            shard = Index.open(folder, model=model, backend=backend, shared=True, embedder=embedder)
            shard._commits.lock.wait = lock_wait
            return shard

        index = cls._of(Path(path), one)
        index.lock.wait = lock_wait
        if (index.path / journal.JOURNAL).exists():  # a write a crash cut off: finish it now if no writer is at work
            try:
                with index.writing():
                    pass
            except IndexBusyError:
                pass  # the writer holding the lock finished it on taking the lock
            except PermissionError:
                pass  # a read-only copy: read it as it is (every article whole); a writer finishes it
            except BaseException:
                index.close()
                raise
        return index

    @classmethod
    def snapshot(
        cls,
        path: str | Path,
        model: str | None = None,
        embedder: Embedder | None = None,
        like: ShardedIndex | None = None,
    ) -> ShardedIndex:
        """Every shard's :meth:`rag.Index.snapshot`, taken one after another: a write
        landing between two of them is seen by the later shards only (a sharded write
        commits shard by shard, so readers never see one all at once either)."""

        def one(i: int, folder: Path, shared: Embedder | None) -> Index:
            earlier = like.shards[i] if like is not None and i < len(like.shards) else None
            return Index.snapshot(folder, model=model, embedder=shared or embedder, like=earlier)

        return cls._of(Path(path), one)

    @classmethod
    def _of(cls, path: Path, open_one: Callable[[int, Path, Embedder | None], Index]) -> ShardedIndex:
        """The sharded index at ``path``, each shard opened by ``open_one`` (its number,
        folder and the embedder the shards before it loaded), all closed on a failure."""
        manifest = read_manifest(path)
        if manifest is None:
            raise IndexError_(f"{path}: not a sharded index (no {MANIFEST})")
        shards: list[Index] = []
        embedder: Embedder | None = None
        try:
            for i, folder in enumerate(manifest.folders(path)):
                if not folder.is_dir():
                    raise IndexError_(f"{folder}: shard is missing")
                shards.append(open_one(i, folder, embedder))
                embedder = shards[-1].embedder
            assert embedder is not None
            return cls(path, manifest, shards, embedder)
        except BaseException:
            for s in shards:
                s.close()
            raise

    @classmethod
    def create(
        cls,
        path: str | Path,
        shards: int,
        model: str | None = None,
        backend: Backend = Backend.AUTO,
        index_type: IndexType = IndexType.AUTO,
    ) -> ShardedIndex:
        """Open the sharded index at ``path``, making an empty one of ``shards`` shards
        (keeping vectors of ``index_type``) where there is none. Raises InputError where
        ``path`` holds a single index or a sharded one of another count."""
        path = Path(path)
        if not 1 <= shards <= MAX_SHARDS:
            raise InputError(f"--shards must be between 1 and {MAX_SHARDS}, not {shards}")
        manifest = read_manifest(path)
        if manifest is not None:
            if manifest.shards != shards:
                raise InputError(f"{path}: index has {manifest.shards} shards, not {shards}")
            return cls.open(path, model, backend)
        if path.exists() and any(path.iterdir()):
            raise InputError(f"{path}: already holds a single index or other files; shard into a new directory")
        manifest = Manifest(shards)
        path.mkdir(parents=True, exist_ok=True)
        embedder: Embedder | None = None
        for folder in manifest.folders(path):
            with Index.open(folder, model=model, create=True, backend=backend, embedder=embedder) as shard:
                embedder = shard.embedder
                shard.set_index_type(index_type)
        tmp = path / (MANIFEST + ".tmp")
        tmp.write_text(json.dumps({"format": manifest.format, "shards": manifest.shards}))
        os.replace(tmp, path / MANIFEST)  # last: a directory without it is not an index yet
        return cls.open(path, model, backend)

    def close(self) -> None:
        for s in self.shards:
            s.close()

    def __enter__(self) -> ShardedIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def is_empty(self) -> bool:
        return all(s.is_empty for s in self.shards)

    @property
    def corpus(self) -> ShardedCorpus:
        return ShardedCorpus(InProcess([s.corpus for s in self.shards]), self.embedder)

    def lexical(self) -> None:
        """Give every shard a BM25 index of the current format (see :meth:`rag.Index.lexical`)."""
        for s in self.shards:
            s.lexical()

    def article(self, doc_id: str) -> Document | None:
        return next((d for d in (s.article(doc_id) for s in self.shards) if d is not None), None)

    def articles(
        self, since: dt.date | None = None, until: dt.date | None = None, source: str | None = None
    ) -> list[ArticleEntry]:
        found = [e for s in self.shards for e in s.articles(since, until, source)]
        return sorted(found, key=lambda e: (e.date is None, e.date or dt.date.min, e.id))

    def info(self) -> IndexInfo:
        return merged_info(self.path, [s.info() for s in self.shards])

    # -- writing -----------------------------------------------------------------------------

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the directory's write lock and every shard's, each caught up with what
        other writers committed."""
        outermost = not self.lock.held
        with self.lock, ExitStack() as stack:
            for s in self.shards:
                stack.enter_context(s._commits.writing())
            if outermost:  # a write of this process's own may be between its commits inside
                self._finish_interrupted()
            yield

    def _finish_interrupted(self) -> None:
        """Commit the parts of a write that a crash between its shards' commits cut off,
        from its journal (see :mod:`rag.journal`); clear what a write stopped before
        its commits began left behind."""
        pending = self.path / (TEMPLATE + ".new")
        record = journal.read(self.path)
        if record is None:
            journal.clear(self.path)  # a journal being written when its write stopped: no shard committed
            pending.unlink(missing_ok=True)
            return
        todo = [p for p in record.parts if self.shards[p.shard].meta.write_id != record.id]
        template: faiss.Index | None = None
        if any(p.kind is IndexType.IVF_SQ8 for p in todo):
            source = pending if record.new_template else self.path / TEMPLATE
            if not source.exists():
                raise IndexError_(f"{source}: missing, and an unfinished write needs it; some shards lack that write")
            template = vectors.read_index(source)
        for p in todo:
            update = (
                None
                if p.kind is None
                else partial(_shard_vectors, kind=p.kind, template=template, rebuild=record.new_template)
            )
            write_change(self.shards[p.shard]._writer(), replace(p.change, update_vectors=update, write_id=record.id))
        if record.new_template and pending.exists():
            os.replace(pending, self.path / TEMPLATE)
        journal.clear(self.path)

    def _commit_together(self, staged: ExitStack, write_id: str, parts: list[journal.Part], new_template: bool) -> None:
        """Save the journal of the write ``write_id``, whose ``parts`` are all ``staged``
        (where a crash between their commits could leave it half stored), then commit them."""
        if len(parts) > 1 or new_template:
            journal.write(self.path, journal.Journal(write_id, parts, new_template))
        staged.close()

    def _writers(self) -> list[Writer]:
        return [s._writer() for s in self.shards]

    def add(self, paths: Sequence[str | Path], progress: bool = False) -> IngestReport:
        loaded = load_paths(list(paths))
        return self.add_documents(loaded.documents, progress=progress, warnings=loaded.warnings)

    def add_documents(
        self,
        docs: Sequence[Document],
        progress: bool = False,
        warnings: Sequence[str] = (),
        checkpoint_seconds: float = CHECKPOINT_SECONDS,
        encoder: Encoder | None = None,
    ) -> IngestReport:
        """Embed ``docs`` (with ``encoder``, by default in-process) and store each in its shard: unchanged articles skipped, changed
        ones replaced (and moved to their new content's shard), checkpoints as in
        :meth:`rag.Index.add_documents`."""
        with self.writing():
            n = len(self.shards)
            hashes = {d.id: content_hash(d) for d in docs}
            held = [s.store.content_hashes([d.id for d in docs]) for s in self.shards]
            home = {d.id: shard_of(hashes[d.id], n) for d in docs}
            stray = {d.id: [j for j in range(n) if d.id in held[j] and j != home[d.id]] for d in docs}
            fresh = [d for d in docs if held[home[d.id]].get(d.id) != hashes[d.id]]
            for s in self.shards:
                s.tag_missing(progress)
            skipped = len(docs) - len(fresh)
            if not fresh:
                if any(stray.values()):  # an earlier ingest stopped between two shards: drop the old copies
                    self._write_batch(
                        [], [], np.zeros((0, self.embedder.dimension), np.float32), {}, hashes, held, stray
                    )
                return IngestReport(0, 0, skipped, 0, list(warnings))
            total = embed_in_checkpoints(
                self.embedder,
                self.shards[0].chunking,
                fresh,
                lambda done: self._write_pending(done, hashes, held, stray),
                progress,
                checkpoint_seconds,
                encoder,
            )
            replaced = sum(1 for d in fresh if any(d.id in h for h in held))
            return IngestReport(len(fresh) - replaced, replaced, skipped, total, list(warnings))

    def _write_pending(
        self,
        pending: list[Embedded],
        hashes: dict[str, str],
        held: list[dict[str, str]],
        stray: dict[str, list[int]],
    ) -> None:
        if not pending:
            return
        docs = [d for d, _, _, _ in pending]
        chunks = [cs for _, cs, _, _ in pending]
        vecs = np.concatenate([v for _, _, v, _ in pending])
        self._write_batch(docs, chunks, vecs, {d.id: e for d, _, _, e in pending}, hashes, held, stray)

    def _write_batch(
        self,
        docs: list[Document],
        chunks: list[list[Chunk]],
        vecs: np.ndarray,
        found: dict[str, list[Entity]],
        hashes: dict[str, str],
        held: list[dict[str, str]],
        stray: dict[str, list[int]],
    ) -> None:
        """Store ``docs`` (their ``chunks`` and vectors, in order) in their shards under
        chunk ids that continue the whole index's, and remove the old versions of
        changed or moved articles from whichever shard holds them; each shard commits."""
        n = len(self.shards)
        first = max(s.store.next_chunk_id() for s in self.shards)
        counts = np.array([len(cs) for cs in chunks], np.int64)
        ids = first + np.arange(int(counts.sum()), dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(counts)])
        plan: list[dict] = [{"docs": [], "chunks": [], "rows": [], "replaced": []} for _ in range(n)]
        for i, d in enumerate(docs):
            j = shard_of(hashes[d.id], n)
            plan[j]["docs"].append(d)
            plan[j]["chunks"].extend(chunks[i])
            plan[j]["rows"].append(np.arange(starts[i], starts[i + 1]))
            if d.id in held[j]:
                plan[j]["replaced"].append(d.id)
        for doc_id, others in stray.items():
            for j in others:
                if doc_id not in plan[j]["replaced"]:
                    plan[j]["replaced"].append(doc_id)
        removed = [
            np.array(s.store.chunk_ids_of(p["replaced"]), np.int64) for s, p in zip(self.shards, plan)
        ]  # chunks the write drops
        n_after = sum(0 if s._commits.vectors is None else int(s._commits.vectors.ntotal) for s in self.shards)
        n_after += len(ids) - sum(len(r) for r in removed)
        template, rebuild = self._template(vecs, n_after, np.concatenate(removed))
        pending = self.path / (TEMPLATE + ".new")  # a newly trained IVF, in place once the shards commit
        if template is not None and rebuild:
            vectors.write_index(template, pending)
        write_id = journal.new_id()
        parts: list[journal.Part] = []
        writes: list[tuple[Writer, StoreChange]] = []
        try:
            with ExitStack() as staged:  # every shard's part made ready, then all committed
                for j, (s, w, p) in enumerate(zip(self.shards, self._writers(), plan)):
                    rows = np.concatenate(p["rows"]) if p["rows"] else np.zeros(0, np.int64)
                    if not len(rows) and not p["replaced"] and not (rebuild and s._commits.vectors is not None):
                        continue
                    kind = vectors.resolve(s._commits.index_type, n_after)
                    change = StoreChange(
                        p["docs"],
                        {d.id: hashes[d.id] for d in p["docs"]},
                        p["replaced"],
                        p["chunks"],
                        vecs[rows],
                        {d.id: found[d.id] for d in p["docs"]},
                        ids=ids[rows],
                        update_vectors=partial(_shard_vectors, kind=kind, template=template, rebuild=rebuild),
                        write_id=write_id,
                    )
                    writes.append((w, change))
                    parts.append(journal.Part(j, change, kind))
                _stage_all(staged, writes)
                if parts:
                    self._commit_together(staged, write_id, parts, template is not None and rebuild)
        except BaseException:
            if not (self.path / journal.JOURNAL).exists():  # else the journal's redo needs the new template
                pending.unlink(missing_ok=True)
            raise
        if template is not None and rebuild:
            os.replace(pending, self.path / TEMPLATE)
        journal.clear(self.path)
        stray.clear()  # the old copies are gone

    def _template(self, new: np.ndarray, n_after: int, stale: np.ndarray) -> tuple[faiss.Index | None, bool]:
        """The trained, empty IVF the shards' vectors go into when the whole index is to
        be one IVF (None otherwise), and whether every shard must be rebuilt from a newly
        trained one: no IVF yet, or one whose clusters are too few for ``n_after``. It is
        trained as one index's would be: on the kept vectors in chunk id order, then the
        ``new`` ones (:func:`rag.vectors.trained`)."""
        kind = vectors.resolve(self.shards[0]._commits.index_type, n_after)
        if kind is not IndexType.IVF_SQ8:
            return None, False
        current = [s._commits.vectors for s in self.shards]
        saved = self.path / TEMPLATE
        if saved.exists() and all(v is None or vectors.kind_of(v) is IndexType.IVF_SQ8 for v in current):
            template = vectors.read_index(saved)
            if vectors.nlist_for(n_after) < vectors.RETRAIN_GROWTH * faiss.extract_index_ivf(template).nlist:
                return template, False
        parts = [vectors.contents(v) for v in current if v is not None and v.ntotal]
        sample = new
        if parts:
            have = np.concatenate([p[0] for p in parts])
            order = np.argsort(have, kind="stable")
            kept = np.concatenate([p[1] for p in parts])[order]
            sample = np.concatenate([kept[~np.isin(have[order], stale)], new])
        return vectors.trained(IndexType.IVF_SQ8, sample, self.embedder.dimension), True

    def remove(self, doc_ids: Sequence[str] = (), sources: Sequence[str] = ()) -> list[str]:
        """Remove articles by id or by source, from whichever shards hold them; InputError
        (NotFoundError) when a name matches nothing in any shard, before changing anything."""
        with self.writing():
            for kind, names, by_id in (("article id", doc_ids, True), ("source", sources, False)):
                for name in names:
                    if not any(_names(s, name, by_id) for s in self.shards):
                        raise NotFoundError(f"no article with {kind} {name!r} in the index")
            removed: list[str] = []
            write_id = journal.new_id()
            parts: list[journal.Part] = []
            with ExitStack() as staged:  # every shard's removal made ready, then all committed
                for j, s in enumerate(self.shards):
                    mine = [d for d in doc_ids if _names(s, d, True)]
                    theirs = [src for src in sources if _names(s, src, False)]
                    ids = s.store.article_ids(mine, theirs) if mine or theirs else []
                    if ids:
                        w = s._writer()
                        change = replace(removal(w, ids), write_id=write_id)
                        staged.enter_context(staged_change(w, change))
                        parts.append(journal.Part(j, change, None))
                        removed.extend(ids)
                if parts:
                    self._commit_together(staged, write_id, parts, False)
            journal.clear(self.path)
            return list(dict.fromkeys(removed))


def merged_info(path: Path, parts: Sequence[IndexInfo]) -> IndexInfo:
    """The figures of the sharded index at ``path`` from its shards' ``parts``."""
    first = parts[0]
    return IndexInfo(
        path=str(path),
        articles=sum(p.articles for p in parts),
        chunks=sum(p.chunks for p in parts),
        vectors=sum(p.vectors for p in parts),
        model=first.model,
        dimension=first.dimension,
        index_type=first.index_type,
        size_bytes=sum(p.size_bytes for p in parts) + sum(f.stat().st_size for f in path.iterdir() if f.is_file()),
        format_version=first.format_version,
        shards=len(parts),
    )


def _stage_all(staged: ExitStack, writes: Sequence[tuple[Writer, StoreChange]]) -> None:
    """Stage every shard's part of a write (:func:`rag.ingest.staged_change`) onto
    ``staged``, each in a thread of its own: reading and writing vector files, FAISS and
    SQLite release Python's lock. On any failure or interrupt every part staged is
    rolled back by ``staged``."""
    managers = [staged_change(w, c) for w, c in writes]
    if len(managers) < 2 or STAGING_THREADS < 2:
        for m in managers:
            staged.enter_context(m)
        return
    entered: list[AbstractContextManager[None] | None] = [None] * len(managers)

    def enter(i: int) -> None:
        managers[i].__enter__()
        entered[i] = managers[i]

    try:
        with ThreadPoolExecutor(max_workers=min(len(managers), STAGING_THREADS)) as pool:
            for f in [pool.submit(enter, i) for i in range(len(managers))]:
                f.result()
    finally:
        for done in entered:
            if done is not None:
                staged.push(done)


def _names(shard: Index, name: str, by_id: bool) -> bool:
    return bool(shard.store.named(name, by_source=not by_id))


def _shard_vectors(
    w: Writer,
    stale: np.ndarray,
    ids: np.ndarray,
    embeddings: np.ndarray,
    kind: IndexType,
    template: faiss.Index | None,
    rebuild: bool,
) -> faiss.Index:
    """One shard's vectors after a write: ``kind`` is the whole index's type; an IVF's
    vectors go into a copy of ``template`` when it is new (``rebuild``) or the shard has
    none of it yet, else into the shard's own IVF, which came from the same template."""
    current = w.commits.vectors
    if template is not None and (rebuild or current is None or vectors.kind_of(current) is not IndexType.IVF_SQ8):
        all_ids, vecs = vectors.kept_and_added(current, stale, ids, embeddings)
        index = faiss.deserialize_index(faiss.serialize_index(template))
        vectors.add(index, vecs, all_ids)
        return index
    if current is None or (template is None and vectors.kind_of(current) is not kind):
        all_ids, vecs = vectors.kept_and_added(current, stale, ids, embeddings)
        return vectors.build(kind, vecs, all_ids, w.embedder.dimension if current is None else current.d)
    return changed_copy(w.commits, stale, ids, embeddings)


def open_index(
    path: str | Path,
    model: str | None = None,
    backend: Backend = Backend.AUTO,
    shared: bool = False,
    lock_wait: float = 0.0,
) -> Index | ShardedIndex:
    """The index at ``path``, sharded or single."""
    if is_sharded(path):
        return ShardedIndex.open(path, model, backend, lock_wait)
    index = Index.open(path, model=model, backend=backend, shared=shared)
    index._commits.lock.wait = lock_wait
    return index


def reshard(source: Index, dest: str | Path, shards: int) -> ShardedIndex:
    """A sharded copy of ``source`` at ``dest`` (a new directory): its articles, chunks
    under the same ids, vectors and entities, each in its content hash's shard; nothing
    is embedded or tagged again, and an IVF keeps the source's clusters (every shard a
    copy of them, saved as the template later writes add to). Returns it open."""
    sharded = ShardedIndex.create(dest, shards, model=source.embedder.name, index_type=source.meta.index_type)
    try:
        conn = source.store.conn
        docs = {
            r[0]: (Document(r[0], r[5], dt.date.fromisoformat(r[3]) if r[3] else None, r[1], r[2]), r[4])
            for r in conn.execute("SELECT id, source, title, date, content_hash, text FROM articles")
        }
        found: dict[str, list[Entity]] = {d: [] for d in docs}
        for doc_id, start, end, label in conn.execute(
            "SELECT doc_id, start, end, label FROM entities ORDER BY doc_id, start"
        ):
            found[doc_id].append(Entity(start, end, label))
        rows = conn.execute("SELECT id, doc_id, start, end FROM chunks ORDER BY id").fetchall()
        if source._commits.vectors is None or not rows:
            return sharded
        ids, vecs = vectors.contents(source._commits.vectors)
        kind = vectors.resolve(source.meta.index_type, len(ids))
        template: faiss.Index | None
        if kind is IndexType.IVF_SQ8 and vectors.kind_of(source._commits.vectors) is IndexType.IVF_SQ8:
            assert source.meta.faiss_file is not None
            template = vectors.read_index(source.path / source.meta.faiss_file)  # its clusters, not trained again
            template.reset()
        else:
            template, _ = sharded._template(vecs, len(ids), np.zeros(0, np.int64))
        home = {d: shard_of(h, shards) for d, (_, h) in docs.items()}
        owner = np.array([home[r[1]] for r in rows])
        chunk_ids = np.array([r[0] for r in rows], np.int64)
        if not np.array_equal(chunk_ids, ids):
            raise IndexError_(f"{source.path}: vectors and chunks disagree; `rag check --repair` rebuilds them")
        for j, w in enumerate(sharded._writers()):
            mine = [d for d in docs if home[d] == j]
            at = np.flatnonzero(owner == j)
            chunks = [
                Chunk(
                    rows[i][1],
                    rows[i][2],
                    rows[i][3],
                    docs[rows[i][1]][0].text[rows[i][2] : rows[i][3]],
                    docs[rows[i][1]][0].date,
                )
                for i in at
            ]
            with sharded.writing():
                write_change(
                    w,
                    StoreChange(
                        [docs[d][0] for d in mine],
                        {d: docs[d][1] for d in mine},
                        [],
                        chunks,
                        vecs[at],
                        {d: found[d] for d in mine},
                        ids=ids[at],
                        update_vectors=partial(_shard_vectors, kind=kind, template=template, rebuild=True),
                    ),
                )
        if template is not None:
            vectors.write_index(template, sharded.path / TEMPLATE)  # what later writes add to
        return sharded
    except BaseException:
        sharded.close()
        raise
