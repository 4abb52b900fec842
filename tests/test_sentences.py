import re

from hypothesis import given
from hypothesis import strategies as st

from rag.sentences import _word_before, split, split_spans


def test_splits_on_sentence_ends():
    assert split("Kim left. He arrived! Did he? Yes.") == ["Kim left.", "He arrived!", "Did he?", "Yes."]


def test_keeps_abbreviations_initials_and_acronyms_inside_a_sentence():
    text = "Mr. Smith met U.S. President John F. Kennedy on Jan. 5 in Washington. Then he left."
    assert split(text) == ["Mr. Smith met U.S. President John F. Kennedy on Jan. 5 in Washington.", "Then he left."]


def test_an_acronym_can_still_end_a_sentence_before_a_typical_opener():
    assert split("Sanctions hit the U.S. The talks failed.") == ["Sanctions hit the U.S.", "The talks failed."]


def test_closing_quotes_stay_with_their_sentence():
    assert split("He said “we will go.” The crowd cheered.") == ["He said “we will go.”", "The crowd cheered."]


def test_question_inside_quotes_followed_by_lowercase_does_not_split():
    assert split("“Why now?” he asked. Nobody knew.") == ["“Why now?” he asked.", "Nobody knew."]


def test_blank_line_ends_a_headline_without_a_period():
    assert split("Bridge opens\n\nThe bridge opened.") == ["Bridge opens", "The bridge opened."]


def test_decimals_and_times_do_not_split():
    assert split("It grew 3.5 percent by 7 a.m. on Monday.") == ["It grew 3.5 percent by 7 a.m. on Monday."]


_pieces = st.sampled_from(list("abcXY .!?\n'”") + ["U.S.", "Mr. ", "Jan. ", " The ", "\n\n", "F. "])
_text = st.lists(_pieces, max_size=80).map("".join)


@given(_text)
def test_spans_are_ordered_trimmed_and_cover_every_visible_character(text):
    spans = split_spans(text)
    covered = set()
    last_end = 0
    for start, end in spans:
        assert last_end <= start < end <= len(text)
        assert not text[start].isspace() and not text[end - 1].isspace()
        covered.update(range(start, end))
        last_end = end
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


_REFERENCE_WORD_BEFORE = re.compile(r"([\w.'’-]+)$")


# No newline in the alphabet: the regex's "$" also matched before a newline ending the
# searched text, which a period straight after a line break never needs.
@given(st.text(alphabet=st.sampled_from(list("ab.'’-_ é1\t,")), max_size=40), st.data())
def test_word_before_a_period_matches_the_end_anchored_regex_it_replaced(text, data):
    end = data.draw(st.integers(0, len(text)))
    m = _REFERENCE_WORD_BEFORE.search(text, 0, end)
    assert _word_before(text, end) == (m.group(1) if m else "")
