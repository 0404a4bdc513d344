"""`costs` subcommands of the `ledger` command line: load billing exports, inspect them.

ledger costs ingest export.csv.gz            # seed JSON, CSV or FOCUS CSV, gzip or not
ledger costs list --provider aws --as-of 2026-01-03T00:00:00Z
ledger costs summary --group-by provider
ledger costs runs [RUN_ID]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import IO, TypeVar

from ledger_client.cli_common import connection_options, open_client, positive_int, reporting_errors
from ledger_client.cost_files import FORMATS, read_records
from ledger_client.costs import STREAM_BATCH
from ledger_client.costs_types import CHARGE_CATEGORIES, GROUP_BYS, IngestionReport, IngestionRun

T = TypeVar("T")
_MAX_SHOWN_REJECTIONS = 20


def _time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an ISO 8601 time, got {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Progress:
    """Counts records as they are sent and redraws one line on stderr, twice a second."""

    def __init__(self, stream: IO[str], *, interval: float = 0.5) -> None:
        self._stream = stream
        self._interval = interval
        self._started = time.monotonic()
        self._drawn = 0.0
        self.sent = 0

    def track(self, items: Iterable[T]) -> Iterator[T]:
        for item in items:
            self.sent += 1
            yield item
            if self.sent % 1000 == 0 and time.monotonic() - self._drawn >= self._interval:
                self.draw()

    def rate(self) -> float:
        return self.sent / max(time.monotonic() - self._started, 1e-9)

    def draw(self, end: str = "") -> None:
        self._drawn = time.monotonic()
        self._stream.write(f"\rsent {self.sent:,} records ({self.rate():,.0f} records/s){end}")
        self._stream.flush()

    def finish(self, report: IngestionReport) -> None:
        self.draw(end="\n")
        run = report.run
        self._stream.write(
            f"inserted {run.inserted:,}, revised {run.revised:,}, unchanged {run.unchanged:,}, "
            f"rejected {run.rejected:,}\n"
        )


def _run_line(run: IngestionRun) -> str:
    state = "complete" if run.complete else "INCOMPLETE"
    return (
        f"{run.run_id}  {run.create_time:%Y-%m-%d %H:%M:%S}  {state:10}  "
        f"inserted={run.inserted} revised={run.revised} unchanged={run.unchanged} "
        f"rejected={run.rejected}  {run.duration_ms} ms  {run.caller}  {run.source}"
    )


@reporting_errors
def ingest(args: argparse.Namespace) -> int:
    path: Path = args.file
    source = args.source or path.name
    records = read_records(path, args.format)
    progress = Progress(sys.stderr)
    with open_client(args) as ledger:
        if args.all_or_nothing:
            batch = list(islice(progress.track(records), 10_001))
            if len(batch) > 10_000:
                raise ValueError("--all-or-nothing loads at most 10,000 records in one call")
            report = ledger.costs.ingest_cost_records(
                batch, source=source, all_or_nothing=True, request_id=args.request_id
            )
        else:
            report = ledger.costs.stream_cost_records(
                progress.track(records),
                source=source,
                request_id=args.request_id,
                batch_size=args.batch_size,
                timeout=args.stream_timeout,
            )
    progress.finish(report)
    for rejection in report.rejections[:_MAX_SHOWN_REJECTIONS]:
        field = f" {rejection.field}:" if rejection.field else ""
        print(f"rejected record {rejection.index}:{field} {rejection.reason}", file=sys.stderr)
    hidden = report.run.rejected - min(len(report.rejections), _MAX_SHOWN_REJECTIONS)
    if hidden > 0:
        print(f"... and {hidden} more rejected records", file=sys.stderr)
    print(_run_line(report.run))
    return 1 if report.run.rejected else 0


def _filters(args: argparse.Namespace) -> dict[str, object]:
    return {
        "start_time": args.start,
        "end_time": args.end,
        "provider": args.provider,
        "billing_account_id": args.account,
        "service": args.service,
        "region": args.region,
        "sku": args.sku,
        "charge_category": args.category,
    }


@reporting_errors
def list_records(args: argparse.Namespace) -> int:
    shown = 0
    with open_client(args) as ledger:
        records = ledger.costs.list_cost_records(
            as_of_time=args.as_of,
            page_size=min(args.limit, 1000),
            **_filters(args),  # type: ignore[arg-type]
        )
        for record in islice(records, args.limit):
            print(
                f"{record.charge_period_start:%Y-%m-%d %H:%M}  {record.provider}  "
                f"{record.billing_account_id or '-'}  {record.service or '-'}  "
                f"{record.region or '-'}  {record.sku or '-'}  {record.charge_category}  "
                f"{record.billed_cost} {record.billing_currency}  rev {record.revision}"
            )
            shown += 1
    if not shown:
        print("No cost records match.", file=sys.stderr)
    return 0


@reporting_errors
def summary(args: argparse.Namespace) -> int:
    with open_client(args) as ledger:
        groups = ledger.costs.get_cost_summary(args.group_by, **_filters(args))  # type: ignore[arg-type]
    for group in groups:
        print(
            f"{group.group or '-'}  {group.currency}  count={group.record_count}  "
            f"total={group.total_billed_cost}  average={group.average_billed_cost}  "
            f"min={group.min_billed_cost}  max={group.max_billed_cost}"
        )
    if not groups:
        print("No cost records match.", file=sys.stderr)
    return 0


@reporting_errors
def runs(args: argparse.Namespace) -> int:
    with open_client(args) as ledger:
        if args.run_id:
            print(_run_line(ledger.costs.get_ingestion_run(args.run_id)))
            return 0
        for run in islice(
            ledger.costs.list_ingestion_runs(page_size=min(args.limit, 1000)), args.limit
        ):
            print(_run_line(run))
    return 0


def _add_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--start", type=_time, help="charge periods starting at or after")
    parser.add_argument("--end", type=_time, help="charge periods starting before")
    parser.add_argument("--provider", default="")
    parser.add_argument("--account", default="", help="billing account id")
    parser.add_argument("--service", default="")
    parser.add_argument("--region", default="")
    parser.add_argument("--sku", default="", help="SKU or GPU type")
    parser.add_argument("--category", default="", choices=["", *CHARGE_CATEGORIES])


def register_costs_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Adds `costs ingest | list | summary | runs` to a `ledger` parser."""
    connection = connection_options()
    costs = subparsers.add_parser(
        "costs", parents=[connection], help="load billed cost records and inspect them"
    )
    commands = costs.add_subparsers(dest="costs_command", metavar="COMMAND", required=True)

    loader = commands.add_parser(
        "ingest",
        parents=[connection],
        help="load a billing export: the seed JSON, CSV or FOCUS CSV, gzip or not",
    )
    loader.add_argument("file", type=Path)
    loader.add_argument("--format", default="auto", choices=FORMATS, help="default: detected")
    loader.add_argument("--source", default="", help="name of the run's source (the file name)")
    loader.add_argument("--request-id", default=None, help="idempotency key (default: fresh)")
    loader.add_argument(
        "--batch-size", type=positive_int, default=STREAM_BATCH, help="records per message"
    )
    loader.add_argument(
        "--all-or-nothing",
        action="store_true",
        help="store nothing if any record is invalid (one call, at most 10,000 records)",
    )
    loader.add_argument(
        "--stream-timeout",
        type=float,
        default=3600.0,
        help="seconds the whole upload may take (default 3600)",
    )
    loader.set_defaults(func=ingest)

    lister = commands.add_parser("list", parents=[connection], help="cost records by period")
    _add_filters(lister)
    lister.add_argument("--as-of", type=_time, help="values as known at this time")
    lister.add_argument("--limit", type=positive_int, default=50, help="at most N records (50)")
    lister.set_defaults(func=list_records)

    summariser = commands.add_parser(
        "summary", parents=[connection], help="total, count, average, min, max per group"
    )
    summariser.add_argument("--group-by", required=True, choices=GROUP_BYS)
    _add_filters(summariser)
    summariser.set_defaults(func=summary)

    runner = commands.add_parser("runs", parents=[connection], help="ingestion runs, newest first")
    runner.add_argument("run_id", nargs="?", default="", help="show this run only")
    runner.add_argument("--limit", type=positive_int, default=20, help="at most N runs (20)")
    runner.set_defaults(func=runs)
