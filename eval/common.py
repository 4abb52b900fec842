"""What both evaluations share: gold files, answer normalisation, building the index."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import re
import string
import sys
import tempfile
import time
import unicodedata
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from rag import Index, RagError
from rag.retrieve import DEFAULT_MODE, Mode


def load_gold(path: str | Path) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise RagError(f"{path}:{lineno}: invalid JSON ({exc.msg})") from None
    if not rows:
        raise RagError(f"{path}: no gold rows")
    return rows


def load_answerable(path: str | Path) -> list[dict]:
    """The gold rows a system can be scored on: all but those marked ``answerable: false``."""
    return [g for g in load_gold(path) if g.get("answerable", True)]


def normalize(text: str) -> str:
    """The gold rule: lower-case, drop punctuation, collapse white space."""
    text = "".join(ch for ch in text.lower() if not unicodedata.category(ch).startswith("P"))
    return " ".join(text.split())


def contains_answer(text: str | None, answers: list[str]) -> bool:
    if not text:
        return False
    norm = normalize(text)
    return any(normalize(a) and normalize(a) in norm for a in answers)


TRUTH_VALUES = frozenset({"true", "false"})


def passage_can_hold(answers: list[str]) -> bool:
    """Whether a passage can hold the gold as words of its own: not for a true-or-false
    claim, whose gold 'True' a passage holds only by chance ('true' in "came true").
    Passage hit@k is counted over the rows where it can (RealTimeQA 2023-Q1: 321 of 331)."""
    return not all(normalize(a) in TRUTH_VALUES for a in answers)


HIT_DEPTHS = (1, 5, 10)  # the passage hit@k every evaluation reports


def hits_at(texts: Iterable[str], answers: list[str], depths: tuple[int, ...] = HIT_DEPTHS) -> dict[str, bool]:
    """``hit@k`` for each depth: whether one of the first k ranked ``texts`` holds an answer
    (ask only where :func:`passage_can_hold`)."""
    first = next((i for i, t in enumerate(texts) if contains_answer(t, answers)), None)
    return {f"hit@{k}": first is not None and first < k for k in depths}


def states_nugget(lowered: str, nugget: list[str]) -> bool:
    """Whether a text, already lower-cased, states a gold nugget: holds any of its forms
    (eval.summary's nugget recall, and train.salience's story facts)."""
    return any(form.lower() in lowered for form in nugget)


def squad_tokens(text: str) -> list[str]:
    """SQuAD's answer tokens as published: lower case, no ASCII punctuation or articles
    (train.reader counts a span's words with it)."""
    text = "".join(ch for ch in text.lower() if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return text.split()


def answer_tokens(text: str) -> list[str]:
    """SQuAD's rule over Unicode punctuation as well as ASCII: RealTimeQA's choices quote
    titles typographically ('“Spare”'), and SQuAD's ASCII-only rule would score the
    answer 'Spare' as a miss. What exact match and F1 compare."""
    text = "".join(ch for ch in text.lower() if not unicodedata.category(ch).startswith("P"))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return text.split()


def exact_match(prediction: str | None, answers: list[str]) -> float:
    if prediction is None:
        return 0.0
    return float(any(answer_tokens(prediction) == answer_tokens(a) for a in answers))


def f1(prediction: str | None, answers: list[str]) -> float:
    if prediction is None:
        return 0.0
    best = 0.0
    pred = answer_tokens(prediction)
    for a in answers:
        gold = answer_tokens(a)
        common = sum((Counter(pred) & Counter(gold)).values())
        if common:
            p, r = common / len(pred), common / len(gold)
            best = max(best, 2 * p * r / (p + r))
    return best


def half(row: dict) -> int:
    """0 (half A) or 1 (half B), by a hash of the row's id: settings are tuned on A and checked on B."""
    return zlib.crc32(str(row.get("id")).encode()) % 2


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    idx = min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))
    return s[idx]


def add_index_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--gold", required=True, help="gold JSON Lines file")
    parser.add_argument("--articles", nargs="+", required=True, help="article files or folders")
    parser.add_argument("--index", help="index directory to build or reuse (default: a temporary one)")
    parser.add_argument("--model", help="embedding model (default: all-MiniLM-L6-v2)")
    parser.add_argument("--mode", choices=[m.value for m in Mode], default=DEFAULT_MODE.value, help="retrieval mode")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def as_of(row: dict) -> dt.date | None:
    """A gold row's ``question_date`` is the day it was asked: its "as of" date."""
    value = row.get("question_date")
    return dt.date.fromisoformat(value) if value else None


@contextlib.contextmanager
def built_index(args: argparse.Namespace) -> Iterator[tuple[Index, dict]]:
    """Open (building or topping up as needed) the index the evaluation reads."""
    with contextlib.ExitStack() as stack:
        path = args.index or stack.enter_context(tempfile.TemporaryDirectory(prefix="rag-eval-"))
        index = Index.open(Path(path) / "" if args.index else Path(path) / "index", model=args.model, create=True)
        stack.callback(index.close)
        start = time.perf_counter()
        report = index.add(args.articles, progress=sys.stderr.isatty())
        ingest = {"seconds": round(time.perf_counter() - start, 2), **report.to_json()}
        ingest.pop("warnings", None)
        yield index, ingest


@contextlib.contextmanager
def tuning_run(prog: str, description: str) -> Iterator[tuple[Index, list[dict], np.ndarray]]:
    """What the tuning scripts share: ``--gold`` and ``--index`` arguments, the answerable
    rows, the open index and the rows' question vectors."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--gold", required=True)
    parser.add_argument("--index", required=True)
    args = parser.parse_args()
    rows = load_answerable(args.gold)
    with Index.open(args.index) as index:
        yield index, rows, index.embedder.encode_queries([g["question"] for g in rows])


def run_main(main) -> None:
    try:
        main()
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    except FileNotFoundError as exc:
        print(f"error: {exc.filename}: no such file", file=sys.stderr)
        raise SystemExit(1) from None
