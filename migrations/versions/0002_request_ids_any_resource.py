"""request_ids.resource_id holds any resource id: UUIDs and caller-chosen ids alike.

Idempotency is shared by every creating RPC; some create records whose id the caller
chooses (an evaluation id like eval_20240701_120000_abc123), so the claimed resource id
is text. Existing UUIDs keep their canonical spelling.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column(
        "request_ids",
        "resource_id",
        schema="ledger",
        type_=sa.String(256),
        existing_type=sa.Uuid(),
        existing_nullable=False,
        postgresql_using="resource_id::text",
    )


def downgrade() -> None:
    # Only possible while every claimed id is still a UUID (no caller-chosen ids yet).
    op.alter_column(
        "request_ids",
        "resource_id",
        schema="ledger",
        type_=sa.Uuid(),
        existing_type=sa.String(256),
        existing_nullable=False,
        postgresql_using="resource_id::uuid",
    )
