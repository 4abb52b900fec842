"""The README's Python example runs and prints what the README says it prints."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_example() -> tuple[str, str]:
    """The first Python block of "The Python API" and the text block after it."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## The Python API") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    output = re.search(r"```text\n(.*?)```", section, re.S).group(1)
    return code, output


def test_the_readme_api_example_prints_what_the_readme_says(tmp_path):
    code, expected = readme_example()
    (tmp_path / "samples").symlink_to(ROOT / "samples")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout == expected
