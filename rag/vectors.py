"""Plain functions over FAISS index objects: choose, build, read, write atomically, search.

Vectors are unit length, so inner product is cosine similarity. Each vector's FAISS
id is its chunk's row id in SQLite, which lets chunks be removed or filtered by id.

Three index types, measured by ``python -m eval.bench search`` (see eval/README.md):

- ``flat``: exact search, 1.5 KB a vector. The default below ``FLAT_MAX`` vectors,
  where a query still takes a few milliseconds.
- ``ivf-sq8``: an inverted file of ``nlist`` clusters with 8-bit scalar quantisation,
  about 0.4 KB a vector; a query finds its ``nprobe`` nearest clusters through a small
  HNSW graph over the centroids (at 16,384 lists an exact scan of the centroids takes
  longer than scanning the clusters: ~1 ms against ~0.3) and scans them. The graph keeps
  its centroids in 8 bits too: a quarter of the memory to walk, so the walk (a third of
  a query at 1M) is ~30% faster than over float centroids, at the same recall. The default from
  ``FLAT_MAX`` on. It is trained on the vectors present when it is built and re-trained
  (rebuilt from its own decoded vectors) when the index has grown enough that its
  clusters are ``RETRAIN_GROWTH`` times too few.
- ``hnsw``: a graph over exact vectors: recall near 1 with no training, for about
  1.8 KB a vector and slower queries than ivf-sq8 here; removing vectors rebuilds the
  graph.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import faiss
import numpy as np

from .errors import IndexError_
from .types import IndexType

FLAT_MAX = 200_000  # exact search up to here (~10 ms a query on 2 cores)
IVF_LIST_SIZE = 64  # vectors per cluster the IVF aims at: nlist ~ n / 64, a power of two
IVF_MIN_LISTS, IVF_MAX_LISTS = 64, 65536
IVF_PROBE_SHARE = 340  # nprobe = nlist / 340, at least IVF_MIN_PROBE: 48 of 16,384 lists at 1M (eval/README.md)
IVF_MIN_PROBE = 32
IVF_COARSE_M = 32  # the HNSW graph over the (8-bit) centroids
IVF_COARSE_EF = 64  # its search breadth (at least nprobe)
IVF_TRAIN_PER_LIST = 40  # k-means sample: FAISS wants at least 39 points a centroid
RETRAIN_GROWTH = 4  # rebuild an IVF once nlist_for(n) reaches 4x its lists
HNSW_M = 32
HNSW_EF_SEARCH = 64
# A 10% filter at 1M probes 2.5x the lists (121 of 16,384): recall@10 .984 of the allowed
# vectors at 0.44 ms, against .9845 at 0.52 ms for sqrt's 3.2x (152) and .971 unfiltered.
FILTER_WIDEN_POWER = 0.4
SCAN_MAX = 1024  # a filter keeping at most this many vectors is searched exactly over them (decoding
# an IVF-SQ8 vector by id costs ~1.5 µs: beyond this a wider IVF probe is as exact and faster)


def resolve(kind: IndexType, n: int) -> IndexType:
    """The concrete type for ``n`` vectors: ``auto`` is flat below FLAT_MAX, IVF above."""
    if kind is IndexType.AUTO:
        return IndexType.FLAT if n < FLAT_MAX else IndexType.IVF_SQ8
    return kind


def nlist_for(n: int) -> int:
    """Clusters for an IVF of ``n`` vectors: a power of two near n / IVF_LIST_SIZE, and
    never more than k-means can train from n points."""
    target = max(1, n // IVF_LIST_SIZE)
    nlist = min(IVF_MAX_LISTS, max(IVF_MIN_LISTS, 2 ** round(math.log2(target))))
    return int(min(nlist, 2 ** int(math.log2(max(1, n // 39)))))


def nprobe_for(nlist: int) -> int:
    return min(nlist, max(IVF_MIN_PROBE, nlist // IVF_PROBE_SHARE))


def kind_of(index: faiss.Index) -> IndexType:
    inner = _inner(index)
    if isinstance(inner, faiss.IndexIVF):
        return IndexType.IVF_SQ8
    if isinstance(inner, faiss.IndexHNSW):
        return IndexType.HNSW
    return IndexType.FLAT


def index_type(index: faiss.Index) -> str:
    """A readable description: the type and, for an IVF, its lists and probes."""
    inner = _inner(index)
    if isinstance(inner, faiss.IndexIVF):
        coarse = ", hnsw coarse" if isinstance(faiss.downcast_index(inner.quantizer), faiss.IndexHNSW) else ""
        return f"ivf-sq8 (nlist {inner.nlist}, nprobe {inner.nprobe}{coarse})"
    return kind_of(index).value


def _inner(index: faiss.Index) -> faiss.Index:
    return faiss.downcast_index(index.index) if isinstance(index, faiss.IndexIDMap) else faiss.downcast_index(index)


def new_index(dimension: int, kind: IndexType = IndexType.FLAT) -> faiss.Index:
    """An empty index of a type that needs no training (flat or HNSW)."""
    if kind is IndexType.HNSW:
        inner = faiss.IndexHNSWFlat(dimension, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efSearch = HNSW_EF_SEARCH
        return faiss.IndexIDMap2(inner)
    if kind is IndexType.FLAT:
        return faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
    raise ValueError(f"{kind.value} needs training: use build()")


def build(kind: IndexType, vecs: np.ndarray, ids: np.ndarray, dimension: int, seed: int = 1234) -> faiss.Index:
    """An index of ``kind`` holding ``vecs`` under ``ids``, trained on them where needed."""
    index = trained(kind, vecs, dimension, seed)
    add(index, vecs, ids)
    return index


def trained(kind: IndexType, vecs: np.ndarray, dimension: int, seed: int = 1234) -> faiss.Index:
    """An empty index of ``kind`` for ``len(vecs)`` vectors, an IVF trained on a sample of
    ``vecs``: the shards of a sharded index each take a copy of one (:mod:`rag.shards`)."""
    kind = resolve(kind, len(vecs))
    if kind is not IndexType.IVF_SQ8 or len(vecs) == 0:  # an IVF trains on its first vectors
        return new_index(dimension, kind if kind is not IndexType.IVF_SQ8 else IndexType.FLAT)
    nlist = nlist_for(len(vecs))
    index = faiss.index_factory(dimension, f"IVF{nlist}(HNSW{IVF_COARSE_M}_SQ8),SQ8", faiss.METRIC_INNER_PRODUCT)
    index.cp.niter = 10
    index.cp.max_points_per_centroid = IVF_TRAIN_PER_LIST
    index.cp.seed = seed
    sample = vecs
    if len(vecs) > nlist * IVF_TRAIN_PER_LIST:
        rng = np.random.default_rng(seed)
        sample = vecs[np.sort(rng.choice(len(vecs), nlist * IVF_TRAIN_PER_LIST, replace=False))]
    index.train(np.ascontiguousarray(sample, dtype=np.float32))
    index.nprobe = nprobe_for(nlist)
    faiss.downcast_index(index.quantizer).hnsw.efSearch = max(IVF_COARSE_EF, index.nprobe)
    index.set_direct_map_type(faiss.DirectMap.Hashtable)  # reconstruct and remove by id
    return index


def needs_rebuild(index: faiss.Index, kind: IndexType, n: int) -> bool:
    """Whether an index about to hold ``n`` vectors should be rebuilt: it is the wrong
    type for ``kind`` at that size, or an IVF whose clusters are too few for it."""
    wanted = resolve(kind, n)
    if kind_of(index) is not wanted:
        return True
    inner = _inner(index)
    return isinstance(inner, faiss.IndexIVF) and nlist_for(n) >= RETRAIN_GROWTH * inner.nlist


def kept_and_added(
    index: faiss.Index | None, stale: np.ndarray, ids: np.ndarray, vecs: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The (ids, vectors) an index rebuilt from ``index`` would hold: its own but
    ``stale`` (decoded, for an IVF), then ``vecs`` under ``ids``."""
    if index is None:
        return ids, vecs
    have, old = contents(index)
    keep = ~np.isin(have, stale)
    return np.concatenate([have[keep], ids]), np.concatenate([old[keep], vecs])


def contents(index: faiss.Index) -> tuple[np.ndarray, np.ndarray]:
    """Every (id, vector) the index holds, ids ascending; IVF vectors come back decoded."""
    ids = stored_ids(index)
    return ids, reconstruct(index, ids) if len(ids) else np.zeros((0, index.d), np.float32)


def stored_ids(index: faiss.Index) -> np.ndarray:
    """Every id the index holds, ascending, without decoding a vector (``rag check`` at a
    million chunks reads 8 MB of ids instead of 1.5 GB of vectors)."""
    if isinstance(index, faiss.IndexIDMap):
        ids = faiss.vector_to_array(index.id_map).astype(np.int64)
    else:
        inner = faiss.extract_index_ivf(index)
        invlists = inner.invlists
        parts = [
            faiss.rev_swig_ptr(invlists.get_ids(i), invlists.list_size(i)).copy()
            for i in range(inner.nlist)
            if invlists.list_size(i)
        ]
        ids = np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)
    ids.sort()
    return ids


def read_index(path: Path, mmap: bool = False) -> faiss.Index:
    """Read a vector file; with ``mmap`` a flat index's vectors are mapped, not read (a 1M
    flat file opens in milliseconds instead of seconds), and the index is read-only."""
    try:
        return faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC if mmap else 0)
    except RuntimeError:
        raise IndexError_(f"{path}: vector index file is damaged or unreadable") from None


def write_index(index: faiss.Index, path: Path) -> None:
    """Write to a temporary file, flush it to disk, then rename into place."""
    tmp = path.with_name(path.name + ".tmp")
    faiss.write_index(index, str(tmp))
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def add(index: faiss.Index, vecs: np.ndarray, ids: np.ndarray) -> None:
    if len(ids):
        index.add_with_ids(np.ascontiguousarray(vecs, dtype=np.float32), np.ascontiguousarray(ids, dtype=np.int64))


def remove(index: faiss.Index, ids: np.ndarray) -> faiss.Index:
    """The index without ``ids``: in place, except for HNSW, whose graph is rebuilt."""
    if len(ids) == 0:
        return index
    if kind_of(index) is IndexType.HNSW:
        have, vecs = contents(index)
        keep = ~np.isin(have, ids)
        return build(IndexType.HNSW, vecs[keep], have[keep], index.d)
    index.remove_ids(np.ascontiguousarray(ids, dtype=np.int64))
    return index


def reconstruct(index: faiss.Index, ids: np.ndarray) -> np.ndarray:
    """The stored vectors of ``ids`` (exact for flat and HNSW, decoded for IVF-SQ8)."""
    return index.reconstruct_batch(np.ascontiguousarray(ids, dtype=np.int64))


def _params(index: faiss.Index, selector: faiss.IDSelector, share: float) -> faiss.SearchParameters:
    """Search parameters for a filter keeping ``share`` of the vectors: an approximate
    index looks share ** -FILTER_WIDEN_POWER times wider, so that its probed clusters (or
    the graph's candidate list) still hold enough allowed vectors for a full top k."""
    inner = _inner(index)
    widen = max(share, 1e-6) ** -FILTER_WIDEN_POWER
    if isinstance(inner, faiss.IndexIVF):
        return faiss.SearchParametersIVF(sel=selector, nprobe=min(inner.nlist, math.ceil(inner.nprobe * widen)))
    if isinstance(inner, faiss.IndexHNSW):
        return faiss.SearchParametersHNSW(sel=selector, efSearch=min(1024, math.ceil(inner.hnsw.efSearch * widen)))
    return faiss.SearchParameters(sel=selector)


def search(
    index: faiss.Index,
    queries: np.ndarray,
    k: int,
    allowed: np.ndarray | None = None,
    totals: tuple[int, int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (scores, ids) per query row, best first; missing hits have id -1.

    ``allowed`` is a boolean mask over ids. A mask that keeps few vectors is searched
    exactly over just those, so a narrow date range stays fast and loses no recall to
    the IVF's probing; a wider one goes to FAISS as a bitmap, with a wider search. One
    query runs on one OpenMP thread: spreading a single query over threads costs more
    in start-up than it saves. When ``index`` is one shard of several, ``totals`` (the
    vectors allowed and held by all of them) makes both choices as one index of them all
    would, so each shard scans what that index would scan of its vectors.
    """
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    faiss.omp_set_num_threads(1 if len(queries) == 1 else max(1, os.cpu_count() or 1))
    k = max(1, min(k, index.ntotal))
    if allowed is None:
        return index.search(queries, k)
    here = int(np.count_nonzero(allowed))
    count, held = totals if totals is not None else (here, index.ntotal)
    if here == 0:
        return np.full((len(queries), 0), -1.0, dtype=np.float32), np.full((len(queries), 0), -1, dtype=np.int64)
    if count <= SCAN_MAX:
        return _scan(index, queries, k, np.flatnonzero(allowed))
    bitmap = np.packbits(allowed, bitorder="little")
    selector = faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(bitmap))
    return index.search(queries, min(k, here), params=_params(index, selector, count / max(1, held)))


def _scan(index: faiss.Index, queries: np.ndarray, k: int, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k over the vectors of ``ids`` only."""
    scores = queries @ reconstruct(index, ids).T
    k = min(k, len(ids))
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    part = np.take_along_axis(scores, top, axis=1)
    order = np.argsort(-part, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1).astype(np.float32), ids[np.take_along_axis(top, order, axis=1)]
