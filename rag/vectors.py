"""Plain functions over FAISS index objects: create, read, write atomically, search.

Vectors are unit length, so inner product is cosine similarity. Each vector's FAISS
id is its chunk's row id in SQLite, which lets chunks be removed or filtered by id.
"""

from __future__ import annotations

import os
from pathlib import Path

import faiss
import numpy as np

from .errors import IndexError_


def new_index(dimension: int) -> faiss.Index:
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))


def index_type(index: faiss.Index) -> str:
    inner = faiss.downcast_index(index.index) if hasattr(index, "index") else index
    return type(inner).__name__


def read_index(path: Path) -> faiss.Index:
    try:
        return faiss.read_index(str(path))
    except RuntimeError:
        raise IndexError_(f"{path}: vector index file is damaged or unreadable") from None


def write_index(index: faiss.Index, path: Path) -> None:
    """Write to a temporary file, flush it to disk, then rename into place."""
    tmp = path.with_name(path.name + ".tmp")
    faiss.write_index(index, str(tmp))
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def add(index: faiss.Index, vectors: np.ndarray, ids: np.ndarray) -> None:
    index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.ascontiguousarray(ids, dtype=np.int64))


def remove(index: faiss.Index, ids: np.ndarray) -> int:
    if len(ids) == 0:
        return 0
    return int(index.remove_ids(np.ascontiguousarray(ids, dtype=np.int64)))


def reconstruct(index: faiss.Index, ids: np.ndarray) -> np.ndarray:
    """The stored vectors of ``ids`` (exact for flat indexes)."""
    return index.reconstruct_batch(np.ascontiguousarray(ids, dtype=np.int64))


def search(index: faiss.Index, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (scores, ids) per query row; ``allowed`` restricts the search to those ids."""
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    k = max(1, min(k, index.ntotal))
    if allowed is None:
        return index.search(queries, k)
    if len(allowed) == 0:
        return np.full((len(queries), 0), -1.0, dtype=np.float32), np.full((len(queries), 0), -1, dtype=np.int64)
    selector = faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype=np.int64))
    params = faiss.SearchParameters(sel=selector)
    return index.search(queries, min(k, len(allowed)), params=params)
