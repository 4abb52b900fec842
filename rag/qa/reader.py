"""The learned reader: scores candidate answers and says how likely the best is right.

The model is a small feed-forward network (or, where cross-validation preferred it, a
logistic regression: a network with no hidden layer) over :data:`rag.qa.features.FEATURES`,
trained by ``python -m train.reader`` on the RealTimeQA training weeks, whose labels are
"this candidate contains the quiz's answer". Its output ranks a question's candidates;
a calibration fitted on held-out training weeks turns the best candidate's score and its
lead over the runner-up into the probability that the answer is right, and below a
threshold chosen on those weeks the reader answers nothing.

Where training found it better, a second network, the chooser, picks the answer: it was
trained to pick one candidate among a question's (a softmax over them), which is the
reader's task, and picks right more often; but its scores only compare candidates of one
question, so whether to answer at all is still judged by the first network's score of
the chosen candidate and its lead over the others.

The weights ship as JSON in ``models/reader.json`` (about 110 kB): numpy evaluates them, so
answering loads no training library. The file carries its format version, the feature
names it was trained on and a SHA-256 of its content; a missing, damaged or stale file is
refused with one clear line.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import modelfile
from ..modelfile import ModelFileError, layers_json, layers_of, network
from .features import FEATURES, RELEVANCE_FEATURES

MODEL_FILE = Path(__file__).with_name("models") / "reader.json"
MODEL_ENV = "RAG_READER_MODEL"  # another model file to answer with (one written by ``train.reader --out``)
FORMAT = "rag-reader"
VERSION = 1
RETRAIN = "python -m train.reader --data ../shared/realtimeqa-train"
# A question type with fewer training questions than this is answered by the hand-weighed
# selection: too few to learn from (the training weeks hold 47 date, 16 duration and 8
# manner questions, against 212 to 1,607 of the other types).
MIN_TYPE_QUESTIONS = 100


class ReaderModelError(ModelFileError):
    """The reader's model file is missing, damaged or made for other features."""


@dataclass(frozen=True)
class Reader:
    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    layers: modelfile.Layers  # (weights, bias); ReLU between, the last gives one logit
    calibration: tuple[float, float, float]  # P(right) = sigmoid(a * best logit + b * (best - runner-up) + c)
    threshold: float  # below this probability the reader answers nothing
    info: dict
    relevance: tuple[np.ndarray, float] = (np.zeros(len(RELEVANCE_FEATURES)), 0.0)  # P(on topic) = sigmoid(w . f + b)
    relevance_threshold: float = 0.0  # below this a summary says the index holds nothing on the topic
    chooser: modelfile.Layers | None = None  # picks the answer where present (same input)

    def logits(self, x: np.ndarray) -> np.ndarray:
        """One score per row of ``x`` (rows of :data:`FEATURES`); higher is likelier right."""
        return network(self.layers, (x - self.mean) / self.scale)

    def choose(self, x: np.ndarray, logits: np.ndarray) -> int:
        """The row of ``x`` to answer with: the chooser's best, else the best ``logits``."""
        if self.chooser is None:
            return int(np.argmax(logits))
        return int(np.argmax(network(self.chooser, (x - self.mean) / self.scale)))

    def confidence(self, logits: np.ndarray, chosen: int | None = None) -> float:
        """The probability that candidate ``chosen`` (default: the best-scored) is right,
        from its score and its lead over the best of the others."""
        if not len(logits):
            return 0.0
        score, lead = score_and_lead(logits, int(np.argmax(logits)) if chosen is None else chosen)
        a, b, c = self.calibration
        z = a * score + b * lead + c
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def covers(self, qtype: str) -> bool:
        """Whether the reader was trained on enough questions of type ``qtype`` to choose
        their answers (:data:`MIN_TYPE_QUESTIONS`)."""
        return int(self.info.get("questions_by_type", {}).get(qtype, 0)) >= MIN_TYPE_QUESTIONS

    def on_topic(self, f: np.ndarray) -> float:
        """The probability that passages with :data:`RELEVANCE_FEATURES` ``f`` are on the
        query's topic (learned as: they hold a training question's answer)."""
        w, b = self.relevance
        z = float(f @ w + b)
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def to_payload(self) -> dict:
        return {
            "format": FORMAT,
            "version": VERSION,
            "features": list(self.features),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "layers": layers_json(self.layers),
            **({"chooser": layers_json(self.chooser)} if self.chooser is not None else {}),
            "calibration": list(self.calibration),
            "threshold": self.threshold,
            "relevance": {
                "features": list(RELEVANCE_FEATURES),
                "weights": self.relevance[0].tolist(),
                "bias": self.relevance[1],
                "threshold": self.relevance_threshold,
            },
            "info": self.info,
        }

    def save(self, path: Path = MODEL_FILE) -> None:
        modelfile.write(path, self.to_payload())


def read_model(path: Path = MODEL_FILE) -> Reader:
    """The reader stored at ``path``, checked: format, version, checksum and features."""
    where = f"reader model {path}"
    data = modelfile.read(path, FORMAT, VERSION, "reader model", RETRAIN, ReaderModelError)
    if (
        tuple(data["features"]) != FEATURES
        or tuple(data.get("relevance", {}).get("features", ())) != RELEVANCE_FEATURES
    ):
        raise ReaderModelError(
            f"{where} was trained on other features than this rag computes; retrain with `{RETRAIN}`"
        )
    try:
        layers = layers_of(data["layers"])
        reader = Reader(
            features=FEATURES,
            mean=np.asarray(data["mean"], dtype=np.float64),
            scale=np.asarray(data["scale"], dtype=np.float64),
            layers=layers,
            calibration=_triple(data["calibration"]),
            threshold=float(data["threshold"]),
            info=dict(data.get("info", {})),
            relevance=(np.asarray(data["relevance"]["weights"], dtype=np.float64), float(data["relevance"]["bias"])),
            relevance_threshold=float(data["relevance"]["threshold"]),
            chooser=layers_of(data["chooser"]) if "chooser" in data else None,
        )
        reader.on_topic(np.zeros(len(RELEVANCE_FEATURES)))
        zeros = np.zeros((1, len(FEATURES)))
        reader.choose(zeros, reader.logits(zeros))  # shapes agree
    except (KeyError, TypeError, ValueError) as exc:
        raise ReaderModelError(f"{where} is damaged ({type(exc).__name__}: {exc}); retrain with `{RETRAIN}`") from None
    return reader


def default_reader() -> Reader:
    """The shipped reader (or the one ``$RAG_READER_MODEL`` names), read once per
    process, when the first question needs it."""
    return modelfile.cached(read_model, modelfile.env_or(MODEL_ENV, MODEL_FILE))  # type: ignore[return-value]


MAX_LEAD = 10.0  # a lead over the other candidates counts up to this (and is this with none)


def score_and_lead(logits: np.ndarray, k: int) -> tuple[float, float]:
    """Candidate ``k``'s score and its lead over the best of the others (at most
    :data:`MAX_LEAD`): what the calibration turns into a probability."""
    others = np.delete(logits, k)
    lead = float(logits[k] - others.max()) if len(others) else MAX_LEAD
    return float(logits[k]), min(lead, MAX_LEAD)


def _triple(values: Sequence[float]) -> tuple[float, float, float]:
    a, b, c = (float(v) for v in values)  # a calibration of another shape is a damaged file
    return a, b, c
