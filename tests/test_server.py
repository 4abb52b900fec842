"""`rag serve`: the real server on a free 127.0.0.1 port, spoken to over HTTP."""

import datetime as dt
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from eval.serving import start
from rag import Index
from rag.query import MAX_K, MAX_QUERY_CHARS

from .conftest import SENTENCE_FIELDS, serving_a_copy, write_lock_held_elsewhere
from .test_cli import assert_one_line_error, rag

BRIDGE = "When did the Vellmar Harbour Bridge open to traffic?"


@pytest.fixture(scope="module")
def server(tmp_path_factory, built_index):
    with serving_a_copy(built_index, tmp_path_factory.mktemp("served"), "--workers", "2") as srv:
        yield srv


@pytest.fixture
def client(server):
    with server.client() as c:
        yield c


def test_answers_match_the_library_and_the_cli_json(server, client, built_index):
    asked = {"question": BRIDGE, "k": 3, "as_of": "2024-12-31", "mode": "hybrid"}
    got = client.post("/ask", json=asked)
    assert got.status_code == 200
    with Index.open(built_index) as index:
        expected = index.ask(BRIDGE, k=3, as_of=dt.date(2024, 12, 31)).to_json()
    assert got.json() == expected
    cli = json.loads(
        rag("ask", BRIDGE, "-k", "3", "--as-of", "2024-12-31", "--index", str(built_index), "--json").stdout
    )
    assert got.json() == cli


def test_search_summarize_info_and_health(client):
    search = client.post(
        "/search", json={"query": "Kourou launch", "k": 2, "since": "2024-05-01", "until": "2024-05-31"}
    ).json()
    assert search["query"] == "Kourou launch" and [p["doc_id"] for p in search["passages"]] == ["tessera-lunar-landing"]
    summary = client.post("/summarize", json={"query": "harbour bridge", "max_sentences": 3}).json()
    assert 1 <= len(summary["sentences"]) <= 3 and set(summary["sentences"][0]) == SENTENCE_FIELDS
    info = client.get("/info").json()
    assert info["chunks"] == info["vectors"] > 0 and info["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    health = client.get("/health").json()
    assert health["status"] == "ok" and isinstance(health["worker"], int)
    assert client.get("/openapi.json").json()["paths"].keys() >= {
        "/ask",
        "/search",
        "/summarize",
        "/articles",
        "/articles/{doc_id}",
        "/health",
        "/info",
    }


def test_articles_can_be_added_read_and_deleted(client):
    article = {
        "id": "ferry-line",
        "text": "On Monday the Vellmar council approved a night ferry line to Ostrand.",
        "date": "2024-06-03",
        "title": "Night ferry",
    }
    added = client.post("/articles", json={"articles": [article]})
    assert added.status_code == 200 and added.json()["added"] == 1
    assert client.get("/articles/ferry-line").json() == {**article, "source": "api"}
    answer = client.post(
        "/ask", json={"question": "When was the night ferry line to Ostrand approved?", "as_of": "2024-12-31"}
    ).json()
    assert answer["date"] == "2024-06-03" and answer["passages"][0]["doc_id"] == "ferry-line"
    again = client.post("/articles", json={"articles": [article]}).json()
    assert (again["added"], again["skipped"]) == (0, 1)
    removed = client.delete("/articles/ferry-line").json()
    assert removed["removed"] == ["ferry-line"] and removed["index"]["chunks"] == removed["index"]["vectors"]
    assert client.get("/articles/ferry-line").status_code == 404


def _error(response: httpx.Response, status: int, code: str, fragment: str = "") -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code and fragment in body["error"]["message"]
    assert "Traceback" not in response.text


@pytest.mark.parametrize(
    "path, body, status, code, fragment",
    [
        ("/ask", b'{"question": ', 422, "invalid_request", "malformed JSON"),
        ("/ask", b'["a list"]', 422, "invalid_request", ""),
        ("/ask", b'{"question": 42}', 422, "invalid_request", "question"),
        ("/ask", b'{"question": "   "}', 422, "invalid_request", "question: is empty"),
        ("/ask", json.dumps({"question": "x" * 1_000_000}).encode(), 422, "invalid_request", "at most 1000"),
        ("/ask", b'{"question": "bridge", "k": 0}', 422, "invalid_request", "k"),
        ("/ask", b'{"question": "bridge", "k": 1000}', 422, "invalid_request", "k"),
        ("/ask", b'{"question": "bridge", "since": "2024-02-30"}', 422, "invalid_request", "invalid date"),
        ("/ask", b'{"question": "bridge", "since": "yesterday"}', 422, "invalid_request", "since"),
        ("/ask", b'{"question": "bridge", "since": "2024-05-01", "until": "2024-04-01"}', 400, "bad_input", ""),
        ("/ask", b'{"question": "bridge", "mode": "psychic"}', 422, "invalid_request", "mode"),
        ("/search", b'{"query": "bridge", "colour": "red"}', 422, "invalid_request", "colour"),
        ("/summarize", b'{"query": "bridge", "max_sentences": -1}', 422, "invalid_request", "max_sentences"),
        ("/articles", b'{"articles": []}', 422, "invalid_request", "articles"),
        (
            "/articles",
            b'{"articles": [{"id": "a", "text": "  "}]}',
            422,
            "invalid_request",
            "articles.0.text: is empty",
        ),
        (
            "/articles",
            b'{"articles": [{"id": "a", "text": "One."}, {"id": "a", "text": "Two."}]}',
            400,
            "bad_input",
            "duplicate id",
        ),
    ],
)
def test_bad_input_gets_a_4xx_json_error(client, path, body, status, code, fragment):
    _error(client.post(path, content=body, headers={"content-type": "application/json"}), status, code, fragment)


def test_unknown_articles_routes_and_methods_are_json_errors(client):
    _error(client.get("/articles/no-such-article"), 404, "not_found", "no-such-article")
    _error(client.delete("/articles/no-such-article"), 404, "not_found", "no-such-article")
    _error(client.get("/nowhere"), 404, "not_found")
    _error(client.put("/ask", json={}), 405, "http_error")
    _error(
        client.post("/ask", content=b"question=bridge", headers={"content-type": "application/x-www-form-urlencoded"}),
        422,
        "invalid_request",
        "JSON object",
    )


def test_a_body_over_the_limit_is_refused_whether_declared_or_streamed(client):
    big = b'{"question": "' + b"x" * (9 * 1024 * 1024) + b'"}'
    _error(client.post("/ask", content=big, headers={"content-type": "application/json"}), 413, "too_large")

    def chunks():
        for at in range(0, len(big), 1 << 20):
            yield big[at : at + (1 << 20)]

    _error(client.post("/ask", content=chunks(), headers={"content-type": "application/json"}), 413, "too_large")
    assert client.get("/health").status_code == 200


def test_with_a_token_requests_without_it_get_401(sample_index):
    srv = start(sample_index, "--token", "s3cret", headers={"Authorization": "Bearer s3cret"})
    try:
        with srv.client() as c:
            _error(c.get("/info"), 401, "unauthorized")
            _error(
                c.post("/ask", json={"question": "bridge"}, headers={"Authorization": "Bearer wrong"}),
                401,
                "unauthorized",
            )
            assert c.get("/info", headers={"Authorization": "Bearer s3cret"}).status_code == 200
            assert (
                c.post("/ask", json={"question": "bridge"}, headers={"Authorization": "Bearer s3cret"}).status_code
                == 200
            )
    finally:
        srv.stop()


def test_a_non_loopback_address_without_a_token_needs_a_flag(sample_index):
    assert_one_line_error(rag("serve", "--index", str(sample_index), "--host", "0.0.0.0"), "without --token")


def test_a_write_while_another_process_writes_waits_then_is_refused_with_409(sample_index):
    srv = start(sample_index, "--workers", "1", "--lock-wait", "1")
    try:
        with srv.client() as client, write_lock_held_elsewhere(sample_index):
            began = time.monotonic()
            _error(
                client.post("/articles", json={"articles": [{"id": "x", "text": "Some text."}]}),
                409,
                "busy",
                "another writer",
            )
            assert time.monotonic() - began >= 1.0
            assert client.post("/search", json={"query": "bridge"}).status_code == 200
    finally:
        srv.stop()


def test_a_write_waits_for_another_process_to_finish(server, client):
    answered: list[int] = []
    body = {"articles": [{"id": "waited", "text": "A short note about the harbour tram."}]}
    with write_lock_held_elsewhere(server_index(client)):
        post = threading.Thread(target=lambda: answered.append(client.post("/articles", json=body).status_code))
        post.start()
        time.sleep(0.3)  # the post is waiting on the lock when its holder ends
    post.join()
    assert answered == [200]
    assert client.delete("/articles/waited").status_code == 200


def test_two_workers_answer_from_one_index(server):
    with server.client() as c:
        assert (
            c.post(
                "/articles",
                json={
                    "articles": [
                        {
                            "id": "twin",
                            "text": "The Quillon observatory opened its dome to visitors.",
                            "date": "2024-09-09",
                        }
                    ]
                },
            ).status_code
            == 200
        )
    answered_by: set[int] = set()

    def ask() -> int:  # a fresh connection each time: either worker may accept it
        with httpx.Client(base_url=server.url, timeout=60) as c:
            worker = c.get("/health").json()["worker"]
            hits = c.post("/search", json={"query": "Quillon observatory dome", "k": 1, "as_of": "2024-12-31"}).json()[
                "passages"
            ]
        assert hits[0]["doc_id"] == "twin", worker
        return worker

    # four at once: a worker busy with one cannot accept the next, so an idle one does
    # (one at a time, the kernel may hand every connection to the same worker)
    with ThreadPoolExecutor(4) as pool:
        for _ in range(50):
            answered_by.update(pool.map(lambda _: ask(), range(4)))
            if len(answered_by) == 2:
                break
    assert len(answered_by) == 2 and answered_by <= set(server.children())
    with server.client() as c:
        assert c.delete("/articles/twin").status_code == 200


def server_index(client: httpx.Client) -> str:
    return client.get("/info").json()["path"]


def test_the_server_sees_what_a_cli_ingest_committed(server, client, tmp_path):
    article = tmp_path / "cli-added.txt"
    article.write_text("date 2024-07-01\nThe Ostrand lighthouse reopened after a decade of repairs.\n")
    assert rag("ingest", str(article), "--index", server_index(client)).returncode == 0
    hits = client.post("/search", json={"query": "Ostrand lighthouse reopened", "k": 1, "as_of": "2024-12-31"}).json()[
        "passages"
    ]
    assert hits[0]["doc_id"] == "cli-added"
    assert client.delete("/articles/cli-added").status_code == 200


def test_queries_during_ingests_see_the_index_before_or_after_never_a_mix(server, client):
    """Each ingest rewrites every article of a set to name its generation; a query must
    find all of the set, all of one generation."""
    ids = [f"gen-{n}" for n in range(6)]

    def generation(g: int) -> dict:
        return {
            "articles": [
                {
                    "id": i,
                    "text": f"Zephyrine bulletin number {i}: the marker of this edition is generation{g}.",
                    "date": "2024-08-01",
                }
                for i in ids
            ]
        }

    assert client.post("/articles", json=generation(0)).status_code == 200
    seen: list[set[str]] = []
    problems: list[str] = []
    done = threading.Event()

    def read() -> None:
        with httpx.Client(base_url=client.base_url, timeout=120) as c:
            while not done.is_set():
                r = c.post(
                    "/search",
                    json={
                        "query": "Zephyrine bulletin edition marker",
                        "k": 40,
                        "mode": "lexical",
                        "as_of": "2024-12-31",
                    },
                )
                if r.status_code != 200:
                    problems.append(r.text)
                    continue
                mine = [p for p in r.json()["passages"] if p["doc_id"] in ids]
                gens = {p["text"].rsplit("generation", 1)[1].rstrip(".") for p in mine}
                if len(mine) != len(ids) or len(gens) != 1:
                    problems.append(f"{len(mine)} passages, generations {gens}")
                seen.append(gens)

    readers = [threading.Thread(target=read) for _ in range(3)]
    for t in readers:
        t.start()
    try:
        _wait_for(lambda: len(seen) >= 3)  # the readers are reading before the first ingest
        for g in range(1, 6):
            assert client.post("/articles", json=generation(g)).status_code == 200
        after = len(seen)
        _wait_for(lambda: len(seen) >= after + 6)  # at least 3 of these began after the last ingest answered
    finally:
        done.set()
        for t in readers:
            t.join()
    assert not problems, problems[:3]
    assert len({g for s in seen for g in s}) >= 2  # the readers did run across ingests
    assert {"5"} in seen[after:], seen[after:]  # an answered ingest is seen next, whichever worker reads
    for i in ids:
        client.delete(f"/articles/{i}")


def _wait_for(condition, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_concurrent_ingests_are_serialised(server, client):
    results: list[int] = []

    def post(n: int) -> None:
        with httpx.Client(base_url=client.base_url, timeout=120) as c:
            results.append(
                c.post(
                    "/articles",
                    json={"articles": [{"id": f"par-{n}", "text": f"Parallel article {n} about the harbour tram."}]},
                ).status_code
            )

    threads = [threading.Thread(target=post, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * 4
    info = client.get("/info").json()
    assert info["chunks"] == info["vectors"]
    for n in range(4):
        assert client.delete(f"/articles/par-{n}").status_code == 200


@pytest.mark.parametrize(
    "field, good, bad",
    [
        ("k", {"k": MAX_K}, {"k": MAX_K + 1}),
        ("question", {"question": "bridge " + "x" * (MAX_QUERY_CHARS - 7)}, {"question": "x" * (MAX_QUERY_CHARS + 1)}),
        ("until", {"since": "2024-01-01", "until": "2024-01-01"}, {"since": "2024-01-02", "until": "2024-01-01"}),
    ],
)
def test_the_cli_and_http_share_one_rule_for_queries(client, built_index, field, good, bad):
    def cli(fields: dict) -> int:
        flags = [x for key in ("since", "until") if key in fields for x in (f"--{key}", fields[key])]
        k = ["-k", str(fields["k"])] if "k" in fields else []
        return rag(
            "ask", fields.get("question", "bridge"), *k, *flags, "--index", str(built_index), "--json"
        ).returncode

    for fields, ok in ((good, True), (bad, False)):
        http = client.post("/ask", json={"question": "bridge", **fields})
        assert (http.status_code == 200) is ok and (cli(fields) == 0) is ok, (field, fields, http.text)
        if not ok:
            assert "--" not in http.json()["error"]["message"]
