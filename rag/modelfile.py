"""The files of the models rag learns (the reader, the passage ranker): JSON with a format
name, a version and a SHA-256 of their content, read back checked.

Weights ship as JSON and numpy evaluates them, so answering loads no training library.
A missing, damaged, foreign or outdated file is refused with one line that says how to
get a good one.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .errors import RagError


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


def read(path: Path, fmt: str, version: int, what: str, retrain: str, error: type[ModelFileError] = ModelFileError) -> dict:
    """The payload stored at ``path``, checked for its format, version and checksum."""
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
        raise error(f"{where} is version {data.get('version')}, this rag reads version {version}; retrain with `{retrain}`")
    stored = data.pop("sha256", None)
    if stored != digest(data):
        raise error(f"{where} is damaged (checksum mismatch); restore it or retrain with `{retrain}`")
    return data
