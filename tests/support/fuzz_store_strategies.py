"""Hypothesis strategies for StoreEstimate requests: valid ones, and hostile mutations of them."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, cast

from google.protobuf import struct_pb2
from google.protobuf.message import Message
from hypothesis import find, settings
from hypothesis import strategies as st

from ledger.v1 import estimate_pb2, money_pb2
from ledger.v1 import results_store_service_pb2 as rs
from ledger_wire.limits import MAX_MESSAGE_BYTES
from ledger_wire.money import NANO
from tests.support.fuzz_checks import describe
from tests.support.fuzz_strategies import (
    HOSTILE_FLOATS,
    HOSTILE_JSON,
    HOSTILE_MONEY,
    INT32_MAX,
    INT32_MIN,
    LABEL_KEY,
    PLANS,
    PROFILES,
    REGIONS,
    SERVICES,
    USERS,
    VALID_STRUCT,
    clean_text,
    hostile_text,
    valid_money,
)


class StoreCase:
    """A request and what the test knows of it: `valid` ones must be stored.

    A plain class, not a dataclass, so Hypothesis reports it by the short `repr` below
    rather than printing a 20,000-resource request in full.
    """

    def __init__(
        self,
        request: rs.StoreEstimateRequest,
        *,
        valid: bool,
        fresh_request_id: bool = False,
        refused_field: str | None = None,
    ) -> None:
        self.request = request
        self.valid = valid
        self.fresh_request_id = fresh_request_id
        # Set when the request breaks a documented rule for sure: it must be refused with
        # INVALID_ARGUMENT naming a field that starts with this path.
        self.refused_field = refused_field

    def __repr__(self) -> str:
        return (
            f"StoreCase(valid={self.valid}, fresh_request_id={self.fresh_request_id}, "
            f"refused_field={self.refused_field!r}, request={describe(self.request)})"
        )


def amount_of(money: money_pb2.Money) -> Decimal:
    return Decimal(money.units) + Decimal(money.nanos) * NANO


def money_of(amount: Decimal) -> money_pb2.Money:
    units, nanos = divmod(int(amount / NANO), 1_000_000_000)
    return money_pb2.Money(units=units, nanos=nanos)


def _service_costs(
    resources: Sequence[estimate_pb2.ResourceCost],
) -> list[estimate_pb2.ServiceCost]:
    sums: dict[str, Decimal] = defaultdict(Decimal)
    counts: dict[str, int] = defaultdict(int)
    for resource in resources:
        key = resource.service or "unknown"
        sums[key] += amount_of(resource.monthly_cost)
        counts[key] += 1
    return [
        estimate_pb2.ServiceCost(
            service=k, monthly_cost=money_of(sums[k]), resource_count=counts[k]
        )
        for k in sums
    ]


@st.composite
def valid_store_cases(draw: st.DrawFn) -> StoreCase:
    """Requests that follow every documented rule, aggregates included or left out."""
    currency = draw(st.sampled_from(["", "USD", "EUR"]))
    money = valid_money(["", currency or "USD"])
    addresses = draw(st.lists(clean_text(16, min_size=1), max_size=6, unique=True))
    resources = []
    for address in addresses:
        resource = estimate_pb2.ResourceCost(
            address=address,
            name=draw(clean_text(8)),
            resource_type=draw(st.sampled_from(["", "aws_instance", "aws_s3_bucket"])),
            service=draw(st.sampled_from(SERVICES)),
            region=draw(st.sampled_from(REGIONS)),
            monthly_cost=draw(money),
        )
        if draw(st.booleans()):
            resource.hourly_cost.CopyFrom(draw(money))
        if draw(st.booleans()):  # a breakdown whose parts add up to the monthly cost
            resource.breakdown.compute.units = resource.monthly_cost.units
            resource.breakdown.storage.nanos = resource.monthly_cost.nanos
            resource.breakdown.network.SetInParent()
        resource.cost_drivers.update(draw(VALID_STRUCT))
        resource.assumptions.update(draw(VALID_STRUCT))
        resources.append(resource)
    estimate = estimate_pb2.Estimate(
        currency_code=currency,
        confidence_score=draw(st.floats(0, 1)),
        by_resource=resources,
    )
    if draw(st.booleans()):
        total = sum((amount_of(r.monthly_cost) for r in resources), Decimal(0))
        estimate.total_monthly_cost.CopyFrom(money_of(total))
    if draw(st.booleans()):
        estimate.by_service.extend(draw(st.permutations(_service_costs(resources))))
    if draw(st.booleans()):
        by_region: dict[str, list[estimate_pb2.ResourceCost]] = defaultdict(list)
        for resource in resources:
            by_region[resource.region or "unknown"].append(resource)
        for region, members in by_region.items():
            entry = estimate.by_region.add(
                region=region,
                monthly_cost=money_of(
                    sum((amount_of(r.monthly_cost) for r in members), Decimal(0))
                ),
                resource_count=len(members),
            )
            if draw(st.booleans()):
                entry.services.extend(_service_costs(members))
    request = rs.StoreEstimateRequest(
        estimate=estimate,
        user_id=draw(st.sampled_from(USERS)),
        terraform_plan_hash=draw(st.sampled_from(PLANS)),
        profile=draw(st.sampled_from(PROFILES)),
        labels=draw(
            st.dictionaries(st.from_regex(LABEL_KEY, fullmatch=True), clean_text(10), max_size=4)
        ),
    )
    return StoreCase(request, valid=True, fresh_request_id=draw(st.booleans()))


Mutation = Callable[[st.DrawFn, rs.StoreEstimateRequest], None]


def _some_resource(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> estimate_pb2.ResourceCost:
    resources = request.estimate.by_resource
    if not resources:
        return resources.add(address="added", monthly_cost=money_pb2.Money(units=1))
    return resources[draw(st.integers(0, len(resources) - 1))]


def _string_slots(request: rs.StoreEstimateRequest) -> list[tuple[Message, str]]:
    estimate = request.estimate
    slots: list[tuple[Message, str]] = [
        (request, "user_id"),
        (request, "terraform_plan_hash"),
        (request, "profile"),
        (request, "request_id"),
        (estimate, "currency_code"),
    ]
    for resource in estimate.by_resource:
        for name in ("address", "name", "resource_type", "service", "region"):
            slots.append((resource, name))
        slots.append((resource.monthly_cost, "currency_code"))
    for service in estimate.by_service:
        slots.append((service, "service"))
    for region in estimate.by_region:
        slots.append((region, "region"))
        slots.extend((service, "service") for service in region.services)
    return slots


def _money_slots(request: rs.StoreEstimateRequest) -> list[tuple[Message, str]]:
    estimate = request.estimate
    slots: list[tuple[Message, str]] = [(estimate, "total_monthly_cost")]
    for resource in estimate.by_resource:
        slots += [(resource, "monthly_cost"), (resource, "hourly_cost")]
        slots += [(resource.breakdown, part) for part in ("compute", "storage", "network", "other")]
    slots += [(service, "monthly_cost") for service in estimate.by_service]
    slots += [(region, "monthly_cost") for region in estimate.by_region]
    return slots


def hostile_string(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> None:
    target, field = draw(st.sampled_from(_string_slots(request)))
    setattr(target, field, draw(hostile_text()))


def hostile_everything(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> None:
    for target, field in _string_slots(request):
        setattr(target, field, draw(hostile_text()))


def hostile_label(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> None:
    key = draw(
        st.sampled_from(["", "A", "-x", "a\n", "a\x00", "x" * 63, "x" * 64, "ключ", "a b"])
        | hostile_text()
    )
    request.labels[key] = draw(hostile_text())


def too_many_labels(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> None:
    count = draw(st.sampled_from([64, 65, 1000]))
    request.labels.update({f"k{i}": "v" for i in range(count)})


def hostile_struct(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> None:
    resource = _some_resource(draw, request)
    struct: struct_pb2.Struct = getattr(
        resource, draw(st.sampled_from(["cost_drivers", "assumptions"]))
    )
    key = draw(st.sampled_from(["", "k", "\x00", "k\x00"]) | hostile_text())
    struct.update({key: draw(HOSTILE_JSON)})


def hostile_confidence(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> None:
    request.estimate.confidence_score = draw(HOSTILE_FLOATS)


def hostile_money(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> None:
    target, field = draw(st.sampled_from(_money_slots(request)))
    getattr(target, field).CopyFrom(draw(HOSTILE_MONEY))


def missing_monthly_cost(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> None:
    _some_resource(draw, request).ClearField("monthly_cost")


def duplicate_address(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> None:
    original = _some_resource(draw, request)
    copy = request.estimate.by_resource.add()
    copy.CopyFrom(original)
    if draw(st.booleans()):
        copy.monthly_cost.units += 1


def mismatched_aggregates(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> None:
    estimate = request.estimate
    entries = st.builds(
        estimate_pb2.ServiceCost,
        service=st.sampled_from(SERVICES) | hostile_text(),
        monthly_cost=HOSTILE_MONEY | valid_money([""]),
        resource_count=st.integers(INT32_MIN, INT32_MAX) | st.integers(0, 3),
    )
    choice = draw(st.sampled_from(["total", "services", "regions"]))
    if choice == "total":
        estimate.total_monthly_cost.CopyFrom(draw(valid_money(["", "USD"])))
    elif choice == "services":
        estimate.by_service.extend(draw(st.lists(entries, min_size=1, max_size=4)))
    else:
        for _ in range(draw(st.integers(1, 3))):
            entry = estimate.by_region.add(
                region=draw(st.sampled_from(REGIONS) | hostile_text()),
                monthly_cost=draw(valid_money([""])),
                resource_count=draw(st.integers(-1, 3)),
            )
            entry.services.extend(draw(st.lists(entries, max_size=3)))


def many_resources(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> None:
    count = draw(st.sampled_from([10_000, 10_001, 20_000]))
    # Each flavour but "unique" gives every resource its own field violation.
    flavour = draw(st.sampled_from(["unique", "duplicate", "nul", "negative"]))
    request.estimate.ClearField("by_resource")
    request.estimate.ClearField("total_monthly_cost")
    request.estimate.ClearField("by_service")
    request.estimate.ClearField("by_region")
    request.estimate.by_resource.extend(
        estimate_pb2.ResourceCost(
            address="aws_instance.same" if flavour == "duplicate" else f"aws_instance.fleet[{i}]",
            service="EC2\x00" if flavour == "nul" else SERVICES[i % 3],
            monthly_cost=money_pb2.Money(units=-1 if flavour == "negative" else i % 100, nanos=0),
        )
        for i in range(count)
    )


def broken_breakdown(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> None:
    resource = _some_resource(draw, request)
    part = draw(st.sampled_from(["compute", "storage", "network", "other"]))
    getattr(resource.breakdown, part).CopyFrom(draw(valid_money(["", "USD"]) | HOSTILE_MONEY))


def no_estimate(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> None:
    request.ClearField("estimate")


def oversize(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> None:
    request.user_id = "x" * (MAX_MESSAGE_BYTES + 1)


MUTATIONS: list[Mutation] = [
    hostile_string,
    hostile_string,
    hostile_everything,
    hostile_label,
    too_many_labels,
    hostile_struct,
    hostile_confidence,
    hostile_money,
    missing_monthly_cost,
    duplicate_address,
    mismatched_aggregates,
    many_resources,
    broken_breakdown,
    no_estimate,
    oversize,
]


@st.composite
def hostile_store_cases(draw: st.DrawFn) -> StoreCase:
    case = draw(valid_store_cases())
    for mutation in draw(st.lists(st.sampled_from(MUTATIONS), min_size=1, max_size=3)):
        mutation(draw, case.request)
    return StoreCase(case.request, valid=False, fresh_request_id=case.fresh_request_id)


# --- requests that break exactly one documented rule, and the field that must be named --

Refusal = Callable[[st.DrawFn, rs.StoreEstimateRequest], str]
# Text fields and their documented limits (characters).
_TEXT_LIMITS = {"user_id": 256, "terraform_plan_hash": 256, "profile": 64, "request_id": 128}
_RESOURCE_TEXT_LIMITS = {
    "address": 1024,
    "name": 1024,
    "resource_type": 256,
    "service": 256,
    "region": 256,
}


def _resource_index(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> int:
    resources = request.estimate.by_resource
    if not resources:
        resources.add(address="added", monthly_cost=money_pb2.Money(units=1))
    return draw(st.integers(0, len(resources) - 1))


def _bad_text(draw: st.DrawFn, limit: int) -> str:
    return draw(
        st.sampled_from(["x" * (limit + 1), "é" * (limit + 1)])
        | st.builds(lambda a, b: f"{a}\x00{b}", clean_text(4), clean_text(4))
    )


def refuse_text(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> str:
    name = draw(st.sampled_from(sorted(_TEXT_LIMITS)))
    setattr(request, name, _bad_text(draw, _TEXT_LIMITS[name]))
    return name


def refuse_resource_text(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> str:
    index = _resource_index(draw, request)
    name = draw(st.sampled_from(sorted(_RESOURCE_TEXT_LIMITS)))
    setattr(request.estimate.by_resource[index], name, _bad_text(draw, _RESOURCE_TEXT_LIMITS[name]))
    return f"estimate.by_resource[{index}].{name}"


def refuse_label(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> str:
    if draw(st.booleans()):
        key = draw(st.sampled_from(["", "A", "-x", "a b", "a\n", "x" * 64, "ключ", "_x"]))
        request.labels[key] = "v"
    else:
        request.labels["team"] = draw(st.sampled_from(["v" * 257, "a\x00b"]))
    return "labels["


def refuse_label_count(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> str:
    request.labels.update({f"zz-{i}": "v" for i in range(65)})
    return "labels"


def refuse_currency(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> str:
    request.estimate.currency_code = draw(st.sampled_from(["usd", "US", "USDX", "U\x00D", "$"]))
    return "estimate.currency_code"


def refuse_confidence(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> str:
    request.estimate.confidence_score = draw(
        st.sampled_from([math.nan, math.inf, -math.inf, -0.001, 1.001, 2.0])
    )
    return "estimate.confidence_score"


# (units, nanos, currency) -> the suffix of the field that must be named.
_BAD_AMOUNTS = [
    ((-1, 0, ""), ""),
    ((0, -1, ""), ""),
    ((10**12 + 1, 0, ""), ""),
    ((1, 1_000_000_000, ""), ".nanos"),
    ((1, -1, ""), ".nanos"),
    ((-1, 1, ""), ".nanos"),
    ((1, 0, "JPY"), ".currency_code"),
]


def refuse_amount(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> str:
    index = _resource_index(draw, request)
    (units, nanos, currency), suffix = draw(st.sampled_from(_BAD_AMOUNTS))
    field = draw(st.sampled_from(["monthly_cost", "hourly_cost"]))
    bad = money_pb2.Money(units=units, nanos=nanos, currency_code=currency)
    getattr(request.estimate.by_resource[index], field).CopyFrom(bad)
    return f"estimate.by_resource[{index}].{field}{suffix}"


def refuse_missing_amount(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> str:
    index = _resource_index(draw, request)
    request.estimate.by_resource[index].ClearField("monthly_cost")
    return f"estimate.by_resource[{index}].monthly_cost"


def refuse_duplicate(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> str:
    index = _resource_index(draw, request)
    resources = request.estimate.by_resource
    resources.add().CopyFrom(resources[index])
    return f"estimate.by_resource[{len(resources) - 1}].address"


def refuse_struct(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> str:
    index = _resource_index(draw, request)
    name = draw(st.sampled_from(["cost_drivers", "assumptions"]))
    value = draw(
        st.sampled_from(
            [
                {"k": math.nan},
                {"k": [math.inf]},
                {"k\x00": 1.0},
                {"k": "a\x00"},
                {"k": "x" * 70_000},
            ]
        )
    )
    getattr(request.estimate.by_resource[index], name).update(value)
    return f"estimate.by_resource[{index}].{name}"


def refuse_no_estimate(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> str:
    request.ClearField("estimate")
    return "estimate"


def refuse_too_many(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> str:
    request.estimate.ClearField("by_resource")
    for name in ("total_monthly_cost", "by_service", "by_region"):
        request.estimate.ClearField(name)
    request.estimate.by_resource.extend(
        estimate_pb2.ResourceCost(address=f"r{i}", monthly_cost=money_pb2.Money(units=1))
        for i in range(10_001)
    )
    return "estimate.by_resource"


def _nano() -> money_pb2.Money:
    return money_pb2.Money(nanos=1)


def refuse_total(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> str:
    total = sum((amount_of(r.monthly_cost) for r in request.estimate.by_resource), Decimal(0))
    request.estimate.total_monthly_cost.CopyFrom(money_of(total + amount_of(_nano())))
    return "estimate.total_monthly_cost"


def refuse_service_total(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> str:
    _resource_index(draw, request)
    estimate = request.estimate
    estimate.ClearField("by_service")
    estimate.by_service.extend(_service_costs(estimate.by_resource))
    index = draw(st.integers(0, len(estimate.by_service) - 1))
    wrong = amount_of(estimate.by_service[index].monthly_cost) + amount_of(_nano())
    estimate.by_service[index].monthly_cost.CopyFrom(money_of(wrong))
    return f"estimate.by_service[{index}].monthly_cost"


def refuse_region_services(draw: st.DrawFn, request: rs.StoreEstimateRequest) -> str:
    """A region whose per-service split does not add up (its own total does)."""
    _resource_index(draw, request)
    estimate = request.estimate
    estimate.ClearField("by_region")
    by_region: dict[str, list[estimate_pb2.ResourceCost]] = defaultdict(list)
    for resource in estimate.by_resource:
        by_region[resource.region or "unknown"].append(resource)
    for region, members in by_region.items():
        estimate.by_region.add(
            region=region,
            monthly_cost=money_of(sum((amount_of(r.monthly_cost) for r in members), Decimal(0))),
            resource_count=len(members),
            services=_service_costs(members),
        )
    index = draw(st.integers(0, len(estimate.by_region) - 1))
    services = estimate.by_region[index].services
    which = draw(st.integers(0, len(services) - 1))
    if draw(st.booleans()):
        wrong = amount_of(services[which].monthly_cost) + amount_of(_nano())
        services[which].monthly_cost.CopyFrom(money_of(wrong))
        return f"estimate.by_region[{index}].services[{which}].monthly_cost"
    services[which].resource_count += 1
    return f"estimate.by_region[{index}].services[{which}].resource_count"


REFUSALS: list[Refusal] = [
    refuse_text,
    refuse_resource_text,
    refuse_label,
    refuse_label_count,
    refuse_currency,
    refuse_confidence,
    refuse_amount,
    refuse_missing_amount,
    refuse_duplicate,
    refuse_struct,
    refuse_no_estimate,
    refuse_too_many,
    refuse_total,
    refuse_service_total,
    refuse_region_services,
]


def _simplest(strategy: st.SearchStrategy[Any]) -> Any:
    """What a strategy draws first: its simplest value, the same on every run."""
    return find(strategy, lambda _: True, settings=settings(database=None))


def refused_example(refusal: Refusal) -> StoreCase:
    """A fixed request breaking `refusal`'s rule, so every fixed run checks every rule."""
    request = rs.StoreEstimateRequest(user_id="fuzz-refused", labels={"team": "fuzz"})
    for address, service, region, units in (
        ("aws_instance.web", "AmazonEC2", "us-east-1", 10),
        ("aws_s3_bucket.logs", "AmazonS3", "us-east-1", 5),
        ("aws_instance.eu", "AmazonEC2", "eu-west-1", 7),
    ):
        request.estimate.by_resource.add(
            address=address,
            service=service,
            region=region,
            monthly_cost=money_pb2.Money(units=units, nanos=5),
        )
    simplest = cast(st.DrawFn, _simplest)  # a draw that always takes the simplest value
    return StoreCase(request, valid=False, refused_field=refusal(simplest, request))


@st.composite
def refused_store_cases(draw: st.DrawFn) -> StoreCase:
    """A valid request with one documented rule broken: it must be refused, naming why."""
    case = draw(valid_store_cases())
    field = draw(st.sampled_from(REFUSALS))(draw, case.request)
    return StoreCase(
        case.request,
        valid=False,
        fresh_request_id=case.fresh_request_id and field != "request_id",
        refused_field=field,
    )


STORE_CASES = st.one_of(
    valid_store_cases(),
    hostile_store_cases(),
    hostile_store_cases(),
    refused_store_cases(),
    refused_store_cases(),
    st.just(StoreCase(rs.StoreEstimateRequest(), valid=False, refused_field="estimate")),
)


def big_request(count: int, address: Callable[[int], str]) -> StoreCase:
    request = rs.StoreEstimateRequest()
    request.estimate.by_resource.extend(
        estimate_pb2.ResourceCost(address=address(i), monthly_cost=money_pb2.Money(units=1))
        for i in range(count)
    )
    return StoreCase(request, valid=False)


def small_request(
    *, labels: dict[str, str] | None = None, duplicates: int = 0, by_service_name: str = ""
) -> StoreCase:
    """One resource, plus: labels, copies of its address, or a by_service entry."""
    request = rs.StoreEstimateRequest(labels=labels or {})
    for _ in range(1 + duplicates):
        request.estimate.by_resource.add(address="aws_instance.web", monthly_cost={"units": 1})
    if by_service_name:
        request.estimate.by_service.add(service=by_service_name, monthly_cost={"units": 1})
    return StoreCase(request, valid=False)
