"""Ranges of reporting days: presets ending today, or custom dates, checked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import IntEnum
from zoneinfo import ZoneInfo

from ledger_server.domain.errors import Violations
from ledger_server.domain.savings.calculator import day_start, local_day

MAX_RANGE_DAYS = 733  # two years and a leap day, both ends included
EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)


class Preset(IntEnum):
    """The wire's SavingsRangePreset numbers."""

    NONE = 0
    LAST_7_DAYS = 1
    LAST_30_DAYS = 2
    LAST_90_DAYS = 3


_PRESET_DAYS = {Preset.LAST_7_DAYS: 7, Preset.LAST_30_DAYS: 30, Preset.LAST_90_DAYS: 90}


@dataclass(frozen=True)
class RangeRequest:
    preset: int = 0
    start_date: str = ""
    end_date: str = ""


@dataclass(frozen=True)
class DayRange:
    """Whole reporting days, both ends included."""

    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def instants(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """[start, end) of the range as instants."""
        return day_start(self.first, zone), day_start(self.last + timedelta(days=1), zone)

    def previous(self) -> DayRange:
        """The range of equal length just before this one."""
        return DayRange(self.first - timedelta(days=self.days), self.first - timedelta(days=1))

    def each_day(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range(self.days)]


def _parse_date(text: str, path: str, violations: Violations) -> date | None:
    if len(text) != 10:
        violations.add(path, "must be a date like 2026-03-31")
        return None
    try:
        value = date.fromisoformat(text)
    except ValueError:
        violations.add(path, "must be a date like 2026-03-31")
        return None
    if not EARLIEST <= value <= LATEST:
        violations.add(path, f"must be from {EARLIEST} to {LATEST}")
        return None
    return value


def resolve(request: RangeRequest, now: datetime, zone: ZoneInfo, path: str = "range") -> DayRange:
    """The days a request's range means at `now`; INVALID_ARGUMENT when it means none."""
    violations = Violations()
    if request.preset not in Preset.__members__.values():
        violations.add(f"{path}.preset", f"must be a known preset, got {request.preset}")
        violations.raise_if_any()
    preset = Preset(request.preset)
    has_dates = bool(request.start_date or request.end_date)
    if preset is not Preset.NONE:
        if has_dates:
            violations.add(f"{path}.start_date", "must be empty with a preset")
            violations.raise_if_any()
        today = local_day(now, zone)
        return DayRange(today - timedelta(days=_PRESET_DAYS[preset] - 1), today)
    if not has_dates:
        today = local_day(now, zone)
        return DayRange(today - timedelta(days=29), today)
    first = _parse_date(request.start_date, f"{path}.start_date", violations)
    last = _parse_date(request.end_date, f"{path}.end_date", violations)
    violations.raise_if_any()
    assert first is not None and last is not None
    if last < first:
        violations.add(f"{path}.end_date", "must not be before start_date")
    elif (last - first).days + 1 > MAX_RANGE_DAYS:
        violations.add(
            f"{path}.end_date", f"must be at most {MAX_RANGE_DAYS - 1} days after start_date"
        )
    violations.raise_if_any()
    return DayRange(first, last)
