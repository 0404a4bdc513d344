"""The benchmark's workload: estimates, the requests that carry them, the rows they become.

One estimate spec feeds both sides of the comparison: `request_body` is what S sends to
StoreEstimate; `estimate_rows` is what baseline A5 writes with bare psycopg2, and
`new_job` is what baseline A1 renders with the server's own statements. Deriving all of
them from the same spec is what makes S/A compare like with like.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ledger.v1 import estimate_pb2, money_pb2
from ledger.v1 import results_store_service_pb2 as rs
from ledger_server.domain.results_store.estimate_rules import prepare_new_job
from ledger_server.domain.results_store.estimates import NewJob
from ledger_server.rpc.results_store.convert import store_estimate_command

SERVICES = (
    ("AmazonEC2", "aws_instance", ("m5.large", "c6i.xlarge", "t3.medium")),
    ("AmazonRDS", "aws_db_instance", ("db.r6g.large", "db.t3.medium")),
    ("AmazonS3", "aws_s3_bucket", ("STANDARD", "STANDARD_IA")),
    ("AWSLambda", "aws_lambda_function", ("arm64", "x86_64")),
    ("AmazonElastiCache", "aws_elasticache_cluster", ("cache.m6g.large", "cache.t3.small")),
)
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
NANOS = 1_000_000_000


@dataclass(frozen=True)
class ResourceSpec:
    address: str
    name: str
    resource_type: str
    service: str
    region: str
    monthly: int  # all amounts in nanos (10^-9 USD), so every sum is exact
    hourly: int
    compute: int
    storage: int
    cost_drivers: dict[str, Any]


@dataclass(frozen=True)
class EstimateSpec:
    user_id: str
    profile: str
    labels: dict[str, str]
    confidence: float
    resources: tuple[ResourceSpec, ...]


def dec(nanos: int) -> Decimal:
    return Decimal(nanos).scaleb(-9)


def money(nanos: int) -> money_pb2.Money:
    units, rest = divmod(nanos, NANOS)
    return money_pb2.Money(units=units, nanos=rest)


def make_estimate(rng: random.Random, index: int, resources: int) -> EstimateSpec:
    """An Infracost-like estimate: services x regions spread, amounts with nanos."""
    items = []
    for i in range(resources):
        service, resource_type, kinds = SERVICES[i % len(SERVICES)]
        region = REGIONS[i % len(REGIONS)]
        monthly = rng.randint(1_000, 900_000) * 1_000_000  # $1.000 .. $900.000
        storage = monthly * rng.randint(0, 40) // 100 // 10_000_000 * 10_000_000  # cents
        items.append(
            ResourceSpec(
                address=f"module.app{index % 7}.{resource_type}.r{i}",
                name=f"{resource_type}.r{i}",
                resource_type=resource_type,
                service=service,
                region=region,
                monthly=monthly,
                hourly=monthly // 730,
                compute=monthly - storage,
                storage=storage,
                cost_drivers={
                    "instance_type": rng.choice(kinds),
                    "storage_gb": float(rng.choice((20, 50, 100, 500))),
                },
            )
        )
    return EstimateSpec(
        user_id=f"bench-user-{index % 8}",
        profile="prod",
        labels={"team": "platform", "env": "prod"},
        confidence=round(rng.uniform(0.6, 0.99), 3),
        resources=tuple(items),
    )


def request_body(spec: EstimateSpec) -> bytes:
    """A serialized StoreEstimateRequest without terraform_plan_hash and request_id (both
    added per call)."""
    estimate = estimate_pb2.Estimate(currency_code="USD", confidence_score=spec.confidence)
    for r in spec.resources:
        item = estimate.by_resource.add(
            address=r.address,
            name=r.name,
            resource_type=r.resource_type,
            service=r.service,
            region=r.region,
            monthly_cost=money(r.monthly),
            hourly_cost=money(r.hourly),
            breakdown=estimate_pb2.CostBreakdown(
                compute=money(r.compute), storage=money(r.storage)
            ),
        )
        item.cost_drivers.update(r.cost_drivers)
    request = rs.StoreEstimateRequest(
        estimate=estimate, user_id=spec.user_id, profile=spec.profile, labels=spec.labels
    )
    return request.SerializeToString()


def unique_request(body: bytes, plan_hash: str, request_id: str) -> bytes:
    """The request as the SDK sends it: unique, and with a `request_id` (the SDK always
    fills one in, so the server fingerprints the request and claims the id every time)."""
    # Serialized protobuf messages merge when concatenated: appending fields 3 and 6 makes
    # each request unique at the cost of a few bytes, with no per-call re-serialisation.
    tail = rs.StoreEstimateRequest(terraform_plan_hash=plan_hash, request_id=request_id)
    return body + tail.SerializeToString()


def new_job(body: bytes, plan_hash: str) -> NewJob:
    """The job the server would write for `body`, computed by the server's own code."""
    request = rs.StoreEstimateRequest.FromString(body)
    request.terraform_plan_hash = plan_hash
    return prepare_new_job(store_estimate_command(request))


@dataclass(frozen=True)
class EstimateRows:
    """The rows the server writes for one estimate, minus job_id and plan hash."""

    job: tuple[Any, ...]
    resources: list[tuple[Any, ...]]
    services: list[tuple[Any, ...]]
    regions: list[tuple[Any, ...]]
    region_services: list[tuple[Any, ...]]


def estimate_rows(spec: EstimateSpec) -> EstimateRows:
    """Derives the aggregates like the server: grouped by service, region, region+service."""
    services: dict[str, list[int]] = {}
    regions: dict[str, list[int]] = {}
    region_services: dict[tuple[str, str], list[int]] = {}

    def add(groups: dict[Any, list[int]], key: Any, amount: int) -> None:
        total = groups.setdefault(key, [0, 0])
        total[0] += amount
        total[1] += 1

    for r in spec.resources:
        add(services, r.service, r.monthly)
        add(regions, r.region, r.monthly)
        add(region_services, (r.region, r.service), r.monthly)
    empty = json.dumps({})
    return EstimateRows(
        job=(
            spec.user_id,
            spec.profile,
            json.dumps(spec.labels),
            "USD",
            dec(sum(r.monthly for r in spec.resources)),
            dec(sum(r.hourly for r in spec.resources)),
            spec.confidence,
            len(spec.resources),
            1,
            "COMPLETED",
        ),
        resources=[
            (
                position,
                r.address,
                r.name,
                r.resource_type,
                r.service,
                r.region,
                dec(r.monthly),
                dec(r.hourly),
                dec(r.compute),
                dec(r.storage),
                dec(0),
                dec(0),
                json.dumps(r.cost_drivers),
                empty,
            )
            for position, r in enumerate(spec.resources)
        ],
        services=[(k, dec(v[0]), v[1]) for k, v in services.items()],
        regions=[(k, dec(v[0]), v[1]) for k, v in regions.items()],
        region_services=[(k[0], k[1], dec(v[0]), v[1]) for k, v in region_services.items()],
    )
