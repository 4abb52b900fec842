"""The files of the models rag learns (the reader, the passage ranker, sentence salience): JSON with a format
name, a version and a SHA-256 of their content, read back checked.

Weights ship as JSON and numpy evaluates them, so answering loads no training library.
A missing, damaged, foreign or outdated file is refused with one line that says how to
get a good one.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from .errors import RagError

Layers = tuple[tuple[np.ndarray, np.ndarray], ...]  # a network's (weights, bias) pairs, first layer first


class ModelFileError(RagError):
    """A model file is missing, damaged or made for another version or other features."""


def digest(payload: dict) -> str:
    """SHA-256 of a model payload, as written in its ``sha256`` field (keys sorted)."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def write(path: Path, payload: dict) -> None:
    """Write ``payload`` with its checksum, atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({**payload, "sha256": digest(payload)}, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)


def read_checked(
    path: Path, fmt: str, version: int, what: str, retrain: str, error: type[ModelFileError] = ModelFileError
) -> dict:
    """The JSON object stored at ``path``, checked for its format and version only (a
    manifest whose checksum is of another file checks that itself)."""
    where = f"{what} {path}"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{where} is missing; train it with `{retrain}`") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise error(f"{where} is damaged ({type(exc).__name__}); restore it or retrain with `{retrain}`") from None
    if not isinstance(data, dict) or data.get("format") != fmt:
        raise error(f"{where} is not a rag {what}")
    if data.get("version") != version:
        raise error(
            f"{where} is version {data.get('version')}, this rag reads version {version}; retrain with `{retrain}`"
        )
    return data


def read(
    path: Path, fmt: str, version: int, what: str, retrain: str, error: type[ModelFileError] = ModelFileError
) -> dict:
    """The payload stored at ``path``, checked for its format, version and checksum."""
    data = read_checked(path, fmt, version, what, retrain, error)
    stored = data.pop("sha256", None)
    if stored != digest(data):
        raise error(f"{what} {path} is damaged (checksum mismatch); restore it or retrain with `{retrain}`")
    return data


def env_or(env: str, default: Path) -> Path:
    """The model file named by the environment variable ``env``, else the shipped one."""
    return Path(os.environ.get(env) or default)


@functools.lru_cache(maxsize=8)
def cached(read: Callable[[Path], object], path: Path) -> object:
    """``read(path)``, once per process for each reader and file."""
    return read(path)


@dataclass(frozen=True)
class Logistic:
    """A logistic regression over standardised features: the passage ranker's model (a
    subclass that knows its file format)."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float
    info: dict | None = None

    def scores(self, x: np.ndarray) -> np.ndarray:
        """One probability per row of ``x``."""
        z = ((x - self.mean) / self.scale) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0)))

    def payload(self, fmt: str, version: int, features: Sequence[str]) -> dict:
        return {
            "format": fmt,
            "version": version,
            "features": list(features),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "weights": self.weights.tolist(),
            "bias": self.bias,
            "info": self.info or {},
        }


L = TypeVar("L", bound=Logistic)


def read_logistic(
    path: Path,
    fmt: str,
    version: int,
    features: Sequence[str],
    what: str,
    retrain: str,
    error: type[ModelFileError],
    cls: type[L],
) -> L:
    """The logistic model stored at ``path``, checked: format, version, checksum, features."""
    data = read(path, fmt, version, what, retrain, error)
    if tuple(data.get("features", ())) != tuple(features):
        raise error(f"{what} {path} was trained on other features than this rag computes; retrain with `{retrain}`")
    try:
        model = cls(
            mean=np.asarray(data["mean"], dtype=np.float64),
            scale=np.asarray(data["scale"], dtype=np.float64),
            weights=np.asarray(data["weights"], dtype=np.float64),
            bias=float(data["bias"]),
            info=dict(data.get("info", {})),
        )
        model.scores(np.zeros((1, len(features))))  # shapes agree
    except (KeyError, TypeError, ValueError) as exc:
        raise error(f"{what} {path} is damaged ({type(exc).__name__}: {exc}); retrain with `{retrain}`") from None
    return model


def network(layers: Sequence[tuple[np.ndarray, np.ndarray]], h: np.ndarray) -> np.ndarray:
    """One logit per row of the standardised ``h``: ReLU between the layers (the
    reader's networks and the salience model's; their trainers score with it too)."""
    for i, (w, b) in enumerate(layers):
        h = h @ w + b
        if i < len(layers) - 1:
            h = np.maximum(h, 0.0)
    return h[:, 0]


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0)))


def layers_json(layers: Sequence[tuple[np.ndarray, np.ndarray]]) -> list[dict]:
    return [{"weights": w.tolist(), "bias": b.tolist()} for w, b in layers]


def layers_of(data: list[dict]) -> Layers:
    return tuple(
        (np.asarray(layer["weights"], dtype=np.float64), np.asarray(layer["bias"], dtype=np.float64)) for layer in data
    )
