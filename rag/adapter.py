"""Question vector -> search vector: a learned linear map towards the passages that answer.

A question and the passage that answers it are not alike the way two paraphrases are
("Which country did Kim visit this week?" against "Kim Jong Un arrived in Beijing on
Tuesday"), and the embedding model was trained on paraphrase-like pairs. The map
``v -> normalise(v + v @ delta)`` is learned on the RealTimeQA training weeks' questions
and the chunks that hold their answers (``python -m train.adapter``), with ``delta``
held near zero, so the stored chunk vectors stay as they are and only a question's
vector moves. It applies only to queries that ask something (:func:`asks`), as the
training queries did, and only to vectors of the model it was learned on; a topic
('the 2023 Turkey earthquake') searches with its own vector.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import modelfile
from .lexicon import AUXILIARIES, QUESTION_WORDS
from .modelfile import ModelFileError
from .text import words

MODEL_FILE = Path(__file__).with_name("models") / "adapter.json"
MODEL_ENV = "RAG_ADAPTER_MODEL"  # another model file (one written by ``train.adapter --out``), or OFF
OFF = "off"  # $RAG_ADAPTER_MODEL=off: questions search with their own vectors
FORMAT = "rag-query-adapter"
VERSION = 1
RETRAIN = "python -m train.adapter --data ../shared/realtimeqa-train"


class AdapterModelError(ModelFileError):
    """The adapter's model file is missing, damaged or of another shape."""


def asks(query: str) -> bool:
    """Whether ``query`` asks a question (ends with '?' or opens with a question word or
    an auxiliary verb), as every query the adapter learned from did."""
    if query.rstrip().endswith("?"):
        return True
    ws = words(query)
    return bool(ws) and (ws[0].lower() in QUESTION_WORDS or ws[0].lower() in AUXILIARIES)


@dataclass(frozen=True)
class QueryAdapter:
    """``delta`` (d x d, float32) of the map ``v -> normalise(v + v @ delta)`` for the
    vectors of ``model``."""

    delta: np.ndarray
    model: str
    info: dict | None = None

    def apply(self, vectors: np.ndarray) -> np.ndarray:
        """Unit-length mapped copies of unit-length row vectors (one vector or a matrix)."""
        v = np.asarray(vectors, dtype=np.float32)
        mapped = v + v @ self.delta
        norm = np.linalg.norm(mapped, axis=-1, keepdims=True)
        return (mapped / np.where(norm > 0, norm, 1.0)).astype(np.float32)

    def to_payload(self) -> dict:
        half = np.ascontiguousarray(self.delta, dtype="<f2")  # float16: 0.3 MB; the map's error ~1e-4
        return {
            "format": FORMAT,
            "version": VERSION,
            "model": self.model,
            "shape": list(self.delta.shape),
            "delta_f16": base64.b64encode(half.tobytes()).decode("ascii"),
            "info": self.info or {},
        }

    def save(self, path: Path = MODEL_FILE) -> None:
        modelfile.write(path, self.to_payload())


def read_adapter(path: Path = MODEL_FILE) -> QueryAdapter:
    """The adapter stored at ``path``, checked: format, version, checksum and shape."""
    data = modelfile.read(path, FORMAT, VERSION, "query adapter model", RETRAIN, AdapterModelError)
    try:
        d, e = (int(x) for x in data["shape"])
        delta = np.frombuffer(base64.b64decode(data["delta_f16"]), dtype="<f2").astype(np.float32)
        if d != e or delta.size != d * e:
            raise ValueError(f"shape {d} x {e} does not fit {delta.size} numbers")
        return QueryAdapter(delta.reshape(d, e), str(data["model"]), dict(data.get("info", {})))
    except (KeyError, TypeError, ValueError) as exc:
        raise AdapterModelError(
            f"query adapter model {path} is damaged ({type(exc).__name__}: {exc}); retrain with `{RETRAIN}`"
        ) from None


def default_adapter() -> QueryAdapter | None:
    """The shipped adapter (or the one ``$RAG_ADAPTER_MODEL`` names, None for ``off``),
    read once per process."""
    if os.environ.get(MODEL_ENV) == OFF:
        return None
    return modelfile.cached(read_adapter, modelfile.env_or(MODEL_ENV, MODEL_FILE))  # type: ignore[return-value]


def search_vector(model: str, query: str, vector: np.ndarray, adapter: QueryAdapter | None = None) -> np.ndarray:
    """The vector ``query`` searches stored chunks with: mapped when it asks something
    and the adapter (default: the shipped one) was learned on ``model``'s vectors."""
    if not asks(query):
        return vector
    adapter = adapter or default_adapter()
    if adapter is None or adapter.model != model or adapter.delta.shape[0] != vector.shape[-1]:
        return vector
    return adapter.apply(vector)
