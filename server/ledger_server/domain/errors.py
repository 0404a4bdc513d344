"""Errors the domain raises; `rpc/errors.py` is the one place that turns them into statuses.

Each error carries a machine-readable `reason` (UPPER_SNAKE) that clients can branch on
and a message safe to show a caller: no SQL, no internal names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldViolation:
    """One bad field: a path like `estimate.by_resource[3].monthly_cost` and what is wrong."""

    field: str
    description: str


class LedgerError(Exception):
    """Base of every error a caller may see."""

    reason = "LEDGER_ERROR"

    def __init__(
        self, message: str, *, reason: str | None = None, metadata: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason
        self.metadata: dict[str, str] = dict(metadata or {})


class InvalidArgument(LedgerError):
    reason = "INVALID_ARGUMENT"

    def __init__(self, violations: Iterable[FieldViolation], message: str | None = None) -> None:
        self.violations = list(violations)
        if message is None:
            shown = "; ".join(f"{v.field}: {v.description}" for v in self.violations[:3])
            more = len(self.violations) - 3
            message = f"invalid request: {shown}" + (f" (and {more} more)" if more > 0 else "")
        super().__init__(message)


class NotFound(LedgerError):
    def __init__(self, resource: str, resource_id: str) -> None:
        super().__init__(
            f"{resource} {resource_id!r} not found",
            reason=f"{resource.upper()}_NOT_FOUND",
            metadata={"resource": resource, "id": resource_id},
        )


class AlreadyExists(LedgerError):
    reason = "ALREADY_EXISTS"


class FailedPrecondition(LedgerError):
    reason = "FAILED_PRECONDITION"


class Unauthenticated(LedgerError):
    reason = "UNAUTHENTICATED"


class PermissionDenied(LedgerError):
    reason = "PERMISSION_DENIED"


class Unavailable(LedgerError):
    reason = "UNAVAILABLE"


class Aborted(LedgerError):
    """A concurrency conflict: a lost race, a stale `expected_version`. Retry the whole call."""

    reason = "ABORTED"


class DataLoss(LedgerError):
    """Stored data is damaged (e.g. a blob whose bytes no longer match its digest)."""

    reason = "DATA_LOSS"


class ResourceExhausted(LedgerError):
    """A quota or a server limit (e.g. too many open streams) is used up."""

    reason = "RESOURCE_EXHAUSTED"


class OutOfRange(LedgerError):
    """A valid request past the end of something (e.g. `read_offset` beyond a blob)."""

    reason = "OUT_OF_RANGE"


@dataclass
class Violations:
    """Collects field violations so a caller hears about every problem at once."""

    items: list[FieldViolation] = field(default_factory=list)

    def add(self, path: str, description: str) -> None:
        self.items.append(FieldViolation(path, description))

    def raise_if_any(self) -> None:
        if self.items:
            raise InvalidArgument(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)
