from hypothesis import given
from hypothesis import strategies as st

from rag.places import COUNTRIES, US_STATES, PlaceKind, kinds


def test_short_forms_with_dots_and_the_are_countries():
    assert kinds("the U.S.") == {PlaceKind.COUNTRY} and kinds("U.K.") == {PlaceKind.COUNTRY}


def test_accents_and_curly_apostrophes_do_not_matter():
    assert kinds("Côte d’Ivoire") == {PlaceKind.COUNTRY} and kinds("Türkiye") == {PlaceKind.COUNTRY}


def test_a_name_on_both_lists_is_either():
    assert kinds("Georgia") == {PlaceKind.COUNTRY, PlaceKind.US_STATE}


def test_states_cities_and_other_names_are_told_apart():
    assert kinds("North  Carolina") == {PlaceKind.US_STATE}
    assert kinds("Nice") == frozenset() and kinds("South China Morning Post") == frozenset()


def test_the_lists_hold_every_un_member_and_state_once_spelled():
    assert len(US_STATES) == 51 and len(COUNTRIES) >= 195
    assert all(name == " ".join(name.split()) and name == name.lower() for name in COUNTRIES | US_STATES)


@given(st.sampled_from(sorted(COUNTRIES | US_STATES)))
def test_any_listed_name_is_found_whatever_its_case(name):
    assert kinds(name.title()) and kinds(name.upper())
