"""Which names are countries and which are US states: "which country" is not answered
by "North Carolina", nor "which state" by "France".

The tagger labels both GPE, and an embedding puts "South Carolina" as near "country" as
"Pakistan" is, so the two lists are spelled out: the 193 UN members, the two observer
states, Kosovo and Taiwan, the common short and older forms ("US", "UK", "Burma"), and
the 50 states with the District of Columbia. A name on both lists ("Georgia") is either.
"""

from __future__ import annotations

import re
import unicodedata
from enum import Enum


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
