"""The API's documentation page, rendered by a real headless Chromium that can reach
nothing but the server on 127.0.0.1: every script and style it needs comes from rag."""

import re
import shutil
import subprocess

import pytest

from .conftest import serving_a_copy

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# The flags that keep Chromium from calling Google's services at start, and a resolver
# that knows no host at all: a page that needs a CDN cannot load its scripts.
OFFLINE = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory, built_index):
    with serving_a_copy(built_index, tmp_path_factory.mktemp("docs"), "--workers", "1") as srv:
        yield srv


@pytest.mark.skipif(
    CHROMIUM is None and not __import__("os").environ.get("CI"),
    reason="Chromium is not installed (apt-get install chromium)",
)
@pytest.mark.parametrize(
    "page, rendered",
    [("/docs", r'class="opblock-summary-path"[^>]*>.*?/ask'), ("/redoc", r'data-item-id="operation/ask_ask_post"')],
)
def test_the_documentation_renders_offline_in_a_real_browser(server, tmp_path, page, rendered):
    assert CHROMIUM is not None, "CI must have Chromium: the README's test command installs it"
    html = server.client().get(page).text
    assert not re.search(r"""(src|href)=["']https?://""", html), "the page loads something from another host"
    out = subprocess.run(
        [
            CHROMIUM,
            *OFFLINE,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=20000",
            "--dump-dom",
            server.url + page,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert re.search(rendered, out.stdout, re.S), out.stdout[-3000:]
