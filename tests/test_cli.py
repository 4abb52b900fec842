"""The `rag` command as a user runs it: a real process, its output and exit status."""

import json
import subprocess
import sys

import pytest

from .conftest import SAMPLES, SENTENCE_FIELDS, snapshot


def rag(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rag.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


def assert_one_line_error(result: subprocess.CompletedProcess, fragment: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], result.stderr


def test_ingest_then_ask_as_json(tmp_path):
    index = tmp_path / "idx"
    out = rag("ingest", str(SAMPLES), "--index", str(index), "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["added"] == 5 and report["index"]["vectors"] == report["chunks"]
    out = rag("ask", "When did the Vellmar Harbour Bridge open to traffic?", "--index", str(index), "--json", "-k", "3")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["date"] == "2024-03-04" and len(data["passages"]) == 3


def test_search_summarize_and_info_print_json(sample_index):
    search = json.loads(
        rag(
            "search",
            "Kourou launch",
            "-k",
            "2",
            "--since",
            "2024-05-01",
            "--until",
            "2024-05-31",
            "--index",
            str(sample_index),
            "--json",
        ).stdout
    )
    assert search["query"] == "Kourou launch" and [p["doc_id"] for p in search["passages"]] == ["tessera-lunar-landing"]
    summary = json.loads(
        rag("summarize", "harbour bridge", "--max-sentences", "3", "--index", str(sample_index), "--json").stdout
    )
    assert 1 <= len(summary["sentences"]) <= 3 and set(summary["sentences"][0]) == SENTENCE_FIELDS
    info = json.loads(rag("info", "--index", str(sample_index), "--json").stdout)
    assert info["articles"] == 5 and info["dimension"] == 384


def test_summarize_timeline_groups_sentences_under_their_days(sample_index):
    out = rag("summarize", "harbour bridge", "--timeline", "--index", str(sample_index))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines and lines[0][:4].isdigit() and lines[0][4] == "-"  # a day heading first
    assert all(
        line.startswith(("  - ", "    ")) or line[:4].isdigit() for line in lines
    )  # "    ": a wrapped sentence goes on
    data = json.loads(rag("summarize", "harbour bridge", "--timeline", "--index", str(sample_index), "--json").stdout)
    assert sum(len(g["sentences"]) for g in data["timeline"]) == len(data["sentences"])


def test_human_output_shows_answer_date_and_passages(sample_index):
    out = rag("ask", "When did the Vellmar Harbour Bridge open to traffic?", "--index", str(sample_index))
    assert out.returncode == 0
    assert "(2024-03-04)" in out.stdout and "Passages:" in out.stdout and "vellmar-bridge" in out.stdout


@pytest.mark.parametrize(
    "args, fragment",
    [
        (("ask", "   "), "query is empty"),
        (("search", "bridge", "-k", "0"), "k must be at least 1"),
        (("ask", "When?", "--since", "2024-13-01"), "--since"),
        (("summarize", "bridge", "--max-sentences", "0"), "at least 1"),
    ],
)
def test_bad_query_arguments_fail_in_one_line(sample_index, args, fragment):
    before = snapshot(sample_index)
    assert_one_line_error(rag(*args, "--index", str(sample_index)), fragment)
    assert snapshot(sample_index) == before


def test_missing_index_fails_in_one_line(tmp_path):
    assert_one_line_error(rag("ask", "Anything?", "--index", str(tmp_path / "none")), "no index here")


def test_ingest_of_missing_or_bad_files_fails_and_keeps_the_index(sample_index, tmp_path):
    before = snapshot(sample_index)
    assert_one_line_error(rag("ingest", str(tmp_path / "missing.txt"), "--index", str(sample_index)), "no such file")
    (tmp_path / "bad.jsonl").write_text('{"id": "a", "text": "x"}\n{oops\n')
    assert_one_line_error(rag("ingest", str(tmp_path / "bad.jsonl"), "--index", str(sample_index)), "bad.jsonl:2")
    assert snapshot(sample_index) == before


def test_rejected_input_does_not_create_an_index(tmp_path):
    (tmp_path / "empty.txt").write_text("")
    assert_one_line_error(rag("ingest", str(tmp_path / "empty.txt"), "--index", str(tmp_path / "new")), "empty file")
    assert not (tmp_path / "new").exists()


def test_another_model_is_refused_and_named(sample_index):
    before = snapshot(sample_index)
    result = rag(
        "ingest", str(SAMPLES), "--index", str(sample_index), "--model", "sentence-transformers/all-mpnet-base-v2"
    )
    assert_one_line_error(result, "built with model 'sentence-transformers/all-MiniLM-L6-v2'")
    assert snapshot(sample_index) == before


def test_damaged_index_fails_in_one_line(sample_index):
    next(sample_index.glob("vectors-*.faiss")).write_bytes(b"garbage")
    assert_one_line_error(rag("info", "--index", str(sample_index)), "damaged")


def test_a_model_that_cannot_load_fails_in_one_line_and_leaves_no_index(tmp_path):
    result = rag("ingest", str(SAMPLES), "--index", str(tmp_path / "new"), "--model", str(tmp_path / "no-such-model"))
    assert_one_line_error(result, "cannot load embedding model")
    assert not (tmp_path / "new").exists()


def test_remove_by_id_prints_json_and_an_unknown_id_is_one_line(sample_index):
    out = rag("remove", "harbour-festival", "--index", str(sample_index), "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["removed"] == ["harbour-festival"] and data["index"]["articles"] == 4
    before = snapshot(sample_index)
    assert_one_line_error(rag("remove", "harbour-festival", "--index", str(sample_index)), "no article with article id")
    assert_one_line_error(rag("remove", "--index", str(sample_index)), "name at least one article id")
    assert snapshot(sample_index) == before


def test_ingest_index_type_is_kept_and_reported(sample_index):
    out = rag("ingest", str(SAMPLES), "--index", str(sample_index), "--index-type", "hnsw", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["index"]["index_type"] == "hnsw"
    assert rag("ingest", str(SAMPLES), "--index", str(sample_index), "--index-type", "annoy").returncode == 2


def test_ingest_with_the_int8_backend_then_ask(tmp_path):
    index = tmp_path / "idx"
    out = rag("ingest", str(SAMPLES), "--index", str(index), "--backend", "onnx-int8", "--json")
    assert out.returncode == 0, out.stderr
    out = rag("ask", "When did the Vellmar Harbour Bridge open to traffic?", "--index", str(index), "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["date"] == "2024-03-04"


def test_a_long_passage_is_printed_from_the_text_that_matched():
    from rag.display import excerpt as _excerpt
    from rag.types import Passage

    context, chunk = "Context sentence. " * 40, "The match is here."
    text = context + chunk
    window = Passage(
        0, "d", "s", "", None, text, 100, 100 + len(text), 1.0, matched=(100 + len(context), 100 + len(text))
    )
    shown = _excerpt(window, size=60)
    assert shown.startswith("…") and chunk in shown and len(shown) <= 62
    plain = Passage(0, "d", "s", "", None, text, 0, len(text), 1.0)
    assert _excerpt(plain, size=60) == "Context sentence. Context sentence. Context sentence.…"


def test_list_shows_what_is_indexed_with_filters(sample_index):
    out = rag("list", "--index", str(sample_index))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 5 and lines[0].split("\t")[:2] == ["vellmar-bridge-opens", "2024-03-04"]
    assert out.stderr.strip() == "5 articles"
    data = json.loads(
        rag("list", "--index", str(sample_index), "--since", "2024-05-01", "--source", "example.org", "--json").stdout
    )
    assert [a["id"] for a in data["articles"]] == ["rovers-cup-final"] and data["articles"][0]["chunks"] >= 1
    assert_one_line_error(
        rag("list", "--index", str(sample_index), "--since", "2024-06-01", "--until", "2024-05-01"), "is after until"
    )


def test_version_prints_the_installed_version():
    from importlib.metadata import version

    out = rag("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"rag {version('rag')}"


def test_a_damaged_database_fails_every_command_in_one_line_and_is_left_as_it_was(sample_index):
    db = sample_index / "rag.sqlite"
    data = bytearray(db.read_bytes())
    data[8192:12288] = bytes(4096)  # a page in the middle overwritten with zeros
    db.write_bytes(bytes(data))
    before = snapshot(sample_index)
    for args in (
        ("info",),
        ("ask", "When did the bridge open?"),
        ("search", "bridge"),
        ("list",),
        ("ingest", str(SAMPLES)),
    ):
        assert_one_line_error(rag(*args, "--index", str(sample_index)), "database is damaged")
    assert snapshot(sample_index) == before


@pytest.mark.parametrize(
    "args, code",
    [
        (("ask", "   "), "bad_input"),
        (("search", "bridge", "-k", "101"), "bad_input"),
        (("summarize", "bridge", "--since", "2024-02-01", "--until", "2024-01-01"), "bad_input"),
        (("list", "--since", "2024-13-01"), "bad_input"),
        (("remove", "no-such-article"), "not_found"),
    ],
)
def test_errors_under_json_are_one_object_on_stdout(sample_index, args, code):
    out = rag(*args, "--index", str(sample_index), "--json")
    assert out.returncode == 1 and out.stderr == ""
    error = json.loads(out.stdout)["error"]
    assert error["code"] == code and error["message"] and "\n" not in error["message"]


def test_a_missing_index_under_json_is_a_json_error(tmp_path):
    out = rag("info", "--index", str(tmp_path / "nothing"), "--json")
    assert out.returncode == 1 and json.loads(out.stdout)["error"]["code"] == "index_unavailable"


def test_ingest_progress_moves_per_batch_of_chunks_on_a_terminal(tmp_path):
    """Forty short articles are one batch of articles; the bar must still move as their
    chunks are embedded, with a rate and an ETA, and only on a terminal."""
    import fcntl
    import os
    import pty
    import re
    import struct
    import termios

    folder = tmp_path / "articles"
    folder.mkdir()
    for n in range(40):
        body = " ".join(
            f"Report {n} paragraph {p}: the council of town {n} met on day {p} and voted on budget item {p * n}."
            for p in range(12)
        )
        (folder / f"a{n:02}.txt").write_text(f"date 2024-01-{n % 28 + 1:02}\nTitle {n}\n\n{body}\n")
    main, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))  # a new pty is 0 columns wide
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag.cli", "ingest", str(folder), "--index", str(tmp_path / "idx")],
        stdout=secondary,
        stderr=secondary,
        close_fds=True,
    )
    os.close(secondary)
    seen = b""
    while True:
        try:
            data = os.read(main, 4096)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        seen += data
    assert proc.wait(timeout=300) == 0
    text = seen.decode(errors="replace")
    counts = {int(m) for m in re.findall(r"embedding:.*?\|\s*(\d+)/\d+", text)}
    assert len(counts - {0}) >= 3, text[-2000:]
    assert "chunk/s" in text and re.search(r"<\d\d:\d\d", text)
    piped = rag("ingest", str(folder), "--index", str(tmp_path / "idx2"))
    assert piped.returncode == 0 and "embedding" not in piped.stderr


def test_a_folder_ingest_reports_all_bad_files_and_writes_nothing(sample_index, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "ok.txt").write_text("date 2024-01-01\nA good article about the harbour.\n")
    (folder / "one.txt").write_text("date 2024-02-30\nBad day.\n")
    (folder / "two.jsonl").write_text('{"id": "x"}\n')
    before = snapshot(sample_index)
    out = rag("ingest", str(folder), "--index", str(sample_index))
    lines = out.stderr.splitlines()
    assert (
        out.returncode == 1
        and "Traceback" not in out.stderr
        and len(lines) == 3
        and all(line.startswith("error: ") for line in lines)
    )
    assert (
        "one.txt" in lines[0] + lines[1]
        and "two.jsonl" in lines[0] + lines[1]
        and "2 inputs cannot be used" in lines[2]
    )
    data = json.loads(rag("ingest", str(folder), "--index", str(sample_index), "--json").stdout)["error"]
    assert data["code"] == "bad_input" and len(data["problems"]) == 2
    assert snapshot(sample_index) == before


BRIDGE_Q = "When did the Vellmar Harbour Bridge open to traffic?"


@pytest.mark.parametrize("damage", ["vectors", "lexical"])
def test_check_finds_a_damaged_derived_file_and_repair_rebuilds_it(sample_index, damage):
    expected = json.loads(rag("ask", BRIDGE_Q, "--as-of", "2024-12-31", "--index", str(sample_index), "--json").stdout)
    assert rag("check", "--index", str(sample_index)).returncode == 0
    if damage == "vectors":
        next(sample_index.glob("vectors-*.faiss")).write_bytes(b"garbage")
    else:
        for f in next(sample_index.glob("lexical-*")).rglob("*"):
            if f.is_file():
                f.write_bytes(b"garbage")
    assert_one_line_error(rag("ask", BRIDGE_Q, "--index", str(sample_index)), "rag check --repair")
    found = rag("check", "--index", str(sample_index), "--json")
    assert found.returncode == 1 and json.loads(found.stdout)["problems"][0].startswith(f"{damage}: ")
    fixed = json.loads(rag("check", "--repair", "--index", str(sample_index), "--json").stdout)
    assert fixed["ok"] and fixed["repaired"] == [damage]
    again = json.loads(rag("ask", BRIDGE_Q, "--as-of", "2024-12-31", "--index", str(sample_index), "--json").stdout)
    assert again["answer"] == expected["answer"] and [p["doc_id"] for p in again["passages"]] == [
        p["doc_id"] for p in expected["passages"]
    ]


def test_check_reports_a_damaged_database_and_repair_leaves_it_as_it_was(sample_index):
    db = sample_index / "rag.sqlite"
    data = bytearray(db.read_bytes())
    data[8192:12288] = bytes(4096)
    db.write_bytes(bytes(data))
    before = snapshot(sample_index)
    found = rag("check", "--index", str(sample_index))
    assert found.returncode == 1 and "problem: database:" in found.stdout and "cannot be rebuilt" in found.stdout
    assert_one_line_error(
        rag("check", "--repair", "--index", str(sample_index)), "cannot be rebuilt from the other files"
    )
    assert snapshot(sample_index) == before
