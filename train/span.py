"""Train the span scorer (:mod:`rag.qa.span`): MiniLM fine-tuned to point at the answer.

    python -m train.span --data ../shared/realtimeqa-train

The reader's hand-measured features say how a candidate sits in its sentence (near the
question's words, of the asked shape, repeated across articles); none of them reads the
sentence as a whole against the question. This trains that reading: the embedding
model's encoder (all-MiniLM-L6-v2) with a start/end head, as extractive readers are
trained on SQuAD (Devlin et al. 2019), on the question followed by a passage.

1. Examples come from the training weeks of 2022 only (``WEEKS_BEFORE``): the reader
   (:mod:`train.reader`) learns from the weeks of 2023-04 on, and must see this model's
   scores on questions it was not trained on, as answering will. For each quiz: its
   evidence paragraph and up to ``POSITIVES`` windows of that week's search results
   that hold the answer (those most about the question first), the answer's first
   mention labelled; and up to ``NEGATIVES`` windows most about the question that do
   not hold it, labelled with the [CLS] token ("no answer here"), so that scores are
   comparable across passages (shared normalisation, Clark and Gardner 2018). Beside
   them, reading questions made from the 2022 articles' own sentences
   (:func:`generated_examples`), which teach it to read rather than to favour the
   names quizzes ask about.
2. Fine-tune (AdamW, linear decay, fixed seed) for ``EPOCHS`` epochs, two threads.
3. Export to ONNX with int8 weights (dynamic quantisation), write
   ``rag/qa/models/span.onnx`` and its manifest ``span.json`` (format, version, the
   file's SHA-256, what it was trained on, held-out figures).

A tenth of the quizzes (every tenth week) is held out to report how often the best span
of a positive window is the answer. On 2 cores the whole run takes about 35 minutes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import random
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

WEEKS_BEFORE = "2023-01-01"  # quizzes of 2022: disjoint from the reader's weeks and from the development quarter
WINDOW_WORDS = 110  # a window of a search result, shorter than an indexed chunk (rag.chunk: 160 word-pieces)
WINDOW_STEP = 55
POSITIVES = 2  # windows of the search results holding the answer, per quiz
NEGATIVES = 2  # windows most about the question without it, per quiz
LOOKBACK_DAYS = 21  # search results published this long before the quiz at most
EPOCHS = 1.0  # 17,935 examples at ~10 a second: about 30 minutes on 2 cores
BATCH = 16
LEARNING_RATE = 5e-5
SEED = 0
HELD_OUT_EVERY = 10  # every tenth week is held out
GENERATED = 15_000  # reading questions made from the articles' own sentences (see generated_examples)
GENERATED_PER_ARTICLE = 4  # windows of one article questions are made in, at most
GENERATED_NEGATIVE = 0.25  # share of them paired with a window without their answer
GENERATED_DROP = 0.3  # at most this share of a question's other words is left out
# the wh-word each OntoNotes label is asked with, as subject and elsewhere
_WH = {
    "PERSON": "who",
    "ORG": "which organisation",
    "NORP": "which group",
    "GPE": "which place",
    "LOC": "which place",
    "FAC": "which place",
    "EVENT": "which event",
    "WORK_OF_ART": "what",
    "PRODUCT": "what",
    "LAW": "which law",
    "MONEY": "how much",
    "PERCENT": "what percentage",
    "DATE": "when",
}
# the roles an answer may have in its clause: subject, object, object of a preposition,
# a number counting a noun, a bare date; not a word inside another noun phrase
_ANSWER_ROLES = frozenset({"nsubj", "nsubjpass", "dobj", "pobj", "attr", "npadvmod", "dative", "oprd"})
_WHERE_PREPOSITIONS = frozenset({"in", "at", "near", "to", "from", "into", "across", "outside", "inside"})
_WHEN_PREPOSITIONS = frozenset({"on", "in", "at", "since", "until", "by", "during"})


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Example:
    question: str
    context: str
    start: int  # character offsets of the answer in ``context``; -1 for none
    end: int
    week: str


def _answer_pattern(answers: list[str]) -> re.Pattern | None:
    """A case-insensitive whole-word pattern for any of the answers, quotes stripped."""
    alts = []
    for a in answers:
        core = a.strip().strip("\"'“”‘’«».,").strip()
        if core:
            alts.append(r"\s+".join(re.escape(w) for w in core.split()))
    if not alts:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(sorted(alts, key=len, reverse=True)) + r")(?!\w)", re.IGNORECASE)


_WORD = re.compile(r"\w+")
_STOP = frozenset(
    "the a an of to in on for and or is was were be by with at from that this which who what when where how "
    "did does do has have had its it as are his her their he she they new recently week".split()
)


def _keys(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text) if w.lower() not in _STOP and len(w) > 2}


def windows(text: str) -> list[tuple[int, int]]:
    """Character ranges of overlapping windows of ``WINDOW_WORDS`` words."""
    spans = [m.span() for m in re.finditer(r"\S+", text)]
    out = []
    for i in range(0, max(1, len(spans) - WINDOW_STEP), WINDOW_STEP):
        part = spans[i : i + WINDOW_WORDS]
        if part:
            out.append((part[0][0], part[-1][1]))
    return out


def examples(data: Path) -> list[Example]:
    """Training examples from the quizzes of 2022 (see the module's docstring)."""
    with open(data / "questions.jsonl", encoding="utf-8") as fh:
        qs = [q for q in map(json.loads, fh) if q["question_date"] < WEEKS_BEFORE and q.get("answerable", True)]
    evidence: dict[str, str] = {}
    results: list[tuple[str, str]] = []  # (date, text)
    with gzip.open(data / "articles.jsonl.gz", "rt", encoding="utf-8") as fh:
        for a in map(json.loads, fh):
            if a["id"].startswith("ev-"):
                evidence[a["id"]] = a["text"]
            elif "2022-01-01" <= (a.get("date") or "") < WEEKS_BEFORE:
                results.append((a["date"], (a.get("title") or "") + "\n" + a["text"]))
    results.sort()
    dates = [d for d, _ in results]
    article_keys = [_keys(text) for _, text in results]
    cut: dict[int, list[tuple[str, set[str]]]] = {}  # article -> its windows and their words, made once

    def windows_of(i: int) -> list[tuple[str, set[str]]]:
        if i not in cut:
            text = results[i][1]
            cut[i] = [(text[a:b], _keys(text[a:b])) for a, b in windows(text)]
        return cut[i]

    rng = random.Random(SEED)
    out: list[Example] = []
    for q in qs:
        pattern = _answer_pattern(q["answers"])
        if pattern is None:
            continue
        week = q["question_date"]
        ev = evidence.get(q.get("evidence_id") or "")
        if ev and (m := pattern.search(ev)):
            out.append(Example(q["question"], ev, m.start(), m.end(), week))
        day = dt.date.fromisoformat(week)
        lo = int(np.searchsorted(dates, (day - dt.timedelta(days=LOOKBACK_DAYS)).isoformat()))
        hi = int(np.searchsorted(dates, (day + dt.timedelta(days=1)).isoformat()))
        qkeys = _keys(q["question"])
        need = max(1, int(0.3 * len(qkeys) + 0.999))
        pos: list[tuple[float, Example]] = []
        neg: list[tuple[float, Example]] = []
        for i in range(lo, hi):
            if len(qkeys & article_keys[i]) < need:
                continue
            for ctx, ckeys in windows_of(i):
                overlap = len(qkeys & ckeys) / (len(qkeys) or 1)
                if overlap < 0.3:
                    continue
                m = pattern.search(ctx)
                ex = Example(q["question"], ctx, m.start() if m else -1, m.end() if m else -1, week)
                (pos if m else neg).append((overlap + rng.random() * 1e-3, ex))
        out += [e for _, e in sorted(pos, key=lambda p: -p[0])[:POSITIVES]]
        out += [e for _, e in sorted(neg, key=lambda p: -p[0])[:NEGATIVES]]
    return out


def generated_examples(data: Path, n: int = GENERATED) -> list[Example]:
    """Reading questions made from the 2022 search results' own sentences, by rules over
    spaCy's parse (Heilman and Smith 2010, simplified): a named entity, number or object
    of a clause becomes its wh-word ("who", "where", "when", "how many fans", "what"),
    fronted with the clause's subject and auxiliary inverted ("Where did the lander touch
    down?"), some of the other words dropped, and the answer is sought in a 110-word
    window around the sentence. Trained on the quizzes alone, the scorer learned which
    names news quizzes ask about more than how to read ("Who scored twice?" over
    "Riverton Rovers won the cup ... Maya Lindqvist scored twice" gave the team); these
    teach it to match a question against the sentence that answers it, whichever of the
    window's names that is. A share (``GENERATED_NEGATIVE``) is paired with another
    window of the same article that does not hold the answer, labelled "no answer
    here": the story's words are not the answer."""
    import importlib

    from rag.entities import _package
    from rag.sentences import split_spans

    nlp = importlib.import_module(_package()).load()  # the whole pipeline: the rules read the parse
    rng = random.Random(SEED + 1)
    texts: list[str] = []
    with gzip.open(data / "articles.jsonl.gz", "rt", encoding="utf-8") as fh:
        for a in map(json.loads, fh):
            if not a["id"].startswith("ev-") and "2022-01-01" <= (a.get("date") or "") < WEEKS_BEFORE:
                texts.append(a["text"])
    rng.shuffle(texts)
    picks: list[
        tuple[str, int, int, str, list[tuple[int, int]]]
    ] = []  # (window, sentence start, end, text, other windows)
    for text in texts:
        cuts = windows(text)
        if not cuts:
            continue
        apart = cuts[::2]  # windows that do not overlap
        for a, b in rng.sample(apart, min(len(apart), GENERATED_PER_ARTICLE)):
            window = text[a:b]
            sentences = [(x, y) for x, y in split_spans(window) if 6 <= len(window[x:y].split()) <= 45]
            if sentences:
                x, y = sentences[rng.randrange(len(sentences))]
                others = [(c, d) for c, d in cuts if d <= a or c >= b]
                picks.append((window, x, y, text, others))
        if len(picks) >= 2 * n:
            break
    rng.shuffle(picks)
    out: list[Example] = []
    docs = nlp.pipe((w[x:y] for w, x, y, _, _ in picks), batch_size=256)
    for (window, x, _, text, others), doc in zip(picks, docs):
        if len(out) >= n:
            break
        options = [q for q in clause_questions(doc) if q]
        if not options:
            continue
        question, s, e = options[rng.randrange(len(options))]
        question = _drop_words(question, rng)
        if others and rng.random() < GENERATED_NEGATIVE:
            answer = re.compile(r"(?<!\w)" + re.escape(doc.text[s:e]) + r"(?!\w)", re.IGNORECASE)
            c, d = others[rng.randrange(len(others))]
            if not answer.search(text[c:d]):
                out.append(Example(question, text[c:d], -1, -1, "generated"))
                continue
        out.append(Example(question, window, x + s, x + e, "generated"))
    return out


def clause_questions(doc) -> list[tuple[str, int, int] | None]:
    """Every question the clause rules make of one parsed sentence: (question, the
    answer's character offsets in the sentence)."""
    out = [_question(doc, ent.root, ent.start, ent.end, ent.label_) for ent in doc.ents]
    for tok in doc:
        if tok.dep_ == "dobj" and tok.pos_ in ("NOUN", "PROPN") and not tok.ent_type_:
            first = min((t.i for t in tok.subtree if t.dep_ != "det"), default=tok.i)
            last = max(t.i for t in tok.subtree)
            if last - first <= 5:
                out.append(_question(doc, tok, first, last + 1, "THING"))
    return out


def _clause(tok):
    """The nearest verb above ``tok`` with a subject of its own, and that subject."""
    v = tok
    for _ in range(6):
        if v.pos_ in ("VERB", "AUX"):
            subj = [c for c in v.children if c.dep_ in ("nsubj", "nsubjpass")]
            if subj:
                return v, subj[0]
        if v.head is v:
            return None, None
        v = v.head
    return None, None


def _question(doc, root, start: int, end: int, label: str) -> tuple[str, int, int] | None:
    """One question whose answer is tokens ``start``..``end`` of ``doc``, or None where
    the rules do not fit (no clause, a label never asked about, the answer is the verb)."""
    drop = set(range(start, end))
    anchor = root
    wh = _WH.get(label, "what" if label == "THING" else "")
    if label == "CARDINAL" and root.dep_ == "nummod" and root.head.pos_ == "NOUN" and root.head.i == end:
        anchor = root.head
        wh = "how many " + anchor.text
        drop |= {t.i for t in anchor.subtree if t.i >= end}
    if not wh or anchor.dep_ not in _ANSWER_ROLES:
        return None
    drop |= {t.i for t in anchor.subtree}
    if anchor.dep_ == "pobj" and anchor.head.dep_ == "prep" and not wh.startswith("how many"):
        prep = anchor.head
        p = prep.lower_
        if label in ("GPE", "LOC", "FAC") and p in _WHERE_PREPOSITIONS:
            wh = "where"
        elif label == "DATE" and p in _WHEN_PREPOSITIONS:
            wh = "when"
        elif label == "DATE":
            return None
        else:
            wh = f"{p} {'whom' if wh == 'who' else wh}"
        drop |= {t.i for t in prep.subtree}
        anchor = prep
    elif label == "DATE" and anchor.dep_ not in ("npadvmod", "tmod", "nsubj", "dobj"):
        return None
    verb, subj = _clause(anchor.head if anchor.dep_ not in ("nsubj", "nsubjpass") else anchor)
    if verb is None or subj.pos_ == "PRON":  # "he", "which": a question needs its subject named
        return None
    clause = sorted(t.i for t in verb.subtree)
    if anchor.i not in clause:
        return None
    subject = sorted(t.i for t in subj.subtree)

    def piece(i: int) -> str:  # a token as written, spaced where its neighbour is left out
        tok = doc[i]
        return tok.text_with_ws if tok.whitespace_ or i + 1 not in drop else tok.text + " "

    if anchor is subj or (anchor.i in subject and subj.i in drop):
        if wh == "when":
            return None
        words = [wh + " "] + [piece(i) for i in clause if i > subject[-1] and i not in drop]
    else:
        if anchor.i in subject:
            return None
        aux = [c for c in verb.children if c.dep_ in ("aux", "auxpass") and c.i < verb.i]
        rest = [piece(i) for i in clause if i > verb.i and i not in drop]
        if not any(w[:1].isalnum() for w in rest):
            return None
        subject_words = [piece(i) for i in subject if i not in drop]
        if subject_words and doc[subject[0]].tag_ not in ("NNP", "NNPS") and doc[subject[0]].text != "I":
            subject_words[0] = subject_words[0].lower()
        if aux:
            first = aux[0]
            middle = [piece(i) for i in clause if first.i < i < verb.i and i not in subject]
            words = [wh + " ", first.text + " ", *subject_words, *middle, verb.text_with_ws, *rest]
        elif verb.lemma_ == "be":
            words = [wh + " ", verb.text + " ", *subject_words, *rest]
        elif verb.tag_ in ("VBD", "VBZ", "VBP"):
            do = {"VBD": "did", "VBZ": "does", "VBP": "do"}[verb.tag_]
            words = [wh + " ", do + " ", *subject_words, verb.lemma_ + " ", *rest]
        else:
            return None
    words = [w for w in words if w.strip()]
    while words and not any(ch.isalnum() for ch in words[-1]):
        words.pop()
    if len(words) < 3:
        return None
    text = re.sub(r"\s+", " ", re.sub(r"[\"“”]", "", "".join(words))).strip(" ,;:-")
    return text[0].upper() + text[1:] + "?", doc[start].idx, doc[end - 1].idx + len(doc[end - 1].text)


def _drop_words(question: str, rng: random.Random) -> str:
    """Up to ``GENERATED_DROP`` of the question's words after its wh-phrase left out, as
    people ask with fewer words than the sentence answering them uses."""
    from rag.lexicon import STOPWORDS

    words = question.rstrip("?").split(" ")
    head, tail = words[:2], words[2:]
    share = rng.random() * GENERATED_DROP
    kept = [w for w in tail if w.lower() in STOPWORDS or rng.random() >= share]
    return " ".join([*head, *kept]) + "?"


def held_out(ex: Example, weeks: list[str]) -> bool:
    return weeks.index(ex.week) % HELD_OUT_EVERY == HELD_OUT_EVERY - 1


def encode(tokenizer, batch: list[Example], max_length: int):
    """Token ids of question + context, and the answer's token positions (0, 0: [CLS])."""
    enc = tokenizer(
        [e.question for e in batch],
        [e.context for e in batch],
        truncation="only_second",
        max_length=max_length,
        padding=True,
        return_offsets_mapping=True,
        return_tensors="np",
    )
    starts, ends = [], []
    for i, e in enumerate(batch):
        seq = enc.sequence_ids(i)
        s = t = 0
        if e.start >= 0:
            for j, (a, b) in enumerate(enc["offset_mapping"][i]):
                if seq[j] != 1:
                    continue
                if s == 0 and a <= e.start < b:
                    s = j
                if a < e.end <= b:
                    t = j
            if not (s and t and t >= s):
                s = t = 0  # the answer was cut off by truncation
        starts.append(s)
        ends.append(t)
    return enc, np.array(starts), np.array(ends)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m train.span", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="../shared/realtimeqa-train", help="the RealTimeQA training weeks")
    parser.add_argument("--out", default=None, help="folder to write span.onnx and span.json (default: rag's)")
    parser.add_argument("--epochs", type=float, default=EPOCHS)
    parser.add_argument(
        "--generated", type=int, default=GENERATED, help="reading questions made from sentences (0: none)"
    )
    parser.add_argument("--keep", default=None, help="also save the fine-tuned torch weights here (.pt)")
    parser.add_argument("--limit", type=int, default=0, help="train on this many examples only (a quick check)")
    args = parser.parse_args()

    import torch
    from transformers import AutoModel, AutoTokenizer

    from rag.embed import DEFAULT_MODEL, _model_location  # the packaged MiniLM
    from rag.qa import span as span_model

    torch.manual_seed(SEED)
    torch.set_num_threads(2)
    random.seed(SEED)
    t0 = time.perf_counter()
    exs = examples(Path(args.data))
    weeks = sorted({e.week for e in exs})
    made = generated_examples(Path(args.data), args.generated)
    train = [e for e in exs if not held_out(e, weeks)] + made
    test = [e for e in exs if held_out(e, weeks)]
    random.Random(SEED).shuffle(train)
    if args.limit:
        train, test = train[: args.limit], test[: max(16, args.limit // 10)]
    _log(
        f"{len(exs)} examples ({sum(e.start >= 0 for e in exs)} with the answer) from {len(weeks)} weeks of 2022; "
        f"{len(train)} to train, {len(test)} held out ({time.perf_counter() - t0:.0f} s)"
    )
    location = _model_location(DEFAULT_MODEL)
    tokenizer = AutoTokenizer.from_pretrained(location)
    model = span_net(AutoModel.from_pretrained(location))
    steps = int(len(train) / BATCH * args.epochs)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / max(1, steps // 10)) * max(0.0, 1 - s / max(1, steps))
    )
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    start = time.perf_counter()
    for step in range(steps):
        k = (step * BATCH) % len(train)
        batch = train[k : k + BATCH] or train[:BATCH]
        enc, s, t = encode(tokenizer, batch, span_model.MAX_TOKENS)
        start_logits, end_logits = model(
            torch.from_numpy(enc["input_ids"]),
            torch.from_numpy(enc["attention_mask"]),
            torch.from_numpy(enc["token_type_ids"]),
        )
        loss = (loss_fn(start_logits, torch.from_numpy(s)) + loss_fn(end_logits, torch.from_numpy(t))) / 2
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        if (step + 1) % 25 == 0:
            rate = (step + 1) * BATCH / (time.perf_counter() - start)
            _log(f"  step {step + 1}/{steps}: loss {loss.item():.3f} ({rate:.1f} examples/s)")
    model.eval()
    figures = evaluate(model, tokenizer, test)
    _log(f"held out: {figures}")
    out = Path(args.out) if args.out else span_model.MODEL_DIR
    info = {
        "trained": dt.date.today().isoformat(),
        "data": f"RealTimeQA training weeks of 2022: {len(train)} windows and evidence paragraphs, {len(made)} of them with questions made from sentences",
        "base": "sentence-transformers/all-MiniLM-L6-v2",
        "epochs": args.epochs,
        "learning_rate": LEARNING_RATE,
        "seed": SEED,
        "held_out": figures,
        "train_seconds": round(time.perf_counter() - start),
    }
    if args.keep:
        torch.save(model.state_dict(), args.keep)
    export(model, tokenizer, out, info)
    print(json.dumps({"written": str(out), **info}, indent=1))


def span_net(encoder):
    """The encoder with a start/end head over its token states."""
    import torch

    class SpanNet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder
            self.head = torch.nn.Linear(encoder.config.hidden_size, 2)

        def forward(self, input_ids, attention_mask, token_type_ids):
            h = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            logits = self.head(h)
            pad = (1 - attention_mask) * -1e4  # padding is never a span
            return logits[..., 0] + pad, logits[..., 1] + pad

    return SpanNet()


def export(model, tokenizer, out: Path, info: dict) -> None:
    """ONNX with int8 weights and its manifest, written atomically into ``out``."""
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from rag.qa.span import FORMAT, VERSION, file_digest

    out.mkdir(parents=True, exist_ok=True)
    plain = out / "span-fp32.onnx.tmp"
    quant = out / "span.onnx.tmp"
    enc = tokenizer(["who won"], ["the team won"], return_tensors="pt")
    model.encoder.config._attn_implementation = "eager"  # the exporter traces plain attention
    with torch.no_grad():
        torch.onnx.export(
            model,
            (enc["input_ids"], enc["attention_mask"], enc["token_type_ids"]),
            str(plain),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["start", "end"],
            dynamic_axes={
                n: {0: "batch", 1: "tokens"} for n in ("input_ids", "attention_mask", "token_type_ids", "start", "end")
            },
            opset_version=17,
            dynamo=False,
        )
    fused = _fused(plain, model, {k: v.numpy() for k, v in enc.items()})
    # fused operators are outside ONNX's shape inference: their outputs are float
    quantize_dynamic(
        str(fused),
        str(quant),
        weight_type=QuantType.QInt8,
        per_channel=True,
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )
    for done in {plain, fused}:
        done.unlink()
    quant.replace(out / "span.onnx")
    manifest = {"format": FORMAT, "version": VERSION, "sha256": file_digest(out / "span.onnx"), **info}
    (out / "span.json.tmp").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    (out / "span.json.tmp").replace(out / "span.json")


FUSED_TOLERANCE = 1e-3  # largest difference in a token's score the fused graph may make


def _fused(plain: Path, model, feed: dict) -> Path:
    """The graph with ONNX Runtime's transformer fusions (attention, GELU, layer norms:
    1.6x faster in int8 for the embedding export, eval/README.md) where they keep the
    scores; else the plain graph."""
    import onnxruntime as ort
    from onnxruntime.transformers.optimizer import optimize_model

    out = plain.with_name("span-fused.onnx.tmp")
    config = model.encoder.config
    try:
        optimize_model(
            str(plain),
            model_type="bert",
            num_heads=config.num_attention_heads,
            hidden_size=config.hidden_size,
            opt_level=1,
        ).save_model_to_file(str(out))

        def run(path: Path) -> np.ndarray:
            return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feed)[0]

        if float(np.abs(run(out) - run(plain)).max()) <= FUSED_TOLERANCE:
            return out
        _log("the fused graph changes the scores: exporting the plain one")
    except Exception as exc:  # the optimizer's own failures on a graph it does not know
        _log(f"no fusion ({type(exc).__name__}): exporting the plain graph")
    return plain


def evaluate(model, tokenizer, test: list[Example]) -> dict:
    """On held-out weeks: how often the best span of a window holding the answer is it
    (exact token span, and overlapping it), and how often [CLS] wins on the others."""
    import torch

    from rag.qa.span import best_spans

    exact = overlap = pos = none_right = neg = 0
    with torch.no_grad():
        for k in range(0, len(test), 32):
            batch = test[k : k + 32]
            enc, s, t = encode(tokenizer, batch, 256)
            a, b = model(
                torch.from_numpy(enc["input_ids"]),
                torch.from_numpy(enc["attention_mask"]),
                torch.from_numpy(enc["token_type_ids"]),
            )
            for i in range(len(batch)):
                ctx = np.array([x == 1 for x in enc.sequence_ids(i)])
                (bs, be, score), null = best_spans(a[i].numpy(), b[i].numpy(), ctx)
                if s[i]:
                    pos += 1
                    exact += int(bs == s[i] and be == t[i])
                    overlap += int(bs <= t[i] and be >= s[i])
                else:
                    neg += 1
                    none_right += int(null > score)
    return {
        "positives": pos,
        "exact_span": round(exact / max(pos, 1), 4),
        "overlapping_span": round(overlap / max(pos, 1), 4),
        "negatives": neg,
        "no_answer_right": round(none_right / max(neg, 1), 4),
    }


if __name__ == "__main__":
    main()
