"""Which names are countries and which are US states: "which country" is not answered
by "North Carolina", nor "which state" by "France".

The tagger labels both GPE, and an embedding puts "South Carolina" as near "country" as
"Pakistan" is, so the two lists are spelled out: the 193 UN members, the two observer
states, Kosovo and Taiwan, the common short and older forms ("US", "UK", "Burma"), and
the 50 states with the District of Columbia. A name on both lists ("Georgia") is either.

"Which South Asian country" narrows further: ``REGIONS`` groups the countries by the
adjectives news uses for parts of the world (after the UN's regions, with the common
usage where it differs: the UK and Ireland are western European, Mexico is Latin and
North American).
"""

from __future__ import annotations

import re
import unicodedata
from enum import Enum
from functools import lru_cache


def _names(text: str) -> frozenset[str]:
    return frozenset(" ".join(n.split()) for n in text.split(",") if n.strip())


COUNTRIES = _names(
    """
    afghanistan, albania, algeria, andorra, angola, antigua and barbuda, argentina, armenia, australia,
    austria, azerbaijan, bahamas, bahrain, bangladesh, barbados, belarus, belgium, belize, benin, bhutan,
    bolivia, bosnia and herzegovina, bosnia, botswana, brazil, brunei, bulgaria, burkina faso, burundi,
    cabo verde, cape verde, cambodia, cameroon, canada, central african republic, chad, chile, china,
    colombia, comoros, congo, democratic republic of the congo, republic of the congo, drc, costa rica,
    ivory coast, cote d'ivoire, croatia, cuba, cyprus, czech republic, czechia, denmark, djibouti,
    dominica, dominican republic, ecuador, egypt, el salvador, equatorial guinea, eritrea, estonia,
    eswatini, swaziland, ethiopia, fiji, finland, france, gabon, gambia, georgia, germany, ghana, greece,
    grenada, guatemala, guinea, guinea-bissau, guyana, haiti, honduras, hungary, iceland, india,
    indonesia, iran, iraq, ireland, israel, italy, jamaica, japan, jordan, kazakhstan, kenya, kiribati,
    kuwait, kyrgyzstan, laos, latvia, lebanon, lesotho, liberia, libya, liechtenstein, lithuania,
    luxembourg, madagascar, malawi, malaysia, maldives, mali, malta, marshall islands, mauritania,
    mauritius, mexico, micronesia, moldova, monaco, mongolia, montenegro, morocco, mozambique, myanmar,
    burma, namibia, nauru, nepal, netherlands, holland, new zealand, nicaragua, niger, nigeria,
    north korea, north macedonia, macedonia, norway, oman, pakistan, palau, panama, papua new guinea,
    paraguay, peru, philippines, poland, portugal, qatar, romania, russia, russian federation, rwanda,
    saint kitts and nevis, saint lucia, saint vincent and the grenadines, samoa, san marino,
    sao tome and principe, saudi arabia, senegal, serbia, seychelles, sierra leone, singapore, slovakia,
    slovenia, solomon islands, somalia, south africa, south korea, korea, south sudan, spain, sri lanka,
    sudan, suriname, sweden, switzerland, syria, tajikistan, tanzania, thailand, timor-leste,
    east timor, togo, tonga, trinidad and tobago, tunisia, turkey, turkiye, turkmenistan, tuvalu, uganda,
    ukraine, united arab emirates, uae, united kingdom, uk, britain, great britain, england, scotland,
    wales, northern ireland, united states, us, usa, america, united states of america, uruguay,
    uzbekistan, vanuatu, venezuela, vietnam, yemen, zambia, zimbabwe,
    vatican, vatican city, holy see, palestine, kosovo, taiwan
    """
)
US_STATES = _names(
    """
    alabama, alaska, arizona, arkansas, california, colorado, connecticut, delaware, florida, georgia,
    hawaii, idaho, illinois, indiana, iowa, kansas, kentucky, louisiana, maine, maryland, massachusetts,
    michigan, minnesota, mississippi, missouri, montana, nebraska, nevada, new hampshire, new jersey,
    new mexico, new york, north carolina, north dakota, ohio, oklahoma, oregon, pennsylvania,
    rhode island, south carolina, south dakota, tennessee, texas, utah, vermont, virginia, washington,
    west virginia, wisconsin, wyoming, district of columbia
    """
)


_NORTH_AFRICA = "algeria, egypt, libya, morocco, sudan, tunisia"
_WEST_AFRICA = (
    "benin, burkina faso, cabo verde, cape verde, ivory coast, cote d'ivoire, gambia, ghana, guinea, guinea-bissau, "
    "liberia, mali, mauritania, niger, nigeria, senegal, sierra leone, togo"
)
_EAST_AFRICA = (
    "burundi, comoros, djibouti, eritrea, ethiopia, kenya, madagascar, malawi, mauritius, mozambique, rwanda, "
    "seychelles, somalia, south sudan, tanzania, uganda, zambia, zimbabwe"
)
_CENTRAL_AFRICA = (
    "angola, cameroon, central african republic, chad, congo, democratic republic of the congo, "
    "republic of the congo, drc, equatorial guinea, gabon, sao tome and principe"
)
_SOUTHERN_AFRICA = "botswana, eswatini, swaziland, lesotho, namibia, south africa"
_EAST_ASIA = "china, japan, mongolia, north korea, south korea, korea, taiwan"
_SOUTHEAST_ASIA = "brunei, cambodia, indonesia, laos, malaysia, myanmar, burma, philippines, singapore, thailand, timor-leste, east timor, vietnam"
_SOUTH_ASIA = "afghanistan, bangladesh, bhutan, india, maldives, nepal, pakistan, sri lanka"
_CENTRAL_ASIA = "kazakhstan, kyrgyzstan, tajikistan, turkmenistan, uzbekistan"
_MIDDLE_EAST = (
    "bahrain, cyprus, egypt, iran, iraq, israel, jordan, kuwait, lebanon, oman, palestine, qatar, saudi arabia, "
    "syria, turkey, turkiye, united arab emirates, uae, yemen"
)
_GULF = "bahrain, kuwait, oman, qatar, saudi arabia, united arab emirates, uae"
_ARAB = (
    "algeria, bahrain, comoros, djibouti, egypt, iraq, jordan, kuwait, lebanon, libya, mauritania, morocco, oman, "
    "palestine, qatar, saudi arabia, somalia, sudan, syria, tunisia, united arab emirates, uae, yemen"
)
_NORDIC = "denmark, finland, iceland, norway, sweden"
_BALTIC = "estonia, latvia, lithuania"
_WESTERN_EUROPE = (
    "austria, belgium, france, germany, liechtenstein, luxembourg, monaco, netherlands, holland, switzerland, "
    "ireland, united kingdom, uk, britain, great britain, england, scotland, wales, northern ireland"
)
_EASTERN_EUROPE = "belarus, bulgaria, czech republic, czechia, hungary, moldova, poland, romania, russia, russian federation, slovakia, ukraine"
_BALKANS = (
    "albania, bosnia and herzegovina, bosnia, bulgaria, croatia, greece, kosovo, montenegro, north macedonia, "
    "macedonia, romania, serbia, slovenia"
)
_SOUTHERN_EUROPE = (
    "albania, andorra, bosnia and herzegovina, bosnia, croatia, greece, italy, kosovo, malta, montenegro, "
    "north macedonia, macedonia, portugal, san marino, serbia, slovenia, spain, vatican, vatican city, holy see"
)
_CENTRAL_AMERICA = "belize, costa rica, el salvador, guatemala, honduras, nicaragua, panama"
_SOUTH_AMERICA = (
    "argentina, bolivia, brazil, chile, colombia, ecuador, guyana, paraguay, peru, suriname, uruguay, venezuela"
)
_CARIBBEAN = (
    "antigua and barbuda, bahamas, barbados, cuba, dominica, dominican republic, grenada, haiti, jamaica, "
    "saint kitts and nevis, saint lucia, saint vincent and the grenadines, trinidad and tobago"
)
_NORTH_AMERICA = "canada, mexico, united states, us, usa, america, united states of america"
_OCEANIA = (
    "australia, fiji, kiribati, marshall islands, micronesia, nauru, new zealand, palau, papua new guinea, samoa, "
    "solomon islands, tonga, tuvalu, vanuatu"
)
_AFRICA = ", ".join((_NORTH_AFRICA, _WEST_AFRICA, _EAST_AFRICA, _CENTRAL_AFRICA, _SOUTHERN_AFRICA))
_CAUCASUS = "armenia, azerbaijan, georgia"  # counted in Asia by the UN, often in Europe by the news
_ASIA = ", ".join((_EAST_ASIA, _SOUTHEAST_ASIA, _SOUTH_ASIA, _CENTRAL_ASIA, _MIDDLE_EAST, _CAUCASUS))
_EUROPE = ", ".join(
    (_NORDIC, _BALTIC, _WESTERN_EUROPE, _EASTERN_EUROPE, _BALKANS, _SOUTHERN_EUROPE, _CAUCASUS, "cyprus")
)
REGIONS = {
    key: _names(names)
    for key, names in (
        ("african", _AFRICA),
        ("north african", _NORTH_AFRICA),
        ("west african", _WEST_AFRICA),
        ("east african", _EAST_AFRICA),
        ("central african", _CENTRAL_AFRICA),
        ("southern african", _SOUTHERN_AFRICA),
        ("asian", _ASIA),
        ("east asian", _EAST_ASIA),
        ("southeast asian", _SOUTHEAST_ASIA),
        ("south asian", _SOUTH_ASIA),
        ("central asian", _CENTRAL_ASIA),
        ("middle eastern", _MIDDLE_EAST),
        ("gulf", _GULF),
        ("arab", _ARAB),
        ("european", _EUROPE),
        ("nordic", _NORDIC),
        ("scandinavian", _NORDIC),
        ("baltic", _BALTIC),
        ("western european", _WESTERN_EUROPE),
        ("eastern european", _EASTERN_EUROPE),
        ("balkan", _BALKANS),
        ("southern european", _SOUTHERN_EUROPE),
        ("latin american", ", ".join((_CENTRAL_AMERICA, _SOUTH_AMERICA, "mexico, cuba, dominican republic, haiti"))),
        ("south american", _SOUTH_AMERICA),
        ("central american", _CENTRAL_AMERICA),
        ("caribbean", _CARIBBEAN),
        ("north american", _NORTH_AMERICA),
        ("pacific", _OCEANIA),
    )
}


class PlaceKind(str, Enum):
    COUNTRY = "country"
    US_STATE = "us state"


def normal(name: str) -> str:
    """'the U.S.' -> 'us', 'Côte d’Ivoire' -> "cote d'ivoire", 'Türkiye' -> 'turkiye'."""
    name = "".join(ch for ch in unicodedata.normalize("NFKD", name) if not unicodedata.combining(ch))
    name = re.sub(r"^the\s+", "", name.strip().lower()).replace("’", "'").replace(".", "")
    return " ".join(name.split())


def kinds(name: str) -> frozenset[PlaceKind]:
    """What ``name`` is: a country, a US state, both ('Georgia') or neither (empty)."""
    n = normal(name)
    return frozenset(k for k, names in ((PlaceKind.COUNTRY, COUNTRIES), (PlaceKind.US_STATE, US_STATES)) if n in names)


@lru_cache(maxsize=256)
def region_of(phrase: str) -> frozenset[str] | None:
    """The countries of the part of the world a phrase names ("South-East Asian country"
    -> Brunei ... Vietnam), the most specific one when several fit; None if it names none.
    Cached: an answer asks it of the same question focus for every country it weighs."""
    text = " " + normal(phrase.replace("-", " ")).replace("south east", "southeast") + " "
    found = [key for key in REGIONS if f" {key} " in text]
    return REGIONS[max(found, key=len)] if found else None


def in_region(name: str, region: frozenset[str]) -> bool:
    return normal(name) in region
