"""rag on a Ray cluster, the only sub-package that imports Ray (``pip install -e '.[ray]'``):
embedding an ingest's chunks on the cluster's CPUs (:mod:`.embedding`) and reading a
sharded index through one actor per shard (:mod:`.reading`)."""

from .connect import RAY_ADDRESS_ENV, cluster_workers, connect
from .embedding import ClusterEmbedder, on_cluster
from .reading import ClusterIndex, OnCluster, open_on_cluster

__all__ = [
    "RAY_ADDRESS_ENV",
    "ClusterEmbedder",
    "ClusterIndex",
    "OnCluster",
    "cluster_workers",
    "connect",
    "on_cluster",
    "open_on_cluster",
]
