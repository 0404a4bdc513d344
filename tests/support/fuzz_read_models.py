"""What the read RPCs must answer, worked out from what the fuzz seeded, not asked of them.

The seeded jobs' requests are known, so their aggregates, their resources in order and
the status a job reference must get are computed here independently of the server; the
read fuzzers compare the server's answers with these.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import grpc

from ledger.v1 import money_pb2
from ledger.v1 import results_store_service_pb2 as rs
from tests.support.fuzz_read_strategies import JobRef

UNKNOWN = "unknown"
# The one accepted spelling of a job id (either case): anything else is INVALID_ARGUMENT.
CANONICAL_UUID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)


def amount(money: money_pb2.Money) -> Decimal:
    return Decimal(money.units) + Decimal(money.nanos).scaleb(-9)


def job_status(ref: JobRef) -> tuple[grpc.StatusCode, str | None]:
    """The status a read of `ref` must get, and which seeded job it names when found."""
    kind, value = ref
    if kind in ("seed", "upper"):
        return grpc.StatusCode.OK, value
    if kind == "text" and CANONICAL_UUID.fullmatch(value):
        return grpc.StatusCode.NOT_FOUND, None  # well-formed, never stored
    return grpc.StatusCode.INVALID_ARGUMENT, None


def compare_status(
    base: JobRef, target: JobRef, currencies: dict[str, str]
) -> tuple[grpc.StatusCode, tuple[str, str] | None]:
    """CompareJobs: ids checked first, then existence, then one currency."""
    base_code, base_name = job_status(base)
    target_code, target_name = job_status(target)
    for code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND):
        if code in (base_code, target_code):
            return code, None
    assert base_name is not None and target_name is not None
    if currencies[base_name] != currencies[target_name]:
        return grpc.StatusCode.FAILED_PRECONDITION, None
    return grpc.StatusCode.OK, (base_name, target_name)


Row = tuple[Any, ...]


def resources(request: rs.StoreEstimateRequest, service: str, region: str) -> list[Row]:
    """(address, amount, service, region), most expensive first, ties in request order."""
    rows = []
    for position, resource in enumerate(request.estimate.by_resource):
        row = (
            resource.address,
            amount(resource.monthly_cost),
            resource.service or UNKNOWN,
            resource.region or UNKNOWN,
        )
        if (not service or row[2] == service) and (not region or row[3] == region):
            rows.append((position, row))
    rows.sort(key=lambda item: (-item[1][1], item[0]))
    return [row for _, row in rows]


def _totals(pairs: Iterable[tuple[str, Decimal]]) -> list[Row]:
    sums: dict[str, Decimal] = defaultdict(Decimal)
    counts: dict[str, int] = defaultdict(int)
    for key, value in pairs:
        sums[key] += value
        counts[key] += 1
    return sorted(((k, sums[k], counts[k]) for k in sums), key=lambda t: (-t[1], t[0]))


def services(request: rs.StoreEstimateRequest) -> list[Row]:
    """(service, amount, count), most expensive first, ties by name."""
    rows = resources(request, "", "")
    return _totals((row[2], row[1]) for row in rows)


def regions(request: rs.StoreEstimateRequest) -> list[Row]:
    """(region, amount, count, ((service, amount, count), ...)) like ListJobRegions."""
    rows = resources(request, "", "")
    return [
        (region, total, count, tuple(_totals((r[2], r[1]) for r in rows if r[3] == region)))
        for region, total, count in _totals((row[3], row[1]) for row in rows)
    ]


def resource_rows(items: Sequence[Any]) -> list[Row]:
    return [(r.address, amount(r.monthly_cost), r.service, r.region) for r in items]


def service_rows(items: Sequence[Any]) -> list[Row]:
    return [(s.service, amount(s.monthly_cost), s.resource_count) for s in items]


def region_rows(items: Sequence[Any]) -> list[Row]:
    return [
        (r.region, amount(r.monthly_cost), r.resource_count, tuple(service_rows(r.services)))
        for r in items
    ]


def page_limit(requested: int, default: int) -> int:
    return min(requested or default, 1000)
