"""`ledger serve` as an operator sets it up: which database roles it serves as, or refuses."""

from __future__ import annotations

import pytest

from tests.support.process import ServeProcess


def refusal(serve: ServeProcess) -> str:
    """The one line `ledger serve` exited 2 with."""
    assert serve.process.wait(30) == 2
    serve.stop()
    lines = [line for line in serve.lines if line.strip()]
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize("role", ["", "  "])
def test_serve_refuses_an_empty_db_role(database_url: str, role: str) -> None:
    serve = ServeProcess(
        "--listen", "127.0.0.1:0", database_url=database_url, env={"LEDGER_DB_ROLE": role}
    )
    assert "LEDGER_DB_ROLE is empty" in refusal(serve)


def test_serve_refuses_to_serve_as_the_owner_without_set_role(database_url: str) -> None:
    serve = ServeProcess(
        "--listen", "127.0.0.1:0", database_url=database_url, env={"LEDGER_DB_ROLE": "none"}
    )
    assert "refusing to serve as database role" in refusal(serve)
