"""`eval` subcommands for the `ledger` command line: inspect evaluations.

`ledger eval show EVAL_ID` prints one evaluation as JSON (with `--full`, its code and
output too); `ledger eval list` prints one line per evaluation, newest first. The group
is named for the service it calls, like `ledger results` for `ledger.results`.
"""

from __future__ import annotations

import argparse
import sys
from itertools import islice

from google.protobuf import json_format

from ledger.v1 import evaluation_pb2 as ev
from ledger_client.cli_common import (
    connection_options,
    open_client,
    positive_int,
    reporting_errors,
)
from ledger_client.evaluation_messages import STATUSES


def status_name(number: int) -> str:
    return ev.EvaluationStatus.Name(number).removeprefix("EVALUATION_STATUS_").lower()  # type: ignore[arg-type]


def evaluation_line(evaluation: ev.Evaluation) -> str:
    created = evaluation.create_time.ToDatetime().strftime("%Y-%m-%d %H:%M:%S")
    return "  ".join(
        (
            evaluation.evaluation_id,
            status_name(evaluation.status),
            evaluation.language,
            f"v{evaluation.version}",
            created,
        )
    )


@reporting_errors
def show_evaluation(args: argparse.Namespace) -> int:
    with open_client(args) as ledger:
        evaluation = ledger.evaluations.get(
            args.evaluation_id, full=args.full, version=args.version
        )
    print(json_format.MessageToJson(evaluation, indent=2, preserving_proto_field_name=True))
    return 0


@reporting_errors
def list_evaluations(args: argparse.Namespace) -> int:
    with open_client(args) as ledger:
        evaluations = ledger.evaluations.list(
            status=args.status, language=args.language, page_size=min(args.limit, 1000)
        )
        shown = 0
        for evaluation in islice(evaluations, args.limit):
            print(evaluation_line(evaluation))
            shown += 1
    if not shown:
        print("No evaluations match.", file=sys.stderr)  # stdout stays clean for scripts
    return 0


def register_evaluation_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    """Adds `eval show | list` to a `ledger` parser; returns the group's commands."""
    connection = connection_options()
    group = subparsers.add_parser("eval", parents=[connection], help="inspect code evaluations")
    commands = group.add_subparsers(dest="eval_command", metavar="COMMAND", required=True)

    show = commands.add_parser(
        "show", parents=[connection], help="one evaluation as JSON (latest version)"
    )
    show.add_argument("evaluation_id")
    show.add_argument("--full", action="store_true", help="with its code, output and error")
    show.add_argument(
        "--version", type=positive_int, default=0, help="this version, not the latest"
    )
    show.set_defaults(func=show_evaluation)

    lister = commands.add_parser("list", parents=[connection], help="evaluations, newest first")
    lister.add_argument("--status", default="", choices=["", *STATUSES], help="only this status")
    lister.add_argument("--language", default="", help="only this language")
    lister.add_argument("--limit", type=positive_int, default=20, help="at most N (20)")
    lister.set_defaults(func=list_evaluations)
    return commands
