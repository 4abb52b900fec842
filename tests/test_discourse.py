import pytest
from hypothesis import given
from hypothesis import strategies as st

from rag.discourse import is_boilerplate, is_fragment, needs_context

STATEMENT = "Mayor Ana Ribeiro opened the harbour bridge at 7:30 on Monday."


@pytest.mark.parametrize(
    "text",
    [
        "Editor's Note: This page is a summary of news on the storm for Saturday.",
        "Follow us on Twitter for the latest updates.",
        "Sign up for our morning newsletter.",
        "Who is the next speaker?:Kevin McCarthy was once rejected for an internship.",
        "'A huge vulnerability':Lawmakers vow probe of the outage",
        "The latest: Thousands of flights delayed after the outage",
        "Related: Video shows the moment the balloon was shot down",
        "The Associated Press contributed to this report.",
    ],
)
def test_page_furniture_is_boilerplate(text):
    assert is_boilerplate(text)


@pytest.mark.parametrize(
    "text",
    [
        STATEMENT,
        "The vote was 52.1% to 47.9%, the party said: a narrow win.",
        "Officials said the ratio was 3:1 in favour of the plan.",
        "Residents: about 30,000 people walked across the bridge on Saturday.",
    ],
)
def test_reporting_is_not_boilerplate(text):
    assert not is_boilerplate(text)


@pytest.mark.parametrize(
    "text",
    [
        "He said the bridge would open on Monday.",
        "Before that, the city had argued for a decade.",
        "However, the project cost 200 million euros more than planned.",
        "“They have been waiting for years,” she said.",
        "But the mayor disagreed.",
        "Its span is 1.4 kilometres.",
        "That does not include the ferry crossings.",
        "This was the first time the bridge closed.",
        "Had that been the case, the bridge would have opened in 2022.",
        "Were it not for the strike, the ferry would have run.",
        "I probably would have left two months into the job.",
        "We will open the second lane next year.",
        "Plus, the ferry will run twice as often.",
        "In fact, the bridge opened a day early.",
    ],
)
def test_openings_that_point_back_need_context(text):
    assert needs_context(text)


@pytest.mark.parametrize(
    "text",
    [
        STATEMENT,
        "Thousands walked across the bridge.",
        "Hebrides ferries were cancelled on Monday.",  # 'He...' is not 'He'
        "Butler scored 40 points.",  # nor is 'But...' 'But'
        "This week the city opened its new bridge.",
        "That bridge was closed in 2019.",
        "“We will open the second lane next year,” Mayor Ana Ribeiro said.",  # the speaker is named
        "Iceland closed its airspace.",  # 'I...' is not 'I'
        "US officials said the balloon was shot down.",  # the country, not 'us'
        "I-95 reopened after the crash.",  # a road
        "Has the bridge opened on time?",
        "Plush toys sold out at the festival.",  # nor 'Plus...' 'Plus'
    ],
)
def test_sentences_that_stand_alone_do_not(text):
    assert not needs_context(text)


@given(st.text(max_size=300))
def test_detectors_take_any_text(text):
    assert isinstance(is_boilerplate(text), bool) and isinstance(needs_context(text), bool)


@given(
    st.sampled_from(["However, ", "He ", "Meanwhile, ", "But ", "Since then, "]),
    st.text(alphabet="abcdefghij ,.", max_size=80),
)
def test_a_pointing_opening_needs_context_whatever_follows(opening, rest):
    assert needs_context(opening + rest)


@pytest.mark.parametrize(
    "text",
    [
        "2026 Harbour Awards winners: See who took home the prizes tonight",
        "Follow every match: Latest scores and schedules",
        "Vellmar Harbour Bridge (2019-2026)",
        "Key dates:",
    ],
)
def test_headlines_and_labels_are_fragments(text):
    assert is_fragment(text)


@pytest.mark.parametrize(
    "text",
    [
        STATEMENT,
        "“We are ready,” the mayor said.",
        "Who will pay for the bridge?",
        "The council voted (12 to 3.)",
        "The crossing reopened after three days…  ",
    ],
)
def test_sentences_that_end_as_sentences_are_not_fragments(text):
    assert not is_fragment(text)


@given(st.text(max_size=200), st.sampled_from([".", "!", "?", '."', ".\u201d", ".)"]))
def test_any_text_closed_as_a_sentence_is_not_a_fragment(text, end):
    assert not is_fragment(text + end)
