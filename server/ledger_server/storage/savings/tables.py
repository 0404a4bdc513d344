"""Savings tables: instance revisions, events, the ledger and the totals kept on write.

All INSERT-only. "Current" is the latest row per key: an instance's highest revision,
its state's highest version, a day's totals' highest version. Entries are never
rewritten; a correction is a reversal and a replacement appended after them.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Identity,
    Index,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

from ledger_server.storage.schema import metadata

savings_instance_revisions = Table(
    "savings_instance_revisions",
    metadata,
    Column("instance_id", String(128), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("name", String(256), nullable=False),
    Column("provider", String(32), nullable=False),
    Column("engine", String(32), nullable=False),
    Column("region", String(64), nullable=False),
    Column("instance_type", String(64), nullable=False),
    Column("hourly_cost_cents", BigInteger, nullable=False),
    Column("currency_code", String(3), nullable=False),
    Column("schedule_id", String(128), nullable=False),
    Column("labels", JSONB, nullable=False),
    Column("effective_time", DateTime(timezone=True), nullable=False),
    Column("record_time", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("instance_id", "revision"),
    CheckConstraint("revision >= 1", name="revision_positive"),
    CheckConstraint("hourly_cost_cents >= 0", name="hourly_cost_not_negative"),
)

savings_events = Table(
    "savings_events",
    metadata,
    Column("event_id", String(128), nullable=False),
    Column("instance_id", String(128), nullable=False),
    Column("kind", SmallInteger, nullable=False),
    Column("occur_time", DateTime(timezone=True), nullable=False),
    Column("source", String(128), nullable=False),
    Column("schedule_id", String(128), nullable=False),
    Column("record_time", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("event_id"),
    CheckConstraint("kind BETWEEN 1 AND 6", name="kind_known"),
    # An instance's events by time: recomputing from an anchor, listing a range.
    Index(None, "instance_id", "occur_time"),
)

savings_entries = Table(
    "savings_entries",
    metadata,
    Column("entry_id", BigInteger, Identity(), nullable=False),
    Column("instance_id", String(128), nullable=False),
    Column("day", Date, nullable=False),
    Column("period_start", DateTime(timezone=True), nullable=False),
    Column("period_end", DateTime(timezone=True), nullable=False),
    Column("capped", Boolean, nullable=False),
    Column("stopped_micros", BigInteger, nullable=False),
    Column("savings_cents", BigInteger, nullable=False),
    Column("hourly_cost_cents", BigInteger, nullable=False),
    Column("schedule_id", String(128), nullable=False),
    Column("kind", SmallInteger, nullable=False),
    Column("corrects_entry_id", BigInteger, nullable=True),
    Column("cause", String(160), nullable=False),
    Column("record_time", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("entry_id"),
    CheckConstraint("kind BETWEEN 1 AND 3", name="kind_known"),
    CheckConstraint(
        "(kind = 1) = (corrects_entry_id IS NULL)", name="corrections_name_their_entry"
    ),
    # An instance's entries from a period start on (recomputing), and by day (its report).
    Index(None, "instance_id", "period_start"),
    Index(None, "instance_id", "day"),
    # Per-instance and per-schedule sums of a range of days, from the index alone.
    Index(
        "ix_savings_entries_day_sums",
        "day",
        "instance_id",
        postgresql_include=["schedule_id", "savings_cents", "stopped_micros"],
    ),
)

savings_instance_states = Table(
    "savings_instance_states",
    metadata,
    Column("instance_id", String(128), nullable=False),
    Column("version", Integer, nullable=False),
    Column("savings_cents", BigInteger, nullable=False),
    Column("stopped_micros", BigInteger, nullable=False),
    Column("correction_count", BigInteger, nullable=False),
    # The stop period the instance is in now; all NULL while it runs.
    Column("stopped_since", DateTime(timezone=True), nullable=True),
    Column("stop_cap_time", DateTime(timezone=True), nullable=True),
    Column("stop_hourly_cost_cents", BigInteger, nullable=True),
    Column("stop_schedule_id", String(128), nullable=True),
    Column("record_time", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("instance_id", "version"),
)

savings_day_totals = Table(
    "savings_day_totals",
    metadata,
    # "" for every instance, "s:<schedule_id>" for one schedule's periods.
    Column("scope", String(160), nullable=False),
    Column("day", Date, nullable=False),
    Column("version", Integer, nullable=False),
    Column("savings_cents", BigInteger, nullable=False),
    Column("stopped_micros", BigInteger, nullable=False),
    Column("record_time", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("scope", "day", "version"),
)
