"""How savings are reckoned on this server: restart caps and the reporting time zone.

Both come from settings (`LEDGER_SAVINGS_RESTART_CAPS`, `LEDGER_SAVINGS_TIME_ZONE`).
A cap applies to a provider, or to one engine of a provider, where the provider
restarts stopped instances by itself: AWS starts a stopped RDS instance again after
seven days, so by default every "aws" instance's stop counts at most 7 days.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_CAPS = "aws=7d"
_ENTRY = re.compile(r"([a-z0-9_-]{1,32})(?:/([a-z0-9_-]{1,32}))?=(none|[1-9][0-9]{0,4}[dh])")


@dataclass(frozen=True)
class SavingsPolicy:
    # (provider, engine) -> cap; engine "" is the provider's default; None: no cap.
    caps: Mapping[tuple[str, str], timedelta | None] = field(
        default_factory=lambda: {("aws", ""): timedelta(days=7)}
    )
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))

    def cap_for(self, provider: str, engine: str) -> timedelta | None:
        """The restart cap of an instance: its engine's, else its provider's, else none."""
        if (provider, engine) in self.caps:
            return self.caps[(provider, engine)]
        return self.caps.get((provider, ""))

    @property
    def time_zone(self) -> str:
        return self.zone.key


def parse_caps(spec: str) -> dict[tuple[str, str], timedelta | None]:
    """`aws=7d,aws/aurora-postgresql=none,gcp=30d`: caps in days or hours, or none.

    Raises ValueError naming the bad entry.
    """
    caps: dict[tuple[str, str], timedelta | None] = {}
    for raw in spec.split(","):
        entry = raw.strip()
        if not entry:
            continue
        match = _ENTRY.fullmatch(entry)
        if match is None:
            raise ValueError(
                f"bad restart cap {entry!r}: expected provider[/engine]=<N>d, <N>h or none"
            )
        provider, engine, cap = match.group(1), match.group(2) or "", match.group(3)
        if cap == "none":
            caps[(provider, engine)] = None
        else:
            amount = int(cap[:-1])
            caps[(provider, engine)] = (
                timedelta(days=amount) if cap.endswith("d") else timedelta(hours=amount)
            )
    return caps


def parse_zone(name: str) -> ZoneInfo:
    """An IANA time zone ("UTC", "Europe/Berlin"); ValueError for an unknown one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {name!r}") from error


def policy_from(caps: str, zone: str) -> SavingsPolicy:
    return SavingsPolicy(parse_caps(caps), parse_zone(zone))
