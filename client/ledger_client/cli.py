"""`results` subcommands for the `ledger` command line: import and inspect estimates.

The top-level parser (server/ledger_server/cli.py) owns the program; this module only
adds a command group to it. Connection options may be given before or after
`results`; values given here win, and absent ones fall back to the top level, then
to LEDGER_API_KEY and the SDK defaults.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from collections.abc import Callable
from itertools import islice
from pathlib import Path

from ledger_client import cli_format
from ledger_client.client import Client
from ledger_client.connection import DEFAULT_TARGET, DEFAULT_TIMEOUT
from ledger_client.errors import LedgerError
from ledger_client.infracost import InfracostFormatError, estimate_from_infracost

Handler = Callable[[argparse.Namespace], int]


def _label(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _connection_options() -> argparse.ArgumentParser:
    # SUPPRESS: an option not given here must not hide the top-level parser's value.
    options = argparse.ArgumentParser(add_help=False)
    group = options.add_argument_group("connection")
    group.add_argument("--target", default=argparse.SUPPRESS, help=f"default {DEFAULT_TARGET}")
    group.add_argument(
        "--api-key", default=argparse.SUPPRESS, help="default: $LEDGER_API_KEY, else none"
    )
    group.add_argument(
        "--timeout",
        type=float,
        default=argparse.SUPPRESS,
        help=f"seconds per call, default {DEFAULT_TIMEOUT:g}",
    )
    return options


def _client(args: argparse.Namespace) -> Client:
    return Client(
        target=getattr(args, "target", None) or DEFAULT_TARGET,
        api_key=getattr(args, "api_key", None) or os.environ.get("LEDGER_API_KEY") or None,
        timeout=getattr(args, "timeout", None) or DEFAULT_TIMEOUT,
    )


def _reporting_errors(handler: Handler) -> Handler:
    """Turns expected failures into `error: ...` on stderr and exit code 1."""

    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except LedgerError as err:
            print(f"error: {err.message} ({err.reason})", file=sys.stderr)
            for violation in err.field_violations:
                print(f"  {violation.field}: {violation.description}", file=sys.stderr)
        except json.JSONDecodeError as err:
            print(f"error: {args.file} is not JSON: {err}", file=sys.stderr)
        except (InfracostFormatError, OSError, ValueError) as err:
            print(f"error: {err}", file=sys.stderr)
        return 1

    return run


@_reporting_errors
def import_infracost(args: argparse.Namespace) -> int:
    path: Path = args.file
    document = json.loads(path.read_text(encoding="utf-8"))
    estimate = estimate_from_infracost(document, default_region=args.region)
    with _client(args) as ledger:
        job = ledger.results.store_estimate(
            estimate,
            user_id=args.user,
            profile=args.profile,
            terraform_plan_hash=args.plan_hash,
            labels=dict(args.label),
        )
    print(cli_format.job_summary_json(job))
    return 0


@_reporting_errors
def show_job(args: argparse.Namespace) -> int:
    with _client(args) as ledger:
        job = ledger.results.get_job(args.job_id)
        services = list(ledger.results.list_job_services(job.job_id))
        regions = list(ledger.results.list_job_regions(job.job_id))
        top = list(islice(ledger.results.list_job_resources(job.job_id, page_size=10), 10))
    print(cli_format.job_details(job, services, regions, top))
    return 0


@_reporting_errors
def list_jobs(args: argparse.Namespace) -> int:
    with _client(args) as ledger:
        jobs = ledger.results.list_jobs(
            user_id=args.user,
            profile=args.profile,
            terraform_plan_hash=args.plan_hash,
            page_size=min(args.limit, 1000),
        )
        shown = 0
        for job in islice(jobs, args.limit):
            print(cli_format.job_line(job))
            shown += 1
    if not shown:
        print("No jobs match.", file=sys.stderr)  # stdout stays clean for scripts
    return 0


@_reporting_errors
def compare_jobs(args: argparse.Namespace) -> int:
    with _client(args) as ledger:
        result = ledger.results.compare_jobs(args.base_job_id, args.target_job_id)
    print(cli_format.comparison(result))
    return 0


def register_results_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Adds `results import-infracost | show | list | compare` to a `ledger` parser."""
    connection = _connection_options()
    results = subparsers.add_parser(
        "results", parents=[connection], help="store and inspect cost estimates"
    )
    commands = results.add_subparsers(dest="results_command", metavar="COMMAND", required=True)

    importer = commands.add_parser(
        "import-infracost",
        parents=[connection],
        help="store the output of `infracost breakdown --format json` as a job",
    )
    importer.add_argument("file", type=Path, help="Infracost JSON file")
    importer.add_argument("--user", default="", help="who the estimate is for")
    importer.add_argument("--profile", default="", help="usage profile, e.g. prod")
    importer.add_argument("--plan-hash", default="", help="hash of the priced Terraform plan")
    importer.add_argument(
        "--label",
        type=_label,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a label to store with the job (repeatable)",
    )
    importer.add_argument("--region", default="", help="region of resources whose file names none")
    importer.set_defaults(func=import_infracost)

    show = commands.add_parser(
        "show", parents=[connection], help="a job with its services, regions, top resources"
    )
    show.add_argument("job_id")
    show.set_defaults(func=show_job)

    lister = commands.add_parser("list", parents=[connection], help="jobs, newest first")
    lister.add_argument("--user", default="", help="only this user's jobs")
    lister.add_argument("--profile", default="", help="only jobs with this profile")
    lister.add_argument("--plan-hash", default="", help="only jobs of this plan hash")
    lister.add_argument("--limit", type=_positive_int, default=20, help="at most N jobs (20)")
    lister.set_defaults(func=list_jobs)

    comparer = commands.add_parser(
        "compare", parents=[connection], help="how two jobs differ, like `infracost diff`"
    )
    comparer.add_argument("base_job_id")
    comparer.add_argument("target_job_id")
    comparer.set_defaults(func=compare_jobs)
