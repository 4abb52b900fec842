import datetime as dt
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.errors import InputError, InputErrors
from rag.load import clean_text, document_from_json, load_paths


def write(path, content: str | bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_text_article_with_leading_space_and_text_on_the_date_line(tmp_path):
    f = write(tmp_path / "a1.txt", " date 2025-09-01 First words here.\n\nMore text.")
    doc = load_paths([f]).documents[0]
    assert (doc.id, doc.date, doc.text) == ("a1", dt.date(2025, 9, 1), "First words here.\n\nMore text.")


def test_markdown_front_matter_date_and_title(tmp_path):
    f = write(tmp_path / "m.md", "---\ndate: 2024-05-20\ntitle: Lander\n---\n# Lander\n\nIt landed.")
    doc = load_paths([f]).documents[0]
    assert doc.date == dt.date(2024, 5, 20) and doc.title == "Lander" and doc.text == "Lander\n\nIt landed."


def test_jsonl_articles_keep_their_ids_and_sources(tmp_path):
    rows = [{"id": "x1", "date": "2023-01-05", "title": "T", "source": "https://e.org/1", "text": "Hello."}]
    f = write(tmp_path / "a.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
    doc = load_paths([f]).documents[0]
    assert (doc.id, doc.source, doc.date) == ("x1", "https://e.org/1", dt.date(2023, 1, 5))


def test_folders_are_read_recursively_and_other_files_ignored(tmp_path):
    write(tmp_path / "a" / "one.txt", "date 2024-01-01\nOne.")
    write(tmp_path / "a" / "b" / "two.md", "date 2024-01-02\nTwo.")
    write(tmp_path / "a" / "notes.csv", "x,y")
    assert sorted(d.id for d in load_paths([tmp_path / "a"]).documents) == ["one", "two"]


def test_an_undated_article_is_kept_with_a_warning(tmp_path):
    f = write(tmp_path / "u.txt", "Just text, no date line.")
    result = load_paths([f])
    assert result.documents[0].date is None
    assert "no 'date YYYY-MM-DD' line" in result.warnings[0]


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("empty.txt", "", "empty file"),
        ("blank.txt", "  \n\n ", "empty file"),
        ("bytes.txt", b"date 2024-01-01\n\xff\xfe broken", "not UTF-8"),
        ("baddate.txt", "date 2024-13-45\nText.", "invalid date"),
        ("fuzzy.txt", "date last Tuesday\nText.", "malformed date"),
        ("nobody.txt", "date 2024-01-01\n", "no article text"),
        ("bad.jsonl", '{"id": "a", "text": "x"}\n{not json}\n', "bad.jsonl:2: invalid JSON"),
        ("gap.jsonl", '{"id": "a", "text": "x"}\n\n{"id": "b", "text": "y"}\n', "gap.jsonl:2: empty line"),
        ("notext.jsonl", '{"id": "a", "date": "2024-01-01"}\n', "notext.jsonl:1: missing or empty 'text'"),
        ("dup.jsonl", '{"id": "a", "text": "x"}\n{"id": "a", "text": "y"}\n', "duplicate id"),
        ("date.jsonl", '{"id": "a", "date": "01/02/2024", "text": "x"}\n', "date.jsonl:1: malformed date"),
        ("open.md", "---\ndate: 2024-01-01\nText without closing", "never closed"),
    ],
)
def test_bad_files_are_refused_with_a_message_naming_them(tmp_path, name, content, message):
    f = write(tmp_path / name, content)
    with pytest.raises(InputError) as err:
        load_paths([f])
    assert message in str(err.value) and name in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_path_and_empty_folder_and_wrong_type(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_paths([tmp_path / "nope.txt"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no .txt, .md or .jsonl"):
        load_paths([tmp_path / "empty"])
    with pytest.raises(InputError, match="unsupported file type"):
        load_paths([write(tmp_path / "x.pdf", "x")])


def test_the_same_article_id_from_two_files_is_refused(tmp_path):
    write(tmp_path / "a" / "same.txt", "date 2024-01-01\nOne.")
    write(tmp_path / "b" / "same.txt", "date 2024-01-01\nTwo.")
    with pytest.raises(InputError, match="also comes from"):
        load_paths([tmp_path / "a", tmp_path / "b"])


_body = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")) | st.just("\n"), min_size=1, max_size=300
).filter(str.strip)


@given(
    day=st.dates(dt.date(1900, 1, 1), dt.date(2099, 12, 31)),
    body=_body,
    indent=st.sampled_from(["", " ", "\t "]),
    same_line=st.booleans(),
)
@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_date_line_and_body_round_trip(tmp_path, day, body, indent, same_line):
    sep = " " if same_line else "\n"
    f = write(tmp_path / "r.txt", f"{indent}date {day.isoformat()}{sep}{body}")
    doc = load_paths([f]).documents[0]
    assert doc.date == day
    assert doc.text == clean_text(body)


def test_html_character_references_become_characters(tmp_path):
    f = write(
        tmp_path / "a.jsonl",
        json.dumps({"id": "a", "title": "M&amp;M&#8217;s", "text": "Laverne &amp; Shirley &#x2014; AT&T, R&D &amp"})
        + "\n",
    )
    doc = load_paths([f]).documents[0]
    assert doc.title == "M&M’s"
    assert doc.text == "Laverne & Shirley — AT&T, R&D &amp"  # a reference without its ';' is left alone


@given(st.text(alphabet=st.characters(blacklist_characters=";", blacklist_categories=("Cs",)), max_size=200))
def test_text_without_a_complete_reference_is_only_stripped(text):
    assert clean_text(text) == text.strip()


def test_articles_can_be_read_as_they_are(tmp_path):
    f = write(tmp_path / "a.jsonl", json.dumps({"id": "a", "text": "M&amp;M"}) + "\n")
    assert load_paths([f], clean=False).documents[0].text == "M&amp;M"


def test_an_article_posted_as_json_is_cleaned_too():
    doc = document_from_json({"id": "a", "text": "Laverne &amp; Shirley", "title": "A &lt;b&gt;"}, "body", None, "api")
    assert (doc.text, doc.title) == ("Laverne & Shirley", "A <b>")


def test_a_folder_with_several_bad_files_reports_every_one(tmp_path):
    (tmp_path / "good.txt").write_text("date 2024-01-01\nFine text.\n")
    (tmp_path / "bad-date.txt").write_text("date 2024-13-01\nText.\n")
    (tmp_path / "empty.md").write_text("")
    (tmp_path / "bytes.txt").write_bytes(b"date 2024-01-01\n\xff\xfe text\n")
    with pytest.raises(InputErrors) as exc:
        load_paths([tmp_path, tmp_path / "missing.txt"])
    problems = exc.value.problems
    assert len(problems) == 4 and not any("good.txt" in p for p in problems)
    assert {
        name for name in ("bad-date.txt", "empty.md", "bytes.txt", "missing.txt") if any(name in p for p in problems)
    } == {"bad-date.txt", "empty.md", "bytes.txt", "missing.txt"}
