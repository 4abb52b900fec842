"""The true-or-false check on hand-made passages (no model: the check is words only)."""

import datetime as dt

import pytest

from rag.answer import keyword_weights
from rag.question import analyse
from rag.types import Passage
from rag.verify import key_terms, verify

TEXT = (
    "The Vellmar Harbour Bridge opened to traffic on Monday. Mayor Ana Ribeiro cut the ribbon. "
    "Twelve engineers from Halden & Co. worked on it. Cyclists will not get a lane until June."
)


def passage(text: str = TEXT, doc_id: str = "bridge", title: str = "") -> Passage:
    return Passage(1, doc_id, "src", title, dt.date(2024, 3, 4), text, 0, len(text), 1.0, 0.8)


def judge(question: str, passages: list[Passage] | None = None):
    q = analyse(question)
    passages = passages or [passage()]
    return verify(q, passages, keyword_weights(q, [passages[0].text]))


@pytest.mark.parametrize(
    "question, true",
    [
        ("True or false: Mayor Ana Ribeiro cut the ribbon.", True),
        ("True or false: Mayor Tomas Berg cut the ribbon.", False),  # a name the sentence lacks
        ("True or false: 12 engineers from Halden & Co. worked on the bridge.", True),  # 'Twelve' is 12
        ("True or false: Thirty engineers from Halden & Co. worked on the bridge.", False),  # another number
        ("True or false: Cyclists will not get a lane until June.", True),
        (
            "True or false: The Vellmar Harbour Bridge did not open to traffic.",
            False,
        ),  # the negation is the claim's alone
        ("True or false: The Vellmar Harbour Bridge opened to traffic on Monday.", True),
    ],
)
def test_a_claim_is_true_when_one_sentence_holds_its_words_names_and_negation(question, true):
    assert judge(question).true is true


def test_a_claim_joining_names_from_different_sentences_is_not_supported():
    v = judge("True or false: Mayor Ana Ribeiro opened the Vellmar Harbour Bridge.")
    assert not v.true and v.missing


def test_a_name_in_the_article_title_is_context_for_each_of_its_sentences():
    question = "True or false: Mayor Ana Ribeiro cut the ribbon of the Vellmar bridge."
    assert not judge(question).true
    assert judge(question, [passage(title="Vellmar bridge opens")]).true


def test_the_evidence_is_the_sentence_saying_most_of_the_claim():
    v = judge("True or false: Mayor Ana Ribeiro cut the ribbon.", [passage("Nothing here on it.", "other"), passage()])
    assert v.passage.doc_id == "bridge" and v.sentence == "Mayor Ana Ribeiro cut the ribbon."


def test_a_capitalised_first_word_is_a_name_unless_the_articles_write_it_in_lower_case():
    lower = [passage("Cyclists and drivers share the road; most cyclists ride daily.")]
    assert key_terms("Cyclists ride on Vellmar bridge", lower) == ["vellmar"]
    assert key_terms("Ribeiro cut the ribbon", lower) == ["ribeiro"]
