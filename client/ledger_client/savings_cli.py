"""`savings` subcommands for the `ledger` command line: a summary, and a CSV export."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from ledger_client.cli_common import connection_options, open_client, reporting_errors
from ledger_client.savings_types import SavingsSummary, units


def _range(args: argparse.Namespace) -> dict[str, object]:
    if args.start or args.end:
        if not (args.start and args.end):
            raise ValueError("--start and --end go together")
        return {"start_date": args.start, "end_date": args.end}
    return {"last_days": args.days}


def summary_text(summary: SavingsSummary) -> str:
    change = "n/a" if summary.change_percent is None else f"{summary.change_percent:+}%"
    lines = [
        f"Savings {summary.start_date} to {summary.end_date} ({summary.time_zone}), "
        f"{summary.currency_code}",
        f"  saved (finalized)   {summary.savings}",
        f"  saving now          {summary.ongoing_savings}",
        f"  stopped hours       {summary.stopped_minutes // 60}",
        f"  24/7 cost           {summary.projected_cost}",
        f"  actual cost         {summary.actual_cost}",
        f"  previous period     {units(summary.previous_savings_cents)} ({change})",
        f"  month to date       {summary.month_to_date_savings}",
    ]
    if summary.top_savers:
        lines.append("  top savers:")
        lines += [
            f"    {s.instance_id:<32} {s.savings:>12}  {s.share_percent or 0}%"
            for s in summary.top_savers
        ]
    lines.append(summary.disclaimer)
    return "\n".join(lines)


@reporting_errors
def show_summary(args: argparse.Namespace) -> int:
    with open_client(args) as ledger:
        summary = ledger.savings.get_summary(
            schedule_id=args.schedule,
            instance_id=args.instance,
            **_range(args),  # type: ignore[arg-type]
        )
    print(summary_text(summary))
    return 0


@reporting_errors
def export_csv(args: argparse.Namespace) -> int:
    path: Path = args.csv
    with open_client(args) as ledger, path.open("wb") as out:
        for chunk in ledger.savings.export_csv(granularity=args.granularity, **_range(args)):  # type: ignore[arg-type]
            out.write(chunk)
    print(f"wrote {path}", file=sys.stderr)
    return 0


def _range_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--days", type=int, choices=[7, 30, 90], default=30, help="last N days")
    parser.add_argument("--start", type=date.fromisoformat, help="first day, YYYY-MM-DD")
    parser.add_argument("--end", type=date.fromisoformat, help="last day, YYYY-MM-DD")


def register_savings_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Adds `savings summary | export` to a `ledger` parser."""
    connection = connection_options()
    savings = subparsers.add_parser(
        "savings", parents=[connection], help="money saved by stopping instances"
    )
    commands = savings.add_subparsers(dest="savings_command", metavar="COMMAND", required=True)
    summary = commands.add_parser("summary", parents=[connection], help="totals of a range")
    _range_options(summary)
    summary.add_argument("--schedule", default="", help="only this schedule's savings")
    summary.add_argument("--instance", default="", help="only this instance's savings")
    summary.set_defaults(func=show_summary)
    export = commands.add_parser("export", parents=[connection], help="savings as CSV")
    _range_options(export)
    export.add_argument("--csv", type=Path, required=True, metavar="FILE", help="output file")
    export.add_argument("--granularity", choices=["day", "instance"], default="day")
    export.set_defaults(func=export_csv)
