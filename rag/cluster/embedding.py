"""Embedding on a Ray cluster: Ray Data's ``map_batches`` over an actor pool of model
replicas, one per worker CPU, so that an ingest's slow parts, embedding its chunks and
tagging its articles' names, spread over machines.

:class:`ClusterEmbedder` stands in for :class:`rag.embed.Embedder` and
:func:`rag.entities.tag` where an ingest embeds and tags (``encode_and_tag``); chunking,
token counts and queries stay in-process, with the same model. Tagging runs on the
replicas too: at ~80 ms an article on one core it is a quarter of an in-process
ingest, and left in the ingesting process it would cap a cluster's ingest at ~12
articles a second whatever the number of replicas. The vectors come back in the order
of the texts, equal to an in-process embedding with the same backend (to 1e-4: batches
are cut differently), and the entities equal to in-process tagging. Nothing is
written until a checkpoint's vectors are all back, so a worker lost mid-ingest leaves
every shard as it was: Ray Data retries its batches on the workers left, or the ingest
fails with a one-line error and stores nothing of that checkpoint.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import numpy as np

from .. import entities
from ..embed import Backend, Embedder
from ..errors import RagError, first_line
from ..types import Entity
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
        """Embed the rows that are chunks and tag the rows that are articles (``tag``),
        their entities as JSON (``[[start, end, label], ...]``)."""
        texts = [str(t) for t in batch["text"]]
        is_article = np.asarray(batch["tag"], bool)
        vecs = np.zeros((len(texts), self.embedder.dimension), np.float32)
        chunks = np.flatnonzero(~is_article)
        if len(chunks):
            vecs[chunks] = self.embedder.encode([texts[i] for i in chunks])
        found = [""] * len(texts)
        articles = np.flatnonzero(is_article)
        if len(articles):
            for i, ents in zip(articles, entities.tag([texts[i] for i in articles])):
                found[i] = json.dumps([[e.start, e.end, e.label] for e in ents])
        return {"row": batch["row"], "tag": batch["tag"], "vector": vecs, "entities": np.array(found, dtype=object)}


class ClusterEmbedder:
    """Embeds for an ingest on the cluster: ``workers`` replicas of ``local``'s model
    and backend, each holding one CPU."""

    docs_per_batch = DOCS_PER_BATCH

    def __init__(self, local: Embedder, workers: int) -> None:
        self.local = local
        self.workers = workers

    def encode(self, texts: list[str], on_batch: Callable[[int], None] | None = None) -> np.ndarray:
        return self.encode_and_tag(texts, [], [], on_batch)[0]

    def encode_and_tag(
        self,
        texts: list[str],
        articles: list[str],
        chunks_per_article: list[int],
        on_batch: Callable[[int], None] | None = None,
    ) -> tuple[np.ndarray, list[list[Entity]]]:
        """The vectors of ``texts`` (chunks, their articles' in turn: ``chunks_per_article``
        of each) and the entities of ``articles``, both made on the cluster; each
        article's row follows its chunks', so that every block carries both kinds."""
        ray = need_ray()
        out = np.zeros((len(texts), self.local.dimension), np.float32)
        found: list[list[Entity]] = [[] for _ in articles]
        if not texts and not articles:
            return out, found
        counts = list(chunks_per_article) if articles else [len(texts)]
        if len(counts) != max(1, len(articles)) or sum(counts) != len(texts):
            raise ValueError("chunks_per_article must give each article's number of texts, in order")
        backend = self.local.backend.value
        items: list[dict] = []
        start = 0
        for a, n in enumerate(counts):
            items.extend({"row": i, "text": texts[i], "tag": False} for i in range(start, start + n))
            start += n
            if a < len(articles):
                items.append({"row": a, "text": articles[a], "tag": True})
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
        try:
            for batch in mapped.iter_batches(batch_size=None, batch_format="numpy"):
                is_article = np.asarray(batch["tag"], bool)
                out[batch["row"][~is_article]] = batch["vector"][~is_article]
                for row, ents in zip(batch["row"][is_article], batch["entities"][is_article]):
                    found[int(row)] = [Entity(int(s), int(e), str(label)) for s, e, label in json.loads(str(ents))]
                if on_batch is not None:
                    on_batch(int((~is_article).sum()))
        except Exception as exc:
            raise RagError(
                f"embedding on the Ray cluster failed: {first_line(exc)}; nothing of it was stored"
            ) from None
        return out, found


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
