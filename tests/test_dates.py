import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from rag.dates import Granularity, find_dates

MONDAY = dt.date(2025, 9, 1)  # a Monday
TUESDAY = dt.date(2025, 9, 2)


def resolve(text: str, ref: dt.date | None) -> list[str]:
    return [d.iso for d in find_dates(text, ref)]


def test_weekday_in_the_past_tense_looks_back():
    assert resolve("Putin arrived in China on Sunday.", TUESDAY) == ["2025-08-31"]


def test_weekday_in_the_future_tense_looks_forward():
    assert resolve("She will arrive in Oslo on Tuesday.", MONDAY) == ["2025-09-02"]


def test_the_articles_own_weekday_is_the_articles_date_in_either_tense():
    assert resolve("He left on Monday.", MONDAY) == ["2025-09-01"]
    assert resolve("He will leave on Monday.", MONDAY) == ["2025-09-01"]


def test_tense_is_read_in_the_clause_of_the_date():
    text = "The train was expected to arrive on Tuesday after reaching the border on Monday night."
    assert resolve(text, TUESDAY) == ["2025-09-02", "2025-09-01"]


def test_relative_words():
    assert resolve("It rained yesterday; they meet tomorrow.", MONDAY) == ["2025-08-31", "2025-09-02"]
    assert resolve("She moved there two years ago.", MONDAY) == ["2023"]
    assert resolve("Sales fell this month.", MONDAY) == ["2025-09"]
    assert resolve("It opened last Monday.", dt.date(2024, 3, 10)) == ["2024-03-04"]


def test_absolute_dates_at_their_own_precision():
    text = "Not since January 2019, nor on Sept. 1, 2025, nor on 3 March 2024, nor in 1998."
    assert resolve(text, None) == ["2019-01", "2025-09-01", "2024-03-03", "1998"]


def test_relative_dates_without_a_reference_are_left_out_not_guessed():
    assert resolve("He left on Monday.", None) == []


def test_numbers_that_are_not_years_are_not_dates():
    assert resolve("It cost $2019 and 2,019,000 people and 2019.5 units.", MONDAY) == []


@given(
    st.dates(dt.date(1990, 1, 1), dt.date(2090, 1, 1)),
    st.sampled_from(["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]),
)
def test_weekdays_resolve_within_a_week_on_the_right_side(ref, day):
    past = find_dates(f"They met on {day}.", ref)[0]
    future = find_dates(f"They will meet on {day}.", ref)[0]
    assert past.value.strftime("%A") == day == future.value.strftime("%A")
    assert 0 <= (ref - past.value).days <= 6
    assert 0 <= (future.value - ref).days <= 6
    assert past.granularity is Granularity.DAY and past.relative


@given(st.dates(dt.date(1900, 1, 1), dt.date(2099, 12, 28)))
def test_iso_dates_round_trip(day):
    assert resolve(f"It happened on {day.isoformat()} at noon.", None) == [day.isoformat()]
