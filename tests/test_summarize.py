from rag.summarize import says_the_same
from rag.text import content_stems


def bag(text: str) -> set[str]:
    return set(content_stems(text))


def test_near_identical_sentences_say_the_same():
    a = bag("The bridge opened to traffic on Monday morning after four years of work.")
    b = bag("The bridge opened to traffic on Monday after four years of construction work.")
    assert says_the_same(a, b, 0.5)


def test_a_sentence_inside_another_says_the_same():
    assert says_the_same(bag("The jackpot grew."), bag("The jackpot grew to 800 million after Tuesday's draw."), 0.9)


def test_different_facts_do_not():
    a = bag("The bridge opened to traffic on Monday morning.")
    b = bag("Critics say the 1.2 billion euro bill was too high.")
    assert not says_the_same(a, b, 0.5)
    assert not says_the_same(set(), b, 0.5)


def test_select_drops_repeats_and_records_them():
    import numpy as np

    from rag.summarize import SummaryConfig, select

    scores = np.array([0.9, 0.8, 0.1])
    sims = np.array([[1.0, 0.95, 0.1], [0.95, 1.0, 0.1], [0.1, 0.1, 1.0]])
    bags = [
        bag("The bridge opened on Monday."),
        bag("The bridge opened Monday morning."),
        bag("Critics attacked the cost."),
    ]
    chosen, repeats = select(scores, sims, bags, 3, SummaryConfig(diversity=0.0))
    assert chosen == [0, 2] and repeats[0] == [1]


def test_event_date_resolves_the_first_mentioned_day_against_the_article():
    import datetime as dt

    from rag.answer import Sentence
    from rag.summarize import event_date
    from rag.types import Passage

    p = Passage(1, "a", "", "", dt.date(2025, 9, 2), "Kim left Pyongyang on Monday. Nothing dated here.", 0, 50, 0.5)
    assert event_date(Sentence(p, 0, 29, "Kim left Pyongyang on Monday.")) == dt.date(2025, 9, 1)
    assert event_date(Sentence(p, 30, 50, "Nothing dated here.")) == dt.date(2025, 9, 2)


def test_readable_keeps_statements_that_stand_alone():
    import datetime as dt

    from rag.answer import Sentence
    from rag.summarize import SummaryConfig, readable
    from rag.types import Passage

    texts = [
        "Mayor Ana Ribeiro opened the new harbour bridge on Monday morning.",
        "He said the bridge had cost far more than the city planned.",
        "Follow us on Twitter for more news about the harbour bridge.",
        "Will the new harbour bridge be finished before the winter?",
        "Harbour bridge opening: See the photos from the ribbon cutting",
    ]
    p = Passage(1, "a", "", "", dt.date(2024, 3, 4), " ".join(texts), 0, 0, 0.5)
    sents = [Sentence(p, 0, len(t), t) for t in texts]
    assert [s.text for s in readable(sents, SummaryConfig())] == texts[:1]
    assert [s.text for s in readable(sents, SummaryConfig(standalone=False))] == texts[:3] + texts[4:]


def test_text_without_full_stops_is_still_readable():
    import datetime as dt

    from rag.answer import Sentence
    from rag.summarize import SummaryConfig, readable
    from rag.types import Passage

    texts = [
        "Mayor Ana Ribeiro opened the new harbour bridge on Monday morning",
        "About 30,000 people walked across it",
    ]
    p = Passage(1, "a", "", "", dt.date(2024, 3, 4), " ".join(texts), 0, 0, 0.5)
    sents = [Sentence(p, 0, len(t), t) for t in texts]
    assert [s.text for s in readable(sents, SummaryConfig())] == texts


def test_of_sentences_saying_the_same_the_most_detailed_then_the_first_is_shown():
    import datetime as dt

    from rag.answer import Sentence
    from rag.summarize import most_detailed
    from rag.types import Passage

    def sentence(doc: str, day: int, text: str) -> Sentence:
        return Sentence(Passage(1, doc, "", "", dt.date(2024, 3, day), text, 0, len(text), 0.5), 0, len(text), text)

    short = sentence("late", 9, "The harbour bridge opened on Monday.")
    full = sentence("later", 10, "The harbour bridge opened to traffic on Monday after four years of work.")
    first = sentence("first", 4, "The harbour bridge opened on Monday.")
    sents = [short, full, first]
    bags = [set(content_stems(s.text)) for s in sents]
    assert most_detailed([0, 1, 2], bags, sents) == 1
    assert most_detailed([0, 2], bags, sents) == 2


def _sentence(doc: str, text: str):
    import datetime as dt

    from rag.answer import Sentence
    from rag.types import Passage

    return Sentence(Passage(1, doc, "", "", dt.date(2025, 9, 2), text, 0, len(text), 0.5), 0, len(text), text)


def test_concepts_are_word_pairs_several_articles_state_weighted_by_how_many():
    from rag.question import analyse
    from rag.summarize import sentence_concepts

    sents = [
        _sentence("a", "The bridge opened after an atmospheric river flooded the valley."),
        _sentence("b", "An atmospheric river flooded the valley on Monday."),
        _sentence("c", "Officials blamed the atmospheric river for the damage."),
    ]
    found = sentence_concepts(analyse("the bridge opening"), sents)
    pairs = {"atmospheric river": 3, "an atmospheric": 2, "river flood": 2, "flood the": 2, "the valley": 2}
    assert found[0] == found[1] == pairs  # not "valley on": one article says it; not "on monday" either
    assert found[2] == {"atmospheric river": 3}  # "the damage", "blamed the": this article alone


def test_coverage_prefers_a_sentence_that_adds_a_reported_fact():
    import numpy as np

    from rag.summarize import SummaryConfig, select

    scores = np.array([0.9, 0.85, 0.8])
    sims = np.eye(3)
    bags = [bag("storm hit coast"), bag("storm struck beaches"), bag("three dead in floods")]
    concepts = [{"storm hit": 3}, {"storm hit": 3}, {"three dead": 2}]
    plain, _ = select(
        scores, sims, bags, 2, SummaryConfig(diversity=0.0, duplicate_jaccard=1.1, coverage=0.0), concepts
    )
    covered, _ = select(
        scores, sims, bags, 2, SummaryConfig(diversity=0.0, duplicate_jaccard=1.1, coverage=1.0), concepts
    )
    assert plain == [0, 1] and covered == [0, 2]


def test_coverage_left_unset_is_the_salience_models_choice_else_the_default(tmp_path, monkeypatch, sample_index):
    import dataclasses

    import numpy as np

    import rag.summarize as summarize
    from rag.salience import MODEL_ENV, default_salience

    scores = np.array([0.9, 0.85, 0.8])
    sims = np.eye(3)
    bags = [bag("storm hit coast"), bag("storm struck beaches"), bag("three dead in floods")]
    concepts = [{"storm hit": 3}, {"storm hit": 3}, {"three dead": 2}]
    unset = summarize.SummaryConfig(diversity=0.0, duplicate_jaccard=1.1)
    assert unset.coverage is None
    assert summarize.select(scores, sims, bags, 2, unset, concepts)[0] == [0, 2]  # COVERAGE (1) credits "three dead"
    monkeypatch.setattr(summarize, "COVERAGE", 0.0)
    assert summarize.select(scores, sims, bags, 2, unset, concepts)[0] == [0, 1]

    shipped = default_salience()
    path = tmp_path / "salience.json"
    dataclasses.replace(shipped, info={**(shipped.info or {}), "chosen_coverage": 7.5}).save(path)
    monkeypatch.setenv(MODEL_ENV, str(path))
    seen = []
    monkeypatch.setattr(summarize, "select", lambda *a, **k: seen.append(a[4].coverage) or ([], {}))
    from rag import Index
    from rag.query import Query

    with Index.open(sample_index) as index:
        summarize.summarize(index.corpus, Query("the Vellmar bridge"))
    assert seen == [7.5]
