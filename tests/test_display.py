"""rag.display: what a terminal shows of passages."""

import re

from hypothesis import example, given
from hypothesis import strategies as st

from rag.display import excerpt, print_passages
from rag.types import Passage

WORDS = "the bridge opened to traffic on Monday morning after four years of construction and debate".split()


def passage(text: str, score: float, doc: str = "doc", source: str = "samples/doc.txt") -> Passage:
    return Passage(0, doc, source, "", None, text, 0, len(text), score)


@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=200), st.integers(min_value=20, max_value=300))
@example(["the", "bridge", "construction"], 20)  # the last space in the first half of the window
def test_an_excerpt_starts_and_ends_between_words(words, size):
    text = " ".join(words)
    shown = excerpt(passage(text, 1.0), size=size).strip("…")
    assert set(shown.split()) <= set(WORDS)  # every word whole
    assert shown in text and len(shown) <= size


def test_lines_fit_the_terminal_and_words_are_not_broken(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "50")
    long_word = "Konstantinopolitanischer"
    text = " ".join([*WORDS, long_word, *WORDS] * 3)
    print_passages([passage(text, 0.5, source="https://example.org/" + "very-long-path/" * 6)])
    lines = capsys.readouterr().out.splitlines()
    assert lines and all(len(line) <= 50 for line in lines if long_word not in line)
    body = " ".join(line.strip() for line in lines[1:])
    assert long_word in body and all(w in WORDS + [long_word] for w in body.strip("…").split())


def test_passages_that_hardly_matter_show_their_heading_alone(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "100")
    print_passages(
        [
            passage("A relevant passage about the bridge.", 0.4, "good"),
            passage("An unrelated passage about football.", 0.01, "weak"),
        ]
    )
    out = capsys.readouterr().out
    assert "A relevant passage" in out and "unrelated passage" not in out
    assert re.search(r"2\. \[0\.010\] weak .*\(low score\)", out)
    monkeypatch.setenv("COLUMNS", "50")
    print_passages([passage("Relevant.", 0.4), passage("Weak.", 0.01, "weak", "https://example.org/" + "long/" * 20)])
    low = capsys.readouterr().out.splitlines()[-1]
    assert low.endswith("(low score)") and len(low) <= 50


def test_summary_sentences_wrap_to_the_terminal_with_their_citation(monkeypatch, capsys):
    import datetime as dt

    from rag.display import print_summary
    from rag.types import SummarySentence

    monkeypatch.setenv("COLUMNS", "50")
    text = " ".join(WORDS)
    day = dt.date(2024, 3, 4)
    print_summary([SummarySentence(text, "doc", day, 0.9, also_in=("other",), event_date=day)], timeline=True)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "2024-03-04" and lines[1].startswith("  - the bridge")
    assert all(len(line) <= 50 for line in lines) and all(line.startswith("    ") for line in lines[2:])
    body = " ".join(line.strip() for line in lines[1:])
    assert body == f"- {text} [doc, 2024-03-04; also in other]"
