"""`ledger eval logs EVAL_ID [--follow]`: an evaluation's log on stdout, like `tail -f`.

Added by `add_logs_command` to the `eval` group (`evaluation_cli`), beside show and list.
"""

from __future__ import annotations

import argparse
import sys

from ledger_client.cli_common import open_client, reporting_errors
from ledger_client.evaluation_logs import LogLine


def _format(line: LogLine, args: argparse.Namespace) -> str:
    parts = []
    if args.sequence:
        parts.append(str(line.sequence))
    if args.timestamps:
        parts.append(line.log_time.isoformat().replace("+00:00", "Z"))
    if args.streams:
        parts.append(line.stream)
    parts.append(line.text)
    return " ".join(parts)


@reporting_errors
def show_logs(args: argparse.Namespace) -> int:
    with (
        open_client(args) as ledger,
        ledger.evaluations.follow_logs(
            args.evaluation_id, after_sequence=args.after, follow=args.follow
        ) as lines,
    ):
        try:
            for line in lines:
                # stderr lines go to stderr, so `2>/dev/null` works as on the runner.
                out = sys.stderr if line.stream == "stderr" and not args.merge else sys.stdout
                print(_format(line, args), file=out, flush=args.follow)
        except KeyboardInterrupt:
            return 130
    return 0


def add_logs_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    connection: argparse.ArgumentParser,
) -> None:
    """Adds `logs` to the `eval` group's subcommands."""
    logs = commands.add_parser(
        "logs", parents=[connection], help="an evaluation's log lines, oldest first"
    )
    logs.add_argument("evaluation_id", metavar="EVAL_ID")
    logs.add_argument(
        "-f",
        "--follow",
        action="store_true",
        help="keep printing new lines until the evaluation finishes (Ctrl-C to stop)",
    )
    logs.add_argument(
        "--after", type=int, default=0, metavar="SEQUENCE", help="start after this line"
    )
    logs.add_argument("-n", "--sequence", action="store_true", help="print each line's sequence")
    logs.add_argument("-t", "--timestamps", action="store_true", help="print each line's time")
    logs.add_argument("--streams", action="store_true", help="print each line's stream")
    logs.add_argument("--merge", action="store_true", help="print stderr lines on stdout too")
    logs.set_defaults(func=show_logs)
