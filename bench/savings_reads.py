"""What the top savers of a summary read, in buffers: a figure timing noise cannot move.

The latency of GetSavingsSummary on a shared machine moves by a third between runs;
the buffers its largest query touches do not. So the benchmark reports them at R1 and
R10 beside the latencies: equal buffers mean the read does the same work whatever the
history, however the clock disagrees.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import create_engine, event

from ledger_server.domain.savings import ranges
from ledger_server.domain.savings.policy import SavingsPolicy
from ledger_server.domain.savings.ports import InstanceOrder
from ledger_server.storage.savings.repository import SqlSavingsRepository

TOP_SAVERS = 5  # GetSavingsSummary's default


@dataclass(frozen=True)
class Reads:
    buffers: int  # shared buffers hit or read
    entries: int  # rows the scans of savings_entries returned
    scans: tuple[str, ...]  # how savings_entries was read: node type and index


def top_savers_reads(url: str, policy: SavingsPolicy | None = None) -> Reads:
    """EXPLAIN (ANALYZE, BUFFERS) of the repository's own top-savers query for the last
    30 days, as GetSavingsSummary runs it."""
    policy = policy or SavingsPolicy()
    days = ranges.resolve(
        ranges.RangeRequest(preset=ranges.Preset.LAST_30_DAYS), datetime.now(UTC), policy.zone
    )
    engine = create_engine(url)
    statements: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def remember(_c: Any, cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        statements.append(cursor.mogrify(statement, parameters).decode())

    try:
        with engine.connect() as connection:
            SqlSavingsRepository(connection).instance_totals(
                days.first, days.last, None, InstanceOrder.MOST_SAVING_FIRST, None, TOP_SAVERS
            )
            plan = connection.exec_driver_sql(
                "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statements[-1].replace("%", "%%")
            ).scalar_one()
    finally:
        engine.dispose()
    top = (plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"]
    entries, scans, nodes = 0, [], [top]
    while nodes:
        node = nodes.pop()
        if node.get("Relation Name") == "savings_entries":
            entries += node["Actual Rows"] * node["Actual Loops"]
            scans.append(f"{node['Node Type']} {node.get('Index Name', '')}".strip())
        nodes.extend(node.get("Plans", []))
    return Reads(
        top["Shared Hit Blocks"] + top["Shared Read Blocks"], entries, tuple(sorted(set(scans)))
    )
