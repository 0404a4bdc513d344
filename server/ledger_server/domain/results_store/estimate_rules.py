"""Turns a StoreEstimate command into a validated job with its aggregates computed.

Compute on write: service and region totals are derived here, once, and stored with
the job. Aggregates a caller sends are not trusted: they must reconcile exactly with
the resources, or the whole request is refused naming each mismatch.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal

from ledger_server.domain.errors import InvalidArgument, Violations
from ledger_server.domain.money import (
    ZERO,
    WireMoney,
    decimal_from_wire,
    display,
    is_currency_code,
    plain_amount,
)
from ledger_server.domain.results_store.estimates import (
    UNKNOWN,
    Breakdown,
    BreakdownInput,
    EstimateInput,
    NewJob,
    RegionCostInput,
    RegionTotal,
    Resource,
    ResourceInput,
    ServiceCostInput,
    ServiceTotal,
    StoreEstimateCommand,
)
from ledger_server.domain.validation import (
    check_json,
    check_labels,
    check_text,
    check_unit_interval,
)

MAX_RESOURCES = 10_000
DEFAULT_CURRENCY = "USD"


def prepare_new_job(command: StoreEstimateCommand) -> NewJob:
    violations = Violations()
    check_text(command.user_id, "user_id", violations, max_length=256)
    check_text(command.terraform_plan_hash, "terraform_plan_hash", violations, max_length=256)
    check_text(command.profile, "profile", violations, max_length=64)
    check_labels(command.labels, "labels", violations)
    estimate = command.estimate
    if estimate is None:
        violations.add("estimate", "is required")
        raise InvalidArgument(violations.items)

    currency = estimate.currency_code or DEFAULT_CURRENCY
    if not is_currency_code(currency):
        violations.add("estimate.currency_code", "must be a 3-letter ISO 4217 code like 'USD'")
        raise InvalidArgument(violations.items)
    check_unit_interval(estimate.confidence_score, "estimate.confidence_score", violations)
    resources = _resources(estimate.resources, currency, violations)
    violations.raise_if_any()

    services = _service_totals(resources)
    regions = _region_totals(resources)
    total = sum((r.monthly_cost for r in resources), ZERO)
    _reconcile(estimate, currency, total, services, regions, violations)
    violations.raise_if_any()

    return NewJob(
        job_id=uuid.uuid4(),
        user_id=command.user_id,
        terraform_plan_hash=command.terraform_plan_hash,
        profile=command.profile,
        labels=dict(command.labels),
        currency_code=currency,
        total_monthly_cost=total,
        total_hourly_cost=sum((r.hourly_cost for r in resources if r.hourly_cost), ZERO),
        confidence_score=estimate.confidence_score,
        resources=tuple(resources),
        services=services,
        regions=regions,
    )


def _resources(
    given: Sequence[ResourceInput], currency: str, violations: Violations
) -> list[Resource]:
    if len(given) > MAX_RESOURCES:
        violations.add(
            "estimate.by_resource", f"must hold at most {MAX_RESOURCES} resources, got {len(given)}"
        )
        return []
    seen: dict[str, int] = {}
    resources = []
    for position, item in enumerate(given):
        # Checks run for every resource, so the common case stays cheap: a field path is
        # only spelled out once something about that field is wrong.
        path = "" if _plain_texts(item) else f"estimate.by_resource[{position}]"
        address = item.address
        if path:
            check_text(
                address, f"{path}.address", violations, max_length=_MAX_ADDRESS, required=True
            )
        if address in seen:
            violations.add(
                f"estimate.by_resource[{position}].address",
                f"duplicates by_resource[{seen[address]}]: addresses must be unique",
            )
        else:
            seen[address] = position
        if path:
            _check_other_texts(item, path, violations)
        if item.cost_drivers:
            check_json(
                item.cost_drivers, f"estimate.by_resource[{position}].cost_drivers", violations
            )
        if item.assumptions:
            check_json(
                item.assumptions, f"estimate.by_resource[{position}].assumptions", violations
            )
        monthly = _resource_amount(
            item.monthly_cost, position, "monthly_cost", currency, violations
        )
        if item.monthly_cost is None:
            violations.add(f"estimate.by_resource[{position}].monthly_cost", "is required")
        hourly = _resource_amount(item.hourly_cost, position, "hourly_cost", currency, violations)
        breakdown = _breakdown(item.breakdown, position, currency, violations)
        if breakdown is not None and monthly is not None and breakdown.total() != monthly:
            violations.add(
                f"estimate.by_resource[{position}].breakdown",
                f"parts add up to {display(breakdown.total())} "
                f"but monthly_cost is {display(monthly)}",
            )
        if monthly is None:
            continue
        resources.append(
            Resource(
                position,
                address,
                item.name or address,
                item.resource_type,
                item.service or UNKNOWN,
                item.region or UNKNOWN,
                monthly,
                hourly,
                breakdown,
                dict(item.cost_drivers),
                dict(item.assumptions),
            )
        )
    return resources


_MAX_ADDRESS = 1024
_MAX_ATTRIBUTE = 256


def _plain_texts(item: ResourceInput) -> bool:
    """True when every text field of `item` is within its limits: no need to look closer."""
    address, name, resource_type, service, region = (
        item.address,
        item.name,
        item.resource_type,
        item.service,
        item.region,
    )
    return (
        0 < len(address) <= _MAX_ADDRESS
        and len(name) <= _MAX_ADDRESS
        and len(resource_type) <= _MAX_ATTRIBUTE
        and len(service) <= _MAX_ATTRIBUTE
        and len(region) <= _MAX_ATTRIBUTE
        and "\x00" not in address
        and "\x00" not in name
        and "\x00" not in resource_type
        and "\x00" not in service
        and "\x00" not in region
    )


def _check_other_texts(item: ResourceInput, path: str, violations: Violations) -> None:
    check_text(item.name, f"{path}.name", violations, max_length=_MAX_ADDRESS)
    for attribute in ("resource_type", "service", "region"):
        check_text(
            getattr(item, attribute), f"{path}.{attribute}", violations, max_length=_MAX_ATTRIBUTE
        )


def _resource_amount(
    money: WireMoney | None, position: int, field: str, currency: str, violations: Violations
) -> Decimal | None:
    """An amount of a resource; its path is only spelled out if it is not an ordinary one."""
    if money is None:
        return None
    value = plain_amount(money, currency)
    if value is None:
        value = _amount(money, f"estimate.by_resource[{position}].{field}", currency, violations)
    return value


def _amount(
    money: WireMoney | None, path: str, currency: str, violations: Violations
) -> Decimal | None:
    if money is None:
        return None
    return decimal_from_wire(money, path, currency, violations, allow_negative=False)


_BREAKDOWN_FIELDS = (
    "breakdown.compute",
    "breakdown.storage",
    "breakdown.network",
    "breakdown.other",
)


def _breakdown(
    given: BreakdownInput | None, position: int, currency: str, violations: Violations
) -> Breakdown | None:
    if given is None:
        return None
    parts = [
        _resource_amount(money, position, field, currency, violations)
        for field, money in zip(_BREAKDOWN_FIELDS, given, strict=True)
    ]
    return Breakdown(*(ZERO if part is None else part for part in parts))


def _service_totals(resources: Sequence[Resource]) -> tuple[ServiceTotal, ...]:
    return _totals((r.service, r.monthly_cost) for r in resources)


def _totals(pairs: Iterable[tuple[str, Decimal]]) -> tuple[ServiceTotal, ...]:
    sums: dict[str, Decimal] = defaultdict(Decimal)
    counts: dict[str, int] = defaultdict(int)
    for key, amount in pairs:
        sums[key] += amount
        counts[key] += 1
    ordered = sorted(sums, key=lambda key: (-sums[key], key))
    return tuple(ServiceTotal(key, sums[key], counts[key]) for key in ordered)


def _region_totals(resources: Sequence[Resource]) -> tuple[RegionTotal, ...]:
    by_region: dict[str, list[Resource]] = defaultdict(list)
    for resource in resources:
        by_region[resource.region].append(resource)
    regions = [
        RegionTotal(
            region=region,
            monthly_cost=sum((r.monthly_cost for r in members), ZERO),
            resource_count=len(members),
            services=_service_totals(members),
        )
        for region, members in by_region.items()
    ]
    return tuple(sorted(regions, key=lambda r: (-r.monthly_cost, r.region)))


def _reconcile(
    estimate: EstimateInput,
    currency: str,
    total: Decimal,
    services: tuple[ServiceTotal, ...],
    regions: tuple[RegionTotal, ...],
    violations: Violations,
) -> None:
    if estimate.total_monthly_cost is not None:
        path = "estimate.total_monthly_cost"
        given = _amount(estimate.total_monthly_cost, path, currency, violations)
        if given is not None and given != total:
            violations.add(
                path, f"is {display(given)} but the resources add up to {display(total)}"
            )
    if estimate.by_service:
        _reconcile_totals(
            estimate.by_service, services, "estimate.by_service", currency, violations
        )
    for index, region in enumerate(estimate.by_region):
        if region.services:
            key = region.region or UNKNOWN
            derived = next((r for r in regions if r.region == key), None)
            _reconcile_totals(
                region.services,
                derived.services if derived else (),
                f"estimate.by_region[{index}].services",
                currency,
                violations,
            )
    if estimate.by_region:
        as_services = tuple(_region_as_service(r) for r in estimate.by_region)
        flat = tuple(ServiceTotal(r.region, r.monthly_cost, r.resource_count) for r in regions)
        _reconcile_totals(as_services, flat, "estimate.by_region", currency, violations, "region")


def _region_as_service(region: RegionCostInput) -> ServiceCostInput:
    return ServiceCostInput(region.region, region.monthly_cost, region.resource_count)


def _reconcile_totals(
    given: Sequence[ServiceCostInput],
    derived: Sequence[ServiceTotal],
    path: str,
    currency: str,
    violations: Violations,
    key_name: str = "service",
) -> None:
    expected = {t.service: t for t in derived}
    seen: set[str] = set()
    for index, entry in enumerate(given):
        entry_path = f"{path}[{index}]"
        key = entry.service or UNKNOWN
        if key in seen:
            violations.add(f"{entry_path}.{key_name}", f"{key!r} is listed twice")
            continue
        seen.add(key)
        truth = expected.get(key)
        if truth is None:
            violations.add(f"{entry_path}.{key_name}", f"no resource has {key_name} {key!r}")
            continue
        amount = _amount(entry.monthly_cost, f"{entry_path}.monthly_cost", currency, violations)
        if entry.monthly_cost is None:
            violations.add(f"{entry_path}.monthly_cost", "is required")
        elif amount is not None and amount != truth.monthly_cost:
            violations.add(
                f"{entry_path}.monthly_cost",
                f"is {display(amount)} but the resources of {key_name} {key!r} add up to "
                f"{display(truth.monthly_cost)}",
            )
        if entry.resource_count != truth.resource_count:
            violations.add(
                f"{entry_path}.resource_count",
                f"is {entry.resource_count} but {truth.resource_count} resources have "
                f"{key_name} {key!r}",
            )
    for key, truth in expected.items():
        if key not in seen:
            violations.add(
                path,
                f"misses {key_name} {key!r} ({display(truth.monthly_cost)} over "
                f"{truth.resource_count} resources)",
            )
