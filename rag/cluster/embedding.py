"""Embedding on a Ray cluster: Ray Data's ``map_batches`` over an actor pool of model
replicas, one per worker CPU, so that an ingest's embedding, its slow part,
spreads over machines.

:class:`ClusterEmbedder` stands in for :class:`rag.embed.Embedder` where an ingest
embeds (``encode``); chunking, token counts and queries stay in-process, with the same
model. The vectors come back in the order of the texts, equal to an in-process
embedding with the same backend (to 1e-4: batches are cut differently). Nothing is
written until a checkpoint's vectors are all back, so a worker lost mid-ingest leaves
every shard as it was: Ray Data retries its batches on the workers left, or the ingest
fails with a one-line error and stores nothing of that checkpoint.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from ..embed import Backend, Embedder
from ..errors import RagError, first_line
from .connect import cluster_workers, connect, need_ray

CLUSTER_BATCH = 256  # texts per map_batches call: big enough to amortise a remote call, small enough to balance
# Articles handed to the cluster at once: each hand-over starts a pool of model replicas
# (~5 s), so it should carry minutes of work (~20,000 chunks); checkpoints still commit
# between hand-overs.
DOCS_PER_BATCH = 2048


class _Replica:
    """One model replica in Ray Data's actor pool, on the one CPU Ray gave it: more
    threads would contend with the replica beside it."""

    def __init__(self, model: str, backend: str) -> None:
        self.embedder = Embedder(model, backend=Backend(backend), threads=1)
        if self.embedder.backend is Backend.TORCH:
            import torch

            torch.set_num_threads(1)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {"row": batch["row"], "vector": self.embedder.encode([str(t) for t in batch["text"]])}


class ClusterEmbedder:
    """Embeds for an ingest on the cluster: ``workers`` replicas of ``local``'s model
    and backend, each holding one CPU."""

    docs_per_batch = DOCS_PER_BATCH

    def __init__(self, local: Embedder, workers: int) -> None:
        self.local = local
        self.workers = workers

    def encode(self, texts: list[str], on_batch: Callable[[int], None] | None = None) -> np.ndarray:
        ray = need_ray()
        if not texts:
            return np.zeros((0, self.local.dimension), np.float32)
        backend = self.local.backend.value
        items = [{"row": i, "text": t} for i, t in enumerate(texts)]
        dataset = ray.data.from_items(
            items, override_num_blocks=max(1, min(len(items) // CLUSTER_BATCH, 4 * self.workers))
        )
        mapped = dataset.map_batches(
            _Replica,
            fn_constructor_kwargs={"model": self.local.name, "backend": backend},
            batch_size=CLUSTER_BATCH,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=self.workers),
            num_cpus=1,
        )
        out = np.zeros((len(texts), self.local.dimension), np.float32)
        try:
            for batch in mapped.iter_batches(batch_size=None, batch_format="numpy"):
                out[batch["row"]] = batch["vector"]
                if on_batch is not None:
                    on_batch(len(batch["row"]))
        except Exception as exc:
            raise RagError(
                f"embedding on the Ray cluster failed: {first_line(exc)}; nothing of it was stored"
            ) from None
        return out


def on_cluster(
    address: str | None, local: Embedder, workers: int | None = None, progress: bool = False
) -> ClusterEmbedder:
    """Join the cluster at ``address`` and embed there with ``local``'s model and backend,
    ``workers`` replicas (default: one per CPU the cluster has); Ray Data's own progress
    bars only on a terminal."""
    connect(address)
    ray = need_ray()
    ray.data.DataContext.get_current().enable_progress_bars = progress
    logging.getLogger("ray").setLevel(logging.WARNING if progress else logging.ERROR)
    return ClusterEmbedder(local, workers or cluster_workers())
