"""`ledger eval logs`: an evaluation's log on the terminal, and `--follow` until it ends."""

from __future__ import annotations

import os
import subprocess
import sys

from ledger_client import Client
from ledger_client.evaluation_logs import LogEntry
from tests.conftest import READER_KEY
from tests.support.evaluations import complete, create_evaluation
from tests.support.server import ServerThread


def eval_logs(server: ServerThread, *args: str) -> list[str]:
    return [sys.executable, "-m", "ledger_server", "eval", "logs", *args, "--target", server.target]


ENV = {**os.environ, "LEDGER_API_KEY": READER_KEY}


def test_eval_logs_prints_lines_and_sends_stderr_lines_to_stderr(
    server: ServerThread, client: Client
) -> None:
    evaluation = create_evaluation(server.target)
    client.evaluations.append_logs(evaluation, ["hello", LogEntry("warn", stream="stderr"), "bye"])
    shown = subprocess.run(
        eval_logs(server, evaluation, "--sequence"), capture_output=True, text=True, env=ENV
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines() == ["1 hello", "3 bye"]
    assert shown.stderr.splitlines() == ["2 warn"]
    merged = subprocess.run(
        eval_logs(server, evaluation, "--merge", "--after", "1", "--streams"),
        capture_output=True,
        text=True,
        env=ENV,
    )
    assert merged.stdout.splitlines() == ["stderr warn", "stdout bye"]


def test_eval_logs_follow_prints_new_lines_until_the_evaluation_finishes(
    server: ServerThread, client: Client
) -> None:
    evaluation = create_evaluation(server.target)
    client.evaluations.append_logs(evaluation, ["first"])
    follower = subprocess.Popen(
        eval_logs(server, evaluation, "--follow"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    try:
        assert follower.stdout is not None
        assert follower.stdout.readline() == "first\n"  # printed at once, while following
        client.evaluations.append_logs(evaluation, ["second", "third"])
        assert follower.stdout.readline() == "second\n"
        complete(server.target, evaluation)
        # Not communicate(): it reads the pipe itself, past what readline() buffered.
        rest = follower.stdout.read()  # until the command exits
        follower.wait(30)
        errors = follower.stderr.read() if follower.stderr else ""
    finally:
        if follower.poll() is None:
            follower.kill()
    assert follower.returncode == 0, errors
    assert rest == "third\n"


def test_eval_logs_of_an_unknown_evaluation_says_so(server: ServerThread) -> None:
    shown = subprocess.run(
        eval_logs(server, "no_such_eval", "--follow"), capture_output=True, text=True, env=ENV
    )
    assert shown.returncode == 1
    assert "not found" in shown.stderr and "EVALUATION_NOT_FOUND" in shown.stderr
