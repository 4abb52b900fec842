import pytest

from rag.errors import InputError
from rag.question import Recency, Tense, analyse
from rag.types import AnswerType


@pytest.mark.parametrize(
    "question, kind",
    [
        ("When did the museum reopen?", AnswerType.DATE),
        ("In what year was the treaty signed?", AnswerType.DATE),
        ("How many passengers were on board?", AnswerType.NUMBER),
        ("How long did the strike last?", AnswerType.DURATION),
        ("Where was the summit held?", AnswerType.PLACE),
        ("In which city did the festival take place?", AnswerType.PLACE),
        ("Who won the election?", AnswerType.PERSON),
        ("Which senator proposed the bill?", AnswerType.PERSON),
        ("How did the delegation travel?", AnswerType.MANNER),
        ("Which company bought the airline?", AnswerType.ENTITY),
    ],
)
def test_answer_type(question, kind):
    assert analyse(question).type is kind


def test_focus_is_the_noun_the_question_names():
    assert analyse("Which foreign minister resigned?").focus == ("foreign", "minister")
    assert analyse("How many ships sank in the storm?").focus == ("ship",)


def test_recency_and_tense():
    q = analyse("When did the band last tour Japan?")
    assert q.recency is Recency.LATEST and q.tense is Tense.PAST
    assert analyse("When will the first train run?").tense is Tense.FUTURE
    assert analyse("When will the first train run?").recency is Recency.EARLIEST


@pytest.mark.parametrize("text", ["", "   ", "?!"])
def test_an_empty_question_is_refused(text):
    with pytest.raises(InputError):
        analyse(text)


def test_which_amount_or_percentage_asks_for_a_number():
    assert analyse("Insulin costs will be capped at which amount?").type is AnswerType.NUMBER
    assert analyse("What percentage of voters turned out?").type is AnswerType.NUMBER
