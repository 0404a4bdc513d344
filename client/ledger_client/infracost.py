"""Turn `infracost breakdown --format json` output (schema 0.2) into an `Estimate`.

Infracost writes every amount as a decimal string of any precision, or null when the
cost depends on usage it was not told (unknown, not zero). A resource's monthlyCost
already includes its subresources, so each resource is counted once, with its own
and its subresources' cost components classified together.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Mapping
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from ledger_client.infracost_rules import CostKind, cost_kind, service_for
from ledger_client.types import CostBreakdown, Estimate, ResourceCost
from ledger_wire.money import NANO

HOURS_PER_MONTH = 730

# Infracost rounds nothing in its JSON, so totals agree to far better than a cent;
# a larger gap means resources are missing from, or repeated in, the file.
TOLERANCE = Decimal("0.01")
_MODULE_PREFIX = re.compile(r"^(module\.[^.\[]+(\[[^\]]*\])?\.)+")


class InfracostFormatError(ValueError):
    """The document is not Infracost JSON this importer can trust; the message says where."""


def _object(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InfracostFormatError(f"{path}: expected an object, got {type(value).__name__}")
    return value


def _list(value: Any, path: str) -> list[Any]:
    if value is None:  # Go's encoder writes empty slices as null
        return []
    if not isinstance(value, list):
        raise InfracostFormatError(f"{path}: expected an array, got {type(value).__name__}")
    return value


def _text(value: Any, path: str, default: str = "") -> str:
    if value is None:
        return default
    if not isinstance(value, str):
        raise InfracostFormatError(f"{path}: expected a string, got {type(value).__name__}")
    return value


def _decimal(value: Any, path: str) -> Decimal | None:
    """An exact amount; None for JSON null. Floats are refused: they are not exact."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise InfracostFormatError(
            f"{path}: expected a decimal string or null, got {type(value).__name__} {value!r}"
        )
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise InfracostFormatError(f"{path}: {value!r} is not a decimal number") from None
    if not amount.is_finite():
        raise InfracostFormatError(f"{path}: {value!r} is not a finite number")
    return amount


def _decimal_text(value: Any, path: str) -> str | None:
    amount = _decimal(value, path)
    return None if amount is None else str(value)


def round_nanos(amount: Decimal) -> Decimal:
    """`amount` to 9 fractional digits (the wire's precision), banker's rounding."""
    rounded = amount.quantize(NANO, rounding=ROUND_HALF_EVEN)
    # Drop the trailing zeros quantize adds, without turning 1000 into 1E+3.
    return rounded.normalize() if rounded != rounded.to_integral_value() else rounded.quantize(1)


def resource_type_from_address(address: str) -> str:
    """`module.net.aws_nat_gateway.main[0]` -> `aws_nat_gateway`."""
    return _MODULE_PREFIX.sub("", address).split(".", 1)[0]


def _components(
    resource: Mapping[str, Any], path: str, subresource: str | None
) -> Iterator[tuple[Mapping[str, Any], str, str | None]]:
    """Every cost component of a resource and its subresources, at any depth."""
    for index, component in enumerate(
        _list(resource.get("costComponents"), f"{path}.costComponents")
    ):
        component_path = f"{path}.costComponents[{index}]"
        yield _object(component, component_path), component_path, subresource
    for index, child in enumerate(_list(resource.get("subresources"), f"{path}.subresources")):
        child_path = f"{path}.subresources[{index}]"
        child = _object(child, child_path)
        name = _text(child.get("name"), f"{child_path}.name")
        yield from _components(child, child_path, f"{subresource}.{name}" if subresource else name)


def _resource_cost(
    resource: Mapping[str, Any], path: str, address: str, region: str
) -> ResourceCost:
    name = _text(resource.get("name"), f"{path}.name")
    resource_type = _text(resource.get("resourceType"), f"{path}.resourceType")
    resource_type = resource_type or resource_type_from_address(name)
    monthly = _decimal(resource.get("monthlyCost"), f"{path}.monthlyCost")
    hourly = _decimal(resource.get("hourlyCost"), f"{path}.hourlyCost")
    metadata = _object(resource.get("metadata") or {}, f"{path}.metadata")
    region = _text(metadata.get("region"), f"{path}.metadata.region") or region

    buckets: dict[CostKind, Decimal] = {
        "compute": Decimal(0),
        "storage": Decimal(0),
        "network": Decimal(0),
        "other": Decimal(0),
    }
    drivers: list[dict[str, Any]] = []
    usage_based = monthly is None
    for component, component_path, subresource in _components(resource, path, None):
        component_name = _text(component.get("name"), f"{component_path}.name")
        unit = _text(component.get("unit"), f"{component_path}.unit")
        cost = _decimal(component.get("monthlyCost"), f"{component_path}.monthlyCost")
        usage_based = usage_based or cost is None
        buckets[cost_kind(component_name, unit, resource_type)] += cost or 0
        drivers.append(
            {
                "name": component_name,
                "unit": unit,
                "monthly_quantity": _decimal_text(
                    component.get("monthlyQuantity"), f"{component_path}.monthlyQuantity"
                ),
                "price": _decimal_text(component.get("price"), f"{component_path}.price"),
                "subresource": subresource,
            }
        )

    breakdown = None
    if drivers:
        breakdown = CostBreakdown(**{kind: round_nanos(cost) for kind, cost in buckets.items()})
        components_total = sum(buckets.values(), Decimal(0))
        if monthly is not None and abs(components_total - monthly) > TOLERANCE:
            raise InfracostFormatError(
                f"{path}: monthlyCost is {monthly} but its cost components (with "
                f"subresources) add up to {components_total}"
            )
    return ResourceCost(
        address=address,
        name=name,
        resource_type=resource_type,
        service=service_for(resource_type),
        region=region,
        monthly_cost=breakdown.total if breakdown else round_nanos(monthly or Decimal(0)),
        hourly_cost=None if hourly is None else round_nanos(hourly),
        breakdown=breakdown,
        cost_drivers={"components": drivers} if drivers else {},
        assumptions={"usage_based": usage_based, "hours_per_month": HOURS_PER_MONTH},
    )


def _project_resources(
    doc: Mapping[str, Any],
) -> list[tuple[str, str, list[tuple[Mapping[str, Any], str]]]]:
    """(project label, project region, [(resource, JSON path)]) for every project."""
    if "projects" not in doc:
        raise InfracostFormatError(
            "$.projects: missing; expected the output of `infracost breakdown --format json`"
        )
    projects = []
    for index, project in enumerate(_list(doc["projects"], "$.projects")):
        path = f"$.projects[{index}]"
        project = _object(project, path)
        label = _text(project.get("name"), f"{path}.name") or f"projects[{index}]"
        metadata = _object(project.get("metadata") or {}, f"{path}.metadata")
        region = _text(metadata.get("region"), f"{path}.metadata.region")
        breakdown = _object(project.get("breakdown") or {}, f"{path}.breakdown")
        resources_path = f"{path}.breakdown.resources"
        resources = [
            (_object(resource, f"{resources_path}[{i}]"), f"{resources_path}[{i}]")
            for i, resource in enumerate(_list(breakdown.get("resources"), resources_path))
        ]
        projects.append((label, region, resources))
    return projects


def estimate_from_infracost(doc: Mapping[str, Any], *, default_region: str = "") -> Estimate:
    """The estimate in an Infracost breakdown document (already parsed from JSON).

    Raises InfracostFormatError (a ValueError) naming the JSON path of anything
    malformed, and when the document's totalMonthlyCost disagrees with its resources.
    """
    doc = _object(doc, "$")
    currency = _text(doc.get("currency"), "$.currency", default="USD") or "USD"
    projects = _project_resources(doc)

    # Addresses are unique within a project; across projects only the colliding ones
    # get the project name, so single-project imports keep Terraform's addresses.
    projects_per_name = Counter(
        name
        for _, _, resources in projects
        for name in {_text(r.get("name"), f"{p}.name") for r, p in resources}
    )
    resources: list[ResourceCost] = []
    raw_total = Decimal(0)
    seen: dict[str, str] = {}
    for label, project_region, project_resources in projects:
        for resource, path in project_resources:
            name = _text(resource.get("name"), f"{path}.name")
            if not name:
                raise InfracostFormatError(f"{path}.name: missing; every resource needs one")
            address = f"{label}:{name}" if projects_per_name[name] > 1 else name
            if address in seen:
                raise InfracostFormatError(
                    f"{path}: resource address {address!r} repeats {seen[address]}"
                )
            seen[address] = path
            region = project_region or default_region
            resources.append(_resource_cost(resource, path, address, region))
            raw_total += _decimal(resource.get("monthlyCost"), f"{path}.monthlyCost") or 0

    root_total = _decimal(doc.get("totalMonthlyCost"), "$.totalMonthlyCost")
    if root_total is not None and abs(root_total - raw_total) > TOLERANCE:
        raise InfracostFormatError(
            f"$.totalMonthlyCost is {root_total} {currency} but the resources under "
            f"$.projects[*].breakdown.resources add up to {raw_total} {currency}; the "
            "file does not list every priced resource (is it a diff or a truncated "
            "file?), so importing it would store a wrong total"
        )
    return Estimate(
        resources=tuple(resources),
        currency_code=currency,
        total_monthly_cost=sum((r.monthly_cost for r in resources), Decimal(0)),
    )
