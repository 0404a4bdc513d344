"""Text the `results` CLI prints: exact amounts, never rounded."""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import Decimal

from ledger_client.types import (
    Job,
    JobComparison,
    RegionCost,
    ResourceCost,
    ResourceDiff,
    ServiceCost,
)

_CENT = Decimal("0.01")
_CHANGE_MARKS = {"ADDED": "+", "REMOVED": "-", "CHANGED": "~"}


def money(amount: Decimal, currency: str, *, signed: bool = False) -> str:
    """`1303.28 USD`: at least two decimals, all the digits the amount has."""
    in_cents = amount.quantize(_CENT)
    # Only shown in cents when that loses nothing; otherwise every digit is kept.
    shown = in_cents if in_cents == amount else amount
    text = f"{shown:+f}" if signed else f"{shown:f}"
    return f"{text} {currency}".rstrip()


def _count(resources: int) -> str:
    return f"{resources} resource" if resources == 1 else f"{resources} resources"


def job_summary_json(job: Job) -> str:
    return json.dumps(
        {
            "job_id": job.job_id,
            "status": job.status,
            "create_time": job.create_time.isoformat(),
            "total_monthly_cost": money(job.total_monthly_cost, job.currency_code),
            "total_hourly_cost": money(job.total_hourly_cost, job.currency_code),
            "resource_count": job.resource_count,
            "user_id": job.user_id,
            "profile": job.profile,
            "terraform_plan_hash": job.terraform_plan_hash,
            "labels": dict(job.labels),
        },
        indent=2,
    )


def job_line(job: Job) -> str:
    stored = job.create_time.strftime("%Y-%m-%d %H:%M:%SZ")
    return (
        f"{job.job_id}  {stored}  {money(job.total_monthly_cost, job.currency_code):>18}  "
        f"{_count(job.resource_count):>14}  user={job.user_id or '-'}  "
        f"profile={job.profile or '-'}"
    )


def job_details(
    job: Job,
    services: Iterable[ServiceCost],
    regions: Iterable[RegionCost],
    top_resources: Iterable[ResourceCost],
) -> str:
    currency = job.currency_code
    labels = ", ".join(f"{key}={value}" for key, value in sorted(job.labels.items()))
    lines = [
        f"Job {job.job_id}  {job.status}  stored {job.create_time.isoformat()}",
        f"  user: {job.user_id or '-'}  profile: {job.profile or '-'}  "
        f"plan: {job.terraform_plan_hash or '-'}  labels: {labels or '-'}",
        f"  total: {money(job.total_monthly_cost, currency)}/month  "
        f"({money(job.total_hourly_cost, currency)}/hour), {_count(job.resource_count)}",
        "",
        "Services",
    ]
    lines += [
        f"  {s.service:<32} {money(s.monthly_cost, currency):>20}  ({s.resource_count})"
        for s in services
    ]
    lines += ["", "Regions"]
    for region in regions:
        lines.append(
            f"  {region.region:<32} {money(region.monthly_cost, currency):>20}"
            f"  ({region.resource_count})"
        )
        lines += [
            f"    {s.service:<30} {money(s.monthly_cost, currency):>20}" for s in region.services
        ]
    lines += ["", "Top resources"]
    lines += [
        f"  {r.address:<48} {money(r.monthly_cost, currency):>20}  {r.service or '-'}"
        f"  {r.region or '-'}"
        for r in top_resources
    ]
    return "\n".join(lines)


def _diff_line(diff: ResourceDiff, currency: str) -> str:
    mark = _CHANGE_MARKS.get(diff.change, "?")
    return (
        f"{mark} {diff.address:<48} {money(diff.delta, currency, signed=True):>20}"
        f"  ({money(diff.base_monthly_cost, currency)} -> "
        f"{money(diff.target_monthly_cost, currency)})"
    )


def comparison(result: JobComparison) -> str:
    currency = result.currency_code
    if result.percentage_change is None:
        percent = "n/a: the base costs nothing"
    else:
        percent = f"{result.percentage_change:+.2f}%"
    lines = [
        f"Base    {result.base.job_id}  {money(result.base.total_monthly_cost, currency)}",
        f"Target  {result.target.job_id}  {money(result.target.total_monthly_cost, currency)}",
        f"Delta   {money(result.delta, currency, signed=True)}  ({percent})",
    ]
    if result.resource_diffs:
        lines += ["", "Resources"]
        lines += [_diff_line(diff, currency) for diff in result.resource_diffs]
        hidden = result.resource_diff_count - len(result.resource_diffs)
        if hidden > 0:
            lines.append(f"  ... and {hidden} more changed resources")
    else:
        lines += ["", "No resource changed."]
    for title, deltas in (("Services", result.service_deltas), ("Regions", result.region_deltas)):
        if deltas:
            lines += ["", title]
            lines += [
                f"  {d.key:<32} {money(d.delta, currency, signed=True):>20}"
                f"  ({money(d.base_monthly_cost, currency)} -> "
                f"{money(d.target_monthly_cost, currency)})"
                for d in deltas
            ]
    return "\n".join(lines)
