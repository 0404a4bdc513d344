"""`results` subcommands for the `ledger` command line: import and inspect estimates.

The top-level parser (server/ledger_server/cli.py) owns the program; this module only
adds the command group of `ledger.results` to it. What every group shares (the
connection options, the client, error reporting) lives in `cli_common`.
"""

from __future__ import annotations

import argparse
import json
import sys
from itertools import islice
from pathlib import Path

from ledger_client import cli_format
from ledger_client.cli_common import (
    connection_options,
    open_client,
    positive_int,
    reporting_errors,
)
from ledger_client.infracost import estimate_from_infracost


def _label(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


@reporting_errors
def import_infracost(args: argparse.Namespace) -> int:
    path: Path = args.file
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not JSON: {err}") from err
    estimate = estimate_from_infracost(document, default_region=args.region)
    with open_client(args) as ledger:
        job = ledger.results.store_estimate(
            estimate,
            user_id=args.user,
            profile=args.profile,
            terraform_plan_hash=args.plan_hash,
            labels=dict(args.label),
        )
    print(cli_format.job_summary_json(job))
    return 0


@reporting_errors
def show_job(args: argparse.Namespace) -> int:
    with open_client(args) as ledger:
        job = ledger.results.get_job(args.job_id)
        services = list(ledger.results.list_job_services(job.job_id))
        regions = list(ledger.results.list_job_regions(job.job_id))
        top = list(islice(ledger.results.list_job_resources(job.job_id, page_size=10), 10))
    print(cli_format.job_details(job, services, regions, top))
    return 0


@reporting_errors
def list_jobs(args: argparse.Namespace) -> int:
    with open_client(args) as ledger:
        jobs = ledger.results.list_jobs(
            user_id=args.user,
            profile=args.profile,
            terraform_plan_hash=args.plan_hash,
            order_by=args.order_by,
            page_size=min(args.limit, 1000),
        )
        shown = 0
        for job in islice(jobs, args.limit):
            print(cli_format.job_line(job))
            shown += 1
    if not shown:
        print("No jobs match.", file=sys.stderr)  # stdout stays clean for scripts
    return 0


@reporting_errors
def compare_jobs(args: argparse.Namespace) -> int:
    with open_client(args) as ledger:
        result = ledger.results.compare_jobs(args.base_job_id, args.target_job_id)
    print(cli_format.comparison(result))
    return 0


def register_results_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Adds `results import-infracost | show | list | compare` to a `ledger` parser."""
    connection = connection_options()
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
    lister.add_argument("--limit", type=positive_int, default=20, help="at most N jobs (20)")
    lister.add_argument(
        "--order-by",
        default="",
        choices=[
            "create_time desc",
            "create_time asc",
            "total_monthly_cost desc",
            "total_monthly_cost asc",
        ],
        help="newest first unless told otherwise; cost orders take no time range",
    )
    lister.set_defaults(func=list_jobs)

    comparer = commands.add_parser(
        "compare", parents=[connection], help="how two jobs differ, like `infracost diff`"
    )
    comparer.add_argument("base_job_id")
    comparer.add_argument("target_job_id")
    comparer.set_defaults(func=compare_jobs)
