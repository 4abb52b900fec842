"""Vector index types against a numpy reference: exact search, filters, removal, rebuilds."""

import numpy as np
import pytest

from rag import vectors
from rag.vectors import IndexType

DIM = 32


def unit(n: int, seed: int = 0) -> np.ndarray:
    """Clustered unit vectors, like embeddings of text on a few topics (uniform noise
    has no neighbourhoods for an approximate index to find)."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(99).normal(size=(40, DIM))
    x = (centres[rng.integers(0, 40, n)] + rng.normal(scale=0.5, size=(n, DIM))).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def exact(x: np.ndarray, ids: np.ndarray, q: np.ndarray, k: int, keep: np.ndarray | None = None) -> np.ndarray:
    scores = q @ x.T
    if keep is not None:
        scores[:, ~keep] = -np.inf
    return ids[np.argsort(-scores, axis=1)[:, :k]]


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth)]))


@pytest.fixture(scope="module")
def data():
    x = unit(6000)
    ids = np.arange(10, 6010, dtype=np.int64)  # FAISS ids are chunk ids, not row numbers
    return x, ids, unit(20, seed=1)


def test_auto_type_is_flat_when_small_and_ivf_when_large():
    assert vectors.resolve(IndexType.AUTO, 1000) is IndexType.FLAT
    assert vectors.resolve(IndexType.AUTO, vectors.FLAT_MAX) is IndexType.IVF_SQ8
    assert vectors.resolve(IndexType.HNSW, 10) is IndexType.HNSW


def test_ivf_lists_grow_with_the_index_and_probes_follow():
    assert vectors.nlist_for(1_000_000) == 16384 and vectors.nprobe_for(16384) == 48
    assert vectors.nlist_for(10) == 1 and vectors.nlist_for(100_000) == 2048 and vectors.nprobe_for(2048) == 32
    assert vectors.nlist_for(250_000) < vectors.nlist_for(1_000_000)


@pytest.mark.parametrize("kind", [IndexType.FLAT, IndexType.IVF_SQ8, IndexType.HNSW])
def test_each_type_finds_the_exact_neighbours(data, kind):
    x, ids, q = data
    index = vectors.build(kind, x, ids, DIM)
    assert vectors.kind_of(index) is kind and index.ntotal == len(x)
    _, found = vectors.search(index, q, 10)
    assert recall(found, exact(x, ids, q, 10)) >= (1.0 if kind is IndexType.FLAT else 0.9)


@pytest.mark.parametrize("kind", [IndexType.FLAT, IndexType.IVF_SQ8, IndexType.HNSW])
@pytest.mark.parametrize("share", [0.001, 0.5])
def test_a_filter_returns_only_allowed_ids(data, kind, share):
    """A narrow filter takes the exact scan, a wide one FAISS's selector; both obey it."""
    x, ids, q = data
    index = vectors.build(kind, x, ids, DIM)
    keep = np.random.default_rng(2).random(len(x)) < share
    mask = np.zeros(ids.max() + 1, dtype=bool)
    mask[ids[keep]] = True
    _, found = vectors.search(index, q, 5, mask)
    assert found.size and all(mask[i] for i in found.ravel() if i >= 0)
    truth = exact(x, ids, q, min(5, keep.sum()), keep)
    assert recall(found[:, : truth.shape[1]], truth) >= (1.0 if kind is IndexType.FLAT or share < 0.01 else 0.9)


@pytest.mark.parametrize("kind", [IndexType.FLAT, IndexType.IVF_SQ8, IndexType.HNSW])
def test_removed_ids_are_never_returned_and_the_rest_survive_a_file_round_trip(data, kind, tmp_path):
    x, ids, q = data
    index = vectors.build(kind, x, ids, DIM)
    _, before = vectors.search(index, q, 3)
    gone = np.unique(before[:, 0])
    index = vectors.remove(index, gone)
    assert index.ntotal == len(x) - len(gone)
    vectors.write_index(index, tmp_path / "v.faiss")
    again = vectors.read_index(tmp_path / "v.faiss")
    _, after = vectors.search(again, q, 3)
    assert not set(after.ravel()) & set(gone)
    held, vecs = vectors.contents(again)
    assert len(held) == again.ntotal and not set(held) & set(gone)
    row = np.searchsorted(ids, held[:5])
    assert np.allclose(vecs[:5], x[row], atol=0.02)  # IVF-SQ8 decodes 8-bit codes
    assert np.array_equal(vectors.stored_ids(again), np.setdiff1d(ids, gone))  # the same, without decoding


def test_an_ivf_is_rebuilt_once_it_has_grown_past_its_clusters(data):
    x, ids, _ = data
    index = vectors.build(IndexType.IVF_SQ8, x, ids, DIM)
    assert not vectors.needs_rebuild(index, IndexType.IVF_SQ8, len(x) * 2)
    assert vectors.needs_rebuild(index, IndexType.IVF_SQ8, vectors.IVF_LIST_SIZE * index.nlist * vectors.RETRAIN_GROWTH)
    assert vectors.needs_rebuild(index, IndexType.FLAT, len(x))
    flat = vectors.build(IndexType.AUTO, x, ids, DIM)
    assert vectors.needs_rebuild(flat, IndexType.AUTO, vectors.FLAT_MAX) and not vectors.needs_rebuild(
        flat, IndexType.AUTO, len(x)
    )


def test_an_empty_filter_finds_nothing(data):
    x, ids, q = data
    index = vectors.build(IndexType.FLAT, x, ids, DIM)
    scores, found = vectors.search(index, q[:1], 5, np.zeros(ids.max() + 1, dtype=bool))
    assert found.size == 0 and scores.size == 0


def test_an_ivf_finds_its_clusters_through_a_graph_and_keeps_it_on_disk(data, tmp_path):
    x, ids, q = data
    index = vectors.build(IndexType.IVF_SQ8, x, ids, DIM)
    assert "hnsw coarse" in vectors.index_type(index)
    vectors.write_index(index, tmp_path / "ivf.faiss")
    again = vectors.read_index(tmp_path / "ivf.faiss", mmap=True)
    assert vectors.index_type(again) == vectors.index_type(index)
    assert np.array_equal(vectors.search(again, q, 10)[1], vectors.search(index, q, 10)[1])
