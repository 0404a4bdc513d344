"""EvaluationService tables: evaluations, their versions, contents, events, statistics.

An evaluation's constant part (code, language, create time) is written once; every
change appends a whole snapshot to `evaluation_versions` under the next version number,
the (evaluation_id, version) key refusing a second writer of the same version. Outputs
and errors live in `evaluation_contents`, one row per SHA-256 (identical contents are
kept once); contents above the blob threshold keep only their description there, their
bytes being a file of the blob store.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB

from ledger_server.storage.schema import metadata

evaluations = Table(
    "evaluations",
    metadata,
    Column("evaluation_id", String(128), nullable=False),
    Column("code", Text, nullable=False),
    Column("language", String(32), nullable=False),
    Column("create_time", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("evaluation_id"),
)
# ListEvaluations: newest first, and newest first within one language.
Index(
    "ix_evaluations_create_time_evaluation_id",
    evaluations.c.create_time,
    evaluations.c.evaluation_id,
)
Index(
    "ix_evaluations_language_create_time_evaluation_id",
    evaluations.c.language,
    evaluations.c.create_time,
    evaluations.c.evaluation_id,
)

evaluation_contents = Table(
    "evaluation_contents",
    metadata,
    Column("sha256", LargeBinary, nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("location", String(32), nullable=False),
    Column("compression", String(16), nullable=False),
    Column("stored_bytes", BigInteger, nullable=False),
    Column("preview", Text, nullable=False),
    Column("preview_truncated", Boolean, nullable=False),
    # The bytes as stored (raw or compressed); NULL for blob-store contents.
    Column("data", LargeBinary, nullable=True),
    PrimaryKeyConstraint("sha256"),
    CheckConstraint("octet_length(sha256) = 32", name="sha256_length"),
    CheckConstraint(
        "(location = 'blob_store') = (data IS NULL)", name="data_in_database_or_blob_store"
    ),
)

evaluation_versions = Table(
    "evaluation_versions",
    metadata,
    Column("evaluation_id", String(128), nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("change", String(16), nullable=False),
    Column("update_time", DateTime(timezone=True), nullable=False),
    Column("metadata", JSONB, nullable=False),
    Column("output_sha256", LargeBinary, nullable=True),
    Column("error_sha256", LargeBinary, nullable=True),
    Column("runtime_ms", BigInteger, nullable=True),
    Column("start_time", DateTime(timezone=True), nullable=True),
    Column("complete_time", DateTime(timezone=True), nullable=True),
    # Container id, host, image, start time and limits; NULL until reported.
    Column("running", JSONB, nullable=True),
    Column("task_id", String(255), nullable=True),
    Column("task_state", String(16), nullable=True),
    Column("retries", Integer, nullable=True),
    Column("deleted", Boolean, nullable=False),
    PrimaryKeyConstraint("evaluation_id", "version"),
    ForeignKeyConstraint(["evaluation_id"], [evaluations.c.evaluation_id]),
    ForeignKeyConstraint(["output_sha256"], [evaluation_contents.c.sha256]),
    ForeignKeyConstraint(["error_sha256"], [evaluation_contents.c.sha256]),
    CheckConstraint("version >= 1", name="version_positive"),
)
# ListRunningEvaluations: the running versions, by evaluation (the latest is checked).
Index(
    "ix_evaluation_versions_running",
    evaluation_versions.c.evaluation_id,
    evaluation_versions.c.version,
    postgresql_where=evaluation_versions.c.status == "running",
)

evaluation_events = Table(
    "evaluation_events",
    metadata,
    Column("event_id", BigInteger, Identity(), nullable=False),
    Column("event_key", Uuid, nullable=False),
    Column("evaluation_id", String(128), nullable=False),
    Column("type", String(64), nullable=False),
    Column("message", Text, nullable=False),
    Column("metadata", JSONB, nullable=False),
    Column("event_time", DateTime(timezone=True), nullable=False),
    # The version this entry records; 0 for events callers added.
    Column("version", BigInteger, nullable=False),
    PrimaryKeyConstraint("event_id"),
    UniqueConstraint("event_key"),
    ForeignKeyConstraint(["evaluation_id"], [evaluations.c.evaluation_id]),
)
Index(
    "ix_evaluation_events_evaluation_id_event_time_event_id",
    evaluation_events.c.evaluation_id,
    evaluation_events.c.event_time,
    evaluation_events.c.event_id,
)

# Statistics on write: each row changes the totals of one hour, status and language.
evaluation_statistics = Table(
    "evaluation_statistics",
    metadata,
    Column("row_id", BigInteger, Identity(), nullable=False),
    Column("hour", DateTime(timezone=True), nullable=False),
    Column("language", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("evaluations", Integer, nullable=False),
    Column("runtime_bucket", SmallInteger, nullable=True),
    Column("runtime_ms", BigInteger, nullable=False),
    Column("output_bytes", BigInteger, nullable=False),
    PrimaryKeyConstraint("row_id"),
)
Index("ix_evaluation_statistics_hour", evaluation_statistics.c.hour)
