"""Embedding backends: ONNX Runtime (fp32, int8) against the torch pipeline it is exported from."""

import os
import threading

import numpy as np
import pytest

from rag import onnx_backend
from rag.embed import Backend, Embedder
from rag.errors import InputError

TEXTS = [
    "The Vellmar Harbour Bridge opened to traffic on Monday morning.",
    "A lunar lander touched down near the south pole after a two-week cruise.",
    "Short.",
    "word " * 300,  # longer than the model reads: truncated the same way by both
]


@pytest.fixture(scope="module")
def torch_vectors():
    return Embedder(backend=Backend.TORCH).encode(TEXTS)


def test_onnx_fp32_gives_the_torch_vectors_and_token_counts(torch_vectors):
    onnx = Embedder(backend=Backend.ONNX)
    assert np.allclose(onnx.encode(TEXTS), torch_vectors, atol=1e-4)
    assert np.allclose(onnx.encode_queries(TEXTS), torch_vectors, atol=1e-4)
    assert onnx.count_tokens(TEXTS) == Embedder(backend=Backend.TORCH).count_tokens(TEXTS)
    assert onnx.max_tokens == 254 and onnx.dimension == 384


def test_int8_vectors_stay_close_to_fp32_and_queries_stay_fp32(torch_vectors):
    int8 = Embedder(backend=Backend.ONNX_INT8)
    cosines = np.sum(int8.encode(TEXTS) * torch_vectors, axis=1)
    assert cosines.min() > 0.95 and not np.allclose(cosines, 1.0, atol=1e-5)
    assert np.allclose(int8.encode_queries(TEXTS), torch_vectors, atol=1e-4)


def test_auto_uses_an_export_only_once_it_exists(tmp_path, monkeypatch, torch_vectors):
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path))
    auto = Embedder()
    assert auto._query_model() is None  # no export yet: queries go through torch
    assert np.allclose(auto.encode_queries(TEXTS[:1]), torch_vectors[:1], atol=1e-4)
    auto.encode(TEXTS[:1])  # embedding articles exports the model
    assert onnx_backend.find(auto.name) is not None
    assert Embedder()._query_model() is not None


def test_an_older_export_serves_queries_until_an_ingest_renews_it(tmp_path, monkeypatch, torch_vectors):
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path))
    Embedder(backend=Backend.ONNX).encode(TEXTS[:1])
    manifest = onnx_backend.find(Embedder().name).folder / onnx_backend.MANIFEST
    manifest.write_text(manifest.read_text().replace(f'"version": {onnx_backend.EXPORT_VERSION}', '"version": 1'))
    assert Embedder()._query_model().export.version == 1
    assert np.allclose(Embedder().encode_queries(TEXTS[:1]), torch_vectors[:1], atol=1e-4)
    Embedder().encode(TEXTS[:1])
    assert onnx_backend.find(Embedder().name).version == onnx_backend.EXPORT_VERSION


def test_the_export_fuses_attention_and_keeps_the_vectors(tmp_path, monkeypatch, torch_vectors):
    import onnx

    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path))
    onnx_model = Embedder(backend=Backend.ONNX)
    assert np.allclose(onnx_model.encode(TEXTS), torch_vectors, atol=1e-4)
    graph = onnx.load(str(onnx_backend.find(onnx_model.name).graph(False)), load_external_data=False).graph
    assert {"Attention", "SkipLayerNormalization"} <= {node.op_type for node in graph.node}


def test_a_half_written_export_is_not_used(tmp_path, monkeypatch):
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path))
    folder = onnx_backend.export_folder(Embedder().name)
    folder.mkdir(parents=True)
    (folder / "model.onnx").write_bytes(b"partial")
    assert onnx_backend.find(Embedder().name) is None


def test_auto_falls_back_to_torch_when_the_export_fails(tmp_path, monkeypatch, torch_vectors):
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path))

    def broken(*args):
        raise RuntimeError("exporter cannot handle this model")

    monkeypatch.setattr(onnx_backend, "export", broken)
    auto = Embedder()
    assert np.allclose(auto.encode(TEXTS[:2]), torch_vectors[:2], atol=1e-4)
    with pytest.raises(InputError, match="cannot export model .* to ONNX: exporter cannot handle this model"):
        Embedder(backend=Backend.ONNX).encode(TEXTS[:1])  # asked for by name: the failure shows, in one line


def test_ranking_vectors_are_int8_on_one_thread_and_torch_without_an_export(tmp_path, monkeypatch, torch_vectors):
    auto = Embedder(backend=Backend.ONNX)
    ranked = auto.encode_for_ranking(TEXTS)
    cosines = np.sum(ranked * torch_vectors, axis=1)
    assert np.allclose(np.linalg.norm(ranked, axis=1), 1.0, atol=1e-5)
    assert cosines.min() > 0.95 and not np.allclose(cosines, 1.0, atol=1e-5)
    assert auto._onnx[True, 1].session.get_session_options().intra_op_num_threads == 1
    assert np.allclose(Embedder(backend=Backend.TORCH).encode_for_ranking(TEXTS[:2]), torch_vectors[:2], atol=1e-4)
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path))  # no export here: fp32 through torch, nothing exported
    assert np.allclose(Embedder().encode_for_ranking(TEXTS[:2]), torch_vectors[:2], atol=1e-4)
    assert onnx_backend.find(Embedder().name) is None


def test_a_lone_caller_spreads_ranking_runs_over_the_cores_with_the_same_vectors(monkeypatch):
    lone, server = Embedder(backend=Backend.ONNX), Embedder(backend=Backend.ONNX)
    server.spread = False
    lone.encode(TEXTS[:1])  # exports the model (fp32 and int8) if this run has not yet
    threads: set[int] = set()
    real_run = onnx_backend.OnnxModel._run

    def run(self, feed):
        threads.add(threading.get_ident())
        return real_run(self, feed)

    monkeypatch.setattr(onnx_backend.OnnxModel, "_run", run)
    spread = lone.encode_for_ranking(TEXTS)
    assert len(threads) == min(2, os.cpu_count() or 1)
    threads.clear()
    assert np.allclose(server.encode_for_ranking(TEXTS), spread, atol=1e-6) and len(threads) == 1


def test_only_the_int8_model_on_every_core_spins_between_runs():
    Embedder(backend=Backend.ONNX).encode(TEXTS[:1])  # the export, if this run has none yet
    exp = onnx_backend.find(Embedder().name)

    def spins(model: onnx_backend.OnnxModel) -> bool:
        return model.session.get_session_options().get_session_config_entry("session.intra_op.allow_spinning") == "1"

    assert spins(onnx_backend.OnnxModel(exp, quantized=True)) == ((os.cpu_count() or 1) > 1)
    assert not spins(onnx_backend.OnnxModel(exp, quantized=True, threads=1))
    assert not spins(onnx_backend.OnnxModel(exp, quantized=False))


def test_an_export_the_optimizer_cannot_fuse_keeps_the_plain_graph(tmp_path, monkeypatch, torch_vectors):
    import onnx
    from onnxruntime.transformers import optimizer

    def unknown(*args, **kwargs):
        raise RuntimeError("no fusion pattern for this model")

    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(optimizer, "optimize_model", unknown)
    plain = Embedder(backend=Backend.ONNX)
    assert np.allclose(plain.encode(TEXTS), torch_vectors, atol=1e-4)
    graph = onnx.load(str(onnx_backend.find(plain.name).graph(False)), load_external_data=False).graph
    assert "Attention" not in {node.op_type for node in graph.node}
