"""The naive pipeline a user assembles from a framework's defaults, as a yardstick.

Fixed 200-word windows with 40 words of overlap, the same embedding model, exact dense
search, and for an answer the first sentence of the top passage. No dates, no lexical
search, no answer extraction. Its vectors are cached in a folder (``--baseline-cache``)
so that comparisons on a large corpus pay for them once.

    python -m eval.baseline --articles ../shared/realtimeqa-2023q1/articles.jsonl --cache indexes/naive-rtqa
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.embed import Embedder
from rag.load import load_paths
from rag.sentences import split

WINDOW_WORDS = 200
OVERLAP_WORDS = 40


@dataclass
class NaiveHit:
    doc_id: str
    text: str
    score: float


def windows(text: str, size: int = WINDOW_WORDS, overlap: int = OVERLAP_WORDS) -> list[str]:
    words = text.split()
    step = size - overlap
    return [" ".join(words[i : i + size]) for i in range(0, max(1, len(words) - overlap), step)]


class NaiveIndex:
    def __init__(self, doc_ids: list[str], texts: list[str], vectors: np.ndarray, embedder: Embedder) -> None:
        self.doc_ids, self.texts, self.vectors, self.embedder = doc_ids, texts, vectors, embedder

    @classmethod
    def build(
        cls, articles: list[str], cache: Path | None, model: str | None = None, progress: bool = False
    ) -> NaiveIndex:
        embedder = Embedder(model)
        docs = load_paths(articles, clean=False).documents  # as a framework's loader reads them
        doc_ids, texts = [], []
        for d in docs:
            for w in windows(d.text):
                doc_ids.append(d.id)
                texts.append(w)
        key = hashlib.sha256(("\n".join(texts) + embedder.name).encode()).hexdigest()[:16]
        if cache and (cache / f"{key}.npy").exists():
            return cls(doc_ids, texts, np.load(cache / f"{key}.npy"), embedder)
        vectors = embedder.encode(texts, progress=progress)
        if cache:
            cache.mkdir(parents=True, exist_ok=True)
            np.save(cache / f"{key}.npy", vectors)
            lengths = embedder.count_tokens(texts)
            stats = {"windows": len(texts), "truncated": sum(n > embedder.max_tokens for n in lengths)}
            (cache / f"{key}.json").write_text(json.dumps(stats))
        return cls(doc_ids, texts, vectors, embedder)

    def search(self, query: str, k: int = 10) -> list[NaiveHit]:
        q = self.embedder.encode_queries([query])[0]
        scores = self.vectors @ q
        top = np.argsort(-scores)[:k]
        return [NaiveHit(self.doc_ids[i], self.texts[i], float(scores[i])) for i in top]

    def answer(self, question: str) -> tuple[str | None, list[NaiveHit]]:
        hits = self.search(question, 10)
        if not hits:
            return None, hits
        sentences = split(hits[0].text)
        return (sentences[0] if sentences else hits[0].text), hits


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m eval.baseline", description="Build (and cache) the naive baseline's vectors."
    )
    parser.add_argument("--articles", nargs="+", required=True)
    parser.add_argument("--cache", required=True)
    parser.add_argument("--model")
    args = parser.parse_args()
    index = NaiveIndex.build(args.articles, Path(args.cache), args.model, progress=sys.stderr.isatty())
    print(json.dumps({"windows": len(index.texts), "cache": args.cache}))


if __name__ == "__main__":
    main()
