"""Answers and summaries over the bundled sample articles (real model and index)."""

import pytest

from rag import Index
from rag.answer import AnswerConfig
from rag.entities import tag
from rag.qa.features import features
from rag.qa.reader import default_reader
from rag.question import analyse


@pytest.fixture(scope="module")
def index(built_index):
    with Index.open(built_index) as idx:
        yield idx


def test_when_question_gets_the_resolved_date_of_a_weekday(index):
    ans = index.ask("When did the Vellmar Harbour Bridge open to traffic?")
    assert ans.date == "2024-03-04"
    assert "Monday" in ans.text and ans.display.endswith("(2024-03-04)")
    assert any(p.doc_id.startswith("vellmar-bridge") for p in ans.passages[:2])


def test_how_many_question_gets_the_number(index):
    ans = index.ask("How many vehicles crossed the bridge on its first full day?")
    assert "41,000" in ans.text  # "More than 41,000": the span scorer keeps the hedge, cuts the unit asked for


def test_an_amount_keeps_the_currency_the_question_does_not_state(index):
    # the span scorer's best span inside "1.2 billion euros" is "1.2 billion"; the tagger calls it a CARDINAL
    ans = index.ask("How much did the Vellmar bridge cost?")
    assert ans.text == "1.2 billion euros"


def test_who_question_gets_a_person(index):
    # The chooser's margin over the story's lead name 'Riverton Rovers' is small (logits -0.69 against -0.97
    # with the packages of 2026-12-07; with earlier versions the lead name came first), and rests on the
    # tagger calling her a person: spaCy's float kernels differ by CPU, and on an AVX-512 VNNI one it
    # tags no 'Maya Lindqvist' (after 'Striker') and 'Riverton Rovers' a person.
    ans = index.ask("Who scored twice in the cup final?")
    story = next(p.text for p in ans.passages if p.doc_id == "rovers-cup-final")
    people = {story[e.start : e.end] for e in tag([story])[0] if e.label == "PERSON"}
    if "Maya Lindqvist" not in people:
        pytest.skip("the tagger on this CPU does not tag 'Maya Lindqvist' a person, the label the reader weighs")
    assert "Maya Lindqvist" in ans.text


@pytest.mark.xfail(
    strict=True, reason="the learned reader prefers 'National Stadium': no feature says what 'beat' takes as its object"
)
def test_which_question_gets_a_name_not_a_word_of_the_question(index):
    ans = index.ask("Which team did Riverton Rovers beat in the final?")
    assert ans.text == "Port Ellis"


def test_how_long_question_gets_a_duration(index):
    assert index.ask("How long will the Tessera mission last?").text == "12-day"


def test_did_question_prefers_an_event_that_had_happened(index):
    ans = index.ask("When did the team win the league cup?")
    assert ans.date == "2024-06-01"  # "on Saturday" in an article of Sunday 2024-06-02


def test_unrelated_question_gets_no_answer_rather_than_an_invention(index):
    ans = index.ask("What is the boiling point of mercury?")
    assert ans.text is None and ans.date is None and ans.confidence == 0.0


@pytest.mark.parametrize("question", ["Who won the 2022 World Cup?", "How tall is Mount Everest?"])
def test_question_the_articles_cannot_answer_gets_no_answer(index, question):
    ans = index.ask(question)
    assert ans.text is None and ans.confidence < 0.5


def test_who_is_a_name_gets_how_the_articles_describe_it(index):
    from rag.answer import AnswerConfig, Sentence, answer_passages
    from rag.question import analyse
    from rag.types import Passage

    text = "The agency, quoting harbour authority spokesman Halden Voss, said the bridge was safe."
    passage = Passage(0, "a", "a.txt", "", None, text, 0, len(text), 0.6, 0.6)
    vec = index.embedder.encode_queries(["Who is Halden Voss?"])[0]
    best, _ = answer_passages(
        analyse("Who is Halden Voss?"),
        [Sentence(passage, 0, len(text), text)],
        index.embedder.encode_queries,
        vec,
        AnswerConfig(),
    )
    assert best is not None and best.candidate.text == "harbour authority spokesman"


@pytest.mark.parametrize("question, title", [("Who is Ana Ribeiro?", "Mayor"), ("Who is Maya Lindqvist?", "Striker")])
def test_who_is_a_name_the_embedding_does_not_know_still_reads_the_articles_naming_it(index, question, title):
    # a bare name lies under the cosine floor of every passage (.09 for the mayor's)
    assert max(p.similarity for p in index.search(question, k=3)) < AnswerConfig().min_passage_score
    assert index.ask(question).text == title


def test_who_is_a_name_no_article_gives_gets_no_answer(index):
    assert index.ask("Who is Elon Musk?").text is None


def test_answer_json_shape(index):
    data = index.ask("Who is the city's chief engineer?", k=2).to_json()
    assert set(data) == {"question", "answer", "date", "confidence", "passages"}
    assert len(data["passages"]) == 2
    assert set(data["passages"][0]) == {
        "doc_id",
        "source",
        "date",
        "text",
        "score",
        "similarity",
        "also_in",
        "start",
        "end",
        "match_start",
        "match_end",
    }
    assert "Lena Okafor" in data["answer"]


@pytest.mark.parametrize(
    "question", ["When did the 2022 World Cup final take place?", "When was the Eiffel Tower built?"]
)
def test_date_question_the_articles_cannot_answer_gets_no_day(index, question):
    # The hand-weighed pick alone gave '2011' and 'Monday morning (2024-03-04)'.
    ans = index.ask(question)
    assert ans.text is None and ans.date is None and ans.confidence < default_reader().threshold


def test_a_date_answer_is_the_rules_pick_vetted_by_the_judge(index):
    from dataclasses import replace
    from functools import partial

    from rag.answer import AnswerConfig, answer_passages, question_pool, sentences_of
    from rag.query import Query

    q = analyse("When did the Vellmar Harbour Bridge open to traffic?")
    reader = default_reader()
    passages, pool = question_pool(index.corpus, Query(q.text))
    keys, x = features(pool)
    judged = reader.confidence(reader.logits(x), keys.index(pool.recency_pick))
    ans = index.ask(q.text)
    assert ans.date == "2024-03-04" and ans.confidence == pytest.approx(judged)
    # the same reading with a reader whose threshold lies above that: no answer, unless unvetted
    sents = sentences_of(passages[: AnswerConfig().read_passages])
    qvec = index.embedder.encode_queries([q.query])[0]
    embed = index.embedder.encode_for_ranking
    phrases = partial(embed, batch_size=16)
    strict = replace(reader, threshold=judged + 1e-3)
    vetted = answer_passages(q, sents, embed, qvec, AnswerConfig(), phrases, strict)
    assert vetted == (None, pytest.approx(judged))
    unvetted, _ = answer_passages(q, sents, embed, qvec, AnswerConfig(judge_rules=False), phrases, strict)
    assert unvetted is not None and unvetted.candidate.date.iso == "2024-03-04"


def test_who_is_the_mayor_gets_the_mayor(index):
    assert "Ana Ribeiro" in (index.ask("Who is the mayor of Vellmar?").text or "")


def test_summary_has_no_repeats_is_in_date_order_and_cites_articles(index):
    summary = index.summarize("The new Vellmar harbour bridge", max_sentences=4)
    texts = [s.text for s in summary.sentences]
    assert 1 <= len(texts) <= 4
    assert len(set(texts)) == len(texts)
    # Two sample articles share one sentence word for word: it may appear once at most.
    assert sum(t.startswith("The Vellmar Harbour Bridge opened to traffic on Monday") for t in texts) <= 1
    dates = [s.date for s in summary.sentences]
    assert dates == sorted(dates)
    assert all(
        s.doc_id in {"vellmar-bridge-opens", "vellmar-bridge-first-day", "harbour-festival"} for s in summary.sentences
    )


@pytest.mark.parametrize("topic", ["the 2022 World Cup final in Qatar", "Elon Musk"])
def test_summary_of_a_topic_the_index_does_not_hold_is_empty(index, topic):
    assert index.summarize(topic, max_sentences=3).sentences == []


def test_summary_of_a_name_the_embedding_does_not_know_reads_the_articles_naming_it(index):
    # the learned relevance alone (cosine .09, every keyword held) put it under its threshold
    summary = index.summarize("Ana Ribeiro", max_sentences=3)
    assert any("Ribeiro" in s.text for s in summary.sentences)


def test_summary_sentences_come_from_their_cited_article(index):
    for s in index.summarize("Tessera lunar landing", max_sentences=3).sentences:
        assert s.text in index.store.article(s.doc_id).text


def test_true_or_false_question_gets_a_verdict_with_its_evidence(index):
    yes = index.ask("True or false: Mayor Ana Ribeiro cut the ribbon alongside engineers from Halden & Co.")
    assert yes.text == "True" and "Ana Ribeiro cut the ribbon" in yes.sentence
    no = index.ask("True or false: Mayor Tomas Berg cut the ribbon alongside engineers from Halden & Co.")
    assert no.text == "False" and no.date is None


def test_true_or_false_on_an_unknown_topic_gets_no_verdict(index):
    assert index.ask("True or false: Mercury boils at 357 degrees Celsius.").text is None


def test_type_fit_ranks_candidates_by_closeness_to_the_category():
    import numpy as np

    from rag.answer import AnswerConfig, _type_fit
    from rag.question import analyse
    from rag.spans import Candidate

    axes = {
        "fruit": [1, 0],
        "strawberries": [0.9, 0.44],
        "pesticides": [0.3, 0.95],
        "Dirty Dozen": [0.1, 1],
        "80th": [0.8, 0.6],
    }
    seen: list[list[str]] = []

    def embed(texts: list[str]) -> np.ndarray:
        seen.append(texts)
        v = np.array([axes[t] for t in texts], dtype=float)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    cands = [Candidate(0, 1, t, 0.7) for t in ("strawberries", "pesticides", "Dirty Dozen", "80th fruit")]
    fit = _type_fit(
        analyse("Which fruit holds the top spot?"), [cands], embed, AnswerConfig(type_power=1.0, name_fit_floor=0.5)
    )
    assert fit["strawberries"] == 1.0 and fit["pesticides"] < 0.5
    assert fit["dirty dozen"] == 0.5  # a name is not judged below the floor: the model knows few names
    assert "80th" in seen[0] and "80th fruit" not in seen[0]  # the category's own word is not evidence
    assert _type_fit(analyse("Which company holds the top spot?"), [cands], embed, AnswerConfig()) == {}


def test_a_plural_or_dotted_form_of_a_question_word_repeats_the_question():
    from rag.answer import _repeats_question
    from rag.question import analyse
    from rag.spans import Candidate

    assert _repeats_question(analyse("Which Republican lost the vote?"), Candidate(0, 11, "Republicans", 1.0))
    assert _repeats_question(analyse("Which country did US jets chase?"), Candidate(0, 4, "U.S.", 1.0))
    assert not _repeats_question(analyse("Which country did US jets chase?"), Candidate(0, 5, "China", 1.0))


@pytest.mark.parametrize("recency", ["latest", "earliest"])
def test_a_first_or_last_question_takes_the_best_supported_span_of_the_chosen_day(recency):
    import datetime as dt

    from rag.answer import Sentence, _by_recency, _Scored
    from rag.question import Recency
    from rag.spans import Candidate
    from rag.types import Passage

    day = dt.date(2023, 1, 9)
    passage = Passage(0, "a", "a.txt", "", dt.date(2023, 1, 12), "A green comet passes Earth.", 0, 27, 1.0)
    items = {
        key: [_Scored(Candidate(0, 1, key, 1.0, when=when), Sentence(passage, 0, 27, passage.text), 0.5, 0.5)]
        for key, when in (
            ("green", day),
            ("earth", day),
            ("moon", day - dt.timedelta(days=1)),
            ("mars", day + dt.timedelta(days=1)),
        )
    }
    totals = {"green": 1.0, "earth": 0.9, "moon": 0.85, "mars": 0.5}
    ranked = sorted(totals, key=lambda k: -totals[k])
    expected = "green" if recency == "latest" else "moon"  # 'mars' is beyond the margin
    assert _by_recency(Recency(recency), ranked, items, totals, 0.8) == expected
    assert _by_recency(Recency.LATEST, ["green", "earth"], items, {"green": 1.0, "earth": 0.9}, 0.8) == "green"
    assert (
        _by_recency(Recency.EARLIEST, ["green", "earth"], items, {"green": 1.0, "earth": 0.9}, 0.8) == "green"
    )  # was 'earth'


def test_summary_lists_the_articles_that_report_the_same_and_stands_alone(index):
    from rag.discourse import is_boilerplate, needs_context

    summary = index.summarize("The new Vellmar harbour bridge", max_sentences=4)
    cited = {s.doc_id for s in summary.sentences}
    for s in summary.sentences:
        assert not is_boilerplate(s.text) and not needs_context(s.text)
        assert s.doc_id not in s.also_in and all(d in index.store.texts([d]) for d in s.also_in)
    # Two sample articles share their opening sentence: whichever is cited lists the other.
    opening = [
        s for s in summary.sentences if s.text.startswith("The Vellmar Harbour Bridge opened to traffic on Monday")
    ]
    assert all(s.also_in for s in opening) and cited


def test_timeline_orders_sentences_by_the_day_they_report(index):
    summary = index.summarize("The new Vellmar harbour bridge", max_sentences=4, timeline=True)
    days = [s.event_date for s in summary.sentences]
    assert days and None not in days and days == sorted(days)
    groups = summary.to_json()["timeline"]
    assert [g["date"] for g in groups] == sorted({d.isoformat() for d in days})


@pytest.mark.parametrize(
    "text, at, inside",
    [
        ("Pope Benedict XVI died on Saturday.", "Benedict", True),  # a run of capitalised words
        ("The film “Everything Everywhere All at Once” won.", " Everywhere", True),  # a quoted title
        ("Fans saw 71 points in the game.", " points", False),
        ("Rihanna covers Vogue this month.", " covers", False),
        ("Residents of Jupiter moons are few.", " moons", False),
    ],
)
def test_the_span_scorer_may_tighten_an_answer_but_not_cut_through_a_name(text, at, inside):
    from rag.answer import Sentence, _inside_name
    from rag.types import Entity

    assert _inside_name(Sentence(None, 0, len(text), text), text.index(at)) is inside  # type: ignore[arg-type]
    tagged = Sentence(None, 0, len(text), text, (Entity(0, len(text), "ORG"),))  # type: ignore[arg-type]
    assert _inside_name(tagged, text.index(at))  # inside a name the tagger found


def test_a_proposed_date_is_one_candidate_with_the_date_the_rules_found(index):
    """The span scorer proposing 'June 2019' adds no second key beside the rules'
    '2019-06': one mention, one answer, its evidence not split in two."""
    import datetime as dt

    from rag.answer import AnswerConfig, Sentence, gather
    from rag.question import analyse
    from rag.spans import proposed
    from rag.types import Passage

    text = "They have not met since June 2019, when the leader visited the capital."
    passage = Passage(0, "a", "a.txt", "", dt.date(2025, 9, 1), text, 0, len(text), 0.6, 0.6)
    q = analyse("When did the leader visit the capital?")
    start = text.index("June 2019")
    extra = [[proposed(text, start, start + len("June 2019"), q, (), 0.5)]]
    pool = gather(
        q,
        [Sentence(passage, 0, len(text), text)],
        index.embedder.encode_queries,
        index.embedder.encode_queries([q.text])[0],
        AnswerConfig(),
        extra=extra,
    )
    assert pool is not None and list(pool.groups) == ["2019-06"]


def test_candidates_and_embeddings_made_while_the_span_scorer_reads_change_nothing(index):
    """_read_pool finds the rules' candidates and embeds sentences while the passages
    are read; its pool is the one gather makes from scratch, mention for mention."""
    from rag.answer import AnswerConfig, _proposing, _read_pool, gather, proposals, rule_candidates, sentences_of
    from rag.qa.span import read_passages
    from rag.question import analyse

    q = analyse("Who scored twice in the cup final?")
    qvec = index.embedder.encode_queries([q.text])[0]
    sents = sentences_of(index.search(q.text, k=8))
    embed, config = index.embedder.encode_for_ranking, AnswerConfig()
    assert any(rule_candidates(q, sents))
    pool, reads = _read_pool(q, sents, embed, qvec, config, embed, None)
    extra = proposals(q, sents, read_passages(q.text, [s.passage for s in sents]), _proposing(config, None))
    again = gather(q, sents, embed, qvec, config, embed, extra)
    assert pool is not None and again is not None
    assert pool.ranked == again.ranked and pool.totals == again.totals
    mentions = {k: [(m.sentence.start, m.dense, m.score) for m in g] for k, g in pool.groups.items()}
    assert mentions == {k: [(m.sentence.start, m.dense, m.score) for m in g] for k, g in again.groups.items()}
    assert set(reads) == {id(s.passage) for s in sents}
