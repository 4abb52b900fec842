"""Reading a sharded index on a Ray cluster: one actor per shard holds that shard's
snapshot (vectors, BM25 index, SQLite) in its node's memory, and every read of a query
fans out to all of them at once (:class:`OnCluster`), merged by
:class:`rag.merged.ShardedCorpus` exactly as the in-process reads are.

Each actor reads the commit its shard was at when it started (a snapshot), as a
snapshot of one index does. The query is embedded, ranked and answered in the calling process; the actors send back
only each shard's top hits, a few scores and the passages asked for. Every node must see
the index directory at the same path (shared storage), and have rag installed.

Faults: an actor whose node dies is started again on another node, reloading its shard,
and the read it was running is retried there (``max_restarts``, ``max_task_retries``).
A read that still has no answer from every shard within ``timeout`` seconds is an error
that names what failed; an answer is never made from fewer shards than the index has.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from ..corpus import Loaded
from ..embed import Backend, Embedder
from ..errors import IndexError_, RagError, first_line
from ..index import Asking, Index
from ..merged import ShardedCorpus
from ..shards import read_manifest
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
    """A Ray actor's state: one shard's snapshot, read by the functions it is sent."""

    def __init__(self, folder: str) -> None:
        self.failed: RagError | None = None  # raised by every call: an actor that cannot start is retried, not told
        try:
            self.index = Index.snapshot(folder)
            self.corpus = self.index.corpus
        except RagError as exc:
            self.failed = exc

    def model(self) -> str | None:
        if self.failed is not None:
            raise self.failed
        return self.index.meta.model

    def node(self) -> str:
        """The Ray node holding this shard (it changes when the actor is started again)."""
        return str(need_ray().get_runtime_context().get_node_id())

    def run(self, read: Callable[[Loaded], T]) -> T:
        if self.failed is not None:
            raise self.failed
        return read(self.corpus)


class OnCluster:
    """A :class:`rag.merged.Fanout` over shard actors: each read sent to all at once,
    all results awaited together."""

    def __init__(self, actors: Sequence[Any], folders: Sequence[Path], timeout: float = READ_TIMEOUT_S) -> None:
        self.actors = list(actors)
        self.folders = list(folders)
        self.timeout = timeout

    def each(self, read: Callable[[Loaded], T]) -> list[T]:
        return self.gather([a.run.remote(read) for a in self.actors], self.timeout)

    def gather(self, refs: list[Any], timeout: float) -> list[Any]:
        """Every shard's result, or a RagError naming the first shard that failed."""
        ray = need_ray()
        try:
            return ray.get(refs, timeout=timeout)
        except ray.exceptions.GetTimeoutError:
            ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
            late = [str(f) for f, r in zip(self.folders, refs) if r not in ready]
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

    def close(self) -> None:
        ray = need_ray()
        for a in self.actors:
            ray.kill(a)
        self.actors = []


class ClusterIndex(Asking):
    """A sharded index (or a single one, as one shard) searched, asked and summarised
    through one Ray actor per shard; see the module's docstring. Use :func:`open_on_cluster`."""

    def __init__(self, path: Path, fanout: OnCluster, embedder: Embedder) -> None:
        self.path = path
        self.fanout = fanout
        self.embedder = embedder

    @property
    def corpus(self) -> ShardedCorpus:
        return ShardedCorpus(self.fanout, self.embedder)

    def close(self) -> None:
        self.fanout.close()

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
) -> ClusterIndex:
    """Join the Ray cluster at ``address`` (default ``$RAY_ADDRESS``) and start one actor
    per shard of the index at ``path``, spread over its nodes. Raises RagError when the cluster cannot be reached or
    an actor cannot open its shard; IndexError_ when the shards disagree on their model."""
    path = Path(path).resolve()
    manifest = read_manifest(path)
    folders = manifest.folders(path) if manifest else [path]
    for folder in folders:
        if not folder.is_dir():
            raise IndexError_(f"{folder}: index is missing")
    with Index.open(folders[0], model=model, backend=backend, skip_vectors=True) as first:
        embedder = first.embedder  # the query's model: checked against the shard's, loaded here on first use
    connect(address)
    ray = need_ray()
    actor = ray.remote(ShardReader).options(
        num_cpus=READER_CPUS, max_restarts=RESTARTS, max_task_retries=RESTARTS, scheduling_strategy="SPREAD"
    )
    fanout = OnCluster([actor.remote(str(f)) for f in folders], folders, timeout)
    try:
        models = fanout.gather([a.model.remote() for a in fanout.actors], START_TIMEOUT_S)
        other = sorted({m for m in models if m and m != embedder.name})
        if other:
            raise IndexError_(f"{path}: shards were built with models {', '.join([embedder.name, *other])}")
    except BaseException:
        fanout.close()
        raise
    return ClusterIndex(path, fanout, embedder)
