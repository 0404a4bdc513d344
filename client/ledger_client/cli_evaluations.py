"""`eval` subcommands for the `ledger` command line: `ledger eval logs EVAL_ID --follow`.

The group of `ledger.evaluations`, added to the top-level parser by
`register_evaluation_commands`; each command lives in a module of its own.
"""

from __future__ import annotations

import argparse

from ledger_client.cli_common import connection_options
from ledger_client.cli_evaluation_logs import add_logs_command


def register_evaluation_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Adds `eval logs` to a `ledger` parser."""
    connection = connection_options()
    group = subparsers.add_parser(
        "eval", parents=[connection], help="code-evaluation runs: their logs"
    )
    commands = group.add_subparsers(dest="eval_command", metavar="COMMAND", required=True)
    add_logs_command(commands, connection)
