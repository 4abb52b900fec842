"""rag.query.Query: the one set of limits every face applies to a query."""

import datetime as dt
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rag import InputError, Mode, Query
from rag.query import MAX_K, MAX_QUERY_CHARS, as_query


def test_text_is_stripped_and_fields_kept():
    q = Query("  When did it open?\n", k=3, since=dt.date(2024, 1, 1), mode="lexical")
    assert q.text == "When did it open?" and q.k == 3 and q.mode is Mode.LEXICAL


@pytest.mark.parametrize(
    "fields, fragment",
    [
        ({"text": " \t\n"}, "query is empty"),
        ({"text": " ?! "}, "query has no words"),
        ({"text": "x" * (MAX_QUERY_CHARS + 1)}, f"at most {MAX_QUERY_CHARS:,}"),
        ({"k": 0}, "at least 1"),
        ({"k": MAX_K + 1}, f"at most {MAX_K}"),
        ({"k": True}, "whole number"),
        ({"k": 2.5}, "whole number"),
        (
            {"since": dt.date(2024, 2, 1), "until": dt.date(2024, 1, 1)},
            "since (2024-02-01) is after until (2024-01-01)",
        ),
        ({"as_of": dt.datetime(2024, 1, 1, 12)}, "as_of must be a date"),
        ({"mode": "fuzzy"}, "mode must be one of dense, lexical, hybrid"),
    ],
)
def test_invalid_queries_are_refused_with_the_field_named(fields, fragment):
    with pytest.raises(InputError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        Query(**{"text": "bridge", **fields})


def test_messages_name_no_command_line_flags():
    with pytest.raises(InputError) as exc:
        Query("bridge", since=dt.date(2024, 2, 1), until=dt.date(2024, 1, 1))
    assert "--" not in str(exc.value)


@given(st.text(min_size=1, max_size=MAX_QUERY_CHARS), st.integers(min_value=-5, max_value=MAX_K + 5))
def test_a_query_is_valid_exactly_when_its_text_and_k_are(text, k):
    ok = bool(re.search(r"\w", text)) and 1 <= k <= MAX_K
    try:
        q = Query(text, k)
    except InputError:
        assert not ok
    else:
        assert ok and q.text == text.strip() and 0 < len(q.text) <= MAX_QUERY_CHARS


def test_as_query_takes_a_query_or_its_fields_but_not_both():
    q = Query("bridge", k=2)
    assert as_query(q) is q
    assert as_query("bridge", 2) == q
    with pytest.raises(InputError, match="not both"):
        as_query(q, 3)
