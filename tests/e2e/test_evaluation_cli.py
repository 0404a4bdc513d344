"""`ledger eval show | list` against a real server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

from ledger_client import Client
from tests.conftest import READER_KEY
from tests.support.server import ServerThread


def ledger_eval(server: ServerThread, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ledger_server", "eval", *args, "--target", server.target],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "LEDGER_API_KEY": READER_KEY},
    )


def test_eval_show_and_list_print_what_was_stored(server: ServerThread, client: Client) -> None:
    language = f"cli{uuid.uuid4().hex[:8]}"
    first = client.evaluations.create("print('one')", language=language)
    second = client.evaluations.create("print('two')", language=language)
    client.evaluations.update(second.evaluation_id, status="running", output="two\n")

    shown = ledger_eval(server, "show", second.evaluation_id, "--full")
    listed = ledger_eval(server, "list", "--language", language)
    running = ledger_eval(server, "list", "--language", language, "--status", "running")

    assert shown.returncode == 0, shown.stderr
    document = json.loads(shown.stdout)
    assert (document["evaluation_id"], document["version"]) == (second.evaluation_id, "2")
    assert (document["code"], document["output"]) == ("print('two')", "two\n")
    assert document["status"] == "EVALUATION_STATUS_RUNNING"
    lines = [line.split() for line in listed.stdout.splitlines()]
    assert [(line[0], line[1], line[3]) for line in lines] == [
        (second.evaluation_id, "running", "v2"),
        (first.evaluation_id, "queued", "v1"),
    ]
    assert [line.split()[0] for line in running.stdout.splitlines()] == [second.evaluation_id]


def test_eval_show_of_an_unknown_evaluation_says_so(server: ServerThread) -> None:
    shown = ledger_eval(server, "show", "eval_no_such_thing")

    assert shown.returncode == 1
    assert shown.stdout == ""
    assert "not found" in shown.stderr and "EVALUATION_NOT_FOUND" in shown.stderr


def test_eval_list_with_nothing_to_show_says_so_on_stderr(server: ServerThread) -> None:
    listed = ledger_eval(server, "list", "--language", f"none{uuid.uuid4().hex[:8]}")

    assert listed.returncode == 0
    assert listed.stdout == "" and "No evaluations match." in listed.stderr
