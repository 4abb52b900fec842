"""Property-based fuzz of the server's own OpenAPI document with schemathesis, every
check on: whatever the schema allows, or nearly allows, gets no 5xx, and every response
matches the schema the server publishes. (schemathesis's pytest plugin does not run
under pytest 9, so this drives its command line.)"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from eval.serving import start

CONFIG = Path(__file__).with_name("schemathesis.toml")
EXAMPLES = os.environ.get("RAG_FUZZ_EXAMPLES", "60")


def test_fuzzed_requests_get_no_5xx_and_match_the_schema(tmp_path, built_index):
    shutil.copytree(built_index, tmp_path / "index")
    srv = start(tmp_path / "index")
    try:
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "--no-color",
                "--config-file",
                str(CONFIG),
                "run",
                f"{srv.url}/openapi.json",
                "--checks",
                "all",
                "--max-examples",
                EXAMPLES,
                "--seed",
                "20241125",
                "--workers",
                "1",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,  # its cache folder goes there
        )
    finally:
        srv.stop()
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "No issues found" in run.stdout and "passed" in run.stdout
