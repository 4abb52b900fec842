from hypothesis import given
from hypothesis import strategies as st

from rag.places import COUNTRIES, REGIONS, US_STATES, PlaceKind, in_region, kinds, region_of


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


def test_a_region_is_named_by_its_most_specific_adjective():
    assert region_of("South Asian country") == REGIONS["south asian"]
    assert region_of("South-East Asian nation") == REGIONS["southeast asian"]
    assert region_of("big country") is None


def test_every_country_lies_in_some_region_and_every_region_holds_only_countries():
    assert all(names <= COUNTRIES for names in REGIONS.values())
    assert COUNTRIES <= set().union(*REGIONS.values())


def test_region_membership_reads_names_as_kinds_does():
    assert in_region("the U.K.", REGIONS["european"]) and not in_region("China", REGIONS["south asian"])
