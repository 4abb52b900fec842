"""Reading a sharded index on a Ray cluster: one actor per shard holds that shard's
snapshot (vectors, BM25 index, SQLite) in its node's memory, and every read of a query
fans out to all of them at once (:class:`OnCluster`), merged by
:class:`rag.merged.ShardedCorpus` exactly as the in-process reads are.

Each actor reads the commit its shard was at when it started (a snapshot, as
:meth:`rag.Index.snapshot` is for one index); :meth:`ClusterIndex.snapshot` moves a
reader to the shards' latest commits. The query is embedded, ranked and answered in the
calling process; the actors send back only each shard's candidates, their scores and
the passages asked for. Every node must see the index directory at the same path
(shared storage), and have rag installed.

Faults: an actor whose node dies is started again on another node, reloading its shard,
and the read it was running is retried there (``max_restarts``, ``max_task_retries``).
A read that still has no answer from every shard within ``timeout`` seconds is an error
that names what failed; an answer is never made from fewer shards than the index has.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from ..corpus import Loaded
from ..embed import Backend, Embedder
from ..errors import IndexError_, RagError, first_line
from ..index import Asking, Index
from ..journal import JOURNAL
from ..merged import ShardedCorpus
from ..shards import ShardedIndex, merged_info, read_manifest
from ..types import Document, IndexInfo
from .connect import connect, need_ray

T = TypeVar("T")

READ_TIMEOUT_S = 30.0  # one fan-out's wait for every shard: a restarted actor reloads its shard first
START_TIMEOUT_S = 300.0  # actors loading their shards (at a million chunks, seconds each)
RESTARTS = 2  # times a shard's actor is started again after its node dies
# The CPU a reader reserves: it works only while a query fans out, so it should neither
# keep an ingest's model replicas from the cluster's CPUs nor wait for a whole free CPU
# to be started again when its node dies.
READER_CPUS = 0.01


class ShardReader:
    """A Ray actor's state: snapshots of one shard, one per generation a reader asked for
    (:meth:`ClusterIndex.snapshot`), read by the functions it is sent."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.views: dict[int, tuple[Index, Loaded]] = {}
        self.failed: RagError | None = None  # raised by every call: an actor that cannot start is retried, not told
        try:
            self.advance(0)
        except RagError as exc:
            self.failed = exc

    def _view(self, gen: int) -> tuple[Index, Loaded]:
        if self.failed is not None:
            raise self.failed
        if gen not in self.views:  # started again after a fault: its shard as it is now
            self.advance(gen)
        return self.views[gen]

    def advance(self, gen: int) -> None:
        """Take generation ``gen``: the shard's last commit (sharing what is loaded when
        nothing was committed since the newest view)."""
        latest = self.views[max(self.views)][0] if self.views else None
        index = Index.snapshot(self.folder, like=latest)
        self.views[gen] = (index, index.corpus)

    def release(self, gen: int) -> None:
        view = self.views.pop(gen, None)
        if view is not None:
            view[0].close()

    def model(self) -> str | None:
        return self._view(0)[0].meta.model

    def node(self) -> str:
        """The Ray node holding this shard (it changes when the actor is started again)."""
        return str(need_ray().get_runtime_context().get_node_id())

    def run(self, read: Callable[[Loaded], T], gen: int = 0) -> T:
        return read(self._view(gen)[1])

    def article(self, gen: int, doc_id: str) -> Document | None:
        return self._view(gen)[0].article(doc_id)

    def info(self, gen: int) -> IndexInfo:
        return self._view(gen)[0].info()


@dataclass
class Readers:
    """The shard actors of one open index, shared by its snapshots."""

    actors: list[Any]
    folders: list[Path]
    sharded: bool  # a sharded directory (else one index, read as one shard)
    generations: Iterator[int] = field(default_factory=lambda: itertools.count(1))


class OnCluster:
    """A :class:`rag.merged.Fanout` over shard actors, reading generation ``gen`` of each
    shard: each read sent to all at once, all results awaited together."""

    def __init__(self, readers: Readers, gen: int = 0, timeout: float = READ_TIMEOUT_S) -> None:
        self.readers = readers
        self.gen = gen
        self.timeout = timeout

    @property
    def actors(self) -> list[Any]:
        return self.readers.actors

    def each(self, read: Callable[[Loaded], T]) -> list[T]:
        return self.gather([a.run.remote(read, self.gen) for a in self.actors])

    def gather(self, refs: list[Any], timeout: float | None = None) -> list[Any]:
        """Every shard's result, or a RagError naming the first shard that failed."""
        ray = need_ray()
        timeout = self.timeout if timeout is None else timeout
        try:
            return ray.get(refs, timeout=timeout)
        except ray.exceptions.GetTimeoutError:
            ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
            late = [str(f) for f, r in zip(self.readers.folders, refs) if r not in ready]
            raise RagError(
                f"no answer within {timeout:g} s from the Ray actor of shard {', '.join(late)}; "
                "nothing was made from the other shards"
            ) from None
        except ray.exceptions.RayTaskError as exc:
            if isinstance(exc.cause, RagError):  # the shard's own error (say, a damaged file)
                raise exc.cause from None
            raise RagError(f"a shard's read failed on the Ray cluster: {first_line(exc.cause)}") from None
        except ray.exceptions.RayError as exc:  # the actor died and could not be started again
            raise RagError(
                f"a shard's Ray actor is gone ({type(exc).__name__}); nothing was made from the other shards"
            ) from None


class ClusterIndex(Asking):
    """A sharded index (or a single one, as one shard) searched, asked and summarised
    through one Ray actor per shard; see the module's docstring. Use :func:`open_on_cluster`;
    :meth:`snapshot` for a view of later commits."""

    def __init__(self, path: Path, fanout: OnCluster, embedder: Embedder, owner: bool = True) -> None:
        self.path = path
        self.fanout = fanout
        self.embedder = embedder
        self.owner = owner  # closing it stops the actors (else it lets its generation go)
        self.fixed: dict[object, Any] = {}  # what this generation's shards answer the same every time

    @property
    def corpus(self) -> ShardedCorpus:
        return ShardedCorpus(self.fanout, self.embedder, self.fixed)

    def snapshot(self) -> ClusterIndex:
        """A view of every shard's last commit, held by the actors until it is closed
        (as :meth:`rag.Index.snapshot` is for one index)."""
        gen = next(self.fanout.readers.generations)
        self.fanout.gather([a.advance.remote(gen) for a in self.fanout.actors])
        return ClusterIndex(self.path, OnCluster(self.fanout.readers, gen, self.fanout.timeout), self.embedder, False)

    def article(self, doc_id: str) -> Document | None:
        found = self.fanout.gather([a.article.remote(self.fanout.gen, doc_id) for a in self.fanout.actors])
        return next((d for d in found if d is not None), None)

    def info(self) -> IndexInfo:
        parts = self.fanout.gather([a.info.remote(self.fanout.gen) for a in self.fanout.actors])
        return merged_info(self.path, parts) if self.fanout.readers.sharded else replace(parts[0], path=str(self.path))

    @property
    def is_empty(self) -> bool:
        return self.corpus.is_empty

    def release(self) -> None:
        """Let the actors drop this view's snapshots (a later read through it takes new ones)."""
        for a in self.fanout.actors:
            a.release.remote(self.fanout.gen)  # nothing to wait for

    def close(self) -> None:
        ray = need_ray()
        if not self.owner:
            self.release()
            return
        for a in self.fanout.actors:
            ray.kill(a)
        self.fanout.readers.actors = []

    def __enter__(self) -> ClusterIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_on_cluster(
    path: str | Path,
    address: str | None = None,
    model: str | None = None,
    backend: Backend = Backend.AUTO,
    timeout: float = READ_TIMEOUT_S,
    embedder: Embedder | None = None,
) -> ClusterIndex:
    """Join the Ray cluster at ``address`` (default ``$RAY_ADDRESS``) and start one actor
    per shard of the index at ``path``, spread over its nodes. Raises RagError when the
    cluster cannot be reached or an actor cannot open its shard; IndexError_ when the
    shards disagree on their model.
    ``embedder``: a loaded model of the index's to embed questions with."""
    path = Path(path).resolve()
    if not path.is_dir():
        raise IndexError_(f"{path}: no index here (rag ingest makes one)")
    manifest = read_manifest(path)
    folders = manifest.folders(path) if manifest else [path]
    for folder in folders:
        if not folder.is_dir():
            raise IndexError_(f"{folder}: shard is missing")
    if manifest is not None and (path / JOURNAL).exists():
        ShardedIndex.open(path, model, backend).close()  # finishes a write a crash cut off
    with Index.open(folders[0], model=model, backend=backend, skip_vectors=True, embedder=embedder) as first:
        embedder = first.embedder  # the query's model: checked against the shard's, loaded here on first use
    connect(address)
    ray = need_ray()
    actor = ray.remote(ShardReader).options(
        num_cpus=READER_CPUS, max_restarts=RESTARTS, max_task_retries=RESTARTS, scheduling_strategy="SPREAD"
    )
    readers = Readers([actor.remote(str(f)) for f in folders], folders, manifest is not None)
    index = ClusterIndex(path, OnCluster(readers, 0, timeout), embedder)
    try:
        models = index.fanout.gather([a.model.remote() for a in readers.actors], START_TIMEOUT_S)
        other = sorted({m for m in models if m and m != embedder.name})
        if other:
            raise IndexError_(f"{path}: shards were built with models {', '.join([embedder.name, *other])}")
    except BaseException:
        index.close()
        raise
    return index
