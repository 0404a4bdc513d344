"""The README's Python example runs as written (pointed at the test server)."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

from tests.conftest import ADMIN_KEY
from tests.support.server import ServerThread

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_sdk_example_runs(server: ServerThread) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README shows the SDK in a ```python block"
    code = blocks[0].replace('"127.0.0.1:50051"', repr(server.target))
    code = code.replace("api_key=None", f"api_key={ADMIN_KEY!r}")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, str(README), "exec"), {})  # noqa: S102 - our own README
    output = printed.getvalue()
    assert "1144.28" in output
    assert "AmazonEC2 1121.28" in output
    assert "job_id must be a UUID" in output


def test_readme_evaluations_example_runs(server: ServerThread) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    (code,) = [block for block in blocks if "ledger.evaluations" in block]
    code = code.replace('"127.0.0.1:50051"', repr(server.target))
    code = code.replace("api_key=None", f"api_key={ADMIN_KEY!r}")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, str(README), "exec"), {})  # noqa: S102 - our own README
    assert printed.getvalue().splitlines() == ["True", "4 hello", "EVALUATION_FINISHED"]


def test_readme_savings_example_runs(server: ServerThread) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    [code] = [block for block in blocks if "ledger.savings" in block]
    code = code.replace('"127.0.0.1:50051"', repr(server.target))
    code = code.replace("api_key=None", f"api_key={ADMIN_KEY!r}")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, str(README), "exec"), {})  # noqa: S102 - our own README
    assert printed.getvalue().splitlines() == [
        "1.92 USD",
        "2026-03-02 192 240",
        "2026-03-03 384 480",
    ]
