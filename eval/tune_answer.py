"""Measure answer-extraction settings on two halves of a gold file: tune on one, check on the other.

    python -m eval.tune_answer --gold ../shared/realtimeqa-2023q1/questions.jsonl --index indexes/rtqa-2023q1

Passages are retrieved once per question (as of its ``question_date``) and sentence
vectors are cached, so each setting costs only the span extraction. Prints the answer
accuracy (the answer contains a gold string) on half A, half B and all rows for: how
many passages are read, how many sentences are embedded, the discount by passage rank,
and the weight of further supporting articles. The defaults in rag/answer.py were
chosen on half A.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import replace
from unittest import mock

import numpy as np

from rag import answer as a
from rag import spans
from rag.question import analyse
from rag.retrieve import retrieve

from .common import as_of, contains_answer, half, run_main, tuning_run

READ_MAX = 12


def measure(
    rows: list[dict],
    retrieved: list,
    embed,
    config: a.AnswerConfig,
    read: int,
    other_votes: float = a.OTHER_VOTES,
    phrases=None,
    noun_phrases: bool = True,
) -> dict[str, float | None]:
    """Accuracy on half A, half B and all of ``rows`` (None for an empty half)."""
    correct: dict[int, list[bool]] = {0: [], 1: []}
    with (
        mock.patch.object(a, "OTHER_VOTES", other_votes),
        mock.patch.object(spans, "NOUN_PHRASE_PRIOR", spans.NOUN_PHRASE_PRIOR if noun_phrases else 0.0),
    ):
        for row, (qvec, passages) in zip(rows, retrieved):
            best, _ = a.answer_passages(
                analyse(row["question"]), a.sentences_of(passages[:read]), embed, qvec, config, phrases
            )
            text = None
            if best is not None:
                c = best.candidate
                text = c.text + (f" ({c.date.iso})" if c.date is not None else "")
            correct[half(row)].append(contains_answer(text, row["answers"]))
    return {
        name: round(statistics.fmean(v), 3) if v else None
        for name, v in (("A", correct[0]), ("B", correct[1]), ("all", correct[0] + correct[1]))
    }


def main() -> None:
    with tuning_run("python -m eval.tune_answer", __doc__.split("\n\n")[0]) as (index, rows, qvecs):
        retrieved = [
            (v, retrieve(index.corpus, g["question"], v, READ_MAX, as_of=as_of(g))) for g, v in zip(rows, qvecs)
        ]
        memo: dict[tuple[bool, str], np.ndarray] = {}

        def embedding(int8: bool):
            encode = index.embedder.encode_for_ranking if int8 else index.embedder.encode_queries

            def embed(texts: list[str]) -> np.ndarray:
                todo = [t for t in texts if (int8, t) not in memo]
                if todo:
                    memo.update(zip(((int8, t) for t in todo), encode(todo)))
                return np.stack([memo[int8, t] for t in texts])

            return embed

        phrase_memo: dict[str, np.ndarray] = {}

        def phrases(texts: list[str]) -> np.ndarray:  # short texts, batched as rag.answer batches them
            todo = [t for t in dict.fromkeys(texts) if t not in phrase_memo]
            if todo:
                phrase_memo.update(zip(todo, index.embedder.encode_for_ranking(todo, batch_size=16)))
            return np.stack([phrase_memo[t] for t in texts])

        base = a.AnswerConfig()
        runs: list[tuple[str, dict]] = [("default", {})]
        runs += [(f"read {r} passages", {"read": r}) for r in (1, 3, 5, 12)]
        runs += [(f"embed {n} sentences", {"config": replace(base, embed_sentences=n)}) for n in (0, 3, 12, 1000)]
        runs += [("fp32 sentences", {"config": replace(base, int8_sentences=False)})]
        runs += [(f"rank decay {d}", {"config": replace(base, rank_decay=d)}) for d in (0.0, 0.1, 0.5, 1.0)]
        runs += [(f"further articles {w}", {"other_votes": w}) for w in (0.0, 0.5)]
        runs += [("no noun phrases, no type fit", {"config": replace(base, type_power=0.0), "noun_phrases": False})]
        runs += [("noun phrases, no type fit", {"config": replace(base, type_power=0.0)})]
        runs += [
            (f"type fit power {p}, name floor {f}", {"config": replace(base, type_power=p, name_fit_floor=f)})
            for p in (1.0, 2.0, 4.0)
            for f in (0.0, 0.5, 1.0)
        ]
        for name, setting in runs:
            config = setting.get("config", base)
            result = measure(
                rows,
                retrieved,
                embedding(config.int8_sentences),
                config,
                setting.get("read", base.read_passages),
                setting.get("other_votes", a.OTHER_VOTES),
                phrases,
                setting.get("noun_phrases", True),
            )
            print(json.dumps({"setting": name, "accuracy": result}), flush=True)


if __name__ == "__main__":
    run_main(main)
