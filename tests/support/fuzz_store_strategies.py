"""Hypothesis strategies for StoreEstimate requests: valid ones, and hostile mutations of them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from decimal import Decimal

from google.protobuf import struct_pb2
from google.protobuf.message import Message
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
        self, request: rs.StoreEstimateRequest, *, valid: bool, fresh_request_id: bool = False
    ) -> None:
        self.request = request
        self.valid = valid
        self.fresh_request_id = fresh_request_id

    def __repr__(self) -> str:
        return (
            f"StoreCase(valid={self.valid}, fresh_request_id={self.fresh_request_id}, "
            f"request={describe(self.request)})"
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


STORE_CASES = st.one_of(
    valid_store_cases(),
    hostile_store_cases(),
    hostile_store_cases(),
    st.just(StoreCase(rs.StoreEstimateRequest(), valid=False)),
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
