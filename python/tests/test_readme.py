"""The README's example runs as written (from the repository root)."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_example_runs(tmp_path, monkeypatch) -> None:
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks
    monkeypatch.chdir(ROOT)
    code = blocks[0].replace('to_html("audit.html")', f'to_html({str(tmp_path / "audit.html")!r})')
    with warnings.catch_warnings(record=True):  # kept, not shown: third-party noise
        warnings.simplefilter("always")
        exec(compile(code, "README.md", "exec"), {})
    assert (tmp_path / "audit.html").stat().st_size > 10_000
