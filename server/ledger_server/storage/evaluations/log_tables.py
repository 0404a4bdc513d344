"""Evaluation log tables: many lines to a row, each row a gapless run of sequences.

A row is one appended batch: lines `first_sequence` .. `last_sequence` of one
evaluation, as parallel arrays (text, stream, time). One row per batch keeps 100k
lines/s at a few hundred inserts a second. Migration 0008 adds what the table alone
cannot say: each row must start right after the evaluation's last stored line.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKeyConstraint,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY

from ledger_server.storage.evaluations.tables import evaluations
from ledger_server.storage.schema import metadata

evaluation_log_batches = Table(
    "evaluation_log_batches",
    metadata,
    Column("evaluation_id", String(128), nullable=False),
    Column("first_sequence", BigInteger, nullable=False),
    Column("last_sequence", BigInteger, nullable=False),
    Column("line_count", Integer, nullable=False),
    # Characters of text in the row, so a read can stop before a reply grows too large.
    Column("text_characters", BigInteger, nullable=False),
    Column("lines", ARRAY(Text), nullable=False),
    # domain.evaluations.log_lines.LogStream values, one per line.
    Column("streams", ARRAY(SmallInteger), nullable=False),
    # Microseconds since the Unix epoch per line, NULL for a line sent without a time
    # (it was produced when stored: create_time); the column is NULL when no line had one.
    Column("log_time_micros", ARRAY(BigInteger), nullable=True),
    # The sender's id for the batch and a digest of it, to store a resent batch once.
    Column("batch_id", String(128), nullable=True),
    Column("fingerprint", LargeBinary, nullable=True),
    Column("create_time", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("evaluation_id", "first_sequence"),
    ForeignKeyConstraint(["evaluation_id"], [evaluations.c.evaluation_id]),
    UniqueConstraint("evaluation_id", "last_sequence"),
    UniqueConstraint("evaluation_id", "batch_id"),
    CheckConstraint("first_sequence >= 1", name="first_sequence_positive"),
    CheckConstraint("line_count BETWEEN 1 AND 10000", name="line_count_range"),
    CheckConstraint("last_sequence = first_sequence + line_count - 1", name="sequences_match"),
    CheckConstraint(
        "cardinality(lines) = line_count AND cardinality(streams) = line_count "
        "AND (log_time_micros IS NULL OR cardinality(log_time_micros) = line_count)",
        name="arrays_match",
    ),
)
