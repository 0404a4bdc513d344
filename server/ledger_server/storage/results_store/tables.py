"""ResultsStore tables: jobs, their resources and the aggregates computed on write."""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Double,
    ForeignKeyConstraint,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

from ledger_server.storage.schema import metadata, money

jobs = Table(
    "jobs",
    metadata,
    Column("job_id", Uuid, nullable=False),
    Column("user_id", String(256), nullable=False),
    Column("terraform_plan_hash", String(256), nullable=False),
    Column("profile", String(64), nullable=False),
    Column("labels", JSONB, nullable=False),
    Column("currency_code", String(3), nullable=False),
    money("total_monthly_cost"),
    money("total_hourly_cost"),
    Column("confidence_score", Double, nullable=False),
    Column("resource_count", Integer, nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("status", String(32), nullable=False),
    Column("create_time", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("job_id"),
    CheckConstraint("total_monthly_cost >= 0", name="total_monthly_cost_not_negative"),
    CheckConstraint("confidence_score BETWEEN 0 AND 1", name="confidence_score_range"),
    Index("ix_jobs_create_time_job_id", "create_time", "job_id"),
    Index("ix_jobs_user_id_create_time_job_id", "user_id", "create_time", "job_id"),
    Index("ix_jobs_profile_create_time_job_id", "profile", "create_time", "job_id"),
    Index(
        "ix_jobs_terraform_plan_hash_create_time_job_id",
        "terraform_plan_hash",
        "create_time",
        "job_id",
    ),
)

job_resources = Table(
    "job_resources",
    metadata,
    Column("job_id", Uuid, nullable=False),
    Column("position", Integer, nullable=False),
    Column("address", String(1024), nullable=False),
    Column("name", String(1024), nullable=False),
    Column("resource_type", String(256), nullable=False),
    Column("service", String(256), nullable=False),
    Column("region", String(256), nullable=False),
    money("monthly_cost"),
    money("hourly_cost", nullable=True),
    # NULL when the estimator sent no breakdown: absent is not the same as zero.
    money("compute_cost", nullable=True),
    money("storage_cost", nullable=True),
    money("network_cost", nullable=True),
    money("other_cost", nullable=True),
    Column("cost_drivers", JSONB, nullable=False),
    Column("assumptions", JSONB, nullable=False),
    PrimaryKeyConstraint("job_id", "position"),
    ForeignKeyConstraint(["job_id"], ["jobs.job_id"]),
    UniqueConstraint("job_id", "address"),
    Index("ix_job_resources_job_id_monthly_cost", "job_id", "monthly_cost", "position"),
)

job_services = Table(
    "job_services",
    metadata,
    Column("job_id", Uuid, nullable=False),
    Column("service", String(256), nullable=False),
    money("monthly_cost"),
    Column("resource_count", Integer, nullable=False),
    PrimaryKeyConstraint("job_id", "service"),
    ForeignKeyConstraint(["job_id"], ["jobs.job_id"]),
)

job_regions = Table(
    "job_regions",
    metadata,
    Column("job_id", Uuid, nullable=False),
    Column("region", String(256), nullable=False),
    money("monthly_cost"),
    Column("resource_count", Integer, nullable=False),
    PrimaryKeyConstraint("job_id", "region"),
    ForeignKeyConstraint(["job_id"], ["jobs.job_id"]),
)

job_region_services = Table(
    "job_region_services",
    metadata,
    Column("job_id", Uuid, nullable=False),
    Column("region", String(256), nullable=False),
    Column("service", String(256), nullable=False),
    money("monthly_cost"),
    Column("resource_count", Integer, nullable=False),
    PrimaryKeyConstraint("job_id", "region", "service"),
    ForeignKeyConstraint(["job_id", "region"], ["job_regions.job_id", "job_regions.region"]),
)
