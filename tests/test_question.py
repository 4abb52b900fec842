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
        ("By how much time were the clocks moved?", AnswerType.DURATION),
        ("What was the magnitude of the quake?", AnswerType.NUMBER),
        ("What is the current debt limit?", AnswerType.NUMBER),
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


@pytest.mark.parametrize(
    "question, kind, focus",
    [
        ("The champions romped past this opponent on Monday.", AnswerType.ENTITY, ("opponent",)),
        ("This week the president held talks with this leader, his host.", AnswerType.PERSON, ("leader",)),
        ("Wind made up a record __% of the power mix.", AnswerType.NUMBER, ("percent",)),
    ],
)
def test_a_quiz_statement_asks_for_its_this_noun_or_its_blank(question, kind, focus):
    q = analyse(question)
    assert (q.type, q.focus) == (kind, focus)


def test_this_week_is_a_time_not_what_is_asked():
    assert analyse("Storms hit the coast this week.").focus == ()


@pytest.mark.parametrize(
    "question, claim",
    [
        ("True or false: The bridge opened on Monday.", "The bridge opened on Monday."),
        ("The bridge opened on Monday. True or False?", "The bridge opened on Monday."),
        ("Is it true that the bridge opened on Monday?", "The bridge opened on Monday?"),
    ],
)
def test_true_or_false_question_checks_its_claim(question, claim):
    q = analyse(question)
    assert q.type is AnswerType.TRUTH and q.claim == claim and q.query == claim
    assert q.text == question and "true" not in q.keywords


def test_true_or_false_alone_is_not_a_claim():
    assert analyse("True or false?").type is not AnswerType.TRUTH


@pytest.mark.parametrize(
    "question, kind, focus",
    [
        ("Which country recently banned solo hiking?", AnswerType.PLACE, ("country",)),  # an adverb ends it
        ("Which fruit holds the top spot on the list?", AnswerType.ENTITY, ("fruit",)),  # so does a verb
        ("Which major U.S. city will host the final?", AnswerType.PLACE, ("major", "city")),
        ("Which country's prime minister resigned?", AnswerType.PLACE, ("country",)),  # the country is asked
        ("Which of the following bands will headline?", AnswerType.ENTITY, ("band",)),
        ("A balloon, which officials said was a spy craft, flew over which state?", AnswerType.PLACE, ("stat",)),
        ("What was the primary cause of the crash?", AnswerType.ENTITY, ("primary", "caus")),  # 'what was the <noun>'
        ("Which type of kitchen appliance could be banned?", AnswerType.ENTITY, ("kitchen", "applianc")),
    ],
)
def test_focus_is_the_noun_phrase_before_the_verb(question, kind, focus):
    q = analyse(question)
    assert (q.type, q.focus) == (kind, focus)


def test_which_month_or_year_names_the_precision_it_asks_for():
    assert analyse("Title 42 expires in which month?").focus == ("month",)
    assert analyse("In what year was the treaty signed?").focus == ("year",)
    assert analyse("When was the treaty signed?").focus == ()


def test_an_irregular_verb_ends_the_focus():
    assert analyse("Which country sent the balloon?").focus == ("country",)


def test_a_wh_word_joined_to_a_content_word_does_not_ask():
    q = analyse("Fans were thrilled this week when the trailer came out for which remake?")
    assert q.type is AnswerType.ENTITY and q.focus == ("remak",)
    assert analyse("Which airline will pay passengers who were stranded?").type is AnswerType.ENTITY


def test_tense_and_first_or_last_come_from_the_sentence_that_asks():
    q = analyse("She said she will not run again. What year was she first elected?")
    assert q.tense is Tense.PAST and q.recency is Recency.EARLIEST
    assert analyse("For the first time in years, a comet is visible. Which color is it?").recency is Recency.ANY


def test_a_party_member_is_a_person():
    q = analyse("Which Republican suffered a string of defeats?")
    assert q.type is AnswerType.PERSON and "PERSON" in q.labels


def test_who_is_a_name_asks_for_its_description():
    from rag.types import AnswerType

    q = analyse("Who is Halden Voss?")
    assert q.type is AnswerType.DESCRIPTION and q.focus_text == "Halden Voss"
    assert analyse("What was Operation Tessera?").type is AnswerType.DESCRIPTION
    assert analyse("Who is the mayor of Vellmar?").type is AnswerType.PERSON  # a role, not a name
